"""The max-pool kernel equals the reference `MaxPool2dOp` (the oracle), forward, argmax,
indices and backward, on both engines."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.kernels as kernels
from tinytorch.setup.testing import assert_close
from tinytorch.spatial.ops import MaxPool2dOp, pool_arguments
from tinytorch.tensor import Tensor, vjp
from tinytorch.tensor import apply as _apply


def apply(op, *arrays):
    """`apply` on Tensors that keep the arrays' dtypes (float64 stays float64)."""
    return _apply(op, *(Tensor(a, dtype=a.dtype) for a in arrays))


# (shape, kernel, stride, padding, dilation, ceil_mode)
CASES = [
    ((4, 8, 16, 16), 2, None, 0, 1, False),  # the CNN's pool
    ((1, 1, 5, 7), 2, None, 0, 1, False),  # batch 1, odd sizes (last row/column dropped)
    ((2, 3, 7, 7), 3, 2, 1, 1, False),  # overlapping windows, padding
    ((2, 2, 9, 8), (3, 2), (2, 1), (1, 1), 1, False),
    ((2, 2, 5, 5), 2, 2, 0, 1, True),  # ceil_mode: partial last windows
    ((1, 2, 10, 10), 3, 1, 1, 2, False),  # dilation
    ((3, 6, 6), 2, None, 0, 1, False),  # (C, H, W), no batch dim
]


def pool_op(kernel, stride, padding, dilation, ceil_mode, indices=False) -> MaxPool2dOp:
    k, s, p, d = pool_arguments(kernel, stride, padding, "t", dilation)
    return MaxPool2dOp(k, s, p, d, ceil_mode, indices)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES)
def test_max_pool_kernel_equals_reference(case, dtype, engine) -> None:
    shape, *options = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    x[..., 0, :2] = 1.5  # ties: the first offset wins
    ref = pool_op(*options, indices=True)
    ref_out = apply(ref, x).data
    grad = rng.standard_normal(ref_out.shape).astype(dtype)
    (ref_dx,) = vjp(ref, grad, (True,))
    op = pool_op(*options, indices=True)
    with kernels.using("fast"):
        out = apply(op, x).data
    assert op._kernel is kernels.FAST[MaxPool2dOp]
    assert_close(out, ref_out, rtol=0, atol=0)
    np.testing.assert_array_equal(op.saved[0], ref.saved[0])
    np.testing.assert_array_equal(op.indices, ref.indices)
    (dx,) = vjp(op, grad, (True,))
    assert dx.shape == x.shape and dx.dtype == x.dtype
    assert_close(dx, ref_dx, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_nan_and_all_minus_infinity_windows_follow_the_reference(engine) -> None:
    x = np.array([[[[1.0, np.nan, 3.0, np.nan], [0.0, 2.0, -np.inf, -np.inf]]]])
    x = np.concatenate([x, x[..., ::-1]], axis=2)
    ref, op = pool_op(2, 2, 0, 1, False), pool_op(2, 2, 0, 1, False)
    ref_out = apply(ref, x).data
    with kernels.using("fast"):
        out = apply(op, x).data
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(op.saved[0], ref.saved[0])


def test_bad_input_raises_the_reference_error() -> None:
    with kernels.using("fast"), pytest.raises(ValueError, match="smaller than the kernel"):
        apply(pool_op(5, None, 0, 1, False), np.ones((1, 1, 3, 3)))
