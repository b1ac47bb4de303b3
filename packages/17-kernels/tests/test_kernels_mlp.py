"""The MLP kernel (fused bias + GELU) equals the reference `MLPOp` (the oracle), forward and
backward, both GELU forms, with and without biases, on both engines."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.kernels as kernels
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor, vjp
from tinytorch.tensor import apply as _apply
from tinytorch.transformers.ops import MLPOp

TOL = {np.float64: 1e-10, np.float32: 2e-5}


def apply(op, *arrays):
    return _apply(op, *(Tensor(a, dtype=a.dtype) for a in arrays))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(2, 3, 8), (1, 1, 8), (5, 8)])
def test_mlp_kernel_equals_reference(shape, bias, approximate, dtype, engine) -> None:
    rng = np.random.default_rng(0)
    e, hidden = shape[-1], 4 * shape[-1]
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    params = [rng.standard_normal((hidden, e)).astype(dtype)]
    if bias:
        params.append(rng.standard_normal(hidden).astype(dtype))
    params.append(rng.standard_normal((e, hidden)).astype(dtype))
    if bias:
        params.append(rng.standard_normal(e).astype(dtype))
    ref = MLPOp(approximate, bias)
    ref_out = apply(ref, x, *params).data
    op = MLPOp(approximate, bias)
    with kernels.using("fast+gelu"):
        out = apply(op, x, *params).data
    assert op._kernel is kernels.table("fast+gelu")[MLPOp]
    tol = TOL[dtype]
    assert out.dtype == ref_out.dtype
    assert_close(out, ref_out, rtol=tol, atol=tol * 10)
    grad = rng.standard_normal(ref_out.shape).astype(dtype)
    needs = (True,) * (1 + len(params))
    for mine, theirs in zip(vjp(op, grad, needs), vjp(ref, grad, needs), strict=True):
        assert mine.dtype == theirs.dtype
        assert_close(mine, theirs, rtol=tol, atol=tol * 100)


def test_mlp_kernel_keeps_the_reference_error() -> None:
    with kernels.using("fast+gelu"), pytest.raises(ValueError, match="mlp: expected x"):
        apply(MLPOp(), np.ones((2, 3)), np.ones((8, 4)), np.ones(8), np.ones((4, 8)), np.ones(4))
