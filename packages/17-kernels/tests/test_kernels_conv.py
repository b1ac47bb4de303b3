"""The convolution kernel equals the reference `Conv2dOp` / `Conv1dOp`, forward and backward,
on every configuration the reference supports (the reference Op is the oracle)."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.kernels as kernels
from tinytorch.setup.testing import assert_close
from tinytorch.spatial.ops import Conv1dOp, Conv2dOp, conv_padding, to_pair
from tinytorch.tensor import Tensor, vjp
from tinytorch.tensor import apply as _apply


def apply(op, *arrays):
    """`apply` on Tensors that keep the arrays' dtypes (float64 stays float64)."""
    return _apply(op, *(Tensor(a, dtype=a.dtype) for a in arrays))


TOL = {np.float64: (1e-10, 1e-10), np.float32: (2e-4, 2e-4)}

# (N, C, H, W, O, kernel, stride, padding, dilation, groups, bias)
CASES = [
    (2, 3, 8, 8, 4, 3, 1, 1, 1, 1, True),  # the CNN's layer
    (1, 1, 5, 7, 1, 3, 1, 0, 1, 1, False),  # batch 1, odd, no padding
    (3, 5, 9, 6, 7, (3, 2), 1, (2, 1), 1, 1, True),  # rectangular kernel, asymmetric padding
    (2, 4, 11, 10, 3, 3, 2, 1, 1, 1, True),  # stride 2: col2im path
    (2, 3, 10, 9, 2, 3, (2, 3), 0, 1, 1, False),  # unequal strides
    (2, 2, 12, 12, 3, 3, 1, 2, 2, 1, True),  # dilation 2
    (2, 3, 9, 9, 4, 5, 1, "same", 1, 1, True),  # padding="same"
    (2, 3, 8, 8, 4, 4, 1, "same", 1, 1, False),  # even kernel "same": asymmetric padding
    (1, 2, 6, 6, 2, 1, 1, 0, 1, 1, True),  # 1x1 convolution
    (2, 4, 7, 7, 6, 3, 1, 1, 1, 2, True),  # groups: the reference runs
    (2, 3, 6, 6, 2, 3, 1, 4, 1, 1, True),  # padding larger than the kernel: gradient crops
]


def run(op_type, x, w, b, options, fast: bool, grad):
    op = op_type(*options)
    inputs = (x, w) if b is None else (x, w, b)
    with kernels.using("fast" if fast else "reference"):
        out = apply(op, *inputs).data
    grads = vjp(op, grad, (True,) * len(inputs))
    return out, grads, op


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES)
def test_conv2d_kernel_equals_reference(case, dtype) -> None:
    n, c, h, w_, o, k, s, p, d, groups, has_bias = case
    rng = np.random.default_rng(0)
    kernel, stride, dilation = to_pair(k, "k", "t"), to_pair(s, "s", "t"), to_pair(d, "d", "t")
    padding = conv_padding(p, kernel, stride, dilation, "t")
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    weight = rng.standard_normal((o, c // groups, *kernel)).astype(dtype)
    bias = rng.standard_normal(o).astype(dtype) if has_bias else None
    options = (stride, padding, dilation, groups)
    ref_op = Conv2dOp(*options)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    ref_out = apply(ref_op, *inputs).data
    grad = rng.standard_normal(ref_out.shape).astype(dtype)
    ref_grads = vjp(ref_op, grad, (True,) * len(inputs))
    out, grads, op = run(Conv2dOp, x, weight, bias, options, True, grad)
    assert op._kernel is kernels.FAST[Conv2dOp]
    assert out.dtype == ref_out.dtype and out.shape == ref_out.shape
    rtol, atol = TOL[dtype]
    assert_close(out, ref_out, rtol=rtol, atol=atol)
    for mine, theirs in zip(grads, ref_grads, strict=True):
        assert mine.dtype == theirs.dtype
        assert_close(mine, theirs, rtol=rtol, atol=atol)


def test_only_the_gradients_asked_for() -> None:
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    op = Conv2dOp((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    with kernels.using("fast"):
        out = apply(op, x, w, b)
    grads = vjp(op, np.ones(out.shape), (False, True, False))
    assert grads[0] is None and grads[2] is None and grads[1].shape == w.shape


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2)])
def test_conv1d_kernel_equals_reference(stride, padding, dilation) -> None:
    rng = np.random.default_rng(2)
    x, w, b = (
        rng.standard_normal((3, 4, 13)),
        rng.standard_normal((5, 4, 3)),
        rng.standard_normal(5),
    )
    options = ((1, stride), ((0, 0), (padding, padding)), (1, dilation), 1)
    ref = Conv1dOp(*options)
    ref_out = apply(ref, x, w, b).data
    grad = rng.standard_normal(ref_out.shape)
    out, grads, op = run(Conv1dOp, x, w, b, options, True, grad)
    assert op._kernel is kernels.FAST[Conv1dOp]
    assert_close(out, ref_out, rtol=1e-10, atol=1e-10)
    for mine, theirs in zip(grads, vjp(ref, grad, (True, True, True)), strict=True):
        assert_close(mine, theirs, rtol=1e-10, atol=1e-10)


def test_two_forwards_before_a_backward_keep_their_own_columns() -> None:
    """The pooled column buffer of the first forward is busy until its Op lets it go."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((2, 3, 3, 3))
    x1, x2 = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((2, 3, 6, 6))
    options = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    with kernels.using("fast"):
        a, b = Conv2dOp(*options), Conv2dOp(*options)
        out = apply(a, x1, w)
        apply(b, x2, w)
    ref = Conv2dOp(*options)
    apply(ref, x1, w)
    grad = np.ones(out.shape)
    assert_close(vjp(a, grad, (True, True))[1], vjp(ref, grad, (True, True))[1], rtol=1e-10)
