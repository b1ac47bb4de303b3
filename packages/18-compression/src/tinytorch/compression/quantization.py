"""Quantization with real integer storage: INT8 / INT16 weights, integer matmuls, calibration.

A float ``x`` is stored as an integer ``q`` with a float ``scale`` and an integer ``zero_point``:

    q = clamp(round(x / scale) + zero_point, quant_min, quant_max)      (quantize)
    x ~ (q - zero_point) * scale                                        (dequantize)

The error of one value inside the range is at most ``scale / 2`` (rounding); values outside the
range are clipped. *Symmetric* quantization puts ``zero_point = 0`` and ``scale =
max|x| / ((quant_max - quant_min) / 2)`` (PyTorch's ``per_tensor_symmetric``); *affine*
(asymmetric) spreads ``[min(x, 0), max(x, 0)]`` over the whole integer range, ``scale = (max -
min) / (quant_max - quant_min)``, ``zero_point = quant_min - round(min / scale)`` (so 0.0 is
exactly representable: zero padding stays exact). *Per-channel* quantization gives every output
channel (row of a weight) its own scale: a row of small weights is not crushed by one large row.

**Integer matmul.** `QuantizedLinear` keeps ``weight`` as an ``np.int8`` array (1 byte per
weight: 4x smaller than float32) with float32 per-channel scales. At run time it quantizes its
input to 8 bits (``uint8`` affine: ``dynamic`` from each batch's own min/max, or ``static``
from ranges recorded on calibration batches), multiplies the two integer matrices, and rescales
once: ``y = s_x * s_w[o] * sum_k (qx - zx)(qw - zw) + b``. The sum is an integer. It is computed
exactly: every product is at most ``255 * 128`` in magnitude (``(qx - zx)`` spans at most the
255 steps of uint8, a symmetric int8 weight at most 128), so a sum of ``K`` of them, and every
partial sum a BLAS kernel forms in whatever order, is an integer of magnitude at most ``K * 255
* 128``. float32 represents every integer below ``2**24`` exactly, so while ``K * 255 * 128 <
2**24`` (``K <= 514``) a float32 GEMM gives exactly the int32 result (no rounding can happen);
beyond that the same GEMM runs in float64 (exact below ``2**53``). `integer_matmul` chooses, and
``accumulate="int32"`` runs NumPy's true int32 matmul (slow: no BLAS), the oracle the tests
compare against. PyTorch's fbgemm kernels accumulate in int32 the same way.

Costs: weight memory 1 byte (INT8) or 2 bytes (INT16) per weight plus a float32 scale per
output channel (and a zero point per channel for affine weights); at run time one extra pass
over the input (min, max, round) and over the output (rescale).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinytorch.autograd import no_grad
from tinytorch.layers import Linear, Module
from tinytorch.layers.linear import LinearOp
from tinytorch.spatial import BatchNorm2d, Conv2d
from tinytorch.spatial.ops import Conv2dOp, im2col, output_size, pad2d
from tinytorch.tensor import Op, Tensor, apply
from tinytorch.tensor.dispatch import Grads

__all__ = [
    "MinMaxObserver",
    "Observed",
    "PerChannelMinMaxObserver",
    "QuantizedConv2d",
    "QuantizedLinear",
    "calculate_qparams",
    "convert",
    "dequantize",
    "fuse_conv_bn",
    "integer_matmul",
    "prepare",
    "quant_range",
    "quantize_dynamic",
    "quantize_per_channel",
    "quantize_per_tensor",
    "quantize_static",
    "quantize_weight_only",
]

FLOAT32_EXACT = 2**24  # every integer of smaller magnitude is a float32
FLOAT64_EXACT = 2**53
_EPS = float(np.finfo(np.float32).eps)  # PyTorch's smallest scale


# --------------------------------------------------------------------- ranges and qparams
def quant_range(dtype: Any = np.int8, bits: int | None = None) -> tuple[int, int]:
    """``(quant_min, quant_max)`` of an integer dtype, or of a ``bits``-wide signed (``int``
    dtypes) or unsigned (``uint``) range stored in it: int8 -> (-128, 127), uint8 -> (0, 255),
    int16 -> (-32768, 32767); ``quant_range(np.int8, bits=4)`` -> (-8, 7)."""
    kind = np.dtype(dtype)
    if kind.kind not in "iu":
        raise TypeError(f"quant_range: dtype must be an integer dtype, got {kind}")
    width = 8 * kind.itemsize if bits is None else bits
    if not 1 < width <= 8 * kind.itemsize:
        raise ValueError(
            f"quant_range: bits must be in 2..{8 * kind.itemsize} for {kind}, got {bits}"
        )
    if kind.kind == "u":
        return 0, 2**width - 1
    return -(2 ** (width - 1)), 2 ** (width - 1) - 1


def calculate_qparams(
    min_val: Any,
    max_val: Any,
    quant_min: int,
    quant_max: int,
    symmetric: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``(scale float32, zero_point int64)`` mapping ``[min_val, max_val]`` onto the integers
    ``[quant_min, quant_max]`` (PyTorch's MinMaxObserver rule; arrays for per-channel ranges).

    The range is first widened to contain 0 (so 0.0 is exact). Symmetric: ``scale =
    max(-min, max) / ((quant_max - quant_min) / 2)``, zero point 0 for a signed range (the
    middle, ``(quant_min + quant_max + 1) // 2``, for an unsigned one). Affine: ``scale =
    (max - min) / (quant_max - quant_min)``, ``zero_point = quant_min - round(min / scale)``.
    A scale never falls below float32's eps (an all-zero tensor gets scale eps).
    """
    low = np.minimum(np.asarray(min_val, dtype=np.float64), 0.0)
    high = np.maximum(np.asarray(max_val, dtype=np.float64), 0.0)
    if np.any(low > high):
        raise ValueError(f"calculate_qparams: min_val {min_val} is above max_val {max_val}")
    if symmetric:
        scale = np.maximum(-low, high) / ((quant_max - quant_min) / 2)
        scale = np.maximum(scale, _EPS)
        middle = 0 if quant_min < 0 else (quant_min + quant_max + 1) // 2
        zero_point = np.full(scale.shape, middle, dtype=np.int64)
    else:
        scale = np.maximum((high - low) / (quant_max - quant_min), _EPS)
        zero_point = quant_min - np.round(low / scale).astype(np.int64)
        zero_point = np.clip(zero_point, quant_min, quant_max)
    return scale.astype(np.float32), zero_point


