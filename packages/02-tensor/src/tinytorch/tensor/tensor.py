"""`Tensor`: an n-dimensional array with a dtype, a shape and strides, and the ops to compute with.

A Tensor wraps one NumPy array (``.data``). Every operation is an `Op` run through the dispatch
point `tinytorch.tensor.dispatch.apply`, which module 06 extends with graph recording.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from tinytorch.tensor import ops, ops_extra
from tinytorch.tensor.dispatch import Version, apply, hooks, is_grad_enabled

ArrayLike = Any  # anything np.asarray accepts: nested lists, scalars, ndarrays
Number = float  # a Python number (inside class Tensor, ``float`` is the method Tensor.float)
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


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """The strides, in elements, of a row-major (C-order) tensor of ``shape``: the last dim
    steps 1 element, each earlier dim steps over a whole block of the dims after it.

    ``(2, 3, 4)`` -> ``(12, 4, 1)``: element ``[i, j, k]`` is at offset ``12 i + 4 j + k``.
    PyTorch's and NumPy's default layout (NumPy counts its strides in bytes: times itemsize).
    """
    # HINT: walk the dims from the last one: stride[-1] = 1 and
    # HINT: stride[d] = stride[d + 1] * shape[d + 1]
    # BEGIN SOLUTION
    strides: list[int] = []
    step = 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))
    # END SOLUTION


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
        self._version_counter = Version()  # increased by every in-place write
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        """A Tensor around ``array`` as it is (no dtype conversion, no copy)."""
        out = cls.__new__(cls)
        out.data, out.grad, out._node, out.requires_grad = array, None, None, False
        out._version_counter = Version()
        return out

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's storage has had (PyTorch's ``_version``)."""
        return self._version_counter.value

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

    def size(self, dim: int | None = None) -> Any:
        """The shape (``x.size()``), or the length of one dim (``x.size(0)``), as in PyTorch."""
        if dim is None:
            return self.shape
        return self.shape[ops.normalize_dim(dim, self.ndim, "size")[0]]

    def numel(self) -> int:
        """Number of elements."""
        return int(self.data.size)

    def dim(self) -> int:
        """Number of dims (``ndim``)."""
        return int(self.data.ndim)

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

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying ndarray (shared, not copied). As PyTorch, refused for a tensor that
        requires grad (the array would escape autograd): use ``x.detach().numpy()``, or
        ``force=True`` (PyTorch's flag; here it is the same shared array)."""
        if self.requires_grad and not force:
            raise RuntimeError(
                f"numpy: this tensor of shape {self.shape} requires grad, and PyTorch refuses "
                f"numpy() on it (a write into the array would escape autograd); call "
                f"x.detach().numpy(), or x.numpy(force=True)"
            )
        return self.data

    def item(self) -> Any:
        if self.numel() != 1:
            raise ValueError(
                f"item: only a tensor with one element can be converted to a "
                f"Python number, this one has shape {self.shape}"
            )
        return self.data.item()

    def is_contiguous(self) -> bool:
        """True when the elements lie in row-major (C) order with no gaps: every dim's stride
        is the one `contiguous_strides` gives. A dim of size 1 is never stepped along, so its
        stride does not matter; an empty tensor is contiguous. Views made by transpose, expand
        (stride 0) or a step slice (``x[:, ::2]``) are not. Cost: O(ndim)."""
        # HINT: compare self.strides with contiguous_strides(self.shape) dim by dim, skipping
        # HINT: the dims of size 1; a tensor with no elements is contiguous
        # BEGIN SOLUTION
        if self.numel() == 0:
            return True
        expected = contiguous_strides(self.shape)
        return all(
            size == 1 or stride == want
            for size, stride, want in zip(self.shape, self.strides, expected, strict=True)
        )
        # END SOLUTION

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
        """The same data (shared, with its version counter), cut from the graph."""
        out = Tensor._wrap(self.data)
        out._version_counter = self._version_counter
        return out

    def clone(self) -> Tensor:
        """A copy with its own storage; gradients flow back to ``self``."""
        return apply(ops.Contiguous(copy=True), self)

    def tolist(self) -> Any:
        return self.data.tolist()

    def float(self) -> Tensor:
        """float32 (``self`` itself when it already is, as in PyTorch)."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def to(self, target: Any) -> Tensor:
        """``x.to(np.float64)`` converts the dtype (``x`` itself when it has it already, as in
        PyTorch); ``x.to("cpu")`` is ``x`` (TinyTorch runs on the CPU only); a GPU raises."""
        if isinstance(target, str):
            if target != "cpu":
                raise ValueError(
                    f"to: TinyTorch runs on NumPy, on the CPU only; device {target!r} is not "
                    f"available (use 'cpu', or a dtype such as np.float64)"
                )
            return self
        return self if self.dtype == np.dtype(target) else self.astype(target)

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
        if self.numel() != 1:
            raise ValueError(
                f"bool: the truth value of a tensor of shape {self.shape} is "
                f"ambiguous; reduce it first, e.g. (t > 0).sum() or t.max()"
            )
        return bool(self.data.item())

    def __float__(self) -> Number:
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

    def __floordiv__(self, other: ArrayLike) -> Tensor:
        return apply(ops.FloorDivide(), self, self._lift(other))

    def __rfloordiv__(self, other: ArrayLike) -> Tensor:
        return apply(ops.FloorDivide(), self._lift(other), self)

    def __mod__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Remainder(), self, self._lift(other))

    def __rmod__(self, other: ArrayLike) -> Tensor:
        return apply(ops.Remainder(), self._lift(other), self)

    # PyTorch's method spellings of the operators
    def add(self, other: ArrayLike, alpha: Number = 1) -> Tensor:
        return self + (other if alpha == 1 else self._lift(other) * alpha)

    def sub(self, other: ArrayLike, alpha: Number = 1) -> Tensor:
        return self - (other if alpha == 1 else self._lift(other) * alpha)

    def mul(self, other: ArrayLike) -> Tensor:
        return self * other

    def div(self, other: ArrayLike) -> Tensor:
        return self / other

    def pow(self, exponent: ArrayLike) -> Tensor:
        return self**exponent

    def matmul(self, other: ArrayLike) -> Tensor:
        return self @ other

    def neg(self) -> Tensor:
        return -self

    # ----------------------------------------------------------------- in place
    def _check_in_place(self, name: str) -> None:
        """Refuse an in-place write that PyTorch refuses, or that TinyTorch cannot record."""
        if is_grad_enabled() and self.requires_grad and self._node is None:
            raise RuntimeError(
                f"{name}: this tensor of shape {self.shape} is a leaf that requires grad (a "
                f"parameter?); writing into it in place would hide the write from autograd, as "
                f"PyTorch also refuses. Update parameters inside `with no_grad():` "
                f"(tinytorch.autograd), e.g. `with no_grad(): p -= lr * p.grad`"
            )
        if is_grad_enabled() and self._node is not None:
            raise RuntimeError(
                f"{name}: this tensor of shape {self.shape} was made by a recorded op; PyTorch "
                f"would record the in-place write in the graph, TinyTorch does not record "
                f"in-place ops. Write the out-of-place form (y = y + 1, where, masked_fill), or "
                f"modify y.detach() if the graph must not see it"
            )
        if not self.data.flags.writeable:
            raise ValueError(
                f"{name}: the storage of this tensor of shape {self.shape} is read-only (a "
                f"broadcast view made by expand?); write into a copy: x = x.contiguous()"
            )

    def _write(self, name: str, values: Any, index: Any = Ellipsis) -> Tensor:
        """``self.data[index] = values`` (cast to this dtype), then bump the version."""
        self._check_in_place(name)
        values = values.data if isinstance(values, Tensor) else values
        if np.asarray(values).dtype.kind == "f" and self.dtype.kind != "f":
            raise TypeError(
                f"{name}: a float result cannot be written into this {self.dtype} tensor (it "
                f"would be truncated; PyTorch refuses too); convert first: x = x.float()"
            )
        if index is Ellipsis and np.shape(values) != self.shape:
            shape = ops.broadcast_shape(name, np.shape(values), self.shape)
            if shape != self.shape:
                raise ValueError(
                    f"{name}: the result has shape {shape}, but an in-place op must keep this "
                    f"tensor's shape {self.shape}; use the out-of-place form"
                )
        self.data[index] = values
        self._version_counter.value += 1
        return self

    def add_(self, other: ArrayLike, alpha: Number = 1) -> Tensor:
        """``self += alpha * other`` in place; returns ``self``."""
        return self._write("add_", self.data + _array(other) * alpha)

    def sub_(self, other: ArrayLike, alpha: Number = 1) -> Tensor:
        return self._write("sub_", self.data - _array(other) * alpha)

    def mul_(self, other: ArrayLike) -> Tensor:
        return self._write("mul_", self.data * _array(other))

    def div_(self, other: ArrayLike) -> Tensor:
        return self._write("div_", self.data / _array(other))

    def clamp_(self, min: Number | None = None, max: Number | None = None) -> Tensor:
        return self._write("clamp_", np.clip(self.data, min, max))

    def zero_(self) -> Tensor:
        return self._write("zero_", 0)

    def fill_(self, value: Number) -> Tensor:
        return self._write("fill_", value)

    def copy_(self, source: ArrayLike) -> Tensor:
        """Copy ``source`` (broadcast to this shape) into this tensor's storage."""
        return self._write("copy_", _array(source))

    def __iadd__(self, other: ArrayLike) -> Tensor:
        return self._write("+=", self.data + _array(other))

    def __isub__(self, other: ArrayLike) -> Tensor:
        return self._write("-=", self.data - _array(other))

    def __imul__(self, other: ArrayLike) -> Tensor:
        return self._write("*=", self.data * _array(other))

    def __itruediv__(self, other: ArrayLike) -> Tensor:
        return self._write("/=", self.data / _array(other))

    # ----------------------------------------------------------------- activations (module 04)
    def relu(self) -> Tensor:
        return _activations().relu(self)

    def sigmoid(self) -> Tensor:
        return _activations().sigmoid(self)

    def tanh(self) -> Tensor:
        return _activations().tanh(self)

    def softmax(self, dim: int) -> Tensor:
        return _activations().softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        return _activations().log_softmax(self, dim)

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

    def sin(self) -> Tensor:
        return apply(ops_extra.Sin(), self)

    def cos(self) -> Tensor:
        return apply(ops_extra.Cos(), self)

    def rsqrt(self) -> Tensor:
        """``1 / sqrt(x)`` in one op (inf at 0, NaN below 0, silently, as in PyTorch)."""
        return apply(ops_extra.Rsqrt(), self)

    def log2(self) -> Tensor:
        return apply(ops_extra.Log2(), self)

    def exp2(self) -> Tensor:
        return apply(ops_extra.Exp2(), self)

    def sign(self) -> Tensor:
        """-1, 0 or 1 elementwise; its gradient is 0, as in PyTorch."""
        return apply(ops_extra.Sign(), self)

    def erf(self) -> Tensor:
        """The error function (`tinytorch.tensor.special.erf`)."""
        return apply(ops_extra.Erf(), self)

    def masked_fill(self, mask: ArrayLike, value: ArrayLike) -> Tensor:
        """``value`` where the bool ``mask`` (broadcast to this shape) is True, ``self`` elsewhere.

        ``value`` is a number (cast to this dtype) or a 0-d tensor (its gradient flows too).
        """
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise ValueError(
                    f"masked_fill: value must be a number or a 0-d tensor, got shape "
                    f"{value.shape}; for a tensor of values use where(mask, values, x)"
                )
            ops_extra.check_mask(_array(mask), self.shape)
            return where(mask, value.to(self.dtype), self)
        return apply(ops_extra.MaskedFill(value), self, mask)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dims (``diagonal`` > 0 keeps more), zeros above."""
        return apply(ops_extra.Tril(diagonal), self)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dims (``diagonal`` > 0 keeps less), zeros below."""
        return apply(ops_extra.Tril(diagonal, upper=True), self)

    def maximum(self, other: ArrayLike) -> Tensor:
        return apply(ops.Maximum(), self, self._lift(other))

    def minimum(self, other: ArrayLike) -> Tensor:
        return apply(ops.Minimum(), self, self._lift(other))

    def clip(self, min: Number | None = None, max: Number | None = None) -> Tensor:
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

    def max(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """As in PyTorch: ``x.max()`` is the largest value (0-d); ``x.max(dim)`` returns the pair
        ``(values, indices)`` (a `MinMax`, so ``x.max(1).values`` and ``v, i = x.max(1)`` work).
        ``amax`` gives the values alone, over one dim or several."""
        if dim is None:
            return apply(ops.Max(None, keepdim), self)
        _single_dim(dim, "max", "amax")
        return _values_and_indices(self, self.argmax(dim, keepdim=True), dim, keepdim)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """``x.min()`` or ``(values, indices) = x.min(dim)``, as `max`; ``amin`` for values."""
        if dim is None:
            return apply(ops.Min(None, keepdim), self)
        _single_dim(dim, "min", "amin")
        return _values_and_indices(self, self.argmin(dim, keepdim=True), dim, keepdim)

    def amax(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """Largest values over ``dim`` (an int, a tuple, or None for all); ties share the
        gradient equally, as ``torch.amax``."""
        return apply(ops.Max(dim, keepdim), self)

    def amin(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        return apply(ops.Min(dim, keepdim), self)

    def var(self, dim: Dim = None, keepdim: bool = False, correction: int = 1) -> Tensor:
        return apply(ops.Var(dim, keepdim, correction), self)

    def std(self, dim: Dim = None, keepdim: bool = False, correction: int = 1) -> Tensor:
        return self.var(dim, keepdim, correction).sqrt()

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return apply(ops.Argmax(dim, keepdim), self)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return apply(ops.Argmin(dim, keepdim), self)

    def prod(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """Product over ``dim``; its gradient is exact with zeros (no division by 0)."""
        return apply(ops_extra.Prod(dim, keepdim), self)

    def cumsum(self, dim: int) -> Tensor:
        """Running sum along ``dim``."""
        return apply(ops_extra.CumSum(dim), self)

    def logsumexp(self, dim: Dim, keepdim: bool = False) -> Tensor:
        """``log(sum(exp(x)))`` over ``dim``, without overflow (the max is subtracted first)."""
        return apply(ops_extra.LogSumExp(dim, keepdim), self)

    def any(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """True where any element (over ``dim``) is nonzero: a bool tensor."""
        return apply(ops_extra.Any(dim, keepdim), self)

    def all(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """True where every element (over ``dim``) is nonzero: a bool tensor."""
        return apply(ops_extra.All(dim, keepdim), self)

    def gather(self, dim: int, index: ArrayLike) -> Tensor:
        """``torch.gather``: ``out[i][j] = self[index[i][j]][j]`` for dim 0 (and so on)."""
        return apply(ops.Gather(dim), self, index)

    def scatter_add(self, dim: int, index: ArrayLike, src: ArrayLike) -> Tensor:
        """A copy with ``src`` added at ``index``: ``out[index[i][j]][j] += src[i][j]`` for dim
        0 (repeats add up); the reverse of `gather`."""
        return apply(ops_extra.ScatterAdd(dim), self, index, src)

    def index_select(self, dim: int, index: ArrayLike) -> Tensor:
        """The slices ``index[0], index[1], ...`` of ``dim`` (a 1-d integer index), in order."""
        return apply(ops_extra.IndexSelect(dim), self, index)

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

    def flip(self, *dims: Any) -> Tensor:
        """Reverse the order along ``dims`` (``flip(0)``, ``flip(0, 1)`` or ``flip((0, 1))``);
        a copy, as in PyTorch."""
        return apply(ops_extra.Flip(_shape_arg(dims)), self)

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        """Shift elements along ``dims`` by ``shifts``, wrapping around (``dims=None``: the
        flattened tensor)."""
        return apply(ops_extra.Roll(shifts, dims), self)

    def repeat(self, *sizes: Any) -> Tensor:
        """Tile ``sizes[d]`` times along each dim (more sizes than dims add leading dims); a
        copy (``expand`` broadcasts a size-1 dim without copying)."""
        return apply(ops_extra.Repeat(_shape_arg(sizes)), self)

    def split(
        self, split_size_or_sections: int | Sequence[int], dim: int = 0
    ) -> tuple[Tensor, ...]:
        """Views along ``dim``: pieces of ``split_size`` (the last may be shorter), or of the
        listed sizes (which must add up to the dim's length). Each piece is a slice (`GetItem`)."""
        axis = ops.normalize_dim(dim, self.ndim, "split")
        if not axis:
            raise ValueError("split: a 0-d tensor has no dim to split")
        length = self.shape[axis[0]]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size < 0 or (size == 0 and length > 0):
                raise ValueError(
                    f"split: split_size must be positive (0 only for an empty dim), got {size} "
                    f"for dim {dim} of size {length}"
                )
            steps = range(0, length, size) if size else range(0)
            sizes = [min(size, length - start) for start in steps] or [0]
        else:
            sizes = [int(n) for n in split_size_or_sections]
            if sum(sizes) != length or any(n < 0 for n in sizes):
                raise ValueError(
                    f"split: sizes {sizes} must be non-negative and add up to {length}, the "
                    f"size of dim {dim}"
                )
        lead = (slice(None),) * axis[0]
        starts = np.cumsum([0, *sizes[:-1]])
        return tuple(self[(*lead, slice(a, a + n))] for a, n in zip(starts, sizes, strict=True))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """Split into ``chunks`` pieces of ``ceil(length / chunks)`` along ``dim`` (the last
        shorter; fewer pieces when the length does not need them all), as in PyTorch."""
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        axis = ops.normalize_dim(dim, self.ndim, "chunk")
        length = self.shape[axis[0]] if axis else 0
        if length == 0:
            return tuple(self.split(0, dim) * chunks)
        return self.split(-(-length // chunks), dim)

    def __getitem__(self, index: Any) -> Tensor:
        """Indexing as PyTorch does it (NumPy's rules, but an integer among index arrays selects
        first: ``x[0, :, [0, 1]]`` of a (2, 3, 4) tensor is (3, 2), see `ops.torch_order`)."""
        return apply(ops.GetItem(_index_arrays(index)), self)

    def __setitem__(self, index: Any, value: ArrayLike) -> None:
        """In-place write (``x[0] = 5``): bumps the version, so a backward that saved ``x``
        refuses to run; on a parameter only under ``no_grad``, as in PyTorch. ``value``
        broadcasts to the shape of ``x[index]``."""
        index = _index_arrays(index)
        values = _as_array(value, self.dtype)
        move = ops.torch_order(index, self.ndim)
        if move is not None:  # value is laid out as PyTorch's x[index]; NumPy's dims differ
            probe = np.broadcast_to(np.zeros((), dtype=np.bool_), self.shape)[index]
            shape = ops.to_torch_order(probe, move).shape
            values = ops.to_numpy_order(np.broadcast_to(values, shape), move)
        self._write("setitem", values, index)


class MinMax(NamedTuple):
    """``x.max(dim)`` / ``x.min(dim)``: ``values`` and their int64 ``indices``."""

    values: Tensor
    indices: Tensor


def _single_dim(dim: Any, name: str, alternative: str) -> None:
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(
            f"{name}: dim must be one int (x.{name}(dim) returns values and indices, as in "
            f"PyTorch), got {dim!r}; for the values over several dims use x.{alternative}(dim)"
        )


def _values_and_indices(x: Tensor, index: Tensor, dim: int, keepdim: bool) -> MinMax:
    """The values at ``index`` (gathered, so the gradient goes to that one element even on ties,
    as in PyTorch) and the indices, with ``dim`` dropped unless ``keepdim``."""
    values = x.gather(dim, index)
    if keepdim:
        return MinMax(values, index)
    return MinMax(values.squeeze(dim), index.squeeze(dim))


def accumulate_grad(tensor: Tensor, grad: np.ndarray) -> None:
    """``tensor.grad += grad``: gradients from several uses or batches add up.

    The one accumulation helper: the autograd engine and every hand-written layer backward use
    it. ``grad`` must have the tensor's shape; the stored gradient has the tensor's dtype and
    never aliases ``grad`` (a later in-place change to ``grad`` cannot corrupt it).
    """
    if np.shape(grad) != tensor.shape:
        raise ValueError(
            f"accumulate_grad: gradient of shape {np.shape(grad)} for a tensor of shape "
            f"{tensor.shape}; a backward must return one gradient element per element (sum "
            f"over the batch dims)"
        )
    if tensor.grad is None:
        tensor.grad = Tensor._wrap(np.array(grad, dtype=tensor.dtype))  # a copy
    else:
        tensor.grad = Tensor._wrap((tensor.grad.data + grad).astype(tensor.dtype, copy=False))


def _array(value: ArrayLike) -> Any:
    """The array inside a Tensor, or the value itself (a number or an array-like)."""
    return value.data if isinstance(value, Tensor) else value


def _activations() -> Any:
    """``tinytorch.activations.functional`` (module 04), imported when first needed."""
    try:
        from tinytorch.activations import functional
    except ImportError:
        raise ImportError(
            "Tensor.relu/sigmoid/tanh/softmax/log_softmax are built in module 04; install "
            "tinytorch-activations (pip install ./packages/04-activations)"
        ) from None
    return functional


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
