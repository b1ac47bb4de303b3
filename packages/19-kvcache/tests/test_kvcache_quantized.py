"""The INT8 cache: per-vector symmetric quantization within half a step of the values, int8
storage, and its error on a model measured against the float cache."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.generation import generate
from tinytorch.kvcache import Int8KVCache, dequantize_int8, int8_cache_error, quantize_int8
from tinytorch.setup.testing import assert_close
from tinytorch.transformers import TinyGPT


def test_quantize_round_trip_within_half_a_step() -> None:
    x = np.random.default_rng(0).standard_normal((3, 4, 5, 16)).astype(np.float32)
    x[0, 0, 0] *= 100.0  # one large vector: its own scale, nobody else's
    q, scale = quantize_int8(x)
    assert q.dtype == np.int8 and scale.dtype == np.float32 and scale.shape == (3, 4, 5, 1)
    assert np.abs(q).max() == 127 and q.min() >= -127
    assert_close(scale, np.abs(x).max(-1, keepdims=True) / 127, rtol=1e-6, atol=0)
    back = dequantize_int8(q, scale)
    assert back.dtype == np.float32
    assert (np.abs(back - x) <= scale / 2 * (1 + 1e-5)).all()
    assert np.abs(back - x)[1:].max() < 0.02  # the large vector did not coarsen the others


def test_quantize_zeros_and_errors() -> None:
    q, scale = quantize_int8(np.zeros((2, 8), dtype=np.float32))
    assert (q == 0).all() and (scale == 1).all()
    assert (dequantize_int8(q, scale) == 0).all()
    assert dequantize_int8(np.array([[-127, 5]], np.int8), np.float32([[0.5]])).tolist() == [
        [-63.5, 2.5]
    ]
    with pytest.raises(TypeError, match="float"):
        quantize_int8(np.ones(3, dtype=np.int64))


def test_int8_cache_update_stores_codes_and_returns_dequantized_values() -> None:
    cache = Int8KVCache(2, 1, 2, 6, 8)
    rng = np.random.default_rng(1)
    k, v = rng.standard_normal((2, 1, 2, 5, 8)).astype(np.float32)
    cache.update(1, k[:, :, :3], v[:, :, :3])
    keys, values = cache.update(1, k[:, :, 3:], v[:, :, 3:])
    assert keys.shape == (1, 2, 5, 8) and keys.dtype == np.float32
    assert cache.key_cache[1].dtype == np.int8 and cache.get_seq_length(1) == 5
    for got, want in ((keys, k), (values, v)):
        step = np.abs(want).max(-1, keepdims=True) / 127
        assert (np.abs(got - want) <= step / 2 * (1 + 1e-5)).all()
        assert not np.array_equal(got, want)  # really quantized
    assert (cache.key_cache[1][:, :, 5:] == 0).all() and (cache.key_scale[0] == 0).all()
    with pytest.raises(ValueError, match="max_len=6"):
        cache.update(1, k[:, :, :2], v[:, :, :2])
    cache.reset()
    assert cache.get_seq_length(1) == 0


def test_int8_cache_error_on_a_model_is_measured_and_small() -> None:
    model = TinyGPT(65, 48, n_layer=2, n_head=2, n_embd=64, rng=np.random.default_rng(0))
    idx = np.random.default_rng(2).integers(0, 65, (2, 40))
    report = int8_cache_error(model, idx, prompt_length=8, new_tokens=24)
    assert report["float_logit_error"] <= 1e-5
    assert 0 < report["max_logit_error"] < 0.02 * report["logit_scale"]
    assert report["greedy_agreement"] >= 0.9
    assert report["float_bytes"] / report["int8_bytes"] == pytest.approx(4 / (1 + 4 / 32))
    out = generate(
        model,
        idx[:, :8],
        10,
        temperature=0,
        kv_cache=model.make_kv_cache(2, cache_class=Int8KVCache),
    )
    assert out.shape == (2, 18)
