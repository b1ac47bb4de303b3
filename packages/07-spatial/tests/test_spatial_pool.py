"""MaxPool2d and AvgPool2d: the strided Ops against the loop oracles, their backward against
finite differences, tie-breaking, and the Modules' manual backward against autograd."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.spatial import (
    AvgPool2d,
    MaxPool2d,
    avg_pool2d,
    avg_pool2d_naive,
    max_pool2d,
    max_pool2d_naive,
)
from tinytorch.spatial.ops import AvgPool2dOp, MaxPool2dOp, pool_arguments
from tinytorch.tensor import Tensor

# (kernel_size, stride, padding, H, W)
CONFIGS: dict[str, tuple[Any, ...]] = {
    "k2": (2, None, 0, 6, 8),
    "k2_odd_size": (2, None, 0, 7, 5),
    "k3_s2_p1": (3, 2, 1, 7, 7),
    "k3_s1_p1_overlapping": (3, 1, 1, 5, 6),
    "stride_bigger_than_kernel": (2, 3, 0, 8, 7),
    "rectangular": ((3, 2), (1, 2), (1, 0), 6, 7),
    "global": ((4, 5), None, 0, 4, 5),
}

# kind -> (Op class, loop oracle, functional form, Module class)
OPS: dict[str, tuple[Any, ...]] = {
    "max": (MaxPool2dOp, max_pool2d_naive, max_pool2d, MaxPool2d),
    "avg": (AvgPool2dOp, avg_pool2d_naive, avg_pool2d, AvgPool2d),
}


def make_op(kind: str, kernel: Any, stride: Any, padding: Any) -> MaxPool2dOp | AvgPool2dOp:
    """The Op of a pooling layer with PyTorch's default options."""
    kernel, stride, padding, _ = pool_arguments(kernel, stride, padding, "test")
    if kind == "max":
        return MaxPool2dOp(kernel, stride, padding)
    return AvgPool2dOp(kernel, stride, padding)


