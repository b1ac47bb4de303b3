"""The embedding kernel's backward equals the reference `EmbeddingOp`'s (repeated ids add up,
padding_idx gets no gradient), on both engines."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.kernels as kernels
from tinytorch.embeddings.ops import EmbeddingOp
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor, apply, vjp


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("padding_idx", [None, 3])
@pytest.mark.parametrize("ids_shape", [(1,), (4, 9), (2, 3, 5)])
def test_embedding_kernel_equals_reference(ids_shape, padding_idx, dtype, engine) -> None:
    rng = np.random.default_rng(0)
    table = rng.standard_normal((7, 5)).astype(dtype)
    ids = rng.integers(0, 7, ids_shape)
    ids.flat[0] = 3
    ref = EmbeddingOp(padding_idx, scatter="add_at")  # the simplest, unbuffered oracle
    ref_out = apply(ref, Tensor(ids), Tensor(table, dtype=dtype)).data
    grad = rng.standard_normal(ref_out.shape).astype(dtype)
    op = EmbeddingOp(padding_idx)
    with kernels.using("fast"):
        out = apply(op, Tensor(ids), Tensor(table, dtype=dtype)).data
    assert op._kernel is kernels.FAST[EmbeddingOp]
    assert_close(out, ref_out, rtol=0, atol=0)
    _, dw = vjp(op, grad, (False, True))
    _, ref_dw = vjp(ref, grad, (False, True))
    assert dw.dtype == ref_dw.dtype
    assert_close(dw, ref_dw, rtol=1e-6, atol=1e-6)
