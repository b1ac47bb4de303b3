"""Small data in the real formats (a CIFAR-10 test batch, a Tiny Shakespeare text) and models."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tinytorch.activations import ReLU
from tinytorch.layers import Linear
from tinytorch.networks import Sequential
from tinytorch.spatial import BatchNorm2d, Conv2d, GlobalAvgPool2d, MaxPool2d

TEST_IMAGES = 40
TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"


def cifar_test_batch(n: int, seed: int = 0) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, n)
    batch = {
        b"batch_label": b"test",
        b"labels": [int(v) for v in labels],
        b"data": images.reshape(n, -1),
    }
    return pickle.dumps(batch, protocol=2), images, labels


@pytest.fixture
def test_images() -> int:
    return TEST_IMAGES


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TINYTORCH_DATA pointing at a CIFAR-10 test batch and a small Tiny Shakespeare."""
    root = tmp_path / "data"
    root.mkdir()
    raw, _, _ = cifar_test_batch(TEST_IMAGES)
    (root / "test_batch").write_bytes(raw)
    (root / "tinyshakespeare").mkdir()
    (root / "tinyshakespeare" / "input.txt").write_text(TEXT * 60, encoding="utf-8")
    monkeypatch.setenv("TINYTORCH_DATA", str(root))
    return root


@pytest.fixture
def small_cnn() -> Callable[[], Sequential]:
    """A factory of the same small CNN (3 -> 4 channels, 2x2 pool, global average, 10 classes)."""
    return _small_cnn


def _small_cnn() -> Sequential:
    rng = np.random.default_rng(0)
    return Sequential(
        Conv2d(3, 4, 3, padding=1, bias=False, rng=rng), BatchNorm2d(4), ReLU(), MaxPool2d(2),
        GlobalAvgPool2d(), Linear(4, 10, rng=rng),
    )  # fmt: skip
