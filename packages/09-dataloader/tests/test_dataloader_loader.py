"""DataLoader: batching, seeded shuffling, the array fast path, prefetching."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinytorch.dataloader import (
    Compose,
    DataLoader,
    Dataset,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
    ToFloat,
    prefetch_iterator,
)
from tinytorch.tensor import Tensor


class Rows(Dataset):
    """The same rows behind the per-sample protocol (no fast path), counting the calls."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y, self.calls = x, y, 0

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        self.calls += 1
        return self.x[index], int(self.y[index])


def arrays(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n * 3 * 4 * 4, dtype=np.uint8).reshape(n, 3, 4, 4)
    return x, np.arange(n) % 7


def labels_of(loader: DataLoader) -> list[list[int]]:
    return [y.data.tolist() for _, y in loader]


def test_batches_in_order_without_shuffle() -> None:
    x, y = arrays(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [b[0].shape for b in batches] == [(4, 3, 4, 4), (4, 3, 4, 4), (2, 3, 4, 4)]
    np.testing.assert_array_equal(np.concatenate([b[0].data for b in batches]), x)
    assert all(isinstance(b[1], Tensor) and b[1].dtype == np.int64 for b in batches)


@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_len_and_batch_sizes(n: int, batch_size: int, drop_last: bool) -> None:
    data = TensorDataset(np.zeros((n, 1)), np.zeros(n, dtype=np.int64))
    loader = DataLoader(data, batch_size, shuffle=True, drop_last=drop_last, seed=1)
    sizes = [len(i) for i in loader.batch_indices()]
    assert len(sizes) == len(loader)
    expected = n // batch_size if drop_last else -(-n // batch_size)
    assert len(loader) == expected
    assert all(s == batch_size for s in sizes[:-1])
    if drop_last and sizes:
        assert sizes[-1] == batch_size


def test_shuffle_is_a_permutation_new_each_epoch_and_seeded() -> None:
    x, _ = arrays(50)
    data = TensorDataset(x, np.arange(50))
    loader = DataLoader(data, batch_size=8, shuffle=True, seed=123)
    epoch1, epoch2 = labels_of(loader), labels_of(loader)
    order = [label for batch in epoch1 for label in batch]
    assert sorted(order) == list(range(50))  # every sample exactly once
    assert epoch1 != epoch2  # a new permutation each epoch
    again = DataLoader(data, batch_size=8, shuffle=True, seed=123)
    assert labels_of(again) == epoch1 and labels_of(again) == epoch2  # same seed, same epochs
    other = DataLoader(data, batch_size=8, shuffle=True, seed=124)
    assert labels_of(other) != epoch1
    expected = np.random.default_rng(123).permutation(50)  # the documented draw
    np.testing.assert_array_equal(order, expected)


def test_fast_path_equals_per_sample_path_and_skips_getitem() -> None:
    x, y = arrays(13)
    rows = Rows(x, y)
    slow = list(DataLoader(rows, batch_size=5, shuffle=True, seed=7))
    fast = list(DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True, seed=7))
    assert rows.calls == 13
    for (sx, sy), (fx, fy) in zip(slow, fast, strict=True):
        np.testing.assert_array_equal(sx.data, fx.data)
        np.testing.assert_array_equal(sy.data, fy.data)
        assert sx.dtype == fx.dtype == np.uint8 and sy.dtype == fy.dtype == np.int64


def test_fast_path_makes_one_indexing_call_per_array() -> None:
    calls = []

    class Counted(TensorDataset):
        def __getitem__(self, index: int):  # type: ignore[no-untyped-def]
            calls.append(index)
            return super().__getitem__(index)

    x, y = arrays(12)
    list(DataLoader(Counted(x, y), batch_size=4))
    assert calls == []  # no per-sample access at all


def test_loader_transform_applies_to_inputs() -> None:
    x, y = arrays(6)
    loader = DataLoader(TensorDataset(x, y), batch_size=6, transform=ToFloat())
    bx, by = next(iter(loader))
    assert bx.dtype == np.float32
    np.testing.assert_allclose(bx.data, x / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(by.data, y)
    single = DataLoader(Rows(x, y), batch_size=6, collate_fn=lambda s: len(s))
    assert list(single) == [6]
    plain = DataLoader(TensorDataset(x), batch_size=4, transform=ToFloat())
    assert [b[0].dtype for b in plain] == [np.float32, np.float32]


def test_loader_transform_on_single_value_samples() -> None:
    class Plain(Dataset):
        def __len__(self) -> int:
            return 3

        def __getitem__(self, index: int) -> np.ndarray:
            return np.full((2,), index, dtype=np.uint8)

    (batch,) = list(DataLoader(Plain(), batch_size=3, transform=ToFloat(divisor=1)))
    np.testing.assert_array_equal(batch.data, [[0, 0], [1, 1], [2, 2]])


def test_augmented_loading_is_reproducible() -> None:
    x, y = arrays(20)

    def run() -> list[np.ndarray]:
        augment = Compose([ToFloat(), RandomCrop(4, padding=1, rng=3), RandomHorizontalFlip(rng=4)])
        loader = DataLoader(TensorDataset(x, y), 6, shuffle=True, seed=5, transform=augment)
        return [b[0].data for epoch in range(2) for b in loader]

    first, second = run(), run()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_prefetch_gives_the_same_batches() -> None:
    x, y = arrays(30)

    def run(prefetch: int) -> list[np.ndarray]:
        augment = Compose([ToFloat(), RandomCrop(4, padding=2, rng=0), RandomHorizontalFlip(rng=1)])
        loader = DataLoader(
            TensorDataset(x, y), 4, shuffle=True, seed=9, transform=augment, prefetch=prefetch
        )
        return [field.data for epoch in range(2) for batch in loader for field in batch]

    serial = run(0)
    for depth in (1, 3):
        prefetched = run(depth)
        assert all(np.array_equal(a, b) for a, b in zip(serial, prefetched, strict=True))
        assert len(prefetched) == len(serial)


def test_prefetch_iterator_runs_ahead_in_a_thread_and_stays_bounded() -> None:
    produced: list[int] = []
    threads: set[str] = set()

    def items():  # type: ignore[no-untyped-def]
        for i in range(10):
            threads.add(threading.current_thread().name)
            produced.append(i)
            yield i

    iterator = prefetch_iterator(items(), depth=2)
    assert next(iterator) == 0
    assert threads == {"tinytorch-prefetch"}
    assert list(iterator) == list(range(1, 10))
    before = threading.active_count()
    stream = prefetch_iterator(iter(range(1000)), depth=3)
    for value in stream:
        if value == 5:
            break
    stream.close()  # stops and joins the producer
    assert threading.active_count() <= before


def test_prefetch_carries_exceptions_to_the_consumer() -> None:
    def failing():  # type: ignore[no-untyped-def]
        yield 1
        raise KeyError("bad sample 7")

    iterator = prefetch_iterator(failing(), depth=2)
    assert next(iterator) == 1
    with pytest.raises(KeyError, match="bad sample 7"):
        next(iterator)
    with pytest.raises(ValueError, match="depth"):
        next(prefetch_iterator(iter([]), depth=0))


def test_loader_argument_errors() -> None:
    data = TensorDataset(np.zeros(4))
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        DataLoader(data, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        DataLoader(data, batch_size=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prefetch"):
        DataLoader(data, prefetch=-1)
    with pytest.raises(ValueError, match="collate_fn"):
        DataLoader(data, collate_fn=list, transform=ToFloat())
    assert "batch_size=1" in repr(DataLoader(data))
