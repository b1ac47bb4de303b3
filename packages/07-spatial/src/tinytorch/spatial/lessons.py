"""Systems lessons of module 07, as functions that return numbers.

- Shapes: a convolution's output size along a dim is
  ``(size + 2*padding - dilation*(kernel-1) - 1) // stride + 1`` (`conv_output_size`); a
  transposed convolution inverts it, ``(size-1)*stride - 2*padding + dilation*(kernel-1) +
  output_padding + 1`` (`conv_transpose_output_size`), and since a stride-s conv maps s input
  sizes to the same output size, ``output_padding`` says which one to go back to.
- Compute: a Conv2d does one multiply-add per weight per output pixel:
  ``2*N*O*Ho*Wo*(C/groups)*kH*kW`` FLOPs (`conv2d_flops`). The first conv of a CIFAR network,
  3 -> 32 channels, 3x3, on a batch of 128 images, is 0.23 GFLOPs; 32 -> 64 is 4.8 GFLOPs.
- Weight sharing: the same kernel slides over every position, so a conv layer has
  ``O*(C/groups)*kH*kW`` weights however large the image, where a dense layer between the same
  input and output would need ``(C*H*W)*(O*Ho*Wo)`` (`conv_vs_dense_parameters`).
- im2col trades memory for speed: the column matrix copies each pixel into up to kH*kW windows,
  9x the input for a 3x3 kernel at stride 1 (`im2col_memory`), and is kept for the backward.
- Activation memory grows with the batch: every layer's output lives until the backward has
  used it (`activation_memory`). BatchNorm adds 2 parameters and 2 statistics per channel
  (`batchnorm_counts`), negligible next to its activation-sized saved x_hat.
- Which values share a statistic: BatchNorm averages each channel over the batch (C
  statistics of N*H*W values: every example changes the others' outputs, and a batch of 1
  cannot train), GroupNorm each example's channel group (N*G statistics of C/G*H*W values,
  independent of the batch) (`normalization_counts`).
- Loops versus BLAS: the same convolution as a loop over output pixels and as im2col + one
  matmul runs orders of magnitude apart (`conv_timing`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinytorch.autograd import no_grad
from tinytorch.layers import Module
from tinytorch.setup.measure import Timer
from tinytorch.spatial.naive import conv2d_naive
from tinytorch.spatial.ops import Conv2dOp, output_size, to_pair, transposed_output_size
from tinytorch.tensor import Tensor


def conv_output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length along one dim of a convolution (or pooling) over ``size`` input pixels.

    ``conv_output_size(32, 3, padding=1)`` is 32; ``conv_output_size(32, 3, stride=2)`` is 15.
    Raises when the dilated kernel is larger than the padded input.
    """
    if min(size, kernel_size, stride, dilation) < 1 or padding < 0:
        raise ValueError(
            f"conv_output_size: need size, kernel_size, stride, dilation >= 1 and padding >= 0, "
            f"got size={size}, kernel_size={kernel_size}, stride={stride}, padding={padding}, "
            f"dilation={dilation}"
        )
    out = output_size(size, 2 * padding, kernel_size, stride, dilation)
    if out < 1:
        raise ValueError(
            f"conv_output_size: a kernel of {kernel_size} (dilation {dilation}) does not fit in "
            f"{size} pixels padded by {padding} on each side"
        )
    return out


