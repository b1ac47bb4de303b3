"""`SGD`: stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

The update (PyTorch's ``torch.optim.SGD``), for gradient ``g`` of parameter ``p``::

    g = g + weight_decay * p                      (L2 penalty, if weight_decay != 0)
    b = g                                         (first step)
    b = momentum * b + (1 - dampening) * g        (later steps, if momentum != 0)
    g = g + momentum * b   if nesterov   else   b
    p = p - lr * g

Momentum keeps a running sum of past gradients (a "velocity"): directions that agree from step
to step build up speed, directions that flip sign cancel. Nesterov evaluates the step "one
momentum step ahead". Memory: nothing without momentum, one buffer (the parameter's size) with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.optimizers.optimizer import Optimizer, ParamGroup, Params, check_range


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, nesterov=False, weight_decay=0)``.

    State per parameter: ``"momentum_buffer"`` (same shape and dtype) once momentum is used.
    Cost per step: ~2-5 FLOPs per parameter element.
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
    ) -> None:
        check_range("SGD", "learning rate (lr)", lr, 0.0)
        check_range("SGD", "momentum", momentum, 0.0)
        check_range("SGD", "weight_decay", weight_decay, 0.0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"SGD: Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={momentum}, dampening={dampening}; set momentum > 0 (e.g. 0.9) and "
                f"dampening=0"
            )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
        }
        super().__init__(params, defaults)

    def update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup
    ) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        # HINT: never change grad in place (it is the caller's): g = grad + ..., not grad += ...
        # HINT: the buffer starts as a copy of g, then b = momentum * b + (1 - dampening) * g
        # BEGIN SOLUTION
        g = grad
        if weight_decay != 0:
            g = g + weight_decay * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = g.copy()
                state["momentum_buffer"] = buf
            else:
                buf *= momentum
                buf += (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        param -= lr * g
        # END SOLUTION
