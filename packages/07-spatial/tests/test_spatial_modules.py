"""Flatten, GlobalAvgPool2d, and a small CNN whose hand-chained backward equals autograd's."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.spatial as spatial
from tinytorch.layers import Linear, Module
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.spatial import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    GlobalAvgPool2d,
    MaxPool2d,
    global_avg_pool2d,
)
from tinytorch.tensor import Tensor


def test_flatten_forward_backward_and_view() -> None:
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    layer = Flatten()
    out = layer(Tensor(x))
    assert out.shape == (2, 60) and np.shares_memory(out.data, x)
    grad = layer.backward(Tensor(np.ones((2, 60), dtype=np.float32)))
    assert grad.shape == (2, 3, 4, 5)
    assert Flatten(start_dim=2)(Tensor(x)).shape == (2, 3, 20)
    assert Flatten(0, 1)(Tensor(x)).shape == (6, 4, 5)
    assert repr(Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    inputs = Tensor(x, requires_grad=True)
    (Flatten()(inputs) * 2).sum().backward()
    assert_close(inputs.grad, np.full(x.shape, 2, dtype=np.float32))  # type: ignore[arg-type]
    layer(Tensor(x))
    with pytest.raises(ValueError, match="grad_output has shape"):
        layer.backward(Tensor(np.ones((2, 3))))


def test_global_avg_pool() -> None:
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    layer = GlobalAvgPool2d()
    out = layer(Tensor(x, dtype=np.float64))
    assert_close(out, x.mean(axis=(2, 3)), rtol=1e-12)
    assert_close(global_avg_pool2d(Tensor(x)), x.mean(axis=(2, 3)), rtol=1e-6)

    def backward(x: np.ndarray, g: np.ndarray) -> list:
        layer(Tensor(x, dtype=np.float64))
        return [layer.backward(Tensor(g, dtype=np.float64)).data]

    gradcheck(lambda x: x.mean(axis=(2, 3)), [x], backward)
    assert_close(AvgPool2d((4, 5))(Tensor(x)).reshape(2, 3), out, rtol=1e-6)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        layer(Tensor(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match="call forward first"):
        GlobalAvgPool2d().backward(Tensor(np.ones((2, 3))))


def small_cnn(seed: int = 0) -> list[Module]:
    rng = np.random.default_rng(seed)
    return [
        Conv2d(3, 4, 3, padding=1, rng=rng),
        BatchNorm2d(4),
        MaxPool2d(2),
        Conv2d(4, 6, 3, stride=2, padding=1, groups=2, rng=rng),
        AvgPool2d(2, stride=1),
        Flatten(),
        Linear(6, 5, rng=rng),
    ]


def test_small_cnn_manual_backward_equals_autograd() -> None:
    """Chaining every layer's backward in reverse (modules 03-05's protocol) gives autograd's
    gradients for the input and every parameter."""
    layers = small_cnn()
    x = Tensor(np.random.default_rng(1).standard_normal((2, 3, 8, 8)), requires_grad=True)
    out = x
    for layer in layers:
        out = layer(out)
    assert out.shape == (2, 5)
    grad = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
    manual_grad = Tensor(grad)
    for layer in reversed(layers):
        manual_grad = layer.backward(manual_grad)
    manual = [manual_grad.data] + [p.grad.data for m in layers for p in m.parameters()]  # type: ignore[union-attr]
    for layer in layers:
        layer.zero_grad()
    out.backward(grad)
    automatic = [x.grad.data] + [p.grad.data for m in layers for p in m.parameters()]  # type: ignore[union-attr]
    assert len(manual) == len(automatic) == 1 + 2 + 2 + 2 + 2
    for got, want in zip(manual, automatic, strict=True):
        assert got.dtype == np.float32
        assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_training_reduces_the_loss() -> None:
    """A few steps of plain gradient descent fit a fixed batch: the layers learn."""
    layers = small_cnn(seed=3)
    rng = np.random.default_rng(4)
    x = Tensor(rng.standard_normal((8, 3, 8, 8)))
    target = Tensor(rng.standard_normal((8, 5)))
    losses = []
    for _ in range(30):
        out = x
        for layer in layers:
            out = layer(out)
        loss = ((out - target) ** 2).mean()
        losses.append(loss.item())
        for layer in layers:
            layer.zero_grad()
        loss.backward()
        for layer in layers:
            for param in layer.parameters():
                param.data -= 0.1 * param.grad.data  # type: ignore[union-attr]
    assert losses[-1] < 0.5 * losses[0]


def test_public_api() -> None:
    for name in spatial.__all__:
        assert hasattr(spatial, name), name
    assert spatial.__version__ == "0.2.0"
