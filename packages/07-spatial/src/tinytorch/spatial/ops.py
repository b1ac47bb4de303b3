"""The spatial Ops: each holds its forward and its backward side by side.

Each heavy operation is an `Op` subclass run through the dispatch point ``tinytorch.tensor.apply``;
its ``backward(grad, needs)`` turns dL/d(output) into the gradients of the inputs. The Modules'
hand-written ``backward`` calls it, and so does autograd: both paths run the same lines, so they
agree by construction. An Op instance is made per call and saves what its backward needs (the
column matrix, the argmax, the normalised input) with ``save_for_backward``, like PyTorch's
``ctx``; it lets them go when the backward has run.

Layout: NCHW, float32 (float64 stays float64, for gradient checks).

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
    cols: np.ndarray, padded_shape: tuple[int, ...], kernel: Pair, stride: Pair, dilation: Pair
) -> np.ndarray:
    """The adjoint of `im2col`: add every column entry back to the pixel it was copied from.

    cols: (N, G, kH*kW*Cg, Ho*Wo) -> (N, C, Hp, Wp). A pixel that sat in several windows
    receives the sum of their entries. One strided ``+=`` of an (N, C, Ho, Wo) block per kernel
    offset: kH*kW Python iterations, no loop over pixels or images.
    """
    n, c, hp, wp = padded_shape
    groups = cols.shape[1]
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    cg = c // groups
    ho = output_size(hp, 0, kh, sh, dh)
    wo = output_size(wp, 0, kw, sw, dw)
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

    def __init__(self, stride: Pair, padding: Padding2d, dilation: Pair, groups: int) -> None:
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.padded_shape: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return "conv2d"

    def _check(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> Pair:
        """Validate the shapes; return the output's (Ho, Wo)."""
        if x.ndim != 4 or weight.ndim != 4:
            raise ValueError(
                f"conv2d: expected input (N, C, H, W) and weight (O, C/groups, kH, kW), got "
                f"shapes {x.shape} and {weight.shape}; for a single image add the batch dim: "
                f"x.unsqueeze(0)"
            )
        _require_float("conv2d", x)
        out_channels, per_group = weight.shape[:2]
        if x.shape[1] != per_group * self.groups or out_channels % self.groups:
            raise ValueError(
                f"conv2d: input with {x.shape[1]} channels does not fit weight {weight.shape} "
                f"with groups={self.groups}: need C == weight.shape[1] * groups "
                f"({per_group} * {self.groups}) and O divisible by groups; check in_channels"
            )
        if bias is not None and bias.shape != (out_channels,):
            raise ValueError(f"conv2d: bias must have shape ({out_channels},), got {bias.shape}")
        (top, bottom), (left, right) = self.padding
        ho = output_size(
            x.shape[2], top + bottom, weight.shape[2], self.stride[0], self.dilation[0]
        )
        wo = output_size(
            x.shape[3], left + right, weight.shape[3], self.stride[1], self.dilation[1]
        )
        if ho < 1 or wo < 1:
            raise ValueError(
                f"conv2d: the input's {x.shape[2]}x{x.shape[3]} pixels with padding "
                f"{self.padding} are fewer than the kernel {weight.shape[2]}x{weight.shape[3]} "
                f"(dilation {self.dilation}) spans, so there is no output pixel; pad more or "
                f"use a smaller kernel"
            )
        return ho, wo

    def forward(
        self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None
    ) -> np.ndarray:
        ho, wo = self._check(x, weight, bias)
        n = x.shape[0]
        out_channels, _, kh, kw = weight.shape
        groups = self.groups
        xp = pad2d(x, self.padding)
        self.padded_shape = xp.shape
        # HINT: the weight's rows must list (i, j, c) in the order the column rows do
        # BEGIN SOLUTION
        cols = im2col(xp, (kh, kw), self.stride, self.dilation, groups, (ho, wo))
        matrix = _weight_matrix(weight, groups)  # (G, O/G, K)
        out = np.matmul(matrix, cols)  # (N, G, O/G, Ho*Wo): one batched matmul
        out = out.reshape(n, out_channels, ho, wo)
        if bias is not None:
            out += bias.reshape(1, out_channels, 1, 1)
        # END SOLUTION
        self.save_for_backward(cols, weight)
        return out

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dY (N, O, Ho, Wo) -> (dL/dx, dL/dW[, dL/db]); None where ``needs`` is False.

        Reuses the forward's column matrix. Cost: two matmuls of the forward's size
        (4*N*O*Ho*Wo*K FLOPs) plus col2im (kH*kW strided adds of an input-sized array).
        """
        cols, weight = self.saved
        n, out_channels, ho, wo = grad.shape
        groups = self.groups
        _, cg, kh, kw = weight.shape
        flat = grad.reshape(n, groups, out_channels // groups, ho * wo)
        grad_input = grad_weight = grad_bias = None
        # HINT: Y = W @ cols per image, so dW = sum over images of dY @ cols^T, dcols = W^T @ dY
        # BEGIN SOLUTION
        if len(needs) > 2 and needs[2]:
            grad_bias = channel_sum(grad)
        if needs[1]:
            per_group = _weight_grad(flat, cols)  # (G, O/G, kH*kW*Cg)
            grad_weight = (
                per_group.reshape(groups, out_channels // groups, kh, kw, cg)
                .transpose(0, 1, 4, 2, 3)
                .reshape(weight.shape)
            )
        if needs[0]:
            grad_cols = np.matmul(_weight_matrix(weight, groups).swapaxes(-1, -2), flat)
            grad_padded = col2im(grad_cols, self.padded_shape, (kh, kw), self.stride, self.dilation)
            grad_input = _crop(grad_padded, self.padding)
        # END SOLUTION
        return (grad_input, grad_weight, grad_bias)[: len(needs)]


def _weight_matrix(weight: np.ndarray, groups: int) -> np.ndarray:
    """weight (O, Cg, kH, kW) -> (G, O/G, kH*kW*Cg), rows ordered (i, j, c) like `im2col`'s."""
    out_channels, cg, kh, kw = weight.shape
    per_group = weight.reshape(groups, out_channels // groups, cg, kh, kw)
    return per_group.transpose(0, 1, 3, 4, 2).reshape(groups, out_channels // groups, -1)


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


# --------------------------------------------------------------------- pooling
def pool_arguments(
    kernel_size: Any, stride: Any, padding: Any, op: str
) -> tuple[Pair, Pair, Padding2d]:
    """Kernel, stride (the kernel when None, as in PyTorch) and padding of a pooling layer.

    Padding may be at most half the kernel (PyTorch's rule), so no window is padding only.
    """
    kernel = to_pair(kernel_size, "kernel_size", op, minimum=1)
    step = kernel if stride is None else to_pair(stride, "stride", op, minimum=1)
    pad = to_pair(padding, "padding", op)
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        raise ValueError(
            f"{op}: padding {pad} must be at most half of kernel_size {kernel} (a window must "
            f"hold at least one real pixel); use a larger kernel or less padding"
        )
    return kernel, step, ((pad[0], pad[0]), (pad[1], pad[1]))


class _PoolOp(Op):
    """Shared set-up of the pooling Ops: x (..., H, W) float -> (..., Ho, Wo)."""

    function = "pool2d"

    def __init__(self, kernel: Pair, stride: Pair, padding: Padding2d) -> None:
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.padded_shape: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return self.function

    def _prepare(self, x: np.ndarray, fill: float) -> tuple[np.ndarray, int, int]:
        """The padded input and the output's (Ho, Wo), after checking the input."""
        if x.ndim < 2:
            raise ValueError(
                f"{self.function}: expected an input (..., H, W) such as (N, C, H, W), got "
                f"shape {x.shape}"
            )
        _require_float(self.function, x)
        (top, bottom), (left, right) = self.padding
        ho = output_size(x.shape[-2], top + bottom, self.kernel[0], self.stride[0])
        wo = output_size(x.shape[-1], left + right, self.kernel[1], self.stride[1])
        if ho < 1 or wo < 1:
            raise ValueError(
                f"{self.function}: input {x.shape[-2]}x{x.shape[-1]} with padding "
                f"{self.padding} is smaller than the kernel {self.kernel}; no output pixel"
            )
        xp = pad2d(x, self.padding, fill)
        self.padded_shape = xp.shape
        return xp, ho, wo

    def offsets(self) -> list[tuple[int, int]]:
        """Kernel offsets (i, j) in row-major order: the order ties are broken in."""
        return [(i, j) for i in range(self.kernel[0]) for j in range(self.kernel[1])]


class MaxPool2dOp(_PoolOp):
    """Largest value of each kH x kW window (padding counts as -inf).

    Saves, per output pixel, which kernel offset held the maximum (the first one on ties, as
    PyTorch's CPU kernel) as the smallest unsigned integer type that fits: 1 byte for kernels up
    to 16x16, a quarter of the output's bytes. A NaN in a window makes its output NaN.
    Cost: kH*kW comparisons per output element.
    """

    function = "max_pool2d"

    def forward(self, x: np.ndarray) -> np.ndarray:
        xp, ho, wo = self._prepare(x, -np.inf)
        sh, sw = self.stride
        # HINT: start from offset (0, 0)'s values; for each later offset, where its value is
        # HINT: strictly larger, remember the offset's number, and keep the larger values
        # BEGIN SOLUTION
        offsets = self.offsets()
        best = xp[..., _window(0, sh, ho), _window(0, sw, wo)].copy()
        argmax = np.zeros(best.shape, dtype=np.min_scalar_type(len(offsets) - 1))
        for k, (i, j) in enumerate(offsets[1:], start=1):
            values = xp[..., _window(i, sh, ho), _window(j, sw, wo)]
            # offsets come in increasing k, so the winner is the largest k that beat the max
            # so far: a maximum of (beat * k), 4x faster than a masked write
            beat = (values > best) * argmax.dtype.type(k)
            np.maximum(argmax, beat, out=argmax)
            np.maximum(best, values, out=best)  # in place; NaN propagates
        # END SOLUTION
        self.save_for_backward(argmax)
        return best

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dY (..., Ho, Wo) -> dL/dx (..., H, W): each gradient goes to its window's argmax.

        One masked strided add per kernel offset (overlapping windows, stride < kernel, can
        send several gradients to one pixel: they add up). The mask multiplies (twice as fast
        as ``np.where``), so a non-finite gradient would also reach the window's other pixels.
        """
        (argmax,) = self.saved
        ho, wo = grad.shape[-2:]
        sh, sw = self.stride
        grad_padded = np.zeros(self.padded_shape, dtype=grad.dtype)
        # BEGIN SOLUTION
        for k, (i, j) in enumerate(self.offsets()):
            routed = grad * (argmax == k)
            grad_padded[..., _window(i, sh, ho), _window(j, sw, wo)] += routed
        # END SOLUTION
        return (_crop(grad_padded, self.padding),)


class AvgPool2dOp(_PoolOp):
    """Mean of each kH x kW window, padding counted as zeros (count_include_pad=True, PyTorch's
    default): every window divides by kH*kW. Cost: kH*kW adds per output element; saves nothing
    but shapes."""

    function = "avg_pool2d"

    def forward(self, x: np.ndarray) -> np.ndarray:
        xp, ho, wo = self._prepare(x, 0.0)
        sh, sw = self.stride
        # BEGIN SOLUTION
        total = np.zeros((*x.shape[:-2], ho, wo), dtype=x.dtype)
        for i, j in self.offsets():
            total += xp[..., _window(i, sh, ho), _window(j, sw, wo)]
        return total / (self.kernel[0] * self.kernel[1])
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dY (..., Ho, Wo) -> dL/dx (..., H, W): each gradient spread evenly over its
        window."""
        ho, wo = grad.shape[-2:]
        sh, sw = self.stride
        grad_padded = np.zeros(self.padded_shape, dtype=grad.dtype)
        # BEGIN SOLUTION
        share = grad / (self.kernel[0] * self.kernel[1])
        for i, j in self.offsets():
            grad_padded[..., _window(i, sh, ho), _window(j, sw, wo)] += share
        # END SOLUTION
        return (_crop(grad_padded, self.padding),)


# --------------------------------------------------------------------- BatchNorm
class BatchNormOp(Op):
    """Batch normalisation over every dim but the channel dim (dim 1).

    ``forward(x[, weight, bias])``: x (N, C, *) float, weight and bias (C,) -> (N, C, *):
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
        if len(needs) == 1:
            return (grad_input,)
        return grad_input, (grad_weight if needs[1] else None), (grad_bias if needs[2] else None)


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
