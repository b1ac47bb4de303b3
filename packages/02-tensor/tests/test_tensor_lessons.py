"""The systems lessons of module 02 return the numbers they promise (no timing assertions)."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.tensor import Tensor, footprint_table, memory_footprint, traversal_timing, view_costs
from tinytorch.tensor.lessons import DTYPES


@pytest.mark.parametrize(
    ("shape", "dtype", "expected"),
    [
        ((1000, 1000), np.float32, 4_000_000),
        ((1000, 1000), np.float64, 8_000_000),
        ((1000, 1000), "float16", 2_000_000),
        ((64, 3, 32, 32), np.int8, 64 * 3 * 32 * 32),
        ((10,), bool, 10),
        ((), np.int64, 8),  # a 0-d tensor still holds one element
        ((5, 0), np.float32, 0),
        ((50_000, 50_000), np.float32, 10_000_000_000),  # no int32 overflow
    ],
)
def test_memory_footprint_is_size_times_itemsize(shape, dtype, expected):
    assert memory_footprint(shape, dtype) == expected


def test_memory_footprint_matches_the_tensor_it_describes():
    x = Tensor(np.zeros((7, 3, 5), dtype=np.float16))
    assert memory_footprint(x.shape, x.dtype) == x.nbytes == x.data.nbytes
    assert memory_footprint((7, 3, 5)) == 7 * 3 * 5 * 4  # float32 by default


def test_footprint_table_lists_every_dtype():
    table = footprint_table((1000, 1000))
    assert tuple(table) == DTYPES
    assert table["float32"] == 4_000_000
    assert table["float64"] == 2 * table["float32"] == 4 * table["float16"]
    assert table["int8"] == table["uint8"] == table["bool"] == 1_000_000
    assert table["int64"] == table["float64"] and table["int32"] == table["float32"]


def test_traversal_timing_reports_positive_times_and_their_ratio():
    report = traversal_timing(n=64, repeats=1)
    assert set(report) == {"row_major_s", "column_major_s", "ratio"}
    assert report["row_major_s"] > 0 and report["column_major_s"] > 0
    assert report["ratio"] == pytest.approx(report["column_major_s"] / report["row_major_s"])


def test_views_share_memory_and_allocate_far_less_than_the_copy():
    report = view_costs((256, 256))
    views = ["slice", "transpose", "reshape"]
    copy = "copy (contiguous of a transpose)"
    assert set(report) == {*views, copy}
    element_bytes = 256 * 256 * 4
    assert not report[copy]["shares_memory"]
    assert report[copy]["bytes_allocated"] >= element_bytes
    for name in views:
        assert report[name]["shares_memory"], name
        assert report[name]["bytes_allocated"] < element_bytes / 20, name
