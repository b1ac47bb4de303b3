"""The spatial operations on Tensors, ``torch.nn.functional`` style.

Each function builds its Op and runs it through the dispatch point ``apply``: a new Tensor, and
(module 06 is on) a recorded graph node, differentiated by the Op's own ``backward``.
Argument names, orders and defaults are PyTorch's.
"""

from __future__ import annotations

from typing import Any

from tinytorch.spatial.ops import (
    AvgPool2dOp,
    BatchNormOp,
    Conv2dOp,
    MaxPool2dOp,
    conv_padding,
    pool_arguments,
    to_pair,
)
from tinytorch.tensor import Tensor, apply


def make_conv2d_op(
    kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1, groups: int = 1
) -> Conv2dOp:
    """A `Conv2dOp` from PyTorch-style arguments (ints, pairs, or ``"same"``/``"valid"``)."""
    kernel = to_pair(kernel_size, "kernel_size", "conv2d", minimum=1)
    step = to_pair(stride, "stride", "conv2d", minimum=1)
    spread = to_pair(dilation, "dilation", "conv2d", minimum=1)
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    return Conv2dOp(step, conv_padding(padding, kernel, step, spread, "conv2d"), spread, groups)


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
    weight_shape = weight.shape if isinstance(weight, Tensor) else Tensor(weight).shape
    if len(weight_shape) != 4:
        raise ValueError(f"conv2d: weight must be (O, C/groups, kH, kW), got shape {weight_shape}")
    op = make_conv2d_op(weight_shape[2:], stride, padding, dilation, groups)
    return apply(op, x, weight) if bias is None else apply(op, x, weight, bias)


def max_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Max over kH x kW windows. x (..., H, W) -> (..., Ho, Wo); stride defaults to the kernel."""
    return apply(MaxPool2dOp(*pool_arguments(kernel_size, stride, padding, "max_pool2d")), x)


def avg_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Mean over kH x kW windows, zero padding included in the count (PyTorch's default)."""
    return apply(AvgPool2dOp(*pool_arguments(kernel_size, stride, padding, "avg_pool2d")), x)


def global_avg_pool2d(x: Tensor) -> Tensor:
    """Mean over the spatial dims: (N, C, H, W) -> (N, C). Cost: one pass over x."""
    if x.ndim != 4:
        raise ValueError(f"global_avg_pool2d: expected an input (N, C, H, W), got shape {x.shape}")
    return x.mean(dim=(2, 3))


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
    if (weight is None) != (bias is None):
        raise ValueError("batch_norm: give both weight and bias, or neither")
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
    and ``running_var`` in place (``(1 - momentum) * old + momentum * batch``, the variance
    unbiased). Eval: normalise with the running statistics. ``weight``/``bias`` (C,) scale and
    shift the result when given.
    """
    op = make_batch_norm_op(x, running_mean, running_var, weight, bias, training, eps)
    out = apply(op, x) if weight is None else apply(op, x, weight, bias)
    update_running_stats(op, x.numel() // x.shape[1], running_mean, running_var, momentum)
    return out
