"""Normalisation composed from Tensor ops: the test oracles of `LayerNormOp` and `RMSNormOp`.

Each writes the definition with mean, subtract, multiply, sqrt and divide and lets autograd
differentiate it (~9 recorded nodes, several activation-sized arrays kept); the fused Ops must
agree with them, forward and backward.
"""

from __future__ import annotations

from typing import Any

from tinytorch.tensor import Tensor


def layer_norm_reference(
    x: Tensor,
    normalized_shape: tuple[int, ...],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last len(normalized_shape)
    dims, biased variance, from Tensor ops."""
    dims = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean = x.mean(dim=dims, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(dim=dims, keepdim=True)
    out: Any = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def rms_norm_reference(
    x: Tensor, normalized_shape: tuple[int, ...], weight: Tensor | None = None, eps: float = 1e-6
) -> Tensor:
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last len(normalized_shape) dims."""
    dims = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    out = x / ((x * x).mean(dim=dims, keepdim=True) + eps).sqrt()
    return out * weight if weight is not None else out
