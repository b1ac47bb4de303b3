"""Activation layers: `Module`s with a forward and a hand-written backward.

``forward`` runs the activation's Op with `Module.run_op`, which keeps the Op (and what it saved:
the output for ReLU, Sigmoid, Tanh, Softmax, LogSoftmax, ELU, SELU, Hardtanh, ReLU6 and
LogSigmoid, the input for the others) while grad mode is on. ``backward(grad_output)`` returns
dL/dx by calling that Op's backward, the very derivative autograd calls. Activations have no
parameters.

A layer built with ``inplace=True`` writes its result into x's storage (``relu_`` and
friends). Its backward still works when the Op saved the output (which x's storage now holds);
when the Op saved the input, the write has overwritten it, and the backward raises.
"""

from __future__ import annotations

from tinytorch.activations.functional import write_in_place
from tinytorch.activations.ops import (
    ActivationOp,
    ELUOp,
    GELUOp,
    HardsigmoidOp,
    HardswishOp,
    HardtanhOp,
    LeakyReLUOp,
    LogSigmoidOp,
    LogSoftmaxOp,
    MishOp,
    ReLU6Op,
    ReLUOp,
    SELUOp,
    SigmoidOp,
    SiLUOp,
    SoftmaxOp,
    SoftplusOp,
    TanhOp,
)
from tinytorch.layers import Module
from tinytorch.tensor import Tensor, is_grad_enabled


class Activation(Module):
    """Base of the activation layers: ``make_op()`` builds the layer's Op; forward runs it and
    backward differentiates it (dL/dy -> dL/dx, any shape). ``inplace`` (False unless a
    subclass takes it) makes forward write into its input."""

    inplace: bool = False

    def make_op(self) -> ActivationOp:
        raise NotImplementedError(f"{type(self).__name__} must define make_op()")

    def forward(self, x: Tensor) -> Tensor:
        if not self.inplace:
            return self.run_op(self.make_op(), x)
        self._ctx = None
        op = self.make_op()
        out = write_in_place(x, op)
        if is_grad_enabled():
            self._ctx, self._ctx_shape = op, out.shape
        return out

    def backward(self, grad_output: Tensor) -> Tensor:
        (grad_input,) = self.op_backward(grad_output, (True,))
        assert grad_input is not None  # asked for: needs = (True,)
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


def _with_inplace(options: str, inplace: bool) -> str:
    """PyTorch's repr: ``alpha=1.0`` or ``alpha=1.0, inplace=True``."""
    return f"{options}, inplace=True" if inplace else options


class ReLU(Activation):
    """``y = max(x, 0)``. x: any shape -> same shape and dtype. Its Op saves the output.

    ``inplace=True`` writes y into x's storage (``relu_``): one array instead of two, and the
    backward still works (it reads only y). It is refused when x requires grad (TinyTorch does
    not record in-place ops).
    """

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def make_op(self) -> ActivationOp:
        return ReLUOp()


class LeakyReLU(Activation):
    """``y = x`` where x > 0, else ``negative_slope * x``. x: float, any shape. Saves the input
    (so ``inplace=True`` leaves nothing to differentiate: its backward raises)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        self.negative_slope = negative_slope
        self.inplace = inplace

    def make_op(self) -> ActivationOp:
        return LeakyReLUOp(self.negative_slope)

    def extra_repr(self) -> str:
        return _with_inplace(f"negative_slope={self.negative_slope}", self.inplace)


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


class SiLU(Activation):
    """``y = x * sigmoid(x)``. x: float, any shape -> same. Saves the input."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def make_op(self) -> ActivationOp:
        return SiLUOp()


class ELU(Activation):
    """``y = x`` where x > 0, else ``alpha * (exp(x) - 1)``. x: float, any shape -> same.
    Saves the output (the input when alpha < 0)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        self.alpha = alpha
        self.inplace = inplace

    def make_op(self) -> ActivationOp:
        return ELUOp(self.alpha)

    def extra_repr(self) -> str:
        return _with_inplace(f"alpha={self.alpha}", self.inplace)


class SELU(Activation):
    """``y = 1.0507 * elu(x, alpha=1.6733)`` (PyTorch's constants). x: float, any shape -> same.
    Saves the output."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def make_op(self) -> ActivationOp:
        return SELUOp()


class Softplus(Activation):
    """``y = log(1 + exp(beta x)) / beta``, and x itself where ``beta x > threshold``.
    x: float, any shape -> same, > 0. Saves the input."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        SoftplusOp(beta, threshold)  # validates beta now, not at the first forward
        self.beta = beta
        self.threshold = threshold

    def make_op(self) -> ActivationOp:
        return SoftplusOp(self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Activation):
    """``y = clip(x, min_val, max_val)``. x: float or int, any shape -> same. Saves the output.
    As in PyTorch, the layer needs ``max_val > min_val``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        if not max_val > min_val:
            raise ValueError(
                f"{type(self).__name__}: max_val ({max_val}) must be greater than min_val "
                f"({min_val}); swap them"
            )
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def make_op(self) -> ActivationOp:
        return HardtanhOp(self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return _with_inplace(f"min_val={self.min_val}, max_val={self.max_val}", self.inplace)


class ReLU6(Activation):
    """``y = min(max(x, 0), 6)``. x: float or int, any shape -> same. Saves the output."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def make_op(self) -> ActivationOp:
        return ReLU6Op()


class Hardswish(Activation):
    """``y = x * clip(x + 3, 0, 6) / 6``. x: float, any shape -> same. Saves the input."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def make_op(self) -> ActivationOp:
        return HardswishOp()

    def extra_repr(self) -> str:
        return ""  # PyTorch's Hardswish does not show inplace


class Hardsigmoid(Activation):
    """``y = clip(x + 3, 0, 6) / 6``. x: float, any shape -> same, in [0, 1]. Saves the input."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def make_op(self) -> ActivationOp:
        return HardsigmoidOp()

    def extra_repr(self) -> str:
        return ""  # PyTorch's Hardsigmoid does not show inplace


class LogSigmoid(Activation):
    """``y = log(sigmoid(x))``. x: float, any shape -> same, < 0. Saves the output."""

    def make_op(self) -> ActivationOp:
        return LogSigmoidOp()


class Mish(Activation):
    """``y = x * tanh(softplus(x))``. x: float, any shape -> same. Saves the input."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace

    def make_op(self) -> ActivationOp:
        return MishOp()
