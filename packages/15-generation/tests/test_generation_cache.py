"""`generate` with the KV cache (the default): the same tokens as full forwards for every
positional encoding and prompt length, past the block size too; the cached path runs the
prompt once and then one token per step through the model's own forward; left-padded batches
give each row what it gives alone."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tinytorch.attention import KVCache
from tinytorch.generation import generate, generate_text
from tinytorch.generation.cli import main
from tinytorch.generation.lm import GPTConfig, build_model, save_language_model
from tinytorch.tokenization import CharTokenizer
from tinytorch.transformers import TinyGPT

ENCODINGS = ["learned", "sinusoidal", "rotary"]


def gpt(pos_encoding: str = "learned", block_size: int = 12) -> TinyGPT:
    return TinyGPT(
        29, block_size, 2, 2, 16, pos_encoding=pos_encoding, rng=np.random.default_rng(0)
    )


def prompt(length: int, batch: int = 2, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 29, (batch, length))


class Spy:
    """Wraps a model's forward and records how many tokens each call was given."""

    def __init__(self, model: TinyGPT) -> None:
        self.model, self.lengths, self.cached = model, [], []
        self.forward = model.forward

        def spy(idx: Any, *args: Any, **kwargs: Any) -> Any:
            self.lengths.append(np.asarray(idx.data).shape[1])
            self.cached.append(kwargs.get("kv_cache") is not None)
            return self.forward(idx, *args, **kwargs)

        model.forward = spy  # type: ignore[method-assign]


@pytest.mark.parametrize("pos_encoding", ENCODINGS)
@pytest.mark.parametrize("length", [1, 2, 7])
def test_greedy_tokens_are_the_same_with_and_without_the_cache(
    pos_encoding: str, length: int
) -> None:
    model = gpt(pos_encoding)
    idx = prompt(length)
    new = 20  # past block_size 12: the window slides
    cached = generate(model, idx, new, temperature=0)
    full = generate(model, idx, new, temperature=0, use_cache=False)
    np.testing.assert_array_equal(cached, full)
    assert cached.shape == (2, length + new)


def test_sampling_with_a_seed_is_the_same_with_and_without_the_cache() -> None:
    model = gpt("rotary", block_size=32)
    options = {"temperature": 1.0, "top_k": 10, "seed": 3}
    a = generate(model, prompt(3), 25, **options)
    b = generate(model, prompt(3), 25, use_cache=False, **options)
    np.testing.assert_array_equal(a, b)


def test_the_cache_runs_the_prompt_once_then_one_token_per_step() -> None:
    model = gpt(block_size=12)
    spy = Spy(model)
    generate(model, prompt(5), 10, temperature=0)
    assert spy.lengths == [5, *[1] * 7, 12, 12] and all(spy.cached)  # 5 + 7 = 12, then slides
    spy.lengths.clear(), spy.cached.clear()
    generate(model, prompt(5), 3, temperature=0, use_cache=False)
    assert spy.lengths == [5, 6, 7] and not any(spy.cached)


def test_block_size_argument_sets_the_window() -> None:
    model = gpt(block_size=12)
    for block in (6, 40):  # shorter than the model's block; longer (the model's 12 bounds it)
        cached = generate(model, prompt(3), 15, temperature=0, block_size=block)
        window = min(block, 12)
        full = generate(model, prompt(3), 15, temperature=0, use_cache=False, block_size=window)
        np.testing.assert_array_equal(cached, full)


def test_a_given_cache_is_used_and_reset_between_prompts() -> None:
    model = gpt(block_size=16)
    cache = model.make_kv_cache(2)
    first = generate(model, prompt(4), 5, temperature=0, kv_cache=cache)
    assert cache.get_seq_length() == 8  # prompt + 4 steps (the 5th token is not fed back)
    second = generate(model, prompt(4, seed=9), 5, temperature=0, kv_cache=cache)
    np.testing.assert_array_equal(second, generate(model, prompt(4, seed=9), 5, temperature=0))
    np.testing.assert_array_equal(first, generate(model, prompt(4), 5, temperature=0))


