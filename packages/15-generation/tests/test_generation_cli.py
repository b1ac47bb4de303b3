"""The command, end to end in subprocesses: train a tiny TinyGPT on a tiny text, resume it,
and sample from the checkpoint alone (it holds the model configuration and the tokenizer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from tinytorch.generation import load_language_model
from tinytorch.training import read_checkpoint

TINY = ["--block-size", "16", "--n-layer", "1", "--n-head", "2", "--n-embd", "16"]
FAST = ["--batch-size", "8", "--eval-every", "10", "--warmup-steps", "2", "--lr", "3e-3"]


def command(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "tinytorch.generation", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def test_train_resume_and_sample_round_trip(tmp_path: Path, text: str) -> None:
    data = tmp_path / "tiny.txt"
    data.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    trained = command(
        "train", "--data", data, "--tokenizer", "char", "--out", out, *TINY, *FAST,
        "--steps", "20", "--sample-tokens", "40",
    )  # fmt: skip
    assert "validation loss" in trained.stdout and "tokens/s" in trained.stdout
    assert read_checkpoint(out / "last.npz").epoch == 2
    command(
        "train", "--data", data, "--tokenizer", "char", "--out", out, *TINY, *FAST,
        "--steps", "30", "--resume", "--quiet", "--sample-tokens", "0",
    )  # fmt: skip
    assert read_checkpoint(out / "last.npz").epoch == 3  # continued, not restarted

    sampled = command(
        "sample", "--checkpoint", out / "last.npz", "--prompt", "First", "--max-new-tokens", "30",
        "--seed", "4", "--top-k", "5",
    )  # fmt: skip
    printed = sampled.stdout.removesuffix("\n")
    assert printed.startswith("First") and len(printed) == 35
    assert set(printed) <= set(text)
    again = command(
        "sample", "--checkpoint", out / "last.npz", "--prompt", "First", "--max-new-tokens", "30",
        "--seed", "4", "--top-k", "5",
    )  # fmt: skip
    assert again.stdout == sampled.stdout

    loaded = load_language_model(out / "best.npz")
    assert loaded.config.n_embd == 16 and loaded.tokenizer.vocab_size == len(set(text))
    assert not loaded.model.training


def test_bpe_training_writes_a_checkpoint_that_samples(tmp_path: Path, text: str) -> None:
    data = tmp_path / "tiny.txt"
    data.write_text(text + "café ☕\n", encoding="utf-8")
    out = tmp_path / "bpe"
    command(
        "train", "--data", data, "--tokenizer", "bpe", "--vocab-size", "280", "--out", out,
        *TINY, *FAST, "--steps", "10", "--quiet", "--sample-tokens", "0",
    )  # fmt: skip
    loaded = load_language_model(out / "last.npz")
    assert loaded.config.vocab_size == 280 and loaded.tokenizer.vocab_size == 280
    sampled = command("sample", "--checkpoint", out / "last.npz", "--prompt", "café", "--seed", "1")
    assert sampled.stdout.startswith("café")
    assert np.isfinite(read_checkpoint(out / "last.npz").history["records"][-1]["val_loss"])
