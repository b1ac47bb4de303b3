"""Systems lessons of module 04, as functions that return numbers.

- Cost: ReLU is one comparison per element; Sigmoid, Tanh and GELU each call a transcendental
  function (exp, tanh, erf), which costs 10-60 simple operations. `activation_cost` counts them.
- Memory: between forward and backward each layer keeps one array alive. Activations whose
  derivative is a function of the *output* (ReLU, Sigmoid, Tanh, Softmax, LogSoftmax, ELU,
  SELU, Hardtanh, ReLU6, LogSigmoid) keep the output, which the next layer keeps anyway (a Linear
  saves its input), so they cost no extra memory; the others (LeakyReLU, GELU, SiLU, Softplus,
  Hardswish, Hardsigmoid, Mish) keep their input, one more array per layer.
- Vanishing gradients: sigmoid'(x) <= 0.25 and tanh'(x) <= 1, and both are ~0 for large |x|. A
  saturated unit passes almost no gradient back. The "hard" activations (Hardtanh, ReLU6,
  Hardsigmoid) pass exactly nothing outside their linear range. `saturation_report` measures how
  many units are there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinytorch.activations.ops import (
    ActivationOp,
    ELUOp,
    GELUOp,
    HardsigmoidOp,
    HardswishOp,
    HardtanhOp,
    LeakyReLUOp,
    LogSigmoidOp,
    MishOp,
    ReLU6Op,
    ReLUOp,
    SELUOp,
    SigmoidOp,
    SiLUOp,
    SoftplusOp,
    TanhOp,
)

# Per element: forward ops, backward ops, transcendental calls (forward + backward), what the
# backward function reads. One op per +, -, *, /, comparison, select, max, clip or reduction
# step, and one per exp / tanh / erf (which really cost far more: see `transcendentals`). The
# counts follow the code in tinytorch.activations.ops.
_COSTS: dict[str, tuple[int, int, int, str]] = {
    "relu": (1, 2, 0, "output"),
    "leaky_relu": (3, 3, 0, "input"),
    "sigmoid": (7, 3, 1, "output"),
    "tanh": (1, 3, 1, "output"),
    "gelu": (5, 12, 3, "input"),
    "gelu_tanh": (10, 20, 2, "input"),
    "softmax": (5, 4, 1, "output"),
    "log_softmax": (5, 4, 2, "output"),
    "silu": (8, 12, 2, "input"),
    "elu": (6, 5, 1, "output"),  # alpha >= 0; with alpha < 0 ELU saves its input
    "selu": (6, 5, 1, "output"),
    "softplus": (10, 11, 3, "input"),
    "relu6": (1, 4, 0, "output"),
    "hardtanh": (1, 4, 0, "output"),
    "hardswish": (4, 7, 0, "input"),
    "hardsigmoid": (3, 5, 0, "input"),
    "logsigmoid": (8, 3, 3, "output"),
    "mish": (8, 20, 7, "input"),
}


@dataclass(frozen=True)
class ActivationCost:
    """Work and memory of one activation over ``elements`` values (forward plus backward)."""

    name: str
    elements: int
    forward_ops: int  # elementwise operations of the forward pass, in total
    backward_ops: int  # elementwise operations of the backward pass, in total
    transcendentals: int  # exp / tanh / erf / log calls, forward and backward, in total
    saved: str  # "input" or "output": what the backward reads
    saved_bytes: int  # bytes kept alive between forward and backward


def activation_cost(name: str, n: int, dtype: Any = np.float32) -> ActivationCost:
    """Operation counts and saved bytes of activation ``name`` on ``n`` elements of ``dtype``.

    ``name`` is one of ``relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, softmax,
    log_softmax, silu, elu, selu, softplus, relu6, hardtanh, hardswish, hardsigmoid, logsigmoid,
    mish`` (default options). Example: ``activation_cost("sigmoid", 1000).saved_bytes == 4000``.
    """
    if name not in _COSTS:
        raise ValueError(
            f"activation_cost: unknown activation {name!r}; choose one of {sorted(_COSTS)}"
        )
    if n < 0:
        raise ValueError(f"activation_cost: n must be >= 0, got {n}")
    forward, backward, transcendental, saved = _COSTS[name]
    return ActivationCost(
        name=name,
        elements=n,
        forward_ops=forward * n,
        backward_ops=backward * n,
        transcendentals=transcendental * n,
        saved=saved,
        saved_bytes=n * np.dtype(dtype).itemsize,
    )


@dataclass(frozen=True)
class SaturationReport:
    """How much gradient an elementwise activation lets through at the inputs ``x``."""

    activation: str
    threshold: float
    fraction_saturated: float  # share of elements whose local gradient |f'(x)| < threshold
    mean_local_grad: float  # mean of |f'(x)|


# The elementwise activations with their default options (softmax and log_softmax mix a whole
# slice, so "the local gradient of one unit" is not defined for them).
_ELEMENTWISE: dict[str, Callable[[], ActivationOp]] = {
    "relu": ReLUOp,
    "leaky_relu": LeakyReLUOp,
    "sigmoid": SigmoidOp,
    "tanh": TanhOp,
    "gelu": GELUOp,
    "silu": SiLUOp,
    "elu": ELUOp,
    "selu": SELUOp,
    "softplus": SoftplusOp,
    "relu6": ReLU6Op,
    "hardtanh": HardtanhOp,
    "hardswish": HardswishOp,
    "hardsigmoid": HardsigmoidOp,
    "logsigmoid": LogSigmoidOp,
    "mish": MishOp,
}


def saturation_report(
    x: Any, activation: str = "sigmoid", threshold: float = 1e-3
) -> SaturationReport:
    """The share of pre-activations ``x`` at which ``activation`` passes almost no gradient.

    The local gradient f'(x) is the activation's backward applied to dL/dy = 1. Sigmoid
    saturates (f' < 1e-3) for |x| > 6.9, tanh for |x| > 4.1; for ReLU a "saturated" unit is a
    dead one (x <= 0); hardtanh, relu6 and hardsigmoid pass exactly 0 outside their linear range;
    ELU, SiLU, Softplus and Mish saturate on the negative side only (ELU for x < -6.9),
    logsigmoid on the positive side. ``activation`` is one of the elementwise names of
    `activation_cost` (``gelu_tanh`` aside), with default options. Typical use: pre-activations
    of a badly scaled layer, ``saturation_report(x @ w.T, "sigmoid")``. x: any shape, converted
    to float64.
    """
    if activation not in _ELEMENTWISE:
        raise ValueError(
            f"saturation_report: unknown activation {activation!r}; choose one of "
            f"{sorted(_ELEMENTWISE)}"
        )
    values = np.asarray(x, dtype=np.float64)
    if values.size == 0:
        raise ValueError("saturation_report: x is empty; give at least one pre-activation")
    op = _ELEMENTWISE[activation]()  # a fresh Op: forward saves what backward reads
    op.forward(values)
    (derivative,) = op.backward(np.ones_like(values), (True,))
    assert derivative is not None  # asked for: needs = (True,)
    local = np.abs(derivative)
    return SaturationReport(
        activation=activation,
        threshold=threshold,
        fraction_saturated=float(np.mean(local < threshold)),
        mean_local_grad=float(np.mean(local)),
    )
