"""Generation with and without the KV cache (module 19): TinyTorch's TinyGPT beside a PyTorch
twin with its own preallocated cache, greedy, batch 1.

Sizes: nanoGPT's Shakespeare model (6 layers, 6 heads, 384 features, block 256, vocabulary 65,
random weights: timing only) continuing a 32-token prompt by 224 tokens, to the block size;
then milestone 07's trained character model (4 layers, 4 heads, 128 features, block 64,
``milestones/weights/m07_tinygpt_char.npz``) continuing a 16-character prompt by 48.

TinyTorch's cached path is ``generate(model, idx, n, temperature=0)`` (the cache is the
default): one forward over the prompt (the prefill), then ``model(token, kv_cache=cache)`` per
step, each layer appending one key and value to module 13's preallocated `KVCache` and
attending one query to the cached positions. The uncached path is ``use_cache=False``: a full
forward over the context every step. The PyTorch twin (nanoGPT's modules, TinyGPT's weights)
does the same both ways: ``F.scaled_dot_product_attention`` on slices of preallocated
(B, H, block, D) tensors it writes in place, under ``torch.inference_mode()``.

Every run is timed interleaved with the others (TinyTorch cached, PyTorch cached, TinyTorch
uncached, PyTorch uncached, repeated ``KVCACHE_ROUNDS`` times, default 3), so a busy machine
slows them alike; the ratios are the result. Each step's time is kept too: with the cache the
time per token should be flat in the position (the projections dominate; attention over t
cached keys adds 4*t*C FLOPs per layer against 24*C^2), without it grows with the context.
The table profiles one decode step (module 16's profiler): the ops it runs and where its time
goes.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from harness import SETTLE_S, Report, Row, TextTable, fit_exponent
from tinytorch.autograd import no_grad
from tinytorch.generation import generate_stream, load_language_model
from tinytorch.kvcache import decode_step_ops, model_cache_bytes
from tinytorch.profiling import profile
from tinytorch.setup import TimingResult, format_seconds
from tinytorch.tensor import Tensor
from tinytorch.transformers import TinyGPT

TITLE = "TinyGPT generation with a KV cache vs full forwards (nanoGPT Shakespeare shape, m07)"
CONFIG = {"vocab_size": 65, "block_size": 256, "n_layer": 6, "n_head": 6, "n_embd": 384}
PROMPT, NEW = 32, 224
QUICK_CONFIG = {"vocab_size": 65, "block_size": 64, "n_layer": 2, "n_head": 2, "n_embd": 64}
QUICK_PROMPT, QUICK_NEW = 8, 56
ROUNDS, QUICK_ROUNDS = int(os.environ.get("KVCACHE_ROUNDS", "3")), 1
MILESTONE = Path(__file__).resolve().parents[2] / "milestones" / "weights" / "m07_tinygpt_char.npz"
MILESTONE_PROMPT = "First Citizen:\nB"  # 16 characters, then 48 more: the block of 64
PROFILED_STEPS = 20


# --------------------------------------------------------------------- the PyTorch twin
def torch_twin(torch: Any, model: TinyGPT) -> Any:
    """nanoGPT's GPT with a preallocated KV cache, TinyGPT's parameter names and weights."""
    nn, F = torch.nn, torch.nn.functional
    c, h = model.n_embd, model.n_head
    d = c // h

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(c), nn.LayerNorm(c)
            self.attn = nn.Module()
            self.attn.c_attn, self.attn.c_proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
            self.mlp = nn.Module()
            self.mlp.c_fc, self.mlp.c_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)
            self.gelu = nn.GELU()

        def forward(self, x: Any, cache: Any, pos: int) -> Any:
            b, t, _ = x.shape
            q, k, v = self.attn.c_attn(self.ln_1(x)).split(c, dim=2)
            q, k, v = (z.view(b, t, h, d).transpose(1, 2) for z in (q, k, v))
            if cache is not None:  # write the new keys and values, attend to all so far
                keys, values = cache
                keys[:, :, pos : pos + t] = k
                values[:, :, pos : pos + t] = v
                k, v = keys[:, :, : pos + t], values[:, :, : pos + t]
            assert t == 1 or pos == 0  # is_causal is top-left aligned: prefill from 0 only
            y = F.scaled_dot_product_attention(q, k, v, is_causal=t > 1)
            x = x + self.attn.c_proj(y.transpose(1, 2).reshape(b, t, c))
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

        def new_cache(self, batch: int) -> list[tuple[Any, Any]]:
            shape = (batch, h, model.block_size, d)
            return [(torch.zeros(shape), torch.zeros(shape)) for _ in self.h]

        def forward(self, idx: Any, caches: Any = None, pos: int = 0) -> Any:
            x = self.wte(idx) + self.wpe(torch.arange(pos, pos + idx.shape[1]))
            for i, block in enumerate(self.h):
                x = block(x, None if caches is None else caches[i], pos)
            return self.lm_head(self.ln_f(x))

    state = model.state_dict()
    twin = GPT()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    return twin.eval()


def torch_generate(torch: Any, twin: Any, prompt: np.ndarray, new: int, use_cache: bool) -> tuple:
    """Greedy tokens and the seconds of each step (the first includes the prefill)."""
    ids = torch.from_numpy(prompt)
    times = []
    with torch.inference_mode():
        caches = twin.new_cache(ids.shape[0]) if use_cache else None
        start = time.perf_counter()
        logits = twin(ids, caches, 0)
        for step in range(new):
            token = logits[:, -1].argmax(-1, keepdim=True)
            ids = torch.cat([ids, token], dim=1)
            now = time.perf_counter()
            times.append(now - start)
            start = now
            if step == new - 1:
                break
            logits = twin(token, caches, ids.shape[1] - 1) if use_cache else twin(ids)
    return ids.numpy(), np.asarray(times)


def tinytorch_generate(model: Any, prompt: np.ndarray, new: int, use_cache: bool) -> tuple:
    """Greedy tokens and the seconds of each step, through module 15's `generate_stream`."""
    tokens, times = [], []
    start = time.perf_counter()
    for token in generate_stream(model, prompt, new, temperature=0, use_cache=use_cache):
        now = time.perf_counter()
        tokens.append(token)
        times.append(now - start)
        start = now
    return np.concatenate([prompt, np.stack(tokens, axis=1)], axis=1), np.asarray(times)


