"""The Trainer with module 07's layers: a small BatchNorm CNN learns a spatial task, and a run
resumed from a checkpoint matches an uninterrupted one bit for bit, BatchNorm's running
statistics included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinytorch.activations import ReLU
from tinytorch.dataloader import (
    Compose,
    DataLoader,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
)
from tinytorch.layers import Dropout, Linear
from tinytorch.networks import Sequential
from tinytorch.optimizers import SGD, CosineAnnealingLR
from tinytorch.spatial import BatchNorm2d, Conv2d, Flatten, MaxPool2d
from tinytorch.training import CrossEntropyLoss, Trainer, read_checkpoint


def stripes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8x8 images with one bright line: horizontal (class 0) or vertical (class 1), anywhere."""
    gen = np.random.default_rng(seed)
    x = gen.random((n, 1, 8, 8), dtype=np.float32) * 0.3
    y = gen.integers(0, 2, n)
    where = gen.integers(1, 7, n)
    for i in range(n):  # test data only: a loop over 64-ish images is fine here
        if y[i] == 0:
            x[i, 0, where[i], :] += 1.0
        else:
            x[i, 0, :, where[i]] += 1.0
    return x, y


def build(checkpoint_dir: Path | None, seed: int = 0) -> tuple[Trainer, DataLoader, DataLoader]:
    x, y = stripes(96, seed=1)
    augment = Compose([RandomCrop(8, padding=1, rng=seed + 1), RandomHorizontalFlip(rng=seed + 2)])
    train = DataLoader(
        TensorDataset(x, y), batch_size=16, shuffle=True, seed=seed, transform=augment
    )
    val = DataLoader(TensorDataset(*stripes(32, seed=2)), batch_size=32)
    rng = np.random.default_rng(seed + 3)
    model = Sequential(
        Conv2d(1, 6, 3, padding=1, rng=rng),
        BatchNorm2d(6),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Dropout(0.1, rng=np.random.default_rng(seed + 4)),
        Linear(6 * 4 * 4, 2, rng=rng),
    )
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = CosineAnnealingLR(optimizer, T_max=8)
    trainer = Trainer(
        model,
        optimizer,
        CrossEntropyLoss(label_smoothing=0.05),
        scheduler,
        scheduler_step="epoch",
        grad_clip=5.0,
        checkpoint_dir=checkpoint_dir,
    )
    return trainer, train, val


def test_a_batchnorm_cnn_learns_the_stripes() -> None:
    trainer, train, val = build(None)
    history = trainer.fit(train, epochs=8, val_loader=val)
    assert history["val_accuracy"][-1] >= 0.9
    assert history["train_loss"][-1] < history["train_loss"][0]


@pytest.mark.parametrize("stop_after", [2, 5])
def test_resumed_cnn_is_bitwise_identical_with_batchnorm_buffers(
    tmp_path: Path, stop_after: int
) -> None:
    straight, train, val = build(None)
    straight.fit(train, epochs=6, val_loader=val)

    first, train, val = build(tmp_path)
    first.fit(train, epochs=stop_after, val_loader=val)
    saved = read_checkpoint(tmp_path / "last.npz")
    assert {"1.running_mean", "1.running_var"} <= set(saved.model_state)
    resumed, train, val = build(tmp_path, seed=42)
    resumed.fit(train, epochs=6, val_loader=val, resume=True)

    expected, got = straight.model.state_dict(), resumed.model.state_dict()
    assert list(expected) == list(got)
    for name in expected:
        np.testing.assert_array_equal(expected[name], got[name], err_msg=name)
