"""Pooling options beyond the defaults, PyTorch's: MaxPool2d's dilation, ceil_mode and
return_indices; AvgPool2d's ceil_mode, count_include_pad and divisor_override. Each against
the loop oracles (which follow PyTorch's CPU kernels window by window), finite differences,
and hand-computed edge cases."""

from __future__ import annotations

import itertools
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
    pool_output_size,
)
from tinytorch.spatial.ops import AvgPool2dOp, MaxPool2dOp, pool_arguments
from tinytorch.tensor import Tensor


def distinct_input(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Values with no ties, at least 0.1 apart: max pooling is differentiable there."""
    values = np.random.default_rng(seed).permutation(int(np.prod(shape)))
    return (values.reshape(shape) * 0.1 - 1.0).astype(np.float64)


def max_op(kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool) -> MaxPool2dOp:
    k, s, p, d = pool_arguments(kernel, stride, padding, "test", dilation)
    return MaxPool2dOp(k, s, p, d, ceil_mode, return_indices=True)


def avg_op(kernel: Any, stride: Any, padding: Any, *options: Any) -> AvgPool2dOp:
    k, s, p, _ = pool_arguments(kernel, stride, padding, "test")
    return AvgPool2dOp(k, s, p, *options)


# (kernel_size, stride, padding, dilation, ceil_mode, H, W)
MAX_CONFIGS: dict[str, tuple[Any, ...]] = {
    "dilation2": (3, 1, 0, 2, False, 7, 8),
    "dilation2_padding1": (3, 2, 1, 2, False, 8, 7),
    "dilation_rectangular": ((2, 3), (1, 2), (1, 1), (3, 2), False, 7, 9),
    "ceil_partial_last_window": (2, 2, 0, 1, True, 5, 7),
    "ceil_k3_s2_p1": (3, 2, 1, 1, True, 6, 8),
    "ceil_window_would_start_in_padding": (2, 4, 1, 1, True, 6, 6),
    "ceil_with_dilation": (3, 2, 1, 2, True, 8, 9),
    "ceil_no_effect": (2, 2, 0, 1, True, 6, 8),
    "stride_bigger_than_kernel_ceil": (2, 3, 1, 1, True, 8, 7),
}


@pytest.mark.parametrize("name", MAX_CONFIGS)
def test_max_pool_values_and_indices_match_the_oracle(name: str) -> None:
    kernel, stride, padding, dilation, ceil_mode, h, w = MAX_CONFIGS[name]
    x = distinct_input((2, 3, h, w))
    out, indices = max_pool2d(
        Tensor(x, dtype=np.float64), kernel, stride, padding, dilation, ceil_mode, True
    )
    expected, expected_indices = max_pool2d_naive(
        x, kernel, stride, padding, dilation, ceil_mode, return_indices=True
    )
    assert_close(out, expected, rtol=0, atol=0)
    assert indices.dtype == np.int64 and not indices.requires_grad
    np.testing.assert_array_equal(indices.data, expected_indices)
    # the indices point at the maxima: gathering them from each plane gives the output
    planes = x.reshape(2, 3, h * w)
    gathered = np.take_along_axis(planes, indices.data.reshape(2, 3, -1), axis=2)
    np.testing.assert_array_equal(gathered.reshape(out.shape), out.data)


@pytest.mark.parametrize("name", MAX_CONFIGS)
def test_max_pool_backward_matches_finite_differences(name: str) -> None:
    kernel, stride, padding, dilation, ceil_mode, h, w = MAX_CONFIGS[name]
    x = distinct_input((1, 2, h, w), seed=1)
    settings_ = (kernel, stride, padding, dilation, ceil_mode)

    def backward(x: np.ndarray, g: np.ndarray) -> list:
        op = max_op(*settings_)
        op.forward(x)
        return list(op.backward(g, (True,)))

    gradcheck(lambda x: max_op(*settings_).forward(x), [x], backward, eps=1e-4, rtol=1e-6)


def test_max_pool_ceil_mode_keeps_the_partial_window_by_hand() -> None:
    x = np.arange(1, 6, dtype=np.float32).reshape(1, 1, 1, 5)  # [1 2 3 4 5]
    floor = max_pool2d(Tensor(x), (1, 2))
    ceil, indices = max_pool2d(Tensor(x), (1, 2), ceil_mode=True, return_indices=True)
    assert floor.data.tolist() == [[[[2.0, 4.0]]]]
    assert ceil.data.tolist() == [[[[2.0, 4.0, 5.0]]]]  # the last window holds only the 5
    assert indices.data.tolist() == [[[[1, 3, 4]]]]


def test_max_pool_dilation_by_hand() -> None:
    x = np.array([[[[9.0, 0.0, 1.0, 0.0, 2.0]]]], dtype=np.float32)
    out, indices = max_pool2d(Tensor(x), (1, 2), stride=1, dilation=(1, 3), return_indices=True)
    assert out.data.tolist() == [[[[9.0, 2.0]]]]  # windows {0, 3} and {1, 4}
    assert indices.data.tolist() == [[[[0, 4]]]]


def test_max_pool_nan_wins_and_the_last_nan_gives_the_index() -> None:
    """PyTorch's CPU rule: a value replaces the maximum when larger *or NaN*."""
    x = np.array([[[[1.0, np.nan], [np.nan, 5.0]]]], dtype=np.float32)
    out, indices = max_pool2d(Tensor(x), 2, return_indices=True)
    assert np.isnan(out.data).all()
    assert indices.data.tolist() == [[[[2]]]]
    assert max_pool2d_naive(x, 2, return_indices=True)[1].tolist() == [[[[2]]]]


def test_max_pool_all_minus_inf_window_points_at_its_first_real_pixel() -> None:
    """A window whose real pixels are all -inf: its index (and its gradient) goes to the first
    real pixel, never to the padding, as PyTorch."""
    x = np.full((1, 1, 3, 3), -np.inf, dtype=np.float64)
    inputs = Tensor(x, dtype=np.float64, requires_grad=True)
    out, indices = max_pool2d(inputs, 3, stride=2, padding=1, return_indices=True)
    expected = max_pool2d_naive(x, 3, 2, 1, return_indices=True)[1]
    np.testing.assert_array_equal(indices.data, expected)
    assert indices.data.tolist() == [[[[0, 1], [3, 4]]]]
    out.sum().backward()
    assert inputs.grad is not None and inputs.grad.data.sum() == 4  # every gradient arrived


# (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, H, W)
AVG_CONFIGS: dict[str, tuple[Any, ...]] = {
    "exclude_pad": (3, 2, 1, False, False, None, 7, 6),
    "ceil_include_pad": (3, 2, 1, True, True, None, 6, 8),
    "ceil_exclude_pad": (3, 2, 1, True, False, None, 6, 8),
    "ceil_past_the_padding": (2, 2, 0, True, True, None, 5, 7),
    "ceil_start_in_padding_dropped": (2, 4, 1, True, True, None, 6, 6),
    "divisor_override": (3, 1, 1, False, True, 2, 5, 5),
    "divisor_override_ceil": ((2, 3), (2, 2), (1, 1), True, False, 7, 6, 7),
    "rectangular_exclude_pad": ((3, 2), (1, 2), (1, 1), False, False, None, 5, 6),
}


@pytest.mark.parametrize("name", AVG_CONFIGS)
def test_avg_pool_matches_the_oracle(name: str) -> None:
    kernel, stride, padding, *options, h, w = AVG_CONFIGS[name]
    x = distinct_input((2, 3, h, w))
    out = avg_pool2d(Tensor(x, dtype=np.float64), kernel, stride, padding, *options)
    assert out.dtype == np.float64
    assert_close(out, avg_pool2d_naive(x, kernel, stride, padding, *options), rtol=1e-12)


@pytest.mark.parametrize("name", AVG_CONFIGS)
def test_avg_pool_backward_matches_finite_differences(name: str) -> None:
    kernel, stride, padding, *options, h, w = AVG_CONFIGS[name]
    x = distinct_input((1, 2, h, w), seed=2)

    def backward(x: np.ndarray, g: np.ndarray) -> list:
        op = avg_op(kernel, stride, padding, *options)
        op.forward(x)
        return list(op.backward(g, (True,)))

    forward = lambda x: avg_op(kernel, stride, padding, *options).forward(x)  # noqa: E731
    gradcheck(forward, [x], backward, rtol=1e-6)


def test_avg_pool_divisors_by_hand() -> None:
    ones = np.ones((1, 1, 3, 3), dtype=np.float32)
    # ceil_mode: the right and bottom windows hold 2 (or 1) real pixels, and the window is
    # clipped at the padded input's edge, so the divisor is that count too: all ones
    assert_close(avg_pool2d(Tensor(ones), 2, ceil_mode=True), np.ones((1, 1, 2, 2)))
    quarters = avg_pool2d(Tensor(ones), 2, ceil_mode=True, divisor_override=4)
    assert_close(quarters, np.array([[[[1.0, 0.5], [0.5, 0.25]]]]))
    # padding 1: counted (4 per window, 1 real pixel in a corner: 1/4) or not (1/1)
    counted = avg_pool2d(Tensor(ones), 2, stride=2, padding=1)
    not_counted = avg_pool2d(Tensor(ones), 2, stride=2, padding=1, count_include_pad=False)
    assert_close(counted, np.array([[[[0.25, 0.5], [0.5, 1.0]]]]))
    assert_close(not_counted, np.ones((1, 1, 2, 2)))


def test_avg_pool_whole_windows_divide_by_one_number() -> None:
    op = avg_op(2, 2, 0)
    op.forward(np.ones((1, 1, 4, 4)))
    assert op.divisor == 4.0  # no (Ho, Wo) array when every window is whole
    op = avg_op(3, 2, 1, False, False)
    op.forward(np.ones((1, 1, 5, 5)))
    assert isinstance(op.divisor, np.ndarray) and op.divisor.tolist() == [
        [4, 6, 4],
        [6, 9, 6],
        [4, 6, 4],
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((5, 2, 2, 0), 2),
        ((5, 2, 2, 0, 1, True), 3),  # a last window of one row
        ((6, 2, 2, 0, 1, True), 3),  # ceil changes nothing when the windows fit
        ((6, 2, 4, 1, 1, False), 2),
        ((6, 2, 4, 1, 1, True), 2),  # a third window would start in the right padding
        ((7, 3, 2, 1, 2, False), 3),
        ((8, 3, 2, 1, 2, True), 4),
    ],
)
def test_pool_output_size(args: tuple[Any, ...], expected: int) -> None:
    assert pool_output_size(*args) == expected


