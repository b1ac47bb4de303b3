"""Module 18's measured targets (issue 14), on the shipped float models and the real data.

    python benchmarks/compression_targets.py                 every section, real data (minutes)
    python benchmarks/compression_targets.py --only mnist_int8 cifar_prune
    python benchmarks/compression_targets.py --quick         tiny synthetic models and data (s)

Sections (each writes its figures into the JSON, ``benchmarks/results/compression_targets.json``
for a full run, and a row of the table):

- ``mnist_int8``: milestone 03's MLP (``milestones/weights/mnist_mlp.npz``) and
  ``quantize_dynamic`` (per-channel symmetric INT8 weights, 8-bit dynamic activations): file
  sizes on disk and test accuracy on all 10,000 MNIST test images. Target: >= 3.9x smaller,
  within 0.5 points. Also the lesson curves: accuracy against weight bit width and against
  global magnitude sparsity (no fine-tune).
- ``cifar_int8``: milestone 05's CNN (``cifar_cnn.npz``), BatchNorm folded into the convs, then
  static INT8 (every Conv2d and the Linear, activation ranges calibrated on 4 training
  batches): file sizes and accuracy on the 1,017 test images of the CIFAR-10 subset. Target:
  >= 3.9x smaller, within 1 point.
- ``cifar_prune``: the same CNN, structured pruning of 40% of every conv's filters (L1 norm x
  BatchNorm scale; the next conv's inputs and the BatchNorms follow), which cuts conv FLOPs by
  64%; BatchNorm statistics refreshed on 10 training batches; a 6-epoch fine-tune on the
  labels (module 10's Trainer, one-cycle SGD, augmentation as milestone 05); accuracy after
  the last epoch, FLOPs, and the inference time of both models at batch 128 and batch 1,
  measured interleaved (float, pruned, float, ...) in one process, medians. Target: within 2
  points, >= 1.5x faster.
- ``distill``: MNIST, the 535,818-parameter MLP as teacher, a 784-32-10 student (25,450
  parameters, < 1/4): the same student, same initialisations, same batches, trained on the
  first 2,000 training images for 10 epochs on the labels alone and with Hinton's loss
  (T = 4, alpha = 0.9), three seeds each, at learning rates 0.05 and 0.01; each method's rate
  is chosen on 5,000 held-out training images. Target: the distilled students' mean test
  accuracy beats the plain ones'.
- ``tinygpt_int8``: milestone 07's character TinyGPT (``m07_tinygpt_char.npz``) and
  ``quantize_dynamic`` of every Linear (embeddings stay float), validation loss on the last
  10% of Tiny Shakespeare (every non-overlapping 64-character window). Target: within 0.02.

BLAS runs on one thread unless OPENBLAS_NUM_THREADS says otherwise (set before NumPy loads).
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from tinytorch.activations import ReLU  # noqa: E402
from tinytorch.autograd import no_grad  # noqa: E402
from tinytorch.compression import (  # noqa: E402
    DistillationTrainer,
    bit_width_curve,
    file_bytes,
    fuse_conv_bn,
    prune_channels,
    pruning_curve,
    quantize_dynamic,
    quantize_static,
    recalibrate_batchnorm,
    total_flops,
)
from tinytorch.dataloader import DataLoader, TensorDataset  # noqa: E402
from tinytorch.layers import Linear, Module  # noqa: E402
from tinytorch.networks import Sequential, load_pretrained  # noqa: E402
from tinytorch.optimizers import SGD, OneCycleLR  # noqa: E402
from tinytorch.spatial import BatchNorm2d, Conv2d, GlobalAvgPool2d, MaxPool2d  # noqa: E402
from tinytorch.tensor import Tensor  # noqa: E402
from tinytorch.training import CrossEntropyLoss, Trainer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if (ROOT.parent / "shared" / "data").is_dir():  # the workspace's copy, unless the user chose
    os.environ.setdefault("TINYTORCH_DATA", str(ROOT.parent / "shared" / "data"))
WEIGHTS = ROOT / "milestones" / "weights"
RESULTS = ROOT / "benchmarks" / "results" / "compression_targets.json"
SECTIONS = ("mnist_int8", "cifar_int8", "cifar_prune", "distill", "tinygpt_int8")


# --------------------------------------------------------------------- helpers
def accuracy(model: Module, x: np.ndarray, y: np.ndarray, batch: int = 256) -> float:
    """Top-1 accuracy in eval mode, without a graph."""
    model.eval()
    with no_grad():
        predictions = np.concatenate(
            [model(Tensor(x[i : i + batch])).data.argmax(1) for i in range(0, len(x), batch)]
        )
    return float((predictions == y).mean())


def disk_bytes(model: Module, folder: Path, name: str) -> int:
    return file_bytes(model, folder / name)


def interleaved_times(
    models: dict[str, Module], x: np.ndarray, repeats: int, calls: int
) -> dict[str, float]:
    """Median seconds per forward of each model on ``x``: samples taken in turns (A, B, A, B,
    ...) so that a busy machine slows both alike; each sample runs ``calls`` forwards."""
    samples: dict[str, list[float]] = {name: [] for name in models}
    inputs = Tensor(x)
    with no_grad():
        for model in models.values():  # warm-up
            model.eval()
            model(inputs)
        for _ in range(repeats):
            for name, model in models.items():
                start = time.perf_counter()
                for _ in range(calls):
                    model(inputs)
                samples[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def milestones() -> Any:
    """Milestones 03 and 05's builders and input preparation (imported read-only)."""
    sys.path.insert(0, str(ROOT / "milestones"))
    import m03_mnist_mlp
    import m05_cifar_cnn

    return m03_mnist_mlp, m05_cifar_cnn


