"""Milestone 02 (unlocks at module 08): training with autograd and real optimizers.

Milestone 01 trained XOR with a hand-written backward for every layer. From module 06 on the
gradients come from ``loss.backward()``, and from module 08 the update from an optimizer:

1. XOR again, now with autograd and ``SGD(momentum=0.9)``: no backward written by hand.
2. Two interleaved spirals (2 classes, 2-d points, not separable by any line or simple curve):
   a 2-64-64-2 MLP with autograd, ``Adam`` and a cosine learning-rate schedule, trained on one
   sample and scored on a held-out one.

    python milestones/m02_autograd.py            quick (seconds)
    python milestones/m02_autograd.py --full     more spiral points and epochs
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from milestone_kit import measured, summary_table
from tinytorch.activations import log_softmax
from tinytorch.networks import MLP
from tinytorch.optimizers import SGD, Adam, CosineAnnealingLR
from tinytorch.tensor import Tensor


def cross_entropy(logits: Tensor, labels: np.ndarray) -> Tensor:
    """Mean of -log softmax(logits)[i, label_i]: logits (N, C) float32, labels (N,) int."""
    return -log_softmax(logits, dim=1)[np.arange(len(labels)), labels].mean()


def accuracy(logits: Tensor, labels: np.ndarray) -> float:
    return float((logits.data.argmax(axis=1) == labels).mean())


def xor_with_autograd(epochs: int, seed: int = 0) -> float:
    """A 2-8-2 MLP on XOR, gradients by autograd, updates by SGD with momentum."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    model = MLP([2, 8, 2], activation="tanh", rng=np.random.default_rng(seed))
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(epochs):
        optimizer.zero_grad()
        cross_entropy(model(Tensor(x)), y).backward()
        optimizer.step()
    return accuracy(model(Tensor(x)), y)


def spirals(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points per class on two interleaved noisy spirals: x (2n, 2) float32, y (2n,)."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.random(n)) * 3 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, 0.02, (2 * n, 2))
    y = np.concatenate([np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)])
    return x.astype(np.float32), y


def train_spirals(n: int, epochs: int, batch: int = 64, seed: int = 0) -> dict[str, float]:
    """Minibatch Adam with cosine annealing on spirals; accuracy on held-out spiral points."""
    x, y = spirals(n, seed)
    x_test, y_test = spirals(n, seed + 1)
    rng = np.random.default_rng(seed)
    model = MLP([2, 64, 64, 2], activation="relu", rng=rng)
    optimizer = Adam(model.parameters(), lr=0.01)
    steps_per_epoch = -(-len(x) // batch)
    schedule = CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            rows = order[start : start + batch]
            optimizer.zero_grad()
            loss = cross_entropy(model(Tensor(x[rows])), y[rows])
            loss.backward()
            optimizer.step()
            schedule.step()
    return {
        "train_accuracy": accuracy(model(Tensor(x)), y),
        "test_accuracy": accuracy(model(Tensor(x_test)), y_test),
        "final_loss": float(loss.item()),
    }


def main(quick: bool = True) -> dict[str, Any]:
    """Run both stages, print the summary table, return the summary (JSON-serialisable)."""
    start = time.perf_counter()
    xor_epochs = 300
    n, epochs = (500, 30) if quick else (2000, 60)
    stages: dict[str, dict[str, Any]] = {}

    xor_accuracy, cost = measured(lambda: xor_with_autograd(xor_epochs), 4 * xor_epochs)
    stages["XOR, autograd + SGD"] = {
        "accuracy": xor_accuracy,
        "result": f"{xor_epochs} steps, momentum 0.9",
        **cost,
    }
    spiral, cost = measured(lambda: train_spirals(n, epochs), 2 * n * epochs, memory=False)
    stages["spirals MLP, autograd + Adam"] = {
        "accuracy": spiral["test_accuracy"],
        "result": f"{2 * n} points, {epochs} epochs, train {spiral['train_accuracy']:.1%}",
        **cost,
    }
    passed = xor_accuracy == 1.0 and spiral["test_accuracy"] >= 0.97
    summary = {
        "milestone": "m02_autograd",
        "passed": passed,
        "quick": quick,
        "headline": f"XOR {xor_accuracy:.0%}; spirals test {spiral['test_accuracy']:.1%}",
        "stages": stages,
        "wall_s": time.perf_counter() - start,
    }
    Console().print(summary_table("Milestone 02: autograd and optimizers", summary))
    return summary


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="more points and epochs")
    parser.add_argument("--json", type=Path, help="write the summary to this JSON file")
    args = parser.parse_args(argv)
    summary = main(quick=not args.full)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(cli())
