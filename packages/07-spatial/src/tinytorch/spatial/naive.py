"""Loop implementations, written straight from the definitions: the test oracles.

They are slow on purpose (one Python iteration per output pixel, or per channel) and never used
by the layers; the tests compare the vectorised Ops against them. Arrays in, arrays out, NCHW;
arguments as in `tinytorch.spatial.functional` (ints or (h, w) pairs). `batch_norm_composed` is
the other kind of oracle: batch norm built from Tensor ops, so that autograd (module 06)
differentiates it step by step; its gradients check the closed-form backward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.spatial.ops import output_size, pool_arguments, to_pair
from tinytorch.tensor import Tensor


def conv2d_naive(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> np.ndarray:
    """``out[n, o, p, q] = bias[o] + sum over (c, i, j) of w[o, c, i, j] * x_pad[n, g*Cg + c,
    p*sH + i*dH, q*sW + j*dW]`` with g = o // (O/groups): a loop over every output pixel.

    x (N, C, H, W), weight (O, C/groups, kH, kW) -> (N, O, Ho, Wo), in x's and weight's dtype.
    """
    sh, sw = to_pair(stride, "stride", "conv2d_naive", minimum=1)
    ph, pw = to_pair(padding, "padding", "conv2d_naive")
    dh, dw = to_pair(dilation, "dilation", "conv2d_naive", minimum=1)
    n, _, h, w = x.shape
    out_channels, cg, kh, kw = weight.shape
    per_group = out_channels // groups
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = output_size(h, 2 * ph, kh, sh, dh), output_size(w, 2 * pw, kw, sw, dw)
    out = np.zeros((n, out_channels, ho, wo), dtype=np.result_type(x, weight))
    # BEGIN SOLUTION
    for b in range(n):
        for o in range(out_channels):
            first = (o // per_group) * cg
            for p in range(ho):
                for q in range(wo):
                    rows = slice(p * sh, p * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(q * sw, q * sw + dw * (kw - 1) + 1, dw)
                    window = xp[b, first : first + cg, rows, cols]
                    out[b, o, p, q] = np.sum(window * weight[o])
            if bias is not None:
                out[b, o] += bias[o]
    # END SOLUTION
    return out


def _pool_naive(
    x: np.ndarray, kernel_size: Any, stride: Any, padding: Any, fill: float, reduce: Any
) -> np.ndarray:
    """``reduce`` over every kH x kW window of x (..., H, W) padded with ``fill``."""
    kernel, step, pad = pool_arguments(kernel_size, stride, padding, "pool2d_naive")
    (ph, _), (pw, _) = pad
    *lead, h, w = x.shape
    xp = np.pad(x, [(0, 0)] * len(lead) + [(ph, ph), (pw, pw)], constant_values=fill)
    ho = output_size(h, 2 * ph, kernel[0], step[0])
    wo = output_size(w, 2 * pw, kernel[1], step[1])
    out = np.zeros((*lead, ho, wo), dtype=x.dtype)
    # BEGIN SOLUTION
    for p in range(ho):
        for q in range(wo):
            top, left = p * step[0], q * step[1]
            window = xp[..., top : top + kernel[0], left : left + kernel[1]]
            out[..., p, q] = reduce(window, axis=(-2, -1))
    # END SOLUTION
    return out


def max_pool2d_naive(
    x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0
) -> np.ndarray:
    """Max of every window (padding is -inf), a loop over output pixels: the oracle of
    `tinytorch.spatial.max_pool2d`. x (..., H, W) -> (..., Ho, Wo)."""
    return _pool_naive(x, kernel_size, stride, padding, -np.inf, np.max)


def avg_pool2d_naive(
    x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0
) -> np.ndarray:
    """Mean of every window, zero padding counted (count_include_pad=True): the oracle of
    `tinytorch.spatial.avg_pool2d`. x (..., H, W) -> (..., Ho, Wo)."""
    return _pool_naive(x, kernel_size, stride, padding, 0.0, np.mean)


def batch_norm_naive(
    x: np.ndarray,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    eps: float = 1e-5,
    running_mean: np.ndarray | None = None,
    running_var: np.ndarray | None = None,
    training: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch normalisation one channel at a time, statistics computed in float64.

    x (N, C, *) -> (y, mean, var), where mean and var (C,) are the batch's (var biased) in
    training and the running statistics in eval. y has x's dtype.
    """
    channels = x.shape[1]
    y = np.zeros(x.shape, dtype=np.float64)
    means = np.zeros(channels)
    variances = np.zeros(channels)
    # BEGIN SOLUTION
    for c in range(channels):
        values = x[:, c].astype(np.float64)
        if training:
            mean = values.sum() / values.size
            var = ((values - mean) ** 2).sum() / values.size
        else:
            assert running_mean is not None and running_var is not None
            mean, var = float(running_mean[c]), float(running_var[c])
        normalised = (values - mean) / np.sqrt(var + eps)
        scale = 1.0 if weight is None else float(weight[c])
        shift = 0.0 if bias is None else float(bias[c])
        y[:, c] = normalised * scale + shift
        means[c], variances[c] = mean, var
    # END SOLUTION
    return y.astype(x.dtype), means, variances


def batch_norm_composed(
    x: Tensor, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Training-mode batch norm of x (N, C, *) from Tensor ops: mean, var, sqrt, arithmetic.

    Autograd records about ten ops (and keeps their inputs); `tinytorch.spatial.batch_norm`
    does the same in one Op with a closed-form backward.
    """
    axes = (0, *range(2, x.ndim))
    shape = (1, x.shape[1], *([1] * (x.ndim - 2)))
    mean = x.mean(dim=axes, keepdim=True)
    var = x.var(dim=axes, keepdim=True, correction=0)
    out = (x - mean) / (var + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out
