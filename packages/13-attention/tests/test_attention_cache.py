"""`KVCache` and the cached path of `CausalSelfAttention`: the cache holds exactly what was
written where it was written, and a prompt followed by one token at a time gives the outputs of
the full causal forward (plain and rotary; left-padded rows as if alone)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.attention import (
    CachedSelfAttentionOp,
    CausalSelfAttention,
    KVCache,
    cached_attention_mask,
)
from tinytorch.autograd import no_grad
from tinytorch.embeddings import RotaryEmbedding
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor, apply


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def layer(rotary: bool = False, dtype: Any = np.float32) -> CausalSelfAttention:
    rope = RotaryEmbedding(8, 32) if rotary else None
    attn = CausalSelfAttention(32, 4, rng=rng(), rotary=rope)
    for param in attn.parameters():
        param.data = param.data.astype(dtype)
    return attn


def test_cache_is_preallocated_and_update_writes_in_place() -> None:
    cache = KVCache(num_layers=2, batch_size=3, num_heads=4, max_len=10, head_dim=5)
    assert cache.shape == (3, 4, 10, 5) and len(cache.key_cache) == len(cache.value_cache) == 2
    assert all(a.dtype == np.float32 and a.shape == cache.shape for a in cache.key_cache)
    buffers = [id(a) for a in cache.key_cache + cache.value_cache]
    k, v = rng(1).standard_normal((2, 3, 4, 6, 5), dtype=np.float32)
    keys, values = cache.update(1, k[:, :, :4], v[:, :, :4])
    assert keys.shape == (3, 4, 4, 5) and np.shares_memory(keys, cache.key_cache[1])
    assert np.shares_memory(values, cache.value_cache[1])
    keys, values = cache.update(1, k[:, :, 4:], v[:, :, 4:])
    assert_close(keys, k, rtol=0, atol=0)
    assert_close(values, v, rtol=0, atol=0)
    assert_close(cache.key_cache[1][:, :, 6:], np.zeros((3, 4, 4, 5)), rtol=0, atol=0)
    assert cache.get_seq_length(1) == 6 and cache.get_seq_length(0) == 0
    assert cache.get_seq_length() == 0  # layer 0 by default
    assert [id(a) for a in cache.key_cache + cache.value_cache] == buffers  # never reallocated
    cache.reset()
    assert cache.get_seq_length(1) == 0 and cache.get_max_cache_shape() == 10
    keys, _ = cache.update(1, v[:, :, :1], v[:, :, :1])
    assert_close(keys, v[:, :, :1], rtol=0, atol=0)  # overwritten after reset


def test_cache_errors_name_the_limit_and_the_fix() -> None:
    cache = KVCache(1, 1, 2, 4, 3)
    block = np.zeros((1, 2, 3, 3), dtype=np.float32)
    cache.update(0, block, block)
    with pytest.raises(ValueError, match=r"holds 3 positions .* max_len=4; call reset\(\)"):
        cache.update(0, block[:, :, :2], block[:, :, :2])
    assert cache.get_seq_length() == 3  # a refused write changes nothing
    with pytest.raises(ValueError, match=r"\(1, 2, T, 3\)"):
        cache.update(0, np.zeros((1, 3, 1, 3)), np.zeros((1, 3, 1, 3)))
    with pytest.raises(IndexError, match="layer_idx 1"):
        cache.update(1, block, block)
    with pytest.raises(ValueError, match="max_len must be a positive int"):
        KVCache(1, 1, 2, 0, 3)


def test_cached_attention_mask() -> None:
    assert cached_attention_mask(1, 5) == (None, False)  # decode: every key
    assert cached_attention_mask(4, 0) == (None, True)  # prompt: plain causal
    mask, causal = cached_attention_mask(2, 3)
    assert not causal
    assert mask.tolist() == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]
    pad = np.array([[True, False, False, False, False], [False] * 5])
    mask, _ = cached_attention_mask(2, 3, pad)
    assert mask.shape == (2, 1, 2, 5)
    assert mask[0, 0].tolist() == [[0, 1, 1, 1, 0], [0, 1, 1, 1, 1]]
    assert mask[1, 0].tolist() == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]
    with pytest.raises(ValueError, match=r"\(B, 5\)"):
        cached_attention_mask(2, 3, pad[:, :4])


def run_cached(attn: CausalSelfAttention, x: np.ndarray, prompt: int, **options: Any) -> Any:
    """The prompt in one forward, then one token at a time, outputs concatenated."""
    b, t, _ = x.shape
    cache = KVCache(1, b, attn.num_heads, t, attn.embed_dim // attn.num_heads, dtype=x.dtype)
    pad = options.pop("key_padding_mask", None)
    outs = []
    with no_grad():
        for start, end in [(0, prompt), *((i, i + 1) for i in range(prompt, t))]:
            extra = dict(options)
            if pad is not None:
                extra["key_padding_mask"] = pad[:, :end]
                if "positions" in options:
                    extra["positions"] = options["positions"][:, start:end]
            outs.append(attn(Tensor(x[:, start:end]), kv_cache=cache, **extra).data)
    assert cache.get_seq_length() == t
    return np.concatenate(outs, axis=1)


@pytest.mark.parametrize("rotary", [False, True], ids=["plain", "rotary"])
@pytest.mark.parametrize("prompt", [1, 2, 7])
def test_prompt_then_one_token_at_a_time_equals_the_full_forward(rotary: bool, prompt: int) -> None:
    attn = layer(rotary)
    x = rng(2).standard_normal((2, 12, 32), dtype=np.float32)
    with no_grad():
        full = attn(Tensor(x)).data
    cached = run_cached(attn, x, prompt)
    assert np.abs(cached - full).max() <= 1e-5
    attn64 = layer(rotary, np.float64)  # float64: the same up to rounding
    with no_grad():
        full64 = attn64(Tensor(x.astype(np.float64))).data
    assert_close(run_cached(attn64, x.astype(np.float64), prompt), full64, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rotary", [False, True], ids=["plain", "rotary"])
def test_left_padded_row_gives_what_it_gives_alone(rotary: bool) -> None:
    attn = layer(rotary, np.float64)
    x = rng(3).standard_normal((2, 9, 32))
    pad = np.zeros((2, 9), dtype=bool)
    pad[1, :4] = True  # row 1: four padding tokens, then five tokens
    positions = np.maximum(np.cumsum(~pad, axis=1) - 1, 0)
    with no_grad():
        padded = attn(Tensor(x), key_padding_mask=pad, positions=positions).data
        alone = attn(Tensor(x[1:, 4:])).data
        full = attn(Tensor(x[:1])).data
    assert_close(padded[1, 4:], alone[0], rtol=1e-12, atol=1e-12)
    assert_close(padded[0], full[0], rtol=1e-12, atol=1e-12)
    assert np.isfinite(padded).all()  # padding queries see no key: zeros, not NaN
    cached = run_cached(attn, x, 6, key_padding_mask=pad, positions=positions)
    assert_close(cached[1, 4:], alone[0], rtol=1e-12, atol=1e-12)
    assert_close(cached[0], full[0], rtol=1e-12, atol=1e-12)


def test_padding_mask_is_differentiable_through_the_full_forward() -> None:
    attn = layer(dtype=np.float64)
    x = Tensor(rng(4).standard_normal((2, 5, 32)), requires_grad=True)
    pad = np.zeros((2, 5), dtype=bool)
    pad[0, :2] = True
    attn(x, key_padding_mask=pad).sum().backward()
    assert x.grad is not None and np.isfinite(x.grad.data).all()
    assert_close(x.grad.data[0, :2], np.zeros((2, 32)), rtol=0, atol=1e-12)  # nobody saw them


def test_cache_is_inference_only() -> None:
    attn = layer()
    cache = KVCache(1, 1, 4, 4, 8)
    with pytest.raises(RuntimeError, match="no_grad"):
        attn(Tensor(np.ones((1, 2, 32), dtype=np.float32)), kv_cache=cache)
    op = CachedSelfAttentionOp(4, cache)
    qkv = np.ones((1, 1, 96), dtype=np.float32)
    with no_grad():
        apply(op, qkv)
    with pytest.raises(RuntimeError, match="no backward"):
        op.backward(np.ones((1, 1, 32)), (True,))
    with pytest.raises(TypeError, match="bool"):
        attn(Tensor(np.ones((1, 2, 32))), key_padding_mask=np.zeros((1, 2)))