@settings(max_examples=40, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    ceil_mode=st.booleans(),
    extra=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    seed=st.integers(0, 2**16),
)
def test_random_max_pool_settings(
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    ceil_mode: bool,
    extra: tuple[int, int],
    seed: int,
) -> None:
    """Values and indices equal the oracle's; the backward sends each gradient to its index:
    dL/dx is the scatter-add of dL/dy at the indices."""
    padding = (min(padding[0], kernel[0] // 2), min(padding[1], kernel[1] // 2))
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    h, w = (s + e for s, e in zip(span, extra, strict=True))
    x = distinct_input((2, 2, h, w), seed)
    op = max_op(kernel, stride, padding, dilation, ceil_mode)
    out = op.forward(x)
    expected, expected_indices = max_pool2d_naive(
        x, kernel, stride, padding, dilation, ceil_mode, True
    )
    assert_close(out, expected, rtol=0, atol=0)
    assert op.indices is not None
    np.testing.assert_array_equal(op.indices, expected_indices)
    grad = np.random.default_rng(seed).standard_normal(out.shape)
    (grad_input,) = op.backward(grad, (True,))
    scattered = np.zeros((4, h * w))
    for plane, (g, i) in enumerate(
        zip(grad.reshape(4, -1), op.indices.reshape(4, -1), strict=True)
    ):
        np.add.at(scattered[plane], i, g)
    assert_close(grad_input, scattered.reshape(x.shape), rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
    divisor_override=st.sampled_from([None, 1, 5]),
    extra=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    seed=st.integers(0, 2**16),
)
def test_random_avg_pool_settings(
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
    extra: tuple[int, int],
    seed: int,
) -> None:
    """Equal to the oracle; average pooling is linear, so <pool(x), g> == <x, dL/dx>."""
    padding = (min(padding[0], kernel[0] // 2), min(padding[1], kernel[1] // 2))
    h, w = (k + e for k, e in zip(kernel, extra, strict=True))
    x = distinct_input((2, 2, h, w), seed)
    options = (ceil_mode, count_include_pad, divisor_override)
    op = avg_op(kernel, stride, padding, *options)
    out = op.forward(x)
    assert_close(out, avg_pool2d_naive(x, kernel, stride, padding, *options), rtol=1e-12)
    grad = np.random.default_rng(seed).standard_normal(out.shape)
    (grad_input,) = op.backward(grad, (True,))
    assert np.isclose(np.sum(x * grad_input), np.sum(out * grad), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("ceil_mode", "dilation"), list(itertools.product([False, True], [1, 2])))
def test_max_pool_module_returns_indices_and_backward_equals_autograd(
    ceil_mode: bool, dilation: int
) -> None:
    layer = MaxPool2d(3, 2, 1, dilation=dilation, return_indices=True, ceil_mode=ceil_mode)
    x = distinct_input((2, 3, 8, 7), seed=3).astype(np.float32)
    inputs = Tensor(x, requires_grad=True)
    out, indices = layer(inputs)
    expected = max_pool2d_naive(x, 3, 2, 1, dilation, ceil_mode, return_indices=True)
    assert_close(out, expected[0], rtol=0, atol=0)
    np.testing.assert_array_equal(indices.data, expected[1])
    assert layer._ctx is not None and layer._ctx.indices is None  # handed out, not kept
    grad = np.random.default_rng(4).standard_normal(out.shape).astype(np.float32)
    out.backward(grad, retain_graph=True)
    manual = layer.backward(Tensor(grad))
    assert_close(manual, inputs.grad, rtol=0, atol=0)  # type: ignore[arg-type]


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_module_options_and_manual_backward(count_include_pad: bool) -> None:
    layer = AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=count_include_pad)
    x = distinct_input((2, 3, 6, 8), seed=5).astype(np.float32)
    inputs = Tensor(x, requires_grad=True)
    out = layer(inputs)
    expected = avg_pool2d_naive(x, 3, 2, 1, True, count_include_pad)
    assert_close(out, expected, rtol=1e-6, atol=1e-7)
    grad = np.random.default_rng(6).standard_normal(out.shape).astype(np.float32)
    out.backward(grad, retain_graph=True)
    assert_close(layer.backward(Tensor(grad)), inputs.grad, rtol=1e-6, atol=1e-7)  # type: ignore[arg-type]
    assert repr(layer) == "AvgPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"


def test_pooling_option_errors() -> None:
    with pytest.raises(ValueError, match="divisor_override must be a nonzero int"):
        AvgPool2d(2, divisor_override=0)
    with pytest.raises(ValueError, match="divisor_override must be a nonzero int"):
        avg_pool2d(Tensor(np.ones((1, 1, 4, 4))), 2, divisor_override=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dilation must be >= 1"):
        MaxPool2d(2, dilation=0)
    with pytest.raises(ValueError, match="no output pixel"):
        max_pool2d(Tensor(np.ones((1, 1, 4, 4))), 2, dilation=4)
