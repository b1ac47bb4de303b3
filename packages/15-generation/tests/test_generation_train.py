"""Language-model training through module 10's Trainer: the loss, the optimizer groups, the
schedule, learning a text, checkpoints with what sampling needs, and exact resume."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinytorch.generation import (
    GPTConfig,
    TrainConfig,
    bits_per_character,
    generate,
    generation_meta,
    lm_loss,
    tokenizer_from_json,
    tokenizer_to_json,
    train_language_model,
    warmup_cosine,
    weight_decay_groups,
)
from tinytorch.layers import Module, Parameter
from tinytorch.optimizers import AdamW
from tinytorch.setup.testing import gradcheck
from tinytorch.tensor import Tensor
from tinytorch.tokenization import BPETokenizer, CharTokenizer
from tinytorch.training import read_checkpoint


def numpy_lm_loss(logits: np.ndarray, targets: np.ndarray) -> float:
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return float(-np.take_along_axis(logp, targets[..., None], -1).mean())


def test_lm_loss_is_the_mean_over_every_position() -> None:
    rng = np.random.default_rng(0)
    logits, targets = rng.normal(size=(3, 5, 7)), rng.integers(0, 7, (3, 5))
    loss = lm_loss(Tensor(logits, dtype=np.float64), targets)
    assert loss.shape == () and abs(loss.item() - numpy_lm_loss(logits, targets)) < 1e-12
    assert lm_loss((Tensor(logits, dtype=np.float64), None), Tensor(targets)).item() == loss.item()
    with pytest.raises(ValueError, match=r"\(B, T, V\)"):
        lm_loss(Tensor(logits[0]), targets[0])


def test_lm_loss_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(1)
    logits, targets = rng.normal(size=(2, 4, 5)), rng.integers(0, 5, (2, 4))

    def fn(x: np.ndarray) -> np.ndarray:
        return lm_loss(Tensor(x, dtype=np.float64), targets).data

    def grad_fn(x: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        t = Tensor(x, dtype=np.float64, requires_grad=True)
        lm_loss(t, targets).backward(Tensor(g, dtype=np.float64))
        return [t.grad.data]  # type: ignore[union-attr]

    gradcheck(fn, [logits], grad_fn)


def test_bits_per_character() -> None:
    assert bits_per_character(math.log(2), 10, 10) == pytest.approx(1.0)
    # a BPE token covering 2 characters at 2.2 nats: 1.1 nats per character
    assert bits_per_character(2.2, 500, 1000) == pytest.approx(1.1 / math.log(2))
    with pytest.raises(ValueError, match="positive"):
        bits_per_character(1.0, 10, 0)


class Tied(Module):
    def __init__(self) -> None:
        super().__init__()
        self.table = Parameter(np.zeros((5, 3)))
        self.bias = Parameter(np.zeros(5))
        self.gain = Parameter(np.ones(3))
        self.out = self.table  # the same Parameter reached twice


def test_weight_decay_groups_decay_matrices_once_each() -> None:
    model = Tied()
    decay, no_decay = weight_decay_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert [p.shape for p in decay["params"]] == [(5, 3)]
    assert sorted(p.shape for p in no_decay["params"]) == [(3,), (5,)]
    AdamW(weight_decay_groups(model, 0.1))  # valid groups: no parameter listed twice


def test_warmup_cosine_shape() -> None:
    optimizer = AdamW([Parameter(np.zeros(1))], lr=1.0)
    schedule = warmup_cosine(optimizer, 4, 20, min_lr_ratio=0.1)
    lrs = []
    for _ in range(21):
        lrs.append(optimizer.param_groups[0]["lr"])
        schedule.step()
    assert lrs[0] == pytest.approx(0.25) and lrs[4] == pytest.approx(1.0)
    assert lrs[:5] == sorted(lrs[:5]) and lrs[4:] == sorted(lrs[4:], reverse=True)
    assert lrs[20] == pytest.approx(0.1) and lrs[12] == pytest.approx(0.55)
    with pytest.raises(ValueError, match="warmup_steps"):
        warmup_cosine(optimizer, 20, 20)


def test_tokenizers_round_trip_through_json(text: str) -> None:
    char = CharTokenizer.from_text(text)
    bpe = BPETokenizer().train(text, vocab_size=300, progress=False)
    for tok in (char, bpe):
        back = tokenizer_from_json(tokenizer_to_json(tok))
        assert type(back) is type(tok) and back.encode(text[:200]) == tok.encode(text[:200])
    with pytest.raises(TypeError, match="CharTokenizer or BPETokenizer"):
        tokenizer_to_json(object())


def corpus(text: str) -> tuple[CharTokenizer, np.ndarray, np.ndarray]:
    tok = CharTokenizer.from_text(text)
    ids = np.array(tok.encode(text), dtype=np.uint16)
    n = int(len(ids) * 0.9)
    return tok, ids[:n], ids[n:]


def small_config(**changes: Any) -> TrainConfig:
    base = dict(batch_size=8, steps=60, eval_every=15, lr=0.3, warmup_steps=5, seed=1)
    return TrainConfig(**{**base, **changes})


def test_training_learns_the_text_and_checkpoints_hold_the_tokenizer(
    text: str, models: Any, tmp_path: Path
) -> None:
    tok, train, val = corpus(text)
    model = models.Bigram(tok.vocab_size, block_size=16)
    lines: list[str] = []
    meta = generation_meta(GPTConfig(tok.vocab_size, block_size=16), tok)
    trainer = train_language_model(
        model, train, val, small_config(), 16, tmp_path, meta=meta, progress=False, log=lines.append
    )
    records = trainer.history.records
    assert len(records) == 4 and trainer.global_step == 60
    assert records[-1]["val_loss"] < 0.75 * math.log(tok.vocab_size)  # far below a uniform guess
    assert records[-1]["val_loss"] < records[0]["val_loss"]
    assert len(lines) == 4 and "tokens/s" in lines[-1] and "step     60/60" in lines[-1]
    saved = read_checkpoint(tmp_path / "last.npz").extra["generation"]
    assert tokenizer_from_json(saved["tokenizer"]).encode("Speak") == tok.encode("Speak")
    assert saved["model_config"]["vocab_size"] == tok.vocab_size
    assert (tmp_path / "best.npz").is_file()
    # the trained bigram continues "Citiz" with the only letter that follows "z" in the text
    out = generate(model, [tok.encode("Citiz")], 1, temperature=0)
    assert tok.decode(out[0][-1:]) == "e"


class Stop(Exception):
    """Raised after a chosen evaluation, as a crash (or Ctrl-C) would stop a run."""


def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(
    text: str, models: Any, tmp_path: Path
) -> None:
    tok, train, val = corpus(text)
    timing = {"time_s", "train_time_s", "samples_per_s", "peak_rss_bytes", "peak_traced_bytes"}

    def run(folder: Path | None, resume: bool = False, stop_after: int | None = None) -> Any:
        model = models.Bigram(tok.vocab_size, block_size=12, seed=4)  # fresh objects each time
        seen: list[dict[str, Any]] = []

        def interrupt(record: dict[str, Any]) -> None:
            seen.append(record)
            if len(seen) == stop_after:
                raise Stop

        trainer = train_language_model(
            model,
            train,
            val,
            small_config(steps=40, eval_every=10),
            12,
            folder,
            resume=resume,
            progress=False,
            log=None,
            on_epoch_end=interrupt,
        )
        return model, [{k: v for k, v in r.items() if k not in timing} for r in trainer.history]

    straight, straight_history = run(None)
    with pytest.raises(Stop):
        run(tmp_path, stop_after=2)
    assert read_checkpoint(tmp_path / "last.npz").epoch == 2
    resumed, resumed_history = run(tmp_path, resume=True)
    assert len(resumed_history) == 4 and resumed_history == straight_history
    for (name, a), (_, b) in zip(
        straight.state_dict().items(), resumed.state_dict().items(), strict=True
    ):
        assert np.array_equal(a, b), name
    moved = models.Bigram(tok.vocab_size, block_size=12, seed=4).state_dict()["weight"]
    assert not np.array_equal(moved, resumed.state_dict()["weight"])  # it did train
