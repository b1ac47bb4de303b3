"""Attention on Tensors, ``torch.nn.functional`` style: `scaled_dot_product_attention`.

One call is one recorded Op (`ScaledDotProductAttentionOp`), differentiated in closed form.
`scaled_dot_product_attention_reference` (in `tinytorch.attention.reference`) builds the same
function from Tensor ops; the tests use it as the oracle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.attention.ops import ScaledDotProductAttentionOp
from tinytorch.tensor import Tensor, apply


def as_mask(function: str, attn_mask: Any) -> Tensor | None:
    """``attn_mask`` as a Tensor (bool or float), or None."""
    if attn_mask is None:
        return None
    array = None if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
    mask = attn_mask if array is None else Tensor(array, dtype=array.dtype)  # keeps float64
    if mask.dtype != np.bool_ and mask.dtype.kind != "f":
        raise TypeError(
            f"{function}: attn_mask must be bool (True = take part in attention) or float "
            f"(added to the scores), got dtype {mask.dtype}"
        )
    return mask


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
    *,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value``, PyTorch's semantics.

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); the batch
    dims (...) broadcast. ``scale`` defaults to 1/sqrt(E).

    ``attn_mask``: bool, True = the query may attend to that key (False entries are removed),
    or float, added to the scores (use -inf to remove); broadcastable to (..., L, S).
    ``is_causal=True``: query i attends to keys j <= i (top-left aligned, as PyTorch; give
    either a mask or is_causal). A query whose keys are all removed gets zeros (PyTorch 2.13's
    CPU kernels do the same; older math kernels gave NaN).

    ``dropout_p``: dropout on the attention weights, applied whenever > 0 (as
    ``F.scaled_dot_product_attention``: pass ``dropout_p if training else 0.0``); ``rng``
    (a TinyTorch extension) seeds it. ``enable_gqa`` is not supported (repeat key/value heads
    yourself). Cost: 4*L*S*E FLOPs per head forward, 8*L*S*E backward; memory: the (..., L, S)
    weights are kept for the backward.
    """
    if enable_gqa:
        raise NotImplementedError(
            "scaled_dot_product_attention: enable_gqa=True (grouped-query attention) is not "
            "supported in TinyTorch; repeat the key and value heads to the query's head count "
            "first (key.repeat_interleave in PyTorch)"
        )
    mask = as_mask("scaled_dot_product_attention", attn_mask)
    op = ScaledDotProductAttentionOp(scale, is_causal, dropout_p, rng)
    if mask is None:
        return apply(op, query, key, value)
    return apply(op, query, key, value, mask)
