"""The real datasets of ../shared/data (or $TINYTORCH_DATA), when present; skipped otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tinytorch.dataloader import (
    CIFAR10,
    DataLoader,
    ToFloat,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    sha256_file,
)


def shared_data() -> Path | None:
    """$TINYTORCH_DATA if it holds SHA256SUMS, else the workspace's ../shared/data."""
    candidates = [Path(__file__).parents[3] / "../shared/data"]
    if os.environ.get("TINYTORCH_DATA"):
        candidates.insert(0, Path(os.environ["TINYTORCH_DATA"]))
    for folder in candidates:
        if (folder / "SHA256SUMS").is_file():
            return folder.resolve()
    return None


DATA = shared_data()
pytestmark = pytest.mark.skipif(
    DATA is None, reason="no real data: neither $TINYTORCH_DATA nor ../shared/data has SHA256SUMS"
)


def test_checksums_of_the_shared_files() -> None:
    assert DATA is not None
    lines = (DATA / "SHA256SUMS").read_text().split("\n")
    checked = 0
    for line in filter(None, lines):
        expected, name = line.split(maxsplit=1)
        assert sha256_file(DATA / name) == expected, name
        checked += 1
    assert checked >= 17


def test_mnist_and_fashion_mnist_counts() -> None:
    for load in (load_mnist, load_fashion_mnist):
        train_images, train_labels = load(DATA)
        test_images, test_labels = load(DATA, train=False)
        assert train_images.shape == (60_000, 28, 28) and train_images.dtype == np.uint8
        assert test_images.shape == (10_000, 28, 28)
        assert train_labels.shape == (60_000,) and test_labels.shape == (10_000,)
        assert set(np.unique(train_labels)) == set(range(10))
    assert np.bincount(load_fashion_mnist(DATA)[1]).tolist() == [6000] * 10


def test_cifar10_subset_counts_and_loader() -> None:
    images, labels = load_cifar10(DATA)
    assert images.shape == (5_170, 3, 32, 32) and images.dtype == np.uint8
    assert labels.shape == (5_170,) and labels.min() == 0 and labels.max() == 9
    test_images, test_labels = load_cifar10(DATA, train=False)
    assert test_images.shape == (1_017, 3, 32, 32)
    assert test_labels[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]  # CIFAR-10's first rows
    data = CIFAR10(DATA, train=False, transform=ToFloat())
    x, y = next(iter(DataLoader(data, batch_size=256, shuffle=True, seed=0)))
    assert x.shape == (256, 3, 32, 32) and y.shape == (256,)
    assert 0.0 <= float(x.data.min()) <= float(x.data.max()) <= 1.0
