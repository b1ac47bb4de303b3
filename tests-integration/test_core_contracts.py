"""The core contracts across every installed package: one derivative per Op, no activations kept
by a CNN after backward or under no_grad, and a PyTorch script that ports by its imports."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import tinytorch
import tinytorch.nn as nn
import tinytorch.nn.functional as F
from tinytorch.autograd import held_activation_bytes, no_grad
from tinytorch.tensor import Op, Tensor

PACKAGES = [f"tinytorch.{name}" for name in tinytorch.installed_modules()]


def all_op_classes() -> list[type[Op]]:
    for package in PACKAGES:
        importlib.import_module(package)
    found, stack = [], [Op]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


def test_every_differentiable_op_of_every_package_has_its_own_backward() -> None:
    classes = [
        cls
        for cls in all_op_classes()
        if cls.__module__.startswith("tinytorch.")
        and not cls.__name__.startswith("_")
        and cls.forward is not Op.forward
    ]
    packages = {cls.__module__.split(".")[1] for cls in classes}
    assert {"tensor", "layers", "activations", "autograd", "spatial", "training"} <= packages
    missing = [
        f"{cls.__module__}.{cls.__name__}"
        for cls in classes
        if cls.differentiable and cls.backward is Op.backward
    ]
    assert missing == []


def test_no_package_exports_a_second_derivative_mechanism() -> None:
    for package in PACKAGES:
        public = set(getattr(importlib.import_module(package), "__all__", ()))
        assert not {"register_rule", "rule_for", "RULES"} & public, package
        assert not [name for name in public if name.endswith("_backward")], package


def small_cnn() -> nn.Sequential:
    rng = np.random.default_rng(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, rng=rng),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.1, rng=rng),
        nn.Linear(32 * 8 * 8, 10, rng=rng),
    )


def test_a_cnn_holds_no_activation_after_backward_or_under_no_grad() -> None:
    model = small_cnn()
    x = Tensor(np.random.default_rng(1).standard_normal((16, 3, 32, 32), dtype=np.float32))
    y = Tensor(np.arange(16) % 10)
    loss = F.cross_entropy(model(x), y)
    assert held_activation_bytes(model) > 1_000_000  # im2col columns, x_hat, masks, ...
    loss.backward()
    assert held_activation_bytes(model) == 0
    model.eval()
    with no_grad():
        model(Tensor(np.ones((256, 3, 32, 32), dtype=np.float32)))
    assert held_activation_bytes(model) == 0


def test_a_pytorch_training_loop_ports_by_changing_its_imports() -> None:
    """The body below is PyTorch code; only the imports differ (tinytorch for torch)."""
    from tinytorch import optim
    from tinytorch.utils.data import DataLoader, TensorDataset

    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((256, 2)).astype(np.float32)
    labels = (inputs[:, 0] * inputs[:, 1] > 0).astype(np.int64)
    loader = DataLoader(TensorDataset(Tensor(inputs), Tensor(labels)), batch_size=32)
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2))
    optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.5)
    for _epoch in range(40):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
        scheduler.step()
    with no_grad():
        logits = model(Tensor(inputs))
        accuracy = (logits.argmax(1) == Tensor(labels)).float().mean().item()
        values, indices = logits.max(1)
    assert accuracy > 0.9
    assert logits.size(0) == 256 and values.shape == (256,) and indices.dtype == np.int64
    np.testing.assert_array_equal(indices.data, logits.argmax(1).data)


def test_manual_sgd_under_no_grad_trains_like_pytorch_code() -> None:
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((3, 1)).astype(np.float32), requires_grad=True)
    x = Tensor(rng.standard_normal((64, 3)).astype(np.float32))
    target = x @ Tensor([[1.0], [-2.0], [0.5]])
    first = None
    for _ in range(100):
        loss = ((x @ w - target) ** 2).mean()
        first = first if first is not None else loss.item()
        loss.backward()
        with no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
    assert loss.item() < 1e-3 * first
    np.testing.assert_allclose(w.data.ravel(), [1.0, -2.0, 0.5], atol=1e-2)


@pytest.mark.parametrize("name", ["mse_loss", "Checkpoint", "Linear", "cross_entropy", "no_grad"])
def test_top_level_names_come_from_their_owner(name: str) -> None:
    owner = {
        "mse_loss": "tinytorch.training",
        "Checkpoint": "tinytorch.training",
        "Linear": "tinytorch.layers",
        "cross_entropy": "tinytorch.training",
        "no_grad": "tinytorch.autograd",
    }[name]
    assert getattr(tinytorch, name) is getattr(importlib.import_module(owner), name)
