"""One training step of TinyGPT at module 15's Tiny Shakespeare size: 4 layers, 4 heads, 128
features, block 64, batch 32, vocabulary 65 (characters); AdamW (lr 1e-3, weight decay 0.1 on
the Linear weights, `tinytorch.transformers.param_groups`). A step is ``zero_grad``, forward
with the loss (``model(idx, targets)``), ``backward``, ``step``.

PyTorch runs a twin built from torch.nn modules (nanoGPT's model: ``nn.Embedding``,
``nn.LayerNorm``, ``nn.Linear``, ``F.scaled_dot_product_attention(is_causal=True)``, exact
``nn.GELU``, tied head, ``F.cross_entropy(ignore_index=-1)``) that loads TinyGPT's weights.
Before timing, fresh float64 twins take 3 steps side by side and the note reports how far
their losses and weights drift apart.

FLOPs: the matmuls of a training step, 3x the forward's 2 * (12 L C^2 + C V) + 4 L T C per
token (`tinytorch.transformers.gpt_flops_per_token`).

Then profiled steps say where each side's time goes (`op_profile`), with labels shared by both
sides: TinyTorch's fused ops (one Op each for embedding + positions, LayerNorm, the QKV and
output projections, attention, the whole MLP block, the loss) against PyTorch's top-level
events. PyTorch's Linear and GELU events cannot be told apart by block, so both sides' linear
layers and the MLP block share one label, "linear + gelu".
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from cases.kernels_on import interleaved, kernels_module, with_kernels
from harness import SETTLE_S, Bench, Report, TextTable
from op_profile import (
    ENGINE_EVENT,
    KernelClock,
    OpProfile,
    PhaseClock,
    breakdown,
    median_breakdown,
)
from tinytorch.optimizers import AdamW
from tinytorch.setup import format_seconds
from tinytorch.transformers import TinyGPT, gpt_flops_per_token, param_groups

TITLE = "TinyGPT training step (4 layers, 4 heads, 128 features, block 64), batch 32"
CONFIG = {"vocab_size": 65, "block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128}
QUICK_CONFIG = {"vocab_size": 65, "block_size": 32, "n_layer": 2, "n_head": 4, "n_embd": 64}
BATCH, QUICK_BATCH = 32, 8
LR, WEIGHT_DECAY = 1e-3, 0.1
PROFILED_STEPS, QUICK_PROFILED_STEPS = 5, 1
SAMPLES = 15

# op names -> labels shared by both sides; anything else is its phase's rest
TINYTORCH_LABELS = {
    "embedding": "embedding + positions",
    "add_positions": "embedding + positions",
    "layer_norm": "layer_norm",
    "linearop": "linear + gelu",
    "mlp": "linear + gelu",
    "self_attention": "attention",
    "add": "residual add",
    "cross_entropy": "cross entropy",
}
TORCH_LABELS = {
    "aten::embedding": "embedding + positions",
    "EmbeddingBackward0": "embedding + positions",
    "aten::arange": "embedding + positions",
    "aten::layer_norm": "layer_norm",
    "NativeLayerNormBackward0": "layer_norm",
    "aten::linear": "linear + gelu",
    "aten::gelu": "linear + gelu",
    "AddmmBackward0": "linear + gelu",
    "MmBackward0": "linear + gelu",
    "TBackward0": "linear + gelu",
    "GeluBackward0": "linear + gelu",
    "aten::scaled_dot_product_attention": "attention",
    "ScaledDotProductFlashAttentionForCpuBackward0": "attention",
    "aten::add": "residual add",
    "AddBackward0": "residual add",
    "aten::cross_entropy_loss": "cross entropy",
    "LogSoftmaxBackward0": "cross entropy",
    "NllLossBackward0": "cross entropy",
    **dict.fromkeys(
        (
            "aten::split",
            "aten::view",
            "aten::transpose",
            "aten::contiguous",
            "SplitBackward0",
            "TransposeBackward0",
            "ViewBackward0",
            "UnsafeViewBackward0",
        ),
        "split/merge heads (views)",
    ),
}


def torch_twin(torch: Any, model: TinyGPT) -> Any:
    """nanoGPT's GPT from torch.nn modules, with TinyGPT's parameter names and weights."""
    nn, F = torch.nn, torch.nn.functional
    c, h = model.n_embd, model.n_head

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(c), nn.LayerNorm(c)
            self.attn = nn.Module()
            self.attn.c_attn, self.attn.c_proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
            self.mlp = nn.Module()
            self.mlp.c_fc, self.mlp.c_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)
            self.gelu = nn.GELU()

        def forward(self, x: Any) -> Any:
            b, t, _ = x.shape
            q, k, v = self.attn.c_attn(self.ln_1(x)).split(c, dim=2)
            q, k, v = (z.view(b, t, h, c // h).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))
            return x + self.mlp.c_proj(self.gelu(self.mlp.c_fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(model.vocab_size, c)
            self.wpe = nn.Embedding(model.block_size, c)
            self.h = nn.ModuleList(Block() for _ in range(model.n_layer))
            self.ln_f = nn.LayerNorm(c)
            self.lm_head = nn.Linear(c, model.vocab_size, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx: Any, targets: Any) -> Any:
            pos = torch.arange(idx.shape[1])
            x = self.wte(idx) + self.wpe(pos)
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            flat = logits.view(-1, logits.size(-1))
            return logits, F.cross_entropy(flat, targets.view(-1), ignore_index=-1)

    state = model.state_dict()
    twin = GPT().to(torch.from_numpy(state["wte.weight"]).dtype)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    return twin.train()


def make_pair(torch: Any, config: dict[str, int], dtype: Any = np.float32) -> tuple[Any, ...]:
    """(model, optimizer) in TinyTorch and, with torch, the twin and its optimizer: same
    weights, same parameter groups (decay on the Linear weights only)."""
    model = TinyGPT(**config, rng=np.random.default_rng(0))
    if dtype is not np.float32:
        for param in model.parameters():
            param.data = param.data.astype(dtype)
    groups = param_groups(model, WEIGHT_DECAY)
    optimizer = AdamW(groups, lr=LR)
    if torch is None:
        return model, optimizer, None, None
    twin = torch_twin(torch, model)
    names = {id(p): name for name, p in model.named_parameters()}
    theirs = dict(twin.named_parameters())
    twin_groups = [
        {
            "params": [theirs[names[id(p)]] for p in group["params"]],
            "weight_decay": group["weight_decay"],
        }
        for group in groups
    ]
    return model, optimizer, twin, torch.optim.AdamW(twin_groups, lr=LR)


def make_steps(torch: Any, pair: tuple[Any, ...], idx: np.ndarray, targets: np.ndarray) -> tuple:
    """``tinytorch_step(clock)`` and ``torch_step(clock)``: one training step each, returning
    the loss; each phase timed by the clock."""
    model, optimizer, twin, twin_optimizer = pair
    quiet = PhaseClock()

    def tinytorch_step(clock: PhaseClock = quiet) -> float:
        return clock.training_step(optimizer, lambda: model(idx, targets)[1])

    if torch is None:
        return tinytorch_step, None
    tidx, ttargets = torch.from_numpy(idx), torch.from_numpy(targets)

    def torch_step(clock: PhaseClock = quiet) -> float:
        return clock.training_step(twin_optimizer, lambda: twin(tidx, ttargets)[1])

    return tinytorch_step, torch_step


def agreement(
    torch: Any, config: dict[str, int], idx: np.ndarray, targets: np.ndarray, steps: int = 3
) -> dict[str, Any]:
    """The first step's losses in float32, and, for float64 twins, the losses of ``steps``
    steps and the largest weight difference afterwards (relative to the weight's size)."""
    single = make_steps(torch, make_pair(torch, config), idx, targets)
    first = (single[0](), single[1]())
    pair = make_pair(torch, config, np.float64)
    tinytorch_step, torch_step = make_steps(torch, pair, idx, targets)
    losses = [(tinytorch_step(), torch_step()) for _ in range(steps)]
    theirs = dict(pair[2].named_parameters())
    gap = max(
        float(
            np.abs(p.data - theirs[name].detach().numpy()).max()
            / np.abs(theirs[name].detach().numpy()).max()
        )
        for name, p in pair[0].named_parameters()
    )
    return {
        "first_step_loss_float32": first,
        "losses_float64": losses,
        "relative_weight_gap_float64": gap,
        "steps": steps,
    }


class GPTProfile(OpProfile):
    """`OpProfile` with this case's labels."""

    def _add(self, op: Any, start: float) -> None:
        key = (self.clock.current, TINYTORCH_LABELS.get(op.name, op.name))
        self.seconds[key] += time.perf_counter() - start
        self.calls[key] += 1


def torch_op_seconds(profiler: Any) -> tuple[dict, dict]:
    """Seconds and calls per (phase, label) of PyTorch's top-level events (`op_profile`'s
    rule, with this case's labels)."""
    seconds: dict[tuple[str, str], float] = {}
    calls: dict[tuple[str, str], int] = {}
    for event in profiler.events():
        if event.cpu_parent is not None:
            continue
        name, phase = event.name, "forward"
        if name.startswith(ENGINE_EVENT):
            name, phase = name[len(ENGINE_EVENT) :], "backward"
        label = TORCH_LABELS.get(name)
        if label is not None:
            key = (phase, label)
            seconds[key] = seconds.get(key, 0.0) + event.cpu_time_total / 1e6
            calls[key] = calls.get(key, 0) + 1
    return seconds, calls


Profile = tuple[list[dict[str, Any]], dict[str, float]]


def medians(profiles: list[Profile]) -> Profile:
    kernel = {
        key: statistics.median(k[key] for _, k in profiles) for key in ("seconds", "page_faults")
    }
    return median_breakdown([entries for entries, _ in profiles]), kernel


def profile_tinytorch(step: Any, steps: int) -> Profile:
    time.sleep(SETTLE_S)
    step()
    profiles = []
    for _ in range(steps):
        clock = PhaseClock()
        with GPTProfile(clock) as ops, KernelClock() as kernel:
            step(clock)
        profiles.append((breakdown(clock.seconds, ops.seconds, ops.calls, 1), kernel.per_step(1)))
    return medians(profiles)


def profile_torch(torch: Any, step: Any, steps: int) -> Profile:
    time.sleep(SETTLE_S)
    step()
    profiles = []
    for _ in range(steps):
        clock = PhaseClock()
        with (
            torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler,
            KernelClock() as kernel,
        ):
            step(clock)
        seconds, calls = torch_op_seconds(profiler)
        profiles.append((breakdown(clock.seconds, seconds, calls, 1), kernel.per_step(1)))
    return medians(profiles)


def breakdown_table(profiles: list[Profile]) -> TextTable:
    """One row per (phase, part) on either side: time per step, share, calls, and TT/PT."""
    by_key = [{(e["phase"], e["part"]): e for e in entries} for entries, _ in profiles]
    totals = [sum(e["seconds"] for e in entries) for entries, _ in profiles]
    keys = list(by_key[0])
    for key in by_key[-1]:
        if key not in keys:
            phase_end = max(i for i, k in enumerate(keys) if k[0] == key[0])
            keys.insert(phase_end, key)
    columns = ["phase", "part", "TinyTorch / step", "share", "calls"]
    if len(profiles) > 1:
        columns += ["PyTorch / step", "share", "calls", "TT/PT"]
    rows = []
    for key in [*keys, ("total", "(sum of the above)")]:
        row = list(key)
        pair = []
        for entries, total in zip(by_key, totals, strict=True):
            entry = {"seconds": total, "calls": None} if key[0] == "total" else entries.get(key)
            pair.append(entry["seconds"] if entry else None)
            if entry is None:
                row += ["-", "", ""]
                continue
            row += [
                format_seconds(entry["seconds"]),
                f"{entry['seconds'] / total:.1%}",
                f"{entry['calls']:g}" if entry["calls"] else "",
            ]
        if len(profiles) > 1:
            ok = None not in pair and pair[1] > 0
            row.append(f"{pair[0] / pair[1]:.2f}x" if ok else "")
        rows.append(row)
    row = ["of which", "in the kernel (page faults)"]
    for (_, kernel), total in zip(profiles, totals, strict=True):
        row += [
            format_seconds(kernel["seconds"]),
            f"{kernel['seconds'] / total:.1%}",
            f"{kernel['page_faults']:,.0f} faults",
        ]
    if len(profiles) > 1:
        row.append("")
    rows.append(row)
    return TextTable(
        "tinygpt_step: where one step's time goes (median of profiled steps)", columns, rows, 2
    )


def run(bench: Bench) -> Report:
    config = QUICK_CONFIG if bench.quick else CONFIG
    batch = QUICK_BATCH if bench.quick else BATCH
    rng = np.random.default_rng(0)
    idx = rng.integers(0, config["vocab_size"], (batch, config["block_size"]))
    targets = np.roll(idx, -1, axis=1)
    torch = bench.torch
    pair = make_pair(torch, config)
    tinytorch_step, torch_step = make_steps(torch, pair, idx, targets)
    per_token = gpt_flops_per_token(
        config["n_layer"], config["n_embd"], config["block_size"], config["vocab_size"]
    )
    flops = per_token["training"] * batch * config["block_size"]
    summary: dict[str, Any] = {"config": config, "batch": batch, "step_flops": flops}
    note = "PyTorch absent: no agreement check"
    if torch is not None:
        check = agreement(torch, config, idx, targets)
        ours, theirs = check["first_step_loss_float32"]
        gap64 = max(abs(a - b) for a, b in check["losses_float64"])
        summary["agreement"] = check
        note = (
            f"same model: step 1 loss {ours:.6f} vs {theirs:.6f} (|Δ| {abs(ours - theirs):.1e}); "
            f"float64 twins over {check['steps']} steps: |Δloss| <= {gap64:.0e}, "
            f"|Δw|/|w| <= {check['relative_weight_gap_float64']:.0e}"
        )
    label = f"step, batch {batch} x {config['block_size']} tokens"
    row = bench.compare(label, tinytorch_step, torch_step, flops=flops, note=note, repeats=SAMPLES)
    summary["ratio"] = row.ratio
    rows = [row]
    kernels = kernels_module()
    if kernels is not None:  # module 17's kernels on an identical fresh model
        fast_step = with_kernels(
            kernels, make_steps(None, make_pair(None, config), idx, targets)[0]
        )
        with kernels.using("fast"):
            on = kernels.describe()
        rows.append(
            bench.compare(
                f"{label}, kernels on",
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
        summary["interleaved"] = {"median_s": medians_s}
        for name in ("reference", "kernels"):
            if torch is not None:
                summary["interleaved"][f"{name}_vs_pytorch"] = (
                    medians_s[name] / medians_s["pytorch"]
                )
    steps = QUICK_PROFILED_STEPS if bench.quick else PROFILED_STEPS
    profiles = [profile_tinytorch(tinytorch_step, steps)]
    if torch is not None:
        profiles.append(profile_torch(torch, torch_step, steps))
    summary["breakdown"] = {
        side: {"parts": entries, "kernel": kernel}
        for side, (entries, kernel) in zip(("tinytorch", "pytorch"), profiles, strict=False)
    }
    summary["uniform_loss"] = math.log(config["vocab_size"])
    return Report(rows, summary, [breakdown_table(profiles)])
