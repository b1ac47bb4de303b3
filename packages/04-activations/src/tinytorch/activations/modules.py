"""Activation layers: `Module`s with a forward and a hand-written backward.

``forward`` runs the functional form and keeps what the backward function reads, and nothing
more: the output for ReLU, Sigmoid, Tanh, Softmax and LogSoftmax, the input for LeakyReLU and
GELU. ``backward(grad_output)`` returns dL/dx by calling the same backward function that
autograd's rule for the Op uses (`tinytorch.activations.ops`). Activations have no parameters.
"""

from __future__ import annotations

import numpy as np

from tinytorch.activations import functional as F
from tinytorch.activations.ops import (
    GELUOp,
    gelu_backward,
    leaky_relu_backward,
    log_softmax_backward,
    relu_backward,
    sigmoid_backward,
    softmax_backward,
    tanh_backward,
)
from tinytorch.layers import Module
from tinytorch.tensor import Tensor


def _saved_and_grad(
    layer: str, saved: Tensor | None, grad_output: Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """The array forward saved and grad_output's array, once both are known to fit together."""
    if saved is None:
        raise RuntimeError(f"{layer}.backward: call forward first (backward reads what it saved)")
    grad = np.asarray(grad_output.data)
    if grad.shape != saved.shape:
        raise ValueError(
            f"{layer}.backward: grad_output has shape {grad.shape}, but the forward output had "
            f"shape {saved.shape}; pass dL/dy for the output of the last forward call"
        )
    return saved.data, grad


def _as_tensor(grad: np.ndarray) -> Tensor:
    """The gradient as a Tensor of its own dtype (a float64 check stays float64)."""
    return Tensor(grad, dtype=grad.dtype)


class ReLU(Module):
    """``y = max(x, 0)``. x: any shape -> same shape and dtype. Saves the output.

    ``inplace=True`` writes y into x's storage (``relu_``): one array instead of two. It is
    refused when x requires grad; the backward still works, because it reads only y.
    """

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace
        self._output: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self._output = F.relu_(x) if self.inplace else F.relu(x)
        return self._output

    def backward(self, grad_output: Tensor) -> Tensor:
        y, grad = _saved_and_grad("ReLU", self._output, grad_output)
        return _as_tensor(relu_backward(None, y, grad))

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``y = x`` where x > 0, else ``negative_slope * x``. x: float, any shape. Saves the input."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = negative_slope
        self._input: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self._input = x
        return F.leaky_relu(x, self.negative_slope)

    def backward(self, grad_output: Tensor) -> Tensor:
        x, grad = _saved_and_grad("LeakyReLU", self._input, grad_output)
        return _as_tensor(leaky_relu_backward(x, None, grad, self.negative_slope))

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """``y = 1 / (1 + exp(-x))``. x: float, any shape -> same, in (0, 1). Saves the output."""

    def __init__(self) -> None:
        self._output: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self._output = F.sigmoid(x)
        return self._output

    def backward(self, grad_output: Tensor) -> Tensor:
        y, grad = _saved_and_grad("Sigmoid", self._output, grad_output)
        return _as_tensor(sigmoid_backward(None, y, grad))


class Tanh(Module):
    """``y = tanh(x)``. x: float, any shape -> same, in (-1, 1). Saves the output."""

    def __init__(self) -> None:
        self._output: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self._output = F.tanh(x)
        return self._output

    def backward(self, grad_output: Tensor) -> Tensor:
        y, grad = _saved_and_grad("Tanh", self._output, grad_output)
        return _as_tensor(tanh_backward(None, y, grad))


class GELU(Module):
    """``y = x * Phi(x)`` (``approximate="none"``, with erf) or GPT-2's tanh form
    (``approximate="tanh"``). x: float, any shape -> same. Saves the input."""

    def __init__(self, approximate: str = "none") -> None:
        GELUOp(approximate)  # validates the option now, not at the first forward
        self.approximate = approximate
        self._input: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self._input = x
        return F.gelu(x, self.approximate)

    def backward(self, grad_output: Tensor) -> Tensor:
        x, grad = _saved_and_grad("GELU", self._input, grad_output)
        return _as_tensor(gelu_backward(x, None, grad, self.approximate))

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """Softmax along ``dim``. x: float, any shape -> same; each slice along dim sums to 1.
    Saves the output."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim
        self._output: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self._output = F.softmax(x, self.dim)
        return self._output

    def backward(self, grad_output: Tensor) -> Tensor:
        y, grad = _saved_and_grad("Softmax", self._output, grad_output)
        return _as_tensor(softmax_backward(None, y, grad, self.dim))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """Log-softmax along ``dim``. x: float, any shape -> same, log-probabilities (<= 0).
    Saves the output."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim
        self._output: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        self._output = F.log_softmax(x, self.dim)
        return self._output

    def backward(self, grad_output: Tensor) -> Tensor:
        y, grad = _saved_and_grad("LogSoftmax", self._output, grad_output)
        return _as_tensor(log_softmax_backward(None, y, grad, self.dim))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
