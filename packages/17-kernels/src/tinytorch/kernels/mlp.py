"""Fused bias + GELU (and its derivative) inside the Transformer's MLP, in one compiled pass.

The reference `MLPOp` (module 14) already runs Linear -> GELU -> Linear as one Op; between its
two matmuls it adds the bias and computes gelu(h) and gelu'(h) (which the backward needs) in
~25 NumPy passes over the (tokens, 4E) hidden array, block by block to stay in L2. Compiled,
it is one pass: each element is read once (h + b), and gelu and gelu' are written once:

    exact ("none"):  Phi = (1 + erf(h / sqrt 2)) / 2, gelu = h Phi, gelu' = Phi + h phi(h)
    "tanh" (GPT-2):  t = tanh(sqrt(2/pi) (h + 0.044715 h^3)), gelu = h (1 + t) / 2, ...

numba's ``math.erf`` is the C library's (exact to float64 round-off); the reference's float32
path uses a 1.5e-7 approximation, so float32 results agree to ~1e-7. The matmuls and the
backward (which only reads what the forward saved) are the reference's. Without numba the
reference's own code runs.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.kernels.backend import jit, mark_fast, numba_enabled, prange
from tinytorch.tensor.dispatch import Grads
from tinytorch.transformers.ops import MLPOp

_INV_SQRT_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_SQRT_2_OVER_PI = 0.7978845608028654
_GELU_CUBIC = 0.044715


@jit()
def _bias_gelu(h, bias, tanh_form, value, slope):  # pragma: no cover - compiled
    m, n = h.shape
    for r in prange(m):
        hr = h[r]
        vr = value[r]
        sr = slope[r]
        for j in range(n):
            x = hr[j] + bias[j]
            if tanh_form:
                xc = min(max(x, -10.0), 10.0)
                t = math.tanh(_SQRT_2_OVER_PI * (xc + _GELU_CUBIC * xc * xc * xc))
                cdf = 0.5 * (1.0 + t)
                vr[j] = x * cdf
                sr[j] = cdf + 0.5 * xc * (1.0 - t * t) * _SQRT_2_OVER_PI * (
                    1.0 + 3.0 * _GELU_CUBIC * xc * xc
                )
            else:
                cdf = 0.5 * (1.0 + math.erf(x * _INV_SQRT_2))
                vr[j] = x * cdf
                sr[j] = cdf + x * math.exp(-0.5 * min(x * x, 2000.0)) * _INV_SQRT_2PI


class MLPKernel:
    """`MLPOp` with the bias add, GELU and GELU' in one compiled pass between its matmuls."""

    description = "mlp: fused bias+GELU (numba)"

    def forward(self, op: MLPOp, x: np.ndarray, *params: np.ndarray) -> np.ndarray:
        if op.bias:
            w_fc, b_fc, w_proj, b_proj = params
        else:
            (w_fc, w_proj), b_fc, b_proj = params, None, None
        valid = (
            x.dtype.kind == "f"
            and x.shape[-1:] == (w_fc.shape[1],)
            and w_proj.shape == w_fc.shape[::-1]
        )
        if not numba_enabled() or not valid:
            mark_fast(op, False)
            return op.forward(x, *params)  # the reference (and its error for bad shapes)
        mark_fast(op, True)
        rows = x.reshape(-1, x.shape[-1])
        h = np.ascontiguousarray(rows @ w_fc.T)
        bias = np.zeros(h.shape[1], h.dtype) if b_fc is None else b_fc.astype(h.dtype)
        a, slope = np.empty_like(h), np.empty_like(h)
        _bias_gelu(h, bias, op.approximate == "tanh", a, slope)
        out = a @ w_proj.T
        if b_proj is not None:
            out += b_proj
        op.save_for_backward(rows, a, slope, w_fc, w_proj, x)  # the reference's layout
        return out.reshape(*x.shape[:-1], w_proj.shape[0])

    def backward(self, op: MLPOp, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        # either forward saved exactly what the reference's saves: its backward applies
        return op.backward(grad, needs)


KERNELS = {MLPOp: MLPKernel()}