# --------------------------------------------------------------------- quantize / dequantize
def _quantize(x: np.ndarray, scale: Any, zero_point: Any, quant_min: int, quant_max: int) -> Any:
    """``clamp(round(x / scale) + zero_point, quant_min, quant_max)`` as float32 integers
    (exact: 8- and 16-bit ranges are far below ``2**24``; ``scale`` and ``zero_point``
    broadcast against ``x``). As PyTorch's CPU kernel computes
    it: ``zero_point + x * (1 / scale)`` in float32, then rounded half to even
    (``nearbyint``), so that ties (x exactly between two steps) land where
    ``torch.quantize_per_tensor`` puts them."""
    inverse = np.float32(1.0) / np.asarray(scale, dtype=np.float32)
    offset = np.asarray(zero_point, dtype=np.float32)
    # HINT: multiply by the inverse scale, add the zero point, round to the nearest integer
    # HINT: (np.round: half to even), then clip into [quant_min, quant_max] (saturate)
    # BEGIN SOLUTION
    q = np.asarray(x, dtype=np.float32) * inverse
    q += offset
    np.round(q, out=q)
    return np.clip(q, quant_min, quant_max, out=q)
    # END SOLUTION


def _dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
    """``(q - zero_point) * scale`` in float32 (``scale``, ``zero_point`` broadcast)."""
    # HINT: subtract the zero point first (in a wide type: int8 - int8 overflows), then scale
    # BEGIN SOLUTION
    return ((q.astype(np.float64) - zero_point) * scale).astype(np.float32)
    # END SOLUTION


def _dtype_range(dtype: Any, quant_min: int | None, quant_max: int | None) -> tuple[int, int]:
    low, high = quant_range(dtype)
    low = low if quant_min is None else quant_min
    high = high if quant_max is None else quant_max
    info = np.iinfo(np.dtype(dtype))
    if not info.min <= low < high <= info.max:
        raise ValueError(
            f"quantize: quant range [{low}, {high}] does not fit {np.dtype(dtype)} "
            f"[{info.min}, {info.max}]"
        )
    return low, high


def quantize_per_tensor(
    x: Any,
    scale: float,
    zero_point: int,
    dtype: Any = np.int8,
    quant_min: int | None = None,
    quant_max: int | None = None,
) -> np.ndarray:
    """The integers of ``x`` (any shape) under one ``scale`` and ``zero_point``, as a ``dtype``
    array (``np.int8``, ``np.uint8``, ``np.int16``): PyTorch's
    ``torch.quantize_per_tensor(x, scale, zero_point, dtype).int_repr()``. ``quant_min`` /
    ``quant_max`` narrow the range (fewer bits in the same storage)."""
    low, high = _dtype_range(dtype, quant_min, quant_max)
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if not scale > 0:
        raise ValueError(f"quantize_per_tensor: scale must be positive, got {scale}")
    return _quantize(data, np.float64(scale), np.int64(zero_point), low, high).astype(dtype)


def quantize_per_channel(
    x: Any,
    scales: Any,
    zero_points: Any,
    axis: int,
    dtype: Any = np.int8,
    quant_min: int | None = None,
    quant_max: int | None = None,
) -> np.ndarray:
    """The integers of ``x`` with one scale and zero point per index along ``axis``: PyTorch's
    ``torch.quantize_per_channel(x, scales, zero_points, axis, dtype).int_repr()``."""
    low, high = _dtype_range(dtype, quant_min, quant_max)
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    scales = np.asarray(scales, dtype=np.float64)
    zero_points = np.asarray(zero_points, dtype=np.int64)
    axis = axis % data.ndim
    if scales.shape != (data.shape[axis],) or zero_points.shape != scales.shape:
        raise ValueError(
            f"quantize_per_channel: need {data.shape[axis]} scales and zero points (axis {axis} "
            f"of shape {data.shape}), got {scales.shape} and {zero_points.shape}"
        )
    if np.any(scales <= 0):
        raise ValueError("quantize_per_channel: every scale must be positive")
    shape = [1] * data.ndim
    shape[axis] = -1
    q = _quantize(data, scales.reshape(shape), zero_points.reshape(shape), low, high)
    return q.astype(dtype)


def dequantize(q: Any, scale: Any, zero_point: Any = 0, axis: int | None = None) -> np.ndarray:
    """``(q - zero_point) * scale`` as float32; per-channel when ``axis`` is given (``scale``
    and ``zero_point`` then hold one value per index along ``axis``)."""
    ints = np.asarray(q)
    scales = np.asarray(scale, dtype=np.float64)
    points = np.asarray(zero_point, dtype=np.int64)
    if axis is not None:
        shape = [1] * ints.ndim
        shape[axis % ints.ndim] = -1
        scales, points = scales.reshape(shape), points.reshape(shape)
    return _dequantize(ints, scales, points)


