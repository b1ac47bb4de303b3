"""Loop implementations, written straight from the definitions: the test oracles.

They are slow on purpose (one Python iteration per output pixel, input pixel, channel or group)
and never used by the layers; the tests compare the vectorised Ops against them, on small
inputs. Arrays in, arrays out, NCHW (NCL for 1-d); arguments as in
`tinytorch.spatial.functional` (ints or (h, w) pairs). They share no code with the Ops they
check beyond argument parsing: the pooling oracles loop over each window's real pixels the way
PyTorch's CPU kernels do, with PyTorch's output-size rule written out again.
`batch_norm_composed` is the other kind of oracle: batch norm built from Tensor ops, so that
autograd (module 06) differentiates it step by step; its gradients check the closed-form
backward.
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
    # HINT: the definition, as loops: out[b, o, p, q] = sum of the window of the padded input (the
    # HINT: group's channels, rows p*stride .. step dilation) times weight[o], plus bias[o]
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


def conv1d_naive(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
) -> np.ndarray:
    """``out[n, o, p] = bias[o] + sum over (c, i) of w[o, c, i] * x_pad[n, g*Cg + c,
    p*stride + i*dilation]`` with g = o // (O/groups): a loop over every output position.

    x (N, C, L), weight (O, C/groups, K) -> (N, O, Lo), in x's and weight's dtype.
    """
    n, _, length = x.shape
    out_channels, cg, k = weight.shape
    per_group = out_channels // groups
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    lo = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((n, out_channels, lo), dtype=np.result_type(x, weight))
    # HINT: as conv2d_naive with one spatial dim: out[b, o, p] = sum(window * weight[o]) + bias[o]
    # BEGIN SOLUTION
    for b in range(n):
        for o in range(out_channels):
            first = (o // per_group) * cg
            for p in range(lo):
                taps = slice(p * stride, p * stride + dilation * (k - 1) + 1, dilation)
                out[b, o, p] = np.sum(xp[b, first : first + cg, taps] * weight[o])
            if bias is not None:
                out[b, o] += bias[o]
    # END SOLUTION
    return out


def conv_transpose2d_naive(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> np.ndarray:
    """Every input pixel scatters ``x[n, c, p, q] * weight[c]`` (a C_out/groups x kH x kW
    block) into the output window at ``(p*sH - pH + i*dH, q*sW - pW + j*dW)`` of its group's
    output channels: a loop over every input pixel (the definition, and the adjoint of
    `conv2d_naive`'s gather).

    x (N, C_in, H, W), weight (C_in, C_out/groups, kH, kW) -> (N, C_out, Ho, Wo) with
    ``Ho = (H - 1)*sH - 2*pH + dH*(kH - 1) + output_padding + 1``.
    """
    sh, sw = to_pair(stride, "stride", "conv_transpose2d_naive", minimum=1)
    ph, pw = to_pair(padding, "padding", "conv_transpose2d_naive")
    oh, ow = to_pair(output_padding, "output_padding", "conv_transpose2d_naive")
    dh, dw = to_pair(dilation, "dilation", "conv_transpose2d_naive", minimum=1)
    n, in_channels, h, w = x.shape
    _, per_group_out, kh, kw = weight.shape
    per_group_in = in_channels // groups
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1
    wo = (w - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1
    full = np.zeros(
        (n, per_group_out * groups, ho + 2 * ph, wo + 2 * pw), np.result_type(x, weight)
    )
    # HINT: the adjoint of conv2d: each input pixel x[b, c, p, q] scatters x * weight[c] into the
    # HINT: window at (p*stride, q*stride) of the output (its group's channels); add, never assign
    # BEGIN SOLUTION
    for b in range(n):
        for c in range(in_channels):
            first = (c // per_group_in) * per_group_out
            for p in range(h):
                for q in range(w):
                    rows = slice(p * sh, p * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(q * sw, q * sw + dw * (kw - 1) + 1, dw)
                    full[b, first : first + per_group_out, rows, cols] += x[b, c, p, q] * weight[c]
    # END SOLUTION
    out = full[:, :, ph : ph + ho, pw : pw + wo]
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return np.ascontiguousarray(out)


def _pool_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size (written out again: the oracle shares no code with the
    Ops it checks)."""
    numerator = size + 2 * p - d * (k - 1) - 1
    out = (-(-numerator // s) if ceil_mode else numerator // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def max_pool2d_naive(
    x: np.ndarray,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max of every window, PyTorch's CPU kernel as loops: the oracle of
    `tinytorch.spatial.max_pool2d`. x (..., H, W) -> (..., Ho, Wo) [, indices int64].

    For output pixel (p, q) the window reads input rows ``p*sH - pH + i*dH`` and columns
    ``q*sW - pW + j*dW`` that lie inside the input (padding is never the maximum). The index
    starts at the first real pixel and moves to each value that is strictly larger or NaN.
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = pool_arguments(
        kernel_size, stride, padding, "max_pool2d_naive", dilation
    )
    *lead, h, w = x.shape
    ho = _pool_size(h, kh, sh, ph, dh, ceil_mode)
    wo = _pool_size(w, kw, sw, pw, dw, ceil_mode)
    planes = x.reshape(-1, h, w)
    out = np.zeros((planes.shape[0], ho, wo), dtype=x.dtype)
    indices = np.zeros((planes.shape[0], ho, wo), dtype=np.int64)
    # HINT: for each output pixel, scan the window's in-bounds input pixels (padding never wins),
    # HINT: keep the largest value and its flat index r * w + c; a NaN wins, as in PyTorch
    # BEGIN SOLUTION
    for b in range(planes.shape[0]):
        for p in range(ho):
            for q in range(wo):
                rows = range(p * sh - ph, p * sh - ph + dh * (kh - 1) + 1, dh)
                cols = range(q * sw - pw, q * sw - pw + dw * (kw - 1) + 1, dw)
                real = [(r, c) for r in rows if 0 <= r < h for c in cols if 0 <= c < w]
                best, where = -np.inf, real[0][0] * w + real[0][1]
                for r, c in real:
                    value = planes[b, r, c]
                    if value > best or np.isnan(value):
                        best, where = value, r * w + c
                out[b, p, q], indices[b, p, q] = best, where
    # END SOLUTION
    out = out.reshape(*lead, ho, wo)
    return (out, indices.reshape(*lead, ho, wo)) if return_indices else out


def avg_pool2d_naive(
    x: np.ndarray,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Mean of every window, PyTorch's CPU kernel as loops: the oracle of
    `tinytorch.spatial.avg_pool2d`. x (..., H, W) -> (..., Ho, Wo).

    Window (p, q) spans rows ``p*sH - pH`` to that plus kH, cut at ``H + pH`` (the padded
    input's end); it sums the real pixels in it and divides by ``divisor_override``, else by
    its size (``count_include_pad``), else by its number of real pixels.
    """
    (kh, kw), (sh, sw), (ph, pw), _ = pool_arguments(
        kernel_size, stride, padding, "avg_pool2d_naive"
    )
    *lead, h, w = x.shape
    ho = _pool_size(h, kh, sh, ph, 1, ceil_mode)
    wo = _pool_size(w, kw, sw, pw, 1, ceil_mode)
    out = np.zeros((*lead, ho, wo), dtype=x.dtype)
    # HINT: sum each window's in-bounds pixels and divide by divisor_override, else by the window's
    # HINT: size with padding (count_include_pad) or without it
    # BEGIN SOLUTION
    for p in range(ho):
        for q in range(wo):
            top, left = p * sh - ph, q * sw - pw
            bottom, right = min(top + kh, h + ph), min(left + kw, w + pw)
            size = (bottom - top) * (right - left)
            top, left, bottom, right = max(top, 0), max(left, 0), min(bottom, h), min(right, w)
            if top >= bottom or left >= right:
                continue
            window = x[..., top:bottom, left:right]
            if divisor_override is not None:
                divisor = divisor_override
            else:
                divisor = size if count_include_pad else (bottom - top) * (right - left)
            out[..., p, q] = window.sum(axis=(-2, -1)) / divisor
    # END SOLUTION
    return out


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
    # HINT: per channel: mean and biased variance over (N, H, W) when training, else the running
    # HINT: ones; normalise (x - mean) / sqrt(var + eps), then scale by weight and shift by bias
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


def group_norm_naive(
    x: np.ndarray,
    num_groups: int,
    weight: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group normalisation one (example, group) at a time, statistics in float64.

    x (N, C, *) -> (y, mean, var) with mean and var (N, num_groups) (var biased); y has x's
    dtype. Group g of example n holds channels ``g*C/G .. (g+1)*C/G - 1`` and every spatial
    position.
    """
    n, channels = x.shape[:2]
    per_group = channels // num_groups
    y = np.zeros(x.shape, dtype=np.float64)
    means = np.zeros((n, num_groups))
    variances = np.zeros((n, num_groups))
    # HINT: per sample and group of channels: mean and biased variance over the group's values, then
    # HINT: (x - mean) / sqrt(var + eps)
    # BEGIN SOLUTION
    for b in range(n):
        for g in range(num_groups):
            block = slice(g * per_group, (g + 1) * per_group)
            values = x[b, block].astype(np.float64)
            mean = values.sum() / values.size
            var = ((values - mean) ** 2).sum() / values.size
            y[b, block] = (values - mean) / np.sqrt(var + eps)
            means[b, g], variances[b, g] = mean, var
    # END SOLUTION
    for c in range(channels):
        scale = 1.0 if weight is None else float(weight[c])
        shift = 0.0 if bias is None else float(bias[c])
        y[:, c] = y[:, c] * scale + shift
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
