"""Measuring a submission: what runs inside the fresh process `runner.run` starts.

Every number comes from running the submission here, under the event's rules:

* quality: accuracy on the held-out split (``cifar10``) or validation loss (``shakespeare``);
* latency: module 16's `benchmark` (warm-up, garbage collector off, repeats), reported as
  the median and the 90th percentile of the samples; batch 1 for images; for text, a whole
  greedy generation: ``latency_ms`` per new token at batch 1, and ``tokens_per_s`` = new
  tokens / median seconds for the event's ``batch`` prompts generated together (throughput,
  as a server batches requests; ``tokens_per_s_batch1`` is batch 1's);
* memory: tracemalloc's peak while the model is loaded and runs one input, and the process's
  maximum resident size;
* FLOPs of one input, counted by module 16's profiler (its table says which ops count);
* size: the submission's bytes on disk.

The thread count is the process's: `runner.run` starts one process with the machine's threads
and one with a single thread (BLAS reads its thread count when NumPy is imported, so a setting
cannot change inside a process).
"""

from __future__ import annotations

import importlib
import inspect
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from tinytorch.autograd import no_grad
from tinytorch.competition.events import Event
from tinytorch.competition.submission import Rejected, Submission, load_model
from tinytorch.layers import Module
from tinytorch.profiling import Profiler, benchmark, thread_info
from tinytorch.tensor import Tensor

__all__ = ["cifar_test_data", "measure", "shakespeare_data"]

CIFAR10_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32).reshape(1, 3, 1, 1)
CIFAR10_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32).reshape(1, 3, 1, 1)


