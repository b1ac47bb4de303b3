"""Attention's softmax in fewer passes: scale + causal mask + max-shift fused, and the softmax's
vector-Jacobian product in one pass per row (numba, NumPy's SIMD ``exp`` in between).

The reference (`tinytorch.attention.ops.attention_probs`) turns the scores S = q k^T into
P = softmax(S * scale, causal) with about seven whole-array NumPy passes: scale, mask (a
``copyto`` with a boolean (L, S) array), row max, subtract, exp, row sum, divide. Here, per
row of the scores (one row of S numbers stays in L1 cache):

    pass 1 (compiled):  m = max of the row's allowed entries (j <= i when causal), then
                        s_j = (s_j - m) * scale for those and -inf for the rest (one read,
                        one write; the masked half of a causal row is never read)
    pass 2 (NumPy):     exp in place: NumPy's ``exp`` is vectorised (AVX2/AVX-512), numba's
                        is a scalar libm call without Intel SVML, so this pass stays in NumPy
                        (a fully scalar version measured 1.5x slower than the reference)
    pass 3 (compiled):  row sum, then multiply by its reciprocal

Backward, the softmax's VJP dS = P * (dP - sum_j dP_j P_j) is one compiled pass per row (the
sum, then the update in place) instead of NumPy's einsum, subtract and multiply. The four
matmuls (q k^T, P v and the three gradients) are BLAS's, as in the reference.

It replaces the reference's softmax inside `ScaledDotProductAttentionOp`,
`MultiHeadAttentionOp` and `PackedSelfAttentionOp` (heads split, rotary embeddings, dropout,
saved arrays and gradients all the reference's own) through the Ops' override point
(``probs_fn``, ``grads_fn``) when no ``attn_mask`` is given (causal or full attention, the GPT
case); with a mask the reference's softmax runs (the VJP is the same formula for any P), and
without numba the reference Op. Rows run in
parallel on `num_threads` threads. Results equal the reference's to float round-off (the
scale is applied after the max-shift: (s - m) * scale instead of s * scale - m * scale).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from tinytorch.attention.ops import (
    MultiHeadAttentionOp,
    PackedSelfAttentionOp,
    ScaledDotProductAttentionOp,
    _Attention,
    attention_grads,
    attention_probs,
)
from tinytorch.kernels.backend import jit, numba_enabled, prange
from tinytorch.tensor.dispatch import Grads


@jit(fastmath=True)
def _shift_rows(scores, scale, causal):  # pragma: no cover - compiled
    """scores (B, L, S) in place: allowed entries -> (s - row max) * scale, others -> -inf."""
    batch, length, keys = scores.shape
    for b in prange(batch):
        for i in range(length):
            row = scores[b, i]
            limit = min(i + 1, keys) if causal else keys
            top = row[0]
            for j in range(1, limit):
                top = max(top, row[j])
            for j in range(limit):
                row[j] = (row[j] - top) * scale
            for j in range(limit, keys):
                row[j] = -np.inf


@jit(fastmath=True)
def _normalize_rows(scores):  # pragma: no cover - compiled
    """scores (B, L, S) of exp values in place: each row divided by its sum."""
    batch, length, keys = scores.shape
    for b in prange(batch):
        for i in range(length):
            row = scores[b, i]
            total = 0.0
            for j in range(keys):
                total += row[j]
            inverse = 1.0 / total
            for j in range(keys):
                row[j] *= inverse


@jit(fastmath=True)
def _softmax_vjp_rows(dprobs, probs):  # pragma: no cover - compiled
    """dprobs (B, L, S) in place -> dS = P * (dP - sum_j dP_j P_j), row by row."""
    batch, length, keys = probs.shape
    for b in prange(batch):
        for i in range(length):
            d = dprobs[b, i]
            p = probs[b, i]
            dot = 0.0
            for j in range(keys):
                dot += d[j] * p[j]
            for j in range(keys):
                d[j] = p[j] * (d[j] - dot)


def softmax_probs(q: np.ndarray, k: np.ndarray, scale: float, is_causal: bool) -> np.ndarray:
    """P = softmax(q k^T * scale) (..., L, S), causal (key j <= query i) or not, with one
    BLAS matmul and three passes over the scores (module docstring). q (..., L, E), k
    (..., S, E) with S >= 1; float32 or float64, as q. Needs numba."""
    scores = np.matmul(q, k.swapaxes(-1, -2))  # fresh, C-contiguous
    rows = scores.reshape(-1, *scores.shape[-2:])
    _shift_rows(rows, scale, is_causal)
    np.exp(rows, out=rows)
    _normalize_rows(rows)
    return scores


def fast_probs(
    q: np.ndarray,
    k: np.ndarray,
    scale: float,
    mask: np.ndarray | None = None,
    is_causal: bool = False,
) -> np.ndarray:
    """`attention_probs` (same signature): `softmax_probs` when there is no mask, else the
    reference."""
    if mask is not None or q.dtype != k.dtype:
        return attention_probs(q, k, scale, mask, is_causal)
    return softmax_probs(q, k, scale, is_causal)


def compiled_softmax_vjp(dprobs: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """`softmax_vjp` (module 13's; same contract: in place in ``dprobs``) in one compiled pass per
    row: the row's sum of dP * P, then the update."""
    if probs.shape != dprobs.shape:  # v had batch dims that q and k broadcast over
        probs = np.broadcast_to(probs, dprobs.shape)
    rows = dprobs.shape[-2:]
    _softmax_vjp_rows(dprobs.reshape(-1, *rows), np.ascontiguousarray(probs).reshape(-1, *rows))
    return dprobs


fast_grads = functools.partial(attention_grads, softmax_step=compiled_softmax_vjp)
"""`attention_grads` (same signature) with `compiled_softmax_vjp`; it holds for any P, masked
or not."""


class AttentionSoftmaxKernel:
    """The attention Ops with `softmax_probs` and the one-pass softmax VJP inside.

    The Op's own forward and backward run (head splitting, rotary embeddings, dropout, shapes,
    gradients summed over broadcast dims): the kernel sets this Op instance's two heavy steps,
    ``probs_fn`` and ``grads_fn`` (module 13's override point), to `fast_probs` and
    `fast_grads`. With an ``attn_mask`` the reference's softmax runs (and the compiled VJP);
    without numba, the reference Op.
    """

    description = "attention softmax: scale+causal mask+max-shift and softmax VJP fused (numba)"

    def forward(self, op: _Attention, *arrays: np.ndarray) -> np.ndarray:
        if numba_enabled():
            op.probs_fn, op.grads_fn = fast_probs, fast_grads
        return op.forward(*arrays)

    def backward(self, op: _Attention, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return op.backward(grad, needs)


_KERNEL = AttentionSoftmaxKernel()
KERNELS: dict[Any, Any] = {
    ScaledDotProductAttentionOp: _KERNEL,
    MultiHeadAttentionOp: _KERNEL,
    PackedSelfAttentionOp: _KERNEL,
}
