"""TinyGPT with a KV cache and with padding, for each positional encoding (learned,
sinusoidal, rotary): a prompt then one token at a time gives the full forward's logits at every
step, a left-padded row gives its logits alone, and the positions are offset correctly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.attention import KVCache
from tinytorch.autograd import no_grad
from tinytorch.embeddings import RotaryEmbedding, SinusoidalPositionalEncoding
from tinytorch.setup.testing import assert_close
from tinytorch.transformers import TinyGPT

ENCODINGS = ["learned", "sinusoidal", "rotary"]


def model(pos_encoding: str, dtype: Any = np.float32, **options: Any) -> TinyGPT:
    config = {"vocab_size": 23, "block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 16}
    gpt = TinyGPT(**{**config, **options}, pos_encoding=pos_encoding, rng=np.random.default_rng(0))
    for param in gpt.parameters():
        param.data = param.data.astype(dtype)
    return gpt


def ids(batch: int = 2, length: int = 16, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 23, (batch, length))


@pytest.mark.parametrize("pos_encoding", ENCODINGS)
@pytest.mark.parametrize("prompt", [1, 2, 9])
def test_cached_logits_equal_the_full_forward_at_every_step(pos_encoding: str, prompt: int) -> None:
    gpt = model(pos_encoding)
    tokens = ids()
    cache = gpt.make_kv_cache(2)
    with no_grad():
        full = gpt(tokens).data
        steps = [gpt(tokens[:, :prompt], kv_cache=cache).data]
        for t in range(prompt, tokens.shape[1]):
            steps.append(gpt(tokens[:, t : t + 1], kv_cache=cache).data)
            assert cache.get_seq_length() == t + 1
    cached = np.concatenate(steps, axis=1)
    assert cached.shape == full.shape and cached.dtype == np.float32
    assert np.abs(cached - full).max() <= 1e-5


@pytest.mark.parametrize("pos_encoding", ENCODINGS)
def test_positions_are_offset_by_the_cache(pos_encoding: str) -> None:
    """The same token at a different position gives a different output: the cache must not
    restart the positions at 0 (a bug that the full-forward comparison also catches)."""
    gpt = model(pos_encoding, np.float64)
    tokens = np.array([[5, 5, 5, 5]])
    cache = gpt.make_kv_cache(1)
    with no_grad():
        gpt(tokens[:, :3], kv_cache=cache)
        step = gpt(tokens[:, 3:], kv_cache=cache).data
        full = gpt(tokens).data
    assert_close(step[0, 0], full[0, 3], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pos_encoding", ENCODINGS)
def test_left_padded_batch_equals_each_prompt_alone(pos_encoding: str) -> None:
    gpt = model(pos_encoding)
    tokens = ids(2, 12, seed=2)
    mask = np.ones((2, 12), dtype=np.int64)
    mask[0, :5] = 0  # row 0: 5 padding tokens, then 7 tokens
    tokens[0, :5] = 0
    with no_grad():
        padded = gpt(tokens, attention_mask=mask).data
        alone = [gpt(tokens[:1, 5:]).data[0], gpt(tokens[1:]).data[0]]
        cache = gpt.make_kv_cache(2)
        steps = [gpt(tokens[:, :8], attention_mask=mask[:, :8], kv_cache=cache).data]
        for t in range(8, 12):
            steps.append(
                gpt(tokens[:, t : t + 1], attention_mask=mask[:, : t + 1], kv_cache=cache).data
            )
    cached = np.concatenate(steps, axis=1)
    for logits in (padded, cached):
        assert np.abs(logits[0, 5:] - alone[0]).max() <= 1e-5
        assert np.abs(logits[1] - alone[1]).max() <= 1e-5
    assert np.isfinite(padded).all()


def test_positions_of_a_padded_row_count_its_tokens() -> None:
    gpt = model("learned")
    mask = np.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    positions, padding = gpt._positions((2, 2), 3, mask)
    assert positions.tolist() == [[1, 2], [3, 4]]
    assert padding.tolist() == (mask == 0).tolist()
    assert gpt._positions((2, 5), 0, np.ones((2, 5))) == (None, None)  # no padding: offsets
    with pytest.raises(ValueError, match=r"\(B, cached \+ T\) = \(2, 4\)"):
        gpt._positions((2, 1), 3, mask)


def test_padded_batch_trains_with_gradients_of_the_real_tokens_only() -> None:
    gpt = model("rotary", np.float64)
    tokens = ids(2, 6)
    mask = np.ones((2, 6))
    mask[0, :3] = 0
    targets = tokens.copy()
    targets[0, :3] = -1  # no loss on padding
    _, loss = gpt(tokens, targets, attention_mask=mask)
    loss.backward()
    grads = [p.grad for p in gpt.parameters()]
    assert all(g is not None and np.isfinite(g.data).all() for g in grads)


@pytest.mark.parametrize("pos_encoding", ENCODINGS)
def test_encodings_build_their_modules(pos_encoding: str) -> None:
    gpt = model(pos_encoding)
    names = dict(gpt.named_parameters())
    assert ("wpe.weight" in names) == (pos_encoding == "learned")
    if pos_encoding == "sinusoidal":
        assert isinstance(gpt.wpe, SinusoidalPositionalEncoding)
        assert "wpe.pe" in gpt.state_dict()
    rotary = [b.attn.rotary for b in gpt.h]
    assert all(isinstance(r, RotaryEmbedding) for r in rotary) == (pos_encoding == "rotary")
    assert f"pos_encoding={pos_encoding!r}" in gpt.extra_repr()
    with no_grad():
        assert gpt(ids()).shape == (2, 16, 23)


def test_make_kv_cache_and_its_limits() -> None:
    gpt = model("learned")
    cache = gpt.make_kv_cache(3)
    assert isinstance(cache, KVCache)
    assert cache.shape == (3, 2, 16, 8) and cache.num_layers == 2 and cache.dtype == np.float32
    assert gpt.make_kv_cache(1, max_len=4).max_len == 4
    with pytest.raises(ValueError, match="block_size=16"):
        gpt.make_kv_cache(1, max_len=17)
    cache = gpt.make_kv_cache(1)
    with no_grad():
        gpt(ids(1, 15), kv_cache=cache)
        with pytest.raises(ValueError, match=r"17 tokens \(15 cached \+ 2 new\).*block_size=16"):
            gpt(ids(1, 2), kv_cache=cache)
    with pytest.raises(RuntimeError, match="no_grad"):
        gpt(ids(1, 1), kv_cache=gpt.make_kv_cache(1))
    with pytest.raises(ValueError, match="pos_encoding must be one of"):
        model("alibi")
