"""Optimizers driven by autograd: loss.backward() fills param.grad, opt.step() consumes it."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.optimizers  # noqa: F401  (importing the package switches autograd on)
from tinytorch.layers import Linear, Module
from tinytorch.optimizers import SGD, Adam, AdamW, CosineAnnealingLR, LinearWarmup, RMSprop
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor


def tanh(z: Tensor) -> Tensor:
    """tanh from differentiable tensor ops: 1 - 2 / (exp(2z) + 1)."""
    return 1 - 2 / ((2 * z).exp() + 1)


class TanhMLP(Module):
    """4-16-3 with tanh, weights from ``rng``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.fc1 = Linear(4, 16, rng=rng)
        self.fc2 = Linear(16, 3, rng=rng)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(tanh(self.fc1(x)))


def regression_data(seed: int = 1) -> tuple[Tensor, Tensor]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = np.stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2], np.cos(x[:, 3])], axis=1)
    return Tensor(x), Tensor(y.astype(np.float32))


def mse(prediction: Tensor, target: Tensor) -> Tensor:
    return ((prediction - target) ** 2).mean()


def test_backward_fills_grads_that_step_consumes() -> None:
    model = TanhMLP(np.random.default_rng(0))
    x, y = regression_data()
    optimizer = SGD(model.parameters(), lr=0.1)
    mse(model(x), y).backward()
    assert all(isinstance(p.grad, Tensor) for p in model.parameters())
    before = [p.data.copy() for p in model.parameters()]
    grads = [p.grad.data.copy() for p in model.parameters()]
    optimizer.step()
    for p, b, g in zip(model.parameters(), before, grads, strict=True):
        assert_close(p.data, b - np.float32(0.1) * g, rtol=1e-6, atol=1e-7)


def test_forgetting_zero_grad_accumulates() -> None:
    model = TanhMLP(np.random.default_rng(0))
    x, y = regression_data()
    optimizer = SGD(model.parameters(), lr=0.1)
    mse(model(x), y).backward()
    once = model.fc1.weight.grad.data.copy()
    mse(model(x), y).backward()  # no zero_grad: the gradients add up
    assert_close(model.fc1.weight.grad, 2 * once, rtol=1e-5, atol=1e-7)
    optimizer.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    mse(model(x), y).backward()
    assert_close(model.fc1.weight.grad, once, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("optimizer_class", "options"),
    [
        (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
        (Adam, {"lr": 0.01}),
        (AdamW, {"lr": 0.01, "weight_decay": 0.01}),
        (RMSprop, {"lr": 0.003, "momentum": 0.5}),
    ],
    ids=["sgd-nesterov", "adam", "adamw", "rmsprop"],
)
def test_training_an_mlp_reduces_the_loss(optimizer_class, options: dict) -> None:
    model = TanhMLP(np.random.default_rng(0))
    x, y = regression_data()
    optimizer = optimizer_class(model.parameters(), **options)
    scheduler = LinearWarmup(optimizer, 10, after=CosineAnnealingLR(optimizer, T_max=190))
    first = None
    for _ in range(200):
        loss = mse(model(x), y)
        first = loss.item() if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    assert loss.item() < first / 4


def test_linear_regression_recovers_the_weights() -> None:
    """The README example: AdamW with a cosine schedule fits y = x @ [2, -1, 0.5] + 1."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((64, 3), dtype=np.float32))
    y = x @ Tensor([[2.0], [-1.0], [0.5]]) + 1.0
    model = Linear(3, 1, rng=rng)
    opt = AdamW(model.parameters(), lr=0.1)
    sched = CosineAnnealingLR(opt, T_max=200)
    for _ in range(200):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    assert loss.item() < 1e-2
    assert_close(model.weight.data, [[2.0, -1.0, 0.5]], atol=0.05)
    assert_close(model.bias.data, [1.0], atol=0.05)
