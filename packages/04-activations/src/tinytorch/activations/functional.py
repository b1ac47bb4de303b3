"""Activation functions on Tensors (``torch.nn.functional`` style) and their in-place variants.

``relu(x)`` builds the Op and runs it through the dispatch point ``apply``: a new Tensor, and
(once module 06 is imported) a recorded graph node. ``relu_(x)`` writes the result into
``x.data`` and returns ``x``: no second array stays alive, which halves the activation memory
of a layer. In-place is refused on a tensor that autograd tracks (TinyTorch does not record
in-place ops); on any other tensor it increases the version counter, so a backward that saved
the old values raises instead of computing a wrong gradient.
"""

from __future__ import annotations

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
from tinytorch.tensor import Tensor, apply, is_grad_enabled


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)`` elementwise. x: any shape, float or int -> same shape and dtype."""
    return apply(ReLUOp(), x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``x`` where x > 0, else ``negative_slope * x``. x: any shape, float -> same."""
    return apply(LeakyReLUOp(negative_slope), x)


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))`` elementwise, stable for every input. x: float -> same, in (0, 1)."""
    return apply(SigmoidOp(), x)


def tanh(x: Tensor) -> Tensor:
    """``tanh(x)`` elementwise. x: any shape, float -> same, in (-1, 1)."""
    return apply(TanhOp(), x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (exact, with erf) or GPT-2's tanh form (``approximate="tanh"``)."""
    return apply(GELUOp(approximate), x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``. x: (*, n, *) float -> same; slices sum to 1."""
    return apply(SoftmaxOp(dim), x)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: log-probabilities, finite for every finite input."""
    return apply(LogSoftmaxOp(dim), x)


def _write_in_place(x: Tensor, op: ActivationOp) -> Tensor:
    """Compute ``op`` on ``x.data`` and store the result in ``x``'s storage (a version bump,
    so a backward that saved ``x`` refuses to run); return ``x``."""
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{op.name}_: expected a Tensor to modify in place, got {type(x).__name__}; use "
            f"{op.name}(x) for a new tensor"
        )
    if x.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{op.name}_: this tensor of shape {x.shape} requires grad; TinyTorch does not "
            f"record in-place ops (PyTorch would, for a non-leaf), so writing the result into "
            f"it would hide the op from autograd. Use the out-of-place {op.name}(x)"
        )
    return x._write(f"{op.name}_", op.forward(x.data))


def relu_(x: Tensor) -> Tensor:
    """In-place ``relu``: ``x.data`` becomes ``max(x, 0)``; returns ``x``."""
    return _write_in_place(x, ReLUOp())


def leaky_relu_(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``; returns ``x``."""
    return _write_in_place(x, LeakyReLUOp(negative_slope))


def sigmoid_(x: Tensor) -> Tensor:
    """In-place ``sigmoid``; returns ``x``."""
    return _write_in_place(x, SigmoidOp())


def tanh_(x: Tensor) -> Tensor:
    """In-place ``tanh``; returns ``x``."""
    return _write_in_place(x, TanhOp())
