"""More Tensor operations, each an `Op` with its ``forward`` and ``backward`` side by side.

The same protocol as `tinytorch.tensor.ops`: ``forward`` on NumPy arrays (saving what the
derivative needs), ``backward(grad, needs)`` the vector-Jacobian product, one gradient (or None)
per input. Grouped as PyTorch documents them:

- elementwise math: `Sin`, `Cos`, `Rsqrt`, `Log2`, `Exp2`, `Sign`, `Erf`;
- selection and masking: `MaskedFill`, `Tril` (``tril``/``triu``);
- indexing with an index tensor: `ScatterAdd`, `IndexSelect`, `OneHot` (and ``ops.Gather``);
- reductions and scans: `Prod`, `CumSum`, `LogSumExp`, `Any`, `All`;
- rearranging: `Flip`, `Roll`, `Repeat`, `Pad`;
- `Einsum`, whose backward is an einsum too.

Costs are for an input of n elements. Elementwise ops read and write n values, O(n), with one
transcendental function per element for sin/cos/erf/exp2/log2. Ops that move data (flip, roll,
repeat, pad, tril) copy their output, as PyTorch's do, so writing into the result never changes
the input. Backward passes that scatter (index_select, scatter_add, gather, reflect/replicate
pad) use ``np.add.at``, which accumulates repeated indices correctly and costs ~10x a plain
indexed write.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence

import numpy as np

from tinytorch.tensor import special
from tinytorch.tensor.dispatch import Grads, Op
from tinytorch.tensor.ops import _along_axis, _Reduce, broadcast_shape, normalize_dim

LN2 = math.log(2.0)


def _axis(dim: int, ndim: int, op: str) -> int:
    """One dim (negative allowed) as an axis in ``0..ndim-1``; a 0-d tensor accepts 0 and -1."""
    axes = normalize_dim(dim, ndim, op)
    return axes[0] if axes else 0


def _check_index(index: np.ndarray, length: int, op: str, what: str) -> None:
    """``index`` holds integers in ``0..length-1`` (PyTorch does not wrap negative indices)."""
    if index.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: {what} must be an integer tensor (int64), got dtype {index.dtype}; "
            f"convert with .long()"
        )
    if index.size and (index.min() < 0 or index.max() >= length):
        raise IndexError(
            f"{op}: {what} holds values from {index.min()} to {index.max()}, but the indexed dim "
            f"has size {length} (valid: 0 to {length - 1}; negative indices are not wrapped)"
        )


# --------------------------------------------------------------------- elementwise math
class Sin(Op):
    """``sin(x)``; d/dx = cos(x). Floats keep their dtype; integers give float32."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.sin(x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (x,) = self.saved
        return (grad * np.cos(x),)


class Cos(Op):
    """``cos(x)``; d/dx = -sin(x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.cos(x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (x,) = self.saved
        return (-grad * np.sin(x),)


class Rsqrt(Op):
    """``1 / sqrt(x)``, one op instead of two (LayerNorm's and RMSNorm's scale); inf at 0 and
    NaN below, silently, as in PyTorch. d/dx = -0.5 x^(-3/2) = -0.5 * out^3."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = 1.0 / np.sqrt(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (out,) = self.saved
        return (grad * (-0.5 * out * out * out),)


