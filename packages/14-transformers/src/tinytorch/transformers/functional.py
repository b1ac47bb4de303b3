"""The normalisations on Tensors, ``torch.nn.functional`` style: `layer_norm`, `rms_norm`.

Each call is one recorded Op (`LayerNormOp`, `RMSNormOp`) with its closed-form backward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.tensor import Tensor, apply
from tinytorch.transformers.ops import LayerNormOp, RMSNormOp, normalized_shape_tuple


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """PyTorch's ``F.layer_norm``: normalise the last ``len(normalized_shape)`` dims of input
    (*, *normalized_shape) to mean 0 and biased variance 1, then ``* weight + bias`` (each
    optional, of ``normalized_shape``). Same shape out."""
    shape = normalized_shape_tuple("layer_norm", normalized_shape)
    if weight is None and bias is not None:  # the Op takes (x, weight, bias) in that order
        weight = Tensor(np.ones(shape, dtype=input.dtype), dtype=input.dtype)
    params = [p for p in (weight, bias) if p is not None]
    return apply(LayerNormOp(shape, eps), input, *params)


def rms_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """PyTorch's ``F.rms_norm``: ``input / sqrt(mean(input^2) + eps) * weight`` over the last
    ``len(normalized_shape)`` dims; ``eps=None`` is the machine epsilon of input's dtype."""
    shape = normalized_shape_tuple("rms_norm", normalized_shape)
    op = RMSNormOp(shape, eps)  # type: ignore[arg-type]
    return apply(op, input) if weight is None else apply(op, input, weight)
