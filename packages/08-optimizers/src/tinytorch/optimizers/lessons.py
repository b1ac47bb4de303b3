"""Systems lessons of module 08, as functions that return numbers.

- Memory: an optimizer's state is per parameter element. SGD keeps nothing, SGD with momentum
  one buffer, RMSprop one (two with momentum or centered), Adam and AdamW two (three with
  amsgrad). Training a model with Adam holds its parameters, their gradients and two moment
  buffers: 4x the parameter memory before a single activation is stored. For a 1-billion
  parameter model in float32 that is 16 GB, of which the optimizer is 8 GB.
- Conditioning: on a loss whose curvature differs by a factor ``condition`` between
  directions, plain SGD must use a step small enough for the steepest direction and crawls
  along the flattest; momentum and per-element step sizes (Adam) do much better.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinytorch.layers import Module, Parameter
from tinytorch.optimizers.adam import Adam, AdamW
from tinytorch.optimizers.optimizer import Optimizer
from tinytorch.optimizers.rmsprop import RMSprop
from tinytorch.optimizers.schedulers import LRScheduler
from tinytorch.optimizers.sgd import SGD
from tinytorch.tensor import Tensor

OptimizerFactory = Callable[[list[Parameter]], Optimizer]

OPTIMIZERS: dict[str, OptimizerFactory] = {
    "SGD": lambda ps: SGD(ps, lr=0.1),
    "SGD(momentum)": lambda ps: SGD(ps, lr=0.1, momentum=0.9),
    "RMSprop": lambda ps: RMSprop(ps),
    "RMSprop(centered, momentum)": lambda ps: RMSprop(ps, momentum=0.9, centered=True),
    "Adam": lambda ps: Adam(ps),
    "AdamW": lambda ps: AdamW(ps),
    "Adam(amsgrad)": lambda ps: Adam(ps, amsgrad=True),
}


def optimizer_state_bytes(optimizer: Optimizer) -> int:
    """Bytes of the arrays an optimizer keeps in ``optimizer.state`` (its buffers).

    Step counters (one Python int per parameter) are not counted. State is created on a
    parameter's first step, so this is 0 before ``step()``. Adam after one step: two arrays
    per parameter, ``2 * parameter bytes``.
    """
    # HINT: optimizer.state maps each parameter to a dict; count the np.ndarray values' nbytes
    # BEGIN SOLUTION
    return sum(
        value.nbytes
        for state in optimizer.state.values()
        for value in state.values()
        if isinstance(value, np.ndarray)
    )
    # END SOLUTION


def optimizer_memory(
    model: Module | Iterable[Tensor], optimizers: dict[str, OptimizerFactory] | None = None
) -> dict[str, dict[str, float]]:
    """Training memory of ``model`` with each optimizer: bytes of parameters, gradients and
    optimizer state, their total, and the state per parameter byte (0, 1, 2 or 3).

    ``optimizers`` maps a name to ``factory(params) -> Optimizer`` (default: `OPTIMIZERS`).
    The model is not changed: each optimizer steps once on zero-filled copies of its
    parameters. Activation memory (module 06's lesson) comes on top.
    """
    shapes = [
        (p.shape, p.dtype) for p in (model.parameters() if isinstance(model, Module) else model)
    ]
    param_bytes = sum(int(np.prod(shape)) * np.dtype(dtype).itemsize for shape, dtype in shapes)
    report: dict[str, dict[str, float]] = {}
    for name, factory in (optimizers or OPTIMIZERS).items():
        copies = [Parameter(np.zeros(shape), dtype=dtype) for shape, dtype in shapes]
        for param in copies:
            param.grad = Tensor(np.zeros(param.shape, dtype=param.dtype))
        optimizer = factory(copies)
        optimizer.step()
        state = optimizer_state_bytes(optimizer)
        report[name] = {
            "params": param_bytes,
            "grads": param_bytes,
            "state": state,
            "total": 2 * param_bytes + state,
            "state_per_param": state / param_bytes if param_bytes else 0.0,
        }
    return report


def lr_schedule(scheduler: LRScheduler, steps: int) -> list[list[float]]:
    """The learning rates of every group over ``steps`` values: now, then after each of
    ``steps - 1`` calls to ``scheduler.step()`` (advances the scheduler; plot it)."""
    values = [scheduler.get_last_lr()]
    for _ in range(steps - 1):
        scheduler.step()
        values.append(scheduler.get_last_lr())
    return values


def ill_conditioned_race(
    condition: float = 1000.0, steps: int = 300, dim: int = 10, seed: int = 0
) -> dict[str, float]:
    """Loss after ``steps`` steps of several optimizers on ``0.5 * sum(h_i * x_i²)``, with
    curvatures ``h`` spread log-uniformly from 1 to ``condition``, from one random start.

    Each learning rate is the stable choice for this problem: ``1/condition`` for SGD (any
    larger diverges along the steepest direction), the same with heavy-ball momentum 0.9, and
    0.1 for Adam. The gradient ``h * x`` is written by hand (no autograd needed).
    Returns ``{"start": loss at x0, "SGD": ..., "SGD(momentum)": ..., "Adam": ...}``.
    """
    curvature = np.logspace(0, np.log10(condition), dim).astype(np.float32)
    start = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)

    def loss(x: np.ndarray) -> float:
        return float(0.5 * np.sum(curvature * x.astype(np.float64) ** 2))

    contenders: dict[str, Callable[[list[Any]], Optimizer]] = {
        "SGD": lambda ps: SGD(ps, lr=1.0 / condition),
        "SGD(momentum)": lambda ps: SGD(ps, lr=1.0 / condition, momentum=0.9),
        "Adam": lambda ps: Adam(ps, lr=0.1),
    }
    results = {"start": loss(start)}
    for name, factory in contenders.items():
        x = Parameter(start.copy())
        optimizer = factory([x])
        for _ in range(steps):
            x.grad = Tensor(curvature * x.data)
            optimizer.step()
        results[name] = loss(x.data)
    return results
