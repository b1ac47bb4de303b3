"""LayerNorm in one pass per token, forward and backward (numba).

The reference `LayerNormOp` (module 14) makes ~6 whole-array passes forward (sum, centre,
square-sum, scale, weight, bias) and ~7 backward. A token's N numbers (a row of 128-768 floats)
fit in L1 cache, so compiled code can do each token's whole computation while the row is there:

    forward, per row:   mean and variance (one read), then x_hat = (x - mean) * invstd and
                        y = x_hat * weight + bias (one read, two writes)
    backward, per row:  h = g * weight; sums of h and h * x_hat (one read), then
                        dx = invstd * (h - mean(h) - x_hat * mean(h * x_hat)) (one read);
                        dweight += g * x_hat and dbias += g on the way

It saves what the reference saves (x_hat and 1/std per token), so results and memory are the
same. Without numba (or with ``use_numba(False)``) the reference's own code runs.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.kernels.backend import jit, mark_fast, numba_enabled, prange, ran_fast
from tinytorch.tensor.dispatch import Grads
from tinytorch.transformers.ops import LayerNormOp


@jit(fastmath=True)
def _layer_norm_forward(rows, weight, bias, eps, xhat, invstd, out):  # pragma: no cover
    m, n = rows.shape
    for r in prange(m):
        row = rows[r]
        total = 0.0
        for j in range(n):
            total += row[j]
        mean = total / n
        squares = 0.0
        for j in range(n):
            d = row[j] - mean
            squares += d * d
        inv = 1.0 / math.sqrt(squares / n + eps)
        invstd[r] = inv
        xr = xhat[r]
        yr = out[r]
        for j in range(n):
            v = (row[j] - mean) * inv
            xr[j] = v
            yr[j] = v * weight[j] + bias[j]


@jit(fastmath=True, parallel=False)  # rows add into dweight and dbias: serial
def _layer_norm_backward(grad, xhat, invstd, weight, dx, dweight, dbias):  # pragma: no cover
    m, n = grad.shape
    for r in range(m):
        g = grad[r]
        xr = xhat[r]
        sum_h = 0.0
        sum_hx = 0.0
        for j in range(n):
            h = g[j] * weight[j]
            sum_h += h
            sum_hx += h * xr[j]
            dweight[j] += g[j] * xr[j]
            dbias[j] += g[j]
        mean_h = sum_h / n
        mean_hx = sum_hx / n
        inv = invstd[r, 0]
        out = dx[r]
        for j in range(n):
            out[j] = inv * (g[j] * weight[j] - mean_h - xr[j] * mean_hx)


class LayerNormKernel:
    """`LayerNormOp` with one compiled pass per token each way."""

    description = "layer_norm: one pass per token each way (numba)"

    def forward(
        self,
        op: LayerNormOp,
        x: np.ndarray,
        weight: np.ndarray | None = None,
        bias: np.ndarray | None = None,
    ) -> np.ndarray:
        if not numba_enabled():
            mark_fast(op, False)
            return op.forward(x, weight, bias)
        mark_fast(op, True)
        rows = np.ascontiguousarray(op._rows(x, weight, bias))
        m, n = rows.shape
        w = np.ones(n, x.dtype) if weight is None else weight.reshape(-1).astype(x.dtype)
        b = np.zeros(n, x.dtype) if bias is None else bias.reshape(-1).astype(x.dtype)
        xhat = np.empty_like(rows)
        invstd = np.empty((m, 1), dtype=x.dtype)
        out = np.empty_like(rows)
        _layer_norm_forward(rows, w, b, op.eps, xhat, invstd, out)
        op.save_for_backward(xhat, invstd, weight, bias is not None)
        return out.reshape(x.shape)

    def backward(self, op: LayerNormOp, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        if not ran_fast(op):
            return op.backward(grad, needs)
        xhat, invstd, weight, has_bias = op.saved
        m, n = xhat.shape
        rows = np.ascontiguousarray(grad).reshape(m, n)
        w = np.ones(n, grad.dtype) if weight is None else weight.reshape(-1).astype(grad.dtype)
        dx = np.empty_like(rows)
        dweight = np.zeros(n, np.float64)
        dbias = np.zeros(n, np.float64)
        _layer_norm_backward(rows, xhat, invstd, w, dx, dweight, dbias)
        grads: list[np.ndarray | None] = [dx.reshape(op.input_shape) if needs[0] else None]
        shape = op.normalized_shape
        if len(needs) > 1:
            grads.append(dweight.astype(grad.dtype).reshape(shape) if needs[1] else None)
        if len(needs) > 2 and has_bias:
            grads.append(dbias.astype(grad.dtype).reshape(shape) if needs[2] else None)
        return tuple(grads)


KERNELS = {LayerNormOp: LayerNormKernel()}
