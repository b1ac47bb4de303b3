"""`Int8KVCache`: the keys and values stored as 8-bit integers, one float scale per vector.

A float32 cache costs 4 bytes per number. Symmetric INT8 quantization stores each head's key
(or value) vector of one position as ``round(x / scale)`` in [-127, 127], with
``scale = max|x| / 127`` kept in float32: 1 byte per number plus 4 bytes per ``head_dim``
numbers, ``(1 + 4 / head_dim) / 4`` of the float32 cache (0.27 for head_dim 64: 3.8x smaller).
Reading a position back gives ``q * scale``, within ``scale / 2`` of the original (rounding),
so the attention scores move a little and the logits with them: `int8_cache_error` measures
how much on a real model.

The granularity matters: one scale per (row, head, position) vector follows each token's own
range, where one scale per tensor would let a single large key crush every other key's
resolution. Keys and values are written once and read at every later step, so the quantization
cost is paid once per token, the dequantization once per step (a copy of the filled prefix, in
float32, which a fused kernel would do inside the attention matmuls instead).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.attention import KVCache

INT8_MAX = 127  # symmetric: -127..127 (the -128 code is not used, so -q never overflows)


def quantize_int8(x: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric INT8 quantization of ``x`` along ``axis``: ``(q, scale)``.

    ``scale = max|x| / 127`` over ``axis`` (kept as a size-1 dim, float32; 1 where the
    vector is all zeros, so nothing divides by 0), ``q = round(x / scale)`` as int8 in
    [-127, 127]. ``q * scale`` is within ``scale / 2`` of x. Cost: 3 passes over x.
    """
    if x.dtype.kind != "f":
        raise TypeError(f"quantize_int8: expected a float array, got dtype {x.dtype}")
    # HINT: amax = np.abs(x).max(axis, keepdims=True); scale = amax / 127 (use 1 where amax is
    # HINT: 0); q = np.rint(x / scale), clipped to [-127, 127], as np.int8; scale as float32
    # BEGIN SOLUTION
    amax = np.abs(x).max(axis=axis, keepdims=True).astype(np.float32)
    scale = np.where(amax > 0, amax / INT8_MAX, np.float32(1.0)).astype(np.float32)
    q = np.clip(np.rint(x / scale), -INT8_MAX, INT8_MAX).astype(np.int8)
    # END SOLUTION
    return q, scale


def dequantize_int8(q: np.ndarray, scale: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """``q * scale`` in ``dtype``: the float values an INT8 array (and its broadcastable
    scales) stand for."""
    # HINT: the integers back to floats, then times their scale (which broadcasts)
    # BEGIN SOLUTION
    out = q.astype(dtype)
    out *= scale
    # END SOLUTION
    return out


class Int8KVCache(KVCache):
    """A `KVCache` whose keys and values are int8, with a float32 scale per (row, head,
    position) vector: ``key_cache[l]`` / ``value_cache[l]`` (B, H, max_len, D) int8 and
    ``key_scale[l]`` / ``value_scale[l]`` (B, H, max_len, 1) float32.

    Same constructor and interface as `KVCache` (``dtype`` is the float type `update`
    returns). ``update`` quantizes the new positions (`quantize_int8`) into their slots and
    returns the filled prefix dequantized, (B, H, S, D) in ``dtype`` (a new array each step).
    Memory: ``2 * L * B * H * max_len * (D + 4)`` bytes (`tinytorch.kvcache.kv_cache_bytes`
    with itemsize 1, plus the scales). Use it with generation:
    ``generate(model, idx, n, kv_cache=model.make_kv_cache(B, cache_class=Int8KVCache))``.
    """

    def _allocate(self) -> None:
        b, h, length, _ = shape = self.shape
        layers = range(self.num_layers)
        self.key_cache = [np.zeros(shape, np.int8) for _ in layers]
        self.value_cache = [np.zeros(shape, np.int8) for _ in layers]
        self.key_scale = [np.zeros((b, h, length, 1), np.float32) for _ in layers]
        self.value_scale = [np.zeros((b, h, length, 1), np.float32) for _ in layers]

    def update(
        self, layer_idx: int, key: np.ndarray, value: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Quantize and append ``key``, ``value`` (B, H, T, D); return the layer's keys and
        values so far, dequantized to ``dtype`` (B, H, S, D)."""
        start, end = self._claim(layer_idx, key, value)
        # HINT: quantize key and value along head_dim (quantize_int8), write the int8 codes
        # HINT: into slots start..end-1 of key_cache / value_cache and the scales into
        # HINT: key_scale / value_scale; return the prefix [:, :, :end] of both, dequantized
        # BEGIN SOLUTION
        for codes, scales, x in (
            (self.key_cache[layer_idx], self.key_scale[layer_idx], key),
            (self.value_cache[layer_idx], self.value_scale[layer_idx], value),
        ):
            codes[:, :, start:end], scales[:, :, start:end] = quantize_int8(x)
        keys = dequantize_int8(
            self.key_cache[layer_idx][:, :, :end], self.key_scale[layer_idx][:, :, :end], self.dtype
        )
        values = dequantize_int8(
            self.value_cache[layer_idx][:, :, :end],
            self.value_scale[layer_idx][:, :, :end],
            self.dtype,
        )
        return keys, values
        # END SOLUTION
