"""What the vision milestones share: data (real, or a labelled stand-in), a Trainer run, a report.

Data comes from the TinyTorch data directory (``TINYTORCH_DATA``, else the per-user cache; the
nox session points it at ``../shared/data`` when that exists). When a dataset is not found, the
milestone still runs, on a small synthetic stand-in with the same shapes, and says so in its
summary: its accuracy then means nothing about the real dataset.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from milestone_kit import summary_table
from tinytorch.dataloader import (
    DataLoader,
    DatasetNotFoundError,
    TensorDataset,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
)
from tinytorch.layers import Module
from tinytorch.networks import save
from tinytorch.training import CrossEntropyLoss, Trainer

WEIGHTS = Path(__file__).resolve().parent / "weights"
LOADERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "mnist": load_mnist,
    "fashion-mnist": load_fashion_mnist,
    "cifar-10": load_cifar10,
}
SHAPES = {"mnist": (28, 28), "fashion-mnist": (28, 28), "cifar-10": (3, 32, 32)}


@dataclass
class Data:
    """uint8 images and int64 labels of a train and a test split, and where they came from."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    source: str


def synthetic(shape: tuple[int, ...], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in with ten classes: class k is a striped pattern at angle k*18 degrees (random
    phase), plus noise. Learnable by an MLP and by a CNN with global pooling alike."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    size = shape[-1]
    rows, cols = np.mgrid[0:size, 0:size] / size
    angle = labels[:, None, None] * np.pi / 10
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    stripes = np.sin(2 * np.pi * 3 * (cols * np.cos(angle) + rows * np.sin(angle)) + phase)
    images = 0.5 + 0.35 * stripes + 0.15 * rng.standard_normal((n, size, size))
    if len(shape) == 3:
        images = np.repeat(images[:, None], shape[0], axis=1)
    return (np.clip(images, 0, 1) * 255).astype(np.uint8), labels.astype(np.int64)


def load_data(name: str, train_rows: int | None = None, test_rows: int | None = None) -> Data:
    """The dataset ``name`` (first rows only when given), or the synthetic stand-in."""
    try:
        train_x, train_y = LOADERS[name](train=True)
        test_x, test_y = LOADERS[name](train=False)
        source = f"{name} ({len(train_x)} train / {len(test_x)} test images)"
    except DatasetNotFoundError:
        train_x, train_y = synthetic(SHAPES[name], 6000, seed=0)
        test_x, test_y = synthetic(SHAPES[name], 1000, seed=1)
        source = f"SYNTHETIC stand-in: {name} not found (set TINYTORCH_DATA to its folder)"
    if train_rows is not None and train_rows < len(train_x):
        source += f", first {train_rows} train rows"
    if test_rows is not None and test_rows < len(test_x):
        source += f", first {test_rows} test rows"
    return Data(
        train_x[:train_rows], train_y[:train_rows], test_x[:test_rows], test_y[:test_rows], source
    )


def loaders(
    data: Data,
    prepare: Callable[[np.ndarray], np.ndarray],
    batch_size: int,
    train_transform: Any = None,
    test_transform: Any = None,
    seed: int = 0,
) -> tuple[DataLoader, DataLoader]:
    """Shuffled training batches (with augmentation) and ordered test batches."""
    train = TensorDataset(prepare(data.train_x), data.train_y)
    test = TensorDataset(prepare(data.test_x), data.test_y)
    return (
        DataLoader(train, batch_size, shuffle=True, seed=seed, transform=train_transform),
        DataLoader(test, 512, transform=test_transform),
    )


def train_and_report(
    milestone: str,
    title: str,
    model: Module,
    optimizer: Any,
    scheduler: Any,
    train: DataLoader,
    test: DataLoader,
    epochs: int,
    data: Data,
    target: float | None,
    quick: bool,
    label_smoothing: float = 0.0,
) -> dict[str, Any]:
    """Fit with the Trainer (test accuracy after each epoch), print the table, return the summary.

    ``target``: the test accuracy the full run must reach on the real data (quick runs and
    stand-in data only have to beat chance clearly).
    """
    start = time.perf_counter()
    loss = CrossEntropyLoss(label_smoothing=label_smoothing)
    trainer = Trainer(model, optimizer, loss, scheduler=scheduler)
    history = trainer.fit(train, epochs, val_loader=test)
    records = list(history.records)
    final = records[-1]
    accuracy = float(final["val_accuracy"])
    real = not data.source.startswith("SYNTHETIC")
    needed = target if (target is not None and real and not quick) else 0.3
    wall = time.perf_counter() - start
    stage = {
        "accuracy": accuracy,
        "result": f"{epochs} epochs on {data.source}",
        "wall_s": wall,
        "peak_bytes": max(r["peak_rss_bytes"] or 0 for r in records) or None,
        "samples_per_s": float(np.mean([r["samples_per_s"] for r in records])),
    }
    summary = {
        "milestone": milestone,
        "passed": accuracy >= needed,
        "quick": quick,
        "data": data.source,
        "headline": f"test accuracy {accuracy:.2%} (needs {needed:.0%}) on {data.source}",
        "stages": {"train + test": stage},
        "curve": [
            {k: r[k] for k in ("epoch", "lr", "train_loss", "train_accuracy", "val_accuracy")}
            for r in records
        ],
        "wall_s": wall,
    }
    Console().print(summary_table(title, summary))
    return summary


def plot_curves(summary: dict[str, Any], path: Path) -> bool:
    """Write train/test accuracy per epoch as a PNG; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = [r["epoch"] for r in summary["curve"]]
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(epochs, [r["train_accuracy"] for r in summary["curve"]], label="train")
    axis.plot(epochs, [r["val_accuracy"] for r in summary["curve"]], label="test")
    axis.set(xlabel="epoch", ylabel="accuracy", title=summary["milestone"])
    axis.legend()
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return True


def cli(
    main: Callable[..., dict[str, Any]],
    doc: str | None,
    weights: str,
    argv: list[str] | None = None,
) -> int:
    """``--full``, ``--json PATH``, ``--plot PATH``, ``--save-weights`` for a vision milestone."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--full", action="store_true", help="the full run (minutes)")
    parser.add_argument("--json", type=Path, help="write the summary to this JSON file")
    parser.add_argument("--plot", type=Path, help="write training curves to this PNG")
    parser.add_argument(
        "--save-weights", action="store_true", help=f"write the model to weights/{weights}"
    )
    args = parser.parse_args(argv)
    summary = main(quick=not args.full, keep_model=True)
    model = summary.pop("model")
    if args.save_weights:
        WEIGHTS.mkdir(exist_ok=True)
        save(model, WEIGHTS / weights)
        Console().print(f"wrote {WEIGHTS / weights}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    if args.plot and not plot_curves(summary, args.plot):
        Console().print("matplotlib is not installed: no plot (pip install matplotlib)")
    return 0 if summary["passed"] else 1
