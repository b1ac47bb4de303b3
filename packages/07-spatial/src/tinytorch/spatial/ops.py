"""The spatial Ops: each holds its forward and its backward side by side.

Each heavy operation is an `Op` subclass run through the dispatch point ``tinytorch.tensor.apply``;
its ``backward(grad, needs)`` turns dL/d(output) into the gradients of the inputs. The Modules'
hand-written ``backward`` calls it, and so does autograd: both paths run the same lines, so they
agree by construction. An Op instance is made per call and saves what its backward needs (the
column matrix, the argmax, the normalised input) with ``save_for_backward``, like PyTorch's
``ctx``; it lets them go when the backward has run.

Layout: NCHW (NCL for 1-d), float32 (float64 stays float64, for gradient checks).

**Convolution as one matrix multiply (im2col).** Every output pixel of a convolution is a dot
product between the kernel and the input window under it. Copy every window into a column of a
matrix ``cols`` (N, K, L) with K = kH*kW*C/groups numbers per window and L = Ho*Wo windows per
image; then the whole convolution is ``weight (O, K) @ cols``, which BLAS runs at close to the
machine's peak FLOP rate. The price is memory: each input pixel is copied into up to kH*kW
columns (9x the input for a 3x3 kernel at stride 1), see `tinytorch.spatial.lessons`.

The backward is two more matmuls with the same operands: dL/dW = dL/dY @ cols^T (summed over
the batch) and dL/dcols = W^T @ dL/dY, then *col2im* adds every column entry back to the pixel
it was copied from: one strided add per kernel offset (kH*kW Python iterations, each a whole
array operation).

A 1-d convolution is a 2-d one on images of height 1 (`Conv1dOp`). A *transposed* convolution
(`ConvTranspose2dOp`) swaps the two halves: its forward is a convolution's input gradient
(``W^T @ x`` then col2im), its backward a convolution's forward (im2col of dL/dY, then a matmul).

Pooling takes one strided slice of the (padded) input per kernel offset: kH*kW whole-array
operations, never a loop over pixels. Normalisation (`BatchNormOp`, `GroupNormOp`) computes its
statistics with reductions and differentiates in closed form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tinytorch.tensor import Op
from tinytorch.tensor.dispatch import Grads

Pair = tuple[int, int]
Padding2d = tuple[Pair, Pair]  # ((top, bottom), (left, right))


# --------------------------------------------------------------------- arguments
def to_pair(value: Any, name: str, op: str, minimum: int = 0) -> Pair:
    """``3`` -> ``(3, 3)``; ``(3, 5)`` stays; each entry an int >= ``minimum`` (else an error)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return pair


def to_single(value: Any, name: str, op: str, minimum: int = 0) -> int:
    """``3`` -> ``3``; ``(3,)`` -> ``3`` (a 1-d layer's argument, as PyTorch accepts it)."""
    if (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 1
        and isinstance(value[0], (int, np.integer))
    ):
        value = value[0]
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an int or a 1-tuple of ints, got {value!r}")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(value)


def conv_padding(padding: Any, kernel: Pair, stride: Pair, dilation: Pair, op: str) -> Padding2d:
    """Padding as ``((top, bottom), (left, right))`` from an int, a pair, ``"valid"`` or ``"same"``.

    ``"same"`` (stride 1 only, as in PyTorch) pads ``dilation*(kernel-1)`` in all per dim, the
    odd one at the bottom/right, so that the output has the input's height and width.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(
                f"{op}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}"
            )
        if stride != (1, 1):
            raise ValueError(
                f"{op}: padding='same' needs stride 1 (as in PyTorch), got stride {stride}; give "
                f"the padding as numbers instead"
            )
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        top, left = totals[0] // 2, totals[1] // 2
        return (top, totals[0] - top), (left, totals[1] - left)
    ph, pw = to_pair(padding, "padding", op)
    return (ph, ph), (pw, pw)


def output_size(size: int, pad_total: int, kernel: int, stride: int, dilation: int = 1) -> int:
    """Windows along one dim: ``(size + pad_total - dilation*(kernel-1) - 1) // stride + 1``.

    May be <= 0 when the (dilated) kernel is larger than the padded input; callers check.
    """
    # HINT: the dilated kernel spans dilation*(kernel-1)+1 pixels; count the start positions
    # BEGIN SOLUTION
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1
    # END SOLUTION


def pool_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int = 1, ceil_mode: bool = False
) -> int:
    """Windows along one dim of a pooling layer, PyTorch's rule.

    ``ceil_mode=False``: `output_size` (only windows that fit in the padded input).
    ``ceil_mode=True``: round the division up, so a last, partial window that runs past the
    bottom/right edge is kept; but a window must start inside the input or the left padding,
    so one that would start in the right padding is dropped. ``pool_output_size(5, 2, 2, 0)``
    is 2, with ``ceil_mode=True`` 3 (the last window holds one row).
    """
    # HINT: floor((size + 2p - d(k-1) - 1 [+ stride - 1 when ceil_mode]) / stride) + 1, then in
    # HINT: ceil_mode drop the last window if it starts at or after size + padding
    # BEGIN SOLUTION
    span = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
    # END SOLUTION


def pad2d(x: np.ndarray, padding: Padding2d, value: float = 0.0) -> np.ndarray:
    """``x`` (..., H, W) with ``value`` around the last two dims; ``x`` itself when no padding.

    Cost: one copy of the input (a fresh array filled with ``value``, then the interior set).
    """
    (top, bottom), (left, right) = padding
    if top == bottom == left == right == 0:
        return x
    *lead, h, w = x.shape
    out = np.full((*lead, h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[..., top : top + h, left : left + w] = x
    return out


def _crop(x: np.ndarray, padding: Padding2d) -> np.ndarray:
    """Undo `pad2d`: the interior of ``x`` (a view)."""
    (top, bottom), (left, right) = padding
    return x[..., top : x.shape[-2] - bottom, left : x.shape[-1] - right]


def _window(offset: int, stride: int, count: int) -> slice:
    """The ``count`` positions ``offset, offset + stride, ...``: where one kernel element lands."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def _require_float(op: str, x: np.ndarray) -> None:
    if x.dtype.kind != "f":
        raise TypeError(
            f"{op}: expected a floating-point tensor, got dtype {x.dtype}; convert first with "
            f"x.astype(np.float32)"
        )