class Log2(Op):
    """``log2(x)``: -inf at 0, NaN below (silently, as in PyTorch); d/dx = 1 / (x ln 2)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log2(x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (x,) = self.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return (grad / (x * LN2),)


class Exp2(Op):
    """``2 ** x``; d/dx = 2^x ln 2 (the output is kept, not x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.exp2(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (out,) = self.saved
        return (grad * out * LN2,)


class Sign(Op):
    """-1, 0 or 1 (integers stay integers). A step function: its gradient is 0 everywhere, as in
    PyTorch (so it is recorded, and a gradient of zeros flows back)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shape = x.shape
        return np.sign(x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return (np.zeros(self.input_shape, dtype=grad.dtype),)


class Erf(Op):
    """The error function (`tinytorch.tensor.special.erf`: exact to a few ulps in float64, to
    5e-7 in float32); integers give float32. d/dx = 2/sqrt(pi) exp(-x^2)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind != "f":
            x = x.astype(np.float32)
        self.save_for_backward(x)
        return special.erf(x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (x,) = self.saved
        return (grad * (2.0 / math.sqrt(math.pi)) * np.exp(-x * x),)


# --------------------------------------------------------------------- selection and masking
class MaskedFill(Op):
    """``x.masked_fill(mask, value)``: ``value`` where the bool ``mask`` (broadcast to x's shape)
    is True, x elsewhere; the result has x's shape and dtype (``value`` is cast, as in PyTorch).
    The gradient flows to x where the mask is False; the mask gets none. One pass, O(n)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def forward(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        check_mask(mask, x.shape)
        self.save_for_backward(mask)
        return np.where(mask, np.asarray(self.value).astype(x.dtype), x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (mask,) = self.saved
        return np.where(mask, 0, grad).astype(grad.dtype, copy=False), None


def check_mask(mask: np.ndarray, shape: tuple[int, ...]) -> None:
    """A mask for ``masked_fill``: bool, and broadcasting to ``shape`` (the result's)."""
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(
            f"masked_fill: the mask must be a bool tensor, got dtype {mask.dtype}; "
            f"make one with a comparison (x > 0) or mask != 0, as PyTorch requires"
        )
    if broadcast_shape("masked_fill", mask.shape, shape) != shape:
        raise ValueError(
            f"masked_fill: a mask of shape {mask.shape} does not broadcast to the tensor's "
            f"shape {shape} (the result keeps the tensor's shape)"
        )


class Tril(Op):
    """The lower (``tril``) or upper (``triu``) triangle of the last two dims, the rest zeroed.

    ``diagonal`` shifts the boundary as in PyTorch (``tril(x, -1)`` drops the main diagonal).
    The backward applies the same mask to the gradient. O(n), one copy.
    """

    def __init__(self, diagonal: int = 0, upper: bool = False) -> None:
        self.diagonal, self.upper = diagonal, upper

    @property
    def name(self) -> str:
        return "triu" if self.upper else "tril"

    def triangle(self, a: np.ndarray) -> np.ndarray:
        return np.triu(a, self.diagonal) if self.upper else np.tril(a, self.diagonal)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 2:
            raise ValueError(
                f"{self.name}: the tensor needs at least 2 dims (a matrix, or a batch of "
                f"them), got shape {x.shape}"
            )
        return self.triangle(x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return (self.triangle(grad),)


# --------------------------------------------------------------------- indexing by a tensor
class ScatterAdd(Op):
    """``x.scatter_add(dim, index, src)``: a copy of x with ``src`` added at ``index``.

    For dim 0 of a 2-d tensor: ``out[index[i][j]][j] += src[i][j]`` for every (i, j) of
    ``index``; repeated indices add up. Like PyTorch, ``index`` has as many dims as x, no dim
    longer than src's, and none longer than x's apart from ``dim``; the elements of ``src``
    outside ``index``'s shape are not used. Forward O(n + k) for k indices, with ``np.add.at``.

    Backward: x's gradient passes unchanged; src's is the gradient *gathered* at ``index``
    (the element that went to ``out[index[i][j]][j]`` gets that element's gradient).
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def forward(self, x: np.ndarray, index: np.ndarray, src: np.ndarray) -> np.ndarray:
        self.axis = _axis(self.dim, x.ndim, "scatter_add")
        _check_gather_shapes("scatter_add", x.shape, index.shape, self.axis, src.shape)
        _check_index(index, x.shape[self.axis] if x.ndim else 1, "scatter_add", "index")
        if src.dtype != x.dtype:
            raise TypeError(
                f"scatter_add: src has dtype {src.dtype} but the tensor has {x.dtype} (PyTorch "
                f"requires them equal); convert src with .astype({x.dtype})"
            )
        self.src_shape = src.shape
        self.save_for_backward(index)
        out = x.copy()
        used = src[tuple(slice(0, n) for n in index.shape)]
        np.add.at(out, _along_axis(index, self.axis), used)
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (index,) = self.saved
        grad_src = None
        if needs[2]:
            grad_src = np.zeros(self.src_shape, dtype=grad.dtype)
            # HINT: src[i][j] was added to out[index[i][j]][j]: its gradient is read from there
            # BEGIN SOLUTION
            grad_src[tuple(slice(0, n) for n in index.shape)] = grad[_along_axis(index, self.axis)]
            # END SOLUTION
        return grad, None, grad_src


def _check_gather_shapes(
    op: str,
    shape: tuple[int, ...],
    index: tuple[int, ...],
    axis: int,
    src: tuple[int, ...] | None = None,
) -> None:
    """PyTorch's rule for gather/scatter: index has the tensor's number of dims, and no dim of
    index is longer than the tensor's (except along ``axis``) or than src's."""
    fits = len(index) == len(shape) and all(
        n <= s for d, (n, s) in enumerate(zip(index, shape, strict=True)) if d != axis
    )
    if src is not None:
        fits = fits and len(src) == len(index)
        fits = fits and all(n <= s for n, s in zip(index, src, strict=True))
    if not fits:
        also = f" and src of shape {src}" if src is not None else ""
        raise ValueError(
            f"{op}: index of shape {index} does not fit a tensor of shape {shape}{also} along "
            f"dim {axis}: index needs the tensor's number of dims, each no longer than the "
            f"tensor's (except dim {axis}){' and than src' if src is not None else ''}"
        )


class IndexSelect(Op):
    """``x.index_select(dim, index)``: the slices ``index[0], index[1], ...`` of ``dim``, in
    that order (repeats allowed), for a 1-d (or 0-d) integer index. A copy; O(k * n / len(dim))
    for k indices. Backward: each selected slice's gradient is added back where it came from."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def forward(self, x: np.ndarray, index: np.ndarray) -> np.ndarray:
        self.axis = _axis(self.dim, x.ndim, "index_select")
        if index.ndim > 1:
            raise ValueError(
                f"index_select: index must be 1-d (or 0-d), got shape {index.shape}; "
                f"flatten it, or use gather for an index of the tensor's shape"
            )
        if x.ndim == 0:
            raise ValueError("index_select: a 0-d tensor has no dim to select from")
        _check_index(index, x.shape[self.axis], "index_select", "index")
        self.input_shape = x.shape
        flat = index.reshape(-1)
        self.save_for_backward(flat)
        return np.take(x, flat, axis=self.axis)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (flat,) = self.saved
        out = np.zeros(self.input_shape, dtype=grad.dtype)
        # HINT: add each selected slice's gradient back at its index (np.add.at sums repeats)
        # BEGIN SOLUTION
        np.add.at(out, (slice(None),) * self.axis + (flat,), grad)
        # END SOLUTION
        return out, None


class OneHot(Op):
    """``one_hot(labels, num_classes=-1)``: int64, shape ``labels.shape + (num_classes,)``, 1
    at each label; ``num_classes=-1`` uses ``labels.max() + 1``. Not differentiable. O(n * C)."""

    differentiable = False

    def __init__(self, num_classes: int = -1) -> None:
        self.num_classes = num_classes

    def forward(self, labels: np.ndarray) -> np.ndarray:
        if labels.dtype.kind not in "iu":
            raise TypeError(
                f"one_hot: labels must be an integer tensor (class indices), got dtype "
                f"{labels.dtype}; convert with .long()"
            )
        classes = self.num_classes
        if classes == -1:
            if labels.size == 0:
                raise ValueError(
                    "one_hot: cannot infer the number of classes from an empty tensor; "
                    "pass num_classes"
                )
            classes = int(labels.max()) + 1
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(
                f"one_hot: labels range from {labels.min()} to {labels.max()}, but must be in "
                f"0..{classes - 1} for num_classes={classes}"
            )
        return (labels[..., None] == np.arange(classes)).astype(np.int64)


# --------------------------------------------------------------------- reductions and scans
class Prod(_Reduce):
    """Product over ``dim``. Backward without dividing by zero: d(prod)/dx_i is the product of
    the *other* elements, which is ``prod / x_i`` only when no element is 0; with one zero, only
    that element gets a gradient (the product of the rest); with two or more, every one is 0."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.prod(x, axis=self.axes(x), keepdims=self.keepdim)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (x,) = self.saved
        axes = self.reduced
        zero = x == 0
        # HINT: count the zeros of each reduced slice and take the product of its nonzero elements
        # BEGIN SOLUTION
        zeros = zero.sum(axis=axes, keepdims=True)
        nonzero_product = np.prod(np.where(zero, 1, x), axis=axes, keepdims=True)
        others = np.where(
            zeros == 0,
            nonzero_product / np.where(zero, 1, x),  # no zero: prod / x_i
            np.where((zeros == 1) & zero, nonzero_product, 0),  # one zero: only it gets one
        )
        return (self.expand_grad(grad) * others,)
        # END SOLUTION


class CumSum(Op):
    """Running sum along ``dim``: ``out[i] = x[0] + ... + x[i]``. O(n).

    Backward: x[j] appears in every out[i] with i >= j, so its gradient is the sum of the
    output gradients from j to the end: a cumulative sum taken in reverse.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.axis = _axis(self.dim, x.ndim, "cumsum")
        if x.ndim == 0:
            return np.cumsum(x).reshape(())
        return np.cumsum(x, axis=self.axis)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        if grad.ndim == 0:
            return (grad,)
        axis = self.axis
        # HINT: reverse along the axis, cumsum, reverse back (np.flip)
        # BEGIN SOLUTION
        return (np.flip(np.cumsum(np.flip(grad, axis), axis=axis), axis),)
        # END SOLUTION


class LogSumExp(_Reduce):
    """``log(sum(exp(x)))`` over ``dim``, computed stably as ``m + log(sum(exp(x - m)))`` with
    ``m`` the max: every exp is at most 1, so nothing overflows (a float32 exp overflows above
    88). Rows of -inf give -inf, as in PyTorch. Two passes over x, O(n).

    Backward: d/dx_i = exp(x_i - out), the softmax of the slice.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = self.axes(x)
        # HINT: subtract the max m (keepdims; use 0 where it is not finite), add it back after log
        # BEGIN SOLUTION
        m = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):  # log(0) = -inf: every element was -inf
            out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        # END SOLUTION
        self.save_for_backward(x, out)
        return out if self.keepdim else np.squeeze(out, axis=axes)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        x, out = self.saved
        with np.errstate(invalid="ignore"):  # -inf - (-inf): NaN, as PyTorch gives
            # HINT: d out / d x_i = exp(x_i - out), the softmax of the reduced slice
            # BEGIN SOLUTION
            return (self.expand_grad(grad) * np.exp(x - out),)
            # END SOLUTION


class Any(_Reduce):
    """True where any element over ``dim`` is nonzero; a bool tensor, not differentiable."""

    differentiable = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.any(x, axis=self.axes(x), keepdims=self.keepdim)


class All(_Reduce):
    """True where every element over ``dim`` is nonzero; a bool tensor, not differentiable."""

    differentiable = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.all(x, axis=self.axes(x), keepdims=self.keepdim)


# --------------------------------------------------------------------- rearranging
class Flip(Op):
    """Reverse the order along ``dims``. A copy, as in PyTorch (NumPy's flip would be a view with
    negative strides); O(n). The backward flips the gradient back."""

    def __init__(self, dims: Sequence[int]) -> None:
        self.dims = tuple(dims)

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = normalize_dim(self.dims, x.ndim, "flip")
        if len(axes) != len(self.dims):
            raise ValueError(f"flip: dims {self.dims} name a dim twice")
        self.axes = axes
        return np.flip(x, axes).copy() if x.ndim else x.copy()

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        return (np.flip(grad, self.axes) if grad.ndim else grad,)


class Roll(Op):
    """Shift elements along ``dims`` by ``shifts``, wrapping around (``dims=None``: the flattened
    tensor, restored to its shape). A copy, O(n). The backward rolls the gradient back."""

    def __init__(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None):
        self.shifts, self.dims = shifts, dims

    def forward(self, x: np.ndarray) -> np.ndarray:
        shifts = (self.shifts,) if isinstance(self.shifts, int) else tuple(self.shifts)
        if self.dims is None:
            if len(shifts) != 1:
                raise ValueError(
                    f"roll: {len(shifts)} shifts need as many dims; without dims the flattened "
                    f"tensor is rolled by one shift"
                )
            self.axes: tuple[int, ...] | None = None
        else:
            dims = (self.dims,) if isinstance(self.dims, int) else tuple(self.dims)
            if len(dims) != len(shifts):
                raise ValueError(f"roll: shifts {shifts} and dims {dims} differ in length")
            self.axes = tuple(_axis(d, x.ndim, "roll") for d in dims)
        self.shift_tuple = shifts
        return np.roll(x, shifts if self.axes is not None else shifts[0], axis=self.axes)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        back = tuple(-s for s in self.shift_tuple)
        return (np.roll(grad, back if self.axes is not None else back[0], axis=self.axes),)


class Repeat(Op):
    """``x.repeat(*sizes)``: tile the tensor ``sizes[d]`` times along each dim (``np.tile``);
    ``sizes`` may be longer than x's dims (new leading dims). Copies: the result has
    ``prod(sizes) * n`` elements (``expand`` is the copy-free way to broadcast a size-1 dim).

    Backward: every copy of an element received a gradient; they add up.
    """

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = tuple(sizes)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if len(self.sizes) < x.ndim or any(s < 0 for s in self.sizes):
            raise ValueError(
                f"repeat: sizes {self.sizes} must be non-negative and at least as many as the "
                f"tensor's {x.ndim} dims (shape {x.shape})"
            )
        self.input_shape = x.shape
        return np.tile(x, self.sizes)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        shape = (1,) * (len(self.sizes) - len(self.input_shape)) + self.input_shape
        # HINT: view the gradient as (r0, s0, r1, s1, ...) and sum over every r axis
        # BEGIN SOLUTION
        split = grad.reshape([n for pair in zip(self.sizes, shape, strict=True) for n in pair])
        summed = split.sum(axis=tuple(range(0, split.ndim, 2)))
        # END SOLUTION
        return (summed.reshape(self.input_shape),)


PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class Pad(Op):
    """``torch.nn.functional.pad(x, pad, mode, value)``: ``pad`` lists (before, after) pairs
    from the *last* dim backwards: ``(1, 2)`` pads the last dim by 1 in front and 2 behind,
    ``(1, 1, 2, 2)`` also the second-to-last by 2 on each side. Negative amounts crop.

    Modes: ``constant`` (``value``), ``reflect`` (mirror without repeating the edge:
    ``[2, 1 | 0, 1, 2, 3 | 2]``), ``replicate`` (repeat the edge), ``circular`` (wrap around).
    PyTorch restricts the non-constant modes to a few ranks; TinyTorch pads any dims.

    Cost: one copy of the output. Backward: constant mode slices the gradient (the pad
    positions have no source); the other modes add each output gradient to the element it
    was copied from (``np.add.at`` along each padded dim).
    """

    def __init__(self, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> None:
        self.pad, self.mode, self.value = tuple(pad), mode, value

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.mode not in PAD_MODES:
            raise ValueError(f"pad: mode {self.mode!r} is not one of {sorted(PAD_MODES)}")
        if len(self.pad) % 2 or len(self.pad) > 2 * x.ndim:
            raise ValueError(
                f"pad: {self.pad} must hold (before, after) pairs, at most one pair per dim of "
                f"the tensor of shape {x.shape} (the first pair pads the last dim)"
            )
        if self.mode != "constant" and self.value != 0:
            raise ValueError(f"pad: value is only used with mode='constant', not {self.mode!r}")
        pairs = [
            (x.ndim - 1 - i, self.pad[2 * i], self.pad[2 * i + 1])
            for i in range(len(self.pad) // 2)
        ]
        self.input_shape = x.shape
        crop = [slice(None)] * x.ndim
        widths = [(0, 0)] * x.ndim
        for axis, before, after in pairs:
            crop[axis] = slice(max(-before, 0), x.shape[axis] - max(-after, 0))
            widths[axis] = (max(before, 0), max(after, 0))
            if x.shape[axis] - max(-before, 0) - max(-after, 0) < 0:
                raise ValueError(f"pad: {self.pad} crops dim {axis} of shape {x.shape} below 0")
        self.crop, self.widths = tuple(crop), widths
        if self.mode == "constant":
            value = np.asarray(self.value).astype(x.dtype)
            return np.pad(x[self.crop], widths, mode="constant", constant_values=value)
        # Non-constant modes: which input element each output position copies, dim by dim.
        self.sources = []
        out = x
        for axis, before, after in pairs:
            kept = np.arange(x.shape[axis])[crop[axis]]
            left, right = widths[axis]
            limits = {"reflect": len(kept) - 1, "circular": len(kept)}
            if max(left, right) > limits.get(self.mode, left + right) or len(kept) == 0:
                longer = {"reflect": "longer than", "circular": "at least as long as"}
                raise ValueError(
                    f"pad: {self.mode} padding of ({before}, {after}) needs dim {axis} (size "
                    f"{len(kept)}) {longer.get(self.mode, 'nonempty, at least')} the padding"
                )
            source = np.pad(kept, (left, right), mode=PAD_MODES[self.mode])  # type: ignore[call-overload]
            self.sources.append((axis, source))
            out = np.take(out, source, axis=axis)
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        if self.mode == "constant":
            out = np.zeros(self.input_shape, dtype=grad.dtype)
            inner = tuple(
                slice(before, grad.shape[axis] - after)
                for axis, (before, after) in enumerate(self.widths)
            )
            out[self.crop] = grad[inner]
            return (out,)
        for axis, source in reversed(self.sources):
            shape = list(grad.shape)
            shape[axis] = self.input_shape[axis]
            back = np.zeros(shape, dtype=grad.dtype)
            np.add.at(back, (slice(None),) * axis + (source,), grad)
            grad = back
        return (grad,)


# --------------------------------------------------------------------- einsum
class Einsum(Op):
    """``einsum(equation, *operands)``: sums of products named by subscripts, as in NumPy and
    PyTorch: ``"ij,jk->ik"`` is matmul, ``"bij,bjk->bik"`` batched matmul, ``"ii->i"`` the
    diagonal, ``"i,j->ij"`` the outer product, ``"...ij->...ji"`` a transpose; without ``->`` the
    output is every subscript used once, in alphabetical order. Size-1 dims broadcast.

    Cost: NumPy's contraction path (``optimize=True``: pairwise, BLAS where it can), e.g.
    2*M*K*N FLOPs for a matmul. Backward: the gradient of an operand is another einsum, of the
    output's gradient with the other operands, written to that operand's subscripts; summed
    over dims that only that operand has (broadcast back) and over dims it broadcast.
    """

    def __init__(self, equation: str) -> None:
        self.equation = equation

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        inputs, output = _einsum_subscripts(self.equation, [a.shape for a in arrays])
        self.inputs, self.output = inputs, output
        self.shapes = [a.shape for a in arrays]
        self.save_for_backward(*arrays)
        try:
            return np.einsum(f"{','.join(inputs)}->{output}", *arrays, optimize=True)
        except ValueError as error:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"einsum: {self.equation!r} on shapes {shapes}: {error}") from None

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        arrays = self.saved
        sizes: dict[str, int] = {}
        for subscripts, shape in zip(self.inputs, self.shapes, strict=True):
            for letter, size in zip(subscripts, shape, strict=True):
                sizes[letter] = max(sizes.get(letter, 1), size)
        grads: list[np.ndarray | None] = []
        for i, (subscripts, shape) in enumerate(zip(self.inputs, self.shapes, strict=True)):
            if not needs[i]:
                grads.append(None)
                continue
            others = [
                (s, a) for j, (s, a) in enumerate(zip(self.inputs, arrays, strict=True)) if j != i
            ]
            known = set(self.output).union(*(s for s, _ in others))
            unique = "".join(dict.fromkeys(subscripts))  # each letter once, in order
            reached = "".join(c for c in unique if c in known)
            operands = [self.output, *(s for s, _ in others)]
            g = np.einsum(
                f"{','.join(operands)}->{reached}", grad, *(a for _, a in others), optimize=True
            )
            # letters only this operand has: the output did not depend on them, broadcast back
            g = np.expand_dims(g, [k for k, c in enumerate(unique) if c not in known])
            own = {c: n for c, n in zip(subscripts, shape, strict=True)}
            summed = tuple(k for k, c in enumerate(unique) if own[c] == 1 and g.shape[k] != 1)
            if summed:  # this operand broadcast along these dims: sum them back to size 1
                g = g.sum(axis=summed, keepdims=True)
            g = np.broadcast_to(g, [own[c] for c in unique])
            out = np.zeros(shape, dtype=grad.dtype)
            if unique == subscripts:
                out[...] = g
            else:  # a repeated letter ("ii"): the gradient lives on the diagonal
                np.einsum(f"{subscripts}->{unique}", out)[...] = g
            grads.append(out)
        return tuple(grads)


def _einsum_subscripts(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """``equation`` with its ellipses spelled out as letters, and the output made explicit."""
    equation = equation.replace(" ", "")
    left, arrow, right = equation.partition("->")
    inputs = left.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(
            f"einsum: {equation!r} names {len(inputs)} operands, but {len(shapes)} were given"
        )
    letters = set(equation) - set(".,->")
    if not letters <= set(string.ascii_letters):
        raise ValueError(f"einsum: subscripts must be letters a-z or A-Z, got {equation!r}")
    free = [c for c in string.ascii_letters if c not in letters]
    widths = []
    for subscripts, shape in zip(inputs, shapes, strict=True):
        named = len(subscripts.replace("...", ""))
        width = len(shape) - named if "..." in subscripts else 0
        if width < 0 or ("..." not in subscripts and named != len(shape)):
            raise ValueError(
                f"einsum: operand subscripts {subscripts!r} name {named} dims, but the operand "
                f"has shape {shape}"
            )
        widths.append(width)
    ellipsis = "".join(free[: max(widths, default=0)])
    spelled = [
        s.replace("...", ellipsis[len(ellipsis) - w :]) for s, w in zip(inputs, widths, strict=True)
    ]
    if arrow:
        output = right.replace("...", ellipsis)
    else:  # implicit: the broadcast dims, then every letter used once, alphabetically
        counts = "".join(inputs)
        output = ellipsis + "".join(sorted(c for c in letters if counts.count(c) == 1))
    return spelled, output
