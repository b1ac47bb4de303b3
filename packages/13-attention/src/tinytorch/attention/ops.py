"""Attention as fused Ops: the whole of softmax(q k^T * scale + mask) v, forward and backward.

**Forward.** For queries q (..., L, E), keys k (..., S, E) and values v (..., S, Ev):

    scores = q @ k^T * scale          (..., L, S)   scale = 1/sqrt(E) by default
    scores[not allowed] = -inf        a boolean mask (True = take part) or is_causal (j <= i)
    scores += float_mask              a float mask is added
    P = softmax(scores, dim=-1)       stable: subtract each row's max before exp
    out = dropout(P) @ v              (..., L, Ev)

A row whose every key is masked has no maximum to subtract and nothing to normalise: it gives
P = 0 and out = 0 (as PyTorch 2.13's CPU kernels do), never NaN.

**Backward**, in closed form, from dO = dL/dout (W = dropout(P), the matrix that multiplied v):

    dv = W^T dO                       dW = dO v^T      dP = dW * keep / (1 - p)
    dS = P * (dP - sum(dP * P, -1))   (the softmax's vector-Jacobian product, row by row)
    dq = dS k * scale                 dk = dS^T q * scale          d(float mask) = dS

Composing the same thing from Tensor ops records 7 graph nodes and keeps ~4 (L, S) arrays per
head alive for the backward; the fused Op records one and keeps one: P (plus the dropout factor,
one number per entry, when p > 0). Memory: O(L*S) per head and batch row, the score matrix
(`tinytorch.attention.attention_score_memory`).

Three Ops share those two functions (`attention_probs`, `attention_grads`):

- `ScaledDotProductAttentionOp`: q, k, v already split into heads (..., L, E).
- `MultiHeadAttentionOp`: q (B, L, E), k (B, S, E), v (B, S, E) in the projections' layout;
  splits the heads and merges them back as views, so the output (B, L, E) goes straight into
  the output projection.
- `PackedSelfAttentionOp`: one (B, T, 3E) array from a fused QKV projection (nanoGPT's
  ``c_attn``), optionally with rotary position embeddings on q and k; its backward writes dq,
  dk and dv into one (B, T, 3E) gradient.

`CachedSelfAttentionOp` is the generation step: the same packed projection of the *new* tokens
only, their keys and values appended to a `KVCache`, their queries attending to every cached
position (inference only: it has no backward).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from tinytorch.embeddings.ops import rotate_half
from tinytorch.tensor import Op
from tinytorch.tensor.dispatch import Grads
from tinytorch.tensor.ops import unbroadcast


# --------------------------------------------------------------------- masks
@lru_cache(maxsize=64)
def _blocked_causal(length: int, source_length: int) -> np.ndarray:
    """(L, S) bool, True where key j is in the future of query i (j > i): the entries a causal
    mask removes. Top-left aligned, as PyTorch's ``is_causal``. Cached; never written to."""
    blocked = ~np.tri(length, source_length, dtype=bool)
    blocked.setflags(write=False)
    return blocked


def causal_mask(length: int, source_length: int | None = None) -> np.ndarray:
    """(L, S) bool, True where query i may attend to key j (j <= i): ``torch.ones(L, S,
    dtype=torch.bool).tril()``, PyTorch's ``is_causal`` mask (top-left aligned)."""
    return np.tri(length, length if source_length is None else source_length, dtype=bool)


def check_mask(function: str, mask: np.ndarray, scores_shape: tuple[int, ...]) -> None:
    if mask.dtype != np.bool_ and mask.dtype.kind != "f":
        raise TypeError(
            f"{function}: attn_mask must be bool (True = take part in attention) or float "
            f"(added to the scores), got dtype {mask.dtype}"
        )
    try:
        shape = np.broadcast_shapes(mask.shape, scores_shape)
    except ValueError:
        shape = None
    if shape != scores_shape:
        raise ValueError(
            f"{function}: attn_mask of shape {mask.shape} does not broadcast to the attention "
            f"scores' shape {scores_shape} (..., L, S)"
        )