def conv_transpose_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Output length along one dim of a transposed convolution (ConvTranspose2d) over ``size``
    input pixels: ``(size-1)*stride - 2*padding + dilation*(kernel_size-1) + output_padding + 1``.

    The inverse of `conv_output_size`: ``conv_output_size(conv_transpose_output_size(s, ...),
    ...)`` is ``s`` again. ``conv_transpose_output_size(16, 4, stride=2, padding=1)`` is 32 (the
    usual 2x upsampling); ``conv_output_size`` maps both 31 and 32 to 16 with kernel 3,
    stride 2, padding 1, and ``output_padding=1`` picks 32. Raises on bad arguments
    (``output_padding`` must be smaller than stride or dilation, as in PyTorch).
    """
    if min(size, kernel_size, stride, dilation) < 1 or min(padding, output_padding) < 0:
        raise ValueError(
            f"conv_transpose_output_size: need size, kernel_size, stride, dilation >= 1 and "
            f"padding, output_padding >= 0, got size={size}, kernel_size={kernel_size}, "
            f"stride={stride}, padding={padding}, output_padding={output_padding}, "
            f"dilation={dilation}"
        )
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError(
            f"conv_transpose_output_size: output_padding ({output_padding}) must be smaller "
            f"than stride ({stride}) or dilation ({dilation})"
        )
    out = transposed_output_size(size, kernel_size, stride, padding, output_padding, dilation)
    if out < 1:
        raise ValueError(
            f"conv_transpose_output_size: padding {padding} removes more than the "
            f"{out + 2 * padding} pixels the transposed convolution makes"
        )
    return out


def conv2d_output_shape(
    input_shape: tuple[int, int, int, int],
    out_channels: int,
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
) -> tuple[int, int, int, int]:
    """(N, C, H, W) -> (N, out_channels, Ho, Wo) of a Conv2d; ints or (h, w) pairs."""
    n, _, h, w = input_shape
    kh, kw = to_pair(kernel_size, "kernel_size", "conv2d_output_shape", minimum=1)
    sh, sw = to_pair(stride, "stride", "conv2d_output_shape", minimum=1)
    ph, pw = to_pair(padding, "padding", "conv2d_output_shape")
    dh, dw = to_pair(dilation, "dilation", "conv2d_output_shape", minimum=1)
    return n, out_channels, conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw)


def conv2d_flops(
    input_shape: tuple[int, int, int, int],
    out_channels: int,
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    bias: bool = True,
    backward: bool = False,
) -> int:
    """FLOPs of a Conv2d on ``input_shape`` (N, C, H, W) (a multiply-add counts 2).

    Forward: every output element (N*O*Ho*Wo of them) is a dot product of length
    (C/groups)*kH*kW, so ``2*N*O*Ho*Wo*(C/groups)*kH*kW``, plus ``N*O*Ho*Wo`` for the bias.
    With ``backward=True``, forward plus backward: dL/dx and dL/dW are one such product each,
    dL/db a sum over the output. ``conv2d_flops((128, 3, 32, 32), 32, 3, padding=1)`` is
    230,686,720.
    """
    n, c, _, _ = input_shape
    _, _, ho, wo = conv2d_output_shape(
        input_shape, out_channels, kernel_size, stride, padding, dilation
    )
    kh, kw = to_pair(kernel_size, "kernel_size", "conv2d_flops", minimum=1)
    if c % groups or out_channels % groups:
        raise ValueError(
            f"conv2d_flops: channels {c} -> {out_channels} are not divisible by groups={groups}"
        )
    # HINT: count the output elements, then the multiply-adds each one needs
    # BEGIN SOLUTION
    outputs = n * out_channels * ho * wo
    products = 2 * outputs * (c // groups) * kh * kw
    bias_flops = outputs if bias else 0
    forward = products + bias_flops
    if not backward:
        return forward
    return forward + 2 * products + bias_flops
    # END SOLUTION


def conv_vs_dense_parameters(
    input_shape: tuple[int, int, int],
    out_channels: int,
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    bias: bool = True,
) -> dict[str, float]:
    """Parameters of a Conv2d on a (C, H, W) image versus a dense (Linear) layer that maps the
    same input to an output of the same size.

    Returns ``{"conv": ..., "dense": ..., "ratio": dense / conv}``. For CIFAR's (3, 32, 32) to
    32 channels with a 3x3 kernel, padding 1: 896 versus 100,696,064 -- weight sharing.
    """
    c, h, w = input_shape
    _, _, ho, wo = conv2d_output_shape((1, c, h, w), out_channels, kernel_size, stride, padding)
    kh, kw = to_pair(kernel_size, "kernel_size", "conv_vs_dense_parameters", minimum=1)
    # HINT: a conv shares one (c x kh x kw) filter per output channel across all positions; a dense
    # HINT: layer with the same input and output sizes has one weight per (input, output) pair
    # BEGIN SOLUTION
    conv = out_channels * c * kh * kw + (out_channels if bias else 0)
    outputs = out_channels * ho * wo
    dense = c * h * w * outputs + (outputs if bias else 0)
    # END SOLUTION
    return {"conv": conv, "dense": dense, "ratio": dense / conv}


def im2col_memory(
    input_shape: tuple[int, int, int, int],
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    dtype: Any = np.float32,
) -> dict[str, float]:
    """Bytes of the im2col column matrix of a convolution versus bytes of its input.

    Returns ``{"input_bytes", "columns_bytes", "ratio"}``: the columns hold kH*kW*C numbers per
    output pixel, N*Ho*Wo pixels. A 3x3 kernel at stride 1 with padding 1 gives ratio 9;
    stride 2 about 2.25; a 1x1 kernel 1 (the columns are then the input itself).
    """
    n, c, h, w = input_shape
    _, _, ho, wo = conv2d_output_shape(input_shape, 1, kernel_size, stride, padding, dilation)
    kh, kw = to_pair(kernel_size, "kernel_size", "im2col_memory", minimum=1)
    itemsize = np.dtype(dtype).itemsize
    # HINT: im2col copies, for each of the ho*wo output positions, its whole kh*kw*c receptive
    # HINT: field: count those values per image, times n, times itemsize
    # BEGIN SOLUTION
    input_bytes = n * c * h * w * itemsize
    columns_bytes = n * (kh * kw * c) * (ho * wo) * itemsize
    # END SOLUTION
    return {
        "input_bytes": input_bytes,
        "columns_bytes": columns_bytes,
        "ratio": columns_bytes / input_bytes,
    }


def activation_memory(
    layers: Iterable[Module], input_shape: tuple[int, ...], dtype: Any = np.float32
) -> list[dict[str, Any]]:
    """Bytes of every layer's output for an input of ``input_shape`` (batch included).

    ``layers`` is any iterable of Modules (a list, or a `Sequential`), run in order on zeros
    in eval mode under ``no_grad`` (nothing is updated, nothing kept; modes are restored).
    One row per layer: ``{"layer", "output_shape", "bytes"}``. A training forward keeps all of
    them alive until the backward: their sum grows linearly with the batch size.
    """
    layers = list(layers)
    modes = [(module, module.training) for layer in layers for module in layer.modules()]
    rows = []
    x = Tensor(np.zeros(input_shape, dtype=dtype))
    try:
        with no_grad():
            for layer in layers:
                layer.eval()
                x = layer(x)
                rows.append(
                    {"layer": type(layer).__name__, "output_shape": x.shape, "bytes": x.nbytes}
                )
    finally:
        for module, training in modes:
            module.training = training
    return rows


def batchnorm_counts(
    num_features: int, affine: bool = True, track_running_stats: bool = True
) -> dict[str, int]:
    """What a BatchNorm layer over ``num_features`` channels stores.

    Returns ``{"parameters", "buffers", "parameter_bytes", "buffer_bytes"}``: weight and bias
    (C each, trained, only when ``affine``), running_mean and running_var (C each, float32)
    plus num_batches_tracked (one int64), only when ``track_running_stats``.
    ``batchnorm_counts(64)`` is 128 parameters and 129 buffer values (512 and 520 bytes).
    """
    # HINT: affine: weight and bias, one per feature (float32); tracking: running mean and var per
    # HINT: feature (float32) plus one int64 num_batches_tracked
    # BEGIN SOLUTION
    parameters = 2 * num_features if affine else 0
    buffers = 2 * num_features + 1 if track_running_stats else 0
    parameter_bytes = parameters * 4
    buffer_bytes = 2 * num_features * 4 + 8 if track_running_stats else 0
    # END SOLUTION
    return {
        "parameters": parameters,
        "buffers": buffers,
        "parameter_bytes": parameter_bytes,
        "buffer_bytes": buffer_bytes,
    }


def normalization_counts(
    input_shape: tuple[int, ...], num_groups: int
) -> dict[str, dict[str, int]]:
    """How many statistics (mean, variance pairs) BatchNorm and GroupNorm compute on an input
    (N, C, *), and over how many values each.

    Returns ``{"batch_norm": row, "group_norm": row}``, each ``{"statistics",
    "values_per_statistic", "examples_per_statistic"}``. For (32, 64, 16, 16) and 8 groups:
    BatchNorm 64 statistics of 8,192 values, each mixing all 32 examples; GroupNorm 256
    statistics of 2,048 values, each from one example, so batch size 1 works the same.
    """
    n, channels = input_shape[:2]
    spatial = math.prod(input_shape[2:])
    if channels % num_groups:
        raise ValueError(
            f"normalization_counts: {channels} channels are not divisible by num_groups="
            f"{num_groups}"
        )
    # HINT: BatchNorm: one mean/var per channel, over n * spatial values; GroupNorm: one per
    # HINT: (sample, group), over (channels / num_groups) * spatial values
    # BEGIN SOLUTION
    batch = {"statistics": channels, "values_per_statistic": n * spatial}
    group = {
        "statistics": n * num_groups,
        "values_per_statistic": channels // num_groups * spatial,
    }
    # END SOLUTION
    batch["examples_per_statistic"], group["examples_per_statistic"] = n, 1
    return {"batch_norm": batch, "group_norm": group}


def conv_timing(
    input_shape: tuple[int, int, int, int] = (4, 8, 16, 16),
    out_channels: int = 16,
    kernel_size: int = 3,
    padding: int = 1,
    repeats: int = 3,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Time one float32 convolution two ways: `conv2d_naive` (a loop over output pixels) and
    the im2col `Conv2dOp` (one matmul).

    Returns ``{"naive": row, "im2col": row}``, each ``{"seconds": median per call, "gflops",
    "max_abs_error": largest |result - naive|}``. Cost: ``repeats + 2`` calls of each; the
    naive one makes N*O*Ho*Wo Python iterations (16,384 for the defaults, ~0.05 s).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(input_shape, dtype=np.float32)
    c = input_shape[1]
    weight = rng.standard_normal((out_channels, c, kernel_size, kernel_size), dtype=np.float32)
    pad = ((padding, padding), (padding, padding))
    variants: dict[str, Callable[[], np.ndarray]] = {
        "naive": lambda: conv2d_naive(x, weight, padding=padding),
        "im2col": lambda: Conv2dOp((1, 1), pad, (1, 1), 1).forward(x, weight),
    }
    flops = conv2d_flops(input_shape, out_channels, kernel_size, padding=padding, bias=False)
    reference = variants["naive"]()
    report = {}
    for name, run in variants.items():
        seconds = Timer(warmup=1, repeats=repeats).measure(run).median_s
        report[name] = {
            "seconds": seconds,
            "gflops": flops / max(seconds, 1e-12) / 1e9,
            "max_abs_error": float(np.max(np.abs(run() - reference))),
        }
    return report
