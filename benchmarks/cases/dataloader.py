"""DataLoader throughput with CIFAR augmentation: one shuffled epoch of 10,240 uint8 3x32x32
images in batches of 128, each batch randomly cropped (32 after 4 pixels of zero padding),
randomly flipped left-right, converted to float32 in [0, 1] and normalised per channel.

TinyTorch: ``DataLoader(TensorDataset(images, labels), 128, shuffle=True, transform=...)``
with ``Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(), ToFloat(), Normalize()])``:
one fancy index fetches a whole batch, and each transform is a few NumPy calls on the batch.
With ``prefetch=2`` a background thread prepares the next batches; with nothing to overlap
(this loop does no training), that shows what the thread hand-off costs.

PyTorch (no torchvision here): ``torch.utils.data.DataLoader`` over a ``TensorDataset``,
``num_workers=0``, the same augmentation written in torch ops on each batch (`torch_augment`).
Its default loader fetches one sample at a time and collates them; the last epoch row fetches
whole batches instead (a ``BatchSampler``, as TinyTorch does), and the last row times the
augmentation of one batch alone on both sides.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import Bench, Report, Row
from tinytorch.dataloader import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    Compose,
    DataLoader,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
    ToFloat,
)

TITLE = "DataLoader throughput, CIFAR-sized uint8 images, crop + flip + normalise, batch 128"
IMAGES, QUICK_IMAGES, BATCH, PAD = 10_240, 1_024, 128, 4


def augmentation() -> Compose:
    return Compose(
        [
            RandomCrop(32, padding=PAD, rng=1),
            RandomHorizontalFlip(rng=2),
            ToFloat(),
            Normalize(CIFAR10_MEAN, CIFAR10_STD),
        ]
    )


def torch_augment(torch: Any, batch: Any, generator: Any) -> Any:
    """The same augmentation in torch ops: uint8 (B, 3, 32, 32) -> normalised float32.

    The crop gathers one window per image from a view of all windows (``unfold``), as
    TinyTorch's `RandomCrop` does with ``sliding_window_view``: 6x faster than indexing the
    padded batch with (B, C, H, W) index tensors, 3x faster than a loop of slices.
    """
    n, _, height, width = batch.shape
    padded = torch.nn.functional.pad(batch, (PAD, PAD, PAD, PAD))
    windows = padded.unfold(2, height, 1).unfold(3, width, 1)  # (B, C, 9, 9, H, W), a view
    top = torch.randint(0, 2 * PAD + 1, (n,), generator=generator)
    left = torch.randint(0, 2 * PAD + 1, (n,), generator=generator)
    crops = windows[torch.arange(n), :, top, left]  # one gather: (B, C, H, W)
    flip = (torch.rand(n, generator=generator) < 0.5)[:, None, None, None]
    crops = torch.where(flip, crops.flip(-1), crops)
    mean = torch.tensor(CIFAR10_MEAN).reshape(1, -1, 1, 1)
    std = torch.tensor(CIFAR10_STD).reshape(1, -1, 1, 1)
    return (crops.float().div_(255) - mean).div_(std)


def epoch(loader: Any, augment: Any = None) -> int:
    """Run one epoch; the number of images seen."""
    seen = 0
    for x, _ in loader:
        if augment is not None:
            x = augment(x)
        seen += len(x)
    return seen


def run(bench: Bench) -> Report:
    count = QUICK_IMAGES if bench.quick else IMAGES
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, count)
    dataset = TensorDataset(images, labels)
    plain = DataLoader(dataset, BATCH, shuffle=True, seed=0, transform=augmentation())
    ahead = DataLoader(dataset, BATCH, shuffle=True, seed=0, transform=augmentation(), prefetch=2)
    ours = bench.time(lambda: epoch(plain))
    ours_ahead = bench.time(lambda: epoch(ahead))
    batch = images[:BATCH]
    ours_augment = bench.time(lambda: augmentation()(batch))

    torch = bench.torch
    theirs = theirs_batched = theirs_augment = None
    if torch is not None:
        data = torch.utils.data
        generator = torch.Generator().manual_seed(0)
        twin = data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
        per_sample = data.DataLoader(twin, batch_size=BATCH, shuffle=True, num_workers=0)
        sampler = data.BatchSampler(data.RandomSampler(twin), BATCH, drop_last=False)
        batched = data.DataLoader(twin, batch_size=None, sampler=sampler, num_workers=0)

        def augment(x: Any) -> Any:
            return torch_augment(torch, x, generator)

        theirs = bench.time(lambda: epoch(per_sample, augment))
        theirs_batched = bench.time(lambda: epoch(batched, augment))
        tbatch = torch.from_numpy(batch)
        theirs_augment = bench.time(lambda: augment(tbatch))

    def row(label: str, ours: Any, theirs: Any, note: str, units: int = count) -> Row:
        return Row(label, ours, theirs, units=units, unit="image", note=note)

    def rate(timing: Any, units: int = count) -> str:
        return f"{units / timing.median_s:,.0f}" if timing is not None else "-"

    pt = "PyTorch: " if torch is not None else ""
    rows = [
        row(
            f"epoch of {count:,}, no prefetch",
            ours,
            theirs,
            f"images/s {rate(ours)} | {rate(theirs)}; {pt}default loader (per-sample fetch)",
        ),
        row(
            f"epoch of {count:,}, prefetch=2",
            ours_ahead,
            theirs,
            f"images/s {rate(ours_ahead)} | {rate(theirs)}; {pt}default loader (no prefetch)",
        ),
        row(
            f"epoch of {count:,}, no prefetch",
            ours,
            theirs_batched,
            f"images/s {rate(ours)} | {rate(theirs_batched)}; {pt}whole-batch fetch",
        ),
        row(
            f"augmentation alone, {BATCH} images",
            ours_augment,
            theirs_augment,
            f"images/s {rate(ours_augment, BATCH)} | {rate(theirs_augment, BATCH)}",
            units=BATCH,
        ),
    ]
    images_per_s = {
        "tinytorch": count / ours.median_s,
        "tinytorch_prefetch": count / ours_ahead.median_s,
        "pytorch_per_sample": count / theirs.median_s if theirs is not None else None,
        "pytorch_batched": count / theirs_batched.median_s if theirs_batched else None,
    }
    return Report(rows, {"images": count, "batch": BATCH, "images_per_s": images_per_s})
