"""`RMSprop`: divide each gradient element by a running root-mean-square of its recent values.

The update (PyTorch's ``torch.optim.RMSprop``)::

    g = g + weight_decay * p                      (if weight_decay != 0)
    s = alpha * s + (1 - alpha) * g * g           (running mean of g²)
    a = alpha * a + (1 - alpha) * g               (centered only: running mean of g)
    d = sqrt(s - a * a) + eps   if centered   else   sqrt(s) + eps
    b = momentum * b + g / d;  p = p - lr * b     (if momentum > 0)
    p = p - lr * g / d                            (otherwise)

Unlike Adam there is no bias correction: ``s`` starts at zero, so the first steps are large
(``g / sqrt(1 - alpha) = 10 g/|g|`` for ``alpha = 0.99``). ``centered`` divides by an estimate of
the gradient's standard deviation instead of its root mean square.
Memory: one buffer, plus one for momentum and one for centered.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.optimizers.optimizer import Optimizer, ParamGroup, Params, check_range


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False)``.

    State per parameter: ``"step"``, ``"square_avg"``, and ``"momentum_buffer"`` (momentum > 0)
    and ``"grad_avg"`` (centered), each with the parameter's shape and dtype.
    Cost per step: ~6-10 FLOPs and a square root per parameter element.
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
    ) -> None:
        check_range("RMSprop", "learning rate (lr)", lr, 0.0)
        check_range("RMSprop", "epsilon (eps)", eps, 0.0)
        check_range("RMSprop", "momentum", momentum, 0.0)
        check_range("RMSprop", "weight_decay", weight_decay, 0.0)
        check_range("RMSprop", "alpha", alpha, 0.0)
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
        }
        super().__init__(params, defaults)

    def update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup
    ) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum, centered = (
            group["weight_decay"],
            group["momentum"],
            group["centered"],
        )
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(param)
        if centered and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(param)
        square_avg = state["square_avg"]
        # HINT: update the running averages in place (square_avg *= alpha; square_avg += ...)
        # BEGIN SOLUTION
        state["step"] += 1
        g = grad
        if weight_decay != 0:
            g = g + weight_decay * param
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if centered:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * g
            denom = np.sqrt(square_avg - grad_avg * grad_avg) + eps
        else:
            denom = np.sqrt(square_avg) + eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / denom
            param -= lr * buf
        else:
            param -= lr * (g / denom)
        # END SOLUTION
