"""The spatial operations on Tensors, ``torch.nn.functional`` style.

Each function builds its Op and runs it through the dispatch point ``apply``: a new Tensor, and
(module 06 is on) a recorded graph node, differentiated by the Op's own ``backward``.
Argument names, orders and defaults are PyTorch's. The ``make_*_op`` helpers turn PyTorch-style
arguments (ints, pairs, ``"same"``) into an Op; the Modules use them too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.spatial.ops import (
    AvgPool2dOp,
    BatchNormOp,
    Conv1dOp,
    Conv2dOp,
    ConvTranspose2dOp,
    GroupNormOp,
    MaxPool2dOp,
    conv_padding,
    pool_arguments,
    to_pair,
    to_single,
)
from tinytorch.tensor import Tensor, apply


def _check_groups(groups: Any, op: str) -> int:
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    return groups


def _shape(value: Any) -> tuple[int, ...]:
    return value.shape if isinstance(value, Tensor) else Tensor(value).shape


def _run(op: Any, x: Tensor, weight: Any, bias: Any) -> Tensor:
    return apply(op, x, weight) if bias is None else apply(op, x, weight, bias)


# --------------------------------------------------------------------- convolutions
def make_conv2d_op(
    kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1
) -> Conv2dOp:
    """A `Conv2dOp` from PyTorch-style arguments (ints, pairs, or ``"same"``/``"valid"``)."""
    kernel = to_pair(kernel_size, "kernel_size", "conv2d", minimum=1)
    step = to_pair(stride, "stride", "conv2d", minimum=1)
    spread = to_pair(dilation, "dilation", "conv2d", minimum=1)
    groups = _check_groups(groups, "conv2d")
    return Conv2dOp(step, conv_padding(padding, kernel, step, spread, "conv2d"), spread, groups)


def make_conv1d_op(
    kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1
) -> Conv1dOp:
    """A `Conv1dOp` from PyTorch-style arguments (ints, 1-tuples, or ``"same"``/``"valid"``):
    the 2-d settings of a height-1 image (stride, dilation 1 and no padding along H)."""
    kernel = to_single(kernel_size, "kernel_size", "conv1d", minimum=1)
    step = to_single(stride, "stride", "conv1d", minimum=1)
    spread = to_single(dilation, "dilation", "conv1d", minimum=1)
    groups = _check_groups(groups, "conv1d")
    if isinstance(padding, str):
        padding2d = conv_padding(padding, (1, kernel), (1, step), (1, spread), "conv1d")
    else:
        pad = to_single(padding, "padding", "conv1d")
        padding2d = ((0, 0), (pad, pad))
    return Conv1dOp((1, step), padding2d, (1, spread), groups)


def make_conv_transpose2d_op(
    stride: Any = 1, padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1
) -> ConvTranspose2dOp:
    """A `ConvTranspose2dOp` from PyTorch-style arguments (ints or (h, w) pairs)."""
    op = "conv_transpose2d"
    return ConvTranspose2dOp(
        to_pair(stride, "stride", op, minimum=1),
        to_pair(padding, "padding", op),
        to_pair(output_padding, "output_padding", op),
        _check_groups(groups, op),
        to_pair(dilation, "dilation", op, minimum=1),
    )


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-d convolution. x (N, C, H, W), weight (O, C/groups, kH, kW), bias (O,) -> (N, O, Ho, Wo).

    ``stride``, ``padding`` and ``dilation`` are ints or (h, w) pairs; ``padding`` may also be
    ``"valid"`` (none) or ``"same"`` (stride 1; output H, W = input H, W).
    Cost: 2*N*O*Ho*Wo*(C/groups)*kH*kW FLOPs (see `tinytorch.spatial.conv2d_flops`).
    """
    weight_shape = _shape(weight)
    if len(weight_shape) != 4:
        raise ValueError(f"conv2d: weight must be (O, C/groups, kH, kW), got shape {weight_shape}")
    op = make_conv2d_op(weight_shape[2:], stride, padding, dilation, groups)
    return _run(op, x, weight, bias)


def conv1d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-d convolution. x (N, C, L), weight (O, C/groups, K), bias (O,) -> (N, O, Lo),
    ``Lo = (L + 2*padding - dilation*(K-1) - 1) // stride + 1``.

    ``stride``, ``padding`` and ``dilation`` are ints (or 1-tuples); ``padding`` may also be
    ``"valid"`` or ``"same"`` (stride 1). Runs as a 2-d convolution of height-1 images.
    Cost: 2*N*O*Lo*(C/groups)*K FLOPs.
    """
    weight_shape = _shape(weight)
    if len(weight_shape) != 3:
        raise ValueError(f"conv1d: weight must be (O, C/groups, K), got shape {weight_shape}")
    op = make_conv1d_op(weight_shape[2], stride, padding, dilation, groups)
    return _run(op, x, weight, bias)


def conv_transpose2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """2-d transposed convolution. x (N, C_in, H, W), weight (C_in, C_out/groups, kH, kW),
    bias (C_out,) -> (N, C_out, Ho, Wo) with
    ``Ho = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1``.

    PyTorch's argument order (``groups`` before ``dilation``). ``output_padding`` (smaller than
    stride or dilation) adds rows and columns at the bottom and right. The gradient of
    ``conv2d`` with respect to its input, with the same weight and settings.
    Cost: 2*N*C_in*H*W*(C_out/groups)*kH*kW FLOPs.
    """
    weight_shape = _shape(weight)
    if len(weight_shape) != 4:
        raise ValueError(
            f"conv_transpose2d: weight must be (C_in, C_out/groups, kH, kW), got shape "
            f"{weight_shape}"
        )
    op = make_conv_transpose2d_op(stride, padding, output_padding, groups, dilation)
    return _run(op, x, weight, bias)


# --------------------------------------------------------------------- pooling
def max_pool2d(
    x: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over kH x kW windows. x (..., H, W) -> (..., Ho, Wo); stride defaults to the kernel.

    ``dilation`` spaces the window's pixels; ``ceil_mode`` keeps a last partial window (see
    `tinytorch.spatial.ops.pool_output_size`). With ``return_indices=True`` returns
    ``(out, indices)``, indices int64 flat positions ``h*W + w`` of each maximum in its input
    plane (PyTorch's, e.g. for ``max_unpool2d``).
    """
    kernel, step, pad, spread = pool_arguments(kernel_size, stride, padding, "max_pool2d", dilation)
    op = MaxPool2dOp(kernel, step, pad, spread, ceil_mode, return_indices)
    out = apply(op, x)
    if not return_indices:
        return out
    indices, op.indices = op.indices, None
    assert indices is not None
    return out, Tensor._wrap(indices)


