"""`DataLoader`: batches of a dataset, shuffled reproducibly, optionally prepared in the background.

One epoch is: draw the order of the samples (a permutation from the loader's seeded generator
when ``shuffle``), cut it into batches of ``batch_size`` indices, and for each batch fetch the
samples, stack them, transform the inputs, and wrap the fields in Tensors.

Fetching has two paths. An array-backed dataset (`TensorDataset`, and the MNIST / CIFAR-10
datasets built on it) gives a whole batch with one fancy index per array. Any other dataset is
asked for one sample at a time and `default_collate` stacks them: a Python loop over the batch,
several times slower per image (``loader_throughput`` measures it).

``prefetch=k`` runs the fetching in a background thread that keeps up to ``k`` finished batches
in a queue, so the next batch is being prepared while the training step runs on this one. It
pays when the preparation releases the GIL (file reads, decompression, large NumPy operations);
``prefetch_speedup`` measures it.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from tinytorch.dataloader.dataset import BatchTransform, Dataset, TensorDataset
from tinytorch.tensor import Tensor

__all__ = ["DataLoader", "default_collate", "prefetch_iterator", "stack_samples", "to_tensors"]

T = TypeVar("T")
NumpyBatch = tuple[np.ndarray, ...] | np.ndarray


def _stack_field(values: list[Any], field: int | None) -> np.ndarray:
    arrays = [np.asarray(v) for v in values]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        where = "samples" if field is None else f"field {field} of the samples"
        raise ValueError(
            f"collate: {where} have different shapes {sorted(shapes)}; give samples of one "
            f"shape (crop or pad them) or pass a collate_fn that handles them"
        )
    return np.stack(arrays)


def stack_samples(samples: Sequence[Any]) -> NumpyBatch:
    """Stack a list of samples into NumPy batch arrays (a new leading batch dimension).

    Tuple samples ``[(x0, y0), (x1, y1), ...]`` give a tuple ``(X: (B, ...), Y: (B,))``; other
    samples (arrays, numbers, Tensors) give one array. Cost: one copy of the batch.
    """
    if len(samples) == 0:
        raise ValueError("collate: got an empty list of samples")
    # HINT: for tuple samples, stack field k of every sample: _stack_field([s[k] for s in ...], k)
    # BEGIN SOLUTION
    if isinstance(samples[0], (tuple, list)):
        return tuple(
            _stack_field([sample[k] for sample in samples], k) for k in range(len(samples[0]))
        )
    return _stack_field(list(samples), None)
    # END SOLUTION


def _as_tensor(array: np.ndarray) -> Tensor:
    """A batch field as a Tensor: one integer per sample (class labels) becomes int64."""
    if array.ndim == 1 and array.dtype.kind in "iu":
        array = array.astype(np.int64, copy=False)
    return Tensor(array)


def to_tensors(batch: NumpyBatch) -> tuple[Tensor, ...] | Tensor:
    """Wrap NumPy batch arrays in Tensors (float64 becomes float32, labels int64)."""
    if isinstance(batch, tuple):
        return tuple(_as_tensor(field) for field in batch)
    return _as_tensor(batch)


def default_collate(samples: Sequence[Any]) -> tuple[Tensor, ...] | Tensor:
    """Stack samples into Tensors: ``[(x, y), ...] -> (X: (B, ...), Y: (B,) int64)``."""
    return to_tensors(stack_samples(samples))


_DONE = object()


class _Failure:
    """An exception raised in the background thread, carried to the consuming thread."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(channel: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put ``item``, waiting while the queue is full; False if the consumer stopped meanwhile."""
    while not stop.is_set():
        try:
            channel.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def prefetch_iterator(items: Iterator[T], depth: int) -> Iterator[T]:
    """Yield ``items`` in order while a background thread computes up to ``depth`` ahead.

    The producer thread pulls from ``items`` and puts each result in a queue of ``depth``
    slots (blocking when it is full: memory stays bounded at ``depth`` batches); the consumer
    takes them out. An exception in the producer is raised in the consumer, at the point in the
    sequence where it happened. Stopping early (``break``) stops and joins the thread.
    """
    if depth < 1:
        raise ValueError(f"prefetch_iterator: depth must be >= 1, got {depth}")
    channel: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            # HINT: put each item in the channel with _put(channel, item, stop); when it gives
            # HINT: False the consumer has stopped: return
            # BEGIN SOLUTION
            for item in items:
                if not _put(channel, item, stop):
                    return
            # END SOLUTION
            _put(channel, _DONE, stop)
        except BaseException as error:
            _put(channel, _Failure(error), stop)

    worker = threading.Thread(target=produce, name="tinytorch-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = channel.get()  # the producer always ends with _DONE or a _Failure
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()


class DataLoader:
    """Iterate over a dataset in batches of Tensors.

    ``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
    collate_fn=None, transform=None, prefetch=0)``

    - ``shuffle``: each epoch (each ``iter(loader)``) draws a new permutation from a generator
      seeded once with ``seed``: the same seed gives the same sequence of epochs.
    - ``drop_last``: drop the final batch when it is smaller than ``batch_size``.
    - ``collate_fn(list_of_samples)``: replaces the default stacking; its result is yielded as
      is (then the batch ``transform`` is not available: apply it in ``collate_fn``).
    - ``transform``: a batch transform (NumPy in, NumPy out) applied to the inputs, the first
      field of every batch, before the fields become Tensors.
    - ``prefetch=k``: prepare up to ``k`` batches ahead in a background thread.

    A batch of ``(input, label)`` samples is ``(X: Tensor (B, ...), Y: Tensor (B,) int64)``.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        transform: BatchTransform | None = None,
        prefetch: int = 0,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if prefetch < 0:
            raise ValueError(f"DataLoader: prefetch must be >= 0 batches, got {prefetch}")
        if collate_fn is not None and transform is not None:
            raise ValueError(
                "DataLoader: with a collate_fn, apply the transform inside it (the loader "
                "cannot know which part of a custom batch is the input)"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.collate_fn = collate_fn
        self.transform = transform
        self.prefetch = prefetch
        self.generator = np.random.default_rng(seed)

    def __len__(self) -> int:
        """Batches per epoch: ``N // batch_size`` with ``drop_last``, else rounded up."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def batch_indices(self) -> list[np.ndarray]:
        """The index arrays of one epoch's batches; draws the epoch's permutation if shuffling."""
        n = len(self.dataset)
        # HINT: order = a permutation from self.generator (shuffle) or 0..n-1; cut it into slices
        # HINT: of batch_size, leaving out a short last one when drop_last
        # BEGIN SOLUTION
        order = self.generator.permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        return [order[start : start + self.batch_size] for start in range(0, stop, self.batch_size)]
        # END SOLUTION

    def fetch(self, indices: np.ndarray) -> Any:
        """The batch of samples ``indices``: fast path for arrays, else one sample at a time."""
        if self.collate_fn is not None:
            return self.collate_fn([self.dataset[int(i)] for i in indices])
        batch: NumpyBatch
        if isinstance(self.dataset, TensorDataset):
            batch = self.dataset.get_batch(indices)
        else:
            batch = stack_samples([self.dataset[int(i)] for i in indices])
        if self.transform is not None:
            if isinstance(batch, tuple):
                batch = (self.transform(batch[0]), *batch[1:])
            else:
                batch = self.transform(batch)
        return to_tensors(batch)

    def __iter__(self) -> Iterator[Any]:
        # The order is drawn here, before any batch is fetched: it depends only on the seed and
        # the epoch number, whether or not batches are prefetched or an epoch is cut short.
        batches = map(self.fetch, self.batch_indices())
        if self.prefetch == 0:
            return batches
        return prefetch_iterator(batches, self.prefetch)

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}, "
            f"seed={self.seed}, prefetch={self.prefetch})"
        )