def synthetic_images(n: int, shape: tuple[int, ...], classes: int, seed: int) -> Any:
    """Labelled stand-in data for --quick: class k is a mean shift along a fixed direction."""
    g = np.random.default_rng(seed)
    labels = g.integers(0, classes, n)
    directions = np.random.default_rng(99).normal(0, 1, (classes, *shape))
    x = g.normal(0, 1, (n, *shape)) + 1.5 * directions[labels]
    return x.astype(np.float32), labels.astype(np.int64)


def quick_train(model: Module, x: np.ndarray, y: np.ndarray, epochs: int = 3) -> Module:
    loader = DataLoader(TensorDataset(x, y), 32, shuffle=True, seed=0)
    Trainer(
        model, SGD(model.parameters(), lr=0.05, momentum=0.9), CrossEntropyLoss(), progress=False
    ).fit(loader, epochs)
    return model.eval()


# --------------------------------------------------------------------- data
def mnist_data(quick: bool) -> tuple[Any, ...]:
    if quick:
        x, y = synthetic_images(600, (784,), 10, 0)
        tx, ty = synthetic_images(300, (784,), 10, 1)
        return x, y, tx, ty, "synthetic stand-in (quick)"
    from tinytorch.dataloader import load_mnist

    m03, _ = milestones()
    train_x, train_y = load_mnist(train=True)
    test_x, test_y = load_mnist(train=False)
    return (
        m03.prepare(train_x),
        train_y,
        m03.prepare(test_x),
        test_y,
        f"MNIST ({len(train_x)} train / {len(test_x)} test)",
    )


def mnist_model(quick: bool, x: np.ndarray, y: np.ndarray) -> Module:
    if quick:
        g = np.random.default_rng(0)
        net = Sequential(Linear(784, 64, rng=g), ReLU(), Linear(64, 10, rng=g))
        return quick_train(net, x, y)
    m03, _ = milestones()
    return load_pretrained(m03.build_model(), WEIGHTS / "mnist_mlp.npz")


def cifar_data(quick: bool) -> tuple[Any, ...]:
    if quick:
        x, y = synthetic_images(256, (3, 16, 16), 10, 2)
        tx, ty = synthetic_images(128, (3, 16, 16), 10, 3)
        return x, y, tx, ty, "synthetic stand-in (quick)"
    from tinytorch.dataloader import CIFAR10_MEAN, CIFAR10_STD, Normalize, load_cifar10

    _, m05 = milestones()
    normalize = Normalize(CIFAR10_MEAN, CIFAR10_STD)
    train_x, train_y = load_cifar10(train=True)
    test_x, test_y = load_cifar10(train=False)
    return (
        m05.prepare(train_x),  # [0, 1]; the loaders normalise (and augment) per batch
        train_y,
        normalize(m05.prepare(test_x)),
        test_y,
        f"CIFAR-10 subset ({len(train_x)} train / {len(test_x)} test)",
    )


