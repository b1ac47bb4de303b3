"""Resume with the real DataLoader: shuffling, augmentation (RandomCrop, RandomHorizontalFlip)
and Dropout all draw random numbers; a run stopped after epoch k and resumed in fresh objects
ends with bit-identical weights and history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinytorch.dataloader import (
    Compose,
    DataLoader,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
)
from tinytorch.layers import Dropout, Linear, Module
from tinytorch.networks import Sequential
from tinytorch.optimizers import SGD, OneCycleLR
from tinytorch.tensor import Tensor
from tinytorch.training import CrossEntropyLoss, Trainer, find_generators

EPOCHS = 4


class Flat(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)


def images(n: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tiny 1x6x6 'images' whose class is the brightest quadrant-row: learnable, not trivial."""
    gen = np.random.default_rng(seed)
    y = gen.integers(0, 2, n)
    x = gen.random((n, 1, 6, 6), dtype=np.float32)
    x[y == 1, :, :3, :] += 1.0
    return x, y


def build(checkpoint_dir: Path | None, seed: int, prefetch: int) -> tuple[Trainer, DataLoader]:
    x, y = images()
    augment = Compose([RandomCrop(6, padding=1, rng=seed + 1), RandomHorizontalFlip(rng=seed + 2)])
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=10,
        shuffle=True,
        seed=seed,
        transform=augment,
        prefetch=prefetch,
    )
    rng = np.random.default_rng(seed + 3)
    model = Sequential(
        Flat(),
        Linear(36, 16, rng=rng),
        Dropout(0.25, rng=np.random.default_rng(seed + 4)),
        Linear(16, 2, rng=rng),
    )
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    scheduler = OneCycleLR(optimizer, max_lr=0.3, epochs=EPOCHS, steps_per_epoch=len(loader))
    trainer = Trainer(
        model, optimizer, CrossEntropyLoss(), scheduler, checkpoint_dir=checkpoint_dir
    )
    return trainer, loader


def timeless(records: Any) -> list[dict[str, Any]]:
    timing = {"time_s", "train_time_s", "samples_per_s", "peak_rss_bytes", "peak_traced_bytes"}
    return [{k: v for k, v in r.items() if k not in timing} for r in records]


@pytest.mark.parametrize("prefetch", [0, 2])
@pytest.mark.parametrize("stop_after", [1, 3])
def test_resume_with_dataloader_augmentation_and_dropout_is_bitwise_identical(
    tmp_path: Path, prefetch: int, stop_after: int
) -> None:
    straight, loader = build(None, seed=0, prefetch=prefetch)
    val = DataLoader(TensorDataset(*images(20, seed=9)), batch_size=8)
    straight.fit(loader, EPOCHS, val_loader=val)

    first, loader = build(tmp_path, seed=0, prefetch=prefetch)
    first.fit(loader, stop_after, val_loader=val)
    resumed, loader = build(tmp_path, seed=77, prefetch=prefetch)  # other seeds everywhere
    resumed.fit(loader, EPOCHS, val_loader=val, resume=True)

    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    assert timeless(resumed.history) == timeless(straight.history)
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]


def test_the_generators_a_trainer_saves() -> None:
    trainer, loader = build(None, seed=0, prefetch=0)
    found = find_generators({"model": trainer.model, "train_loader": loader})
    assert sorted(found) == [
        "model.layers.2.rng",
        "train_loader.generator",
        "train_loader.transform.transforms.0.rng",
        "train_loader.transform.transforms.1.rng",
    ]
