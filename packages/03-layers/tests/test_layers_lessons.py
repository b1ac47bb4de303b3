"""Systems lessons of module 03: parameter memory, Linear FLOPs, and the GEMM cache lesson."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.layers import (
    Linear,
    Module,
    Parameter,
    gemm_order_timing,
    linear_flops,
    matmul_blocked,
    matmul_naive,
    parameter_memory,
    parameter_memory_table,
)
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor


class TwoLayer(Module):
    def __init__(self) -> None:
        self.fc1 = Linear(784, 128)
        self.fc2 = Linear(128, 10)


# --------------------------------------------------------------------- memory
def test_parameter_memory_of_linear() -> None:
    assert parameter_memory(Linear(784, 128)) == (784 * 128 + 128) * 4 == 401_920
    assert parameter_memory(Linear(784, 128, bias=False)) == 784 * 128 * 4


def test_parameter_memory_in_other_dtypes() -> None:
    n = TwoLayer().num_parameters()
    assert n == 784 * 128 + 128 + 128 * 10 + 10
    model = TwoLayer()
    assert parameter_memory(model, np.float64) == 8 * n
    assert parameter_memory(model, "float16") == 2 * n
    assert parameter_memory(model, np.int8) == n
    assert parameter_memory_table(model) == {
        "float64": 8 * n,
        "float32": 4 * n,
        "float16": 2 * n,
        "int8": n,
    }


def test_parameter_memory_counts_stored_dtypes_and_shared_parameters_once() -> None:
    class Mixed(Module):
        def __init__(self) -> None:
            self.a = Parameter(np.zeros(10), dtype=np.float64)
            self.b = Parameter(np.zeros(10), dtype=np.float16)
            self.c = self.a  # shared: stored once
            self.register_buffer("stats", Tensor(np.zeros(1000)))  # not a parameter

    assert parameter_memory(Mixed()) == 10 * 8 + 10 * 2
    assert parameter_memory(Mixed(), np.float32) == 20 * 4


# --------------------------------------------------------------------- FLOPs
def test_linear_flops_forward_and_backward() -> None:
    n, i, o = 32, 784, 128
    assert linear_flops(n, i, o) == 2 * n * i * o + n * o == 6_426_624
    assert linear_flops(n, i, o, bias=False) == 2 * n * i * o
    assert linear_flops(n, i, o, backward=True) == 6 * n * i * o + 2 * n * o
    assert linear_flops(n, i, o, backward=True, bias=False) == 6 * n * i * o
    assert linear_flops(0, i, o, backward=True) == 0


def test_linear_flops_rejects_negative_sizes() -> None:
    with pytest.raises(ValueError, match="linear_flops: sizes must be >= 0, got batch=-1"):
        linear_flops(-1, 4, 4)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 64), in_features=st.integers(1, 64), out_features=st.integers(1, 64))
def test_training_step_costs_about_three_forwards(
    batch: int, in_features: int, out_features: int
) -> None:
    forward = linear_flops(batch, in_features, out_features, bias=False)
    total = linear_flops(batch, in_features, out_features, backward=True, bias=False)
    assert total == 3 * forward
    # The count is the multiply-adds of the matmul NumPy performs: (N, in) @ (in, out).
    assert forward == 2 * batch * out_features * in_features


# --------------------------------------------------------------------- GEMM
@pytest.mark.parametrize(("n", "k", "m"), [(1, 1, 1), (5, 7, 3), (40, 33, 70)])
def test_matmul_variants_match_numpy(n: int, k: int, m: int) -> None:
    gen = np.random.default_rng(0)
    a = gen.standard_normal((n, k))
    b = gen.standard_normal((k, m))
    assert_close(matmul_naive(a, b), a @ b, rtol=1e-12, atol=1e-12)
    for block in (1, 4, 32, 100):
        assert_close(matmul_blocked(a, b, block), a @ b, rtol=1e-12, atol=1e-12)


def test_matmul_variants_keep_the_dtype() -> None:
    a = np.ones((3, 4), dtype=np.float32)
    assert matmul_naive(a, a.T).dtype == np.float32
    assert matmul_blocked(a, a.T, 2).dtype == np.float32


def test_matmul_variants_reject_bad_shapes() -> None:
    a = np.ones((3, 4))
    with pytest.raises(ValueError, match=r"matmul_naive: .* got shapes \(3, 4\) and \(3, 4\)"):
        matmul_naive(a, a)
    with pytest.raises(ValueError, match="matmul_blocked: block must be >= 1"):
        matmul_blocked(a, a.T, 0)


def test_gemm_order_timing_reports_correct_results_and_positive_numbers() -> None:
    report = gemm_order_timing(n=48, block=16, repeats=1)
    assert set(report) == {"naive", "blocked", "numpy"}
    for name, row in report.items():
        assert set(row) == {"seconds", "gflops", "max_abs_error"}, name
        assert row["seconds"] > 0 and row["gflops"] > 0, name
        assert row["max_abs_error"] < 1e-3, name  # float32 sums of 48 products
        assert row["gflops"] == pytest.approx(2 * 48**3 / row["seconds"] / 1e9)


def test_gemm_order_timing_rejects_empty_size() -> None:
    with pytest.raises(ValueError, match="n must be >= 1"):
        gemm_order_timing(n=0)
