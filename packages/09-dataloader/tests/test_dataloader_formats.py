"""IDX and CIFAR-10 batch readers on small files written in the canonical formats."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.dataloader import CorruptDataError, parse_idx, read_cifar_batch, read_idx, write_idx


@pytest.mark.parametrize("compressed", [True, False])
def test_read_idx_of_hand_written_files(tmp_path: Path, files: SimpleNamespace, compressed: bool):
    images = files.images(7, 0)
    raw = files.idx_bytes(images)
    path = tmp_path / ("images.gz" if compressed else "images")
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    out = read_idx(path)
    assert out.shape == (7, 28, 28) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, images)
    out[0, 0, 0] = 1  # a writable array, not a view of the file's bytes
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    (tmp_path / "labels").write_bytes(files.idx_bytes(labels))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), labels)


def test_read_idx_big_endian_types(files: SimpleNamespace) -> None:
    for code, dtype in ((0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)):
        values = (np.arange(12).reshape(3, 4) - 6).astype(dtype) * 3
        out = parse_idx(files.idx_bytes(values, code))
        assert out.dtype == np.dtype(dtype)  # native byte order
        np.testing.assert_array_equal(out, values)
    signed = np.array([-128, -1, 0, 127], dtype=np.int8)
    np.testing.assert_array_equal(parse_idx(files.idx_bytes(signed, 0x09)), signed)


@settings(deadline=None, max_examples=25)
@given(
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=4),
    dtype=st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
    compressed=st.booleans(),
)
def test_write_then_read_round_trips(tmp_path_factory, shape, dtype, compressed) -> None:  # type: ignore[no-untyped-def]
    values = (np.arange(int(np.prod(shape))).reshape(shape) % 100).astype(dtype)
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if compressed else "a.idx")
    out = read_idx(write_idx(path, values))
    assert out.dtype == values.dtype and out.shape == values.shape
    np.testing.assert_array_equal(out, values)


def test_write_idx_is_the_canonical_layout(tmp_path: Path, files: SimpleNamespace) -> None:
    values = files.images(3, 1)
    assert write_idx(tmp_path / "x", values).read_bytes() == files.idx_bytes(values)
    with pytest.raises(TypeError, match="no type code for int64"):
        write_idx(tmp_path / "y", np.zeros(3, dtype=np.int64))


def test_corrupt_idx_errors_name_the_file(tmp_path: Path, files: SimpleNamespace) -> None:
    raw = files.idx_bytes(files.images(4, 2))
    bad_magic = tmp_path / "bad-magic"
    bad_magic.write_bytes(b"\x08\x03" + raw[2:])
    with pytest.raises(CorruptDataError, match=r"bad-magic: bad magic number 0x0803"):
        read_idx(bad_magic)
    truncated = tmp_path / "truncated"
    truncated.write_bytes(raw[:-10])
    with pytest.raises(
        CorruptDataError, match=r"truncated: the header promises shape \(4, 28, 28\)"
    ):
        read_idx(truncated)
    short_header = tmp_path / "short"
    short_header.write_bytes(raw[:9])
    with pytest.raises(CorruptDataError, match="3 dimensions"):
        read_idx(short_header)
    broken_gzip = tmp_path / "broken.gz"
    broken_gzip.write_bytes(gzip.compress(raw)[:-20])
    with pytest.raises(CorruptDataError, match=r"broken.gz: broken gzip data"):
        read_idx(broken_gzip)
    with pytest.raises(CorruptDataError, match="bad magic"):
        parse_idx(b"")


def test_read_cifar_batch_layout(tmp_path: Path, files: SimpleNamespace) -> None:
    images = files.images(5, 3, (3, 32, 32))
    labels = np.array([0, 9, 3, 3, 1])
    path = tmp_path / "data_batch_1"
    path.write_bytes(files.cifar_batch_bytes(images, labels))
    out_images, out_labels = read_cifar_batch(path)
    assert out_images.shape == (5, 3, 32, 32) and out_images.dtype == np.uint8
    assert out_labels.dtype == np.int64
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, labels)
    # Row layout: the first 1024 bytes of a row are the red plane, row-major.
    row = images.reshape(5, -1)[1]
    np.testing.assert_array_equal(out_images[1, 0].ravel(), row[:1024])
    np.testing.assert_array_equal(out_images[1, 2, 31], row[-32:])


def test_read_cifar_batch_with_str_keys_and_numpy_labels(tmp_path: Path) -> None:
    data = np.zeros((2, 3072), dtype=np.uint8)
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps({"data": data, "labels": np.array([4, 5])}))
    assert read_cifar_batch(path)[1].tolist() == [4, 5]


def test_read_cifar_batch_refuses_code_and_bad_contents(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("this must never run",))

    evil = tmp_path / "evil"
    evil.write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(CorruptDataError, match=r"evil: .*refusing to load builtins.print"):
        read_cifar_batch(evil)
    cases = {
        "not-pickle": b"hello world",
        "a-list": pickle.dumps([1, 2]),
        "no-labels": pickle.dumps({b"data": np.zeros((1, 3072), dtype=np.uint8)}),
        "wrong-width": pickle.dumps({b"data": np.zeros((1, 100), dtype=np.uint8), b"labels": [1]}),
        "few-labels": pickle.dumps({b"data": np.zeros((2, 3072), dtype=np.uint8), b"labels": [1]}),
    }
    messages = {
        "not-pickle": "not a readable CIFAR-10",
        "a-list": "holds a list",
        "no-labels": "keys b'data' and b'labels'",
        "wrong-width": r"\(N, 3072\) uint8",
        "few-labels": "2 images but labels of shape",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CorruptDataError, match=messages[name]):
            read_cifar_batch(tmp_path / name)
