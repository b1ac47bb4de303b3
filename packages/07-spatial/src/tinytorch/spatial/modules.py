"""The spatial layers: `Module`s with a forward and a hand-written backward.

``forward`` runs the Op with `Module.run_op` (through the dispatch point, so autograd records
it), which keeps the Op while grad mode is on: it holds what the backward needs (the column
matrix, the argmax, x_hat). ``backward(grad_output)`` returns dL/dx and *accumulates* the
parameters' gradients (modules 03-05's protocol) by calling the Op's own backward, the one
autograd calls.

Memory: the Op lets go of what it saved once a backward (manual or autograd's) has run through
it, and a layer drops its last Op at its next forward, before computing anything. Under
``no_grad`` (evaluation) nothing is kept: a layer holds no activation memory.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.layers import Module, Parameter
from tinytorch.spatial.functional import (
    affine_inputs,
    make_batch_norm_op,
    make_conv1d_op,
    make_conv2d_op,
    make_conv_transpose2d_op,
    make_group_norm_op,
    update_running_stats,
)
from tinytorch.spatial.ops import (
    AvgPool2dOp,
    MaxPool2dOp,
    pool_arguments,
    to_pair,
    to_single,
    transposed_output_size,
)
from tinytorch.tensor import Op, Tensor, accumulate_grad, ops


# --------------------------------------------------------------------- convolutions
class _ConvNd(Module):
    """Shared code of the convolution layers: parameters, the manual backward, the repr.

    ``weight`` and ``bias`` are drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's
    default, kaiming_uniform with a=sqrt(5)), fan_in = ``weight.shape[1] * kernel elements``.
    """

    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Any
    dilation: tuple[int, ...]
    output_padding: tuple[int, ...] = ()
    groups: int

    def _check_channels(self, in_channels: int, out_channels: int, groups: Any) -> None:
        name = type(self).__name__
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(
                f"{name}: in_channels and out_channels must be positive, got {in_channels} "
                f"and {out_channels}"
            )
        if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
            raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"both be divisible by groups ({groups})"
            )

    def _init_parameters(
        self, shape: tuple[int, ...], bias: bool, out_channels: int, rng: Any
    ) -> None:
        generator = rng if rng is not None else np.random.default_rng()
        fan_in = shape[1] * math.prod(shape[2:])
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = Parameter(generator.uniform(-bound, bound, shape))
        self.bias = Parameter(generator.uniform(-bound, bound, out_channels)) if bias else None

    def make_op(self) -> Op:
        raise NotImplementedError(f"{type(self).__name__} must define make_op()")

    def forward(self, x: Tensor) -> Tensor:
        op = self.make_op()
        if self.bias is None:
            return self.run_op(op, x, self.weight)
        return self.run_op(op, x, self.weight, self.bias)

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy -> dL/dx; adds dL/dW and dL/db to the parameters' grads."""
        needs = (True, True) if self.bias is None else (True, True, True)
        grad_input, grad_weight, *grad_bias = self.op_backward(grad_output, needs)
        accumulate_grad(self.weight, grad_weight)
        if self.bias is not None:
            accumulate_grad(self.bias, grad_bias[0])
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        """PyTorch's: settings at their defaults are left out (but kernel_size and stride)."""
        dims = len(self.kernel_size)
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if isinstance(self.padding, str) or self.padding != (0,) * dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * dims:
            text += f", dilation={self.dilation}"
        if self.output_padding and self.output_padding != (0,) * dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """2-d convolution layer: x (N, in_channels, H, W) -> (N, out_channels, Ho, Wo).

    ``weight`` is (out_channels, in_channels/groups, kH, kW) and ``bias`` (out_channels,),
    fan_in = in_channels/groups*kH*kW. ``padding`` may be an int, a pair, ``"valid"`` or
    ``"same"``. Cost: 2*N*out*Ho*Wo*(in/groups)*kH*kW FLOPs forward, twice that backward; the
    forward's column matrix (about kH*kW times the input) is kept for backward.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        self._check_channels(in_channels, out_channels, groups)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = to_pair(kernel_size, "kernel_size", "Conv2d", minimum=1)
        self.stride = to_pair(stride, "stride", "Conv2d", minimum=1)
        self.padding = (
            padding if isinstance(padding, str) else to_pair(padding, "padding", "Conv2d")
        )
        self.dilation = to_pair(dilation, "dilation", "Conv2d", minimum=1)
        self.groups = groups
        self.make_op()  # checks the padding
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self._init_parameters(shape, bias, out_channels, rng)

    def make_op(self) -> Op:
        return make_conv2d_op(
            self.kernel_size, self.stride, self.padding, self.dilation, self.groups
        )


class Conv1d(_ConvNd):
    """1-d convolution layer: x (N, in_channels, L) -> (N, out_channels, Lo), e.g. over time.

    ``weight`` is (out_channels, in_channels/groups, K) and ``bias`` (out_channels,), fan_in =
    in_channels/groups*K; ``kernel_size``, ``stride``, ``padding`` and ``dilation`` are kept as
    1-tuples, as PyTorch does. ``padding`` may be an int, ``"valid"`` or ``"same"``. Runs as a
    2-d convolution of height-1 images (`tinytorch.spatial.ops.Conv1dOp`).
    Cost: 2*N*out*Lo*(in/groups)*K FLOPs forward, twice that backward.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        self._check_channels(in_channels, out_channels, groups)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (to_single(kernel_size, "kernel_size", "Conv1d", minimum=1),)
        self.stride = (to_single(stride, "stride", "Conv1d", minimum=1),)
        self.padding = (
            padding if isinstance(padding, str) else (to_single(padding, "padding", "Conv1d"),)
        )
        self.dilation = (to_single(dilation, "dilation", "Conv1d", minimum=1),)
        self.groups = groups
        self.make_op()  # checks the padding
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self._init_parameters(shape, bias, out_channels, rng)

    def make_op(self) -> Op:
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return make_conv1d_op(
            self.kernel_size[0], self.stride[0], padding, self.dilation[0], self.groups
        )


