"""The LayerNorm kernel equals the reference `LayerNormOp` (the oracle), forward and backward,
on both engines."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.kernels as kernels
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor, vjp
from tinytorch.tensor import apply as _apply
from tinytorch.transformers.ops import LayerNormOp

TOL = {np.float64: 1e-10, np.float32: 2e-5}


def apply(op, *arrays):
    return _apply(op, *(Tensor(a, dtype=a.dtype) for a in arrays))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("params", ["both", "weight", "none"])
@pytest.mark.parametrize(
    "shape,normalized", [((2, 5, 16), (16,)), ((1, 1, 7), (7,)), ((3, 4, 6), (4, 6)), ((9,), (9,))]
)
def test_layer_norm_kernel_equals_reference(shape, normalized, params, dtype, engine) -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    w = rng.standard_normal(normalized).astype(dtype) if params != "none" else None
    b = rng.standard_normal(normalized).astype(dtype) if params == "both" else None
    inputs = [a for a in (x, w, b) if a is not None]
    ref = LayerNormOp(normalized, 1e-5)
    ref_out = apply(ref, *inputs).data
    grad = rng.standard_normal(shape).astype(dtype)
    op = LayerNormOp(normalized, 1e-5)
    with kernels.using("fast"):
        out = apply(op, *inputs).data
    assert op._kernel is kernels.FAST[LayerNormOp]
    tol = TOL[dtype]
    assert out.dtype == ref_out.dtype
    assert_close(out, ref_out, rtol=tol, atol=tol)
    needs = (True,) * len(inputs)
    for mine, theirs in zip(vjp(op, grad, needs), vjp(ref, grad, needs), strict=True):
        assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
        assert_close(mine, theirs, rtol=tol, atol=tol * 10)


def test_layer_norm_kernel_keeps_the_reference_errors() -> None:
    with kernels.using("fast"), pytest.raises(ValueError, match="expected an input"):
        apply(LayerNormOp((4,), 1e-5), np.ones((2, 3)))
