"""Milestone 03 (unlocks at module 10): an MLP reads handwritten digits, 98% on MNIST's test set.

A 784-512-256-10 MLP with ReLU and dropout, trained with SGD (Nesterov momentum, weight decay)
under a one-cycle learning-rate schedule, on the 60,000 MNIST training images; accuracy on all
10,000 test images.

    python milestones/m03_mnist_mlp.py                  quick: 6,000 images, 2 epochs (seconds)
    python milestones/m03_mnist_mlp.py --full           the full run: 15 epochs (>= 98.0%)
    python milestones/m03_mnist_mlp.py --full --save-weights   also write weights/mnist_mlp.npz
"""

from __future__ import annotations

import os

# One BLAS thread unless the caller chose (as m07 does): on 2 shared cores, OpenBLAS's two worker
# threads spin against each other and other processes; a CNN training step of m05 measured 21 s
# with 2 threads against 0.9 s with 1 on a loaded machine. Read once, when NumPy loads: this takes
# effect when this file is the first to import NumPy (run directly, or through run.py).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from tinytorch.activations import ReLU  # noqa: E402
from tinytorch.dataloader import MNIST_MEAN, MNIST_STD  # noqa: E402
from tinytorch.layers import Dropout, Linear  # noqa: E402
from tinytorch.networks import Sequential  # noqa: E402
from tinytorch.optimizers import SGD, OneCycleLR  # noqa: E402
from vision_kit import cli, load_data, loaders, train_and_report  # noqa: E402

TARGET = 0.98


def build_model(seed: int = 0) -> Sequential:
    """784-512-256-10 with ReLU and dropout 0.2: 535,818 parameters (2.1 MB in float32)."""
    rng = np.random.default_rng(seed)
    return Sequential(
        Linear(784, 512, rng=rng), ReLU(), Dropout(0.2, rng=rng),
        Linear(512, 256, rng=rng), ReLU(), Dropout(0.2, rng=rng),
        Linear(256, 10, rng=rng),
    )  # fmt: skip


def prepare(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> normalised float32 (N, 784)."""
    flat = images.reshape(len(images), -1).astype(np.float32) / 255.0
    return (flat - MNIST_MEAN[0]) / MNIST_STD[0]


def main(quick: bool = True, keep_model: bool = False) -> dict[str, Any]:
    data = load_data(
        "mnist", 6000 if quick else None, 2000 if quick else None, quick, "m03_mnist_mlp"
    )
    epochs = 2 if quick else 15
    train, test = loaders(data, prepare, batch_size=128)
    model = build_model()
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    schedule = OneCycleLR(optimizer, max_lr=0.1, total_steps=epochs * len(train))
    summary = train_and_report(
        "m03_mnist_mlp",
        "Milestone 03: MLP on MNIST",
        model,
        optimizer,
        schedule,
        train,
        test,
        epochs,
        data,
        TARGET,
        quick,
    )
    return {**summary, "model": model} if keep_model else summary


if __name__ == "__main__":
    raise SystemExit(cli(main, __doc__, "mnist_mlp.npz"))
