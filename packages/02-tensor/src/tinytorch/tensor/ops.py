"""The Tensor operations of module 02: each `Op` holds its ``forward`` and its ``backward``.

``forward`` computes on NumPy arrays and saves what the derivative needs; ``backward(grad,
needs)`` turns dL/d(output) into one dL/d(input) per input: the vector-Jacobian product, never the
Jacobian itself (an (n x n) matrix for an elementwise op of n elements). Module 06 chains these
local derivatives through a whole graph; here each one is a few lines of NumPy.

Broadcasting: an input that was broadcast in the forward pass was used many times, so its
gradient is the sum over the broadcast dims (`unbroadcast`).

Costs are for inputs of n elements: elementwise ops and reductions read n and write n (or the
reduced size) values, O(n); ``matmul`` of (..., M, K) @ (..., K, N) does 2*M*K*N FLOPs per batch;
views (reshape of a contiguous array, transpose, basic slicing) cost O(1) and copy nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tinytorch.tensor.dispatch import Grads, Op

Dim = int | tuple[int, ...] | None


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the dims that broadcasting added or stretched, back to ``shape``."""
    # HINT: broadcasting used the input many times, so its gradient is the SUM of the copies'
    # HINT: gradients sum over the leading dims grad has and shape lacks, and (keepdims) over every
    # HINT: dim where shape has 1 and grad does not; then reshape to shape. (2, 3) -> (3,): sum axis
    # HINT: 0
    # BEGIN SOLUTION
    lead = grad.ndim - len(shape)
    stretched = tuple(lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1)
    axes = tuple(range(lead)) + stretched
    return (grad.sum(axis=axes, keepdims=True) if axes else grad).reshape(shape)
    # END SOLUTION


