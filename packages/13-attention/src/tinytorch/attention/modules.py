"""Attention layers: `MultiHeadAttention` (PyTorch's ``nn.MultiheadAttention``) and nanoGPT's
`CausalSelfAttention`.

Both project their input to queries, keys and values with **one** fused matrix (3E, E) when
query, key and value are the same tensor, run every head in one fused attention Op, and project
the heads' concatenated outputs back to E with a Linear. A forward records 3 graph nodes
(projection, attention, projection), whatever the number of heads.

Mask conventions differ between PyTorch's two APIs, and TinyTorch follows each:
``F.scaled_dot_product_attention`` takes boolean masks where **True = take part**;
``nn.MultiheadAttention`` takes ``attn_mask`` and ``key_padding_mask`` where **True = masked
out** (not allowed). Float masks are added to the scores in both.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.attention.cache import KVCache
from tinytorch.attention.ops import (
    CachedSelfAttentionOp,
    MultiHeadAttentionOp,
    PackedSelfAttentionOp,
    causal_mask,
)
from tinytorch.embeddings import RotaryEmbedding
from tinytorch.layers import Dropout, Linear, Module, Parameter
from tinytorch.layers.linear import linear
from tinytorch.tensor import Tensor, apply, is_grad_enabled


def _mask_array(name: str, mask: Any) -> np.ndarray | None:
    if mask is None:
        return None
    array = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if array.dtype != np.bool_ and array.dtype.kind != "f":
        raise TypeError(
            f"MultiHeadAttention: {name} must be bool (True = masked out, PyTorch's "
            f"nn.MultiheadAttention convention) or float (added to the scores), got dtype "
            f"{array.dtype}"
        )
    return array


def _as_float(allowed_or_added: np.ndarray, dtype: Any) -> np.ndarray:
    """A bool 'allowed' mask as 0 / -inf; a float mask unchanged."""
    if allowed_or_added.dtype == np.bool_:
        return np.where(allowed_or_added, 0.0, -np.inf).astype(dtype)
    return allowed_or_added.astype(dtype, copy=False)


def merge_masks(
    attn_mask: Any,
    key_padding_mask: Any,
    is_causal: bool,
    batch: int,
    num_heads: int,
    length: int,
    source_length: int,
    dtype: Any,
) -> tuple[np.ndarray | None, bool]:
    """``nn.MultiheadAttention``'s masks as one mask for the attention Op, and whether the Op
    should apply the causal mask itself.

    ``attn_mask`` (L, S) or (B*num_heads, L, S) and ``key_padding_mask`` (B, S): bool with True
    = masked out, or float (added). Returns a mask in the Op's convention (bool True = allowed,
    or float added) broadcastable to (B, H, L, S), or None. ``is_causal`` alone becomes the
    Op's own causal mask; with a ``key_padding_mask`` it is merged into the mask; with an
    ``attn_mask`` it is only a hint (PyTorch's meaning): the given mask is used.
    """
    attn = _mask_array("attn_mask", attn_mask)
    padding = _mask_array("key_padding_mask", key_padding_mask)
    if attn is not None:
        if attn.ndim == 3:
            if attn.shape != (batch * num_heads, length, source_length):
                raise ValueError(
                    f"MultiHeadAttention: a 3-d attn_mask must be (batch*num_heads, L, S) = "
                    f"{(batch * num_heads, length, source_length)}, got {attn.shape}"
                )
            attn = attn.reshape(batch, num_heads, length, source_length)
        elif attn.shape != (length, source_length):
            raise ValueError(
                f"MultiHeadAttention: a 2-d attn_mask must be (L, S) = "
                f"{(length, source_length)}, got {attn.shape}"
            )
        attn = ~attn if attn.dtype == np.bool_ else attn
    elif is_causal:
        if padding is None:
            return None, True
        attn = causal_mask(length, source_length)
    if padding is not None:
        if padding.shape != (batch, source_length):
            raise ValueError(
                f"MultiHeadAttention: key_padding_mask must be (batch, S) = "
                f"{(batch, source_length)}, got {padding.shape}"
            )
        padding = (~padding if padding.dtype == np.bool_ else padding)[:, None, None, :]
    masks = [m for m in (attn, padding) if m is not None]
    if not masks:
        return None, False
    if len(masks) == 1:
        return masks[0], False
    if all(m.dtype == np.bool_ for m in masks):
        return masks[0] & masks[1], False
    return _as_float(masks[0], dtype) + _as_float(masks[1], dtype), False


class MultiHeadAttention(Module):
    """Multi-head attention, PyTorch's ``nn.MultiheadAttention`` (``MultiheadAttention`` is an
    alias): ``MultiHeadAttention(embed_dim, num_heads, dropout=0.0, bias=True,
    batch_first=True, rng=None)``.

    Parameters as PyTorch's: ``in_proj_weight`` (3E, E) (queries, keys, values stacked; Xavier
    uniform), ``in_proj_bias`` (3E,) (zeros), ``out_proj`` a Linear(E, E) (bias zeros).
    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``: output
    (B, L, E) (``batch_first=True``; (L, B, E) otherwise; (L, E) for unbatched input), weights
    (B, L, S) averaged over heads (or (B, H, L, S)), or None when ``need_weights=False``. The
    weights are what multiplied the values (after dropout) and carry no gradient.

    Masks (PyTorch's MHA convention): bool True = **masked out**, float = added.
    ``is_causal=True`` without an ``attn_mask`` applies the causal mask (PyTorch requires the
    mask too and takes the flag as a hint). Differences: a query whose keys are all masked gets
    zeros, where PyTorch's weights path gives NaN; ``kdim``/``vdim``, ``add_bias_kv`` and
    ``add_zero_attn`` are not supported.

    Self-attention fast path: when query, key and value are the same Tensor, one (3E, E)
    projection and one `PackedSelfAttentionOp`. Cost per forward: 8*B*L*E^2 FLOPs of
    projections plus 4*B*L*S*E of attention.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(
                f"MultiHeadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                f"({num_heads}), both positive"
            )
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.rng = rng if rng is not None else np.random.default_rng()
        bound = math.sqrt(6.0 / (embed_dim + 3 * embed_dim))  # Xavier uniform of (3E, E)
        self.in_proj_weight = Parameter(self.rng.uniform(-bound, bound, (3 * embed_dim, embed_dim)))
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, rng=self.rng)
        if self.out_proj.bias is not None:
            self.out_proj.bias.data[...] = 0.0

    def _projection(self, part: int) -> tuple[Tensor, Tensor | None]:
        e = self.embed_dim
        rows = slice(part * e, (part + 1) * e)
        bias = self.in_proj_bias[rows] if self.in_proj_bias is not None else None
        return self.in_proj_weight[rows], bias

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        self_attention = query is key and key is value
        batched = query.ndim == 3
        if not batched:
            if query.ndim != 2:
                raise ValueError(
                    f"MultiHeadAttention: expected query (B, L, E) or unbatched (L, E), got "
                    f"shape {query.shape}"
                )
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(getattr(key_padding_mask, "data", key_padding_mask))
                key_padding_mask = key_padding_mask[None]
        elif not self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        if self_attention:
            key = value = query
        e = self.embed_dim
        for name, x in (("query", query), ("key", key), ("value", value)):
            if x.ndim != 3 or x.shape[-1] != e:
                raise ValueError(
                    f"MultiHeadAttention: {name} must be (B, L, {e}) (batch_first="
                    f"{self.batch_first}), got shape {x.shape}; the layer was built with "
                    f"embed_dim={e}"
                )
        batch, length, source = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[:2] != value.shape[:2] or key.shape[0] != batch:
            raise ValueError(
                f"MultiHeadAttention: key and value must share (B, S) with query's B; got "
                f"query {query.shape}, key {key.shape}, value {value.shape}"
            )
        mask, causal = merge_masks(
            attn_mask, key_padding_mask, is_causal, batch, self.num_heads, length, source,
            query.dtype,
        )  # fmt: skip
        options: dict[str, Any] = {
            "is_causal": causal,
            "dropout_p": self.dropout if self.training else 0.0,
            "rng": self.rng,
        }
        extra = () if mask is None else (Tensor._wrap(mask),)  # as it is: float64 stays
        op: Any
        if self_attention:
            qkv = linear(query, self.in_proj_weight, self.in_proj_bias)
            op = PackedSelfAttentionOp(self.num_heads, **options)
            heads = apply(op, qkv, *extra)
        else:
            q, k, v = (linear(x, *self._projection(i)) for i, x in enumerate((query, key, value)))
            op = MultiHeadAttentionOp(self.num_heads, **options)
            heads = apply(op, q, k, v, *extra)
        out = self.out_proj(heads)
        weights = None
        if need_weights:
            w = op.attention_weights()
            weights = Tensor._wrap(w.mean(axis=1) if average_attn_weights else w.copy())
        if not batched:
            return out[0], (weights[0] if weights is not None else None)
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
            f"batch_first={self.batch_first}"
        )


