"""Embedding backward: a compiled scatter-add, one pass over the gradient's rows.

dL/dweight[ids[i]] += dL/dout[i] for every position i. ``np.add.at`` does it unbuffered but
slowly (a Python-level loop inside NumPy); the reference's default sorts the ids and sums runs
with ``np.add.reduceat`` (a sort and a gather of every row). Compiled, it is the loop itself:
one read of each gradient row, added to its table row (serial: two positions may share an id).
Without numba the reference's sort-and-reduce runs.
"""

from __future__ import annotations

import numpy as np

from tinytorch.embeddings.ops import SCATTERS, EmbeddingOp
from tinytorch.kernels.backend import jit, numba_enabled
from tinytorch.tensor.dispatch import Grads


@jit(parallel=False)  # two positions may share an id: serial
def _scatter_rows(ids, rows, out):  # pragma: no cover - compiled
    for i in range(ids.shape[0]):
        row = ids[i]
        for j in range(rows.shape[1]):
            out[row, j] += rows[i, j]


class EmbeddingKernel:
    """`EmbeddingOp`'s backward as one compiled scatter-add (the forward is the reference's
    gather, already one ``np.take``)."""

    description = "embedding backward: compiled scatter-add, no np.add.at (numba)"

    def forward(self, op: EmbeddingOp, ids: np.ndarray, weight: np.ndarray) -> np.ndarray:
        return op.forward(ids, weight)

    def backward(self, op: EmbeddingOp, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        if not numba_enabled():
            return op.backward(grad, needs)
        (ids,) = op.saved
        grad_weight = None
        if needs[1]:
            rows = np.ascontiguousarray(grad).reshape(-1, grad.shape[-1])
            grad_weight = np.zeros((op.num_embeddings, rows.shape[1]), dtype=grad.dtype)
            _scatter_rows(ids.ravel().astype(np.int64, copy=False), rows, grad_weight)
            if op.padding_idx is not None:
                grad_weight[op.padding_idx] = 0
        return (None, grad_weight)


KERNELS = {EmbeddingOp: EmbeddingKernel()}
__all__ = ["KERNELS", "SCATTERS", "EmbeddingKernel"]
