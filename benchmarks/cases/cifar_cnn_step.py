"""One training step of the CIFAR-10 CNN of milestone 05, batch 128 of 3x32x32 images.

The model is ``build_model()`` from ``milestones/m05_cifar_cnn.py`` itself: six 3x3 convs
(32, 32 | 64, 64 | 128, 128 channels, no bias), each followed by BatchNorm2d and ReLU, a 2x2
max-pool after each pair, global average pooling, Linear(128, 10). The loss is cross entropy
with label smoothing 0.1, the optimizer SGD with Nesterov momentum 0.9 and weight decay 5e-4
(the milestone's). A step is ``zero_grad``, forward, ``backward``, ``step``, BatchNorm in
training mode (batch statistics, running statistics updated).

PyTorch runs a twin built layer by layer from the TinyTorch model (`torch_twin`) with its
state (weights and BatchNorm buffers) copied; before timing, fresh twins take 3 steps side by
side on one batch and the note reports how far the first step's losses, the third step's and
the weights drift apart (float32 round-off).

FLOPs count the convolutions and the linear layer: forward, then the weight gradients, then
the input gradients of every layer but the first (the images need none). BatchNorm, ReLU and
pooling (a few FLOPs per element) are not counted.

With module 17 installed, a second row times the same step with its kernels on (``fuse`` for
BatchNorm+ReLU, ``using("fast")`` for conv and max-pool) on an identical fresh model, and the
summary's ``interleaved`` gives the three medians (reference, kernels, PyTorch) of steps timed
in turn, A, B, C, A, ..., with their ratios: steadier than two sides timed one after the other.

Then 5 profiled steps per side say where the time goes (see `op_profile`): TinyTorch's time in
each Op's forward and backward (its derivative), PyTorch's in each top-level op of its
profiler; each part's median over the steps, and their sum as the total.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from cases.kernels_on import interleaved, kernels_module, with_kernels
from harness import SETTLE_S, Bench, Report, TextTable
from op_profile import (
    KernelClock,
    OpProfile,
    PhaseClock,
    breakdown,
    median_breakdown,
    torch_op_seconds,
)
from tinytorch.optimizers import SGD
from tinytorch.setup import format_seconds
from tinytorch.tensor import Tensor
from tinytorch.training import CrossEntropyLoss

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "milestones"))
from m05_cifar_cnn import build_model  # the milestone's model, exactly

TITLE = "CIFAR CNN training step (milestone 05's model), batch 128"
BATCH, QUICK_BATCH, IMAGE = 128, 16, (3, 32, 32)
LR, MOMENTUM, WEIGHT_DECAY, LABEL_SMOOTHING = 0.05, 0.9, 5e-4, 0.1
PROFILED_STEPS, QUICK_PROFILED_STEPS = 5, 1
# A step's time varies with how fast the kernel hands out fresh memory (TinyTorch spent 20 to
# 130 ms of a step in the kernel, run to run): 15 samples instead of 7 steady the median.
SAMPLES = 15


def torch_twin(torch: Any, model: Any) -> Any:
    """A PyTorch ``nn.Sequential`` with the same layers in the same order, and the same state."""
    nn = torch.nn

    class GlobalAvgPool2d(nn.Module):
        def forward(self, x: Any) -> Any:
            return x.mean(dim=(2, 3))

    def translate(layer: Any) -> Any:
        kind = type(layer).__name__
        if kind == "Conv2d":
            return nn.Conv2d(
                layer.in_channels,
                layer.out_channels,
                layer.kernel_size,
                layer.stride,
                layer.padding,
                layer.dilation,
                layer.groups,
                bias=layer.bias is not None,
            )
        if kind == "BatchNorm2d":
            return nn.BatchNorm2d(
                layer.num_features,
                layer.eps,
                layer.momentum,
                layer.affine,
                layer.track_running_stats,
                bias=layer.bias is not None,
            )
        if kind == "MaxPool2d":
            return nn.MaxPool2d(
                layer.kernel_size,
                layer.stride,
                layer.padding,
                layer.dilation,
                ceil_mode=layer.ceil_mode,
            )
        if kind == "Linear":
            return nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
        if kind == "ReLU":
            return nn.ReLU()
        if kind == "GlobalAvgPool2d":
            return GlobalAvgPool2d()
        raise TypeError(f"cifar_cnn_step: no PyTorch twin for layer {kind}; add it to torch_twin")

    state = model.state_dict()
    twin = nn.Sequential(*(translate(layer) for layer in model))
    twin.to(torch.from_numpy(state["0.weight"]).dtype)  # float32, or float64 for the check
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return twin.train()


def step_flops(model: Any, batch: int) -> float:
    """Conv and linear FLOPs of one step: 3x the forward, less the first layer's input grad."""
    height, width = IMAGE[1:]
    total, first = 0.0, True
    for layer in model:
        kind = type(layer).__name__
        if kind == "Conv2d":
            (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
            height, width = (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
            fan_in = layer.in_channels // layer.groups * kh * kw
            forward = 2.0 * batch * layer.out_channels * height * width * fan_in
        elif kind == "MaxPool2d":
            height, width = height // layer.stride[0], width // layer.stride[1]
            continue
        elif kind == "Linear":
            forward = 2.0 * batch * layer.in_features * layer.out_features
        else:
            continue
        total += forward * (2 if first else 3)
        first = False
    return total


def make_pair(torch: Any, seed: int, dtype: type = np.float32) -> tuple[Any, ...]:
    """(model, optimizer, loss) in TinyTorch and, when torch is given, the PyTorch twins;
    float64 models for the agreement check (parameters and BatchNorm statistics converted)."""
    model = build_model(seed)
    if dtype is not np.float32:
        for _, tensor in [*model.named_parameters(), *model.named_buffers()]:
            if tensor.dtype == np.float32:
                tensor.data = tensor.data.astype(dtype)
    optimizer = SGD(
        model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY, nesterov=True
    )
    loss = CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
    if torch is None:
        return model, optimizer, loss, None, None, None
    twin = torch_twin(torch, model)
    twin_optimizer = torch.optim.SGD(
        twin.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY, nesterov=True
    )
    twin_loss = torch.nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
    return model, optimizer, loss, twin, twin_optimizer, twin_loss


def make_steps(torch: Any, pair: tuple[Any, ...], x: np.ndarray, labels: np.ndarray) -> tuple:
    """``tinytorch_step(clock=None)`` and ``torch_step(clock=None)``: one training step, each
    returning its loss; with a `PhaseClock`, each phase is timed."""
    model, optimizer, loss_fn, twin, twin_optimizer, twin_loss_fn = pair
    quiet = PhaseClock()

    def tinytorch_step(clock: PhaseClock = quiet) -> float:
        return clock.training_step(
            optimizer, lambda: loss_fn(model(Tensor(x, dtype=x.dtype)), labels)
        )

    if torch is None:
        return tinytorch_step, None
    tx, tlabels = torch.from_numpy(x), torch.from_numpy(labels)

    def torch_step(clock: PhaseClock = quiet) -> float:
        return clock.training_step(twin_optimizer, lambda: twin_loss_fn(twin(tx), tlabels))

    return tinytorch_step, torch_step


def agreement(torch: Any, x: np.ndarray, labels: np.ndarray, steps: int = 3) -> dict[str, Any]:
    """Fresh twins train side by side: the first step's losses in float32, and in float64 the
    losses and the largest weight difference (relative to the weight's size) after ``steps``.

    In float32 the twins drift apart by more than round-off suggests (the first conv's weight
    gradient by ~0.3% at step 1, ~20% at step 3): BatchNorm's backward subtracts nearly equal
    sums over 131,072 values per channel, and each library sums in its own order. In float64
    the same steps agree to ~1e-14, so the two compute the same function.
    """
    single = make_steps(torch, make_pair(torch, seed=1), x, labels)
    first = (single[0](), single[1]())
    pair = make_pair(torch, seed=1, dtype=np.float64)
    tinytorch_step, torch_step = make_steps(torch, pair, x.astype(np.float64), labels)
    losses = [(tinytorch_step(), torch_step()) for _ in range(steps)]
    model, twin = pair[0], pair[3]
    theirs = twin.state_dict()
    weight_gap = max(
        float(np.abs(value - theirs[name].numpy()).max() / np.abs(theirs[name].numpy()).max())
        for name, value in model.state_dict().items()
        if value.dtype == np.float64
    )
    return {
        "first_step_loss_float32": first,
        "losses_float64": losses,
        "relative_weight_gap_float64": weight_gap,
        "steps": steps,
    }


Profile = tuple[list[dict[str, Any]], dict[str, float]]  # breakdown entries, kernel time


def settle(step: Any) -> None:
    """As `Bench.time` does: a pause (the other library's idle threads stop spinning), then an
    unprofiled warm-up step."""
    time.sleep(SETTLE_S)
    step()


def medians(profiles: list[Profile]) -> Profile:
    """Each part's and the kernel's median over one-step profiles (see `median_breakdown`)."""
    kernel = {
        key: statistics.median(k[key] for _, k in profiles) for key in ("seconds", "page_faults")
    }
    return median_breakdown([entries for entries, _ in profiles]), kernel


def profile_tinytorch(step: Any, steps: int) -> Profile:
    """Where TinyTorch's time goes: ``steps`` steps, each under its own `OpProfile`."""
    settle(step)
    profiles = []
    for _ in range(steps):
        clock = PhaseClock()
        with OpProfile(clock) as ops, KernelClock() as kernel:
            step(clock)
        profiles.append((breakdown(clock.seconds, ops.seconds, ops.calls, 1), kernel.per_step(1)))
    return medians(profiles)


def profile_torch(torch: Any, step: Any, steps: int) -> Profile:
    """Where PyTorch's time goes: ``steps`` steps, each under its own ``torch.profiler``."""
    settle(step)
    activities = [torch.profiler.ProfilerActivity.CPU]
    profiles = []
    for _ in range(steps):
        clock = PhaseClock()
        with torch.profiler.profile(activities=activities) as profiler, KernelClock() as kernel:
            step(clock)
        seconds, calls = torch_op_seconds(profiler)
        profiles.append((breakdown(clock.seconds, seconds, calls, 1), kernel.per_step(1)))
    return medians(profiles)


def breakdown_table(profiles: list[Profile]) -> TextTable:
    """One row per (phase, part) of either side, in phase order: time per step and share of
    the step on each side, and the ratio; then the total and the kernel's part of it."""
    sides = [entries for entries, _ in profiles]
    theirs = sides[1] if len(sides) > 1 else None
    totals = [sum(entry["seconds"] for entry in side) for side in sides]
    by_key = [{(e["phase"], e["part"]): e for e in side} for side in sides]
    keys = list(by_key[0])
    for key in by_key[-1]:
        if key not in keys:  # a part only PyTorch has goes before its phase's rest
            phase_end = max(i for i, k in enumerate(keys) if k[0] == key[0])
            keys.insert(phase_end, key)
    columns = ["phase", "part", "TinyTorch / step", "share", "calls"]
    if theirs is not None:
        columns += ["PyTorch / step", "share", "calls", "TT/PT"]
    rows = []
    for key in [*keys, ("total", "(sum of the above)")]:
        row = list(key)
        for entries, total in zip(by_key, totals, strict=True):
            entry = entries.get(key)
            if key[0] == "total":
                entry = {"seconds": total, "calls": None}
            if entry is None:
                row += ["-", "", ""]
                continue
            calls = entry["calls"]
            row += [
                format_seconds(entry["seconds"]),
                f"{entry['seconds'] / total:.1%}",
                f"{calls:g}" if calls else "",
            ]
        if theirs is not None:
            pair = [entries.get(key, {}).get("seconds") for entries in by_key]
            if key[0] == "total":
                pair = totals
            ratio = pair[0] / pair[1] if None not in pair and pair[1] > 0 else None
            row.append(f"{ratio:.2f}x" if ratio is not None else "")
        rows.append(row)
    row = ["of which", "in the kernel (page faults)"]
    for (_, kernel), total in zip(profiles, totals, strict=True):
        faults = f"{kernel['page_faults']:,.0f} faults"
        row += [format_seconds(kernel["seconds"]), f"{kernel['seconds'] / total:.1%}", faults]
    if theirs is not None:
        row.append(f"{profiles[0][1]['seconds'] / max(profiles[1][1]['seconds'], 1e-9):.2f}x")
    rows.append(row)
    title = "cifar_cnn_step: where one step's time goes (median of profiled steps)"
    return TextTable(title, columns, rows, 2)


def run(bench: Bench) -> Report:
    batch = QUICK_BATCH if bench.quick else BATCH
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *IMAGE), dtype=np.float32)
    labels = rng.integers(0, 10, batch)
    torch = bench.torch
    pair = make_pair(torch, seed=0)
    tinytorch_step, torch_step = make_steps(torch, pair, x, labels)
    flops = step_flops(pair[0], batch)
    summary: dict[str, Any] = {"batch": batch, "step_flops": flops}
    note = "PyTorch absent: no agreement check"
    if torch is not None:
        check = agreement(torch, x, labels)
        ours, theirs = check["first_step_loss_float32"]
        gap64 = abs(check["losses_float64"][-1][0] - check["losses_float64"][-1][1])
        summary["agreement"] = check
        note = (
            f"same model: step 1 loss {ours:.6f} vs {theirs:.6f} (|Δ| {abs(ours - theirs):.1e}); "
            f"float64 twins after {check['steps']} steps: |Δloss| {gap64:.0e}, "
            f"|Δw|/|w| ≤ {check['relative_weight_gap_float64']:.0e}"
        )
    row = bench.compare(
        f"step, batch {batch}", tinytorch_step, torch_step, flops=flops, note=note, repeats=SAMPLES
    )
    rows = [row]
    kernels = kernels_module()
    if kernels is not None:
        fast_pair = make_pair(None, seed=0)  # a fresh, identical model and optimizer
        kernels.fuse(fast_pair[0])  # shares the parameters: the optimizer needs no change
        fast_step = with_kernels(kernels, make_steps(None, fast_pair, x, labels)[0])
        with kernels.using("fast"):
            on = kernels.describe()
        rows.append(
            bench.compare(
                f"step, batch {batch}, kernels on",
                fast_step,
                torch_step,
                flops=flops,
                note=on,
                repeats=SAMPLES,
            )
        )
        sides = {"reference": tinytorch_step, "kernels": fast_step}
        if torch is not None:
            sides["pytorch"] = torch_step
        medians_s = interleaved(sides, 3 if bench.quick else 9)
        summary["kernels"] = on
        summary["interleaved"] = {
            "median_s": medians_s,
            "kernels_speedup": medians_s["reference"] / medians_s["kernels"],
            **(
                {
                    "reference_vs_pytorch": medians_s["reference"] / medians_s["pytorch"],
                    "kernels_vs_pytorch": medians_s["kernels"] / medians_s["pytorch"],
                }
                if torch is not None
                else {}
            ),
        }

    steps = QUICK_PROFILED_STEPS if bench.quick else PROFILED_STEPS
    profiles = [profile_tinytorch(tinytorch_step, steps)]
    if torch is not None:
        profiles.append(profile_torch(torch, torch_step, steps))
    summary["breakdown"] = {
        "steps": steps,
        **{
            side: {"parts": entries, "kernel": kernel}
            for side, (entries, kernel) in zip(("tinytorch", "pytorch"), profiles, strict=False)
        },
    }
    return Report(rows, summary, [breakdown_table(profiles)])
