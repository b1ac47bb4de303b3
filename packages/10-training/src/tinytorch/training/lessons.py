"""Systems lessons of module 10, as functions that return numbers.

- Fusion: the cross-entropy composed from log_softmax, indexing, negation and a mean records a
  graph node per op, and the backward walks them all; the fused `CrossEntropyOp` records one
  node, with the closed-form gradient ``softmax - onehot``. `cross_entropy_costs` counts the
  nodes and times both.
- Checkpoint size: a checkpoint holds the parameters and buffers *and* the optimizer's state,
  which for Adam is twice the parameters: `checkpoint_bytes` adds them up.
- Measuring costs something: tracing every allocation (tracemalloc) slows an allocation-heavy
  NumPy training loop; `memory_tracking_overhead` times it against the peak-RSS reading the
  Trainer uses by default.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.autograd import topological_order
from tinytorch.layers import Module
from tinytorch.networks import MLP
from tinytorch.optimizers import SGD
from tinytorch.tensor import Tensor
from tinytorch.training.losses import cross_entropy, cross_entropy_composed
from tinytorch.training.memory import PeakMemory

__all__ = ["checkpoint_bytes", "cross_entropy_costs", "memory_tracking_overhead"]


def _best_time(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _recorded_nodes(loss: Tensor) -> int:
    return len(topological_order(loss))


def cross_entropy_costs(
    n: int = 512, c: int = 100, repeats: int = 5, seed: int = 0
) -> dict[str, float]:
    """Fused vs composed cross-entropy on (n, c) float32 logits: graph nodes recorded and the
    best time of forward + backward. Returns ``fused_nodes``, ``composed_nodes``, ``fused_s``,
    ``composed_s``, ``speedup`` (composed / fused time)."""
    rng = np.random.default_rng(seed)
    logits = Tensor(rng.standard_normal((n, c), dtype=np.float32), requires_grad=True)
    labels = Tensor(rng.integers(0, c, n))
    results: dict[str, float] = {}
    for name, loss_fn in (("fused", cross_entropy), ("composed", cross_entropy_composed)):
        results[f"{name}_nodes"] = _recorded_nodes(loss_fn(logits, labels))

        def step(loss_fn: Callable[..., Tensor] = loss_fn) -> None:
            logits.grad = None
            loss_fn(logits, labels).backward()

        results[f"{name}_s"] = _best_time(step, repeats)
    results["speedup"] = results["composed_s"] / results["fused_s"]
    return results


def checkpoint_bytes(model: Module, optimizer: Any = None) -> dict[str, int]:
    """Bytes of the arrays a checkpoint of ``model`` (and ``optimizer``) holds: ``model``
    (parameters and buffers), ``optimizer`` (its state arrays), ``total``. The file adds a few
    hundred bytes per array (zip and .npy headers) and the JSON metadata."""
    # HINT: sum .nbytes of every array in model.state_dict(), and of every array in each parameter's
    # HINT: optimizer state (optimizer.state_dict()['state']: momentum, Adam's two moments, ...)
    # BEGIN SOLUTION
    model_bytes = sum(array.nbytes for array in model.state_dict().values())
    optimizer_bytes = 0
    if optimizer is not None:
        for state in optimizer.state_dict()["state"].values():
            optimizer_bytes += sum(v.nbytes for v in state.values() if isinstance(v, np.ndarray))
    # END SOLUTION
    return {
        "model": model_bytes,
        "optimizer": optimizer_bytes,
        "total": model_bytes + optimizer_bytes,
    }


def memory_tracking_overhead(
    sizes: tuple[int, ...] = (784, 256, 10), batch: int = 128, steps: int = 20, seed: int = 0
) -> dict[str, float]:
    """Time ``steps`` SGD steps of an MLP with ``sizes`` three ways: plain, inside the peak-RSS
    measurement the Trainer uses by default, and with tracemalloc tracing every allocation.

    Returns ``plain_s``, ``rss_s``, ``traced_s`` (best of 3) and the slowdowns ``rss_slowdown``
    and ``traced_slowdown`` relative to plain. Smaller layers mean relatively more allocations
    per FLOP, so tracing hurts them most.
    """
    if tracemalloc.is_tracing():
        raise RuntimeError(
            "memory_tracking_overhead: tracemalloc is already tracing, so the plain timing "
            "would be traced too; call tracemalloc.stop() first"
        )
    rng = np.random.default_rng(seed)
    model = MLP(list(sizes), rng=rng)
    optimizer = SGD(model.parameters(), lr=0.01)
    x = Tensor(rng.standard_normal((batch, sizes[0]), dtype=np.float32))
    y = Tensor(rng.integers(0, sizes[-1], batch))

    def train() -> None:
        for _ in range(steps):
            optimizer.zero_grad()
            cross_entropy(model(x), y).backward()
            optimizer.step()

    def with_rss() -> None:
        with PeakMemory(trace=False):
            train()

    def traced() -> None:
        with PeakMemory(trace=True):
            train()

    plain, rss, trace = (_best_time(fn, 3) for fn in (train, with_rss, traced))
    return {
        "plain_s": plain,
        "rss_s": rss,
        "traced_s": trace,
        "rss_slowdown": rss / plain,
        "traced_slowdown": trace / plain,
    }
