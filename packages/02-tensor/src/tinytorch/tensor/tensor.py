"""`Tensor`: an n-dimensional array with a dtype, a shape and strides, and the ops to compute with.

A Tensor wraps one NumPy array (``.data``). Every operation is an `Op` run through the dispatch
point `tinytorch.tensor.dispatch.apply`, which module 06 extends with graph recording.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tinytorch.tensor import ops
from tinytorch.tensor.dispatch import apply, hooks

ArrayLike = Any  # anything np.asarray accepts: nested lists, scalars, ndarrays
Dim = ops.Dim


def _as_array(data: ArrayLike, dtype: Any = None) -> np.ndarray:
    """``data`` as an ndarray: ``dtype`` if given, else float32 for floats, integers/bools kept."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    array = np.asarray(data)
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"Tensor: cannot hold data of dtype {array.dtype} ({type(data).__name__}); "
            f"give numbers, nested lists of numbers or a numeric ndarray"
        )
    return array


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept both ``reshape(2, 3)`` and ``reshape((2, 3))``, as PyTorch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class Tensor:
    """An n-dimensional array: ``data: ndarray``, ``shape``, ``dtype`` (float32 by default).

    ``Tensor(data, dtype=None, requires_grad=False)``: float data becomes float32 unless a dtype
    is given; integer and bool data keep their dtype. Like ``torch.as_tensor``, an ndarray that
    already has the right dtype is wrapped without a copy.
    """

    __array_priority__ = 1000  # ndarray + Tensor calls Tensor.__radd__, not NumPy's loop

    def __init__(self, data: ArrayLike, dtype: Any = None, requires_grad: bool = False) -> None:
        self.data: np.ndarray = _as_array(data, dtype)
        self.grad: Tensor | None = None
        self._node: Any = None  # set by tinytorch.autograd: the op and inputs that made this
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        """A Tensor around ``array`` as it is (no dtype conversion, no copy)."""
        out = cls.__new__(cls)
        out.data, out.grad, out._node, out.requires_grad = array, None, None, False
        return out

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return int(self.data.ndim)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(self.data.size)

    @property
    def strides(self) -> tuple[int, ...]:
        """Steps in *elements* (as PyTorch counts them) to the next index along each dim."""
        return tuple(s // self.data.itemsize for s in self.data.strides)

    @property
    def nbytes(self) -> int:
        """Bytes of element storage this tensor spans (size * itemsize)."""
        return int(self.data.nbytes)

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op (inputs and parameters)."""
        return self._node is None

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def item(self) -> Any:
        if self.size != 1:
            raise ValueError(
                f"item: only a tensor with one element can be converted to a "
                f"Python number, this one has shape {self.shape}"
            )
        return self.data.item()

    def is_contiguous(self) -> bool:
        return bool(self.data.flags.c_contiguous)

    def contiguous(self) -> Tensor:
        return self if self.is_contiguous() else apply(ops.Contiguous(), self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.dtype.kind != "f":
            raise TypeError(
                f"requires_grad: only floating-point tensors can require gradients, "
                f"this one is {self.dtype}; convert with .astype(np.float32)"
            )
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """The same data (shared), cut from the graph: no grad flows back through it."""
        return Tensor._wrap(self.data)

    def backward(self, grad: ArrayLike | None = None, retain_graph: bool = False) -> None:
        """Fill ``.grad`` of every leaf this tensor depends on (needs tinytorch.autograd)."""
        if hooks.backward is None:
            raise RuntimeError(
                "backward: automatic differentiation is module 06; run "
                "`import tinytorch.autograd` first (or write the layer's manual "
                "backward, as in modules 03-05)"
            )
        hooks.backward(self, None if grad is None else Tensor(grad, dtype=self.dtype), retain_graph)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, dtype={self.dtype}{extra})"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"bool: the truth value of a tensor of shape {self.shape} is "
                f"ambiguous; reduce it first, e.g. (t > 0).sum() or t.max()"
            )
        return bool(self.data.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    __hash__ = object.__hash__  # __eq__ is elementwise, yet tensors can key a dict by identity

    # ----------------------------------------------------------------- arithmetic
    def _lift(self, other: ArrayLike) -> Tensor:
        """``other`` as a Tensor; a Python number takes this tensor's dtype where it fits."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (bool, int, float)):
            dtype = np.result_type(self.dtype, other)
            if dtype == np.float64 and self.dtype != np.float64:
                dtype = np.dtype(np.float32)
            return Tensor._wrap(np.asarray(other, dtype=dtype))
        return Tensor(other)

    def __add__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Add(), self, self._lift(other))

    def __radd__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Add(), self._lift(other), self)

    def __sub__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Sub(), self, self._lift(other))

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Sub(), self._lift(other), self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Mul(), self, self._lift(other))

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Mul(), self._lift(other), self)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Div(), self, self._lift(other))

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Div(), self._lift(other), self)

    def __pow__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Pow(), self, self._lift(other))

    def __rpow__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Pow(), self._lift(other), self)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return apply(ops.MatMul(), self, self._lift(other))

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return apply(ops.MatMul(), self._lift(other), self)

    def __neg__(self) -> Tensor:
        return apply(ops.Neg(), self)

    def _compare(self, other: ArrayLike, kind: str) -> Tensor:
        return apply(ops.Compare(kind), self, self._lift(other))

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, "eq")

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, "ne")

    def __lt__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, "lt")

    def __le__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, "le")

    def __gt__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, "gt")

    def __ge__(self, other: ArrayLike) -> Tensor:
        return self._compare(other, "ge")

    def exp(self) -> Tensor:
        return apply(ops.Exp(), self)

    def log(self) -> Tensor:
        return apply(ops.Log(), self)

    def sqrt(self) -> Tensor:
        return apply(ops.Sqrt(), self)

    def abs(self) -> Tensor:
        return apply(ops.Abs(), self)

    def maximum(self, other: ArrayLike) -> Tensor:
        return apply(ops.Maximum(), self, self._lift(other))

    def minimum(self, other: ArrayLike) -> Tensor:
        return apply(ops.Minimum(), self, self._lift(other))

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        """Clamp into ``[min, max]`` (PyTorch's ``clamp``; either bound may be None)."""
        return apply(ops.Clip(min, max), self)

    clamp = clip

    def astype(self, dtype: Any) -> Tensor:
        return apply(ops.Astype(np.dtype(dtype)), self)

    # ----------------------------------------------------------------- reductions
    def sum(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        return apply(ops.Sum(dim, keepdim), self)

    def mean(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        return apply(ops.Mean(dim, keepdim), self)

    def max(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """Largest values over ``dim`` (values only; ``argmax`` gives the indices)."""
        return apply(ops.Max(dim, keepdim), self)

    def min(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        return apply(ops.Min(dim, keepdim), self)

    def var(self, dim: Dim = None, keepdim: bool = False, correction: int = 1) -> Tensor:
        return apply(ops.Var(dim, keepdim, correction), self)

    def std(self, dim: Dim = None, keepdim: bool = False, correction: int = 1) -> Tensor:
        return self.var(dim, keepdim, correction).sqrt()

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return apply(ops.Argmax(dim, keepdim), self)

    # ----------------------------------------------------------------- shape and views
    def reshape(self, *shape: Any) -> Tensor:
        """A view when the layout allows it (always when contiguous), else a copy."""
        return apply(ops.Reshape(_shape_arg(shape)), self)

    def view(self, *shape: Any) -> Tensor:
        """Like reshape, but never copies: a non-contiguous tensor raises."""
        if not self.is_contiguous():
            raise RuntimeError(
                f"view: this tensor of shape {self.shape} with strides "
                f"{self.strides} is not contiguous, so it cannot be viewed as "
                f"{_shape_arg(shape)} without a copy; use .reshape() or "
                f".contiguous().view()"
            )
        return self.reshape(*shape)

    def permute(self, *dims: Any) -> Tensor:
        return apply(ops.Permute(_shape_arg(dims)), self)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap two dims (a view)."""
        ops.normalize_dim((dim0, dim1), self.ndim, "transpose")  # raises naming a bad dim
        order = list(range(self.ndim))
        if order:
            order[dim0], order[dim1] = order[dim1], order[dim0]
        return self.permute(order)

    @property
    def T(self) -> Tensor:
        """All dims reversed (a view)."""
        return self.permute(tuple(reversed(range(self.ndim))))

    def squeeze(self, dim: int | None = None) -> Tensor:
        """Drop size-1 dims (all of them, or only ``dim`` when it has size 1)."""
        if dim is None:
            shape = tuple(s for s in self.shape if s != 1)
        else:
            axis = ops.normalize_dim(dim, self.ndim, "squeeze")
            shape = tuple(s for i, s in enumerate(self.shape) if not (i in axis and s == 1))
        return self.reshape(shape)

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a size-1 dim at ``dim`` (-ndim-1 <= dim <= ndim)."""
        if not -self.ndim - 1 <= dim <= self.ndim:
            raise IndexError(
                f"unsqueeze: dim {dim} is out of range for a tensor with "
                f"{self.ndim} dims (valid: {-self.ndim - 1} to {self.ndim})"
            )
        position = dim % (self.ndim + 1)
        return self.reshape((*self.shape[:position], 1, *self.shape[position:]))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dims ``start_dim..end_dim`` into one."""
        if self.ndim == 0:
            return self.reshape(1)
        start, end = (ops.normalize_dim(d, self.ndim, "flatten")[0] for d in (start_dim, end_dim))
        if start > end:
            raise ValueError(
                f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a tensor "
                f"with {self.ndim} dims; swap them"
            )
        merged = int(np.prod(self.shape[start : end + 1]))
        return self.reshape((*self.shape[:start], merged, *self.shape[end + 1 :]))

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast to ``shape`` without copying (stride 0 along the new dims)."""
        return apply(ops.Expand(_shape_arg(shape)), self)

    def __getitem__(self, index: Any) -> Tensor:
        return apply(ops.GetItem(_index_arrays(index)), self)

    def __setitem__(self, index: Any, value: ArrayLike) -> None:
        """In-place write into ``.data``; refused on tensors that autograd is tracking."""
        if self.requires_grad or self._node is not None:
            raise RuntimeError(
                "setitem: writing in place into a tensor that requires grad "
                "would corrupt the gradients; build a new tensor (where, cat) "
                "or write into t.detach()"
            )
        self.data[_index_arrays(index)] = _as_array(value, self.dtype)


def _index_arrays(index: Any) -> Any:
    """Replace Tensors inside an index by their arrays (integer or bool indexing)."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


# --------------------------------------------------------------------- functions
def tensor(data: ArrayLike, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Same as ``Tensor(data, dtype, requires_grad)``, named as in PyTorch."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def zeros(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape: Sequence[int], value: float, dtype: Any = np.float32) -> Tensor:
    return Tensor(np.full(tuple(shape), value, dtype=dtype))


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None) -> Tensor:
    """``start, start + step, ...`` below ``stop``; ``arange(n)`` is ``0..n-1``, as in PyTorch.

    Integer arguments give int64, float ones float32 (unless ``dtype`` is given).
    """
    if stop is None:
        start, stop = 0, start
    return Tensor(np.arange(start, stop, step), dtype=dtype)


def randn(
    *shape: Any, rng: np.random.Generator | None = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal float32 samples; pass ``rng`` (np.random.default_rng(seed)) to repeat."""
    generator = rng if rng is not None else np.random.default_rng()
    return Tensor(
        generator.standard_normal(_shape_arg(shape), dtype=np.float32), requires_grad=requires_grad
    )


def rand(*shape: Any, rng: np.random.Generator | None = None) -> Tensor:
    """Uniform [0, 1) float32 samples."""
    generator = rng if rng is not None else np.random.default_rng()
    return Tensor(generator.random(_shape_arg(shape), dtype=np.float32))


def _tensors(values: Sequence[ArrayLike]) -> list[Tensor]:
    return [v if isinstance(v, Tensor) else Tensor(v) for v in values]


def concatenate(tensors: Sequence[ArrayLike], dim: int = 0) -> Tensor:
    """Join along an existing dim (``torch.cat``)."""
    return apply(ops.Concatenate(dim), *_tensors(tensors))


cat = concatenate


def stack(tensors: Sequence[ArrayLike], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dim."""
    return apply(ops.Stack(dim), *_tensors(tensors))


def _pair(a: ArrayLike, b: ArrayLike) -> tuple[Tensor, Tensor]:
    """Two operands as Tensors; a Python number takes the dtype of the Tensor beside it."""
    if isinstance(a, Tensor):
        return a, a._lift(b)
    if isinstance(b, Tensor):
        return b._lift(a), b
    return Tensor(a), Tensor(b)


def where(condition: ArrayLike, a: ArrayLike, b: ArrayLike) -> Tensor:
    """Elementwise ``a if condition else b`` (all three broadcast)."""
    left, right = _pair(a, b)
    return apply(ops.Where(), condition, left, right)


def maximum(a: ArrayLike, b: ArrayLike) -> Tensor:
    left, right = _pair(a, b)
    return apply(ops.Maximum(), left, right)


def minimum(a: ArrayLike, b: ArrayLike) -> Tensor:
    left, right = _pair(a, b)
    return apply(ops.Minimum(), left, right)