MultiheadAttention = MultiHeadAttention  # PyTorch's spelling


class CausalSelfAttention(Module):
    """nanoGPT's causal self-attention: x (B, T, C) -> (B, T, C), each token attending to itself
    and the tokens before it.

    ``c_attn`` Linear(C, 3C) (fused queries, keys, values), one `PackedSelfAttentionOp` with the
    causal mask (``num_heads`` heads of C/num_heads), attention dropout on the weights,
    ``c_proj`` Linear(C, C), residual dropout. Parameter names are nanoGPT's (``c_attn.weight``,
    ``c_proj.bias``, ...), so its checkpoints map one to one. ``rotary``: a `RotaryEmbedding`
    of head size C/num_heads to rotate queries and keys (RoPE) instead of adding positions to
    the tokens; ``forward(x, offset)`` then says where x's first token is. ``forward(x,
    kv_cache=cache, layer_idx=l)`` is a generation step: x holds only the new tokens (see
    `forward`).
    Cost: 8*B*T*C^2 FLOPs of projections plus 4*B*T^2*C of attention, forward.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        rotary: RotaryEmbedding | None = None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(
                f"CausalSelfAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                f"({num_heads}), both positive"
            )
        if rotary is not None and rotary.head_dim != embed_dim // num_heads:
            raise ValueError(
                f"CausalSelfAttention: the RotaryEmbedding's head_dim ({rotary.head_dim}) must "
                f"be embed_dim / num_heads = {embed_dim // num_heads}"
            )
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.rng = rng if rng is not None else np.random.default_rng()
        self.c_attn = Linear(embed_dim, 3 * embed_dim, bias=bias, rng=self.rng)
        self.c_proj = Linear(embed_dim, embed_dim, bias=bias, rng=self.rng)
        self.resid_dropout = Dropout(dropout, rng=self.rng)
        self.rotary = rotary

    def forward(
        self,
        x: Tensor,
        offset: int | None = None,
        key_padding_mask: Any = None,
        positions: Any = None,
        kv_cache: KVCache | None = None,
        layer_idx: int = 0,
    ) -> Tensor:
        """x (B, T, C) -> (B, T, C).

        ``offset``: the position of x's first token, for the rotary tables (default 0, or the
        positions ``kv_cache`` already holds). ``positions``: the rotary positions themselves,
        (T,) or (B, T) int (left-padded rows start at 0 after their padding); without
        ``rotary`` both are unused (the model added positions to the tokens).
        ``key_padding_mask``: (B, S) bool, True = a padding token (PyTorch's
        ``nn.MultiheadAttention`` convention), S = T, or cached + T with a cache.
        ``kv_cache``: a `KVCache` (inference, under ``no_grad``): x holds only the new tokens,
        their keys and values are appended to layer ``layer_idx`` of the cache, and their
        queries attend to every cached position (`CachedSelfAttentionOp`).
        """
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(
                f"CausalSelfAttention: expected x (B, T, {self.embed_dim}), got shape {x.shape}"
            )
        past = kv_cache.get_seq_length(layer_idx) if kv_cache is not None else 0
        tables = self._rotary_tables(x.shape[1], past if offset is None else offset, positions)
        pad = None
        if key_padding_mask is not None:
            pad = np.asarray(getattr(key_padding_mask, "data", key_padding_mask))
            if pad.dtype != np.bool_:
                raise TypeError(
                    f"CausalSelfAttention: key_padding_mask must be bool (True = padding), got "
                    f"dtype {pad.dtype}"
                )
        qkv = self.c_attn(x)
        if kv_cache is not None:
            if is_grad_enabled():
                raise RuntimeError(
                    "CausalSelfAttention: a forward with a kv_cache is for inference only (the "
                    "cached keys and values carry no gradient); run it under "
                    "tinytorch.autograd.no_grad(), as generate does"
                )
            op: Any = CachedSelfAttentionOp(self.num_heads, kv_cache, layer_idx, tables, pad)
            return self.resid_dropout(self.c_proj(apply(op, qkv)))
        mask: tuple[Tensor, ...] = ()
        if pad is not None:
            t = x.shape[1]
            if pad.shape != (x.shape[0], t):
                raise ValueError(
                    f"CausalSelfAttention: key_padding_mask must be (B, T) = {(x.shape[0], t)}, "
                    f"got shape {pad.shape}"
                )
            mask = (Tensor._wrap(causal_mask(t) & ~pad[:, None, None, :]),)
        op = PackedSelfAttentionOp(
            self.num_heads,
            rotary=tables,
            is_causal=not mask,
            dropout_p=self.dropout if self.training else 0.0,
            rng=self.rng,
        )
        y = apply(op, qkv, *mask)
        return self.resid_dropout(self.c_proj(y))

    def _rotary_tables(
        self, length: int, offset: int, positions: Any
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The rotary (cos, sin) of the tokens: (T, D) rows offset..offset+T-1, or per-row
        (B, 1, T, D) for (B, T) ``positions``; None without rotary."""
        if self.rotary is None:
            return None
        max_len = self.rotary.max_len
        if positions is None:
            if offset < 0 or offset + length > max_len:
                raise ValueError(
                    f"CausalSelfAttention: positions {offset}..{offset + length - 1} exceed the "
                    f"RotaryEmbedding's max_len={max_len}"
                )
            rows = slice(offset, offset + length)
            return self.rotary.cos.data[rows], self.rotary.sin.data[rows]
        pos = np.asarray(getattr(positions, "data", positions))
        if pos.dtype.kind not in "iu" or pos.shape[-1:] != (length,) or pos.ndim > 2:
            raise ValueError(
                f"CausalSelfAttention: positions must be int (T,) or (B, T) with T={length}, got "
                f"shape {pos.shape} dtype {pos.dtype}"
            )
        if pos.size and (pos.min() < 0 or pos.max() >= max_len):
            raise ValueError(
                f"CausalSelfAttention: positions {pos.min()}..{pos.max()} exceed the "
                f"RotaryEmbedding's max_len={max_len}"
            )
        cos, sin = self.rotary.cos.data[pos], self.rotary.sin.data[pos]
        if pos.ndim == 2:
            cos, sin = cos[:, None], sin[:, None]
        return cos, sin

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"