# --------------------------------------------------------------------- observers
class MinMaxObserver:
    """Records the running min and max of every tensor it sees (calibration), then gives
    ``calculate_qparams()``. PyTorch's ``MinMaxObserver(dtype, qscheme)`` with ``qscheme``
    ``"per_tensor_affine"`` (the default, as PyTorch's) or ``"per_tensor_symmetric"``."""

    def __init__(
        self,
        dtype: Any = np.uint8,
        qscheme: str = "per_tensor_affine",
        quant_min: int | None = None,
        quant_max: int | None = None,
    ) -> None:
        if qscheme not in ("per_tensor_affine", "per_tensor_symmetric"):
            raise ValueError(
                f"MinMaxObserver: qscheme must be 'per_tensor_affine' or "
                f"'per_tensor_symmetric', got {qscheme!r}"
            )
        self.dtype, self.qscheme = np.dtype(dtype), qscheme
        self.quant_min, self.quant_max = _dtype_range(dtype, quant_min, quant_max)
        self.min_val, self.max_val = math.inf, -math.inf

    def __call__(self, x: Any) -> Any:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        if data.size:
            self.min_val = min(self.min_val, float(data.min()))
            self.max_val = max(self.max_val, float(data.max()))
        return x

    def calculate_qparams(self) -> tuple[float, int]:
        if self.min_val > self.max_val:
            raise RuntimeError("MinMaxObserver: no data observed yet; run calibration batches")
        scale, point = calculate_qparams(
            self.min_val,
            self.max_val,
            self.quant_min,
            self.quant_max,
            self.qscheme == "per_tensor_symmetric",
        )
        return float(scale), int(point)


class PerChannelMinMaxObserver:
    """Min and max per index of ``ch_axis`` (a weight's output channels): PyTorch's
    ``PerChannelMinMaxObserver(ch_axis=0, dtype, qscheme="per_channel_affine")``."""

    def __init__(
        self,
        ch_axis: int = 0,
        dtype: Any = np.int8,
        qscheme: str = "per_channel_symmetric",
        quant_min: int | None = None,
        quant_max: int | None = None,
    ) -> None:
        if qscheme not in ("per_channel_affine", "per_channel_symmetric"):
            raise ValueError(
                f"PerChannelMinMaxObserver: qscheme must be 'per_channel_affine' or "
                f"'per_channel_symmetric', got {qscheme!r}"
            )
        self.ch_axis, self.dtype, self.qscheme = ch_axis, np.dtype(dtype), qscheme
        self.quant_min, self.quant_max = _dtype_range(dtype, quant_min, quant_max)
        self.min_val: np.ndarray | None = None
        self.max_val: np.ndarray | None = None

    def __call__(self, x: Any) -> Any:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        rows = np.moveaxis(data, self.ch_axis, 0).reshape(data.shape[self.ch_axis], -1)
        low, high = rows.min(axis=1), rows.max(axis=1)
        if self.min_val is None or self.max_val is None:
            self.min_val, self.max_val = low, high
        else:
            self.min_val = np.minimum(self.min_val, low)
            self.max_val = np.maximum(self.max_val, high)
        return x

    def calculate_qparams(self) -> tuple[np.ndarray, np.ndarray]:
        if self.min_val is None or self.max_val is None:
            raise RuntimeError("PerChannelMinMaxObserver: no data observed yet")
        return calculate_qparams(
            self.min_val,
            self.max_val,
            self.quant_min,
            self.quant_max,
            self.qscheme == "per_channel_symmetric",
        )


# --------------------------------------------------------------------- integer matmul
def integer_matmul(a: np.ndarray, b: np.ndarray, bound: int, accumulate: str = "auto") -> Any:
    """``a @ b`` of two integer-valued arrays, exactly, where ``bound`` is an upper bound of
    ``K * max|a| * max|b|`` (K the inner dimension).

    ``accumulate="auto"``: a float32 GEMM while ``bound < 2**24`` (every partial sum is an
    integer below 2**24, which float32 holds exactly, so no rounding can occur in any
    summation order), a float64 GEMM while ``bound < 2**53``; the result equals int32
    accumulation (returned as float32 / float64 holding integers). ``"int32"``: NumPy's integer
    matmul in int32 (no BLAS: the slow oracle). Cost: one GEMM, 2*M*K*N operations.
    """
    if accumulate == "int32":
        if bound >= 2**31:
            raise OverflowError(f"integer_matmul: bound {bound} overflows int32 accumulation")
        return np.matmul(a.astype(np.int32), b.astype(np.int32))
    if accumulate != "auto":
        raise ValueError(f"integer_matmul: accumulate must be 'auto' or 'int32', got {accumulate}")
    if bound < FLOAT32_EXACT:
        return np.matmul(a.astype(np.float32, copy=False), b.astype(np.float32, copy=False))
    if bound < FLOAT64_EXACT:
        return np.matmul(a.astype(np.float64, copy=False), b.astype(np.float64, copy=False))
    raise OverflowError(f"integer_matmul: bound {bound} is beyond float64's exact integers")


def _activation_qparams(
    x: np.ndarray, scale: Any, zero_point: Any, quant_max: int
) -> tuple[np.ndarray, float, int]:
    """``x`` quantized to the unsigned ``[0, quant_max]`` range and centred (``q - zp``, as
    small integers in float32), with its scale and zero point: fixed ones (static, from
    calibration) or the batch's own min/max (dynamic)."""
    if scale is None or zero_point is None:
        low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        scale_value, point = _unsigned_qparams(low, high, quant_max)
    else:
        scale_value, point = float(scale), int(zero_point)
    q = _quantize(x, np.float64(scale_value), np.int64(point), 0, quant_max)
    if point:
        q -= point
    return q, scale_value, point


