"""Memory accounting as code: the formula 2 x layers x batch x heads x length x head_dim x
itemsize against the arrays each cache really allocates."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.kvcache import (
    Int8KVCache,
    KVCache,
    allocated_bytes,
    cache_arrays,
    kv_cache_bytes,
    model_cache_bytes,
)
from tinytorch.transformers import TinyGPT


def test_formula_values() -> None:
    assert kv_cache_bytes(1, 1, 1, 1, 1, itemsize=1) == 2
    assert kv_cache_bytes(6, 1, 6, 256, 64) == 4_718_592  # nanoGPT Shakespeare, float32
    assert kv_cache_bytes(48, 1, 25, 1024, 64) == 629_145_600  # GPT-2 XL's shape
    assert kv_cache_bytes(2, 3, 4, 5, 6, itemsize=2) == 2 * 2 * 3 * 4 * 5 * 6 * 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1, 2), (3, 2, 4, 17, 8), (6, 1, 6, 256, 64)])
def test_float_cache_allocates_exactly_the_formula(shape: tuple[int, ...], dtype: type) -> None:
    layers, batch, heads, length, head_dim = shape
    cache = KVCache(layers, batch, heads, length, head_dim, dtype=dtype)
    itemsize = np.dtype(dtype).itemsize
    assert allocated_bytes(cache) == kv_cache_bytes(*shape, itemsize=itemsize)
    assert len(cache_arrays(cache)) == 2 * layers
    filled = np.ones((batch, heads, 3 if length >= 3 else 1, head_dim), dtype=dtype)
    cache.update(0, filled, filled)
    assert allocated_bytes(cache) == kv_cache_bytes(*shape, itemsize=itemsize)  # preallocated


def test_int8_cache_allocates_codes_and_scales() -> None:
    layers, batch, heads, length, head_dim = 4, 2, 4, 64, 32
    cache = Int8KVCache(layers, batch, heads, length, head_dim)
    codes = kv_cache_bytes(layers, batch, heads, length, head_dim, itemsize=1)
    scales = kv_cache_bytes(layers, batch, heads, length, 1, itemsize=4)
    assert allocated_bytes(cache) == codes + scales
    assert len(cache_arrays(cache)) == 4 * layers
    assert all(a.dtype == np.int8 for a in cache.key_cache + cache.value_cache)
    ratio = kv_cache_bytes(layers, batch, heads, length, head_dim) / allocated_bytes(cache)
    assert ratio == pytest.approx(4 / (1 + 4 / head_dim))  # 3.56x smaller at head_dim 32


def test_model_cache_bytes_match_the_models_cache() -> None:
    model = TinyGPT(65, 48, n_layer=3, n_head=4, n_embd=32, rng=np.random.default_rng(0))
    assert allocated_bytes(model.make_kv_cache(5)) == model_cache_bytes(model, 5)
    assert allocated_bytes(model.make_kv_cache(2, 16)) == model_cache_bytes(model, 2, 16)
    assert model_cache_bytes(model, 1, 48, itemsize=4) == 2 * 3 * 4 * 48 * 8 * 4


def test_cache_arrays_counts_each_array_once() -> None:
    cache = KVCache(2, 1, 1, 4, 2)
    cache.alias = cache.key_cache[0]  # the same array twice is counted once
    assert len(cache_arrays(cache)) == 4