def avg_pool2d(
    x: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over kH x kW windows. x (..., H, W) -> (..., Ho, Wo); stride defaults to the kernel.

    Zero padding counts in the divisor by default (``count_include_pad=True``, PyTorch's
    default); ``divisor_override`` replaces every window's divisor.
    """
    kernel, step, pad, _ = pool_arguments(kernel_size, stride, padding, "avg_pool2d")
    op = AvgPool2dOp(kernel, step, pad, ceil_mode, count_include_pad, divisor_override)
    return apply(op, x)


def global_avg_pool2d(x: Tensor) -> Tensor:
    """Mean over the spatial dims: (N, C, H, W) -> (N, C). Cost: one pass over x."""
    if x.ndim != 4:
        raise ValueError(f"global_avg_pool2d: expected an input (N, C, H, W), got shape {x.shape}")
    return x.mean(dim=(2, 3))


# --------------------------------------------------------------------- normalisation
def affine_inputs(x: Tensor, weight: Any, bias: Any) -> tuple[Any, ...]:
    """The inputs of a normalisation Op: ``(x,)``, ``(x, weight)`` or ``(x, weight, bias)``.

    Either of weight and bias may be None, as in PyTorch; a bias without a weight gets a
    weight of ones (no gradient), since the Op's inputs are positional.
    """
    if weight is None and bias is None:
        return (x,)
    if bias is None:
        return (x, weight)
    if weight is None:
        channels = x.shape[1] if x.ndim > 1 else 0
        weight = Tensor(np.ones(channels, dtype=x.dtype))
    return (x, weight, bias)


def make_batch_norm_op(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None,
    bias: Tensor | None,
    training: bool,
    eps: float,
) -> BatchNormOp:
    """A `BatchNormOp` for ``x``, after checking the arguments."""
    if training and x.ndim >= 2 and x.numel() // max(x.shape[1], 1) <= 1:
        raise ValueError(
            f"batch_norm: expected more than 1 value per channel when training, got input of "
            f"shape {x.shape}; use a batch of at least 2 (or eval mode)"
        )
    return BatchNormOp(
        training,
        eps,
        None if running_mean is None else running_mean.data,
        None if running_var is None else running_var.data,
    )


def update_running_stats(
    op: BatchNormOp,
    count: int,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    momentum: float,
) -> None:
    """Fold the batch statistics the training forward of ``op`` measured (over ``count`` values
    per channel) into the running ones, in place; then let ``op`` forget them."""
    if op.batch_mean is None or op.batch_var is None:
        return
    # HINT: PyTorch keeps running stats of the UNBIASED batch variance (m/(m-1) times the
    # HINT: biased one used to normalise): new = (1 - momentum) * old + momentum * batch
    # BEGIN SOLUTION
    if running_mean is not None:
        running_mean.data[...] = (1 - momentum) * running_mean.data + momentum * op.batch_mean
    if running_var is not None:
        unbiased = op.batch_var * (count / (count - 1))
        running_var.data[...] = (1 - momentum) * running_var.data + momentum * unbiased
    # END SOLUTION
    op.batch_mean = op.batch_var = None


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation of x (N, C, *) per channel (PyTorch's ``F.batch_norm``).

    Training: normalise with the batch's mean and biased variance, and update ``running_mean``
    and ``running_var`` in place when given (``(1 - momentum) * old + momentum * batch``, the
    variance unbiased). Eval: normalise with the running statistics (required). ``weight``
    and ``bias`` (C,), each optional, scale and shift the result.
    """
    op = make_batch_norm_op(x, running_mean, running_var, weight, bias, training, eps)
    out = apply(op, *affine_inputs(x, weight, bias))
    update_running_stats(op, x.numel() // x.shape[1], running_mean, running_var, momentum)
    return out


def make_group_norm_op(
    x: Tensor, num_groups: int, weight: Any, bias: Any, eps: float
) -> GroupNormOp:
    """A `GroupNormOp`, after checking the arguments."""
    if not isinstance(num_groups, int) or isinstance(num_groups, bool) or num_groups < 1:
        raise ValueError(f"group_norm: num_groups must be a positive int, got {num_groups!r}")
    return GroupNormOp(num_groups, eps)


def group_norm(
    x: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalisation of x (N, C, *) (PyTorch's ``F.group_norm``): each example's C
    channels in ``num_groups`` groups, each group normalised with its own mean and biased
    variance; ``weight``/``bias`` (C,) scale and shift per channel. No running statistics:
    training and eval are the same, and any batch size works.
    """
    op = make_group_norm_op(x, num_groups, weight, bias, eps)
    return apply(op, *affine_inputs(x, weight, bias))