def cifar_model(quick: bool, x: np.ndarray, y: np.ndarray) -> Module:
    if quick:
        g = np.random.default_rng(1)
        net = Sequential(
            Conv2d(3, 8, 3, padding=1, bias=False, rng=g), BatchNorm2d(8), ReLU(), MaxPool2d(2),
            Conv2d(8, 16, 3, padding=1, bias=False, rng=g), BatchNorm2d(16), ReLU(),
            GlobalAvgPool2d(), Linear(16, 10, rng=g),
        )  # fmt: skip
        return quick_train(net, x, y, epochs=2)
    _, m05 = milestones()
    return load_pretrained(m05.build_model(), WEIGHTS / "cifar_cnn.npz")


# --------------------------------------------------------------------- sections
def mnist_int8(quick: bool, folder: Path) -> dict[str, Any]:
    x, y, tx, ty, source = mnist_data(quick)
    model = mnist_model(quick, x, y)
    quantized = quantize_dynamic(model)  # per-channel symmetric INT8 Linear weights
    float_bytes = disk_bytes(model, folder, "mnist_float.npz")
    int8_bytes = disk_bytes(quantized, folder, "mnist_int8.npz")
    float_acc, int8_acc = accuracy(model, tx, ty), accuracy(quantized, tx, ty)
    evaluate: Callable[[Module], float] = lambda m: accuracy(m, tx, ty)  # noqa: E731
    return {
        "data": source,
        "float_bytes": float_bytes,
        "int8_bytes": int8_bytes,
        "ratio": float_bytes / int8_bytes,
        "float_accuracy": float_acc,
        "int8_accuracy": int8_acc,
        "drop_points": 100 * (float_acc - int8_acc),
        "targets": {
            "ratio >= 3.9": float_bytes / int8_bytes >= 3.9,
            "drop <= 0.5 points": 100 * (float_acc - int8_acc) <= 0.5,
        },
        "bit_width_curve": bit_width_curve(model, evaluate, (16, 8, 6, 4, 3, 2)),
        "pruning_curve": pruning_curve(model, evaluate, (0.0, 0.5, 0.7, 0.8, 0.9, 0.95)),
    }


def cifar_int8(quick: bool, folder: Path) -> dict[str, Any]:
    x, y, tx, ty, source = cifar_data(quick)
    model = cifar_model(quick, x, y)
    if not quick:
        from tinytorch.dataloader import CIFAR10_MEAN, CIFAR10_STD, Normalize

        x = Normalize(CIFAR10_MEAN, CIFAR10_STD)(x)
    fused = fuse_conv_bn(model.eval())
    calibration = [x[i * 64 : (i + 1) * 64] for i in range(4)]
    quantized = quantize_static(fused, calibration, qconfig_spec={Linear, Conv2d})
    float_bytes = disk_bytes(model, folder, "cifar_float.npz")
    int8_bytes = disk_bytes(quantized, folder, "cifar_int8.npz")
    float_acc, fused_acc = accuracy(model, tx, ty), accuracy(fused, tx, ty)
    int8_acc = accuracy(quantized, tx, ty)
    return {
        "data": source,
        "float_bytes": float_bytes,
        "fused_float_bytes": disk_bytes(fused, folder, "cifar_fused.npz"),
        "int8_bytes": int8_bytes,
        "ratio": float_bytes / int8_bytes,
        "float_accuracy": float_acc,
        "fused_float_accuracy": fused_acc,
        "int8_accuracy": int8_acc,
        "drop_points": 100 * (float_acc - int8_acc),
        "targets": {
            "ratio >= 3.9": float_bytes / int8_bytes >= 3.9,
            "drop <= 1 point": 100 * (float_acc - int8_acc) <= 1.0,
        },
    }


