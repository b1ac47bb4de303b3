"""Exactness of the cache on TinyGPT, through this module's lessons: every step's logits
equal the full forward's for each positional encoding and prompt length (and with padding);
one decode step runs ~8 ops per layer and records nothing."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.autograd import held_activation_bytes
from tinytorch.generation import generate
from tinytorch.kvcache import decode_step_ops, step_logit_gaps, token_times
from tinytorch.tokenization import pad_batch
from tinytorch.transformers import TinyGPT

ENCODINGS = ["learned", "sinusoidal", "rotary"]


def model(pos_encoding: str = "learned") -> TinyGPT:
    return TinyGPT(31, 24, 3, 2, 32, pos_encoding=pos_encoding, rng=np.random.default_rng(0))


@pytest.mark.parametrize("pos_encoding", ENCODINGS)
@pytest.mark.parametrize("prompt_length", [1, 2, 10])
def test_every_step_matches_the_full_forward(pos_encoding: str, prompt_length: int) -> None:
    idx = np.random.default_rng(1).integers(0, 31, (3, 24))
    gaps = step_logit_gaps(model(pos_encoding), idx, prompt_length)
    assert gaps.shape == (24 - prompt_length + 1,)
    assert gaps.max() <= 1e-5


@pytest.mark.parametrize("pos_encoding", ENCODINGS)
def test_padded_batch_matches_and_generates_as_alone(pos_encoding: str) -> None:
    gpt = model(pos_encoding)
    prompts = [[3, 4, 5], [7, 8, 9, 10, 11, 12, 13], [1]]
    batch = pad_batch(prompts, padding_side="left", pad_id=0)
    ids, mask = np.asarray(batch["input_ids"]), np.asarray(batch["attention_mask"])
    assert step_logit_gaps(gpt, ids, 2, attention_mask=mask).max() <= 1e-5
    out = generate(gpt, ids, 12, temperature=0, attention_mask=mask)
    for row, prompt in enumerate(prompts):
        alone = generate(gpt, prompt, 12, temperature=0)
        np.testing.assert_array_equal(out[row, ids.shape[1] - len(prompt) :], alone)


@pytest.mark.parametrize("pos_encoding", ["learned", "rotary"])
def test_a_decode_step_is_8_ops_per_layer_and_records_nothing(pos_encoding: str) -> None:
    gpt = model(pos_encoding)
    report = decode_step_ops(gpt, batch_size=2)
    assert report["per_layer"] == 8 and report["recorded"] is False
    assert report["total"] == 3 * 8 + (4 if pos_encoding == "learned" else 3)
    assert report["ops"]["cached_self_attention"] == 3 and report["ops"]["mlp"] == 3
    assert "self_attention" not in report["ops"]  # the full-sequence attention never runs
    assert held_activation_bytes(gpt) == 0


def test_token_times_has_one_time_per_token() -> None:
    gpt = model()
    for use_cache in (True, False):
        times = token_times(gpt, np.zeros((1, 3), dtype=np.int64), 6, use_cache=use_cache)
        assert times.shape == (6,) and (times > 0).all()


def test_gaps_check_their_arguments() -> None:
    with pytest.raises(ValueError, match=r"prompt_length must be in 1\.\.5"):
        step_logit_gaps(model(), np.zeros((1, 5), dtype=np.int64), 0)
