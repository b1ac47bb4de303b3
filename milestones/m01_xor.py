"""Milestone 01 (unlocks at module 05): XOR -- what one layer cannot learn and two layers can.

In 1958 Rosenblatt's perceptron learned to separate classes with a line; in 1969 Minsky and
Papert showed that a single layer cannot compute XOR, and neural networks were set aside for a
decade. This milestone replays the argument with TinyTorch:

1. A perceptron (one ``Linear(2, 1)`` and a step, trained with the perceptron learning rule)
   learns AND and OR: they are linearly separable, so the rule converges.
2. The same perceptron never converges on XOR: every epoch still makes a mistake.
3. The proof that no perceptron can: the four inequalities XOR demands are contradictory (see
   ``xor_proof``), checked numerically -- an exhaustive grid over (w1, w2, b) realises 14 of the
   16 two-input Boolean functions, and never XOR or XNOR.
4. A 2-4-1 MLP (Linear, Tanh, Linear, Sigmoid) trained by manual backprop and plain gradient
   descent (``tinytorch.networks.train_xor``) reaches 100%.
5. Pretrained weights, ``milestones/weights/xor_mlp.npz``, load into the same architecture and
   run in inference at 100%.

    python milestones/m01_xor.py                   quick (what ``milestones/run.py`` runs)
    python milestones/m01_xor.py --full            more epochs, a finer grid, 20 MLP seeds
    python milestones/m01_xor.py --json out.json   also write the summary as JSON
    python milestones/m01_xor.py --train-weights   regenerate milestones/weights/xor_mlp.npz

The weights file is produced by this script (``--train-weights``: ``train_xor(hidden=4, lr=2.0,
epochs=1000, seed=0)``, then ``tinytorch.networks.save``), so it can always be rebuilt.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from milestone_kit import measured, summary_table
from tinytorch.layers import Linear
from tinytorch.networks import (
    binary_accuracy,
    init_model,
    load_pretrained,
    save,
    train_xor,
    xor_data,
    xor_model,
)
from tinytorch.tensor import Tensor

WEIGHTS = Path(__file__).resolve().parent / "weights" / "xor_mlp.npz"
HIDDEN, LR, EPOCHS, SEED = 4, 2.0, 1000, 0  # the recipe of the shipped weights
INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
TARGETS = {
    "AND": np.array([0, 0, 0, 1]),
    "OR": np.array([0, 1, 1, 1]),
    "XOR": np.array([0, 1, 1, 0]),
}


# --------------------------------------------------------------------- 1-2. the perceptron
@dataclass
class PerceptronRun:
    converged: bool
    epochs: int  # epochs run (up to the first one without a mistake)
    mistakes: list[int]  # per epoch
    accuracy: float  # after the last epoch
    weights: tuple[float, float, float]  # w1, w2, b


class Perceptron:
    """Rosenblatt's perceptron: ``y = 1 if w . x + b > 0 else 0``, a ``Linear(2, 1)`` and a step.

    The learning rule, one sample at a time: ``w += lr * (y - y_hat) * x``, ``b += lr * (y -
    y_hat)``. It changes the weights only on a mistake. If the classes are linearly separable it
    stops changing after finitely many mistakes (the perceptron convergence theorem).
    """

    def __init__(self) -> None:
        self.layer = init_model(Linear(2, 1), "zeros")  # w = 0, b = 0: the classic start
        params = dict(self.layer.named_parameters())
        self.w = params["weight"].data[0]  # (2,) view of the layer's weight storage
        self.b = params["bias"].data  # (1,) view of its bias

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.layer(Tensor(x)).data[..., 0] > 0).astype(np.int64)

    def fit(self, x: np.ndarray, y: np.ndarray, max_epochs: int, lr: float = 1.0) -> PerceptronRun:
        mistakes: list[int] = []
        for _ in range(max_epochs):
            errors = 0
            for xi, yi in zip(x, y, strict=True):
                error = int(yi) - int(self.predict(xi[None])[0])
                if error != 0:
                    errors += 1
                    self.w += lr * error * xi  # in place: the layer sees it
                    self.b += lr * error
            mistakes.append(errors)
            if errors == 0:
                break
        w1, w2 = (float(v) for v in self.w)
        return PerceptronRun(
            converged=mistakes[-1] == 0,
            epochs=len(mistakes),
            mistakes=mistakes,
            accuracy=float(np.mean(self.predict(x) == y)),
            weights=(w1, w2, float(self.b[0])),
        )


# --------------------------------------------------------------------- 3. the proof
def xor_proof(grid_points: int, seed: int = 0) -> dict[str, Any]:
    """XOR is not linearly separable: the argument, and three numerical checks of it.

    A perceptron computes XOR iff some (w1, w2, b) satisfies

        (0, 0) -> 0:   b <= 0
        (0, 1) -> 1:   w2 + b > 0
        (1, 0) -> 1:   w1 + b > 0
        (1, 1) -> 0:   w1 + w2 + b <= 0

    Adding the two strict inequalities: w1 + w2 + 2b > 0, so w1 + w2 + b > -b >= 0, which
    contradicts the last line. Put differently, the identity
    ``(w1 + b) + (w2 + b) - (w1 + w2 + b) - b = 0`` holds for every (w1, w2, b), but the four
    conditions make each of its terms positive or non-negative with two strictly positive: 0 > 0.

    Checks: (a) the identity on random weights; (b) random weights never satisfy all four
    conditions; (c) an exhaustive grid over [-2, 2]^3 finds every linearly separable function of
    two inputs (14 of the 16; a fine enough grid to find solutions that exist) but never XOR or
    XNOR.
    """
    rng = np.random.default_rng(seed)
    w1, w2, b = rng.uniform(-10, 10, (3, 100_000))
    identity = (w1 + b) + (w2 + b) - (w1 + w2 + b) - b
    satisfied = (b <= 0) & (w2 + b > 0) & (w1 + b > 0) & (w1 + w2 + b <= 0)

    values = np.linspace(-2.0, 2.0, grid_points, dtype=np.float32)
    g1, g2, gb = np.meshgrid(values, values, values, indexing="ij", sparse=True)
    codes = np.zeros((grid_points,) * 3, dtype=np.uint8)  # bit i: the output on INPUTS[i]
    for i, (x1, x2) in enumerate(INPUTS):
        codes |= (g1 * x1 + g2 * x2 + gb > 0).astype(np.uint8) << i
    realised = {int(c) for c in np.unique(codes)}

    def code(outputs: np.ndarray) -> int:
        return int(sum(int(o) << i for i, o in enumerate(outputs)))

    xor, xnor = code(TARGETS["XOR"]), code(1 - TARGETS["XOR"])
    return {
        "identity_max_abs": float(np.max(np.abs(identity))),
        "random_weights_tried": int(w1.size),
        "random_weights_computing_xor": int(satisfied.sum()),
        "grid_points": int(grid_points**3),
        "functions_realised": len(realised),
        "and_found": code(TARGETS["AND"]) in realised,
        "or_found": code(TARGETS["OR"]) in realised,
        "xor_found": xor in realised,
        "xnor_found": xnor in realised,
        "holds": bool(
            np.max(np.abs(identity)) < 1e-9
            and satisfied.sum() == 0
            and realised == set(range(16)) - {xor, xnor}
        ),
    }


# --------------------------------------------------------------------- 4-5. MLP and weights
def train_weights(path: Path = WEIGHTS) -> float:
    """Train the shipped XOR MLP with the fixed recipe and save it; returns its accuracy."""
    result = train_xor(hidden=HIDDEN, lr=LR, epochs=EPOCHS, seed=SEED)
    if result.accuracy < 1.0:
        raise RuntimeError(f"train_weights: the recipe reached {result.accuracy:.0%}, not 100%")
    save(result.model, path)
    return result.accuracy


def pretrained_inference(batch: int) -> dict[str, Any]:
    """Load the shipped weights (eval mode) and classify the 4 points and a batch of copies."""
    if not WEIGHTS.is_file():
        raise FileNotFoundError(
            f"m01_xor: no pretrained weights at {WEIGHTS}; create them with "
            f"`python milestones/m01_xor.py --train-weights`"
        )
    model = load_pretrained(xor_model(HIDDEN), WEIGHTS)
    x, y = xor_data()
    repeats = batch // 4
    big_x, big_y = Tensor(np.tile(x.data, (repeats, 1))), Tensor(np.tile(y.data, (repeats, 1)))
    predictions = model(x).data[:, 0]
    return {
        "accuracy": binary_accuracy(model(big_x), big_y),
        "predictions": [round(float(p), 4) for p in predictions],
        "samples": int(big_x.shape[0]),
    }


def main(quick: bool = True) -> dict[str, Any]:
    """Run the five stages, print a summary table, return the summary (JSON-serialisable)."""
    console = Console()
    max_epochs = 100 if quick else 1000
    grid = 81 if quick else 201  # steps of 0.05 or 0.02 over [-2, 2]
    mlp_seeds = [SEED] if quick else list(range(20))
    start = time.perf_counter()
    stages: dict[str, dict[str, Any]] = {}

    for name in ("AND", "OR", "XOR"):

        def perceptron(target: np.ndarray = TARGETS[name]) -> PerceptronRun:
            return Perceptron().fit(INPUTS, target, max_epochs)

        run = perceptron()
        _, cost = measured(perceptron, 4 * run.epochs)  # samples: 4 per epoch run
        result = (
            f"converged, {run.epochs} epochs" if run.converged else f"never, {run.epochs} epochs"
        )
        stages[f"perceptron {name}"] = {
            "accuracy": run.accuracy,
            "converged": run.converged,
            "epochs": run.epochs,
            "weights": run.weights,
            "result": result,
            **cost,
        }

    proof, cost = measured(lambda: xor_proof(grid), grid**3)
    verdict = "holds" if proof["holds"] else "FAILS"
    stages["XOR proof"] = {
        "accuracy": None,
        "result": f"{verdict}: {proof['functions_realised']}/16, no XOR",
        **cost,
    }

    def mlp() -> list[float]:
        return [train_xor(HIDDEN, LR, EPOCHS, seed).accuracy for seed in mlp_seeds]

    accuracies, cost = measured(mlp, 4 * EPOCHS * len(mlp_seeds))
    stages["MLP 2-4-1"] = {
        "accuracy": min(accuracies),
        "result": f"{sum(a == 1.0 for a in accuracies)}/{len(mlp_seeds)} seeds, {EPOCHS} epochs",
        **cost,
    }

    inference, cost = measured(lambda: pretrained_inference(4096), 4096 + 4)
    stages["pretrained"] = {
        "accuracy": inference["accuracy"],
        "result": f"{inference['samples']} points",
        "outputs": inference["predictions"],
        **cost,
    }

    passed = (
        stages["perceptron AND"]["converged"]
        and stages["perceptron OR"]["converged"]
        and stages["perceptron AND"]["accuracy"] == 1.0
        and stages["perceptron OR"]["accuracy"] == 1.0
        and not stages["perceptron XOR"]["converged"]
        and stages["perceptron XOR"]["accuracy"] < 1.0
        and proof["holds"]
        and min(accuracies) == 1.0
        and inference["accuracy"] == 1.0
    )
    summary = {
        "milestone": "m01_xor",
        "passed": bool(passed),
        "quick": quick,
        "headline": (
            f"perceptron: AND/OR yes, XOR no (proved); MLP {min(accuracies):.0%}; "
            f"pretrained {inference['accuracy']:.0%}"
        ),
        "stages": stages,
        "proof": proof,
        "wall_s": time.perf_counter() - start,
    }
    console.print(summary_table("Milestone 01: XOR", summary))
    return summary


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="full run (still seconds)")
    parser.add_argument("--json", type=Path, help="write the summary to this JSON file")
    parser.add_argument(
        "--train-weights", action="store_true", help=f"retrain and write {WEIGHTS.name}"
    )
    args = parser.parse_args(argv)
    if args.train_weights:
        accuracy = train_weights()
        Console().print(f"wrote {WEIGHTS} (accuracy {accuracy:.0%})")
        return 0
    summary = main(quick=not args.full)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(cli())