def cifar_prune(
    quick: bool,
    folder: Path,
    amount: float = 0.4,
    epochs: int = 6,
    temperature: float = 4.0,
    alpha: float = 0.0,
    max_lr: float = 0.05,
) -> dict[str, Any]:
    """Prune ``amount`` of every conv's filters, refresh the BatchNorm statistics on 10
    training batches, then fine-tune ``epochs`` epochs (SGD Nesterov, one-cycle learning rate
    up to ``max_lr``, augmentation as milestone 05): on the labels (cross-entropy with label
    smoothing 0.1) when ``alpha`` is 0, else with the unpruned model as the teacher
    (`DistillationTrainer`, ``temperature``, ``alpha``). The test accuracy after each epoch is
    recorded (``curve``); the figure reported is the last epoch's, not the best."""
    x, y, tx, ty, source = cifar_data(quick)
    model = cifar_model(quick, x, y)
    shape = tuple(tx.shape[1:])
    pruned, plans = prune_channels(model.eval(), amount)
    before, after = total_flops(model, shape, Conv2d), total_flops(pruned, shape, Conv2d)
    pruned_before_tune = accuracy(pruned, tx, ty)
    start = time.perf_counter()
    plain_x = x
    if not quick:
        from tinytorch.dataloader import CIFAR10_MEAN, CIFAR10_STD, Normalize

        plain_x = Normalize(CIFAR10_MEAN, CIFAR10_STD)(x)
    batches = [plain_x[i : i + 128] for i in range(0, min(len(plain_x), 1280), 128)]
    recalibrate_batchnorm(pruned, [b for b in batches if len(b) > 1])
    recalibrated = accuracy(pruned, tx, ty)
    if quick:
        train = DataLoader(TensorDataset(x, y), 64, shuffle=True, seed=0)
        epochs = 1
    else:
        from tinytorch.dataloader import (
            CIFAR10_MEAN,
            CIFAR10_STD,
            Compose,
            Normalize,
            RandomCrop,
            RandomHorizontalFlip,
        )

        augment = Compose(
            [
                RandomCrop(32, padding=4, rng=1),
                RandomHorizontalFlip(rng=2),
                Normalize(CIFAR10_MEAN, CIFAR10_STD),
            ]
        )
        train = DataLoader(TensorDataset(x, y), 128, shuffle=True, seed=0, transform=augment)
    optimizer = SGD(pruned.parameters(), lr=max_lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    schedule = OneCycleLR(optimizer, max_lr=max_lr, total_steps=epochs * len(train))
    test = DataLoader(TensorDataset(tx, ty), 512)
    trainer: Trainer
    if alpha == 0.0:
        loss = CrossEntropyLoss(label_smoothing=0.1)
        trainer = Trainer(pruned, optimizer, loss, scheduler=schedule, progress=False)
        recipe = "labels only (cross-entropy, label smoothing 0.1)"
    else:
        trainer = DistillationTrainer(
            pruned, model, optimizer, temperature=temperature, alpha=alpha, scheduler=schedule,
            progress=False,
        )  # fmt: skip
        recipe = f"distilled from the unpruned model, T={temperature}, alpha={alpha}"
    history = trainer.fit(train, epochs, val_loader=test)
    curve = [float(r["val_accuracy"]) for r in history.records]
    tune_s = time.perf_counter() - start
    float_acc, pruned_acc = accuracy(model, tx, ty), accuracy(pruned, tx, ty)
    pair = {"float": model.eval(), "pruned": pruned.eval()}
    big = interleaved_times(pair, tx[:128], repeats=3 if quick else 7, calls=1)
    one = interleaved_times(pair, tx[:1], repeats=3 if quick else 7, calls=5 if quick else 20)
    return {
        "data": source,
        "amount_per_layer": amount,
        "channels": {str(p.index): int(p.keep.size) for p in plans},
        "conv_flops_float": before,
        "conv_flops_pruned": after,
        "conv_flops_cut": 1 - after / before,
        "params_float": model.num_parameters(),
        "params_pruned": pruned.num_parameters(),
        "float_bytes": disk_bytes(model, folder, "cifar_float.npz"),
        "pruned_bytes": disk_bytes(pruned, folder, "cifar_pruned.npz"),
        "float_accuracy": float_acc,
        "pruned_accuracy_before_finetune": pruned_before_tune,
        "pruned_accuracy_recalibrated": recalibrated,
        "finetune": f"{recipe}; one-cycle lr up to {max_lr}",
        "curve": curve,
        "pruned_accuracy": pruned_acc,
        "drop_points": 100 * (float_acc - pruned_acc),
        "finetune_epochs": epochs,
        "finetune_s": tune_s,
        "batch128_s": big,
        "batch1_s": one,
        "speedup_batch128": big["float"] / big["pruned"],
        "speedup_batch1": one["float"] / one["pruned"],
        "targets": {
            "conv FLOPs cut >= 50%": 1 - after / before >= 0.5,
            "drop <= 2 points": 100 * (float_acc - pruned_acc) <= 2.0,
            "speed-up >= 1.5x (batch 128)": big["float"] / big["pruned"] >= 1.5,
            "speed-up >= 1.5x (batch 1)": one["float"] / one["pruned"] >= 1.5,
        },
    }


def distill(
    quick: bool,
    folder: Path,
    rows: int = 2000,
    epochs: int = 10,
    seeds: tuple[int, ...] = (0, 1, 2),
    temperature: float = 4.0,
    alpha: float = 0.9,
    rates: tuple[float, ...] = (0.05, 0.01),
) -> dict[str, Any]:
    """Both students get the same budget and the same choice of learning rate: each method
    is trained at every rate in ``rates`` (every seed), its rate is chosen by the mean
    accuracy on 5,000 held-out *training* images (never seen in training), and the test
    accuracy at that rate is reported; the whole grid is in the JSON."""
    x, y, tx, ty, source = mnist_data(quick)
    teacher = mnist_model(quick, x, y)
    if quick:
        rows, epochs, seeds, rates = 300, 2, (0,), (0.05,)
    vx, vy = x[-5000:], y[-5000:]
    x, y = x[:rows], y[:rows]
    grid: dict[str, dict[str, list[dict[str, float]]]] = {"plain": {}, "distilled": {}}
    for method, weight in (("plain", 0.0), ("distilled", alpha)):
        for lr in rates:
            runs = []
            for seed in seeds:
                g = np.random.default_rng(seed)
                student = Sequential(Linear(784, 32, rng=g), ReLU(), Linear(32, 10, rng=g))
                loader = DataLoader(TensorDataset(x, y), 64, shuffle=True, seed=seed)
                optimizer = SGD(student.parameters(), lr=lr, momentum=0.9)
                DistillationTrainer(
                    student, teacher, optimizer, temperature=temperature, alpha=weight,
                    progress=False,
                ).fit(loader, epochs)  # fmt: skip
                runs.append(
                    {
                        "seed": seed,
                        "val": accuracy(student, vx, vy),
                        "test": accuracy(student, tx, ty),
                    }
                )
            grid[method][str(lr)] = runs
    chosen: dict[str, Any] = {}
    for method, by_rate in grid.items():
        lr = max(by_rate, key=lambda r: float(np.mean([run["val"] for run in by_rate[r]])))
        tests = [run["test"] for run in by_rate[lr]]
        chosen[method] = {"lr": float(lr), "test": tests, "mean": float(np.mean(tests))}
    plain, distilled = chosen["plain"], chosen["distilled"]
    student_params = 784 * 32 + 32 + 32 * 10 + 10
    return {
        "data": (
            f"{source}; students see the first {rows} training images for {epochs} epochs, "
            f"learning rate chosen on 5,000 held-out training images"
        ),
        "teacher_params": teacher.num_parameters(),
        "teacher_accuracy": accuracy(teacher, tx, ty),
        "student_params": student_params,
        "temperature": temperature,
        "alpha": alpha,
        "grid": grid,
        "plain": plain,
        "distilled": distilled,
        "plain_accuracy": plain["mean"],
        "distilled_accuracy": distilled["mean"],
        "gain_points": 100 * (distilled["mean"] - plain["mean"]),
        "targets": {
            "student <= 1/4 of teacher": student_params * 4 <= teacher.num_parameters(),
            "distilled beats plain (mean of seeds)": distilled["mean"] > plain["mean"],
        },
    }


def tinygpt_int8(quick: bool, folder: Path) -> dict[str, Any]:
    from tinytorch.generation import StridedWindows, lm_loss, load_language_model, split_text
    from tinytorch.transformers import TinyGPT

    if quick:
        model: Module = TinyGPT(20, 16, 2, 2, 32, rng=np.random.default_rng(0)).eval()
        ids = np.random.default_rng(1).integers(0, 20, 2000)
        block, source = 16, "random ids, untrained model (quick)"
    else:
        from tinytorch.setup import data_dir

        loaded = load_language_model(WEIGHTS / "m07_tinygpt_char.npz")
        model = loaded.model
        text = (data_dir() / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
        val_text = split_text(text)[1]
        ids = np.asarray(loaded.tokenizer.encode(val_text), dtype=np.int64)
        block = loaded.config.block_size
        source = f"Tiny Shakespeare validation split ({len(val_text):,} characters)"
    windows = StridedWindows(ids, block, batch_size=64)

    def val_loss(m: Module) -> float:
        m.eval()
        total = 0.0
        with no_grad():
            for xb, yb in windows:
                total += lm_loss(m(xb), yb).item() * yb.numel()
        return total / windows.tokens_covered

    quantized = quantize_dynamic(model)
    start = time.perf_counter()
    float_loss = val_loss(model)
    float_s = time.perf_counter() - start
    start = time.perf_counter()
    int8_loss = val_loss(quantized)
    int8_s = time.perf_counter() - start
    return {
        "data": source,
        "tokens": windows.tokens_covered,
        "float_loss": float_loss,
        "int8_loss": int8_loss,
        "difference": int8_loss - float_loss,
        "float_bytes": disk_bytes(model, folder, "gpt_float.npz"),
        "int8_bytes": disk_bytes(quantized, folder, "gpt_int8.npz"),
        "float_eval_s": float_s,
        "int8_eval_s": int8_s,
        "targets": {"|int8 - float| <= 0.02": abs(int8_loss - float_loss) <= 0.02},
    }


RUNNERS: dict[str, Callable[[bool, Path], dict[str, Any]]] = {
    "mnist_int8": mnist_int8,
    "cifar_int8": cifar_int8,
    "cifar_prune": cifar_prune,
    "distill": distill,
    "tinygpt_int8": tinygpt_int8,
}


def headline(name: str, r: dict[str, Any]) -> str:
    if name in ("mnist_int8", "cifar_int8"):
        return (
            f"{r['float_bytes']:,} -> {r['int8_bytes']:,} bytes ({r['ratio']:.2f}x); accuracy "
            f"{r['float_accuracy']:.2%} -> {r['int8_accuracy']:.2%} "
            f"({r['drop_points']:+.2f} pts drop)"
        )
    if name == "cifar_prune":
        return (
            f"conv FLOPs -{r['conv_flops_cut']:.0%}; accuracy {r['float_accuracy']:.2%} -> "
            f"{r['pruned_accuracy']:.2%} after {r['finetune_epochs']} epochs; speed-up "
            f"{r['speedup_batch128']:.2f}x (batch 128), {r['speedup_batch1']:.2f}x (batch 1)"
        )
    if name == "distill":
        return (
            f"student {r['student_params']:,} params: plain {r['plain_accuracy']:.2%}, "
            f"distilled {r['distilled_accuracy']:.2%} ({r['gain_points']:+.2f} pts)"
        )
    return (
        f"val loss {r['float_loss']:.4f} float, {r['int8_loss']:.4f} int8 "
        f"({r['difference']:+.4f}); {r['float_bytes']:,} -> {r['int8_bytes']:,} bytes"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="tiny synthetic models and data")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run these sections")
    parser.add_argument("--json", type=Path, help="where to write the figures")
    args = parser.parse_args(argv)
    sections = args.only or list(SECTIONS)
    report: dict[str, Any] = {
        "quick": args.quick,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "sections": {},
    }
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        for name in sections:
            start = time.perf_counter()
            result = RUNNERS[name](args.quick, folder)
            result["wall_s"] = time.perf_counter() - start
            report["sections"][name] = result
            verdict = "ok" if all(result["targets"].values()) else "MISSED"
            if args.quick:
                verdict = "smoke"
            print(f"{name:13s} {verdict:6s} {headline(name, result)}  [{result['wall_s']:.0f} s]")
            failed = [k for k, v in result["targets"].items() if not v]
            if failed and not args.quick:
                print(f"{'':13s} missed: {', '.join(failed)}")
    path = args.json or (None if args.quick else RESULTS)
    if path is not None:
        previous = json.loads(path.read_text()) if path.is_file() and args.only else {}
        if previous.get("sections"):
            previous["sections"].update(report["sections"])
            report["sections"] = previous["sections"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, default=float) + "\n")
        print(f"wrote {path}")
    return report


if __name__ == "__main__":
    main()
