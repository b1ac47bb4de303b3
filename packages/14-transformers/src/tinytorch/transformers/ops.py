"""The Transformer's own Ops: LayerNorm, RMSNorm and the language-model loss, each with its
forward and its closed-form backward side by side.

**LayerNorm** normalises each token's vector over its last dims (the ``normalized_shape``):
with N numbers per token, ``mean`` and biased ``var`` over them,

    x_hat = (x - mean) / sqrt(var + eps)          y = x_hat * weight + bias

Unlike BatchNorm nothing is shared between tokens or examples, so training and inference
compute the same thing and a batch of one works. The backward in closed form: with
h = dL/dy * weight (the gradient reaching x_hat),

    dx = (h - mean(h) - x_hat * mean(h * x_hat)) / sqrt(var + eps)
    dweight = sum over tokens of dL/dy * x_hat      dbias = sum over tokens of dL/dy

(the two means are over each token's N numbers: the mean and the variance depend on every x).
Written from Tensor ops the same layer records ~9 nodes and keeps ~5 activation-sized arrays;
`LayerNormOp` records one and keeps x_hat and one number per token.

**RMSNorm** (LLaMA) skips the centring: ``y = x / sqrt(mean(x^2) + eps) * weight``;
``dx = (h - x_hat * mean(h * x_hat)) / rms``.

**The MLP block in one Op** (`MLPOp`): ``y = gelu(x W1^T + b1) W2^T + b2``, E -> 4E -> E. Its
forward evaluates GELU *and its derivative* from the same intermediate arrays (the erf or tanh
is computed once, in place), so the backward is four matmuls and one multiply, with no
transcendental function: dh = (dy W2) * gelu'(h), dW2 = dy^T a, dW1 = dh^T x, dx = dh W1.

The language-model loss is module 10's fused cross-entropy over the B*T positions
(`tinytorch.transformers.next_token_loss`): one derivative for it in the whole framework.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinytorch.tensor import Op
from tinytorch.tensor.dispatch import Grads
from tinytorch.tensor.special import erf

GELU_APPROXIMATIONS = ("none", "tanh")
_INV_SQRT_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_SQRT_2_OVER_PI = 0.7978845608028654
_GELU_CUBIC = 0.044715
# Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7): erfc(z) = t * A(t) * exp(-z^2), t = 1/(1+p z),
# the float32 erf of tinytorch.tensor.special, here evaluated in place
_AS_P = 0.3275911
_AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
_AS_A_HALF = tuple(0.5 * a for a in _AS_A)  # erfc / 2 directly: one pass fewer


def normalized_shape_tuple(owner: str, normalized_shape: Any) -> tuple[int, ...]:
    """``8`` -> ``(8,)``; a sequence of positive ints stays (PyTorch's ``normalized_shape``)."""
    if isinstance(normalized_shape, (int, np.integer)) and not isinstance(normalized_shape, bool):
        shape: tuple[int, ...] = (int(normalized_shape),)
    elif isinstance(normalized_shape, Sequence) and all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in normalized_shape
    ):
        shape = tuple(int(n) for n in normalized_shape)
    else:
        raise TypeError(
            f"{owner}: normalized_shape must be an int or a sequence of ints, got "
            f"{normalized_shape!r}"
        )
    if not shape or min(shape) <= 0:
        raise ValueError(f"{owner}: normalized_shape must be positive ints, got {shape}")
    return shape


class _NormOp(Op):
    """Shared checks: x (*, *normalized_shape) float; weight and bias of normalized_shape."""

    function = "norm"

    def __init__(self, normalized_shape: tuple[int, ...], eps: float) -> None:
        self.normalized_shape, self.eps = normalized_shape, eps

    @property
    def name(self) -> str:
        return self.function

    def _rows(self, x: np.ndarray, *params: np.ndarray | None) -> np.ndarray:
        """x as (M, N): M tokens, N = prod(normalized_shape) numbers each (a view if it can)."""
        k = len(self.normalized_shape)
        if x.dtype.kind != "f":
            raise TypeError(
                f"{self.function}: expected a floating-point input, got dtype {x.dtype}"
            )
        if x.shape[x.ndim - k :] != self.normalized_shape or x.ndim < k:
            dims = ", ".join(map(str, self.normalized_shape))
            raise ValueError(
                f"{self.function}: expected an input (*, {dims}) "
                f"(normalized_shape={list(self.normalized_shape)}), got shape {x.shape}"
            )
        for param in params:
            if param is not None and param.shape != self.normalized_shape:
                raise ValueError(
                    f"{self.function}: weight and bias must have normalized_shape "
                    f"{self.normalized_shape}, got {param.shape}"
                )
        self.input_shape = x.shape
        return x.reshape(-1, math.prod(self.normalized_shape))

    def _param_grads(
        self, rows: np.ndarray, xhat: np.ndarray, needs: tuple[bool, ...], bias: bool
    ) -> list[np.ndarray | None]:
        """dweight = sum of g * x_hat over tokens; dbias = sum of g over tokens."""
        grads: list[np.ndarray | None] = []
        if len(needs) > 1:
            grads.append(
                np.einsum("mn,mn->n", rows, xhat).reshape(self.normalized_shape)
                if needs[1]
                else None
            )
        if len(needs) > 2 and bias:
            grads.append(rows.sum(axis=0).reshape(self.normalized_shape) if needs[2] else None)
        return grads


