"""Autograd derivative rules for the spatial Ops (registered when `tinytorch.spatial` is imported).

Each rule calls the very backward function the Modules' hand-written ``backward`` calls
(`tinytorch.spatial.ops`), so autograd and the manual backward agree by construction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd import register_rule
from tinytorch.autograd.rules import Grads
from tinytorch.spatial.ops import (
    AvgPool2dOp,
    BatchNormOp,
    Conv2dOp,
    MaxPool2dOp,
    avg_pool2d_backward,
    batch_norm_backward,
    conv2d_backward,
    max_pool2d_backward,
)


def _needs3(needs: Any, inputs: Any) -> tuple[bool, bool, bool]:
    """``needs`` padded to (input, weight, bias) for an op called without weight or bias."""
    padded = (*needs, False, False)
    return bool(padded[0]), bool(padded[1]) and len(inputs) > 1, bool(padded[2]) and len(inputs) > 2


@register_rule(Conv2dOp)
def _conv2d(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    grads = conv2d_backward(op, g, inputs[1], _needs3(needs, inputs))
    return grads[: len(inputs)]


@register_rule(MaxPool2dOp)
def _max_pool2d(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    return (max_pool2d_backward(op, g),)


@register_rule(AvgPool2dOp)
def _avg_pool2d(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    return (avg_pool2d_backward(op, g),)


@register_rule(BatchNormOp)
def _batch_norm(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    weight = inputs[1] if len(inputs) > 1 else None
    grads = batch_norm_backward(op, g, weight, _needs3(needs, inputs))
    return grads[: len(inputs)]
