"""Activation functions on Tensors (``torch.nn.functional`` style) and their in-place variants.

``relu(x)`` builds the Op and runs it through the dispatch point ``apply``: a new Tensor, and
(once module 06 is imported) a recorded graph node. ``relu_(x)``, or ``relu(x, inplace=True)``,
writes the result into ``x``'s storage and returns ``x``: no second array stays alive, which
halves the activation memory of a layer. In-place is refused on a tensor that autograd tracks
(TinyTorch does not record in-place ops); on any other tensor it increases the version counter,
so a backward that saved the old values raises instead of computing a wrong gradient.

The ``inplace=`` arguments and the ``*_`` functions follow ``torch.nn.functional``: the
functions with ``inplace`` there have it here, and ``relu_``, ``leaky_relu_``, ``elu_``,
``selu_``, ``hardtanh_`` (``torch.nn.functional``) and ``sigmoid_``, ``tanh_`` (``torch``) exist.
"""

from __future__ import annotations

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
from tinytorch.tensor import Tensor, apply, is_grad_enabled
from tinytorch.tensor.dispatch import note_saved_versions


def _run(op: ActivationOp, x: Tensor, inplace: bool) -> Tensor:
    """``op`` on ``x``: a new Tensor through ``apply``, or written into ``x`` when ``inplace``."""
    return write_in_place(x, op) if inplace else apply(op, x)


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)`` elementwise. x: any shape, float or int -> same shape and dtype."""
    return _run(ReLUOp(), x, inplace)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where x > 0, else ``negative_slope * x``. x: any shape, float -> same."""
    return _run(LeakyReLUOp(negative_slope), x, inplace)


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


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` elementwise (swish). x: any shape, float -> same."""
    return _run(SiLUOp(), x, inplace)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where x > 0, else ``alpha * (exp(x) - 1)``. x: any shape, float -> same."""
    return _run(ELUOp(alpha), x, inplace)


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with alpha = 1.6733, scale = 1.0507 (PyTorch's constants)."""
    return _run(SELUOp(), x, inplace)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, and x itself where ``beta x > threshold``. x: float."""
    return apply(SoftplusOp(beta, threshold), x)


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)`` elementwise. x: any shape, float or int -> same shape and dtype."""
    return _run(ReLU6Op(), x, inplace)


def hardtanh(
    x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """``clip(x, min_val, max_val)`` elementwise. x: any shape, float or int -> same."""
    return _run(HardtanhOp(min_val, max_val), x, inplace)


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * clip(x + 3, 0, 6) / 6`` elementwise. x: any shape, float -> same."""
    return _run(HardswishOp(), x, inplace)


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    """``clip(x + 3, 0, 6) / 6`` elementwise. x: any shape, float -> same, in [0, 1]."""
    return _run(HardsigmoidOp(), x, inplace)


def logsigmoid(x: Tensor) -> Tensor:
    """``log(sigmoid(x))`` elementwise, finite for every finite input. x: float -> same, < 0."""
    return apply(LogSigmoidOp(), x)


def mish(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))`` elementwise. x: any shape, float -> same."""
    return _run(MishOp(), x, inplace)


# --------------------------------------------------------------------- in place
def write_in_place(x: Tensor, op: ActivationOp) -> Tensor:
    """Compute ``op`` on ``x``'s array and store the result in ``x``'s storage; return ``x``.

    The write bumps ``x``'s version counter. ``op`` keeps what its forward saved, noted for
    `tinytorch.tensor.vjp`'s version check: an output-saving Op (ReLU, Sigmoid, ELU, ...) now
    holds ``x``'s storage itself (which *is* the output: no second array), so it can still be
    differentiated until ``x`` is written again; an input-saving Op (LeakyReLU, SiLU, ...) saved
    values that this very write overwrote, so its backward raises, naming the op.
    """
    name = f"{op.name}_"
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{name}: expected a Tensor to modify in place, got {type(x).__name__}; use "
            f"{op.name}(x) for a new tensor"
        )
    if x.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{name}: this tensor of shape {x.shape} requires grad; TinyTorch does not record "
            f"in-place ops (PyTorch would, for a non-leaf), so writing the result into it would "
            f"hide the op from autograd. Use the out-of-place {op.name}(x)"
        )
    y = op.forward(x.data)
    saved_output = any(value is y for value in op.saved)
    if not saved_output:  # it saved x's array, about to be overwritten: note the old version
        note_saved_versions(op, (x,), Tensor._wrap(y))
    x._write(name, y)
    if saved_output:  # x's storage now holds y: keep that instead of a second copy
        op.saved = tuple(x.data if value is y else value for value in op.saved)
        note_saved_versions(op, (x,), x)
    return x


def relu_(x: Tensor) -> Tensor:
    """In-place ``relu``: ``x`` becomes ``max(x, 0)``; returns ``x``."""
    return write_in_place(x, ReLUOp())


def leaky_relu_(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``; returns ``x``."""
    return write_in_place(x, LeakyReLUOp(negative_slope))


def sigmoid_(x: Tensor) -> Tensor:
    """In-place ``sigmoid``; returns ``x``."""
    return write_in_place(x, SigmoidOp())


def tanh_(x: Tensor) -> Tensor:
    """In-place ``tanh``; returns ``x``."""
    return write_in_place(x, TanhOp())


def elu_(x: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu``; returns ``x``."""
    return write_in_place(x, ELUOp(alpha))


def selu_(x: Tensor) -> Tensor:
    """In-place ``selu``; returns ``x``."""
    return write_in_place(x, SELUOp())


def hardtanh_(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh``; returns ``x``."""
    return write_in_place(x, HardtanhOp(min_val, max_val))
