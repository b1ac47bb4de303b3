"""The Tensor operations of module 02, each an `Op` whose `forward` works on NumPy arrays.

Costs are for inputs of n elements: elementwise ops and reductions read n and write n (or the
reduced size) values, O(n); ``matmul`` of (..., M, K) @ (..., K, N) does 2*M*K*N FLOPs per batch;
views (reshape of a contiguous array, transpose, basic slicing) cost O(1) and copy nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from tinytorch.tensor.dispatch import Op

Dim = int | tuple[int, ...] | None


def broadcast_shape(op: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast result of ``shapes``, or a ValueError naming the op and every shape."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ValueError(
            f"{op}: shapes {listed} cannot be broadcast together: aligned from the right, each "
            f"pair of dims must be equal or one of them 1; reshape or unsqueeze an input"
        ) from None


class _Binary(Op):
    """Elementwise op of two broadcastable arrays."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        try:
            return self.compute(a, b)
        except ValueError:  # checked only on failure: the check costs ~1 us, a quarter of an add
            broadcast_shape(self.name, a.shape, b.shape)  # names both shapes if they are the cause
            raise

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Add(_Binary):
    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return a + b
        # END SOLUTION


class Sub(_Binary):
    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return a - b
        # END SOLUTION


class Mul(_Binary):
    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return a * b
        # END SOLUTION


class Div(_Binary):
    """True division (``int / int`` gives float32, as in PyTorch)."""

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.true_divide(a, b)
        # END SOLUTION


class Pow(_Binary):
    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.power(a, b)
        # END SOLUTION


class Maximum(_Binary):
    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.maximum(a, b)
        # END SOLUTION


class Minimum(_Binary):
    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.minimum(a, b)
        # END SOLUTION


class Compare(_Binary):
    """``==, !=, <, <=, >, >=``: a bool array; not differentiable."""

    differentiable = False
    _FUNCTIONS: ClassVar[dict[str, np.ufunc]] = {
        "eq": np.equal,
        "ne": np.not_equal,
        "lt": np.less,
        "le": np.less_equal,
        "gt": np.greater,
        "ge": np.greater_equal,
    }

    def __init__(self, kind: str) -> None:
        self.kind = kind

    @property
    def name(self) -> str:
        return self.kind

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._FUNCTIONS[self.kind](a, b)