def broadcast_shape(op: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast result of ``shapes``, or a ValueError naming the op and every shape.

    NumPy's and PyTorch's rule: align the shapes from the right; in each position the sizes
    must be equal or 1, and the result has the size that is not 1. ``(8, 1, 6)`` and ``(7, 1)``
    give ``(8, 7, 6)``; ``(3,)`` and ``(4,)`` do not broadcast. Cost: O(ndim), no data.
    """
    # HINT: pad every shape on the left with 1s to the longest length, then go position by
    # HINT: position: the sizes other than 1 must all be equal (else it does not broadcast);
    # HINT: the result takes that size, or 1 when every size is 1. Return None if it fails.
    # BEGIN SOLUTION
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    result: tuple[int, ...] | None = ()
    for sizes in zip(*padded, strict=True):
        others = {n for n in sizes if n != 1}
        if len(others) > 1:
            result = None
            break
        result = (*result, others.pop() if others else 1)  # type: ignore[misc]
    # END SOLUTION
    if result is not None:
        return result
    listed = " and ".join(str(tuple(s)) for s in shapes)
    raise ValueError(
        f"{op}: shapes {listed} cannot be broadcast together: aligned from the right, each "
        f"pair of dims must be equal or one of them 1; reshape or unsqueeze an input"
    )


class _Binary(Op):
    """Elementwise op of two broadcastable arrays; keeps their shapes for `unbroadcast`."""

    shapes: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = (a.shape, b.shape)
        try:
            return self.compute(a, b)
        except ValueError:  # checked only on failure: the check costs ~1 us, a quarter of an add
            broadcast_shape(self.name, a.shape, b.shape)  # names both shapes if they are the cause
            raise

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Add(_Binary):
    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return unbroadcast(grad, self.shapes[0]), unbroadcast(grad, self.shapes[1])


class Sub(_Binary):
    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return unbroadcast(grad, self.shapes[0]), unbroadcast(-grad, self.shapes[1])


class Mul(_Binary):
    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        a, b = self.saved
        # HINT: d(a*b)/da = b and d(a*b)/db = a: multiply grad by them, unbroadcast each to its
        # HINT: input's shape, and return None for an input whose needs[i] is False (saves work)
        # BEGIN SOLUTION
        return (
            unbroadcast(grad * b, a.shape) if needs[0] else None,
            unbroadcast(grad * a, b.shape) if needs[1] else None,
        )
        # END SOLUTION


class Div(_Binary):
    """True division (``int / int`` gives float32, as in PyTorch)."""

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a, b)
        return np.true_divide(a, b)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        a, b = self.saved
        # HINT: d(a/b)/da = 1/b and d(a/b)/db = -a/b^2; unbroadcast each; None where not needs[i]
        # BEGIN SOLUTION
        return (
            unbroadcast(grad / b, a.shape) if needs[0] else None,
            unbroadcast(-grad * a / (b * b), b.shape) if needs[1] else None,
        )
        # END SOLUTION


class Pow(_Binary):
    """``a ** b``. At a zero base, as PyTorch: d/da is 0 where b == 0 (not 0 * inf = NaN), and
    d/db is ``a^b log(a)``: 0 where b > 0, -inf where b < 0 (log 0 = -inf)."""

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):  # 0 ** -1 is inf, silently, as in PyTorch
            out = np.power(a, b)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        a, b, out = self.saved
        grad_a = grad_b = None
        # HINT: d(a^b)/da = b * a^(b-1) (0 where b == 0); d(a^b)/db = a^b * log(a)
        # BEGIN SOLUTION
        if needs[0]:
            with np.errstate(divide="ignore", invalid="ignore"):
                local = np.where(b == 0, 0, b * np.power(a, b - 1))
            grad_a = unbroadcast(grad * local, a.shape)
        if needs[1]:
            with np.errstate(divide="ignore", invalid="ignore"):  # log(a < 0) is NaN, as in PyTorch
                local = np.where((a == 0) & (b >= 0), 0, out * np.log(a))
            grad_b = unbroadcast(grad * local, b.shape)
        # END SOLUTION
        return grad_a, grad_b


def _tie_split(a: np.ndarray, b: np.ndarray, grad: np.ndarray, a_wins: np.ndarray) -> Grads:
    """Route ``grad`` to the winner; on a tie each side gets half (as torch.maximum does)."""
    share_a = np.where(a == b, 0.5, a_wins.astype(grad.dtype))
    return unbroadcast(grad * share_a, a.shape), unbroadcast(grad * (1 - share_a), b.shape)


class Maximum(_Binary):
    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a, b)
        return np.maximum(a, b)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        a, b = self.saved
        return _tie_split(a, b, grad, a > b)


class Minimum(_Binary):
    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a, b)
        return np.minimum(a, b)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        a, b = self.saved
        return _tie_split(a, b, grad, a < b)


class FloorDivide(_Binary):
    """``a // b``, rounded towards -inf (Python's and PyTorch's rule); gradient 0 (a step
    function), as in PyTorch."""

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.floor_divide(a, b)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return (
            np.zeros(self.shapes[0], dtype=grad.dtype),
            np.zeros(self.shapes[1], dtype=grad.dtype),
        )


class Remainder(_Binary):
    """``a % b`` with the sign of ``b`` (Python's and PyTorch's rule): ``a - floor(a/b) * b``.
    Gradients: 1 for ``a``, ``-floor(a/b)`` for ``b``."""

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a, b)
        return np.remainder(a, b)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        a, b = self.saved
        return (
            unbroadcast(grad, a.shape),
            unbroadcast(-grad * np.floor_divide(a, b), b.shape) if needs[1] else None,
        )


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
        self.save_for_backward(a, b)
        return np.matmul(a, b)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        a, b = self.saved
        # 1-d operands were promoted to (1, K) and (K, 1); undo that around the 2-d rule.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad
        if b.ndim == 1:  # restore the trailing dim first: for 1-d @ 1-d, grad is 0-d
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        grad_a = grad_b = None  # each costs a matmul as large as the forward: skip unneeded ones
        # HINT: C = A @ B  =>  dA = dC @ B^T and dB = A^T @ dC (then sum over broadcast batch dims)
        # BEGIN SOLUTION
        if needs[0]:
            grad_a = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if needs[1]:
            grad_b = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        # END SOLUTION
        return grad_a, grad_b


class _Unary(Op):
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Neg(_Unary):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.negative(x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return (-grad,)


class Exp(_Unary):
    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.exp(x)
        self.save_for_backward(out)  # the derivative of exp is exp: keep the output, not x
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (out,) = self.saved
        # HINT: d exp(x)/dx = exp(x), which forward saved: it is the output
        # BEGIN SOLUTION
        return (grad * out,)
        # END SOLUTION


class Log(_Unary):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (x,) = self.saved
        # HINT: d log(x)/dx = 1/x (x is the saved input)
        # BEGIN SOLUTION
        return (grad / x,)
        # END SOLUTION


class Sqrt(_Unary):
    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.sqrt(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (out,) = self.saved
        return (grad / (2 * out),)


class Abs(_Unary):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.abs(x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (x,) = self.saved
        return (grad * np.sign(x),)  # 0 at x = 0, as in PyTorch


class Clip(_Unary):
    """Clamp into ``[low, high]``; either bound may be None (PyTorch's ``clamp``)."""

    def __init__(self, low: float | None, high: float | None) -> None:
        if low is None and high is None:
            raise ValueError("clip: give at least one of min and max")
        self.low, self.high = low, high

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.clip(x, self.low, self.high)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (x,) = self.saved
        inside = np.ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return (grad * inside,)


class Astype(_Unary):
    """A copy converted to ``dtype``; the one op whose float64 result is kept as float64."""

    exact_dtype = True

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return (grad.astype(self.input_dtype),)


class Where(Op):
    """``where(condition, a, b)``: a where condition is true, else b (all broadcast)."""

    def forward(self, condition: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        broadcast_shape("where", condition.shape, a.shape, b.shape)
        self.shapes = (a.shape, b.shape)
        chosen = condition.astype(bool)
        self.save_for_backward(chosen)
        return np.where(chosen, a, b)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (chosen,) = self.saved
        return (
            None,
            unbroadcast(np.where(chosen, grad, 0), self.shapes[0]) if needs[1] else None,
            unbroadcast(np.where(chosen, 0, grad), self.shapes[1]) if needs[2] else None,
        )


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
    """A reduction over ``dim``; keeps the input's shape and the reduced axes for backward."""

    input_shape: tuple[int, ...] = ()
    reduced: tuple[int, ...] = ()

    def __init__(self, dim: Dim = None, keepdim: bool = False) -> None:
        self.dim, self.keepdim = dim, keepdim

    def axes(self, x: np.ndarray) -> tuple[int, ...]:
        self.input_shape = x.shape
        self.reduced = normalize_dim(self.dim, x.ndim, self.name)
        return self.reduced

    def count(self) -> int:
        """How many input elements each output element reduces."""
        return int(np.prod([self.input_shape[a] for a in self.reduced]))

    def expand_grad(self, grad: np.ndarray) -> np.ndarray:
        """Broadcast the gradient of the reduced result back to the input's shape (a view)."""
        if not self.keepdim:
            grad = np.expand_dims(grad, self.reduced)
        return np.broadcast_to(grad, self.input_shape)


class Sum(_Reduce):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.sum(x, axis=self.axes(x), keepdims=self.keepdim)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        # HINT: every input element contributed once to its sum: each gets the gradient of its
        # HINT: output element, broadcast back over the reduced dims (self.expand_grad does the
        # HINT: broadcast)
        # BEGIN SOLUTION
        return (self.expand_grad(grad),)
        # END SOLUTION


class Mean(_Reduce):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.mean(x, axis=self.axes(x), keepdims=self.keepdim)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        # HINT: mean = sum / count: like Sum's gradient, divided by how many elements each output
        # HINT: averages
        # BEGIN SOLUTION
        return (self.expand_grad(grad) / self.count(),)
        # END SOLUTION


class _Extreme(_Reduce):
    """Max/min: the gradient goes to the extreme elements; ties share it equally (as
    torch.amax does), so the gradient is the same whichever tied element NumPy picked."""

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        x, out = self.saved
        kept = out if self.keepdim else np.expand_dims(out, self.reduced)
        # HINT: only the elements equal to the max get gradient; when several tie, they share it
        # HINT: equally (PyTorch's amax rule): mask = (x == kept), divided by the mask's count over
        # HINT: the reduced dims
        # BEGIN SOLUTION
        winners = (x == kept).astype(grad.dtype)
        share = winners / winners.sum(axis=self.reduced, keepdims=True)
        return (self.expand_grad(grad) * share,)
        # END SOLUTION


class Max(_Extreme):
    """Largest value over ``dim``: values only (``torch.amax``); ``Tensor.max(dim)`` pairs it
    with ``argmax`` to return ``(values, indices)`` as PyTorch does."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            raise ValueError("max: the tensor is empty, so it has no maximum")
        out = np.max(x, axis=self.axes(x), keepdims=self.keepdim)
        self.save_for_backward(x, out)
        return out


class Min(_Extreme):
    """Smallest value over ``dim`` (``torch.amin``)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            raise ValueError("min: the tensor is empty, so it has no minimum")
        out = np.min(x, axis=self.axes(x), keepdims=self.keepdim)
        self.save_for_backward(x, out)
        return out


class Var(_Reduce):
    """Variance, ``sum((x - mean)^2) / (n - correction)``; PyTorch's default correction=1."""

    def __init__(self, dim: Dim = None, keepdim: bool = False, correction: int = 1) -> None:
        super().__init__(dim, keepdim)
        self.correction = correction

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.var(x, axis=self.axes(x), keepdims=self.keepdim, ddof=self.correction)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (x,) = self.saved
        centered = x - x.mean(axis=self.reduced, keepdims=True)
        # HINT: var = sum((x - mean)^2) / (count - correction); d var / d x_i = 2 (x_i - mean) /
        # HINT: (count - correction) (the mean's own dependence on x_i cancels, since sum(x - mean)
        # HINT: = 0)
        # BEGIN SOLUTION
        return (self.expand_grad(grad) * 2 * centered / (self.count() - self.correction),)
        # END SOLUTION


class Argmax(Op):
    """Index of the largest value (first on ties), flattened when ``dim`` is None; int64."""

    differentiable = False

    def __init__(self, dim: int | None = None, keepdim: bool = False) -> None:
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = normalize_dim(self.dim, x.ndim, self.name)  # checks the range; () when 0-d
        axis = axes[0] if self.dim is not None and axes else None
        return self.find(x, axis=axis, keepdims=self.keepdim).astype(np.int64)

    def find(self, x: np.ndarray, axis: int | None, keepdims: bool) -> np.ndarray:
        return np.argmax(x, axis=axis, keepdims=keepdims)


class Argmin(Argmax):
    """Index of the smallest value (first on ties); int64."""

    def find(self, x: np.ndarray, axis: int | None, keepdims: bool) -> np.ndarray:
        return np.argmin(x, axis=axis, keepdims=keepdims)


class Gather(Op):
    """``torch.gather(x, dim, index)``: ``out[i][j] = x[index[i][j]][j]`` for dim 0, and so on.

    ``index`` (int64) has as many dims as ``x``, none longer than x's apart from ``dim``, and
    the result has its shape. The backward scatters the gradient back with ``np.add.at``, so an
    element gathered twice gets the sum.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def forward(self, x: np.ndarray, index: np.ndarray) -> np.ndarray:
        if index.dtype.kind not in "iu" or index.ndim != x.ndim:
            raise ValueError(
                f"gather: index must be an integer tensor with as many dims as the input "
                f"({x.ndim}), got dtype {index.dtype} and shape {index.shape}"
            )
        axes = normalize_dim(self.dim, x.ndim, "gather")
        self.axis = axes[0] if axes else 0
        if any(
            n > s
            for d, (n, s) in enumerate(zip(index.shape, x.shape, strict=True))
            if d != self.axis
        ):
            raise ValueError(
                f"gather: index of shape {index.shape} is longer than the input of shape "
                f"{x.shape} in a dim other than dim {self.dim}"
            )
        length = x.shape[self.axis] if x.ndim else 1
        if index.size and (index.min() < 0 or index.max() >= length):
            raise IndexError(
                f"gather: index holds values from {index.min()} to {index.max()}, but dim "
                f"{self.dim} has size {length} (valid: 0 to {length - 1})"
            )
        self.input_shape = x.shape
        self.save_for_backward(index)
        return x[_along_axis(index, self.axis)] if x.ndim else x.copy()

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (index,) = self.saved
        if not self.input_shape:
            return grad, None
        out = np.zeros(self.input_shape, dtype=grad.dtype)
        # HINT: out[index[i][j]][j] was read: add grad[i][j] back there (np.add.at sums repeats)
        # BEGIN SOLUTION
        np.add.at(out, _along_axis(index, self.axis), grad)
        # END SOLUTION
        return out, None


def _along_axis(index: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    """The full fancy index that ``np.take_along_axis(x, index, axis)`` reads."""
    grids = list(np.ogrid[tuple(slice(n) for n in index.shape)])
    grids[axis] = index
    return tuple(grids)


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
        self.input_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return (grad.reshape(self.input_shape),)


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
        return np.transpose(x, self.dims)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        # HINT: move the gradient's dims back where they came from: the inverse permutation
        # HINT: (np.argsort of dims, made non-negative first) undoes permute(dims)
        # BEGIN SOLUTION
        return (np.transpose(grad, np.argsort([d % grad.ndim for d in self.dims])),)
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
        self.input_shape = x.shape
        # HINT: a view, not a copy: keep x's memory and give the output dims strides (in bytes):
        # HINT: 0 for each new leading dim and each dim stretched from 1 (every step re-reads the
        # HINT: same elements), x's own stride elsewhere; as_strided(x, target, strides,
        # HINT: writeable=False) builds it (read-only: writes would hit shared elements)
        # BEGIN SOLUTION
        strides = (0,) * new + tuple(
            0 if side == 1 and want != 1 else stride
            for side, want, stride in zip(x.shape, target[new:], x.strides, strict=True)
        )
        return as_strided(x, target, strides, writeable=False)
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return (unbroadcast(grad, self.input_shape),)


class GetItem(Op):
    """``x[index]``: basic slicing gives a view; integer-array or boolean indexing copies.

    The index is NumPy's, with one difference, PyTorch's: an integer next to index arrays
    selects first (see `torch_order`), so ``x[0, :, [0, 1]]`` of a (2, 3, 4) tensor is (3, 2).
    """

    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape, self.input_dtype = x.shape, x.dtype
        self.move = torch_order(self.index, x.ndim)
        out = x[self.index]
        return to_torch_order(out, self.move)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        out = np.zeros(self.input_shape, dtype=grad.dtype)
        grad = to_numpy_order(grad, self.move)
        # HINT: with integer-array indices an element can be picked twice; its gradient is the sum
        # BEGIN SOLUTION
        if is_advanced_index(self.index):
            np.add.at(out, self.index, grad)  # accumulates repeated indices (out[i] += g does not)
        else:
            out[self.index] = grad
        # END SOLUTION
        return (out,)


def is_advanced_index(index: Any) -> bool:
    """True when ``index`` holds an integer or boolean array (NumPy's advanced indexing)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


def _is_int(part: Any) -> bool:
    """A scalar integer index (a Python or NumPy int, or a 0-d integer array), not a bool."""
    if isinstance(part, np.ndarray):
        return part.ndim == 0 and part.dtype.kind in "iu"
    return isinstance(part, (int, np.integer)) and not isinstance(part, bool)


Move = tuple[int, int] | None  # (dims of the index arrays' block, where PyTorch puts it)
_ARRAYS = (list, np.ndarray, bool, np.bool_)


def torch_order(index: Any, ndim: int) -> Move:
    """Where PyTorch's result of ``x[index]`` differs from NumPy's, how to move NumPy's dims.

    Both put the dims of the index arrays (one block, their broadcast shape) in place of those
    arrays when the arrays are adjacent, and first when a slice, ``None`` or ``...`` separates
    them. They differ on *integers*: NumPy counts an integer as one more index array, PyTorch
    selects with it first. So with an integer among index arrays separated by a slice, NumPy
    puts the block first while PyTorch, once the integers are gone, may see the arrays adjacent
    and keep the block in place: ``x[0, :, [0, 1]]`` of a (2, 3, 4) tensor is (2, 3) in NumPy
    and (3, 2) in PyTorch, and ``x[:, [0, 1], :, 0]`` of a 4-d tensor swaps two dims.

    Returns None when the two agree, else ``(block_ndim, position)``: NumPy's result with its
    first ``block_ndim`` dims moved to ``position`` is PyTorch's.
    """
    if not isinstance(index, tuple) or not any(isinstance(p, _ARRAYS) for p in index):
        return None  # one index, or no index arrays (the common case: ~0.3 us)
    parts = [np.asarray(p) if isinstance(p, list) else p for p in index]
    ints = [i for i, p in enumerate(parts) if _is_int(p)]
    arrays = [
        i
        for i, p in enumerate(parts)
        if i not in ints and (isinstance(p, (np.ndarray, bool, np.bool_)))
    ]
    if not ints or not arrays:
        return None
    both = sorted(ints + arrays)
    if both[-1] - both[0] + 1 == len(both):
        return None  # adjacent for NumPy too: the block stays in place in both
    rest = [i for i in range(len(parts)) if i not in ints]
    where = [rest.index(i) for i in arrays]
    if where[-1] - where[0] + 1 != len(where):
        return None  # separated for PyTorch too: the block goes first in both
    arrays_of = [np.asarray(parts[i]) for i in arrays]
    consumed = sum(a.ndim if a.dtype == np.bool_ else 1 for a in arrays_of)
    consumed += sum(1 for p in parts if isinstance(p, slice)) + len(ints)
    covered = ndim - consumed  # dims that ``...`` stands for
    position = 0
    for p in parts[: arrays[0]]:
        if p is None or isinstance(p, slice):
            position += 1
        elif p is Ellipsis:
            position += covered
    block = max(1 if a.dtype == np.bool_ else a.ndim for a in arrays_of)
    return (block, position) if position else None


def to_torch_order(out: np.ndarray, move: Move) -> np.ndarray:
    """NumPy's result of an indexing, its dims as PyTorch orders them (a view)."""
    if move is None:
        return out
    block, position = move
    return np.moveaxis(out, range(block), range(position, position + block))


def to_numpy_order(values: np.ndarray, move: Move) -> np.ndarray:
    """The inverse of `to_torch_order`: PyTorch's dims of ``x[index]`` as NumPy orders them."""
    if move is None:
        return values
    block, position = move
    return np.moveaxis(values, range(position, position + block), range(block))


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
        self.axis, self.sizes = axis, [a.shape[axis] for a in arrays]
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return tuple(np.split(grad, np.cumsum(self.sizes)[:-1], axis=self.axis))


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
        self.count = len(arrays)
        return np.stack(arrays, axis=self.dim)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        axis = self.dim % grad.ndim
        return tuple(np.take(grad, i, axis=axis) for i in range(self.count))


class Contiguous(Op):
    """A C-contiguous copy (or the array itself when it already is, unless ``copy``)."""

    def __init__(self, copy: bool = False) -> None:
        self.copy = copy

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.array(x, order="C", copy=True) if self.copy else np.ascontiguousarray(x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return (grad,)