class ConvTranspose2d(_ConvNd):
    """2-d transposed convolution: x (N, in_channels, H, W) -> (N, out_channels, Ho, Wo) with
    ``Ho = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1``: the layer
    that upsamples (a stride-2 one doubles H and W, with kernel 4 and padding 1, or kernel 2).

    ``weight`` is (in_channels, out_channels/groups, kH, kW), as PyTorch: the weight of the
    Conv2d(out_channels, in_channels) whose input gradient this layer computes; fan_in =
    out_channels/groups*kH*kW (PyTorch's, from the weight's dim 1). ``forward(x, output_size)``
    may ask for an output size (H, W) (or (N, C, H, W)) instead of ``output_padding``.
    Cost: 2*N*in*H*W*(out/groups)*kH*kW FLOPs forward, twice that backward; keeps x.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        rng: np.random.Generator | None = None,
    ) -> None:
        name = "ConvTranspose2d"
        self._check_channels(in_channels, out_channels, groups)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = to_pair(kernel_size, "kernel_size", name, minimum=1)
        self.stride = to_pair(stride, "stride", name, minimum=1)
        self.padding = to_pair(padding, "padding", name)
        self.output_padding = to_pair(output_padding, "output_padding", name)
        self.dilation = to_pair(dilation, "dilation", name, minimum=1)
        self.groups = groups
        self.make_op()  # checks output_padding
        shape = (in_channels, out_channels // groups, *self.kernel_size)
        self._init_parameters(shape, bias, out_channels, rng)

    def make_op(self, output_padding: tuple[int, int] | None = None) -> Op:
        return make_conv_transpose2d_op(
            self.stride,
            self.padding,
            self.output_padding if output_padding is None else output_padding,
            self.groups,
            self.dilation,
        )

    def output_padding_for(self, x: Tensor, output_size: Any) -> tuple[int, int]:
        """The output_padding that makes the output (H, W) = ``output_size`` (PyTorch's rule:
        each size must lie between the smallest output and that plus stride - 1)."""
        sizes = tuple(int(s) for s in output_size)
        if len(sizes) == 4:
            sizes = sizes[2:]
        if len(sizes) != 2 or x.ndim != 4:
            raise ValueError(
                f"ConvTranspose2d: output_size must be (H, W) or (N, C, H, W) for an input "
                f"(N, C, H, W), got {output_size!r} for input shape {x.shape}"
            )
        padding = []
        for size, h, k, s, p, d in zip(
            sizes, x.shape[2:], self.kernel_size, self.stride, self.padding, self.dilation,
            strict=True,
        ):  # fmt: skip
            smallest = transposed_output_size(h, k, s, p, 0, d)
            if not smallest <= size < smallest + s:
                raise ValueError(
                    f"ConvTranspose2d: requested output size {sizes} is not reachable from "
                    f"input {x.shape[2:]}: each size must be in [{smallest}, "
                    f"{smallest + s - 1}] here (smallest output to smallest + stride - 1)"
                )
            padding.append(size - smallest)
        return padding[0], padding[1]

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        if output_size is None:
            op = self.make_op()
        else:
            op = self.make_op(self.output_padding_for(x, output_size))
        if self.bias is None:
            return self.run_op(op, x, self.weight)
        return self.run_op(op, x, self.weight, self.bias)


# --------------------------------------------------------------------- pooling
class MaxPool2d(Module):
    """Max over kH x kW windows: x (N, C, H, W) (any leading dims) -> (N, C, Ho, Wo).

    ``stride`` defaults to the kernel size; padding counts as -inf; ``dilation`` spaces the
    window's pixels; ``ceil_mode=True`` keeps a last window that runs past the bottom/right
    edge. With ``return_indices=True`` the forward returns ``(out, indices)``, indices int64
    flat positions ``h*W + w`` of each maximum in its input plane, as PyTorch. The backward
    sends each gradient to the window's maximum (the first one on ties, as PyTorch). Memory: one
    small-integer argmax per output element is kept for the backward.
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        kernel, step, pad, spread = pool_arguments(
            kernel_size, stride, padding, "MaxPool2d", dilation
        )
        self.kernel_size, self.stride, self.padding, self.dilation = kernel, step, pad, spread
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Tensor) -> Any:
        op = MaxPool2dOp(
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )
        out = self.run_op(op, x)
        if not self.return_indices:
            return out
        indices, op.indices = op.indices, None  # the layer keeps only the small argmax
        assert indices is not None
        return out, Tensor._wrap(indices)

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy (..., Ho, Wo) -> dL/dx (..., H, W) (the indices need no gradient)."""
        (grad_input,) = self.op_backward(grad_output, (True,))
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """Mean over kH x kW windows: x (N, C, H, W) (any leading dims) -> (N, C, Ho, Wo).

    ``stride`` defaults to the kernel size. Zero padding is counted in the divisor
    (``count_include_pad=True``, PyTorch's default) or not; ``ceil_mode=True`` keeps a last
    partial window (divided by its size within the padded input); ``divisor_override`` divides
    every window's sum by one given number. Keeps nothing but shapes (and the divisors).
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        kernel, step, pad, _ = pool_arguments(kernel_size, stride, padding, "AvgPool2d")
        self.kernel_size, self.stride, self.padding = kernel, step, pad
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override
        self.make_op()  # checks divisor_override

    def make_op(self) -> AvgPool2dOp:
        return AvgPool2dOp(
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.run_op(self.make_op(), x)

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy (..., Ho, Wo) -> dL/dx (..., H, W)."""
        (grad_input,) = self.op_backward(grad_output, (True,))
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class GlobalAvgPool2d(Module):
    """Mean over the whole image: (N, C, H, W) -> (N, C). No parameters; one pass over x.

    Replaces a big flatten-then-Linear head: the classifier after it sees C numbers, whatever
    the image size.
    """

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"GlobalAvgPool2d: expected an input (N, C, H, W), got {x.shape}")
        return self.run_op(ops.Mean(dim=(2, 3)), x)

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy (N, C) -> dL/dx (N, C, H, W): each gradient shared by the H*W pixels."""
        (grad_input,) = self.op_backward(grad_output, (True,))
        return Tensor._wrap(np.ascontiguousarray(grad_input))


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C*H*W) by default.

    A view (no copy) of a contiguous input; backward reshapes the gradient back.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        shape = x.flatten(self.start_dim, self.end_dim).shape  # checks the dims
        return self.run_op(ops.Reshape(shape), x)

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy -> dL/dx: the same numbers in the input's shape."""
        (grad_input,) = self.op_backward(grad_output, (True,))
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


# --------------------------------------------------------------------- BatchNorm
def _normalization_backward(layer: Any, grad_output: Tensor) -> Tensor:
    """A normalisation layer's hand-written backward: dL/dx from its Op, and dL/dweight and
    dL/dbias (those it has) added to the parameters' grads."""
    params = [p for p in (layer.weight, layer.bias) if p is not None]
    grad_input, *grad_params = layer.op_backward(grad_output, (True,) * (1 + len(params)))
    for param, grad in zip(params, grad_params, strict=True):
        accumulate_grad(param, grad)
    return Tensor._wrap(grad_input)


class _BatchNorm(Module):
    """Shared code of BatchNorm1d and BatchNorm2d (they differ only in the input dims allowed).

    Parameters ``weight`` (ones) and ``bias`` (zeros), (C,), when ``affine`` (``bias=False``,
    keyword-only as in PyTorch, leaves the shift out). With
    ``track_running_stats=True`` (the default), buffers ``running_mean`` (zeros),
    ``running_var`` (ones) and ``num_batches_tracked`` (int64), saved in ``state_dict`` as in
    PyTorch, updated in training and used in eval (``momentum=None`` averages all batches
    equally, factor 1/num_batches_tracked). With ``track_running_stats=False`` there are no
    buffers (the three attributes are None, as in PyTorch) and every forward, in training
    and in eval, normalises with the batch's own statistics.
    """

    allowed_dims: tuple[int, ...] = ()
    expected_input = ""
    running_mean: Tensor | None  # buffers, set by register_buffer (None when not tracking)
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        bias: bool = True,
    ) -> None:
        if num_features <= 0:
            raise ValueError(
                f"{type(self).__name__}: num_features must be positive, got {num_features}"
            )
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features)) if affine else None
        self.bias = Parameter(np.zeros(num_features)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=np.float32)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=np.float32)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def _check_input(self, x: Tensor) -> None:
        name = type(self).__name__
        if x.ndim not in self.allowed_dims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: expected an input {self.expected_input} with C = num_features = "
                f"{self.num_features}, got shape {x.shape}"
            )

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        momentum = 0.0
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.data[...] += 1
            tracked = int(self.num_batches_tracked.item())
            momentum = 1.0 / tracked if self.momentum is None else self.momentum
        running_mean, running_var = self.running_mean, self.running_var
        batch_statistics = self.training or running_mean is None  # PyTorch's bn_training
        op = make_batch_norm_op(
            x, running_mean, running_var, self.weight, self.bias, batch_statistics, self.eps
        )
        out = self.run_op(op, *affine_inputs(x, self.weight, self.bias))
        if self.training:
            update_running_stats(op, x.numel() // x.shape[1], running_mean, running_var, momentum)
        return out

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy -> dL/dx; adds dL/dweight and dL/dbias to the grads (when affine)."""
        return _normalization_backward(self, grad_output)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features or (N, C, L) sequences, per channel C."""

    allowed_dims = (2, 3)
    expected_input = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images (N, C, H, W), per channel C: statistics over N, H and W."""

    allowed_dims = (4,)
    expected_input = "(N, C, H, W)"


# --------------------------------------------------------------------- GroupNorm
class GroupNorm(Module):
    """Group normalisation of x (N, C, *): each example's C channels split into
    ``num_groups`` groups, each normalised with its own mean and biased variance, then
    ``weight`` (ones) and ``bias`` (zeros), (C,), scale and shift per channel (``affine``;
    ``bias=False``, keyword-only as in PyTorch, leaves the shift out).

    N*num_groups statistics of (C/num_groups)*prod(*) values each (BatchNorm: C statistics of
    N*prod(*) values, see `tinytorch.spatial.normalization_counts`): nothing depends on the
    other examples, so it works with a batch of 1, has no running statistics, and does the
    same in training and eval. One Op with a closed-form backward; keeps x_hat.
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        *,
        bias: bool = True,
    ) -> None:
        if num_groups <= 0 or num_channels <= 0 or num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups}), both positive"
            )
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        self.affine = affine
        self.weight = Parameter(np.ones(num_channels)) if affine else None
        self.bias = Parameter(np.zeros(num_channels)) if affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm: expected an input (N, C, *) with C = num_channels = "
                f"{self.num_channels}, got shape {x.shape}"
            )
        op = make_group_norm_op(x, self.num_groups, self.weight, self.bias, self.eps)
        return self.run_op(op, *affine_inputs(x, self.weight, self.bias))

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy (N, C, *) -> dL/dx; adds dL/dweight and dL/dbias to the grads (when affine)."""
        return _normalization_backward(self, grad_output)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )
