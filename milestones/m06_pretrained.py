"""Milestone 06 (Phase 1 unlocked): the shipped pretrained models, run on their test images.

Each weights file in ``milestones/weights/`` was produced by this repository's own training
commands (no outside weights):

    xor_mlp.npz       python milestones/m01_xor.py --train-weights
    mnist_mlp.npz     python milestones/m03_mnist_mlp.py --full --save-weights
    fashion_cnn.npz   python milestones/m04_fashion_cnn.py --full --save-weights
    cifar_cnn.npz     python milestones/m05_cifar_cnn.py --full --save-weights  (on the subset)
    m07_tinygpt_char.npz  python milestones/m07_tinygpt.py --full --save-weights  (see the end)

This milestone loads each into its architecture and reports its accuracy on the test images:
all 10,000 of MNIST and Fashion-MNIST, the CIFAR-10 test images present (1,017 in the subset).
In quick mode (the default) a model whose dataset is not in the data directory is reported as
not run, not as a failure; a full run (``--full``), or a ``TINYTORCH_DATA`` naming a folder that
does not exist, stops with an error naming the folder and the files instead.

The summary's times add up: each model's inference, then loading (building the models, reading
weights and test images), the memory-peak reruns (each inference again under tracemalloc: slower
than the timed run), TinyGPT's 300-character sample, and ``other`` for the rest; module imports
happen before ``main`` and are not in its time.

    python milestones/m06_pretrained.py [--full] [--json PATH] [--record]
"""

from __future__ import annotations

import os

# One BLAS thread unless the caller chose (as m07 does): on 2 shared cores, OpenBLAS's two worker
# threads spin against each other and other processes; a CNN training step of m05 measured 21 s
# with 2 threads against 0.9 s with 1 on a loaded machine. Read once, when NumPy loads: this takes
# effect when this file is the first to import NumPy (run directly, or through run.py).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402

import m03_mnist_mlp  # noqa: E402
import m04_fashion_cnn  # noqa: E402
import m05_cifar_cnn  # noqa: E402
from milestone_kit import (  # noqa: E402
    MissingDataError,
    conditions,
    finish,
    measured,
    missing_data,
    stand_in_refusal,
    summary_table,
)
from tinytorch.autograd import no_grad  # noqa: E402
from tinytorch.dataloader import CIFAR10_MEAN, CIFAR10_STD, DatasetNotFoundError, Normalize  # noqa: E402
from tinytorch.layers import Module  # noqa: E402
from tinytorch.networks import binary_accuracy, load_pretrained, xor_model  # noqa: E402
from tinytorch.tensor import Tensor  # noqa: E402
from vision_kit import LOADERS, WEIGHTS  # noqa: E402

Model = tuple[str, Callable[[], Module], Callable[[np.ndarray], np.ndarray], str]
MODELS: list[Model] = [
    ("mnist_mlp.npz", m03_mnist_mlp.build_model, m03_mnist_mlp.prepare, "mnist"),
    ("fashion_cnn.npz", m04_fashion_cnn.build_model, m04_fashion_cnn.prepare, "fashion-mnist"),
    (
        "cifar_cnn.npz",
        m05_cifar_cnn.build_model,
        lambda x: Normalize(CIFAR10_MEAN, CIFAR10_STD)(m05_cifar_cnn.prepare(x)),
        "cifar-10",
    ),
]


