"""Training by hand: forward, loss, manual backward, gradient-descent step. No autograd.

One step of plain (full-batch) gradient descent on a loss L:

    prediction = model(x)                       forward: every layer stores what backward needs
    grad = dL/d(prediction)                     the loss's own derivative, written by hand
    model.backward(grad)                        chain rule, layer by layer, in reverse
    p.data -= lr * p.grad                       for every parameter p

This is the whole algorithm behind every network in this course; module 06 automates the
backward, module 08 improves the step, module 10 wraps the loop.

XOR is the classic test: no single Linear layer can separate it, one hidden layer can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinytorch.layers import Module
from tinytorch.networks.sequential import MLP, Sequential
from tinytorch.tensor import Tensor


def xor_data(dtype: type = np.float32) -> tuple[Tensor, Tensor]:
    """The four XOR points: x ``(4, 2)`` in {0, 1}, y ``(4, 1)`` = x0 xor x1."""
    x: np.ndarray = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    y: np.ndarray = np.array([[0], [1], [1], [0]], dtype=dtype)
    return Tensor(x), Tensor(y)


def mse_loss(prediction: Tensor, target: Tensor) -> float:
    """Mean squared error ``mean((prediction - target)**2)`` over all elements."""
    _check_same_shape("mse_loss", prediction, target)
    # HINT: the mean over ALL elements of the squared difference, as a Python float
    # BEGIN SOLUTION
    return float(np.mean((prediction.data - target.data) ** 2))
    # END SOLUTION


def mse_loss_grad(prediction: Tensor, target: Tensor) -> Tensor:
    """dL/d(prediction) of `mse_loss`: ``2 * (prediction - target) / N``, N = element count."""
    _check_same_shape("mse_loss_grad", prediction, target)
    # HINT: each element's term (p - t)**2 / N has derivative 2 (p - t) / N
    # BEGIN SOLUTION
    return Tensor(2.0 * (prediction.data - target.data) / prediction.numel(), prediction.dtype)
    # END SOLUTION


def _check_same_shape(name: str, prediction: Tensor, target: Tensor) -> None:
    if prediction.shape != target.shape:
        raise ValueError(
            f"{name}: prediction has shape {prediction.shape} but target has shape "
            f"{target.shape}; reshape the target (e.g. y.reshape(-1, 1)) so they match"
        )


def sgd_step(model: Module, lr: float) -> None:
    """``p -= lr * p.grad`` in place for every parameter that has a gradient."""
    for param in model.parameters():
        if param.grad is not None:
            # HINT: step against the gradient, in place on the parameter's array: data -= lr * grad
            # BEGIN SOLUTION
            param.data -= lr * param.grad.data
            # END SOLUTION


def binary_accuracy(prediction: Tensor, target: Tensor, threshold: float = 0.5) -> float:
    """Fraction of elements where ``prediction > threshold`` equals the 0/1 target."""
    _check_same_shape("binary_accuracy", prediction, target)
    return float(np.mean((prediction.data > threshold) == (target.data > 0.5)))


def train_manual(model: Module, x: Tensor, y: Tensor, lr: float, epochs: int) -> list[float]:
    """Full-batch gradient descent on the MSE with the model's manual backward.

    Returns the loss before each step. Cost per epoch: one forward and one backward pass
    (about 3x the forward FLOPs) plus one read-modify-write of every parameter.
    """
    losses = []
    for _ in range(epochs):
        # HINT: one epoch = zero the grads, forward, record the loss, backward from
        # HINT: d(loss)/d(prediction) (mse_loss_grad), then one sgd_step
        # BEGIN SOLUTION
        model.zero_grad()
        prediction = model(x)
        losses.append(mse_loss(prediction, y))
        model.backward(mse_loss_grad(prediction, y))
        sgd_step(model, lr)
        # END SOLUTION
    return losses


def xor_model(hidden: int = 4, rng: np.random.Generator | None = None) -> Sequential:
    """``Linear(2, hidden), Tanh, Linear(hidden, 1), Sigmoid``: the smallest net that learns XOR."""
    return MLP([2, hidden, 1], activation="tanh", final_activation="sigmoid", rng=rng)


@dataclass
class XORResult:
    """What `train_xor` returns."""

    model: Sequential
    losses: list[float]  # MSE before each step
    predictions: np.ndarray  # (4, 1) outputs after training, in (0, 1)
    accuracy: float  # fraction of the 4 points classified right


def train_xor(hidden: int = 4, lr: float = 2.0, epochs: int = 1000, seed: int = 0) -> XORResult:
    """Train `xor_model` on the 4 XOR points by manual backprop; seeded, so reproducible."""
    x, y = xor_data()
    model = xor_model(hidden, rng=np.random.default_rng(seed))
    losses = train_manual(model, x, y, lr, epochs)
    prediction = model(x)
    return XORResult(model, losses, prediction.data.copy(), binary_accuracy(prediction, y))