def _unsigned_qparams(low: float, high: float, quant_max: int) -> tuple[float, int]:
    """`calculate_qparams` (affine, ``[0, quant_max]``) for one range, on Python floats: the
    same arithmetic in float64, ~1 µs instead of ~18 µs of 0-d NumPy calls, which matters
    because a dynamic layer does it at every call (a decode step: 17 times per token)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(
            f"dynamic quantization: the input's range [{low}, {high}] is not finite; an "
            f"activation holds NaN or inf, so the float model already fails on this input"
        )
    low, high = min(low, 0.0), max(high, 0.0)
    scale = max((high - low) / quant_max, _EPS)
    point = min(max(-round(low / scale), 0), quant_max)  # round(): half to even, as np.round
    return float(np.float32(scale)), point


def _weight_params(
    weight: np.ndarray, dtype: Any, per_channel: bool, symmetric: bool, bits: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Quantize a float weight (out, ...) -> (q ``dtype``, scales float32 (out,) or (),
    zero points ``dtype``, quant_min, quant_max)."""
    low, high = quant_range(dtype, bits)
    if per_channel:
        observer = PerChannelMinMaxObserver(
            0,
            dtype,
            "per_channel_symmetric" if symmetric else "per_channel_affine",
            low,
            high,
        )
        observer(weight)
        scale, point = observer.calculate_qparams()
        q = quantize_per_channel(weight, scale, point, 0, dtype, low, high)
    else:
        scale, point = calculate_qparams(weight.min(), weight.max(), low, high, symmetric)
        q = quantize_per_tensor(weight, float(scale), int(point), dtype, low, high)
    return q, scale.astype(np.float32), point.astype(dtype), low, high


