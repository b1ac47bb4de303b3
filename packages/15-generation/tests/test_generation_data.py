"""Token windows: inputs and next-token targets cut from one long array of ids."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.generation import RandomWindows, StridedWindows, split_text, split_tokens, windows
from tinytorch.tensor import Tensor

CORPUS = np.random.default_rng(0).permutation(100).astype(np.uint16)  # distinct ids


def test_windows_are_slices_and_targets_are_shifted_by_one() -> None:
    x, y = windows(CORPUS, np.array([0, 10, 88]), 11)
    assert isinstance(x, Tensor) and x.shape == (3, 11) and x.dtype == np.int64
    for row, start in enumerate([0, 10, 88]):
        assert x.data[row].tolist() == CORPUS[start : start + 11].tolist()
        assert y.data[row].tolist() == CORPUS[start + 1 : start + 12].tolist()


def test_random_windows_cover_every_start_and_repeat_with_the_seed() -> None:
    loader = RandomWindows(CORPUS, block_size=8, batch_size=16, steps=50, seed=3)
    assert len(loader) == 50
    batches = list(loader)
    assert len(batches) == 50
    first = {int(np.flatnonzero(x[0] == CORPUS)[0]) for xb, _ in batches for x in xb.data}
    assert first == set(range(100 - 8))  # every start in [0, len - T), the last one included
    for xb, yb in batches[:5]:
        assert xb.shape == yb.shape == (16, 8)
        starts = [int(np.flatnonzero(row[0] == CORPUS)[0]) for row in xb.data]
        assert all(
            np.array_equal(r, CORPUS[s + 1 : s + 9]) for r, s in zip(yb.data, starts, strict=True)
        )
    again = RandomWindows(CORPUS, 8, 16, 50, seed=3)
    assert all(
        np.array_equal(a.data, b.data) for (a, _), (b, _) in zip(batches, again, strict=True)
    )
    other = next(iter(RandomWindows(CORPUS, 8, 16, 50, seed=4)))[0]
    assert not np.array_equal(other.data, batches[0][0].data)
    assert not np.array_equal(next(iter(loader))[0].data, batches[0][0].data)  # continues


def test_strided_windows_in_order_and_capped() -> None:
    loader = StridedWindows(CORPUS, block_size=10, batch_size=4)
    assert loader.starts.tolist() == list(range(0, 90, 10))
    assert len(loader) == 3 and loader.tokens_covered == 90
    batches = list(loader)
    assert [b[0].shape[0] for b in batches] == [4, 4, 1]
    assert batches[0][0].data[1].tolist() == CORPUS[10:20].tolist()
    assert batches[2][1].data[0].tolist() == CORPUS[81:91].tolist()
    overlap = StridedWindows(CORPUS, 10, 4, stride=5, max_batches=2)
    assert overlap.starts.tolist() == [0, 5, 10, 15, 20, 25, 30, 35] and len(overlap) == 2


def test_split_by_position() -> None:
    train, val = split_tokens(np.arange(1000))
    assert train.tolist() == list(range(900)) and val.tolist() == list(range(900, 1000))
    text_train, text_val = split_text("abcdefghij" * 10, 0.2)
    assert len(text_train) == 80 and text_train + text_val == "abcdefghij" * 10
    with pytest.raises(ValueError, match="val_fraction"):
        split_tokens(np.arange(10), 1.0)


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="block_size \\+ 1 = 101"):
        RandomWindows(CORPUS, 100, 2, 1)
    with pytest.raises(ValueError, match="integer ids"):
        StridedWindows(np.zeros(50), 4, 2)
    with pytest.raises(ValueError, match="batch_size"):
        RandomWindows(CORPUS, 4, 0, 1)