class LayerNormOp(_NormOp):
    """LayerNorm over the last ``len(normalized_shape)`` dims: ``forward(x[, weight[, bias]])``,
    x (*, *normalized_shape) float, weight and bias ``normalized_shape`` -> x's shape.

    Mean and biased variance per token, ``x_hat = (x - mean) / sqrt(var + eps)``, then
    ``x_hat * weight + bias``. Saves x_hat (activation-sized) and 1/sqrt(var + eps) (one per
    token). Cost: ~6 passes over x forward, ~7 backward.
    """

    function = "layer_norm"

    def forward(
        self, x: np.ndarray, weight: np.ndarray | None = None, bias: np.ndarray | None = None
    ) -> np.ndarray:
        rows = self._rows(x, weight, bias)
        n = rows.shape[1]
        # HINT: mean and biased variance of each row; x_hat = (x - mean) * invstd; keep x_hat
        # HINT: and invstd (M, 1) for the backward; then scale by weight and shift by bias
        # BEGIN SOLUTION
        mean = rows.sum(axis=1, keepdims=True) / n
        centered = rows - mean
        var = np.einsum("mn,mn->m", centered, centered)[:, None] / n
        invstd = 1.0 / np.sqrt(var + self.eps)
        xhat = np.multiply(centered, invstd, out=centered)
        out = xhat * weight.reshape(-1) if weight is not None else xhat.copy()
        if bias is not None:
            out += bias.reshape(-1)
        # END SOLUTION
        self.save_for_backward(xhat, invstd.astype(x.dtype, copy=False), weight, bias is not None)
        return out.reshape(x.shape)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dy -> (dL/dx[, dL/dweight[, dL/dbias]]) in closed form (module docstring)."""
        xhat, invstd, weight, has_bias = self.saved
        rows = grad.reshape(xhat.shape)
        n = xhat.shape[1]
        grad_input = None
        # HINT: h = g * weight; dx = invstd * (h - mean(h) - x_hat * mean(h * x_hat)), the
        # HINT: means over each token's N numbers
        # BEGIN SOLUTION
        if needs[0]:
            h = rows * weight.reshape(-1) if weight is not None else rows.copy()
            mean_h = h.sum(axis=1, keepdims=True) / n
            mean_hx = np.einsum("mn,mn->m", h, xhat)[:, None] / n
            h -= mean_h
            h -= xhat * mean_hx
            h *= invstd
            grad_input = h.reshape(self.input_shape)
        # END SOLUTION
        return (grad_input, *self._param_grads(rows, xhat, needs, has_bias))


class RMSNormOp(_NormOp):
    """RMSNorm (PyTorch 2.4's ``F.rms_norm``): ``y = x / sqrt(mean(x^2) + eps) * weight``
    over the last ``len(normalized_shape)`` dims. ``forward(x[, weight])``.

    No centring and no bias: one statistic per token instead of two (LLaMA's choice). Saves
    x_hat and 1/rms per token. Backward: ``dx = (h - x_hat * mean(h * x_hat)) / rms`` with
    h = dL/dy * weight.
    """

    function = "rms_norm"

    def forward(self, x: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        rows = self._rows(x, weight)
        n = rows.shape[1]
        eps = self.eps if self.eps is not None else float(np.finfo(x.dtype).eps)
        # HINT: per row, 1 / sqrt(mean(x^2) + eps); x_hat = x * that; then scale by the weight
        # HINT: when there is one (no mean is subtracted, unlike LayerNorm)
        # BEGIN SOLUTION
        inv_rms = 1.0 / np.sqrt(np.einsum("mn,mn->m", rows, rows)[:, None] / n + eps)
        xhat = rows * inv_rms
        out = xhat * weight.reshape(-1) if weight is not None else xhat
        # END SOLUTION
        self.save_for_backward(xhat, inv_rms.astype(x.dtype, copy=False), weight)
        return out.reshape(x.shape)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        xhat, inv_rms, weight = self.saved
        rows = grad.reshape(xhat.shape)
        n = xhat.shape[1]
        grad_input = None
        # HINT: like LayerNorm's, without the mean(h) term (nothing was subtracted)
        # BEGIN SOLUTION
        if needs[0]:
            h = rows * weight.reshape(-1) if weight is not None else rows.copy()
            mean_hx = np.einsum("mn,mn->m", h, xhat)[:, None] / n
            h -= xhat * mean_hx
            h *= inv_rms
            grad_input = h.reshape(self.input_shape)
        # END SOLUTION
        return (grad_input, *self._param_grads(rows, xhat, needs, False))


# --------------------------------------------------------------------- GELU and the MLP block
GELU_CHUNK = 40_000  # elements per block: ~160 KB an array, so the ~4 live arrays stay in L2


def gelu_with_derivative(h: np.ndarray, approximate: str = "none") -> tuple[np.ndarray, np.ndarray]:
    """``(gelu(h), gelu'(h))``, both h's shape and dtype, from shared intermediates.

    ``"none"``: gelu(h) = h * Phi(h), gelu'(h) = Phi(h) + h * phi(h), Phi the normal CDF (via
    erf) and phi its density; float32 uses the Abramowitz-Stegun erf (|error| <= 1.5e-7, as
    module 04's GELU) whose exp(-h^2/2) is also phi's; float64 the 1e-15 erf of
    `tinytorch.tensor.special`. ``"tanh"``: GPT-2's approximation with t = tanh(k (h + c h^3)),
    gelu = h (1 + t) / 2, gelu' = (1 + t)/2 + h (1 - t^2) k (1 + 3 c h^2) / 2.

    Cost: ~24 (exact) or ~17 (tanh) elementwise passes and one exp or tanh per element. The
    passes run block by block (`GELU_CHUNK` elements), in place, so each block's arrays stay
    in the CPU's L2 cache instead of streaming the whole (N, 4E) array from memory 24 times:
    ~30% faster for TinyGPT's (2048, 512) hidden layer.
    """
    if approximate == "none" and h.dtype != np.float32:
        cdf = 0.5 * (1.0 + erf(h * _INV_SQRT_2))
        pdf = np.exp(-0.5 * np.minimum(h * h, 2000.0)) * _INV_SQRT_2PI
        return h * cdf, cdf + h * pdf
    kernel = _gelu_tanh_into if approximate == "tanh" else _gelu_erf_into
    flat = np.ascontiguousarray(h).reshape(-1)
    value, slope = np.empty_like(flat), np.empty_like(flat)
    for start in range(0, flat.size, GELU_CHUNK):
        block = slice(start, start + GELU_CHUNK)
        kernel(flat[block], value[block], slope[block])
    return value.reshape(h.shape), slope.reshape(h.shape)


def _gelu_erf_into(x: np.ndarray, value: np.ndarray, slope: np.ndarray) -> None:
    """Exact GELU of a float32 block: ``value = x Phi(x)``, ``slope = Phi(x) + x phi(x)``."""
    density = slope  # exp(-x^2/2) first, the slope at the end
    with np.errstate(over="ignore"):  # |x| > 2.6e19: x^2 = inf, exp(-inf) = 0, t = 0: exact
        np.multiply(x, x, out=density)
    density *= -0.5
    np.exp(density, out=density)
    t = np.abs(x)
    t *= _AS_P * _INV_SQRT_2
    t += 1.0
    np.reciprocal(t, out=t)  # t = 1 / (1 + p |x| / sqrt 2)
    tail = np.multiply(t, _AS_A_HALF[-1])
    for coefficient in _AS_A_HALF[-2::-1]:
        tail += coefficient
        tail *= t
    tail *= density  # erfc(|x|/sqrt 2) / 2 = 1 - Phi(|x|)
    cdf = np.subtract(0.5, tail, out=tail)  # Phi(|x|) - 1/2
    np.copysign(cdf, x, out=cdf)  # Phi(x) - 1/2 (np.where or where= would cost 20x more)
    cdf += 0.5
    np.multiply(x, cdf, out=value)
    density *= x
    density *= _INV_SQRT_2PI
    density += cdf


def _gelu_tanh_into(x: np.ndarray, value: np.ndarray, slope: np.ndarray) -> None:
    """GPT-2's tanh GELU of a block: ``value``, and its derivative in ``slope``."""
    xc = np.clip(x, -10.0, 10.0)  # tanh is exactly +-1 beyond: keeps x^3 finite
    t = np.multiply(xc, xc)
    t *= _SQRT_2_OVER_PI * _GELU_CUBIC
    t += _SQRT_2_OVER_PI
    t *= xc
    np.tanh(t, out=t)
    cdf = np.multiply(t, 0.5)
    cdf += 0.5
    np.multiply(x, cdf, out=value)
    np.multiply(xc, xc, out=slope)
    slope *= 3.0 * _SQRT_2_OVER_PI * _GELU_CUBIC
    slope += _SQRT_2_OVER_PI
    t *= t
    np.subtract(1.0, t, out=t)
    slope *= t
    slope *= xc
    slope *= 0.5
    slope += cdf


class MLPOp(Op):
    """The Transformer's feed-forward block in one Op: x (*, E) -> (*, E),
    ``forward(x, w_fc, [b_fc,] w_proj[, b_proj])`` with w_fc (H, E), w_proj (E, H), H = 4E.

    ``y = gelu(x w_fc^T + b_fc) w_proj^T + b_proj``. Saves x, a = gelu(h) and gelu'(h) (H
    numbers each per token, as the three separate ops would keep x, h and a). Cost: 4*E*H
    FLOPs per token forward, 8*E*H backward, plus the GELU's ~25 passes over h (forward only).
    """

    def __init__(self, approximate: str = "none", bias: bool = True) -> None:
        if approximate not in GELU_APPROXIMATIONS:
            raise ValueError(
                f"mlp: approximate must be one of {GELU_APPROXIMATIONS}, got {approximate!r}"
            )
        self.approximate, self.bias = approximate, bias

    @property
    def name(self) -> str:
        return "mlp"

    def forward(self, x: np.ndarray, *params: np.ndarray) -> np.ndarray:
        if self.bias:
            w_fc, b_fc, w_proj, b_proj = params
        else:
            (w_fc, w_proj), b_fc, b_proj = params, None, None
        if (
            x.dtype.kind != "f"
            or x.shape[-1:] != (w_fc.shape[1],)
            or w_proj.shape != w_fc.shape[::-1]
        ):
            raise ValueError(
                f"mlp: expected x (*, E) float with w_fc (H, E) and w_proj (E, H); got x "
                f"{x.shape} {x.dtype}, w_fc {w_fc.shape}, w_proj {w_proj.shape}"
            )
        rows = x.reshape(-1, x.shape[-1])
        # HINT: h = x w_fc^T + b_fc; a, slope = gelu_with_derivative(h); y = a w_proj^T + b_proj;
        # HINT: keep x, a and slope (gelu'(h)) for the backward
        # BEGIN SOLUTION
        h = rows @ w_fc.T
        if b_fc is not None:
            h += b_fc
        a, slope = gelu_with_derivative(h, self.approximate)
        out = a @ w_proj.T
        if b_proj is not None:
            out += b_proj
        # END SOLUTION
        self.save_for_backward(rows, a, slope, w_fc, w_proj, x)  # x: its version is checked
        return out.reshape(*x.shape[:-1], w_proj.shape[0])

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dy (*, E) -> (dx, dw_fc[, db_fc], dw_proj[, db_proj])."""
        rows, a, slope, w_fc, w_proj, _ = self.saved
        g = grad.reshape(-1, grad.shape[-1])
        if self.bias:
            need_x, need_wfc, need_bfc, need_wproj, need_bproj = needs
        else:
            (need_x, need_wfc, need_wproj), need_bfc, need_bproj = needs, False, False
        dx = dw_fc = db_fc = dw_proj = db_proj = None
        # HINT: dw_proj = g^T a, db_proj = sum of g; dh = (g w_proj) * gelu'(h);
        # HINT: dw_fc = dh^T x, db_fc = sum of dh, dx = dh w_fc
        # BEGIN SOLUTION
        if need_wproj:
            dw_proj = g.T @ a
        if need_bproj:
            db_proj = g.sum(axis=0)
        dh = g @ w_proj
        dh *= slope
        if need_wfc:
            dw_fc = dh.T @ rows
        if need_bfc:
            db_fc = dh.sum(axis=0)
        if need_x:
            dx = (dh @ w_fc).reshape(*grad.shape[:-1], w_fc.shape[1])
        # END SOLUTION
        if self.bias:
            return dx, dw_fc, db_fc, dw_proj, db_proj
        return dx, dw_fc, dw_proj