class _QuantizedOp(Op):
    """Inference-only: a quantized layer has no float weights to differentiate.

    Settings: ``zero_point`` (the weights' zero points, () or (out,); None for symmetric
    weights: all 0), ``act_bits``, ``act_qparams`` (static activation (scale, zero point), or
    None: from each batch), ``accumulate`` (`integer_matmul`'s), ``packed`` (`weight_matrix`
    computed once by the layer, or None: computed from ``weight`` at this call).

    The exactness bound: every partial sum of ``sum_k a_k w_k`` is at most ``max|a| *
    sum_k |w_k|`` in magnitude, and ``max|a| <= 2**act_bits - 1`` (centred unsigned
    activations), so ``bound = (2**act_bits - 1) * max over outputs of sum_k |w_k|``: known
    from the weights alone, and usually far below the worst case ``K * 255 * 128``.
    """

    differentiable = False

    def __init__(
        self,
        zero_point: np.ndarray | None = None,
        act_bits: int = 8,
        act_qparams: np.ndarray | None = None,
        accumulate: str = "auto",
        packed: tuple[np.ndarray, int] | None = None,
    ) -> None:
        self.zero_point = zero_point
        self.act_bits, self.act_qparams, self.accumulate = act_bits, act_qparams, accumulate
        self.packed = packed

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        raise RuntimeError(
            f"{type(self).__name__}: quantized layers are for inference; train the float "
            f"model (or fine-tune it) and quantize afterwards"
        )

    def _activations(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """The input as centred integers (``q - zp``, held in float32) and its scale."""
        if self.act_qparams is None:
            centred, scale, _ = _activation_qparams(x, None, None, 2**self.act_bits - 1)
        else:
            scale_value, point = self.act_qparams
            centred, scale, _ = _activation_qparams(
                x, np.float32(scale_value), np.int64(point), 2**self.act_bits - 1
            )
        return centred, scale

    def _centred_weight(self, weight: np.ndarray) -> tuple[np.ndarray, int]:
        """``weight - zero_point`` (int32) and the exactness bound of a product with it."""
        centred = weight.astype(np.int32)
        if self.zero_point is not None:
            shape = (-1,) + (1,) * (weight.ndim - 1) if self.zero_point.ndim else ()
            centred -= self.zero_point.astype(np.int32).reshape(shape)
        widest_row = int(np.abs(centred).reshape(len(centred), -1).sum(axis=1).max(initial=0))
        return centred, (2**self.act_bits - 1) * widest_row

    def weight_matrix(self, weight: np.ndarray) -> tuple[np.ndarray, int]:
        """The centred integer weight in this op's GEMM layout, and the exactness bound."""
        raise NotImplementedError

    def _matrix(self, weight: np.ndarray) -> tuple[np.ndarray, int]:
        return self.packed if self.packed is not None else self.weight_matrix(weight)


def _rescale(acc: np.ndarray, input_scale: float, weight_scale: np.ndarray) -> np.ndarray:
    """The integer sums ``acc`` back to floats: ``acc * (s_x * s_w)`` with one float32
    multiplier per output channel, as fbgemm requantizes (in place when ``acc`` is float32)."""
    factor = (input_scale * weight_scale.astype(np.float64)).astype(np.float32)
    out = acc.astype(np.float32, copy=False)
    out *= factor
    return out


class QuantizedLinearOp(_QuantizedOp):
    """``y = s_x * s_w * ((qx - zx) @ (qw - zw).T) + b``: x (*, in) float -> (*, out) float32.

    ``forward(x, weight, scale[, bias])`` with ``weight`` the integer array (out, in) and
    ``scale`` per tensor () or per output channel (out,). The activation is quantized to
    ``act_bits`` unsigned (dynamic, or with the static ``act_qparams``), the product
    accumulated exactly (`integer_matmul`), then rescaled once per output.
    """

    def weight_matrix(self, weight: np.ndarray) -> tuple[np.ndarray, int]:
        centred, bound = self._centred_weight(weight)
        return centred.T, bound  # (in, out)

    def forward(
        self, x: np.ndarray, weight: np.ndarray, scale: np.ndarray, bias: np.ndarray | None = None
    ) -> np.ndarray:
        rows = x.reshape(-1, x.shape[-1])
        qx, sx = self._activations(rows)
        matrix, bound = self._matrix(weight)
        out = _rescale(integer_matmul(qx, matrix, bound, self.accumulate), sx, scale)
        if bias is not None:
            out += bias
        return out.reshape(*x.shape[:-1], weight.shape[0])


def _buffer(module: Module, name: str, value: np.ndarray) -> None:
    module.register_buffer(name, Tensor._wrap(np.array(value, order="C")))  # 0-d stays 0-d


class _QuantizedModule(Module):
    """Shared by the quantized layers. Buffers (what ``state_dict`` and the file hold):

    - ``weight``: the integers, ``np.int8`` (or int16), one per weight;
    - ``scale``: float32, per output channel (out,) or per tensor ();
    - ``zero_point``: the weights' zero points (same dtype as ``weight``), only for affine
      weights; symmetric weights have zero point 0 by definition, so nothing is stored;
    - ``bias``: float32 (out,), when the float layer had one;
    - ``input_qparams``: float32 (2,), the static activation scale and zero point (an integer,
      exact in float32), only after calibration (`convert`); otherwise dynamic.
    """

    weight: Tensor
    scale: Tensor
    zero_point: Tensor | None = None
    bias: Tensor | None = None
    input_qparams: Tensor | None = None
    weight_range: tuple[int, int] = (-128, 127)  # the integers' range (``bits`` narrows it)
    act_bits: int | None = 8  # None: weight-only (float activations, `quantize_weight_only`)
    accumulate: str = "auto"

    def _set_weight(
        self,
        weight: np.ndarray,
        bias: np.ndarray | None,
        dtype: Any,
        per_channel: bool,
        symmetric: bool,
        bits: int | None,
    ) -> None:
        q, scale, point, low, high = _weight_params(weight, dtype, per_channel, symmetric, bits)
        self.weight_range = (low, high)
        _buffer(self, "weight", q)
        _buffer(self, "scale", scale)
        if not symmetric or np.any(point != 0):
            _buffer(self, "zero_point", point)
        if bias is not None:
            _buffer(self, "bias", bias.astype(np.float32))
        else:
            self.bias = None

    def set_input_qparams(self, scale: float, zero_point: int) -> None:
        """Fix the activation scale and zero point (static quantization, from calibration)."""
        _buffer(self, "input_qparams", np.array([scale, zero_point], dtype=np.float32))

    def _op_settings(self) -> dict[str, Any]:
        return {
            "zero_point": None if self.zero_point is None else self.zero_point.data,
            "act_bits": self.act_bits,
            "act_qparams": None if self.input_qparams is None else self.input_qparams.data,
            "accumulate": self.accumulate,
        }

    def _run(self, op: _QuantizedOp, x: Tensor) -> Tensor:
        """Apply ``op`` to ``x`` and this layer's buffers, with the weight packed once."""
        op.packed = self._packed(op)
        return apply(
            op, x, self.weight, self.scale, *([self.bias] if self.bias is not None else [])
        )

    def _run_float(self, op: Op, x: Tensor) -> Tensor:
        """Weight-only: the float layer's Op (``LinearOp``, ``Conv2dOp``, so module 17's
        kernels apply) on ``x`` and the dequantized weight, computed once and kept."""
        weight = Tensor._wrap(self._cached(self.dequantized_weight))
        return apply(op, x, weight, *([self.bias] if self.bias is not None else []))

    def _cached(self, build: Callable[[], Any]) -> Any:
        """``build()`` once, kept until the weight, its scale or its zero point is written
        (their version counters change: the tensors' in-place ops and ``load_state_dict``
        bump them) or ``act_bits`` changes."""
        tensors = [t for t in (self.weight, self.scale, self.zero_point) if t is not None]
        key = (self.act_bits, *[(id(t.data), t._version) for t in tensors])
        cached = getattr(self, "_packing", None)
        if cached is None or cached[0] != key:
            # the arrays are kept with the key, so that their ids cannot be reused meanwhile
            self._packing = (key, build(), [t.data for t in tensors])
        return self._packing[1]

    def _packed(self, op: _QuantizedOp) -> tuple[np.ndarray, int] | None:
        """``op.weight_matrix`` computed once and kept, as PyTorch prepacks its quantized
        weights (``quantized::linear_prepack``): the centred integers in the GEMM's layout and
        float dtype (float32 while the exactness bound allows, float64 above; NumPy has no
        int8 GEMM). Memory: 4 (or 8) bytes per weight while the model runs; the file keeps 1.
        Rebuilt when the weight or zero point is written (their versions change; the tensors'
        in-place ops and ``load_state_dict`` bump them). None for ``accumulate="int32"``."""
        if self.accumulate != "auto":
            return None

        def pack() -> tuple[np.ndarray, int]:
            matrix, bound = op.weight_matrix(self.weight.data)
            dtype = np.float32 if bound < FLOAT32_EXACT else np.float64
            return np.ascontiguousarray(matrix, dtype=dtype), bound

        packed: tuple[np.ndarray, int] = self._cached(pack)
        return packed

    def dequantized_weight(self) -> np.ndarray:
        """The float32 weight these integers stand for (for error measurements)."""
        shape = (-1,) + (1,) * (self.weight.ndim - 1)
        scale = self.scale.data.reshape(shape) if self.scale.ndim else self.scale.data
        point: Any = 0
        if self.zero_point is not None:
            zp = self.zero_point.data
            point = zp.reshape(shape).astype(np.int64) if zp.ndim else zp.astype(np.int64)
        return _dequantize(self.weight.data, scale.astype(np.float64), point)

    def _mode(self) -> str:
        kind = "per_channel" if self.scale.ndim else "per_tensor"
        kind += "_affine" if self.zero_point is not None else "_symmetric"
        if self.act_bits is None:
            return f"dtype={self.weight.dtype}, qscheme={kind}, weight_only"
        static = "static" if self.input_qparams is not None else "dynamic"
        return f"dtype={self.weight.dtype}, qscheme={kind}, {static}"


class QuantizedLinear(_QuantizedModule):
    """A Linear layer with integer weights: ``weight`` (out, in) ``np.int8`` (or int16),
    ``scale`` float32 per output channel (out,) or per tensor (), ``bias`` float32 (out,), and
    ``zero_point`` for affine weights only. x (*, in) float -> (*, out) float32 through an
    exact integer matmul (`QuantizedLinearOp`). Build with `QuantizedLinear.from_float(linear)`.

    Memory: out*in bytes (int8) + 4*out (scales) + 4*out (bias) instead of 4*(out*in + out).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        self.in_features, self.out_features = in_features, out_features
        zeros = np.zeros((out_features, in_features), dtype=np.float32)
        self._set_weight(zeros, np.zeros(out_features) if bias else None, np.int8, True, True, None)

    @classmethod
    def from_float(
        cls,
        linear: Linear,
        dtype: Any = np.int8,
        per_channel: bool = True,
        symmetric: bool = True,
        bits: int | None = None,
        act_bits: int | None = 8,
    ) -> QuantizedLinear:
        """Quantize a float `Linear` (``bits`` narrows the range stored in ``dtype``)."""
        layer = cls.__new__(cls)
        layer.in_features, layer.out_features = linear.in_features, linear.out_features
        layer.act_bits = act_bits
        bias = None if linear.bias is None else linear.bias.data
        layer._set_weight(linear.weight.data, bias, dtype, per_channel, symmetric, bits)
        return layer

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(
                f"QuantizedLinear: expected input (*, {self.in_features}), got shape {x.shape}"
            )
        if self.act_bits is None:
            return self._run_float(LinearOp(), x)
        return self._run(QuantizedLinearOp(**self._op_settings()), x)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, {self._mode()}"


class QuantizedConv2dOp(_QuantizedOp):
    """Quantized 2-d convolution (groups 1) by im2col on the centred integer input and one
    exact integer GEMM per batch: x (N, C, H, W) float -> (N, O, Ho, Wo) float32. Padding
    pads the *centred* input with 0, i.e. with the zero point: the quantized value of 0.0.
    Settings as `_QuantizedOp`'s, plus ``stride``, ``padding`` ((top, bottom), (left, right)),
    ``dilation`` and ``relu`` (a ReLU fused in: ``max(y, 0)`` in the same output pass, as
    PyTorch's quantized ``ConvReLU2d``)."""

    def __init__(
        self,
        stride: tuple[int, int],
        padding: tuple[tuple[int, int], tuple[int, int]],
        dilation: tuple[int, int],
        relu: bool = False,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        self.stride, self.padding, self.dilation, self.relu = stride, padding, dilation, relu

    def weight_matrix(self, weight: np.ndarray) -> tuple[np.ndarray, int]:
        centred, bound = self._centred_weight(weight)
        # (O, kH*kW*C): the weight's rows in im2col's column order (i, j, c)
        return centred.transpose(0, 2, 3, 1).reshape(len(weight), -1), bound

    def forward(
        self, x: np.ndarray, weight: np.ndarray, scale: np.ndarray, bias: np.ndarray | None = None
    ) -> np.ndarray:
        n, _, h, w = x.shape
        out_channels, _, kh, kw = weight.shape
        qx, sx = self._activations(x)
        ho = output_size(h, sum(self.padding[0]), kh, self.stride[0], self.dilation[0])
        wo = output_size(w, sum(self.padding[1]), kw, self.stride[1], self.dilation[1])
        cols = im2col(pad2d(qx, self.padding), (kh, kw), self.stride, self.dilation, 1, (ho, wo))
        matrix, bound = self._matrix(weight)
        acc = integer_matmul(matrix, cols[:, 0], bound, self.accumulate)  # (N, O, Ho*Wo)
        out = _rescale(acc, sx, scale.reshape(-1, 1) if scale.ndim else scale)
        out = out.reshape(n, out_channels, ho, wo)
        if bias is not None:
            out += bias.reshape(1, -1, 1, 1)
        if self.relu:
            np.maximum(out, 0, out=out)
        return out


class QuantizedConv2d(_QuantizedModule):
    """A Conv2d with integer weights (O, C, kH, kW) ``np.int8``, float32 per-output-channel
    scales, float32 bias; groups 1. Build with `QuantizedConv2d.from_float(conv)`.
    x (N, C, H, W) -> (N, O, Ho, Wo) float32. Memory: one byte per weight."""

    relu = False  # a ReLU fused in (`convert` fuses the ReLU that follows in a Sequential)

    def __init__(self, conv: Conv2d) -> None:
        if conv.groups != 1:
            raise ValueError(
                f"QuantizedConv2d: only groups=1 convolutions are quantized, got groups="
                f"{conv.groups}; leave this layer in float (qconfig_spec without Conv2d)"
            )
        op: Any = conv.make_op()
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel_size = conv.kernel_size
        self.stride, self.padding, self.dilation = op.stride, op.padding, op.dilation

    @classmethod
    def from_float(
        cls,
        conv: Conv2d,
        dtype: Any = np.int8,
        per_channel: bool = True,
        symmetric: bool = True,
        bits: int | None = None,
        act_bits: int | None = 8,
    ) -> QuantizedConv2d:
        layer = cls(conv)
        layer.act_bits = act_bits
        bias = None if conv.bias is None else conv.bias.data
        layer._set_weight(conv.weight.data, bias, dtype, per_channel, symmetric, bits)
        return layer

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"QuantizedConv2d: expected input (N, {self.in_channels}, H, W), got {x.shape}"
            )
        if self.act_bits is None:
            return self._run_float(Conv2dOp(self.stride, self.padding, self.dilation, 1), x)
        op = QuantizedConv2dOp(
            self.stride, self.padding, self.dilation, self.relu, **self._op_settings()
        )
        return self._run(op, x)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, {self._mode()}" + (", relu=True" if self.relu else "")
        )


# --------------------------------------------------------------------- model transforms
def _set_child(root: Module, name: str, new: Module) -> None:
    """Replace the submodule named ``name`` (as `named_modules` spells it: ``"0"`` in a
    Sequential, ``"h.0.mlp.c_fc"`` through a list of blocks) with ``new``."""
    for child_name, child in root.named_children():
        if name == child_name:
            attribute, _, index = child_name.partition(".")
            if index:  # an item of a list attribute
                getattr(root, attribute)[int(index)] = new
            elif child_name.isdigit() and isinstance(getattr(root, "layers", None), list):
                root.layers[int(child_name)] = new  # type: ignore[attr-defined]
            else:
                setattr(root, child_name, new)
            return
        if name.startswith(child_name + "."):
            _set_child(child, name[len(child_name) + 1 :], new)
            return
    raise KeyError(f"quantize: {type(root).__name__} has no submodule {name!r}")


def _targets(model: Module, types: tuple[type, ...]) -> list[tuple[str, Module]]:
    return [
        (name, module)
        for name, module in model.named_modules()
        if name and type(module) in types  # exact types: a QuantizedLinear is not a Linear
    ]


def _unfuse(model: Module) -> None:
    """Modules that read their Linear children's weights directly in one fused Op (module 14's
    transformer MLP: ``fused=True``) are switched to their unfused path, which calls the
    children, so the quantized children are used."""
    for module in model.modules():
        if getattr(module, "fused", False) is True and any(
            isinstance(child, _QuantizedModule) for child in module.children()
        ):
            module.fused = False  # type: ignore[attr-defined]


def quantize_dynamic(
    model: Module,
    qconfig_spec: Iterable[type] | None = None,
    dtype: Any = np.int8,
    inplace: bool = False,
    *,
    per_channel: bool = True,
    symmetric: bool = True,
    bits: int | None = None,
) -> Module:
    """PyTorch's ``torch.ao.quantization.quantize_dynamic``: the model with every `Linear`
    (``qconfig_spec``: the layer types to quantize, default ``{Linear}``; ``{Linear, Conv2d}``
    adds convolutions) replaced by its quantized twin, weights stored as ``dtype`` (``np.int8``
    or ``np.int16``), activations quantized per batch at run time. A copy unless ``inplace``.

    TinyTorch extras: ``per_channel`` (default True: one scale per output row; PyTorch's
    default dynamic qconfig is per tensor), ``symmetric``, ``bits`` (a narrower range in the
    same storage, for the bit-width lesson). Embeddings, norms and anything else stay float.
    """
    types = tuple(qconfig_spec) if qconfig_spec is not None else (Linear,)
    target = _swap_quantized(
        "quantize_dynamic", model, types, dtype, inplace, per_channel, symmetric, bits, 8
    )
    _unfuse(target)
    _fuse_relu(target)
    return target


def quantize_weight_only(
    model: Module,
    qconfig_spec: Iterable[type] | None = None,
    dtype: Any = np.int8,
    inplace: bool = False,
    *,
    per_channel: bool = True,
    symmetric: bool = True,
    bits: int | None = None,
) -> Module:
    """Weight-only quantization (torchao's ``int8_weight_only``; "W8A32"): every `Linear` and
    `Conv2d` (``qconfig_spec``) stores its weight as ``dtype`` integers with float32 scales,
    and runs the float layer's own Op on float activations with the weight dequantized once
    (kept in memory while the model runs, like the packed weights of the other modes).

    Where there is no integer GEMM (NumPy), quantizing the activations costs passes and saves
    no arithmetic; weight-only keeps the file as small (1 byte per weight) and the speed of
    the float model (module 17's kernels apply, since the Ops are the float ones), and its
    only error is the weights' rounding. Other options as `quantize_dynamic`'s."""
    types = tuple(qconfig_spec) if qconfig_spec is not None else (Linear, Conv2d)
    target = _swap_quantized(
        "quantize_weight_only", model, types, dtype, inplace, per_channel, symmetric, bits, None
    )
    _unfuse(target)
    return target


def _swap_quantized(
    function: str,
    model: Module,
    types: tuple[type, ...],
    dtype: Any,
    inplace: bool,
    per_channel: bool,
    symmetric: bool,
    bits: int | None,
    act_bits: int | None,
) -> Module:
    """A copy of ``model`` (or ``model``) with every layer of ``types`` quantized."""
    unknown = [t for t in types if t not in (Linear, Conv2d)]
    if unknown:
        raise ValueError(f"{function}: can quantize Linear and Conv2d layers, got {unknown}")
    try:
        kind: np.dtype[Any] | None = np.dtype(dtype)
    except TypeError:  # a name NumPy does not know, e.g. PyTorch's "qint8"
        kind = None
    if kind not in (np.dtype(np.int8), np.dtype(np.int16)):
        raise ValueError(
            f"{function}: dtype must be np.int8 or np.int16 (PyTorch's torch.qint8 is "
            f"np.int8 here), got {dtype!r}"
        )
    target = model if inplace else copy.deepcopy(model)
    for name, module in _targets(target, types):
        if isinstance(module, Linear):
            new: Module = QuantizedLinear.from_float(
                module, dtype, per_channel, symmetric, bits, act_bits
            )
        else:
            assert isinstance(module, Conv2d)
            new = QuantizedConv2d.from_float(module, dtype, per_channel, symmetric, bits, act_bits)
        new.training = module.training
        _set_child(target, name, new)
    return target


class Observed(Module):
    """A float layer with an input observer (what `prepare` inserts): forward records the
    input's range with ``observer`` and runs ``module`` unchanged."""

    def __init__(self, module: Module, observer: MinMaxObserver) -> None:
        self.module, self.observer = module, observer

    def forward(self, x: Tensor) -> Any:
        self.observer(x)
        return self.module(x)


def prepare(
    model: Module,
    qconfig_spec: Iterable[type] | None = None,
    inplace: bool = False,
    act_bits: int = 8,
) -> Module:
    """PyTorch's ``prepare``: wrap every target layer (default Linear and Conv2d) in `Observed`
    so that running calibration batches through the model records each layer's input range."""
    types = tuple(qconfig_spec) if qconfig_spec is not None else (Linear, Conv2d)
    target = model if inplace else copy.deepcopy(model)
    for name, module in _targets(target, types):
        _set_child(
            target, name, Observed(module, MinMaxObserver(np.uint8, quant_max=2**act_bits - 1))
        )
    return target


def convert(
    model: Module,
    inplace: bool = False,
    dtype: Any = np.int8,
    *,
    per_channel: bool = True,
    symmetric: bool = True,
    bits: int | None = None,
    act_bits: int = 8,
) -> Module:
    """PyTorch's ``convert``: every `Observed` layer becomes its quantized twin with *static*
    activation qparams (the observed range): no per-batch min/max at run time."""
    target = model if inplace else copy.deepcopy(model)
    for name, module in list(target.named_modules()):
        if not name or not isinstance(module, Observed):
            continue
        inner = module.module
        if isinstance(inner, Linear):
            new: _QuantizedModule = QuantizedLinear.from_float(
                inner, dtype, per_channel, symmetric, bits, act_bits
            )
        elif isinstance(inner, Conv2d):
            new = QuantizedConv2d.from_float(inner, dtype, per_channel, symmetric, bits, act_bits)
        else:
            raise TypeError(f"convert: cannot quantize {type(inner).__name__} ({name})")
        scale, point = module.observer.calculate_qparams()
        new.set_input_qparams(scale, point)
        new.training = inner.training
        _set_child(target, name, new)
    _unfuse(target)
    _fuse_relu(target)
    return target


def _fuse_relu(model: Module) -> None:
    """A `QuantizedConv2d` followed by a ReLU in a `Sequential` takes the ReLU in (its
    ``relu``), and the ReLU leaves the Sequential: one pass over the output instead of two,
    as PyTorch's quantized ``ConvReLU2d``. The outputs are the same."""
    from tinytorch.activations import ReLU
    from tinytorch.networks import Sequential

    for module in model.modules():
        if not isinstance(module, Sequential):
            continue
        kept: list[Module] = []
        for layer in module.layers:
            previous = kept[-1] if kept else None
            if (
                type(layer) is ReLU
                and isinstance(previous, QuantizedConv2d)
                and previous.act_bits is not None  # weight-only runs the float Conv2dOp
                and not previous.relu
            ):
                previous.relu = True
                continue
            kept.append(layer)
        module.layers = kept


def quantize_static(
    model: Module,
    batches: Iterable[Any],
    qconfig_spec: Iterable[type] | None = None,
    dtype: Any = np.int8,
    **options: Any,
) -> Module:
    """`prepare`, run ``batches`` (inputs, or (inputs, targets) pairs) through the model in
    eval mode without a graph (calibration), `convert`: a quantized copy with static
    activation ranges. ``options`` go to `convert` (per_channel, symmetric, bits, act_bits)."""
    act_bits = int(options.get("act_bits", 8))
    observed = prepare(model, qconfig_spec, act_bits=act_bits)
    observed.eval()
    seen = 0
    with no_grad():
        for batch in batches:
            inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
            observed(inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs)))
            seen += 1
    if seen == 0:
        raise ValueError("quantize_static: no calibration batches were given")
    quantized = convert(observed, inplace=True, dtype=dtype, **options)
    quantized.train(model.training)
    return quantized