# --------------------------------------------------------------------- one model, four ways
def interleaved(bench: Any, model: Any, prompt: np.ndarray, new: int, rounds: int) -> dict:
    """Every way, ``rounds`` times, interleaved: {side: (totals, per-step times, tokens)}."""
    torch = bench.torch
    twin = torch_twin(torch, model) if torch is not None else None
    ways = {
        "tinytorch cached": lambda: tinytorch_generate(model, prompt, new, True),
        "tinytorch uncached": lambda: tinytorch_generate(model, prompt, new, False),
    }
    if twin is not None:
        ways["pytorch cached"] = lambda: torch_generate(torch, twin, prompt, new, True)
        ways["pytorch uncached"] = lambda: torch_generate(torch, twin, prompt, new, False)
    order = ["tinytorch cached", "pytorch cached", "tinytorch uncached", "pytorch uncached"]
    runs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {name: [] for name in ways}
    ways["tinytorch cached"]()  # warm-up: imports, allocator, BLAS threads
    for _ in range(rounds):
        for name in order:
            if name in ways:
                time.sleep(SETTLE_S)  # the other library's idle threads stop spinning
                runs[name].append(ways[name]())
    return {
        name: (
            [float(times.sum()) for _, times in results],
            np.median(np.stack([times for _, times in results]), axis=0),
            results[0][0],
        )
        for name, results in runs.items()
    }