# --------------------------------------------------------------------- the two halves
def attention_probs(
    q: np.ndarray,
    k: np.ndarray,
    scale: float,
    mask: np.ndarray | None = None,
    is_causal: bool = False,
) -> np.ndarray:
    """P = softmax(q k^T * scale, masked) (..., L, S), row by row, stable; rows with no
    allowed key are 0.

    q (..., L, E), k (..., S, E); ``mask`` bool (True = allowed) or float (added), broadcast
    to (..., L, S); ``is_causal`` removes keys j > i. Works in one (..., L, S) buffer: the
    scores are masked, shifted, exponentiated and normalised in place.
    """
    # HINT: scores = q @ k^T * scale; np.copyto(scores, -np.inf, where=...) removes entries;
    # HINT: subtract each row's max (0 for a row that is all -inf), exp, divide by the row sum
    # HINT: (1 for an all-zero row): no NaN, no warning, fully masked rows stay 0
    # BEGIN SOLUTION
    scores = np.matmul(q, k.swapaxes(-1, -2))
    scores *= scale
    if is_causal:
        np.copyto(scores, -np.inf, where=_blocked_causal(*scores.shape[-2:]))
    if mask is not None:
        if mask.dtype == np.bool_:
            np.copyto(scores, -np.inf, where=~mask)
        else:
            scores += mask
    row_max = scores.max(axis=-1, keepdims=True)
    row_max[row_max == -np.inf] = 0.0  # a fully masked row: exp(-inf - 0) = 0 everywhere
    scores -= row_max
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    total[total == 0] = 1.0
    scores /= total
    # END SOLUTION
    return scores