def fuse_conv_bn(model: Module, inplace: bool = False) -> Module:
    """Fold every eval-mode BatchNorm2d into the Conv2d just before it (PyTorch's
    ``fuse_modules`` for conv-bn): ``W' = W * g / sqrt(var + eps)`` per output channel,
    ``b' = (b - mean) * g / sqrt(var + eps) + beta``, and the BatchNorm becomes an identity
    (removed from a `Sequential`). The outputs equal the unfused model's in eval mode (to float
    rounding); the model then has fewer arrays to store and quantize (BN has no integer form).
    Works on Sequential containers (nested ones too)."""
    from tinytorch.networks import Sequential

    target = model if inplace else copy.deepcopy(model)
    for module in list(target.modules()):
        if not isinstance(module, Sequential):
            continue
        layers = list(module.layers)
        kept: list[Module] = []
        for layer in layers:
            previous = kept[-1] if kept else None
            if (
                isinstance(layer, BatchNorm2d)
                and isinstance(previous, Conv2d)
                and layer.running_mean is not None
                and layer.running_var is not None
                and previous.out_channels == layer.num_features
            ):
                std = np.sqrt(layer.running_var.data.astype(np.float64) + layer.eps)
                gamma = layer.weight.data if layer.weight is not None else np.ones_like(std)
                beta = layer.bias.data if layer.bias is not None else np.zeros_like(std)
                factor = gamma / std
                bias = previous.bias.data if previous.bias is not None else 0.0
                new_bias = (bias - layer.running_mean.data) * factor + beta
                previous.weight.data[...] = previous.weight.data * factor.reshape(-1, 1, 1, 1)
                from tinytorch.layers import Parameter

                previous.bias = Parameter(new_bias.astype(np.float32))
                continue
            kept.append(layer)
        module.layers = kept
    return target


def evaluate_logits(model: Module, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for ``inputs`` in batches, in eval mode, without a graph."""
    model.eval()
    with no_grad():
        return np.concatenate(
            [
                model(Tensor(inputs[i : i + batch_size])).data
                for i in range(0, len(inputs), batch_size)
            ]
        )


Evaluate = Callable[[Module], float]