# --------------------------------------------------------------------- im2col / col2im
def im2col(
    x: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, groups: int, out_hw: Pair
) -> np.ndarray:
    """The column matrix of an (already padded) input: every kernel window, copied out.

    x: (N, C, Hp, Wp) -> cols (N, groups, kH*kW*C/groups, Ho*Wo), C-contiguous, x's dtype, where
    ``cols[n, g, (i*kW + j)*Cg + c, p*Wo + q] = x[n, g*Cg + c, p*sH + i*dH, q*sW + j*dW]``.

    First a *view* of shape (N, G, kH, kW, Cg, Ho, Wo) is made with `as_strided` (no copy: each
    index just steps through x's memory by a chosen number of bytes), then one copy makes it
    contiguous. Memory: N*kH*kW*C*Ho*Wo elements, about kH*kW times the input at stride 1.
    """
    n, c, _, _ = x.shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    ho, wo = out_hw
    cg = c // groups
    # HINT: x.strides gives the bytes per step along (N, C, H, W); moving one output pixel down
    # HINT: moves sH rows, one kernel row down moves dH rows, the next group moves Cg channels
    # BEGIN SOLUTION
    step_n, step_c, step_h, step_w = x.strides
    windows = as_strided(
        x,
        shape=(n, groups, kh, kw, cg, ho, wo),
        strides=(step_n, step_c * cg, step_h * dh, step_w * dw, step_c, step_h * sh, step_w * sw),
        writeable=False,
    )
    return np.ascontiguousarray(windows).reshape(n, groups, kh * kw * cg, ho * wo)
    # END SOLUTION


def col2im(
    cols: np.ndarray,
    padded_shape: tuple[int, ...],
    kernel: Pair,
    stride: Pair,
    dilation: Pair,
    out_hw: Pair | None = None,
) -> np.ndarray:
    """The adjoint of `im2col`: add every column entry back to the pixel it was copied from.

    cols: (N, G, kH*kW*Cg, Ho*Wo) -> (N, C, Hp, Wp). A pixel that sat in several windows
    receives the sum of their entries; a pixel no window covered stays 0. ``out_hw`` is
    (Ho, Wo), by default every window that fits in (Hp, Wp). One strided ``+=`` of an
    (N, C, Ho, Wo) block per kernel offset: kH*kW Python iterations, no loop over pixels or
    images.
    """
    n, c, hp, wp = padded_shape
    groups = cols.shape[1]
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    cg = c // groups
    if out_hw is None:
        out_hw = (output_size(hp, 0, kh, sh, dh), output_size(wp, 0, kw, sw, dw))
    ho, wo = out_hw
    blocks = cols.reshape(n, groups, kh, kw, cg, ho, wo)
    out = np.zeros((n, groups, cg, hp, wp), dtype=cols.dtype)
    # HINT: kernel element (i, j) of output pixel (p, q) read x[p*sH + i*dH, q*sW + j*dW]
    # BEGIN SOLUTION
    for i in range(kh):
        for j in range(kw):
            out[..., _window(i * dh, sh, ho), _window(j * dw, sw, wo)] += blocks[:, :, i, j]
    # END SOLUTION
    return out.reshape(n, c, hp, wp)


