"""PyTorch's function spellings of Tensor operations: ``tt.sin(x)`` is ``x.sin()``, and so on.

Each takes a Tensor (or anything ``Tensor(...)`` accepts) first, as ``torch.<name>`` does, and
runs the same `Op`s as the method. ``one_hot``, ``pad`` and ``einsum`` exist only here (in
PyTorch, ``one_hot`` and ``pad`` live in ``torch.nn.functional``; ``tinytorch.nn.functional``
re-exports them). ``any`` and ``all`` shadow Python's builtins inside this module only:
``from tinytorch.tensor import *`` does not export them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tinytorch.tensor import ops_extra
from tinytorch.tensor.dispatch import apply
from tinytorch.tensor.tensor import ArrayLike, Dim, Tensor

__all__ = [
    "chunk",
    "cos",
    "cumsum",
    "einsum",
    "erf",
    "exp2",
    "flip",
    "gather",
    "index_select",
    "log2",
    "logsumexp",
    "masked_fill",
    "one_hot",
    "pad",
    "prod",
    "roll",
    "rsqrt",
    "scatter_add",
    "sign",
    "sin",
    "split",
    "tril",
    "triu",
]


def _tensor(x: ArrayLike) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def sin(input: ArrayLike) -> Tensor:
    return _tensor(input).sin()


def cos(input: ArrayLike) -> Tensor:
    return _tensor(input).cos()


def rsqrt(input: ArrayLike) -> Tensor:
    return _tensor(input).rsqrt()


def log2(input: ArrayLike) -> Tensor:
    return _tensor(input).log2()


def exp2(input: ArrayLike) -> Tensor:
    return _tensor(input).exp2()


def sign(input: ArrayLike) -> Tensor:
    return _tensor(input).sign()


def erf(input: ArrayLike) -> Tensor:
    return _tensor(input).erf()


def masked_fill(input: ArrayLike, mask: ArrayLike, value: ArrayLike) -> Tensor:
    return _tensor(input).masked_fill(mask, value)


def tril(input: ArrayLike, diagonal: int = 0) -> Tensor:
    return _tensor(input).tril(diagonal)


def triu(input: ArrayLike, diagonal: int = 0) -> Tensor:
    return _tensor(input).triu(diagonal)


def split(
    tensor: ArrayLike, split_size_or_sections: int | Sequence[int], dim: int = 0
) -> tuple[Tensor, ...]:
    return _tensor(tensor).split(split_size_or_sections, dim)


def chunk(input: ArrayLike, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    return _tensor(input).chunk(chunks, dim)


def gather(input: ArrayLike, dim: int, index: ArrayLike) -> Tensor:
    return _tensor(input).gather(dim, index)


def scatter_add(input: ArrayLike, dim: int, index: ArrayLike, src: ArrayLike) -> Tensor:
    return _tensor(input).scatter_add(dim, index, src)


def index_select(input: ArrayLike, dim: int, index: ArrayLike) -> Tensor:
    return _tensor(input).index_select(dim, index)


def prod(input: ArrayLike, dim: Dim = None, keepdim: bool = False) -> Tensor:
    return _tensor(input).prod(dim, keepdim)


def cumsum(input: ArrayLike, dim: int) -> Tensor:
    return _tensor(input).cumsum(dim)


def logsumexp(input: ArrayLike, dim: Dim, keepdim: bool = False) -> Tensor:
    return _tensor(input).logsumexp(dim, keepdim)


def any(input: ArrayLike, dim: Dim = None, keepdim: bool = False) -> Tensor:
    return _tensor(input).any(dim, keepdim)


def all(input: ArrayLike, dim: Dim = None, keepdim: bool = False) -> Tensor:
    return _tensor(input).all(dim, keepdim)


def flip(input: ArrayLike, dims: int | Sequence[int]) -> Tensor:
    return _tensor(input).flip(dims)


def roll(
    input: ArrayLike, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None
) -> Tensor:
    return _tensor(input).roll(shifts, dims)


def one_hot(tensor: ArrayLike, num_classes: int = -1) -> Tensor:
    """``torch.nn.functional.one_hot``: int64 of shape ``labels.shape + (num_classes,)``;
    ``num_classes=-1`` uses ``labels.max() + 1``. Not differentiable."""
    return apply(ops_extra.OneHot(num_classes), tensor)


def pad(input: ArrayLike, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """``torch.nn.functional.pad``: (before, after) pairs from the last dim backwards; modes
    constant, reflect, replicate, circular; negative amounts crop (`ops_extra.Pad`)."""
    return apply(ops_extra.Pad(pad, mode, value), input)


def einsum(equation: str, *operands: Any) -> Tensor:
    """``einsum("ij,jk->ik", a, b)`` (or the operands as one list), as ``torch.einsum``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(
            "einsum: the first argument must be the equation string (the sublist form "
            "einsum(a, [0, 1], b, [1, 2]) is not supported)"
        )
    return apply(ops_extra.Einsum(equation), *operands)