@no_grad()
def predict(model: Module, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """Arg-max class of every row of ``x``, in batches (a conv's im2col matrix is ~9x its input:
    256 images keep it in the tens of MB), without recording a graph."""
    return np.concatenate(
        [model(Tensor(x[i : i + batch])).data.argmax(axis=1) for i in range(0, len(x), batch)]
    )


def xor_stage() -> dict[str, Any]:
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    model = load_pretrained(xor_model(4), WEIGHTS / "xor_mlp.npz")
    accuracy, cost = measured(lambda: binary_accuracy(model(Tensor(x)), Tensor(y)), 4)
    return {"accuracy": accuracy, "result": "XOR truth table", **cost}


def image_stage(
    weights: str, build: Callable[[], Module], prepare: Any, dataset: str, quick: bool = True
) -> dict:
    loading = time.perf_counter()
    model = load_pretrained(build(), WEIGHTS / weights)
    try:
        images, labels = LOADERS[dataset](train=False)
    except DatasetNotFoundError as error:
        refusal = stand_in_refusal(quick)
        if refusal is not None:
            reason = refusal.replace("the synthetic stand-in is", "skipping a model is")
            raise missing_data("m06_pretrained", reason, str(error)) from None
        return {
            "accuracy": None,
            "result": f"{dataset} not in the data directory: not run",
            "wall_s": 0.0,
            "peak_bytes": None,
            "samples_per_s": 0.0,
            "skipped": True,
            "load_s": time.perf_counter() - loading,
        }
    x = prepare(images)
    load_s = time.perf_counter() - loading
    predictions, cost = measured(lambda: predict(model, x), len(x))
    accuracy = float((predictions == labels).mean())
    result = f"{len(x)} {dataset} test images"
    return {"accuracy": accuracy, "result": result, "load_s": load_s, **cost}


def main(quick: bool = True) -> dict[str, Any]:
    start = time.perf_counter()
    stages = {"xor_mlp.npz": xor_stage()}
    for weights, build, prepare, dataset in MODELS:
        stages[weights] = image_stage(weights, build, prepare, dataset, quick)
    stages[TINYGPT_WEIGHTS] = tinygpt_stage(quick)  # the TinyGPT section, below
    ran = [s for s in stages.values() if not s.get("skipped")]
    passed = stages["xor_mlp.npz"]["accuracy"] == 1.0 and all(s["accuracy"] > 0.5 for s in ran)
    not_run = [name.split(".")[0] for name, s in stages.items() if s.get("skipped")]
    summary = {
        "milestone": "m06_pretrained",
        "passed": passed,
        "quick": quick,
        "headline": ", ".join(
            f"{name.split('.')[0]} {s['accuracy']:.1%}"
            for name, s in stages.items()
            if not s.get("skipped")
        )
        + (f" (not run, data missing: {', '.join(not_run)})" if not_run else ""),
        "stages": stages,
        "overheads": {
            "loading": sum(s.get("load_s", 0.0) for s in stages.values()),
            "memory reruns": sum(s.get("memory_s", 0.0) for s in stages.values()),
            "TinyGPT sample": sum(s.get("sample_s", 0.0) for s in stages.values()),
        },
        "other": "bookkeeping",
        "wall_s": time.perf_counter() - start,
        "conditions": conditions(),
    }
    Console().print(summary_table("Milestone 06: pretrained models", summary))
    if stages[TINYGPT_WEIGHTS].get("sample"):
        Console().print(f"TinyGPT writes:\n{stages[TINYGPT_WEIGHTS]['sample']}", highlight=False)
    return summary


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="every dataset must be present")
    parser.add_argument("--json", type=Path, help="write the summary to this JSON file")
    parser.add_argument("--record", action="store_true", help="write it to milestones/results/")
    args = parser.parse_args(argv)
    try:
        summary = main(quick=not args.full)
    except MissingDataError as error:
        Console(stderr=True).print(f"[red]error:[/red] {error}", highlight=False)
        return 2
    return finish(summary, args.json, args.record)


# --------------------------------------------------------------------- TinyGPT (module 15)
TINYGPT_WEIGHTS = "m07_tinygpt_char.npz"


def _not_run(reason: str, **more: Any) -> dict[str, Any]:
    return {
        "accuracy": None,
        "result": reason,
        "wall_s": 0.0,
        "peak_bytes": None,
        "samples_per_s": 0.0,
        "skipped": True,
        **more,
    }


def tinygpt_stage(quick: bool = True) -> dict[str, Any]:
    """The shipped character-level TinyGPT (milestone 07's full run): 300 characters it writes
    after "ROMEO:" (always), and, when Tiny Shakespeare is in the data directory, its
    validation loss and next-character accuracy on the last 10% of the text (the part it was
    not trained on). Modules 12-15 are imported here, so that m06 still runs without them."""
    try:
        from tinytorch.generation import (
            StridedWindows,
            generate_text,
            lm_loss,
            load_language_model,
            split_text,
        )
        from tinytorch.setup import data_dir
    except ModuleNotFoundError as error:
        return _not_run(f"{error.name} is not installed: TinyGPT not run")
    path = WEIGHTS / TINYGPT_WEIGHTS
    if not path.is_file():
        return _not_run(
            f"{path.name} not found (python milestones/m07_tinygpt.py --full --save-weights)"
        )
    loading = time.perf_counter()
    loaded = load_language_model(path)
    load_s = time.perf_counter() - loading
    sampling = time.perf_counter()
    sample = generate_text(loaded.model, loaded.tokenizer, "ROMEO:", 300, temperature=0.8, seed=0)
    sample_s = time.perf_counter() - sampling
    text_path = data_dir() / "tinyshakespeare" / "input.txt"
    if not text_path.is_file():
        refusal = stand_in_refusal(quick)
        if refusal is not None:
            reason = refusal.replace("the synthetic stand-in is", "skipping a model is")
            raise missing_data(
                "m06_pretrained", reason, f"{text_path} (Tiny Shakespeare, plain text) not found."
            )
        return _not_run(
            "tinyshakespeare not in the data directory: sample only",
            sample=sample,
            load_s=load_s,
            sample_s=sample_s,
        )
    loading = time.perf_counter()
    val_text = split_text(text_path.read_text(encoding="utf-8"))[1]
    ids = np.asarray(loaded.tokenizer.encode(val_text), dtype=np.int64)
    load_s += time.perf_counter() - loading
    windows = StridedWindows(ids, loaded.config.block_size, batch_size=64)

    @no_grad()
    def score() -> tuple[float, float]:
        loss = correct = 0.0
        for x, y in windows:
            logits = loaded.model(x)
            loss += lm_loss(logits, y).item() * y.numel()
            correct += float((logits.data.argmax(axis=-1) == y.data).sum())
        return loss / windows.tokens_covered, correct / windows.tokens_covered

    (loss, accuracy), cost = measured(score, windows.tokens_covered, memory=False)
    return {
        "accuracy": accuracy,
        "result": f"val loss {loss:.3f} ({windows.tokens_covered:,} validation characters)",
        "val_loss": loss,
        "sample": sample,
        "load_s": load_s,
        "sample_s": sample_s,
        **cost,
    }


if __name__ == "__main__":
    raise SystemExit(cli())
