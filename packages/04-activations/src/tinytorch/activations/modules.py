"""Activation layers: `Module`s with a forward and a hand-written backward.

``forward`` runs the activation's Op with `Module.run_op`, which keeps the Op (and what it saved:
the output for ReLU, Sigmoid, Tanh, Softmax and LogSoftmax, the input for LeakyReLU and GELU)
while grad mode is on. ``backward(grad_output)`` returns dL/dx by calling that Op's backward,
the very derivative autograd calls. Activations have no parameters.
"""

from __future__ import annotations

from tinytorch.activations import functional as F
from tinytorch.activations.ops import (
    ActivationOp,
    GELUOp,
    LeakyReLUOp,
    LogSoftmaxOp,
    ReLUOp,
    SigmoidOp,
    SoftmaxOp,
    TanhOp,
)
from tinytorch.layers import Module
from tinytorch.tensor import Tensor


class Activation(Module):
    """Base of the activation layers: ``make_op()`` builds the layer's Op; forward runs it and
    backward differentiates it (dL/dy -> dL/dx, any shape)."""

    def make_op(self) -> ActivationOp:
        raise NotImplementedError(f"{type(self).__name__} must define make_op()")

    def forward(self, x: Tensor) -> Tensor:
        return self.run_op(self.make_op(), x)

    def backward(self, grad_output: Tensor) -> Tensor:
        (grad_input,) = self.op_backward(grad_output, (True,))
        return Tensor._wrap(grad_input)


class ReLU(Activation):
    """``y = max(x, 0)``. x: any shape -> same shape and dtype. Its Op saves the output.

    ``inplace=True`` writes y into x's storage (``relu_``): one array instead of two. It is
    refused when x requires grad (TinyTorch does not record in-place ops).
    """

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def make_op(self) -> ActivationOp:
        return ReLUOp()

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            self._ctx = None
            return F.relu_(x)
        return super().forward(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Activation):
    """``y = x`` where x > 0, else ``negative_slope * x``. x: float, any shape. Saves the input."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = negative_slope

    def make_op(self) -> ActivationOp:
        return LeakyReLUOp(self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Activation):
    """``y = 1 / (1 + exp(-x))``. x: float, any shape -> same, in (0, 1). Saves the output."""

    def make_op(self) -> ActivationOp:
        return SigmoidOp()


class Tanh(Activation):
    """``y = tanh(x)``. x: float, any shape -> same, in (-1, 1). Saves the output."""

    def make_op(self) -> ActivationOp:
        return TanhOp()


class GELU(Activation):
    """``y = x * Phi(x)`` (``approximate="none"``, with erf) or GPT-2's tanh form
    (``approximate="tanh"``). x: float, any shape -> same. Saves the input."""

    def __init__(self, approximate: str = "none") -> None:
        GELUOp(approximate)  # validates the option now, not at the first forward
        self.approximate = approximate

    def make_op(self) -> ActivationOp:
        return GELUOp(self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Activation):
    """Softmax along ``dim``. x: float, any shape -> same; each slice along dim sums to 1.
    Saves the output."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def make_op(self) -> ActivationOp:
        return SoftmaxOp(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Activation):
    """Log-softmax along ``dim``. x: float, any shape -> same, log-probabilities (<= 0).
    Saves the output."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def make_op(self) -> ActivationOp:
        return LogSoftmaxOp(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
