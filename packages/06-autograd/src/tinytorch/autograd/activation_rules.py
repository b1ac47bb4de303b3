"""Derivative rules for the activations of module 04.

Every activation Op carries its local derivative as ``vjp(x, y, grad_output)``: the same function
its Module's hand-written ``backward`` calls. Registering one rule for the base class
`ActivationOp` therefore makes autograd and the manual backward agree by construction (a test in
this package checks it on every activation).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.activations.ops import ActivationOp
from tinytorch.autograd.rules import Grads, register_rule


@register_rule(ActivationOp)
def _activation(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    return (op.vjp(inputs[0], out, g),)
