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
from tinytorch.spatial.functional import make_batch_norm_op, make_conv2d_op, update_running_stats
from tinytorch.spatial.ops import AvgPool2dOp, MaxPool2dOp, pool_arguments, to_pair
from tinytorch.tensor import Tensor, accumulate_grad, ops


# --------------------------------------------------------------------- Conv2d
class Conv2d(Module):
    """2-d convolution layer: x (N, in_channels, H, W) -> (N, out_channels, Ho, Wo).

    ``weight`` is (out_channels, in_channels/groups, kH, kW) and ``bias`` (out_channels,), both
    drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels/groups*kH*kW
    (PyTorch's default, kaiming_uniform with a=sqrt(5)). ``padding`` may be an int, a pair,
    ``"valid"`` or ``"same"``. Cost: 2*N*out*Ho*Wo*(in/groups)*kH*kW FLOPs forward, twice that
    backward; the forward's column matrix (about kH*kW times the input) is kept for backward.
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
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(
                f"Conv2d: in_channels and out_channels must be positive, got {in_channels} "
                f"and {out_channels}"
            )
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"Conv2d: groups must be a positive int, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"both be divisible by groups ({groups})"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = to_pair(kernel_size, "kernel_size", "Conv2d", minimum=1)
        self.stride = to_pair(stride, "stride", "Conv2d", minimum=1)
        self.padding: str | tuple[int, int] = (
            padding if isinstance(padding, str) else to_pair(padding, "padding", "Conv2d")
        )
        self.dilation = to_pair(dilation, "dilation", "Conv2d", minimum=1)
        self.groups = groups
        make_conv2d_op(self.kernel_size, self.stride, self.padding, self.dilation, groups)  # checks
        generator = rng if rng is not None else np.random.default_rng()
        fan_in = in_channels // groups * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(generator.uniform(-bound, bound, shape))
        self.bias = Parameter(generator.uniform(-bound, bound, out_channels)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        op = make_conv2d_op(self.kernel_size, self.stride, self.padding, self.dilation, self.groups)
        if self.bias is None:
            return self.run_op(op, x, self.weight)
        return self.run_op(op, x, self.weight, self.bias)

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy (N, out, Ho, Wo) -> dL/dx (N, in, H, W); adds dL/dW and dL/db to the grads."""
        needs = (True, True) if self.bias is None else (True, True, True)
        grad_input, grad_weight, *grad_bias = self.op_backward(grad_output, needs)
        accumulate_grad(self.weight, grad_weight)
        if self.bias is not None:
            accumulate_grad(self.bias, grad_bias[0])
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


# --------------------------------------------------------------------- pooling
class _Pool2d(Module):
    """Shared code of MaxPool2d and AvgPool2d: x (..., H, W) -> (..., Ho, Wo), no parameters."""

    op_class: type[MaxPool2dOp] | type[AvgPool2dOp] = MaxPool2dOp

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        name = type(self).__name__
        kernel, step, pad = pool_arguments(kernel_size, stride, padding, name)
        self.kernel_size, self.stride, self.padding = kernel, step, (pad[0][0], pad[1][0])

    def forward(self, x: Tensor) -> Tensor:
        padding = ((self.padding[0],) * 2, (self.padding[1],) * 2)
        return self.run_op(self.op_class(self.kernel_size, self.stride, padding), x)

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy (..., Ho, Wo) -> dL/dx (..., H, W)."""
        (grad_input,) = self.op_backward(grad_output, (True,))
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max over kH x kW windows (stride defaults to the kernel size; padding counts as -inf).

    x (N, C, H, W) (any leading dims) -> (N, C, Ho, Wo). The backward sends each gradient to
    the window's maximum (the first one on ties, as PyTorch). Memory: one small-integer argmax
    per output element is kept for the backward.
    """

    op_class = MaxPool2dOp


class AvgPool2d(_Pool2d):
    """Mean over kH x kW windows; zero padding is counted (count_include_pad=True, PyTorch's
    default). x (N, C, H, W) (any leading dims) -> (N, C, Ho, Wo); keeps nothing but shapes."""

    op_class = AvgPool2dOp


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
class _BatchNorm(Module):
    """Shared code of BatchNorm1d and BatchNorm2d (they differ only in the input dims allowed).

    Parameters ``weight`` (ones) and ``bias`` (zeros), (C,), when ``affine``; buffers
    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (int64), saved
    in ``state_dict`` as in PyTorch. ``momentum=None`` averages all batches equally
    (factor 1/num_batches_tracked).
    """

    allowed_dims: tuple[int, ...] = ()
    expected_input = ""
    running_mean: Tensor  # buffers, set by register_buffer
    running_var: Tensor
    num_batches_tracked: Tensor

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
    ) -> None:
        if num_features <= 0:
            raise ValueError(
                f"{type(self).__name__}: num_features must be positive, got {num_features}"
            )
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine = affine
        self.weight = Parameter(np.ones(num_features)) if affine else None
        self.bias = Parameter(np.zeros(num_features)) if affine else None
        self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=np.float32)))
        self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=np.float32)))
        self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))

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
        if self.training:
            self.num_batches_tracked.data[...] += 1
            tracked = int(self.num_batches_tracked.item())
            momentum = 1.0 / tracked if self.momentum is None else self.momentum
        running_mean, running_var = self.running_mean, self.running_var
        op = make_batch_norm_op(
            x, running_mean, running_var, self.weight, self.bias, self.training, self.eps
        )
        if self.weight is None:
            out = self.run_op(op, x)
        else:
            out = self.run_op(op, x, self.weight, self.bias)
        update_running_stats(op, x.numel() // x.shape[1], running_mean, running_var, momentum)
        return out

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy -> dL/dx; adds dL/dweight and dL/dbias to the grads (when affine)."""
        if self.weight is None or self.bias is None:
            (grad_input,) = self.op_backward(grad_output, (True,))
            return Tensor._wrap(grad_input)
        grad_input, grad_weight, grad_bias = self.op_backward(grad_output, (True, True, True))
        accumulate_grad(self.weight, grad_weight)
        accumulate_grad(self.bias, grad_bias)
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features or (N, C, L) sequences, per channel C."""

    allowed_dims = (2, 3)
    expected_input = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images (N, C, H, W), per channel C: statistics over N, H and W."""

    allowed_dims = (4,)
    expected_input = "(N, C, H, W)"