def distinct_input(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Values with no ties, at least 0.1 apart: max pooling is differentiable there."""
    values = np.random.default_rng(seed).permutation(int(np.prod(shape)))
    return (values.reshape(shape) * 0.1 - 1.0).astype(np.float64)


def make(name: str) -> tuple[Any, ...]:
    kernel, stride, padding, h, w = CONFIGS[name]
    return kernel, stride, padding, distinct_input((2, 3, h, w))


@pytest.mark.parametrize("kind", OPS)
@pytest.mark.parametrize("name", CONFIGS)
def test_forward_matches_the_loop_oracle(kind: str, name: str) -> None:
    _, naive, function, _ = OPS[kind]
    kernel, stride, padding, x = make(name)
    out = function(Tensor(x, dtype=np.float64), kernel, stride, padding)
    assert out.dtype == np.float64
    assert_close(out, naive(x, kernel, stride, padding), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", OPS)
@pytest.mark.parametrize("name", CONFIGS)
def test_backward_matches_finite_differences(kind: str, name: str) -> None:
    kernel, stride, padding, x = make(name)

    def forward(x: np.ndarray) -> np.ndarray:
        return make_op(kind, kernel, stride, padding).forward(x)

    def backward(x: np.ndarray, g: np.ndarray) -> list:
        op = make_op(kind, kernel, stride, padding)
        op.forward(x)
        return list(op.backward(g, (True,)))

    gradcheck(forward, [x], backward, eps=1e-4, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", OPS)
@pytest.mark.parametrize("name", ["k3_s2_p1", "k3_s1_p1_overlapping", "rectangular"])
def test_module_manual_backward_equals_autograd(kind: str, name: str) -> None:
    *_, module_class = OPS[kind]
    kernel, stride, padding, x = make(name)
    layer = module_class(kernel, stride, padding)
    inputs = Tensor(x.astype(np.float32), requires_grad=True)
    out = layer(inputs)
    grad = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    out.backward(grad, retain_graph=True)
    manual = layer.backward(Tensor(grad))
    assert manual.dtype == np.float32 and manual.shape == x.shape
    assert_close(manual, inputs.grad, rtol=1e-6, atol=1e-7)  # type: ignore[arg-type]


def test_max_pool_ties_go_to_the_first_maximum() -> None:
    """Equal values in a window: the gradient goes to the first in row-major order (PyTorch)."""
    x = np.array([[[[1.0, 1.0], [1.0, 1.0]]]], dtype=np.float32)
    inputs = Tensor(x, requires_grad=True)
    max_pool2d(inputs, 2).sum().backward()
    assert_close(inputs.grad, np.array([[[[1.0, 0.0], [0.0, 0.0]]]], dtype=np.float32))  # type: ignore[arg-type]
    y = np.array([[[[0.0, 3.0, 3.0], [3.0, 1.0, 3.0]]]], dtype=np.float32)
    op = MaxPool2dOp((2, 2), (1, 1), (0, 0))
    op.forward(y)
    (argmax,) = op.saved
    assert argmax.tolist() == [[[[1, 0]]]]


def test_max_pool_overlapping_windows_add_their_gradients() -> None:
    x = np.array([[[[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]], dtype=np.float32)
    inputs = Tensor(x, requires_grad=True)
    max_pool2d(inputs, 2, stride=1).sum().backward()  # the 9 is the max of all 4 windows
    assert inputs.grad.data[0, 0, 1, 1] == 4 and inputs.grad.data.sum() == 4  # type: ignore[union-attr]


def test_max_pool_padding_is_never_the_maximum() -> None:
    x = -np.ones((1, 1, 3, 3), dtype=np.float32)
    assert_close(max_pool2d(Tensor(x), 2, padding=1), -np.ones((1, 1, 2, 2), dtype=np.float32))


def test_avg_pool_counts_the_padding() -> None:
    x = np.ones((1, 1, 2, 2), dtype=np.float32)
    out = avg_pool2d(Tensor(x), 2, stride=2, padding=1)  # each window holds 1 real pixel of 4
    assert_close(out, np.full((1, 1, 2, 2), 0.25, dtype=np.float32))


def test_max_pool_propagates_nan_and_keeps_argmax_small() -> None:
    x = np.zeros((1, 2, 4, 4), dtype=np.float32)
    x[0, 0, 1, 1] = np.nan
    out = max_pool2d(Tensor(x), 2)
    assert np.isnan(out.data[0, 0, 0, 0]) and not np.isnan(out.data[0, 0, 1, 1])
    op = MaxPool2dOp((3, 3), (1, 1), (0, 0))
    op.forward(x)
    assert op.saved[0].dtype == np.uint8 and op.saved[0].nbytes == 2 * 2 * 2  # 1 byte each
    big = MaxPool2dOp((17, 17), (1, 1), (0, 0))
    big.forward(np.zeros((1, 1, 17, 17), dtype=np.float32))
    assert big.saved[0].dtype == np.uint16


def test_pooling_works_on_any_leading_dims() -> None:
    x = distinct_input((3, 6, 4)).astype(np.float32)  # (C, H, W), no batch dim
    assert_close(max_pool2d(Tensor(x), 2), max_pool2d_naive(x, 2))
    assert_close(avg_pool2d(Tensor(x), 2), avg_pool2d_naive(x, 2))


@settings(max_examples=40, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    extra=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    seed=st.integers(0, 2**16),
)
def test_random_shapes(
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    extra: tuple[int, int],
    seed: int,
) -> None:
    """Both pools equal their oracles; avg pooling is linear and max pooling picks inputs, so
    for both <pool(x), g> == <x, dL/dx>."""
    padding = (min(padding[0], kernel[0] // 2), min(padding[1], kernel[1] // 2))
    h, w = (k + e for k, e in zip(kernel, extra, strict=True))
    x = distinct_input((2, 2, h, w), seed)
    for kind, (_, naive, *_) in OPS.items():
        op = make_op(kind, kernel, stride, padding)
        out = op.forward(x)
        assert_close(out, naive(x, kernel, stride, padding), rtol=1e-12, atol=1e-12)
        grad = np.random.default_rng(seed).standard_normal(out.shape)
        (grad_input,) = op.backward(grad, (True,))
        assert grad_input.shape == x.shape
        assert np.isclose(np.sum(x * grad_input), np.sum(out * grad), rtol=1e-9, atol=1e-9)


def test_modules_defaults_repr_and_errors() -> None:
    pool = MaxPool2d(2)
    assert pool.stride == (2, 2) and pool.padding == (0, 0) and pool.dilation == (1, 1)
    assert not pool.ceil_mode and not pool.return_indices
    assert repr(pool) == (
        "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), "
        "ceil_mode=False)"
    )
    assert (
        repr(AvgPool2d(3, 1, 1)) == "AvgPool2d(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    )
    assert pool.num_parameters() == 0
    with pytest.raises(ValueError, match="at most half of kernel_size"):
        MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        AvgPool2d(0)
    with pytest.raises(ValueError, match="no output pixel"):
        pool(Tensor(np.ones((1, 1, 1, 1))))
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W\)"):
        pool(Tensor(np.ones(4)))
    with pytest.raises(TypeError, match="floating-point"):
        pool(Tensor(np.ones((1, 1, 4, 4), dtype=np.int32)))
    with pytest.raises(RuntimeError, match="call forward first"):
        MaxPool2d(2).backward(Tensor(np.ones((1, 1, 2, 2))))
