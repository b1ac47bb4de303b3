"""Token windows: how a language model reads a long text, ``block_size`` tokens at a time.

A corpus is one long array of token ids. A training example is a window of ``block_size``
consecutive tokens ``x = tokens[s : s + T]`` and the same window shifted by one, ``y =
tokens[s + 1 : s + T + 1]``: position ``t`` of ``x`` must predict ``y[t]``, so one window gives
``T`` predictions at once (each with the context ``x[:t + 1]``).

- `RandomWindows`: batches of windows at random starts, drawn from a seeded generator, a fixed
  number of batches per pass (one Trainer "epoch" = ``steps`` optimizer steps). nanoGPT's
  ``get_batch``: no notion of an epoch over the data, every step sees fresh windows.
- `StridedWindows`: windows at ``0, stride, 2*stride, ...`` in order, for the validation loss
  (deterministic, so two evaluations of the same model agree exactly).
- `split_text` / `split_tokens`: train on the first 90%, validate on the last 10%, *by
  position*: a random split of overlapping windows would put almost every validation window's
  text in the training set too.

Both loaders yield ``(x, y)`` pairs of int64 Tensors ``(B, T)`` and store the corpus as given
(``uint16`` is enough for vocabularies up to 65,536: a quarter of int64's memory); each batch
is converted to int64 when it is cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tinytorch.tensor import Tensor

__all__ = ["RandomWindows", "StridedWindows", "split_text", "split_tokens", "windows"]


def _fraction(val_fraction: float, operation: str) -> None:
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"{operation}: val_fraction must be in (0, 1), got {val_fraction}")


def split_tokens(tokens: Any, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """``(tokens[:n], tokens[n:])`` with ``n = int(len * (1 - val_fraction))``: the first 90%
    for training, the last 10% for validation (views, no copy)."""
    _fraction(val_fraction, "split_tokens")
    array = np.asarray(tokens)
    n = int(len(array) * (1 - val_fraction))
    return array[:n], array[n:]


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """The same split by characters: tokenizers trained on the first part only, and a
    validation text that is the same whatever the tokenizer (so losses in bits per character
    compare)."""
    _fraction(val_fraction, "split_text")
    n = int(len(text) * (1 - val_fraction))
    return text[:n], text[n:]


def _corpus(tokens: Any, block_size: int, owner: str) -> np.ndarray:
    array = np.asarray(tokens)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(
            f"{owner}: tokens must be a 1-D array of integer ids, got shape {array.shape} "
            f"dtype {array.dtype}"
        )
    if not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"{owner}: block_size must be a positive int, got {block_size!r}")
    if len(array) < block_size + 1:
        raise ValueError(
            f"{owner}: a window needs block_size + 1 = {block_size + 1} tokens (inputs and the "
            f"next-token targets), but the corpus has {len(array)}; use more text or a smaller "
            f"block_size"
        )
    return array


def _positive(owner: str, **values: Any) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")


def windows(tokens: np.ndarray, starts: np.ndarray, block_size: int) -> tuple[Tensor, Tensor]:
    """Inputs ``x[b] = tokens[s_b : s_b + T]`` and targets ``y[b] = tokens[s_b + 1 : s_b + T +
    1]`` for each start ``s_b``: two int64 Tensors ``(B, T)``. One fancy-indexing gather each.
    """
    # HINT: positions = starts[:, None] + np.arange(block_size) (a (B, T) grid of indices);
    # HINT: the targets are the same positions plus one
    # BEGIN SOLUTION
    positions = np.asarray(starts)[:, None] + np.arange(block_size)
    x = tokens[positions].astype(np.int64)
    y = tokens[positions + 1].astype(np.int64)
    # END SOLUTION
    return Tensor(x), Tensor(y)


class RandomWindows:
    """``steps`` batches of ``batch_size`` windows at uniformly random starts in ``[0, len -
    block_size)``, drawn from ``self.generator`` (seeded by ``seed``; a checkpoint saves and
    restores its state, so a resumed run draws the same windows).

    ``len(loader) == steps``: a Trainer epoch is ``steps`` optimizer steps, after which it
    evaluates. Iterating again continues the generator (new windows).
    """

    def __init__(
        self, tokens: Any, block_size: int, batch_size: int, steps: int, seed: int | None = None
    ) -> None:
        self.tokens = _corpus(tokens, block_size, "RandomWindows")
        _positive("RandomWindows", batch_size=batch_size, steps=steps)
        self.block_size, self.batch_size, self.steps = int(block_size), int(batch_size), int(steps)
        self.generator = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.steps

    def batch(self) -> tuple[Tensor, Tensor]:
        """One batch ``(x, y)``, each ``(batch_size, block_size)`` int64."""
        high = len(self.tokens) - self.block_size
        starts = self.generator.integers(0, high, size=self.batch_size)
        return windows(self.tokens, starts, self.block_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for _ in range(self.steps):
            yield self.batch()

    def __repr__(self) -> str:
        return (
            f"RandomWindows({len(self.tokens):,} tokens, block_size={self.block_size}, "
            f"batch_size={self.batch_size}, steps={self.steps})"
        )


class StridedWindows:
    """Every window starting at ``0, stride, 2 * stride, ...`` (``stride`` defaults to
    ``block_size``: non-overlapping windows that cover the corpus once), in batches of
    ``batch_size``; ``max_batches`` keeps only the first ones (a cheaper estimate).

    Deterministic: no random numbers. ``tokens_covered`` is the number of predictions made.
    """

    def __init__(
        self,
        tokens: Any,
        block_size: int,
        batch_size: int,
        stride: int | None = None,
        max_batches: int | None = None,
    ) -> None:
        self.tokens = _corpus(tokens, block_size, "StridedWindows")
        stride = block_size if stride is None else stride
        _positive("StridedWindows", batch_size=batch_size, stride=stride)
        if max_batches is not None:
            _positive("StridedWindows", max_batches=max_batches)
        self.block_size, self.batch_size, self.stride = int(block_size), int(batch_size), stride
        starts = np.arange(0, len(self.tokens) - self.block_size, stride)
        if max_batches is not None:
            starts = starts[: max_batches * self.batch_size]
        self.starts = starts

    def __len__(self) -> int:
        return -(-len(self.starts) // self.batch_size)

    @property
    def tokens_covered(self) -> int:
        return len(self.starts) * self.block_size

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for i in range(0, len(self.starts), self.batch_size):
            yield windows(self.tokens, self.starts[i : i + self.batch_size], self.block_size)

    def __repr__(self) -> str:
        return (
            f"StridedWindows({len(self.tokens):,} tokens, block_size={self.block_size}, "
            f"stride={self.stride}, {len(self.starts)} windows)"
        )
