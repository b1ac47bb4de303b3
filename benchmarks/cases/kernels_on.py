"""Helpers for the cases that time TinyTorch with module 17's kernels on (not a case itself).

`interleaved` times several functions in turn, A, B, C, A, B, C, ..., and reports each one's
median: on a shared machine, load that comes and goes hits every side alike, so the *ratios*
of the medians are steadier than the times of one side measured after the other.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from harness import SETTLE_S


def kernels_module() -> Any:
    """``tinytorch.kernels`` warmed up (numba compiled or loaded from its cache), or None when
    module 17 is not installed."""
    try:
        import tinytorch.kernels as kernels
    except ImportError:
        return None
    kernels.warm_up()
    return kernels


def interleaved(functions: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Median seconds of each function over ``rounds`` rounds that call each once, in turn
    (one untimed warm-up call each first; a short pause before each call)."""
    for function in functions.values():
        function()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            time.sleep(SETTLE_S / 4)
            start = time.perf_counter()
            function()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def with_kernels(kernels: Any, function: Callable[[], Any]) -> Callable[[], Any]:
    """``function`` run with the "fast" kernel set on (and the previous set restored after)."""

    def run() -> Any:
        with kernels.using("fast"):
            return function()

    return run