def cifar_test_data(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The CIFAR-10 test split, prepared: float32 ``(N, 3, 32, 32)`` normalised, int64 labels."""
    from tinytorch.dataloader import load_cifar10

    images, labels = load_cifar10(train=False)
    x = (images[:limit].astype(np.float32) / 255.0 - CIFAR10_MEAN) / CIFAR10_STD
    return x.astype(np.float32), np.asarray(labels[:limit], dtype=np.int64)


def shakespeare_data() -> tuple[Any, np.ndarray]:
    """The character tokenizer of Tiny Shakespeare's first 90%, and the last 10%'s ids."""
    from tinytorch.generation import split_text
    from tinytorch.setup import data_dir
    from tinytorch.tokenization import CharTokenizer

    path = data_dir() / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"shakespeare: {path} not found; put Tiny Shakespeare's input.txt there (or set "
            f"TINYTORCH_DATA to the folder holding tinyshakespeare/)"
        )
    train, val = split_text(path.read_text(encoding="utf-8"))
    tokenizer = CharTokenizer.from_text(train)
    return tokenizer, np.asarray(tokenizer.encode(val), dtype=np.int64)


def _percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q) * 1000.0)


def _peak_memory(load: Callable[[], Module], run: Callable[[Module], Any]) -> tuple[int, int]:
    """(tracemalloc's peak bytes while loading and running once, FLOPs of that run)."""
    tracemalloc.start()
    try:
        model = load()
        with Profiler() as prof:
            run(model)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, prof.total_flops


def _kernels(submission: Submission) -> AbstractContextManager[Any]:
    """The kernel set the submission asks for (module 17), for the whole measurement."""
    if submission.optimizations.get("kernels", "reference") != "fast":
        return nullcontext()
    kernels = importlib.import_module("tinytorch.kernels")
    context: AbstractContextManager[Any] = kernels.using("fast")
    return context


def measure(event: Event, submission: Submission, only_latency: bool = False) -> dict[str, Any]:
    """Every metric of ``event`` for ``submission``, measured in this process."""
    with _kernels(submission), no_grad():
        if event.task == "cifar10":
            metrics = _measure_cifar(event, submission, only_latency)
        elif event.task == "shakespeare":
            metrics = _measure_text(event, submission, only_latency)
        else:
            raise ValueError(f"measure: unknown task {event.task!r}")
    metrics["size_bytes"] = submission.size_bytes
    metrics["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    metrics["threads"] = thread_info()
    return metrics


def _measure_cifar(event: Event, submission: Submission, only_latency: bool) -> dict[str, Any]:
    x, y = cifar_test_data()
    one = Tensor(x[:1])
    metrics: dict[str, Any] = {}
    model = load_model(submission)
    timing = benchmark(model, one, warmup=5, repeats=event.latency_repeats)
    metrics["latency_ms"] = timing.median * 1000.0
    metrics["latency_p90_ms"] = _percentile_ms(timing.samples, 90)
    if only_latency:
        return metrics
    correct = 0
    for start in range(0, len(x), 256):
        logits = model(Tensor(x[start : start + 256])).data
        correct += int((logits.argmax(axis=1) == y[start : start + 256]).sum())
    metrics["accuracy"] = correct / len(x)
    metrics["test_images"] = len(x)
    metrics["peak_memory_bytes"], metrics["flops"] = _peak_memory(
        lambda: load_model(submission), lambda m: m(one)
    )
    return metrics


def _generate(model: Module, prompt: np.ndarray, new_tokens: int, cache: bool) -> np.ndarray:
    from tinytorch.generation import generate

    options: dict[str, Any] = {"temperature": 1.0, "top_k": 1}
    if "use_cache" in inspect.signature(generate).parameters:
        options["use_cache"] = cache
    elif cache:
        raise RuntimeError("kv_cache: this TinyTorch's generate() has no use_cache option")
    return np.asarray(generate(model, prompt, new_tokens, **options))


def _measure_text(event: Event, submission: Submission, only_latency: bool) -> dict[str, Any]:
    from tinytorch.generation import StridedWindows, lm_loss

    _, ids = shakespeare_data()
    model = load_model(submission)
    block = int(getattr(model, "block_size", 0))
    if block <= event.prompt_tokens:
        raise Rejected(
            f"model: block_size {block} leaves no room after a {event.prompt_tokens}-token prompt"
        )
    cache = bool(submission.optimizations.get("kv_cache", False))
    new = event.new_tokens or block - event.prompt_tokens
    starts = np.linspace(0, len(ids) - event.prompt_tokens, event.batch).astype(np.int64)
    prompts = np.stack([ids[start : start + event.prompt_tokens] for start in starts])
    prompt = prompts[:1]
    timing = benchmark(_generate, model, prompt, new, cache, warmup=1, repeats=5)
    metrics: dict[str, Any] = {
        "tokens_per_s_batch1": new / timing.median,
        "new_tokens": new,
        "batch": event.batch,
        "latency_ms": timing.median * 1000.0 / new,
        "latency_p90_ms": _percentile_ms(timing.samples, 90) / new,
    }
    if event.batch == 1:
        metrics["tokens_per_s"] = metrics["tokens_per_s_batch1"]
    else:
        batched = benchmark(_generate, model, prompts, new, cache, warmup=1, repeats=3)
        metrics["tokens_per_s"] = event.batch * new / batched.median
    if only_latency:
        return metrics
    windows = StridedWindows(ids[: event.val_tokens + 1], block, batch_size=32)
    total = 0.0
    for xb, yb in windows:
        total += lm_loss(model(xb), yb).item() * yb.numel()
    metrics["val_loss"] = total / windows.tokens_covered
    metrics["val_tokens"] = windows.tokens_covered
    metrics["peak_memory_bytes"], metrics["flops"] = _peak_memory(
        lambda: load_model(submission), lambda m: m(Tensor(prompt))
    )
    return metrics


def main(argv: list[str]) -> int:
    """``python -m tinytorch.competition.measure EVENT_JSON FOLDER OUT.json [--only-latency]``:
    check the (already copied) submission again under the event's rules (`Event.to_json`),
    measure it, write the metrics as JSON to OUT."""
    import json

    from tinytorch.competition.events import Event
    from tinytorch.competition.submission import check

    event_json, folder, out = argv[:3]
    event = Event.from_json(event_json)
    started = time.perf_counter()
    try:
        submission = check(folder, event.name, set(event.allowed_packages), event.max_bytes)
        result: dict[str, Any] = {"metrics": measure(event, submission, "--only-latency" in argv)}
    except Rejected as error:
        result = {"rejected": str(error)}
    except MemoryError:
        result = {"rejected": f"memory limit: over {event.memory_limit_mb} MB of address space"}
    result["seconds"] = time.perf_counter() - started
    with open(out, "w", encoding="utf-8") as file:
        json.dump(result, file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