def softmax_vjp(dprobs: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The softmax's vector-Jacobian product along the last axis, in place in ``dprobs``:
    dS = P * (dP - rowsum(dP * P)). ``dprobs`` (..., L, S), ``probs`` broadcastable to it.
    Cost: three passes over the (L, S) scores."""
    # HINT: one number per row: the sum over the last axis of dP * P; subtract it from every
    # HINT: entry of the row, then multiply by P (in place: dprobs is a fresh array)
    # BEGIN SOLUTION
    row = np.einsum("...ls,...ls->...l", dprobs, probs)[..., None]
    dprobs -= row
    return np.multiply(dprobs, probs, out=dprobs)
    # END SOLUTION


def attention_grads(
    grad: np.ndarray,
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    probs: np.ndarray,
    weights: np.ndarray,
    keep_scale: np.ndarray | None,
    scale: float,
    needs: tuple[bool, ...] = (True, True, True),
    softmax_step: Callable[[np.ndarray, np.ndarray], np.ndarray] = softmax_vjp,
) -> tuple[np.ndarray | None, ...]:
    """(dq, dk, dv, dS) from dO = ``grad`` (..., L, Ev), in closed form (module docstring).

    ``probs`` is P, ``weights`` the matrix that multiplied v (P after dropout), ``keep_scale``
    the dropout's ``keep / (1 - p)`` (None without dropout). dS (..., L, S) is the gradient of
    the scores before scaling, which is also the gradient of an additive float mask.
    ``softmax_step`` turns dP into dS in place (`softmax_vjp`; module 17 passes a compiled
    one). Shapes are those of the broadcast batch dims; the caller sums them back.
    """
    dq = dk = dv = None
    # HINT: dv = W^T dO; dP = dO v^T (times keep_scale with dropout); dS comes from
    # HINT: softmax_step(dP, P) just below
    # BEGIN SOLUTION
    if needs[2]:
        dv = np.matmul(weights.swapaxes(-1, -2), grad)
    dprobs = np.matmul(grad, v.swapaxes(-1, -2))
    if keep_scale is not None:
        dprobs *= keep_scale
    # END SOLUTION
    dscores = softmax_step(dprobs, probs)
    # HINT: dq = dS k * scale, dk = dS^T q * scale (only where needs asks for them)
    # BEGIN SOLUTION
    if needs[0]:
        dq = np.matmul(dscores, k)
        dq *= scale
    if needs[1]:
        dk = np.matmul(dscores.swapaxes(-1, -2), q)
        dk *= scale
    # END SOLUTION
    return dq, dk, dv, dscores


def dropout_keep(
    shape: tuple[int, ...], p: float, rng: np.random.Generator, dtype: Any
) -> np.ndarray:
    """The inverted-dropout factor per attention weight: ``keep / (1 - p)``, keep ~ Bernoulli(1-p)
    from ``rng``; all zeros when p = 1 (as PyTorch)."""
    if p >= 1.0:
        return np.zeros(shape, dtype=dtype)
    keep = rng.random(shape, dtype=np.float32) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def _check_float(function: str, *arrays: np.ndarray) -> None:
    for array in arrays:
        if array.dtype.kind != "f":
            raise TypeError(
                f"{function}: query, key and value must be floating point, got dtype "
                f"{array.dtype}; convert with x.float()"
            )


class _Attention(Op):
    """What the attention Ops share: options, dropout, and P after the forward.

    ``probs_fn`` and ``grads_fn`` are the two heavy steps, `attention_probs` and
    `attention_grads`, held as plain functions so that module 17's kernel can give one Op
    instance faster ones with the same signature (an instance attribute, no bound method).
    """

    probs_fn: Callable[..., np.ndarray] = staticmethod(attention_probs)
    grads_fn: Callable[..., tuple[np.ndarray | None, ...]] = staticmethod(attention_grads)

    def __init__(
        self,
        scale: float | None = None,
        is_causal: bool = False,
        dropout_p: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        if not 0.0 <= dropout_p <= 1.0:
            raise ValueError(f"attention: dropout_p must be in [0, 1], got {dropout_p}")
        self.scale, self.is_causal, self.dropout_p = scale, is_causal, dropout_p
        self.rng = rng if rng is not None or dropout_p == 0.0 else np.random.default_rng()
        self.mask_info: tuple[tuple[int, ...], bool] | None = None  # (shape, is float)
        self.scale_used = 1.0  # the forward's scale (1/sqrt(E) unless given)

    def _attend(
        self, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, float]:
        """out, P and the dropout factor (or None) for 4-d (or any-d) heads q, k, v."""
        function = self.name
        if self.is_causal and mask is not None:
            raise ValueError(
                f"{function}: give either attn_mask or is_causal=True, not both (as PyTorch); "
                f"combine them into one mask with causal_mask(L, S) & mask"
            )
        scale = self.scale if self.scale is not None else 1.0 / math.sqrt(q.shape[-1])
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        scores_shape = (*batch, q.shape[-2], k.shape[-2])
        if mask is not None:
            check_mask(function, mask, scores_shape)
            self.mask_info = (mask.shape, mask.dtype != np.bool_)
        if k.shape[-2] == 0:  # no keys at all: every row is fully masked
            probs = np.zeros(scores_shape, dtype=q.dtype)
        else:
            probs = self.probs_fn(q, k, scale, mask, self.is_causal)
        keep_scale = None
        weights = probs
        if self.dropout_p > 0.0:
            assert self.rng is not None
            keep_scale = dropout_keep(probs.shape, self.dropout_p, self.rng, probs.dtype)
            weights = probs * keep_scale
        return np.matmul(weights, v), probs, keep_scale, scale

    def attention_weights(self) -> np.ndarray:
        """The matrix the forward multiplied v by: P after dropout (..., L, S). Only until the
        backward has run (it releases what the forward saved)."""
        if self.released or not self.saved:
            raise RuntimeError(f"{self.name}: the attention weights were already released")
        probs, keep_scale = self.saved[3], self.saved[4]
        return probs if keep_scale is None else probs * keep_scale

    def _grads(self, grad: np.ndarray, needs: tuple[bool, ...]) -> tuple[np.ndarray | None, ...]:
        q, k, v, probs, keep_scale = self.saved[:5]
        weights = probs if keep_scale is None else probs * keep_scale
        return self.grads_fn(grad, q, k, v, probs, weights, keep_scale, self.scale_used, needs[:3])


class ScaledDotProductAttentionOp(_Attention):
    """``softmax(q k^T * scale + mask) v`` as one Op (PyTorch's ``F.scaled_dot_product_attention``).

    ``forward(q, k, v[, mask])``: q (..., L, E), k (..., S, E), v (..., S, Ev), batch dims
    broadcast; mask bool (True = take part) or float (added), broadcastable to (..., L, S).
    Returns (..., L, Ev). Saves q, k, v, P (..., L, S) and the dropout factor. Backward: dq,
    dk, dv (summed back over broadcast batch dims) and, for a float mask, dmask = dS.
    Cost: 4*L*S*E FLOPs forward (E = Ev), 8*L*S*E backward, per batch row and head.
    """

    @property
    def name(self) -> str:
        return "scaled_dot_product_attention"

    def forward(
        self, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        _check_float(self.name, q, k, v)
        for name, x in (("query", q), ("key", k), ("value", v)):
            if x.ndim < 2:
                raise ValueError(f"{self.name}: {name} must be (..., L, E), got shape {x.shape}")
        if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
            raise ValueError(
                f"{self.name}: expected query (..., L, E), key (..., S, E), value (..., S, Ev); "
                f"got {q.shape}, {k.shape}, {v.shape}"
            )
        out, probs, keep_scale, self.scale_used = self._attend(q, k, v, mask)
        self.shapes = (q.shape, k.shape, v.shape)
        self.save_for_backward(q, k, v, probs, keep_scale)
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        dq, dk, dv, dscores = self._grads(grad, needs)
        grads = [
            unbroadcast(g, shape) if g is not None and need else None
            for g, shape, need in zip((dq, dk, dv), self.shapes, needs, strict=False)
        ]
        if len(needs) > 3:
            dmask = None
            if needs[3] and self.mask_info is not None and self.mask_info[1]:
                assert dscores is not None
                dmask = unbroadcast(dscores, self.mask_info[0])
            grads.append(dmask)
        return tuple(grads)


def split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """(B, L, E) -> (B, H, L, E/H), a view (no copy)."""
    b, length, e = x.shape
    return x.reshape(b, length, num_heads, e // num_heads).transpose(0, 2, 1, 3)


def merge_heads_into(heads: np.ndarray, out: np.ndarray) -> None:
    """Write (B, H, L, D) into ``out`` (B, L, H*D) (the inverse of `split_heads`)."""
    b, h, length, d = heads.shape
    out.reshape(b, length, h, d).transpose(0, 2, 1, 3)[...] = heads


class MultiHeadAttentionOp(_Attention):
    """Multi-head attention on projected inputs, heads split and merged inside the Op.

    ``forward(q, k, v[, mask])``: q (B, L, E), k (B, S, E), v (B, S, Ev), E and Ev divisible
    by ``num_heads``; mask bool (True = take part) or float, broadcastable to (B, H, L, S).
    Returns (B, L, Ev): every head's output side by side, ready for the output projection.
    The heads are strided views of the inputs (no copies); the output is written by one
    matmul into its merged layout. Backward as `ScaledDotProductAttentionOp`.
    """

    def __init__(self, num_heads: int, **options: Any) -> None:
        super().__init__(**options)
        self.num_heads = num_heads

    @property
    def name(self) -> str:
        return "multi_head_attention"

    def forward(
        self, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        _check_float(self.name, q, k, v)
        h = self.num_heads
        if (
            q.ndim != 3
            or k.ndim != 3
            or v.ndim != 3
            or q.shape[-1] != k.shape[-1]
            or k.shape[:2] != v.shape[:2]
            or q.shape[0] != k.shape[0]
            or q.shape[-1] % h
            or v.shape[-1] % h
        ):
            raise ValueError(
                f"{self.name}: expected q (B, L, E), k (B, S, E), v (B, S, Ev) with E and Ev "
                f"divisible by num_heads={h}; got {q.shape}, {k.shape}, {v.shape}"
            )
        qh, kh, vh = split_heads(q, h), split_heads(k, h), split_heads(v, h)
        out_heads, probs, keep_scale, self.scale_used = self._attend(qh, kh, vh, mask)
        out = np.empty((q.shape[0], q.shape[1], v.shape[-1]), dtype=out_heads.dtype)
        merge_heads_into(out_heads, out)
        self.save_for_backward(qh, kh, vh, probs, keep_scale)
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        h = self.num_heads
        dq, dk, dv, dscores = self._grads(split_heads(grad, h), needs)
        grads: list[np.ndarray | None] = []
        for g in (dq, dk, dv):
            if g is None:
                grads.append(None)
                continue
            merged = np.empty((g.shape[0], g.shape[2], h * g.shape[3]), dtype=g.dtype)
            merge_heads_into(g, merged)
            grads.append(merged)
        if len(needs) > 3:
            dmask = None
            if needs[3] and self.mask_info is not None and self.mask_info[1]:
                assert dscores is not None
                dmask = unbroadcast(dscores, self.mask_info[0])
            grads.append(dmask)
        return tuple(grads)


class PackedSelfAttentionOp(_Attention):
    """Self-attention on a fused QKV projection: qkv (B, T, 3E) -> (B, T, E).

    ``qkv[..., :E]`` are the queries, ``[E:2E]`` the keys, ``[2E:]`` the values (PyTorch's
    ``in_proj`` and nanoGPT's ``c_attn`` order), each split into ``num_heads`` heads as strided
    views. With ``rotary=(cos, sin)`` (T, E/H) tables, queries and keys are rotated (RoPE,
    rotate-half convention) before the scores; the backward rotates their gradients back.
    Backward: one (B, T, 3E) gradient with dq, dk, dv in place. Saves q, k, v (views of qkv,
    or the rotated copies), P and the dropout factor.
    """

    def __init__(
        self,
        num_heads: int,
        rotary: tuple[np.ndarray, np.ndarray] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.num_heads = num_heads
        self.rotary = rotary

    @property
    def name(self) -> str:
        return "self_attention"

    def __repr__(self) -> str:
        return (
            f"PackedSelfAttentionOp(num_heads={self.num_heads}, is_causal={self.is_causal}, "
            f"dropout_p={self.dropout_p}, rotary={self.rotary is not None})"
        )

    def forward(self, qkv: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        _check_float(self.name, qkv)
        h = self.num_heads
        if qkv.ndim != 3 or qkv.shape[-1] % (3 * h):
            raise ValueError(
                f"{self.name}: expected qkv (B, T, 3*E) with E divisible by num_heads={h}, "
                f"got shape {qkv.shape}"
            )
        b, t, e3 = qkv.shape
        e = e3 // 3
        heads = qkv.reshape(b, t, 3, h, e // h).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, D) view
        q, k, v = heads[0], heads[1], heads[2]
        tables = None
        if self.rotary is not None:
            cos, sin = (table.astype(qkv.dtype, copy=False) for table in self.rotary)
            self.rotary = None  # the tables live in `saved` from now on
            tables = (cos, sin)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        out_heads, probs, keep_scale, self.scale_used = self._attend(q, k, v, mask)
        out = np.empty((b, t, e), dtype=out_heads.dtype)
        merge_heads_into(out_heads, out)
        self.save_for_backward(q, k, v, probs, keep_scale, tables, qkv)  # qkv: version check
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        h = self.num_heads
        b, t, e = grad.shape
        dq, dk, dv, dscores = self._grads(split_heads(grad, h), (True, True, True))
        assert dq is not None and dk is not None and dv is not None
        tables = self.saved[5]
        if tables is not None:  # undo the rotation: the inverse rotates by -theta
            cos, sin = tables
            dq = dq * cos - rotate_half(dq) * sin
            dk = dk * cos - rotate_half(dk) * sin
        dqkv = np.empty((b, t, 3 * e), dtype=grad.dtype)
        parts = dqkv.reshape(b, t, 3, h, e // h).transpose(2, 0, 3, 1, 4)
        parts[0], parts[1], parts[2] = dq, dk, dv
        grads: list[np.ndarray | None] = [dqkv if needs[0] else None]
        if len(needs) > 1:
            dmask = None
            if needs[1] and self.mask_info is not None and self.mask_info[1]:
                assert dscores is not None
                dmask = unbroadcast(dscores, self.mask_info[0])
            grads.append(dmask)
        return tuple(grads)


# --------------------------------------------------------------------- generation with a cache
def cached_attention_mask(
    length: int, past: int, key_padding_mask: np.ndarray | None = None
) -> tuple[np.ndarray | None, bool]:
    """The mask of T = ``length`` new queries at slots past..past+T-1 over S = past + T keys:
    ``(mask, is_causal)`` for `attention_probs`.

    Query i may see key j when j <= past + i (causal, shifted by the cached positions) and key
    j is not padding (``key_padding_mask`` (B, S) bool, True = padding, PyTorch's
    convention). Returns (None, False) when every key is allowed (one new token, no padding:
    the decode step), (None, True) for a prompt on an empty cache without padding, else a bool
    (B or 1, 1, T, S) mask, True = take part.
    """
    source = past + length
    if key_padding_mask is None:
        if length == 1:
            return None, False
        if past == 0:
            return None, True
        return np.tri(length, source, k=past, dtype=bool), False
    pad = np.asarray(key_padding_mask, dtype=bool)
    if pad.ndim != 2 or pad.shape[1] != source:
        raise ValueError(
            f"cached_self_attention: key_padding_mask must be (B, cached + new) = (B, {source}), "
            f"got shape {pad.shape}"
        )
    allowed = ~pad[:, None, None, :]
    if length > 1:
        allowed = allowed & np.tri(length, source, k=past, dtype=bool)
    return allowed, False


class CachedSelfAttentionOp(Op):
    """One generation step of causal self-attention with a KV cache: qkv (B, T, 3E) of the T
    new tokens -> (B, T, E).

    Splits qkv into heads (views), rotates q and k with ``rotary=(cos, sin)`` tables ((T, D),
    or (B, 1, T, D) for per-row positions), appends k and v to layer ``layer_idx`` of
    ``cache`` (`KVCache.update`), and attends the T queries to all S = cached + T keys with
    the shifted causal mask and ``key_padding_mask`` (B, S) (True = padding). A decode step
    (T = 1) needs no mask at all. Cost per step: 4*B*T*S*E FLOPs and one copy of the new keys
    and values, against 4*B*S^2*E for the full forward it replaces.

    Inference only (``differentiable = False``): the cached keys and values are constants
    here, so a gradient would miss every path through them; `CausalSelfAttention` refuses a
    cache while grad mode is on. Saves nothing.
    """

    differentiable = False

    def __init__(
        self,
        num_heads: int,
        cache: Any,
        layer_idx: int = 0,
        rotary: tuple[np.ndarray, np.ndarray] | None = None,
        key_padding_mask: np.ndarray | None = None,
    ) -> None:
        self.num_heads, self.cache, self.layer_idx = num_heads, cache, layer_idx
        self.rotary, self.key_padding_mask = rotary, key_padding_mask

    @property
    def name(self) -> str:
        return "cached_self_attention"

    def __repr__(self) -> str:
        return (
            f"CachedSelfAttentionOp(num_heads={self.num_heads}, layer_idx={self.layer_idx}, "
            f"rotary={self.rotary is not None})"
        )

    def forward(self, qkv: np.ndarray) -> np.ndarray:
        _check_float(self.name, qkv)
        h = self.num_heads
        if qkv.ndim != 3 or qkv.shape[-1] % (3 * h):
            raise ValueError(
                f"{self.name}: expected qkv (B, T, 3*E) with E divisible by num_heads={h}, "
                f"got shape {qkv.shape}"
            )
        b, t, e3 = qkv.shape
        e = e3 // 3
        heads = qkv.reshape(b, t, 3, h, e // h).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, D) view
        q, k, v = heads[0], heads[1], heads[2]
        if self.rotary is not None:
            cos, sin = (table.astype(qkv.dtype, copy=False) for table in self.rotary)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        past = self.cache.get_seq_length(self.layer_idx)
        keys, values = self.cache.update(self.layer_idx, k, v)
        mask, causal = cached_attention_mask(t, past, self.key_padding_mask)
        probs = attention_probs(
            q, keys.astype(q.dtype, copy=False), 1.0 / math.sqrt(e // h), mask, causal
        )
        out_heads = np.matmul(probs, values.astype(q.dtype, copy=False))
        out = np.empty((b, t, e), dtype=out_heads.dtype)
        merge_heads_into(out_heads, out)
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        raise RuntimeError(
            f"{self.name}: a forward with a KV cache is for inference and has no backward; "
            f"train with full forwards (no kv_cache)"
        )