class MatMul(Op):
    """``a @ b`` with NumPy's rules: 1-d operands are promoted, leading dims broadcast."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul: both operands need at least 1 dim, got shapes "
                f"{a.shape} and {b.shape}; use * to multiply by a scalar"
            )
        k_left = a.shape[-1]
        k_right = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if k_left != k_right:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned: the last dim of the "
                f"left ({k_left}) must equal the {'second-to-last' if b.ndim > 1 else 'only'} "
                f"dim of the right ({k_right}); transpose or reshape one operand"
            )
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} have batch dims {a.shape[:-2]} and "
                f"{b.shape[:-2]} that cannot be broadcast together (aligned from the right, each "
                f"pair must be equal or one of them 1); reshape or unsqueeze an operand"
            ) from None
        # BEGIN SOLUTION
        return np.matmul(a, b)
        # END SOLUTION


class _Unary(Op):
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Neg(_Unary):
    def forward(self, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.negative(x)
        # END SOLUTION


class Exp(_Unary):
    def forward(self, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.exp(x)
        # END SOLUTION


class Log(_Unary):
    def forward(self, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.log(x)
        # END SOLUTION


class Sqrt(_Unary):
    def forward(self, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.sqrt(x)
        # END SOLUTION


class Abs(_Unary):
    def forward(self, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.abs(x)
        # END SOLUTION


class Clip(_Unary):
    """Clamp into ``[low, high]``; either bound may be None (PyTorch's ``clamp``)."""

    def __init__(self, low: float | None, high: float | None) -> None:
        if low is None and high is None:
            raise ValueError("clip: give at least one of min and max")
        self.low, self.high = low, high

    def forward(self, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.clip(x, self.low, self.high)
        # END SOLUTION


class Astype(_Unary):
    """A copy converted to ``dtype``; the one op whose float64 result is kept as float64."""

    exact_dtype = True

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.astype(self.dtype)


class Where(Op):
    """``where(condition, a, b)``: a where condition is true, else b (all broadcast)."""

    def forward(self, condition: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("where", condition.shape, a.shape, b.shape)
        # BEGIN SOLUTION
        return np.where(condition.astype(bool), a, b)
        # END SOLUTION


def normalize_dim(dim: Dim, ndim: int, op: str) -> tuple[int, ...]:
    """``dim`` (None, an int or a tuple, negatives allowed) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    rank = max(ndim, 1)
    for d in dims:
        if not -rank <= d < rank:
            raise IndexError(
                f"{op}: dim {d} is out of range for a tensor with {ndim} dims "
                f"(valid: {-rank} to {rank - 1})"
            )
    return tuple(sorted({d % rank for d in dims} if ndim else set()))


class _Reduce(Op):
    def __init__(self, dim: Dim = None, keepdim: bool = False) -> None:
        self.dim, self.keepdim = dim, keepdim

    def axes(self, x: np.ndarray) -> tuple[int, ...]:
        return normalize_dim(self.dim, x.ndim, self.name)


class Sum(_Reduce):
    def forward(self, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.sum(x, axis=self.axes(x), keepdims=self.keepdim)
        # END SOLUTION


class Mean(_Reduce):
    def forward(self, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.mean(x, axis=self.axes(x), keepdims=self.keepdim)
        # END SOLUTION


class Max(_Reduce):
    """Largest value over ``dim``. Values only (unlike torch.max(dim), which also gives indices:
    use ``argmax`` for those)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            raise ValueError("max: the tensor is empty, so it has no maximum")
        # BEGIN SOLUTION
        return np.max(x, axis=self.axes(x), keepdims=self.keepdim)
        # END SOLUTION


class Min(_Reduce):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            raise ValueError("min: the tensor is empty, so it has no minimum")
        # BEGIN SOLUTION
        return np.min(x, axis=self.axes(x), keepdims=self.keepdim)
        # END SOLUTION


class Var(_Reduce):
    """Variance, ``sum((x - mean)^2) / (n - correction)``; PyTorch's default correction=1."""

    def __init__(self, dim: Dim = None, keepdim: bool = False, correction: int = 1) -> None:
        super().__init__(dim, keepdim)
        self.correction = correction

    def forward(self, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return np.var(x, axis=self.axes(x), keepdims=self.keepdim, ddof=self.correction)
        # END SOLUTION


class Argmax(Op):
    """Index of the largest value (first on ties), flattened when ``dim`` is None; int64."""

    differentiable = False

    def __init__(self, dim: int | None = None, keepdim: bool = False) -> None:
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = normalize_dim(self.dim, x.ndim, "argmax")  # checks the range; () when 0-d
        axis = axes[0] if self.dim is not None and axes else None
        return np.argmax(x, axis=axis, keepdims=self.keepdim).astype(np.int64)


class Reshape(Op):
    """A view when the memory layout allows it (always for contiguous input), else a copy."""

    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        known = int(np.prod([s for s in self.shape if s != -1]))
        unknown = self.shape.count(-1)
        fits = (unknown == 0 and known == x.size) or (
            unknown == 1 and known > 0 and x.size % known == 0
        )
        if not fits:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} "
                f"({x.size} elements) into shape {self.shape}"
            )
        # BEGIN SOLUTION
        return x.reshape(self.shape)
        # END SOLUTION


class Permute(Op):
    """Reorder dims; a strided view, no copy."""

    def __init__(self, dims: Sequence[int]) -> None:
        self.dims = tuple(dims)

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = normalize_dim(self.dims, x.ndim, "permute")  # sorted, without repeats
        if len(self.dims) != x.ndim or len(axes) != x.ndim:
            raise ValueError(
                f"permute: dims {self.dims} are not a permutation of the "
                f"{x.ndim} dims of a tensor of shape {x.shape}"
            )
        # BEGIN SOLUTION
        return np.transpose(x, self.dims)
        # END SOLUTION


class Expand(Op):
    """Broadcast to ``shape`` as a read-only view with stride 0 along expanded dims.

    Aligned from the right, each dim of the tensor must equal the target's or be 1; new dims go
    in front; ``-1`` keeps a dim as it is (``x.expand(-1, 4)`` on a (3, 1) tensor gives (3, 4)).
    """

    def __init__(self, shape: Sequence[int]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        new = len(self.shape) - x.ndim  # number of leading dims to add
        target = tuple(
            x.shape[i - new] if side == -1 and i >= new else side
            for i, side in enumerate(self.shape)
        )
        fits = new >= 0 and all(side >= 0 for side in target)
        if not fits or any(
            side not in (1, want) for side, want in zip(x.shape, target[new:], strict=True)
        ):
            raise ValueError(
                f"expand: cannot expand a tensor of shape {x.shape} to {self.shape}: aligned "
                f"from the right, each dim must equal the target or be 1 (-1 keeps a dim), and "
                f"new dims go in front; use reshape or unsqueeze first"
            )
        return np.broadcast_to(x, target)


class GetItem(Op):
    """``x[index]``: basic slicing gives a view; integer-array or boolean indexing copies."""

    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x: np.ndarray) -> np.ndarray:
        # BEGIN SOLUTION
        return x[self.index]
        # END SOLUTION


class Concatenate(Op):
    """Join arrays along an existing dim; every other dim must match. Copies."""

    def __init__(self, dim: int = 0) -> None:
        self.dim = dim

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        shapes = [a.shape for a in arrays]
        if not arrays or len({len(s) for s in shapes}) != 1:
            raise ValueError(
                f"concatenate: need tensors with the same number of dims, got shapes {shapes}"
            )
        if arrays[0].ndim == 0:
            raise ValueError(
                "concatenate: 0-d tensors have no dim to join along; use stack, or unsqueeze(0) "
                "each tensor first"
            )
        axis = normalize_dim(self.dim, arrays[0].ndim, "concatenate")[0]
        if len({s[:axis] + s[axis + 1 :] for s in shapes}) != 1:
            raise ValueError(f"concatenate: shapes {shapes} differ outside dim {self.dim}")
        # BEGIN SOLUTION
        return np.concatenate(arrays, axis=axis)
        # END SOLUTION


class Stack(Op):
    """Join arrays of one shape along a new dim. Copies."""

    def __init__(self, dim: int = 0) -> None:
        self.dim = dim

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        shapes = [a.shape for a in arrays]
        if not arrays or len(set(shapes)) != 1:
            raise ValueError(f"stack: need tensors of one shape, got shapes {shapes}")
        ndim = arrays[0].ndim + 1  # the result's
        if not -ndim <= self.dim < ndim:
            raise IndexError(
                f"stack: dim {self.dim} is out of range for a result with {ndim} dims "
                f"(valid: {-ndim} to {ndim - 1})"
            )
        # BEGIN SOLUTION
        return np.stack(arrays, axis=self.dim)
        # END SOLUTION


class Contiguous(Op):
    """A C-contiguous copy (or the array itself when it already is)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x)
