"""`KVCache`: the keys and values of the tokens already seen, kept for generation.

A causal language model predicts token t+1 from tokens 0..t. Generating n tokens with full
forwards recomputes every earlier token's keys and values n times: step t costs O(t) matmul
work per layer and O(t^2) attention. But with a causal mask, the keys and values of positions
0..t-1 do not depend on what comes later: they are the same at every step. A KV cache keeps
them, so each step runs only the new token through the network (one row of every matmul) and
attends its query to the cached keys: O(1) matmul work per layer and O(t) attention.

This cache is *preallocated* (Hugging Face's ``StaticCache``): one array per layer for the keys
and one for the values, each (batch, heads, max_len, head_dim), allocated once; a step writes
its T new positions into the next T slots and reads the filled prefix as a view (no copy, no
concatenation that would reallocate the whole cache each step). Memory:
``2 * layers * batch * heads * max_len * head_dim * itemsize`` bytes, whatever has been
filled (module 19 checks that formula against the arrays, and adds an INT8 variant).

Positions the cache has filled: `get_seq_length` (per layer; equal for every layer between
forwards). A write past ``max_len`` raises; `reset` empties the cache for a new prompt
(the arrays are kept and overwritten).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class KVCache:
    """Preallocated keys and values of every attention layer of a model.

    ``KVCache(num_layers, batch_size, num_heads, max_len, head_dim, dtype=np.float32)``:
    ``key_cache[l]`` and ``value_cache[l]`` are (batch_size, num_heads, max_len, head_dim)
    arrays of ``dtype`` (zeros), allocated here and never reallocated.

    ``update(layer_idx, key, value)`` appends T positions of one layer (key, value: (B, H, T,
    head_dim)) and returns that layer's keys and values so far, (B, H, S, head_dim) views with
    S = positions filled (Hugging Face's ``Cache.update``). ``get_seq_length(layer_idx=0)``,
    ``reset()``; ``max_len``. Every row of the batch shares the slots: a batch of prompts of
    different lengths is left-padded, and the padding slots are masked out by the attention
    (``key_padding_mask``).
    """

    def __init__(
        self,
        num_layers: int,
        batch_size: int,
        num_heads: int,
        max_len: int,
        head_dim: int,
        dtype: Any = np.float32,
    ) -> None:
        for name, value in (
            ("num_layers", num_layers),
            ("batch_size", batch_size),
            ("num_heads", num_heads),
            ("max_len", max_len),
            ("head_dim", head_dim),
        ):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"{type(self).__name__}: {name} must be a positive int, got {value!r}"
                )
        self.num_layers, self.batch_size, self.num_heads = num_layers, batch_size, num_heads
        self.max_len, self.head_dim = int(max_len), head_dim
        self.dtype = np.dtype(dtype)
        self._lengths = [0] * num_layers
        self._allocate()

    def _allocate(self) -> None:
        """The storage: one keys and one values array per layer."""
        shape = self.shape
        self.key_cache = [np.zeros(shape, self.dtype) for _ in range(self.num_layers)]
        self.value_cache = [np.zeros(shape, self.dtype) for _ in range(self.num_layers)]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(batch_size, num_heads, max_len, head_dim): one layer's keys (or values)."""
        return (self.batch_size, self.num_heads, self.max_len, self.head_dim)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        """Positions filled in layer ``layer_idx`` (0 after `reset`)."""
        return self._lengths[layer_idx]

    def get_max_cache_shape(self) -> int:
        """The most positions the cache holds (``max_len``), as Hugging Face's caches."""
        return self.max_len

    def reset(self) -> None:
        """Empty the cache for a new prompt (the arrays stay allocated; the next writes
        overwrite them, and nothing past `get_seq_length` is ever read)."""
        self._lengths = [0] * self.num_layers

    def _claim(self, layer_idx: int, key: np.ndarray, value: np.ndarray) -> tuple[int, int]:
        """Check the new keys and values and return the slots [start, end) they go to
        (advancing the layer's length)."""
        name = type(self).__name__
        if not 0 <= layer_idx < self.num_layers:
            raise IndexError(
                f"{name}.update: layer_idx {layer_idx} is out of range for a cache of "
                f"{self.num_layers} layers"
            )
        b, h, _, d = self.shape
        if (
            key.ndim != 4
            or key.shape != value.shape
            or (key.shape[0], key.shape[1], key.shape[3]) != (b, h, d)
        ):
            raise ValueError(
                f"{name}.update: key and value must be (batch_size, num_heads, T, head_dim) = "
                f"({b}, {h}, T, {d}), got {key.shape} and {value.shape}"
            )
        start = self._lengths[layer_idx]
        end = start + key.shape[2]
        if end > self.max_len:
            raise ValueError(
                f"{name}.update: layer {layer_idx} holds {start} positions and {key.shape[2]} "
                f"more do not fit in max_len={self.max_len}; call reset() before a new prompt, "
                f"build the cache with a larger max_len, or crop the context to its last "
                f"{self.max_len} tokens and refill the cache (generate does this past the "
                f"model's block_size)"
            )
        self._lengths[layer_idx] = end
        return start, end

    def update(
        self, layer_idx: int, key: np.ndarray, value: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Append ``key``, ``value`` (B, H, T, head_dim) to layer ``layer_idx``; return its
        keys and values so far, (B, H, S, head_dim) views of the cache (S = the positions
        filled, this step's included). Cost: a copy of the T new positions; no allocation."""
        start, end = self._claim(layer_idx, key, value)
        # HINT: copy key and value into slots start..end-1 of this layer's arrays
        # HINT: (self.key_cache[layer_idx][:, :, start:end] = key), then return the filled
        # HINT: prefix [:, :, :end] of both: views, no copies
        # BEGIN SOLUTION
        keys, values = self.key_cache[layer_idx], self.value_cache[layer_idx]
        keys[:, :, start:end] = key
        values[:, :, start:end] = value
        return keys[:, :, :end], values[:, :, :end]
        # END SOLUTION

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_layers={self.num_layers}, shape={self.shape}, "
            f"dtype={self.dtype}, filled={self._lengths[0]})"
        )
