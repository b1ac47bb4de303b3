"""Convolution with one big GEMM per pass, channels-last columns and reused buffers.

The reference `Conv2dOp` (module 07) builds its column matrix image by image in NCHW order,
(N, kH*kW*C, Ho*Wo), multiplies it with N small matmuls, and adds the input gradient back with
col2im (kH*kW strided ``+=``). This kernel computes the same thing with less data movement:

- **channels-last columns.** The padded input is written once into an (N, Hp, Wp, C) scratch
  array; the columns (N*Ho*Wo, kH*kW*C) are then one strided copy whose innermost run is
  kW*C contiguous numbers (stride 1) instead of single pixels.
- **one GEMM per product.** Forward ``Y = cols @ W`` (N*Ho*Wo, O), weight gradient
  ``dW = cols^T @ dY`` and input gradient each as one large matrix multiply, which BLAS runs
  close to the machine's peak; no batch of small matmuls, no (N, O, K) temporary to sum.
- **gather, not scatter, for dL/dx** (stride 1): the input gradient of a stride-1 convolution
  is a convolution of the padded output gradient with the flipped kernel, so it is one more
  im2col (a copy) and a GEMM, instead of kH*kW read-modify-write passes of col2im.
- **channels-last activations** (PyTorch's ``torch.channels_last``): the GEMM's output rows are
  pixels, so the (N, O, Ho, Wo) result is returned as that array viewed with channels-last
  strides (``flat.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)``, no copy), and so is the input
  gradient. An input or output gradient that is channels-last already (the fused
  BatchNorm+ReLU and max-pool kernels keep the layout) needs no transposing copy either: the
  padding is a contiguous row copy and the gradient's (N*Ho*Wo, O) matrix is a view. NumPy
  ufuncs and reductions accept any strides, so the reference Ops downstream compute the same
  values; measured on milestone 05's CNN step, this removed ~30% of the kernels' step time.
- **reused buffers** (`tinytorch.kernels.buffers`): the padded input, the columns and the
  gradient's columns are taken from a pool, so a training step does not fault in hundreds of
  MB of fresh pages every call.

Configurations it does not cover (groups > 1; stride > 1 for the backward's input gradient
falls back to a channels-last col2im) run the parts that apply; results equal the reference
Op's to float round-off (different summation order). Threads: BLAS's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tinytorch.kernels.backend import mark_fast, ran_fast
from tinytorch.kernels.buffers import pool
from tinytorch.spatial.ops import Conv1dOp, Conv2dOp
from tinytorch.tensor.dispatch import Grads


def channels_last(x: np.ndarray) -> bool:
    """True when ``x`` (N, C, H, W) is stored channels-last: ``x.transpose(0, 2, 3, 1)`` is
    C-contiguous (PyTorch's ``torch.channels_last``; each pixel's C numbers side by side)."""
    return x.ndim == 4 and x.transpose(0, 2, 3, 1).flags.c_contiguous


def as_channels_last(x: np.ndarray, tag: str | None = None) -> np.ndarray:
    """x (N, C, H, W) -> the same values as a C-contiguous (N, H, W, C) array: a view when x is
    channels-last already, else one transposing copy (into a pooled buffer when ``tag`` is
    given, so only use that copy before the next `take` of the tag)."""
    nhwc = x.transpose(0, 2, 3, 1)
    if nhwc.flags.c_contiguous:
        return nhwc
    out = np.empty(nhwc.shape, x.dtype) if tag is None else pool.take(tag, nhwc.shape, x.dtype)
    out[...] = nhwc
    return out


def _padded_nhwc(x: np.ndarray, padding: Any, tag: str) -> np.ndarray:
    """x (N, C, H, W), either layout -> a pooled (N, Hp, Wp, C) array: x channels-last, zeros
    around it (a contiguous row copy when x is channels-last, a transpose otherwise)."""
    (top, bottom), (left, right) = padding
    n, c, h, w = x.shape
    out = pool.take(tag, (n, h + top + bottom, w + left + right, c), x.dtype)
    if top or bottom or left or right:
        out[:, :top] = 0
        out[:, top + h :] = 0
        out[:, top : top + h, :left] = 0
        out[:, top : top + h, left + w :] = 0
    out[:, top : top + h, left : left + w] = x.transpose(0, 2, 3, 1)
    return out


def _columns(xp: np.ndarray, kernel: Any, stride: Any, dilation: Any, out_hw: Any, tag: str):
    """xp (N, Hp, Wp, C) -> pooled columns (N*Ho*Wo, kH*kW*C), rows (n, p, q), columns (i, j, c)."""
    n, _, _, c = xp.shape
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    sn, sy, sx, sc = xp.strides
    windows = as_strided(
        xp, (n, ho, wo, kh, kw, c), (sn, sy * sh, sx * sw, sy * dh, sx * dw, sc), writeable=False
    )
    cols = pool.take(tag, (n, ho, wo, kh, kw, c), xp.dtype)
    np.copyto(cols, windows)
    return cols.reshape(n * ho * wo, kh * kw * c)


def _weight_columns(weight: np.ndarray) -> np.ndarray:
    """weight (O, C, kH, kW) -> (kH*kW*C, O), rows ordered (i, j, c) like `_columns`."""
    o = weight.shape[0]
    return weight.transpose(2, 3, 1, 0).reshape(-1, o)


class Conv2dKernel:
    """The fast path for `Conv2dOp` and `Conv1dOp` (groups=1); others run the reference."""

    description = "conv: channels-last im2col, one GEMM per pass, gather backward, reused buffers"

    def forward(
        self, op: Conv2dOp, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None
    ) -> np.ndarray:
        ho, wo = op._check(x, weight, bias)
        if op.groups != 1 or x.dtype != weight.dtype:
            mark_fast(op, False)
            return op.forward(x, weight, bias)
        mark_fast(op, True)
        x2, w2 = op.as_2d(x), op.as_2d(weight)
        n = x2.shape[0]
        out_channels, _, kh, kw = w2.shape
        xp = _padded_nhwc(x2, op.padding, "conv.input")
        op.padded_shape = (n, x2.shape[1], xp.shape[1], xp.shape[2])
        cols = _columns(xp, (kh, kw), op.stride, op.dilation, (ho, wo), "conv.cols")
        flat = np.matmul(cols, _weight_columns(w2))  # (N*Ho*Wo, O)
        if bias is not None:
            flat += bias
        # the GEMM's rows are pixels: (N, O, Ho, Wo) channels-last is that array as it is
        out = flat.reshape(n, ho, wo, out_channels).transpose(0, 3, 1, 2)
        op.save_for_backward(cols, weight)
        return op.from_2d(out)

    def backward(self, op: Conv2dOp, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        if not ran_fast(op):
            return op.backward(grad, needs)
        cols, weight = op.saved
        g2, w2 = op.as_2d(grad), op.as_2d(weight)
        out_channels = g2.shape[1]
        _, channels, kh, kw = w2.shape
        grad_input = grad_weight = grad_bias = None
        gt = as_channels_last(g2, "conv.grad")  # a view when the gradient is channels-last
        gflat = gt.reshape(-1, out_channels)  # (N*Ho*Wo, O)
        if len(needs) > 2 and needs[2]:
            grad_bias = gflat.sum(axis=0)
        if needs[1]:
            dw = np.matmul(cols.T, gflat)  # (kH*kW*C, O)
            grad_weight = op.from_2d(
                np.ascontiguousarray(
                    dw.reshape(kh, kw, channels, out_channels).transpose(3, 2, 0, 1)
                )
            )
        if needs[0]:
            grad_input = op.from_2d(self._input_grad(op, gt, w2))
        return (grad_input, grad_weight, grad_bias)[: len(needs)]

    def _input_grad(self, op: Conv2dOp, gt: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """dL/dx (N, C, H, W), stored channels-last, from dL/dY channels-last (N, Ho, Wo, O)."""
        n, ho, wo, out_channels = gt.shape
        _, channels, kh, kw = weight.shape
        _, _, hp, wp = op.padded_shape
        (top, bottom), (left, right) = op.padding
        h, w = hp - top - bottom, wp - left - right
        (sh, sw), (dh, dw) = op.stride, op.dilation
        if (sh, sw) == (1, 1):
            # dx[y, x] = sum_{i,j} dY[y + top - i*dh, x + left - j*dw] . W[:, :, i, j]: pad dY by
            # dilation*(k-1) - pad (cropping where that is negative), flip the kernel, im2col
            pads = []
            for size, total, k, d, before in ((h, ho, kh, dh, top), (w, wo, kw, dw, left)):
                lo = d * (k - 1) - before
                hi = size - 1 + before - (total - 1)
                pads.append((lo, hi))
            (lo_h, hi_h), (lo_w, hi_w) = pads
            src = gt[:, max(-lo_h, 0) : ho - max(-hi_h, 0), max(-lo_w, 0) : wo - max(-hi_w, 0)]
            padded = pool.take(
                "conv.gradpad",
                (
                    n,
                    src.shape[1] + max(lo_h, 0) + max(hi_h, 0),
                    src.shape[2] + max(lo_w, 0) + max(hi_w, 0),
                    out_channels,
                ),
                gt.dtype,
            )
            padded[...] = 0
            padded[
                :,
                max(lo_h, 0) : max(lo_h, 0) + src.shape[1],
                max(lo_w, 0) : max(lo_w, 0) + src.shape[2],
            ] = src
            gcols = _columns(padded, (kh, kw), (1, 1), (dh, dw), (h, w), "conv.gradcols")
            flipped = weight[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(-1, channels)
            flat = np.matmul(gcols, flipped)  # (N*H*W, C)
            return flat.reshape(n, h, w, channels).transpose(0, 3, 1, 2)  # channels-last
        # strided: dcols = dY @ W^T, then a channels-last col2im (kH*kW strided adds)
        dcols = np.matmul(gt.reshape(-1, out_channels), _weight_columns(weight).T)
        blocks = dcols.reshape(n, ho, wo, kh, kw, channels)
        padded = np.zeros((n, hp, wp, channels), dtype=gt.dtype)
        for i in range(kh):
            for j in range(kw):
                rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
                cols = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
                padded[:, rows, cols] += blocks[:, :, :, i, j]
        inside = np.ascontiguousarray(padded[:, top : top + h, left : left + w])
        return inside.transpose(0, 3, 1, 2)  # channels-last


KERNELS = {Conv2dOp: Conv2dKernel(), Conv1dOp: Conv2dKernel()}
