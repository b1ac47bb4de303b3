"""Small language models with known outputs, so sampling can be checked against exact
distributions: any Module mapping ids (B, T) to logits (B, T, V) works with `generate`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tinytorch.layers import Module, Parameter
from tinytorch.tensor import Tensor


class FixedLogits(Module):
    """The same logits row after every context; records each context it is given and whether
    it was in training mode then."""

    def __init__(self, logits: Any, block_size: int | None = None) -> None:
        super().__init__()
        self.row = np.asarray(logits, dtype=np.float32)
        self.block_size = block_size
        self.contexts: list[np.ndarray] = []
        self.modes: list[bool] = []

    def forward(self, idx: Tensor) -> Tensor:
        ids = np.asarray(idx.data)
        self.contexts.append(ids.copy())
        self.modes.append(self.training)
        return Tensor(np.broadcast_to(self.row, (*ids.shape, self.row.size)).copy())


class Successor(Module):
    """Greedy-deterministic: after token t the logits strongly favour ``table[t]`` (by default
    ``(t + 1) % V``)."""

    def __init__(self, vocab_size: int, table: Any = None, block_size: int = 8) -> None:
        super().__init__()
        self.vocab_size, self.block_size = vocab_size, block_size
        nxt = np.arange(1, vocab_size + 1) % vocab_size if table is None else np.asarray(table)
        self.table = np.full((vocab_size, vocab_size), -10.0, dtype=np.float32)
        self.table[np.arange(vocab_size), nxt] = 10.0

    def forward(self, idx: Tensor) -> Tensor:
        return Tensor(self.table[np.asarray(idx.data)])


class Bigram(Module):
    """A trainable bigram model: logits = W[idx], W (V, V). Enough to learn a text's
    character pairs, and small enough for training tests that take a second."""

    def __init__(self, vocab_size: int, block_size: int = 16, seed: int = 0) -> None:
        super().__init__()
        self.block_size = block_size
        rng = np.random.default_rng(seed)
        self.weight = Parameter(0.01 * rng.standard_normal((vocab_size, vocab_size)))
        self.bias = Parameter(np.zeros(vocab_size))

    def forward(self, idx: Any) -> Tensor:
        ids = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
        return self.weight[ids] + self.bias


TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. "
    "resolved.\n\nFirst Citizen:\nFirst, you know Caius Marcius is chief enemy to the people.\n"
) * 6


@pytest.fixture
def text() -> str:
    return TEXT


@pytest.fixture
def models() -> SimpleNamespace:
    """The model classes above (test files cannot import conftest under importlib mode)."""
    return SimpleNamespace(FixedLogits=FixedLogits, Successor=Successor, Bigram=Bigram)
