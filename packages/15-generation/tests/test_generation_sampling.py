"""Sampling on known distributions: models whose logits are fixed, so every strategy can be
checked against the exact distribution it should draw from."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.generation import (
    apply_temperature,
    filter_logits,
    generate,
    generate_stream,
    next_token_probs,
    sample_from_probs,
    sample_next_token,
    softmax,
    top_k_filter,
    top_p_filter,
)
from tinytorch.layers import Dropout, Module
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor

LOGITS = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])


def frequencies(tokens: np.ndarray, v: int) -> np.ndarray:
    return np.bincount(tokens.reshape(-1), minlength=v) / tokens.size


def chi_square(tokens: np.ndarray, probs: np.ndarray) -> float:
    """Pearson's statistic over the categories of positive probability."""
    counts = np.bincount(tokens.reshape(-1), minlength=probs.size)
    expected = probs * tokens.size
    keep = expected > 0
    assert counts[~keep].sum() == 0, "a token of probability 0 was drawn"
    return float(((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum())


# --------------------------------------------------------------------- top-k
@settings(max_examples=40, deadline=None)
@given(st.integers(2, 40), st.integers(1, 45), st.integers(0, 10_000))
def test_top_k_keeps_exactly_the_k_largest_distinct_logits(v: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.permutation(v).astype(np.float64)[None] * 0.37 - 3  # distinct values
    out = top_k_filter(logits, k)
    kept = np.isfinite(out[0])
    assert kept.sum() == min(k, v)
    largest = np.argsort(-logits[0])[: min(k, v)]
    assert set(np.flatnonzero(kept)) == set(largest)
    assert_close(out[0][kept], logits[0][kept])
    assert np.all(out[0][~kept] == -np.inf)


def test_top_k_works_row_by_row_and_keeps_ties_at_the_boundary() -> None:
    logits = np.array([[1.0, 5.0, 3.0, 2.0], [0.0, 0.0, 1.0, 0.0]])
    out = top_k_filter(logits, 2)
    assert np.isfinite(out).tolist() == [[False, True, True, False], [True, True, True, True]]
    # PyTorch's rule `logits < topk(...).values[-1]`: the three tied zeros all stay
    with pytest.raises(ValueError, match="positive int"):
        top_k_filter(logits, 0)


# --------------------------------------------------------------------- top-p
@pytest.mark.parametrize(
    ("p", "kept"),
    [(0.0, 1), (0.3, 1), (0.55, 2), (0.74, 2), (0.76, 3), (0.9, 4), (0.999, 4), (1.0, 4)],
)
def test_top_p_keeps_the_smallest_set_reaching_p(p: float, kept: int) -> None:
    probs = np.array([0.125, 0.5, 0.125, 0.25])  # sorted: 0.5, 0.25, 0.125, 0.125
    out = top_p_filter(np.log(probs)[None], p)
    assert np.isfinite(out).sum() == kept
    order = [1, 3, 0, 2]  # by probability, ties in their original order (stable)
    assert set(np.flatnonzero(np.isfinite(out[0]))) == set(order[:kept])


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 30), st.floats(0.01, 0.99), st.integers(0, 10_000))
def test_top_p_nucleus_is_minimal(v: int, p: float, seed: int) -> None:
    logits = np.random.default_rng(seed).normal(0, 2, (3, v))
    out = top_p_filter(logits, p)
    probs = softmax(logits)
    for row in range(3):
        kept = np.isfinite(out[row])
        mass = probs[row][kept].sum()
        assert mass >= p - 1e-12 or kept.all()
        # without its least probable member the nucleus would not reach p
        assert mass - probs[row][kept].min() < p + 1e-12
        # every kept token is at least as probable as every removed one
        if not kept.all():
            assert probs[row][kept].min() >= probs[row][~kept].max()


# --------------------------------------------------------------------- temperature, greedy
def test_apply_temperature_divides() -> None:
    assert_close(apply_temperature(LOGITS, 0.5), LOGITS * 2)
    with pytest.raises(ValueError, match="greedy"):
        apply_temperature(LOGITS, 0.0)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_temperature_draws_follow_softmax_of_scaled_logits(temperature: float, models) -> None:
    """20,000 draws in one batch: the frequencies match softmax(logits / T) (chi-square with 5
    degrees of freedom below 20.5, p = 0.001), and not the other temperatures' distributions."""
    model = models.FixedLogits(LOGITS)
    out = generate(model, np.zeros((20_000, 1), dtype=np.int64), 1, temperature, seed=7)
    tokens = out[:, 1]
    expected = softmax(LOGITS / temperature)
    assert chi_square(tokens, expected) < 20.5
    for other in {0.5, 1.0, 2.0} - {temperature}:
        assert chi_square(tokens, softmax(LOGITS / other)) > 100


def test_lower_temperature_is_more_peaked(models) -> None:
    model = models.FixedLogits(LOGITS)
    ids = np.zeros((5000, 1), dtype=np.int64)
    top = [frequencies(generate(model, ids, 1, t, seed=1)[:, 1], 6)[0] for t in (0.25, 1, 4)]
    assert top[0] > top[1] > top[2]
    assert top[0] > 0.97 and abs(top[2] - softmax(LOGITS / 4)[0]) < 0.03


def test_greedy_is_argmax_first_on_ties_and_uses_no_randomness(models) -> None:
    logits = np.array([[0.0, 3.0, 3.0, 1.0], [5.0, -1.0, 2.0, 5.0]])
    assert sample_next_token(logits, temperature=0).tolist() == [1, 0]
    model = models.FixedLogits([0.1, 0.2, 2.5, 2.4])
    runs = [generate(model, np.zeros((2, 1), dtype=np.int64), 4, 0, seed=s) for s in (0, 1)]
    assert np.array_equal(runs[0], runs[1]) and (runs[0][:, 1:] == 2).all()
    assert next_token_probs(logits, 0).tolist() == [[0, 1, 0, 0], [1, 0, 0, 0]]


def test_top_k_and_top_p_restrict_the_draws(models) -> None:
    model = models.FixedLogits(LOGITS)
    ids = np.zeros((6000, 1), dtype=np.int64)
    top2 = generate(model, ids, 1, 1.0, top_k=2, seed=3)[:, 1]
    assert set(np.unique(top2)) == {0, 1}
    assert chi_square(top2, softmax(np.where(np.arange(6) < 2, LOGITS, -np.inf))) < 13.8
    nucleus = generate(model, ids, 1, 1.0, top_p=0.8, seed=3)[:, 1]
    probs = softmax(LOGITS)  # 0.56, 0.21, 0.12, ...: 0.8 needs the first three
    assert set(np.unique(nucleus)) == {0, 1, 2}
    restricted = np.where(np.arange(6) < 3, probs, 0) / probs[:3].sum()
    assert chi_square(nucleus, restricted) < 13.8


def test_filters_apply_in_hugging_face_order() -> None:
    # temperature first: at T = 0.1 the top token has ~all the mass, so top_p keeps it alone
    assert np.isfinite(filter_logits(LOGITS[None], 0.1, top_p=0.9)).sum() == 1
    assert np.isfinite(filter_logits(LOGITS[None], 1.0, top_p=0.9)).sum() == 4
    # top-k before top-p: the nucleus is computed among the k survivors, renormalised
    # (0.56 / (0.56 + 0.21) = 0.73 >= 0.6: one token; top-p first would have kept two)
    assert np.isfinite(filter_logits(LOGITS[None], 1.0, top_k=2, top_p=0.6)).sum() == 1
    assert np.isfinite(filter_logits(LOGITS[None], 1.0, top_k=2, top_p=0.74)).sum() == 2


def test_sample_from_probs_is_exact_inverse_cdf() -> None:
    probs = np.array([[0.0, 0.2, 0.0, 0.5, 0.3, 0.0]])
    draws = sample_from_probs(probs, np.random.default_rng(0))
    assert draws.shape == (1,) and draws.dtype == np.int64
    many = sample_from_probs(np.repeat(probs, 30_000, axis=0), 11)
    assert chi_square(many, probs[0]) < 13.8  # 2 degrees of freedom, p = 0.001


# --------------------------------------------------------------------- the generation loop
def test_same_seed_same_tokens_other_seed_other_tokens(models) -> None:
    model = models.FixedLogits(np.zeros(50))
    ids = np.zeros((2, 3), dtype=np.int64)
    a, b = generate(model, ids, 30, seed=5), generate(model, ids, 30, seed=5)
    c = generate(model, ids, 30, seed=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    gen = np.random.default_rng(5)
    assert np.array_equal(generate(model, ids, 30, seed=gen), a)


def test_context_is_cropped_to_the_block_size(models) -> None:
    model = models.FixedLogits(np.zeros(10), block_size=4)
    prompt = np.arange(6)[None]
    out = generate(model, prompt, 3, temperature=0)
    assert out.shape == (1, 9)
    assert [c.shape[1] for c in model.contexts] == [4, 4, 4]
    assert all(np.array_equal(c[0], out[0, i + 2 : i + 6]) for i, c in enumerate(model.contexts))
    unlimited = models.FixedLogits(np.zeros(10))
    generate(unlimited, np.arange(2)[None], 3, temperature=0)
    assert [c.shape[1] for c in unlimited.contexts] == [2, 3, 4]
    generate(unlimited, np.arange(2)[None], 2, temperature=0, block_size=1)
    assert [c.shape[1] for c in unlimited.contexts[3:]] == [1, 1]


def test_successor_model_counts_greedily(models) -> None:
    out = generate(models.Successor(7), np.array([[3], [5]]), 5, temperature=0)
    assert out.tolist() == [[3, 4, 5, 6, 0, 1], [5, 6, 0, 1, 2, 3]]


def test_stop_ends_each_sequence_and_pads_finished_ones_with_their_stop_id(models) -> None:
    model = models.Successor(10)
    out = generate(model, np.array([[3], [1]]), 20, temperature=0, stop=5)
    assert out.tolist() == [[3, 4, 5, 5, 5], [1, 2, 3, 4, 5]]
    out = generate(model, np.array([[3]]), 20, temperature=0, stop=[9, 4])
    assert out.tolist() == [[3, 4]]
    assert generate(model, np.array([[3]]), 2, temperature=0, stop=8).tolist() == [[3, 4, 5]]
    with pytest.raises(TypeError, match="stop"):
        generate(model, np.array([[3]]), 2, stop="x")  # type: ignore[arg-type]


def test_stream_yields_what_generate_returns(models) -> None:
    model = models.FixedLogits(np.linspace(0, 1, 12))
    ids = np.zeros((3, 2), dtype=np.int64)
    steps = list(generate_stream(model, ids, 6, 0.9, top_k=8, seed=2))
    assert len(steps) == 6 and all(s.shape == (3,) and s.dtype == np.int64 for s in steps)
    assert np.array_equal(np.stack(steps, 1), generate(model, ids, 6, 0.9, top_k=8, seed=2)[:, 2:])


def test_input_kinds_and_output_kinds(models) -> None:
    model = models.Successor(5)
    as_tensor = generate(model, Tensor(np.array([[1, 2]])), 2, temperature=0)
    assert isinstance(as_tensor, Tensor) and as_tensor.data.tolist() == [[1, 2, 3, 4]]
    assert generate(model, [0, 1], 2, temperature=0).tolist() == [0, 1, 2, 3]  # 1-D stays 1-D
    assert generate(model, np.array([[1]]), 0).tolist() == [[1]]


class Recorder(Module):
    """A model with Dropout: records its training flag and whether grad mode was on."""

    def __init__(self) -> None:
        super().__init__()
        self.drop = Dropout(0.5)
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, idx: Tensor) -> Tensor:
        from tinytorch.autograd import is_grad_enabled

        self.seen.append((self.drop.training, is_grad_enabled()))
        return Tensor(np.zeros((*np.shape(idx.data), 4), dtype=np.float32))


def test_runs_in_eval_mode_without_grad_and_restores_the_modes() -> None:
    model = Recorder()
    model.train()
    stream = generate_stream(model, np.zeros((1, 1), dtype=np.int64), 3, seed=0)
    next(stream)
    stream.close()  # a stream closed early still puts the modes back
    generate(model, np.zeros((1, 1), dtype=np.int64), 2, seed=0)
    assert model.seen == [(False, False)] * 3
    assert model.training and model.drop.training


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_k": -2}, "top_k"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_new_tokens": -1}, "max_new_tokens"),
    ],
)
def test_bad_options_raise_naming_them(kwargs: dict, match: str, models) -> None:
    args = {"max_new_tokens": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        generate(models.FixedLogits(np.zeros(3)), np.zeros((1, 1), dtype=np.int64), **args)


def test_bad_ids_and_model_outputs_raise(models) -> None:
    model = models.FixedLogits(np.zeros(3))
    with pytest.raises(ValueError, match="integer token ids"):
        generate(model, np.zeros((1, 2)), 1)
    with pytest.raises(ValueError, match="integer token ids"):
        generate(model, np.zeros((1, 0), dtype=np.int64), 1)

    class Flat(Module):
        def forward(self, idx: Tensor) -> Tensor:
            return Tensor(np.zeros((1, 3), dtype=np.float32))

    with pytest.raises(ValueError, match=r"\(B, T, vocab_size\)"):
        generate(Flat(), np.zeros((1, 2), dtype=np.int64), 1)
    with pytest.raises(ValueError, match="no finite entry"):
        softmax(np.full((1, 3), -np.inf))
