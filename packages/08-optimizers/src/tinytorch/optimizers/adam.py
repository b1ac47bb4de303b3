"""`Adam` and `AdamW`: a step size per parameter element, from running moments of the gradient.

The update (PyTorch's ``torch.optim.Adam``), at step ``t = 1, 2, ...``::

    g = g + weight_decay * p                      (Adam: L2 penalty through the gradient)
    p = p * (1 - lr * weight_decay)               (AdamW instead: decoupled weight decay)
    m = beta1 * m + (1 - beta1) * g               (first moment: a running mean of g)
    v = beta2 * v + (1 - beta2) * g * g           (second moment: a running mean of g²)
    v_max = max(v_max, v)                         (amsgrad only; then v_max replaces v below)
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

``m`` and ``v`` start at zero, so early on they are biased towards zero; dividing by
``1 - beta**t`` corrects that. Dividing by ``sqrt(v)`` makes the step about ``lr`` in size for
every element, whatever the scale of its gradient.

Memory: two buffers the size of the parameters (three with amsgrad). With the gradient, training
with Adam holds 4x the parameter memory (module 08's `optimizer_memory` lesson).

Weight decay: in Adam, ``weight_decay * p`` is added to the gradient and then divided by
``sqrt(v)``, so parameters with large gradients are decayed less. AdamW (Loshchilov & Hutter)
shrinks the parameter directly, by the same fraction ``lr * weight_decay`` for every element.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.optimizers.optimizer import Optimizer, ParamGroup, Params, check_range


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)``.

    State per parameter: ``"step"`` (int), ``"exp_avg"`` (m) and ``"exp_avg_sq"`` (v), and
    ``"max_exp_avg_sq"`` with amsgrad; arrays have the parameter's shape and dtype.
    Cost per step: ~12 FLOPs and a square root per parameter element.
    """

    decoupled_weight_decay = False  # AdamW sets True

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
    ) -> None:
        name = type(self).__name__
        check_range(name, "learning rate (lr)", lr, 0.0)
        check_range(name, "epsilon (eps)", eps, 0.0)
        check_range(name, "beta parameter at index 0", betas[0], 0.0, 1.0, open_high=True)
        check_range(name, "beta parameter at index 1", betas[1], 0.0, 1.0, open_high=True)
        check_range(name, "weight_decay", weight_decay, 0.0)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
        }
        super().__init__(params, defaults)

    def update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup
    ) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
            if amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # HINT: update m and v in place (m *= beta1; m += ...) so the state dict sees the change
        # HINT: bias corrections use the step count t after incrementing it: 1 - beta**t
        # BEGIN SOLUTION
        state["step"] += 1
        t = state["step"]
        g = grad
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                param *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * param
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        if amsgrad:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1**t)
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
        param -= step_size * (m / denom)
        # END SOLUTION


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)``:
    Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the Adam step).

    Same state and cost as `Adam`.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
