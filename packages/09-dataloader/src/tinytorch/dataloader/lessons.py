"""Systems lessons of module 09, as functions that return numbers.

- Memory: a dataset of images is 4x larger in float32 than in uint8 (50,000 CIFAR-10 images:
  153.6 MB vs 614.4 MB). Keep it uint8 and convert one batch at a time.
- Throughput: fetching a batch with one fancy index per array beats a Python loop over the
  samples (2.5-5x for 128-image batches, more as the per-sample work grows); augmentation
  (crop, flip, normalise) costs a few passes over the batch: 4-5x slower loading, still
  hundreds of thousands of images per second, far more than a NumPy model consumes.
- Overlap: with ``prefetch``, the next batch is prepared while the training step runs, so an
  epoch costs about ``max(prepare, step)`` per batch instead of ``prepare + step``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.dataloader.dataset import Dataset, TensorDataset
from tinytorch.dataloader.loader import DataLoader
from tinytorch.dataloader.transforms import (
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToFloat,
    Transform,
)
from tinytorch.setup.measure import Timer

__all__ = ["augmentation", "dataset_memory", "loader_throughput", "prefetch_speedup"]


def dataset_memory(
    shape: tuple[int, ...] = (50_000, 3, 32, 32), batch_size: int = 128
) -> dict[str, float]:
    """Bytes of a dataset of ``shape`` (N first) stored as uint8 vs float32, and of one batch.

    CIFAR-10's training set (50000, 3, 32, 32): 153,600,000 bytes in uint8, 614,400,000 in
    float32 (ratio 4.0); one float32 batch of 128 images is 1,572,864 bytes.
    """
    # HINT: elements = product of shape; uint8 is 1 byte per element, float32 4
    # BEGIN SOLUTION
    elements = math.prod(shape)
    uint8_bytes, float32_bytes = elements * 1, elements * 4
    batch_bytes = math.prod(shape[1:]) * batch_size * 4
    # END SOLUTION
    return {
        "uint8_bytes": uint8_bytes,
        "float32_bytes": float32_bytes,
        "ratio": float32_bytes / uint8_bytes if uint8_bytes else 4.0,  # 4 bytes per element vs 1
        "batch_float32_bytes": batch_bytes,
    }


def augmentation(images: np.ndarray, seed: int = 0, padding: int = 4) -> Compose:
    """The standard training augmentation for ``images`` (N, C, H, W) or (N, H, W) uint8:
    RandomCrop(H, padding), RandomHorizontalFlip, ToFloat, Normalize(0.5, 0.25) per channel.

    Cropping and flipping come first, on the uint8 batch: they move 1 byte per element instead
    of 4, and only the final batch is converted to float32.
    """
    channels = images.shape[1] if images.ndim == 4 else 1
    return Compose(
        [
            RandomCrop(images.shape[-2:], padding=padding, rng=seed),
            RandomHorizontalFlip(rng=seed + 1),
            ToFloat(),
            Normalize([0.5] * channels, [0.25] * channels),
        ]
    )


class _PerSample(Dataset):
    """The same arrays behind the plain Dataset protocol: the loader must fetch one by one."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.images[index], self.labels[index]


def _epoch_seconds(loader: DataLoader, step: Callable[[Any], None] | None = None) -> float:
    with Timer() as timer:
        for batch in loader:
            if step is not None:
                step(batch)
    return timer.elapsed


def loader_throughput(
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    batch_size: int = 128,
    seed: int = 0,
) -> dict[str, float]:
    """Images per second of one shuffled epoch, for three ways of loading the same data.

    ``per_sample``: a plain Dataset, fetched one sample at a time and stacked (ToFloat only);
    ``array``: the array fast path (ToFloat only); ``augmented``: the fast path with
    `augmentation` (crop, flip, normalise). Default data: 4,096 random CIFAR-shaped uint8 images.
    Also returns ``batching_speedup`` (array / per_sample) and ``augmentation_cost``
    (array / augmented: how many times slower augmentation makes loading).
    """
    rng = np.random.default_rng(seed)
    if images is None:
        images = rng.integers(0, 256, size=(4096, 3, 32, 32), dtype=np.uint8)
    if labels is None:
        labels = rng.integers(0, 10, size=len(images))
    loaders = {
        "per_sample": DataLoader(
            _PerSample(images, labels), batch_size, shuffle=True, seed=seed, transform=ToFloat()
        ),
        "array": DataLoader(
            TensorDataset(images, labels), batch_size, shuffle=True, seed=seed, transform=ToFloat()
        ),
        "augmented": DataLoader(
            TensorDataset(images, labels),
            batch_size,
            shuffle=True,
            seed=seed,
            transform=augmentation(images, seed),
        ),
    }
    rates = {name: len(images) / _epoch_seconds(loader) for name, loader in loaders.items()}
    return {
        **rates,
        "batching_speedup": rates["array"] / rates["per_sample"],
        "augmentation_cost": rates["array"] / rates["augmented"],
    }


class _SlowTransform(Transform):
    """Stands in for per-batch preparation that releases the GIL (disk reads, decompression,
    decoding, large NumPy operations): it waits ``seconds``, then returns the batch."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def forward(self, batch: np.ndarray) -> np.ndarray:
        time.sleep(self.seconds)
        return batch


def prefetch_speedup(
    batches: int = 20,
    batch_size: int = 64,
    transform_ms: float = 10.0,
    step_ms: float = 10.0,
    prefetch: int = 2,
) -> dict[str, float]:
    """Time one epoch with and without a background prefetch thread.

    Each batch takes ``transform_ms`` to prepare (a slow transform) and ``step_ms`` to consume
    (the stand-in for a training step). Serially an epoch costs ``batches * (transform + step)``;
    with prefetching the two overlap and it approaches ``batches * max(transform, step)``.
    Returns ``serial_s``, ``prefetch_s``, ``speedup`` (serial / prefetch), ``ideal_speedup``
    ((transform + step) / max(transform, step)) and ``batches``.
    """
    data = TensorDataset(np.zeros((batches * batch_size, 8), dtype=np.float32))

    def step(batch: Any) -> None:
        time.sleep(step_ms / 1000)

    timings = {}
    for name, depth in (("serial_s", 0), ("prefetch_s", prefetch)):
        loader = DataLoader(
            data, batch_size, transform=_SlowTransform(transform_ms / 1000), prefetch=depth
        )
        timings[name] = _epoch_seconds(loader, step)
    slowest = max(transform_ms, step_ms)
    return {
        **timings,
        "speedup": timings["serial_s"] / timings["prefetch_s"],
        "ideal_speedup": (transform_ms + step_ms) / slowest if slowest else 1.0,
        "batches": float(batches),
    }