# --------------------------------------------------------------------- Conv2d
class Conv2dOp(Op):
    """2-d convolution (cross-correlation, as in every framework), by im2col and one matmul.

    ``forward(x, weight[, bias])``: x (N, C, H, W), weight (O, C/groups, kH, kW), bias (O,)
    -> (N, O, Ho, Wo) with ``Ho = (H + pad_top + pad_bottom - dH*(kH-1) - 1) // sH + 1``.
    Cost: 2*N*O*Ho*Wo*(C/groups)*kH*kW FLOPs; memory: the column matrix
    N*kH*kW*C*Ho*Wo elements, kept for the backward (dL/dW needs it).

    Groups split the channels into ``groups`` independent convolutions (C/groups inputs and
    O/groups outputs each); they run as one batched matmul over a groups axis.
    """

    function = "conv2d"
    dims = 2  # spatial dims of the input (1 for `Conv1dOp`)
    layout = "(N, C, H, W)"
    weight_layout = "(O, C/groups, kH, kW)"

    def __init__(self, stride: Pair, padding: Padding2d, dilation: Pair, groups: int) -> None:
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.padded_shape: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return self.function

    def _check(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> Pair:
        """Validate the shapes (of either layout); return the output's (Ho, Wo)."""
        name, dims = self.function, self.dims
        if x.ndim != dims + 2 or weight.ndim != dims + 2:
            raise ValueError(
                f"{name}: expected input {self.layout} and weight {self.weight_layout}, got "
                f"shapes {x.shape} and {weight.shape}; for a single example add the batch dim: "
                f"x.unsqueeze(0)"
            )
        _require_float(name, x)
        out_channels, per_group = weight.shape[:2]
        if x.shape[1] != per_group * self.groups or out_channels % self.groups:
            raise ValueError(
                f"{name}: input with {x.shape[1]} channels does not fit weight {weight.shape} "
                f"with groups={self.groups}: need C == weight.shape[1] * groups "
                f"({per_group} * {self.groups}) and O divisible by groups; check in_channels"
            )
        if bias is not None and bias.shape != (out_channels,):
            raise ValueError(f"{name}: bias must have shape ({out_channels},), got {bias.shape}")
        sizes = (1,) * (2 - dims) + x.shape[2:]
        kernel = (1,) * (2 - dims) + weight.shape[2:]
        ho, wo = (
            output_size(size, sum(pad), k, s, d)
            for size, pad, k, s, d in zip(
                sizes, self.padding, kernel, self.stride, self.dilation, strict=True
            )
        )
        if ho < 1 or wo < 1:
            pads = [pad[1] for pad in self.padding[2 - dims :]]
            raise ValueError(
                f"{name}: the input's {x.shape[2:]} pixels with padding {pads} are fewer "
                f"than the kernel {weight.shape[2:]} (dilation {self.dilation[2 - dims :]}) "
                f"spans, so there is no output pixel; pad more or use a smaller kernel"
            )
        return ho, wo

    def as_2d(self, array: np.ndarray) -> np.ndarray:
        """An input, weight or gradient in the 2-d layout (itself here; `Conv1dOp` adds H=1)."""
        return array

    def from_2d(self, array: np.ndarray) -> np.ndarray:
        """The inverse of `as_2d`, for the output and the gradients."""
        return array

    def forward(
        self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None
    ) -> np.ndarray:
        ho, wo = self._check(x, weight, bias)
        n = x.shape[0]
        x2, weight2 = self.as_2d(x), self.as_2d(weight)
        out_channels, _, kh, kw = weight2.shape
        groups = self.groups
        xp = pad2d(x2, self.padding)
        self.padded_shape = xp.shape
        # HINT: the weight's rows must list (i, j, c) in the order the column rows do
        # BEGIN SOLUTION
        cols = im2col(xp, (kh, kw), self.stride, self.dilation, groups, (ho, wo))
        matrix = _weight_matrix(weight2, groups)  # (G, O/G, K)
        out = np.matmul(matrix, cols)  # (N, G, O/G, Ho*Wo): one batched matmul
        out = out.reshape(n, out_channels, ho, wo)
        if bias is not None:
            out += bias.reshape(1, out_channels, 1, 1)
        # END SOLUTION
        self.save_for_backward(cols, weight)
        return self.from_2d(out)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dY (N, O, Ho, Wo) -> (dL/dx, dL/dW[, dL/db]); None where ``needs`` is False.

        Reuses the forward's column matrix. Cost: two matmuls of the forward's size
        (4*N*O*Ho*Wo*K FLOPs) plus col2im (kH*kW strided adds of an input-sized array).
        """
        cols, weight = self.saved
        grad, weight = self.as_2d(grad), self.as_2d(weight)
        n, out_channels, ho, wo = grad.shape
        groups = self.groups
        kernel = weight.shape[2:]
        flat = grad.reshape(n, groups, out_channels // groups, ho * wo)
        grad_input = grad_weight = grad_bias = None
        # HINT: Y = W @ cols per image, so dW = sum over images of dY @ cols^T, dcols = W^T @ dY
        # BEGIN SOLUTION
        if len(needs) > 2 and needs[2]:
            grad_bias = channel_sum(grad)
        if needs[1]:
            grad_weight = _weight_from_matrix(_weight_grad(flat, cols), weight.shape)
        if needs[0]:
            grad_cols = np.matmul(_weight_matrix(weight, groups).swapaxes(-1, -2), flat)
            grad_padded = col2im(grad_cols, self.padded_shape, kernel, self.stride, self.dilation)
            grad_input = _crop(grad_padded, self.padding)
        # END SOLUTION
        grad_input = None if grad_input is None else self.from_2d(grad_input)
        grad_weight = None if grad_weight is None else self.from_2d(grad_weight)
        return (grad_input, grad_weight, grad_bias)[: len(needs)]


class Conv1dOp(Conv2dOp):
    """1-d convolution: x (N, C, L), weight (O, C/groups, K), bias (O,) -> (N, O, Lo).

    A `Conv2dOp` on images of height 1: the input is viewed as (N, C, 1, L) and the weight as
    (O, C/groups, 1, K) (views, no copies), so im2col, the matmul and col2im are the 2-d ones;
    stride, padding and dilation act along L only (``stride=(1, s)``, no padding of H).
    ``Lo = (L + 2*padding - dilation*(K-1) - 1) // stride + 1``. Cost: 2*N*O*Lo*(C/groups)*K
    FLOPs; memory: the column matrix, K times the input at stride 1.
    """

    function = "conv1d"
    dims = 1
    layout = "(N, C, L)"
    weight_layout = "(O, C/groups, K)"

    def as_2d(self, array: np.ndarray) -> np.ndarray:
        return array[:, :, None, :]

    def from_2d(self, array: np.ndarray) -> np.ndarray:
        return array[:, :, 0, :]


def _weight_matrix(weight: np.ndarray, groups: int) -> np.ndarray:
    """weight (O, Cg, kH, kW) -> (G, O/G, kH*kW*Cg), rows ordered (i, j, c) like `im2col`'s."""
    out_channels, cg, kh, kw = weight.shape
    per_group = weight.reshape(groups, out_channels // groups, cg, kh, kw)
    return per_group.transpose(0, 1, 3, 4, 2).reshape(groups, out_channels // groups, -1)


def _weight_from_matrix(matrix: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of `_weight_matrix`: (G, O/G, kH*kW*Cg) -> ``shape`` (O, Cg, kH, kW)."""
    groups, per_group = matrix.shape[:2]
    _, cg, kh, kw = shape
    return matrix.reshape(groups, per_group, kh, kw, cg).transpose(0, 1, 4, 2, 3).reshape(shape)


def _weight_grad(grad: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """sum over n and l of grad[n, g, o, l] * cols[n, g, k, l] -> (G, O/G, K).

    Two equal ways; pick the one with the smaller temporary. Per image (a batched matmul, then
    a sum over the batch) makes an (N, G, O/G, K) temporary; folding the batch into the
    contraction (one matmul per group) copies the columns into (G, K, N*L) order instead. The
    first wins when each image has at least as many pixels L as output channels (early layers).
    """
    n, groups, out_per_group, pixels = grad.shape
    if pixels >= out_per_group:
        return np.matmul(grad, cols.swapaxes(-1, -2)).sum(axis=0)
    flat_grad = grad.transpose(1, 2, 0, 3).reshape(groups, out_per_group, n * pixels)
    flat_cols = cols.transpose(1, 2, 0, 3).reshape(groups, cols.shape[2], n * pixels)
    return np.matmul(flat_grad, flat_cols.swapaxes(-1, -2))


# --------------------------------------------------------------------- ConvTranspose2d
def transposed_output_size(
    size: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int:
    """Output length along one dim of a transposed convolution over ``size`` input pixels:
    ``(size - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1``.

    The inverse of `output_size`: a Conv2d with the same kernel, stride, padding and dilation
    maps this many pixels back to ``size``. Several input sizes map to the same conv output
    when stride > 1; ``output_padding`` (< stride) picks one. May be <= 0; callers check.
    """
    # HINT: the windows of `size` output pixels of the forward conv span (size-1)*stride +
    # HINT: dilation*(kernel-1) + 1 padded pixels; take the padding off, add output_padding
    # BEGIN SOLUTION
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    # END SOLUTION


class ConvTranspose2dOp(Op):
    """2-d transposed convolution (a "deconvolution"): the input-gradient of a Conv2d, run
    forward.

    ``forward(x, weight[, bias])``: x (N, C_in, H, W), weight (C_in, C_out/groups, kH, kW) (as
    PyTorch: the weight of the Conv2d it transposes, which maps C_out channels to C_in), bias
    (C_out,) -> (N, C_out, Ho, Wo) with ``Ho = (H-1)*sH - 2*pH + dH*(kH-1) + output_padding + 1``
    (`conv_transpose_output_size`). Each input pixel scatters ``x * kernel`` into an output
    window: ``cols = W^T @ x`` (one batched matmul), then `col2im` adds the columns into place.

    Backward: dL/dx is that Conv2d's forward on dL/dY (im2col, then a matmul), and dL/dW one
    more matmul with the same columns: ``x @ cols^T``. Saves x and the weight (no column
    matrix). Cost: 2*N*C_in*H*W*(C_out/groups)*kH*kW FLOPs forward, twice that backward.
    """

    def __init__(
        self, stride: Pair, padding: Pair, output_padding: Pair, groups: int, dilation: Pair
    ) -> None:
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        self.groups, self.dilation = groups, dilation
        for op_, s, d in zip(output_padding, stride, dilation, strict=True):
            if op_ >= s and op_ >= d:
                raise ValueError(
                    f"conv_transpose2d: output_padding {output_padding} must be smaller than "
                    f"either stride {stride} or dilation {dilation} (as in PyTorch); it only "
                    f"picks among the output sizes a stride-{s} conv maps to the same size"
                )

    @property
    def name(self) -> str:
        return "conv_transpose2d"

    def _check(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> Pair:
        """Validate the shapes; return the output's (Ho, Wo)."""
        if x.ndim != 4 or weight.ndim != 4:
            raise ValueError(
                f"conv_transpose2d: expected input (N, C_in, H, W) and weight "
                f"(C_in, C_out/groups, kH, kW), got shapes {x.shape} and {weight.shape}; for a "
                f"single image add the batch dim: x.unsqueeze(0)"
            )
        _require_float("conv_transpose2d", x)
        if x.shape[1] != weight.shape[0] or x.shape[1] % self.groups:
            raise ValueError(
                f"conv_transpose2d: input with {x.shape[1]} channels does not fit weight "
                f"{weight.shape} with groups={self.groups}: need C_in == weight.shape[0] and "
                f"divisible by groups (the weight is (C_in, C_out/groups, kH, kW), the "
                f"transpose of a Conv2d's); check in_channels"
            )
        out_channels = weight.shape[1] * self.groups
        if bias is not None and bias.shape != (out_channels,):
            raise ValueError(
                f"conv_transpose2d: bias must have shape ({out_channels},), got {bias.shape}"
            )
        ho, wo = (
            transposed_output_size(size, k, s, p, o, d)
            for size, k, s, p, o, d in zip(
                x.shape[2:],
                weight.shape[2:],
                self.stride,
                self.padding,
                self.output_padding,
                self.dilation,
                strict=True,
            )
        )
        if ho < 1 or wo < 1:
            raise ValueError(
                f"conv_transpose2d: input {x.shape[2:]} with kernel {weight.shape[2:]}, stride "
                f"{self.stride}, padding {self.padding} gives output size ({ho}, {wo}): the "
                f"padding removes more than the output has; use less padding"
            )
        return ho, wo

    def forward(
        self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None
    ) -> np.ndarray:
        ho, wo = self._check(x, weight, bias)
        n, in_channels, h, w = x.shape
        groups = self.groups
        out_channels = weight.shape[1] * groups
        (ph, pw), kernel = self.padding, weight.shape[2:]
        padded_shape = (n, out_channels, ho + 2 * ph, wo + 2 * pw)
        flat = x.reshape(n, groups, in_channels // groups, h * w)
        # HINT: this is Conv2dOp.backward's dL/dcols and col2im, with x in the place of dL/dY
        # BEGIN SOLUTION
        cols = np.matmul(_weight_matrix(weight, groups).swapaxes(-1, -2), flat)  # (N, G, K, HW)
        padded = col2im(cols, padded_shape, kernel, self.stride, self.dilation, (h, w))
        out = np.ascontiguousarray(padded[..., ph : ph + ho, pw : pw + wo])
        if bias is not None:
            out += bias.reshape(1, out_channels, 1, 1)
        # END SOLUTION
        self.save_for_backward(x, weight)
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dY (N, C_out, Ho, Wo) -> (dL/dx, dL/dW[, dL/db]); None where ``needs`` is False.

        dL/dx = conv2d(dL/dY, W) with the same stride, padding, dilation and groups; dL/dW sums
        ``x @ cols^T`` over the batch, where cols = im2col(dL/dY) (made once, for both).
        """
        x, weight = self.saved
        n, in_channels, h, w = x.shape
        groups = self.groups
        (ph, pw), kernel = self.padding, weight.shape[2:]
        grad_input = grad_weight = grad_bias = None
        if len(needs) > 2 and needs[2]:
            grad_bias = channel_sum(grad)
        if not (needs[0] or needs[1]):
            return (grad_input, grad_weight, grad_bias)[: len(needs)]
        padded = pad2d(grad, ((ph, ph), (pw, pw)))
        # HINT: im2col of the padded dL/dY has one column per input pixel (H*W of them)
        # BEGIN SOLUTION
        cols = im2col(padded, kernel, self.stride, self.dilation, groups, (h, w))
        if needs[0]:
            grad_input = np.matmul(_weight_matrix(weight, groups), cols).reshape(x.shape)
        if needs[1]:
            flat = x.reshape(n, groups, in_channels // groups, h * w)
            grad_weight = _weight_from_matrix(_weight_grad(flat, cols), weight.shape)
        # END SOLUTION
        return (grad_input, grad_weight, grad_bias)[: len(needs)]


# --------------------------------------------------------------------- pooling
def pool_arguments(
    kernel_size: Any, stride: Any, padding: Any, op: str, dilation: Any = 1
) -> tuple[Pair, Pair, Pair, Pair]:
    """Kernel, stride (the kernel when None, as in PyTorch), padding and dilation of a pooling
    layer, each an (h, w) pair.

    Padding may be at most half the kernel (PyTorch's rule), so no window is padding only.
    """
    kernel = to_pair(kernel_size, "kernel_size", op, minimum=1)
    step = kernel if stride is None else to_pair(stride, "stride", op, minimum=1)
    pad = to_pair(padding, "padding", op)
    spread = to_pair(dilation, "dilation", op, minimum=1)
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        raise ValueError(
            f"{op}: padding {pad} must be at most half of kernel_size {kernel} (a window must "
            f"hold at least one real pixel); use a larger kernel or less padding"
        )
    return kernel, step, pad, spread


class _PoolOp(Op):
    """Shared set-up of the pooling Ops: x (..., H, W) float -> (..., Ho, Wo).

    The input is padded with ``fill`` by ``padding`` on the top and left and by as much as the
    windows need on the bottom and right (more than ``padding`` when ``ceil_mode`` keeps a last
    window that runs past the edge); each kernel offset (i, j) is then one strided slice.
    """

    function = "pool2d"

    def __init__(
        self, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, ceil_mode: bool
    ) -> None:
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode
        self.padded_shape: tuple[int, ...] = ()
        self.input_hw: Pair = (0, 0)

    @property
    def name(self) -> str:
        return self.function

    def output_hw(self, h: int, w: int) -> Pair:
        """(Ho, Wo) for an H x W input (`pool_output_size` along each dim)."""
        ho, wo = (
            pool_output_size(size, k, s, p, d, self.ceil_mode)
            for size, k, s, p, d in zip(
                (h, w), self.kernel, self.stride, self.padding, self.dilation, strict=True
            )
        )
        return ho, wo

    def _prepare(self, x: np.ndarray, fill: float) -> tuple[np.ndarray, int, int]:
        """The padded input and the output's (Ho, Wo), after checking the input."""
        if x.ndim < 2:
            raise ValueError(
                f"{self.function}: expected an input (..., H, W) such as (N, C, H, W), got "
                f"shape {x.shape}"
            )
        _require_float(self.function, x)
        h, w = x.shape[-2:]
        ho, wo = self.output_hw(h, w)
        if ho < 1 or wo < 1:
            raise ValueError(
                f"{self.function}: input {h}x{w} with padding {self.padding} is smaller than "
                f"the kernel {self.kernel} (dilation {self.dilation}); no output pixel"
            )
        (ph, pw), (sh, sw), (dh, dw) = self.padding, self.stride, self.dilation
        reach_h = (ho - 1) * sh + dh * (self.kernel[0] - 1) + 1  # padded rows the windows read
        reach_w = (wo - 1) * sw + dw * (self.kernel[1] - 1) + 1
        bottom, right = max(ph, reach_h - h - ph), max(pw, reach_w - w - pw)
        xp = pad2d(x, ((ph, bottom), (pw, right)), fill)
        self.padded_shape, self.input_hw = xp.shape, (h, w)
        return xp, ho, wo

    def _crop_input(self, grad_padded: np.ndarray) -> np.ndarray:
        """The input's H x W pixels of a gradient over the padded input (a view)."""
        (ph, pw), (h, w) = self.padding, self.input_hw
        return grad_padded[..., ph : ph + h, pw : pw + w]

    def offsets(self) -> list[tuple[int, int]]:
        """Kernel offsets (i, j) in row-major order: the order ties are broken in."""
        return [(i, j) for i in range(self.kernel[0]) for j in range(self.kernel[1])]

    def slices(self, ho: int, wo: int) -> list[tuple[slice, slice]]:
        """For each kernel offset, the padded pixels it reads in every window (strided)."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        return [(_window(i * dh, sh, ho), _window(j * dw, sw, wo)) for i, j in self.offsets()]


class MaxPool2dOp(_PoolOp):
    """Largest value of each kH x kW window (dilated by ``dilation``; padding counts as -inf).

    Saves, per output pixel, which kernel offset held the maximum as the smallest unsigned
    integer type that fits: 1 byte for kernels up to 16x16, a quarter of the output's bytes.
    Ties go to the first offset in row-major order and a NaN wins (its output is NaN), as in
    PyTorch's CPU kernel. With ``return_indices`` the forward also leaves ``indices`` (int64,
    the output's shape): each maximum's flat index ``h*W + w`` into its input plane, as
    PyTorch's ``max_pool2d(..., return_indices=True)``. Cost: kH*kW comparisons per output.
    """

    function = "max_pool2d"

    def __init__(
        self,
        kernel: Pair,
        stride: Pair,
        padding: Pair,
        dilation: Pair = (1, 1),
        ceil_mode: bool = False,
        return_indices: bool = False,
    ) -> None:
        super().__init__(kernel, stride, padding, dilation, ceil_mode)
        self.return_indices = return_indices
        self.indices: np.ndarray | None = None

    def _first_real(self, ho: int, wo: int) -> np.ndarray | int:
        """Per output pixel, the first kernel offset on a real pixel (0 when there is no
        padding): where PyTorch points a window's index while every value is -inf."""
        if self.padding == (0, 0):
            return 0
        firsts = []
        for count, s, p, d in zip((ho, wo), self.stride, self.padding, self.dilation, strict=True):
            start = np.arange(count) * s - p  # each window's first row (column), maybe < 0
            firsts.append(np.maximum(0, -(start // d)))  # ceil(-start / d) steps reach row 0
        return firsts[0][:, None] * self.kernel[1] + firsts[1][None, :]

    def forward(self, x: np.ndarray) -> np.ndarray:
        xp, ho, wo = self._prepare(x, -np.inf)
        slices = self.slices(ho, wo)
        argmax = np.zeros((*x.shape[:-2], ho, wo), dtype=np.min_scalar_type(len(slices) - 1))
        argmax[...] = self._first_real(ho, wo)
        # HINT: start from offset 0's values; for each later offset k, where its value is
        # HINT: strictly larger, remember k, and keep the larger values
        # BEGIN SOLUTION
        best = xp[(..., *slices[0])].copy()
        for k, window in enumerate(slices[1:], start=1):
            values = xp[(..., *window)]
            # offsets come in increasing k, so the winner is the largest k that beat the max
            # so far: a maximum of (beat * k), 4x faster than a masked write
            beat = (values > best) * argmax.dtype.type(k)
            np.maximum(argmax, beat, out=argmax)
            np.maximum(best, values, out=best)  # in place; NaN propagates
        # END SOLUTION
        nan = np.isnan(best)
        if nan.any():  # rare: PyTorch's index of a window with NaNs is its last NaN's
            for k, window in enumerate(slices):
                where = nan & np.isnan(xp[(..., *window)])
                np.copyto(argmax, argmax.dtype.type(k), where=where)
        if self.return_indices:
            self.indices = self.flat_indices(argmax)
        self.save_for_backward(argmax)
        return best

    def flat_indices(self, argmax: np.ndarray) -> np.ndarray:
        """Kernel offsets (..., Ho, Wo) -> int64 flat indices ``h*W + w`` into the input plane."""
        ho, wo = argmax.shape[-2:]
        (sh, sw), (ph, pw), (dh, dw) = self.stride, self.padding, self.dilation
        width = self.input_hw[1]
        # HINT: offset k is kernel row k // kW and column k % kW; output pixel (p, q)'s window
        # HINT: starts at input row p*sH - pH and column q*sW - pW
        # BEGIN SOLUTION
        i, j = np.divmod(argmax.astype(np.int64), self.kernel[1])
        rows = (np.arange(ho) * sh - ph)[:, None] + i * dh
        cols = (np.arange(wo) * sw - pw)[None, :] + j * dw
        return rows * width + cols
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dY (..., Ho, Wo) -> dL/dx (..., H, W): each gradient goes to its window's argmax.

        One masked strided add per kernel offset (overlapping windows, stride < kernel, can
        send several gradients to one pixel: they add up). The mask multiplies (twice as fast
        as ``np.where``), so a non-finite gradient would also reach the window's other pixels.
        """
        (argmax,) = self.saved
        ho, wo = grad.shape[-2:]
        grad_padded = np.zeros(self.padded_shape, dtype=grad.dtype)
        # HINT: only the window position that won gets the gradient: for each window offset k, add
        # HINT: grad where the saved argmax == k into the padded gradient at that offset's slice
        # BEGIN SOLUTION
        for k, window in enumerate(self.slices(ho, wo)):
            grad_padded[(..., *window)] += grad * (argmax == k)
        # END SOLUTION
        return (self._crop_input(grad_padded),)


class AvgPool2dOp(_PoolOp):
    """Mean of each kH x kW window, PyTorch's rules for what a window counts.

    The sum runs over the window's real pixels (zero padding adds nothing). The divisor is
    ``divisor_override`` when given; else, with ``count_include_pad=True`` (the default), the
    window's size clipped to the padded input (kH*kW except for a ``ceil_mode`` window that
    runs past the padding); with ``count_include_pad=False`` its real pixels only. Divisors
    are a (Ho, Wo) outer product of per-row and per-column counts, or one number when all
    windows are whole. Cost: kH*kW adds per output element; saves nothing but shapes.
    """

    function = "avg_pool2d"

    def __init__(
        self,
        kernel: Pair,
        stride: Pair,
        padding: Pair,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__(kernel, stride, padding, (1, 1), ceil_mode)
        if divisor_override is not None and (
            not isinstance(divisor_override, (int, np.integer)) or divisor_override == 0
        ):
            raise ValueError(
                f"avg_pool2d: divisor_override must be a nonzero int or None, got "
                f"{divisor_override!r}"
            )
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        self.divisor: np.ndarray | float = 1.0

    def divisors(self, ho: int, wo: int, dtype: Any) -> np.ndarray | float:
        """What each window's sum is divided by: (Ho, Wo), or a number when all are equal."""
        if self.divisor_override is not None:
            return float(self.divisor_override)
        counts = []
        # HINT: window p covers rows p*s - pad .. p*s - pad + k - 1, clipped to end at size + pad;
        # HINT: without count_include_pad, clip it to the real rows 0 .. size - 1 as well
        # BEGIN SOLUTION
        for count, size, k, s, p in zip(
            (ho, wo), self.input_hw, self.kernel, self.stride, self.padding, strict=True
        ):
            start = np.arange(count) * s - p
            end = np.minimum(start + k, size + p)
            if not self.count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, size)
            counts.append(np.maximum(end - start, 0))
        # END SOLUTION
        divisor = np.outer(counts[0], counts[1]).astype(dtype)
        if np.all(divisor == self.kernel[0] * self.kernel[1]):
            return float(self.kernel[0] * self.kernel[1])
        return np.maximum(divisor, 1)  # a window without real pixels sums to 0: any divisor

    def forward(self, x: np.ndarray) -> np.ndarray:
        xp, ho, wo = self._prepare(x, 0.0)
        self.divisor = self.divisors(ho, wo, x.dtype)
        # HINT: add the kh*kw shifted slices of the padded input (one per window offset:
        # HINT: self.slices), then divide by self.divisor
        # BEGIN SOLUTION
        total = np.zeros((*x.shape[:-2], ho, wo), dtype=x.dtype)
        for window in self.slices(ho, wo):
            total += xp[(..., *window)]
        return total / self.divisor
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dY (..., Ho, Wo) -> dL/dx (..., H, W): each gradient, divided by its window's
        divisor, added to every pixel of the window."""
        ho, wo = grad.shape[-2:]
        grad_padded = np.zeros(self.padded_shape, dtype=grad.dtype)
        # HINT: each input pixel of a window gets grad / divisor: add that share at every window
        # HINT: offset
        # BEGIN SOLUTION
        share = grad / self.divisor
        for window in self.slices(ho, wo):
            grad_padded[(..., *window)] += share
        # END SOLUTION
        return (self._crop_input(grad_padded),)


# --------------------------------------------------------------------- BatchNorm
class BatchNormOp(Op):
    """Batch normalisation over every dim but the channel dim (dim 1).

    ``forward(x[, weight[, bias]])``: x (N, C, *) float, weight and bias (C,) -> (N, C, *):
    ``y = (x - mean) / sqrt(var + eps) * weight + bias``. In training, mean and var are the
    batch's (biased variance, over N and the spatial dims), kept as ``batch_mean`` and
    ``batch_var`` for the running statistics; in eval, the given running statistics.
    Saves the normalised input x_hat (one activation-sized array) and 1/sqrt(var + eps) for the
    closed-form backward. Cost: about 10 passes over the input, forward and backward together.
    """

    def __init__(
        self,
        training: bool,
        eps: float,
        running_mean: np.ndarray | None = None,
        running_var: np.ndarray | None = None,
    ) -> None:
        if not training and (running_mean is None or running_var is None):
            raise ValueError("batch_norm: eval mode needs running_mean and running_var")
        self.training, self.eps = training, eps
        self._running = (running_mean, running_var)
        self.batch_mean: np.ndarray | None = None
        self.batch_var: np.ndarray | None = None

    @property
    def name(self) -> str:
        return "batch_norm"

    def __repr__(self) -> str:
        return f"BatchNormOp(training={self.training}, eps={self.eps})"

    def forward(
        self, x: np.ndarray, weight: np.ndarray | None = None, bias: np.ndarray | None = None
    ) -> np.ndarray:
        if x.ndim < 2:
            raise ValueError(f"batch_norm: expected an input (N, C, *), got shape {x.shape}")
        _require_float("batch_norm", x)
        channels = x.shape[1]
        for name, value in (("weight", weight), ("bias", bias)):
            if value is not None and value.shape != (channels,):
                raise ValueError(
                    f"batch_norm: {name} must have shape ({channels},) for an input with "
                    f"{channels} channels, got {value.shape}"
                )
        shape = channel_shape(x)
        count = x.size // channels  # values per channel
        # HINT: training: mean and biased variance per channel; eval: the running statistics
        # BEGIN SOLUTION
        if self.training:
            mean = channel_sum(x) / count
            centered = x - mean.reshape(shape)
            var = channel_dot(centered, centered) / count
            self.batch_mean, self.batch_var = mean, var
        else:
            running_mean, running_var = self._running
            mean = np.asarray(running_mean, dtype=x.dtype)
            var = np.asarray(running_var, dtype=x.dtype)
            centered = x - mean.reshape(shape)
        invstd = (1.0 / np.sqrt(var + self.eps)).reshape(shape)
        xhat = np.multiply(centered, invstd, out=centered)  # reuses the temporary
        self.save_for_backward(xhat, invstd, weight)
        out = xhat * weight.reshape(shape) if weight is not None else xhat.copy()
        if bias is not None:
            out += bias.reshape(shape)
        # END SOLUTION
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dY (N, C, *) -> (dL/dx[, dL/dweight, dL/dbias]) in closed form.

        With m values per channel, x_hat = (x - mean) * invstd and g = dL/dY:
        dbias = sum(g), dweight = sum(g * x_hat), and in training (mean and var depend on x)
        ``dx = weight * invstd * (g - dbias/m - x_hat * dweight/m)``; in eval (constants)
        ``dx = weight * invstd * g``. Sums run over every dim but the channel dim.
        """
        xhat, invstd, weight = self.saved
        shape = channel_shape(grad)
        count = grad.size // grad.shape[1]
        grad_input = None
        # HINT: dbias = sum of grad per channel, dweight = sum of grad * xhat per channel; dx = grad
        # HINT: * weight * invstd, and in training mode subtract the mean terms of the batch
        # HINT: statistics: xhat * mean(grad * xhat) and mean(grad), both scaled by weight * invstd
        # BEGIN SOLUTION
        grad_bias = channel_sum(grad)
        grad_weight = channel_dot(grad, xhat)
        if needs[0]:
            scale = invstd if weight is None else invstd * weight.reshape(shape)
            grad_input = grad * scale
            if self.training:  # the batch statistics depend on x too: two more terms
                grad_input -= xhat * (scale * (grad_weight / count).reshape(shape))
                grad_input -= scale * (grad_bias / count).reshape(shape)
        # END SOLUTION
        return _affine_grads(needs, grad_input, grad_weight, grad_bias)


# --------------------------------------------------------------------- GroupNorm
class GroupNormOp(Op):
    """Group normalisation: each example's channels in ``num_groups`` groups, every group
    normalised over its channels and spatial dims; then a per-channel scale and shift.

    ``forward(x[, weight[, bias]])``: x (N, C, *) float, weight and bias (C,) -> (N, C, *):
    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with mean and (biased) var over each
    example's group of C/G channels x spatial dims: N*G statistics of (C/G)*prod(*) values
    each, so unlike BatchNorm the result of one example never depends on the others (a batch
    of 1 works) and training and eval compute the same thing. ``num_groups=1`` is LayerNorm
    over (C, *); ``num_groups=C`` is InstanceNorm. Saves x_hat (activation-sized) and
    1/sqrt(var + eps) (N, G, 1). Cost: about 10 passes over the input, forward and backward.
    """

    def __init__(self, num_groups: int, eps: float) -> None:
        self.num_groups, self.eps = num_groups, eps

    @property
    def name(self) -> str:
        return "group_norm"

    def forward(
        self, x: np.ndarray, weight: np.ndarray | None = None, bias: np.ndarray | None = None
    ) -> np.ndarray:
        if x.ndim < 2:
            raise ValueError(f"group_norm: expected an input (N, C, *), got shape {x.shape}")
        _require_float("group_norm", x)
        n, channels = x.shape[:2]
        if channels % self.num_groups:
            raise ValueError(
                f"group_norm: the input's {channels} channels cannot be split into "
                f"num_groups={self.num_groups} equal groups; num_channels must be divisible "
                f"by num_groups"
            )
        for name, value in (("weight", weight), ("bias", bias)):
            if value is not None and value.shape != (channels,):
                raise ValueError(
                    f"group_norm: {name} must have shape ({channels},) for an input with "
                    f"{channels} channels, got {value.shape}"
                )
        shape = channel_shape(x)
        groups = x.reshape(n, self.num_groups, -1)  # (N, G, M): one row per statistic
        count = groups.shape[-1]
        # HINT: mean and biased variance of each row of `groups`, then normalise the rows
        # BEGIN SOLUTION
        mean = groups.sum(axis=-1, keepdims=True) / count
        centered = groups - mean
        var = np.einsum("ngm,ngm->ng", centered, centered)[..., None] / count
        invstd = 1.0 / np.sqrt(var + self.eps)
        xhat = np.multiply(centered, invstd, out=centered)
        self.save_for_backward(xhat, invstd, weight)
        out = xhat.reshape(x.shape)
        out = out * weight.reshape(shape) if weight is not None else out.copy()
        if bias is not None:
            out += bias.reshape(shape)
        # END SOLUTION
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dY (N, C, *) -> (dL/dx[, dL/dweight, dL/dbias]) in closed form.

        With m values per group, x_hat = (x - mean) * invstd and h = weight * dL/dY (the
        gradient reaching x_hat): ``dx = invstd * (h - mean(h) - x_hat * mean(h * x_hat))``,
        the means over each group's m values; dweight = sum(dL/dY * x_hat) and
        dbias = sum(dL/dY), over every dim but the channel dim.
        """
        xhat, invstd, weight = self.saved
        count = xhat.shape[-1]
        grad_input = grad_weight = grad_bias = None
        # HINT: as BatchNorm's training backward, but the statistics are per (sample, group): with h
        # HINT: = grad * weight, dx = invstd * (h - mean(h) - xhat * mean(h * xhat)) over each group
        # BEGIN SOLUTION
        if len(needs) > 1 and needs[1]:
            grad_weight = channel_dot(grad, xhat.reshape(grad.shape))
        if len(needs) > 2 and needs[2]:
            grad_bias = channel_sum(grad)
        if needs[0]:
            h = grad * weight.reshape(channel_shape(grad)) if weight is not None else grad
            h = h.reshape(xhat.shape)
            mean_h = h.sum(axis=-1, keepdims=True) / count
            mean_hx = np.einsum("ngm,ngm->ng", h, xhat)[..., None] / count
            grad_input = (invstd * (h - mean_h - xhat * mean_hx)).reshape(grad.shape)
        # END SOLUTION
        return _affine_grads(needs, grad_input, grad_weight, grad_bias)


def _affine_grads(
    needs: tuple[bool, ...],
    grad_input: np.ndarray | None,
    grad_weight: np.ndarray | None,
    grad_bias: np.ndarray | None,
) -> Grads:
    """The gradients of a normalisation's inputs, x[, weight[, bias]]: one per input, None
    where not needed."""
    grads = (grad_input, grad_weight, grad_bias)[: len(needs)]
    return tuple(g if need else None for g, need in zip(grads, needs, strict=True))


def channel_sum(x: np.ndarray) -> np.ndarray:
    """x (N, C, *) -> (C,): the sum over every dim but the channel dim."""
    return np.einsum("ncl->c", x.reshape(x.shape[0], x.shape[1], -1))


def channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a, b (N, C, *) -> (C,): sum of a*b per channel, without making the product array
    (one pass instead of three: multiply, write, sum)."""
    n, c = a.shape[:2]
    return np.einsum("ncl,ncl->c", a.reshape(n, c, -1), b.reshape(n, c, -1))


def channel_shape(x: np.ndarray) -> tuple[int, ...]:
    """(1, C, 1, 1, ...): per-channel values broadcast against x (N, C, *)."""
    return (1, x.shape[1], *([1] * (x.ndim - 2)))
