"""Attention composed from Tensor ops: the test oracle of the fused Ops.

`scaled_dot_product_attention_reference` writes the definition with matmul, transpose, where,
softmax (module 04) and multiply, and lets autograd differentiate it: seven recorded
nodes (eight with a float mask), several (..., L, S) arrays kept for the backward. The fused
`ScaledDotProductAttentionOp` must agree with it, forward and backward (the tests check to
1e-10 in float64).

Masked entries are set to a large negative number rather than -inf, so that a row whose keys
are all masked does not divide 0 by 0; such rows are then multiplied by 0, which gives the
fused Op's (and PyTorch 2.13's) zeros.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.activations import softmax
from tinytorch.tensor import Tensor, where

MASKED = -1e30  # "minus infinity" that keeps arithmetic finite (fine in float32 and float64)


def scaled_dot_product_attention_reference(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """The same function as `scaled_dot_product_attention` (no dropout), from Tensor ops.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); ``attn_mask``
    bool (True = attend) or float (added; -inf entries count as masked).
    """
    scale = scale if scale is not None else 1.0 / math.sqrt(query.shape[-1])
    scores = (query @ key.transpose(-2, -1)) * scale
    length, source = scores.shape[-2:]
    allowed = np.ones((length, source), dtype=bool)
    if is_causal:
        allowed = np.tri(length, source, dtype=bool)
    if attn_mask is not None:
        array = None if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        mask = attn_mask if array is None else Tensor(array, dtype=array.dtype)
        if mask.dtype == np.bool_:
            allowed = allowed & mask.data
        else:
            finite = np.isfinite(mask.data)
            allowed = allowed & finite
            scores = scores + where(finite, mask, 0.0)
    allowed = np.broadcast_to(allowed, scores.shape)
    scores = where(allowed, scores, MASKED)
    any_allowed = allowed.any(axis=-1, keepdims=True).astype(scores.dtype)
    probs = softmax(scores, dim=-1) * any_allowed
    return probs @ value
