"""What the vision milestones share: data (real, or a labelled stand-in), a Trainer run, a report.

Data comes from the TinyTorch data directory (``TINYTORCH_DATA``, else the per-user cache; the
nox session points it at ``../shared/data`` when that exists). When a dataset is not found, a
quick run still runs, on a small synthetic stand-in with the same shapes, and says so in its
headline ("STAND-IN CHECK"): its accuracy then means nothing about the real dataset, and it is
held to a stand-in bar, not the real target. A full run, or one whose ``TINYTORCH_DATA`` names a
folder that does not exist, stops with a `MissingDataError` naming the folder and the files
(milestone_kit's data policy).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from milestone_kit import (
    STAND_IN,
    MissingDataError,
    conditions,
    fast_kernels,
    finish,
    missing_data,
    stand_in_refusal,
    summary_table,
)
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
from tinytorch.setup import data_dir
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
    name: str = ""  # the dataset's name ("mnist")

    @property
    def stand_in(self) -> bool:
        return self.source.startswith(STAND_IN)


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


def load_data(
    name: str,
    train_rows: int | None = None,
    test_rows: int | None = None,
    quick: bool = True,
    milestone: str = "milestone",
) -> Data:
    """The dataset ``name`` (first rows only when given), or, in quick mode only, the synthetic
    stand-in; `MissingDataError` when the run needs the real data (`stand_in_refusal`)."""
    try:
        train_x, train_y = LOADERS[name](train=True)
        test_x, test_y = LOADERS[name](train=False)
        source = f"{name} ({len(train_x)} train / {len(test_x)} test images)"
    except DatasetNotFoundError as error:
        refusal = stand_in_refusal(quick)
        if refusal is not None:
            raise missing_data(milestone, refusal, str(error)) from None
        train_x, train_y = synthetic(SHAPES[name], 6000, seed=0)
        test_x, test_y = synthetic(SHAPES[name], 1000, seed=1)
        source = f"{STAND_IN} for {name} ({name} is not in {data_dir()}; quick mode only)"
    if train_rows is not None and train_rows < len(train_x):
        source += f", first {train_rows} train rows"
    if test_rows is not None and test_rows < len(test_x):
        source += f", first {test_rows} test rows"
    return Data(
        train_x[:train_rows],
        train_y[:train_rows],
        test_x[:test_rows],
        test_y[:test_rows],
        source,
        name,
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

    ``target``: the test accuracy the full run must reach on the real data. A quick run on the
    real data has to beat chance clearly (30%); a run on the stand-in is a stand-in check (30%
    on the synthetic images), and its headline says so.

    Stages: ``train`` (the training passes: their time and training samples/s, the figure each
    epoch line of the Trainer prints, aggregated as total samples / total time), ``test`` (the
    test pass after every epoch), and ``other`` (model and loader set-up, scheduler, bookkeeping),
    so that the times add up to the run's wall time.
    """
    start = time.perf_counter()
    before = conditions()  # the machine as the run starts (load average, threads)
    loss = CrossEntropyLoss(label_smoothing=label_smoothing)
    trainer = Trainer(model, optimizer, loss, scheduler=scheduler)
    context, kernel_note = fast_kernels(model)
    Console().print(kernel_note, highlight=False)
    with context:
        history = trainer.fit(train, epochs, val_loader=test)
    records = list(history.records)
    final = records[-1]
    accuracy = float(final["val_accuracy"])
    real = not data.stand_in
    needed = target if (target is not None and real and not quick) else 0.3
    wall = time.perf_counter() - start
    train_s = sum(r["train_time_s"] for r in records)
    train_samples = sum(r["samples_per_s"] * r["train_time_s"] for r in records)
    test_s = sum(r["time_s"] - r["train_time_s"] for r in records)
    test_samples = len(data.test_y) * len(records)
    peak = max(r["peak_rss_bytes"] or 0 for r in records) or None
    stages = {
        "train": {
            "accuracy": float(final["train_accuracy"]),
            "result": f"{len(records)} epochs x {len(data.train_y):,} images, {data.source}",
            "wall_s": train_s,
            "peak_bytes": peak,
            "samples_per_s": train_samples / train_s if train_s else 0.0,
        },
        "test": {
            "accuracy": accuracy,
            "result": f"{len(records)} passes x {len(data.test_y):,} test images",
            "wall_s": test_s,
            "peak_bytes": None,
            "samples_per_s": test_samples / test_s if test_s else 0.0,
        },
    }
    name = data.name or "the real dataset"
    if not real:
        headline = (
            f"STAND-IN CHECK, not {name}: test accuracy {accuracy:.1%} on the synthetic "
            f"stand-in (needs {needed:.0%}; chance 10%). The real target"
            + (f" ({target:.0%})" if target is not None else "")
            + f" needs {name} in the data directory and --full"
        )
    elif quick:
        headline = (
            f"quick run: test accuracy {accuracy:.2%} (quick bar {needed:.0%}"
            + (f"; the full run needs {target:.0%}" if target is not None else "")
            + f") on {data.source}"
        )
    else:
        headline = f"test accuracy {accuracy:.2%} (needs {needed:.0%}) on {data.source}"
    summary = {
        "milestone": milestone,
        "passed": accuracy >= needed,
        "quick": quick,
        "stand_in": not real,
        "data": data.source,
        "headline": headline,
        "stages": stages,
        "other": "model and loader set-up, scheduler steps, per-epoch bookkeeping",
        "kernels": kernel_note,
        "curve": [
            {
                k: r[k]
                for k in (
                    "epoch",
                    "lr",
                    "train_loss",
                    "train_accuracy",
                    "val_accuracy",
                    "time_s",
                    "train_time_s",
                    "samples_per_s",
                )
            }
            for r in records
        ],
        "wall_s": wall,
        "conditions": before | {"load_average_at_end": conditions()["load_average"]},
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
        "--record",
        action="store_true",
        help="write the summary to milestones/results/ (the figures the README quotes)",
    )
    parser.add_argument(
        "--save-weights", action="store_true", help=f"write the model to weights/{weights}"
    )
    args = parser.parse_args(argv)
    try:
        summary = main(quick=not args.full, keep_model=True)
    except MissingDataError as error:
        Console(stderr=True).print(f"[red]error:[/red] {error}", highlight=False)
        return 2
    model = summary.pop("model")
    if args.save_weights:
        WEIGHTS.mkdir(exist_ok=True)
        save(model, WEIGHTS / weights)
        Console().print(f"wrote {WEIGHTS / weights}")
    if args.plot and not plot_curves(summary, args.plot):
        Console().print("matplotlib is not installed: no plot (pip install matplotlib)")
    return finish(summary, args.json, args.record)
