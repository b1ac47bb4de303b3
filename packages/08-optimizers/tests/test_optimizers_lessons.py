"""Systems lessons: optimizer state bytes, training memory per optimizer, the conditioning race."""

from __future__ import annotations

import numpy as np

from tinytorch.layers import Linear, Module, Parameter
from tinytorch.optimizers import (
    OPTIMIZERS,
    SGD,
    Adam,
    RMSprop,
    StepLR,
    ill_conditioned_race,
    lr_schedule,
    optimizer_memory,
    optimizer_state_bytes,
)
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor


class MLP(Module):
    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.fc1 = Linear(784, 128, rng=rng)
        self.fc2 = Linear(128, 10, rng=rng)


PARAM_BYTES = (784 * 128 + 128 + 128 * 10 + 10) * 4  # 407,080


def stepped(optimizer_class, **options):
    model = MLP()
    optimizer = optimizer_class(model.parameters(), **options)
    for param in model.parameters():
        param.grad = Tensor(np.ones(param.shape, dtype=np.float32))
    optimizer.step()
    return optimizer


def test_state_bytes_per_optimizer() -> None:
    assert optimizer_state_bytes(Adam(MLP().parameters())) == 0  # no state before a step
    assert optimizer_state_bytes(stepped(Adam)) == 2 * PARAM_BYTES
    assert optimizer_state_bytes(stepped(Adam, amsgrad=True)) == 3 * PARAM_BYTES
    assert optimizer_state_bytes(stepped(SGD, lr=0.1)) == 0
    assert optimizer_state_bytes(stepped(SGD, lr=0.1, momentum=0.9)) == PARAM_BYTES
    assert optimizer_state_bytes(stepped(RMSprop, centered=True)) == 2 * PARAM_BYTES


def test_state_bytes_counts_only_parameters_with_gradients() -> None:
    big, small = Parameter(np.zeros(1000)), Parameter(np.zeros(10))
    optimizer = Adam([big, small])
    small.grad = Tensor(np.ones(10))
    optimizer.step()
    assert optimizer_state_bytes(optimizer) == 2 * 10 * 4


def test_optimizer_memory_report() -> None:
    model = MLP()
    before = [p.data.copy() for p in model.parameters()]
    report = optimizer_memory(model)
    assert list(report) == list(OPTIMIZERS)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters())  # the model is not touched
    ratios = {name: row["state_per_param"] for name, row in report.items()}
    assert ratios == {
        "SGD": 0.0,
        "SGD(momentum)": 1.0,
        "RMSprop": 1.0,
        "RMSprop(centered, momentum)": 3.0,
        "Adam": 2.0,
        "AdamW": 2.0,
        "Adam(amsgrad)": 3.0,
    }
    adam = report["Adam"]
    assert adam["params"] == adam["grads"] == PARAM_BYTES
    assert adam["total"] == 4 * PARAM_BYTES  # parameters + gradients + two moments


def test_optimizer_memory_accepts_parameters_and_custom_factories() -> None:
    params = [Parameter(np.zeros((3, 3)), dtype=np.float64)]
    report = optimizer_memory(params, {"Adam": lambda ps: Adam(ps)})
    assert report == {
        "Adam": {"params": 72, "grads": 72, "state": 144, "total": 288, "state_per_param": 2.0}
    }


def test_lr_schedule_returns_every_group() -> None:
    optimizer = SGD(
        [{"params": [Parameter(np.zeros(1))]}, {"params": [Parameter(np.zeros(1))], "lr": 1.0}],
        lr=0.1,
    )
    values = lr_schedule(StepLR(optimizer, 2, gamma=0.5), 5)
    expected = [[0.1, 1.0], [0.1, 1.0], [0.05, 0.5], [0.05, 0.5], [0.025, 0.25]]
    assert_close(np.array(values), np.array(expected), rtol=1e-12)


def test_momentum_and_adam_win_on_an_ill_conditioned_problem() -> None:
    result = ill_conditioned_race(condition=1000.0, steps=300)
    assert result["start"] > 100
    assert result["SGD"] < result["start"]
    assert result["SGD(momentum)"] < result["SGD"] / 100
    assert result["Adam"] < result["SGD"] / 100