@pytest.mark.parametrize("pos_encoding", ENCODINGS)
@pytest.mark.parametrize("use_cache", [True, False])
def test_left_padded_prompts_give_what_each_gives_alone(pos_encoding: str, use_cache: bool) -> None:
    model = gpt(pos_encoding, block_size=24)
    prompts = [prompt(3, 1, seed=4)[0], prompt(8, 1, seed=5)[0], prompt(1, 1, seed=6)[0]]
    width = max(len(p) for p in prompts)
    idx = np.zeros((3, width), dtype=np.int64)
    mask = np.zeros((3, width), dtype=np.int64)
    for row, p in enumerate(prompts):
        idx[row, width - len(p) :], mask[row, width - len(p) :] = p, 1
    out = generate(model, idx, 12, temperature=0, attention_mask=mask, use_cache=use_cache)
    for row, p in enumerate(prompts):
        alone = generate(model, p, 12, temperature=0)
        np.testing.assert_array_equal(out[row, width - len(p) :], alone)
        np.testing.assert_array_equal(out[row, : width - len(p)], 0)  # the padding is kept


def test_attention_mask_must_be_left_padding() -> None:
    model = gpt()
    idx = prompt(4)
    right = np.array([[1, 1, 0, 0], [1, 1, 1, 1]])
    with pytest.raises(ValueError, match="pad prompts of different lengths on the left"):
        generate(model, idx, 2, attention_mask=right)
    with pytest.raises(ValueError, match=r"idx's shape \(2, 4\)"):
        generate(model, idx, 2, attention_mask=np.ones((2, 3)))


def test_models_without_a_cache_run_full_forwards(models: SimpleNamespace) -> None:
    model = models.FixedLogits([0.0, 5.0, 0.0], block_size=4)
    out = generate(model, [[0, 1, 2]], 3, temperature=0)  # use_cache=True: nothing to cache
    assert out.tolist() == [[0, 1, 2, 1, 1, 1]]
    assert [c.shape[1] for c in model.contexts] == [3, 4, 4]


def test_int8_style_cache_variant_plugs_in() -> None:
    """Any cache with KVCache's interface works: here one that counts its updates."""

    class Counting(KVCache):
        updates = 0

        def update(self, layer_idx: int, key: np.ndarray, value: np.ndarray) -> Any:
            type(self).updates += 1
            return super().update(layer_idx, key, value)

    model = gpt(block_size=16)
    cache = model.make_kv_cache(2, cache_class=Counting)
    out = generate(model, prompt(3), 4, temperature=0, kv_cache=cache)
    np.testing.assert_array_equal(out, generate(model, prompt(3), 4, temperature=0))
    assert Counting.updates == 2 * 4  # 2 layers x (prompt + 3 steps)


def test_sample_command_uses_the_cache_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tokenizer = CharTokenizer.from_text("abcdefgh \n")
    config = GPTConfig(
        vocab_size=tokenizer.vocab_size,
        block_size=16,
        n_layer=1,
        n_head=2,
        n_embd=8,
        pos_encoding="rotary",
    )
    path = tmp_path / "model.npz"
    save_language_model(path, build_model(config), config, tokenizer)
    made: list[int] = []
    original = TinyGPT.make_kv_cache

    def counting(self: TinyGPT, *args: Any, **kwargs: Any) -> Any:
        made.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TinyGPT, "make_kv_cache", counting)
    base = [
        "sample",
        "--checkpoint",
        str(path),
        "--prompt",
        "abc",
        "--max-new-tokens",
        "20",
        "--temperature",
        "0",
    ]
    assert main(base) == 0
    cached = capsys.readouterr().out
    assert made == [1]
    assert main([*base, "--no-cache"]) == 0
    assert capsys.readouterr().out == cached and made == [1]
    loaded = build_model(config)
    text = generate_text(loaded, tokenizer, "abc", 20, temperature=0, use_cache=False)
    assert cached == text + "\n"
