"""Max pooling in one pass per direction (numba), the reference's NumPy code otherwise.

The reference `MaxPool2dOp` makes kH*kW whole-array passes forward (compare, keep the larger)
and kH*kW masked strided adds backward. Compiled, each output pixel is one small loop over its
window: the forward reads the input once and writes the output and the argmax once; the
backward writes each output gradient straight to the pixel its window's maximum came from (one
pass over the gradient; planes run in parallel on `num_threads` threads, each plane in one
thread, so no two threads add to one pixel). The saved argmax (the kernel offset of each
maximum, 1 byte) and every rule of the reference (ties to the first offset, NaN wins with the
last NaN's offset, padding as -inf, ceil_mode, dilation, ``return_indices``) are the same.
A channels-last input (N, C, H, W) (see `tinytorch.kernels.conv.channels_last`) runs twins
that loop over pixels with the C channels innermost and keep the layout: channels-last
output, argmax and input gradient, images in parallel.
Without numba (or with ``use_numba(False)``) the reference's own forward and backward run.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.kernels.backend import jit, mark_fast, numba_enabled, prange, ran_fast
from tinytorch.kernels.conv import as_channels_last, channels_last
from tinytorch.spatial.ops import MaxPool2dOp
from tinytorch.tensor.dispatch import Grads


@jit()
def _max_pool_forward(x, ho, wo, kh, kw, sh, sw, ph, pw, dh, dw, out, argmax):  # pragma: no cover
    planes, h, w = x.shape
    for plane in prange(planes):
        for p in range(ho):
            for q in range(wo):
                best = -math.inf
                best_k = -1
                first = -1
                for i in range(kh):
                    row = p * sh - ph + i * dh
                    if row < 0 or row >= h:
                        continue
                    for j in range(kw):
                        col = q * sw - pw + j * dw
                        if col < 0 or col >= w:
                            continue
                        k = i * kw + j
                        if first < 0:
                            first = k
                        value = x[plane, row, col]
                        if value > best or math.isnan(value):
                            best = value
                            best_k = k
                out[plane, p, q] = best
                argmax[plane, p, q] = best_k if best_k >= 0 else first


@jit()
def _max_pool_forward_inside(x, ho, wo, kh, kw, sh, sw, dh, dw, out, argmax):  # pragma: no cover
    """The common case: no padding, every window inside the input (no bounds checks; a NaN
    never beats ``best`` here, so the caller redoes planes with NaNs the reference way)."""
    planes = x.shape[0]
    for plane in prange(planes):
        xp = x[plane]
        op = out[plane]
        ap = argmax[plane]
        for p in range(ho):
            for q in range(wo):
                best = xp[p * sh, q * sw]
                best_k = 0
                for i in range(kh):
                    for j in range(kw):
                        value = xp[p * sh + i * dh, q * sw + j * dw]
                        if value > best:
                            best = value
                            best_k = i * kw + j
                op[p, q] = best
                ap[p, q] = best_k


@jit()
def _max_pool_backward(grad, argmax, kw, sh, sw, ph, pw, dh, dw, out):  # pragma: no cover
    planes, ho, wo = grad.shape
    h, w = out.shape[1], out.shape[2]
    for plane in prange(planes):
        for p in range(ho):
            for q in range(wo):
                k = argmax[plane, p, q]
                i = k // kw
                j = k - i * kw
                row = p * sh - ph + i * dh
                col = q * sw - pw + j * dw
                if 0 <= row < h and 0 <= col < w:
                    out[plane, row, col] += grad[plane, p, q]


# Channels-last twins: x (N, H, W, C); the inner loop runs over a pixel's C channels
# (contiguous, vectorised), images in parallel.


@jit()
def _max_pool_forward_nhwc(
    x, ho, wo, kh, kw, sh, sw, ph, pw, dh, dw, out, argmax
):  # pragma: no cover - compiled
    n, h, w, c = x.shape
    for b in prange(n):
        for p in range(ho):
            for q in range(wo):
                best = out[b, p, q]
                where = argmax[b, p, q]
                best[:] = -math.inf
                first = -1
                for i in range(kh):
                    row = p * sh - ph + i * dh
                    if row < 0 or row >= h:
                        continue
                    for j in range(kw):
                        col = q * sw - pw + j * dw
                        if col < 0 or col >= w:
                            continue
                        k = i * kw + j
                        if first < 0:
                            first = k
                            where[:] = k  # all -inf so far: the first real offset
                        pixel = x[b, row, col]
                        for ch in range(c):
                            value = pixel[ch]
                            if value > best[ch] or math.isnan(value):
                                best[ch] = value
                                where[ch] = k


@jit()
def _max_pool_backward_tiles_nhwc(grad, argmax, kh, kw, out):  # pragma: no cover - compiled
    """Windows that tile the input (stride = kernel, no padding, no dilation): every covered
    pixel is written once (its gradient or 0), so ``out`` needs no zeroing first."""
    n, ho, wo, c = grad.shape
    for b in prange(n):
        for p in range(ho):
            for q in range(wo):
                g = grad[b, p, q]
                where = argmax[b, p, q]
                for i in range(kh):
                    for j in range(kw):
                        k = i * kw + j
                        dst = out[b, p * kh + i, q * kw + j]
                        for ch in range(c):
                            dst[ch] = g[ch] if where[ch] == k else 0.0


@jit()
def _max_pool_backward_nhwc(grad, argmax, kw, sh, sw, ph, pw, dh, dw, out):  # pragma: no cover
    n, ho, wo, c = grad.shape
    h, w = out.shape[1], out.shape[2]
    for b in prange(n):
        for p in range(ho):
            for q in range(wo):
                for ch in range(c):
                    k = argmax[b, p, q, ch]
                    i = k // kw
                    j = k - i * kw
                    row = p * sh - ph + i * dh
                    col = q * sw - pw + j * dw
                    if 0 <= row < h and 0 <= col < w:
                        out[b, row, col, ch] += grad[b, p, q, ch]


class MaxPool2dKernel:
    """`MaxPool2dOp` in one compiled pass forward and one backward."""

    description = "max_pool2d: one pass forward, one pass backward (numba)"

    def forward(self, op: MaxPool2dOp, x: np.ndarray) -> np.ndarray:
        if not numba_enabled() or x.ndim < 2 or x.dtype.kind != "f":
            mark_fast(op, False)
            return op.forward(x)
        mark_fast(op, True)
        h, w = x.shape[-2:]
        ho, wo = op.output_hw(h, w)
        if ho < 1 or wo < 1:  # let the reference raise its error
            mark_fast(op, False)
            return op.forward(x)
        kh, kw = op.kernel
        (sh, sw), (ph, pw), (dh, dw) = op.stride, op.padding, op.dilation
        op.input_hw = (h, w)
        if channels_last(x) and not x.flags.c_contiguous:  # keep the layout, no transpose
            nhwc = x.transpose(0, 2, 3, 1)
            n, c = x.shape[:2]
            out_nhwc = np.empty((n, ho, wo, c), dtype=x.dtype)
            where = np.empty((n, ho, wo, c), dtype=np.min_scalar_type(kh * kw - 1))
            _max_pool_forward_nhwc(nhwc, ho, wo, kh, kw, sh, sw, ph, pw, dh, dw, out_nhwc, where)
            argmax = where.transpose(0, 3, 1, 2)
            if op.return_indices:
                op.indices = op.flat_indices(argmax)
            op.save_for_backward(argmax)
            return out_nhwc.transpose(0, 3, 1, 2)
        planes = np.ascontiguousarray(x).reshape(-1, h, w)
        out = np.empty((planes.shape[0], ho, wo), dtype=x.dtype)
        argmax = np.empty((planes.shape[0], ho, wo), dtype=np.min_scalar_type(kh * kw - 1))
        inside = (
            (ph, pw) == (0, 0)
            and (ho - 1) * sh + dh * (kh - 1) < h
            and (wo - 1) * sw + dw * (kw - 1) < w
        )
        # a finite sum (one vectorised pass) proves there is no NaN, whose rules only the
        # general kernel follows
        if inside and np.isfinite(planes.sum()):
            _max_pool_forward_inside(planes, ho, wo, kh, kw, sh, sw, dh, dw, out, argmax)
        else:
            _max_pool_forward(planes, ho, wo, kh, kw, sh, sw, ph, pw, dh, dw, out, argmax)
        lead = x.shape[:-2]
        argmax = argmax.reshape(*lead, ho, wo)
        if op.return_indices:
            op.indices = op.flat_indices(argmax)
        op.save_for_backward(argmax)
        return out.reshape(*lead, ho, wo)

    def backward(self, op: MaxPool2dOp, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        if not ran_fast(op):
            return op.backward(grad, needs)
        (argmax,) = op.saved
        h, w = op.input_hw
        ho, wo = grad.shape[-2:]
        lead = grad.shape[:-2]
        (sh, sw), (ph, pw), (dh, dw) = op.stride, op.padding, op.dilation
        if channels_last(argmax) and not argmax.flags.c_contiguous:  # the forward's layout
            n, c = lead
            kh, kw = op.kernel
            out_nhwc = np.empty((n, h, w, c), dtype=grad.dtype)
            g, where = as_channels_last(grad), argmax.transpose(0, 2, 3, 1)
            tiles = (sh, sw) == (kh, kw) and (ph, pw) == (0, 0) and (dh, dw) == (1, 1)
            if tiles and ho * kh <= h and wo * kw <= w:  # (ceil_mode's partial windows: no)
                out_nhwc[:, ho * kh :] = 0  # rows and columns no window covers
                out_nhwc[:, :, wo * kw :] = 0
                _max_pool_backward_tiles_nhwc(g, where, kh, kw, out_nhwc)
            else:
                out_nhwc[...] = 0
                _max_pool_backward_nhwc(g, where, kw, sh, sw, ph, pw, dh, dw, out_nhwc)
            return (out_nhwc.transpose(0, 3, 1, 2),)
        out = np.zeros((int(np.prod(lead)), h, w), dtype=grad.dtype)
        _max_pool_backward(
            np.ascontiguousarray(grad).reshape(-1, ho, wo),
            argmax.reshape(-1, ho, wo),
            op.kernel[1], sh, sw, ph, pw, dh, dw, out,
        )  # fmt: skip
        return (out.reshape(*lead, h, w),)


KERNELS = {MaxPool2dOp: MaxPool2dKernel()}