def flatness(per_step: np.ndarray) -> float:
    """Median time of the last quarter of the decode steps over the first quarter's (the
    prefill, step 0, left out): 1.0 is flat."""
    steps = per_step[1:]
    quarter = max(1, len(steps) // 4)
    return float(np.median(steps[-quarter:]) / np.median(steps[:quarter]))


def model_rows(
    bench: Any, label: str, model: Any, prompt: np.ndarray, new: int, rounds: int
) -> tuple[list[Row], dict[str, Any]]:
    runs = interleaved(bench, model, prompt, new, rounds)

    def timing(name: str) -> TimingResult | None:
        return TimingResult.from_samples(runs[name][0]) if name in runs else None

    tokens = runs["tinytorch cached"][2]
    same = bool((tokens == runs["tinytorch uncached"][2]).all())
    summary: dict[str, Any] = {
        "prompt": int(prompt.shape[1]),
        "new_tokens": new,
        "rounds": rounds,
        "identical_tokens_with_and_without_cache": same,
    }
    for name, (totals, per_step, _) in runs.items():
        key = name.replace(" ", "_")
        summary[f"{key}_s"] = statistics.median(totals)
        summary[f"{key}_per_token_s"] = statistics.median(totals) / new
        summary[f"{key}_late_over_early"] = flatness(per_step)
        summary[f"{key}_per_step_s"] = per_step.tolist()
    positions = np.arange(prompt.shape[1] + 1, prompt.shape[1] + new)
    for name in ("tinytorch cached", "tinytorch uncached"):
        summary[f"{name.replace(' ', '_')}_exponent"] = fit_exponent(
            list(positions), list(runs[name][1][1:])
        )
    speedup = summary["tinytorch_uncached_s"] / summary["tinytorch_cached_s"]
    summary["tinytorch_speedup"] = speedup
    note = (
        f"cache {speedup:.1f}x faster; tokens identical: {same}; per-token time last/first "
        f"quarter {summary['tinytorch_cached_late_over_early']:.2f} (uncached "
        f"{summary['tinytorch_uncached_late_over_early']:.2f})"
    )
    if "pytorch cached" in runs:
        summary["pytorch_speedup"] = summary["pytorch_uncached_s"] / summary["pytorch_cached_s"]
        agree = float((tokens == runs["pytorch cached"][2]).mean())
        summary["tokens_agree_with_pytorch"] = agree
        note += f"; PyTorch's cache {summary['pytorch_speedup']:.1f}x, same tokens {agree:.0%}"
    rows = [
        Row(
            f"{label}: KV cache",
            timing("tinytorch cached"),
            timing("pytorch cached"),
            units=new,
            unit="token",
            note=note,
        ),
        Row(
            f"{label}: full forward per token",
            timing("tinytorch uncached"),
            timing("pytorch uncached"),
            units=new,
            unit="token",
        ),
    ]
    return rows, summary


# --------------------------------------------------------------------- one decode step
def decode_table(model: Any, position: int) -> tuple[TextTable, dict[str, Any]]:
    """Profile ``PROFILED_STEPS`` decode steps at ``position``: per op, calls and time per
    step."""
    ids = np.zeros((1, position + PROFILED_STEPS), dtype=np.int64)
    cache = model.make_kv_cache(1)
    with no_grad():
        model(Tensor(ids[:, :position]), kv_cache=cache)
        start = time.perf_counter()
        with profile() as prof:
            for t in range(position, position + PROFILED_STEPS):
                model(Tensor(ids[:, t : t + 1]), kv_cache=cache)
        step_s = (time.perf_counter() - start) / PROFILED_STEPS
    stats = sorted(prof.key_averages(), key=lambda s: -s.self_time)
    op_s = sum(s.self_time for s in stats) / PROFILED_STEPS
    rows = [
        [
            s.name,
            f"{s.calls / PROFILED_STEPS:g}",
            format_seconds(s.self_time / PROFILED_STEPS),
            f"{s.self_time / PROFILED_STEPS / step_s:.0%}",
        ]
        for s in stats
    ]
    rows.append(["(all ops)", "", format_seconds(op_s), f"{op_s / step_s:.0%}"])
    rows.append(["(the step, profiled)", "", format_seconds(step_s), "100%"])
    ops = decode_step_ops(model)
    summary = {
        "position": position,
        "ops_per_step": ops["total"],
        "ops_per_layer": ops["per_layer"],
        "graph_recorded": ops["recorded"],
        "profiled_step_s": step_s,
        "op_time_share": op_s / step_s,
        "cache_bytes": model_cache_bytes(model, 1),
    }
    table = TextTable(
        f"kvcache: one decode step at position {position} (profiled, {ops['total']} ops, "
        f"nothing recorded for backward)",
        ["op", "calls / step", "time / step", "share"],
        rows,
    )
    return table, summary


def run(bench: Any) -> Report:
    quick = bench.quick
    config = QUICK_CONFIG if quick else CONFIG
    prompt_len, new = (QUICK_PROMPT, QUICK_NEW) if quick else (PROMPT, NEW)
    rounds = QUICK_ROUNDS if quick else ROUNDS
    model = TinyGPT(**config, rng=np.random.default_rng(0))
    prompt = np.random.default_rng(1).integers(0, config["vocab_size"], (1, prompt_len))
    shape = f"{config['n_layer']}L {config['n_head']}H {config['n_embd']}C"
    rows, summary = model_rows(
        bench, f"{shape}, {prompt_len} + {new} tokens", model, prompt, new, rounds
    )
    report: dict[str, Any] = {"config": config, "nanogpt_shape": summary}
    table, report["decode_step"] = decode_table(model, (prompt_len + new) // 2)
    if MILESTONE.is_file():
        loaded = load_language_model(MILESTONE)
        ids = np.asarray([loaded.tokenizer.encode(MILESTONE_PROMPT)], dtype=np.int64)
        room = loaded.config.block_size - ids.shape[1]
        more, report["m07"] = model_rows(
            bench,
            f"m07 char model, {ids.shape[1]} + {room} tokens",
            loaded.model,
            ids,
            room,
            rounds,
        )
        rows += more
    return Report(rows, report, [table])
