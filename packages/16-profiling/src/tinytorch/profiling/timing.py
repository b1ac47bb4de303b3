"""Timing done right, and how time grows with size.

`benchmark` builds on ``tinytorch.setup.measure`` (module 01's `time_function` takes each sample,
`TimingResult` summarises them) and adds what a benchmark to compare against needs:

* the garbage collector runs once before the samples and is off while they run, so no
  collection lands inside one. It does not run between samples: a collection walks every Python
  object and evicts the caches, so a ~2 ms model call timed right after one took 2.42 ms
  instead of 2.09 (milestone 05's CNN at batch 1, one thread): a cold-cache figure;
* ``min_time``: a fast function is called ``number`` times per sample, ``number`` doubling until
  one sample takes at least ``min_time`` seconds (the clock's resolution and the loop's overhead
  become negligible);
* the thread settings are recorded with the samples: a BLAS matmul on 8 threads and on 1 are
  different benchmarks.

`fit_exponent` fits ``time = c * size**k`` by least squares on log-log axes: ``k`` near 1 is
linear, near 2 quadratic, near 3 a dense matmul's cube. `scaling` times a function at several
sizes and fits it.
"""

from __future__ import annotations

import gc
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinytorch.setup.measure import TimingResult, format_seconds, time_function

__all__ = [
    "BenchmarkResult",
    "ScalingResult",
    "benchmark",
    "fit_exponent",
    "scaling",
    "thread_info",
]

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_info() -> dict[str, Any]:
    """The thread settings a timing depends on: the BLAS/OpenMP environment variables, the
    machine's CPU count and the CPUs this process may run on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = os.cpu_count() or 1
    info: dict[str, Any] = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    info["cpu_count"] = os.cpu_count()
    info["usable_cpus"] = usable
    return info


@dataclass(frozen=True)
class BenchmarkResult:
    """Samples (seconds per call) of one benchmark, with their summary and thread settings."""

    timing: TimingResult
    threads: dict[str, Any] = field(default_factory=dict)

    @property
    def samples(self) -> list[float]:
        return self.timing.samples

    @property
    def median(self) -> float:
        return self.timing.median_s

    @property
    def iqr(self) -> float:
        return self.timing.iqr_s

    @property
    def number(self) -> int:
        return self.timing.number

    def __str__(self) -> str:
        blas = self.threads.get("OPENBLAS_NUM_THREADS") or self.threads.get("OMP_NUM_THREADS")
        threads = f", {blas} BLAS threads" if blas else ""
        return f"{self.timing} on {self.threads.get('usable_cpus')} CPUs{threads}"


def benchmark(
    fn: Callable[..., Any],
    *args: Any,
    warmup: int = 2,
    repeats: int = 11,
    min_time: float = 0.0,
    **kwargs: Any,
) -> BenchmarkResult:
    """Time ``fn(*args, **kwargs)``: ``warmup`` untimed calls, then ``repeats`` samples of
    ``number`` calls each (``number`` doubles until a sample takes ``min_time`` seconds), the
    garbage collector run once before the samples and off while they run."""
    if warmup < 0 or repeats < 1 or min_time < 0:
        raise ValueError(
            f"benchmark needs warmup >= 0, repeats >= 1 and min_time >= 0; got warmup={warmup}, "
            f"repeats={repeats}, min_time={min_time}"
        )
    for _ in range(warmup):
        fn(*args, **kwargs)
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        number = 1
        while min_time > 0 and number < 1 << 30:
            # the fastest of 3 short samples: a context switch must not stop the doubling early
            once = time_function(fn, *args, warmup=0, repeats=3, number=number, **kwargs)
            if once.min_s * number >= min_time:
                break
            number *= 2
        samples = []
        for _ in range(repeats):
            sample = time_function(fn, *args, warmup=0, repeats=1, number=number, **kwargs)
            samples.append(sample.median_s)
    finally:
        if was_enabled:
            gc.enable()
    return BenchmarkResult(TimingResult.from_samples(samples, number), thread_info())


def fit_exponent(sizes: Sequence[float], times: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of ``log(time) = k * log(size) + log(c)``; returns ``(k, c)``.

    >>> k, c = fit_exponent([10, 100, 1000], [3e-4, 3e-2, 3.0])  # 3e-6 * n**2
    >>> round(k, 6), round(c, 12)
    (2.0, 3e-06)
    """
    if len(sizes) != len(times) or len(sizes) < 2:
        raise ValueError(
            f"fit_exponent needs as many times as sizes, at least two; got {len(sizes)} sizes "
            f"and {len(times)} times"
        )
    if min(sizes) <= 0 or min(times) <= 0:
        raise ValueError("fit_exponent: sizes and times must be positive (it fits on log-log axes)")
    x = np.log(np.asarray(sizes, dtype=np.float64))
    y = np.log(np.asarray(times, dtype=np.float64))
    if np.ptp(x) == 0:
        raise ValueError(f"fit_exponent: the sizes must not all be equal, got {list(sizes)}")
    # HINT: the slope of the least-squares line through (x, y) is cov(x, y) / var(x);
    # HINT: the intercept makes the line pass through (mean x, mean y); c = exp(intercept)
    # BEGIN SOLUTION
    dx = x - x.mean()
    slope = float(np.dot(dx, y - y.mean()) / np.dot(dx, dx))
    intercept = float(y.mean() - slope * x.mean())
    # END SOLUTION
    return slope, math.exp(intercept)


@dataclass(frozen=True)
class ScalingResult:
    """Median seconds at each size and the fitted ``time ~ c * size**exponent``."""

    sizes: list[float]
    times: list[float]
    exponent: float
    coefficient: float

    def __str__(self) -> str:
        points = ", ".join(
            f"{s:g}: {format_seconds(t)}" for s, t in zip(self.sizes, self.times, strict=True)
        )
        return f"time ~ size^{self.exponent:.2f} ({points})"


def scaling(
    fn_of_size: Callable[[int], Callable[[], Any]],
    sizes: Sequence[int],
    *,
    measure: Callable[[Callable[[], Any]], float] | None = None,
    **benchmark_kwargs: Any,
) -> ScalingResult:
    """Time ``fn_of_size(n)()`` for each ``n`` in ``sizes`` and fit the exponent.

    ``fn_of_size(n)`` builds the inputs (untimed) and returns the function to time.
    ``measure(fn) -> seconds`` replaces the default, `benchmark`'s median (for a deterministic
    cost model, or another clock).
    """
    if measure is None:

        def measure(fn: Callable[[], Any]) -> float:
            return benchmark(fn, **benchmark_kwargs).median

    times = [measure(fn_of_size(n)) for n in sizes]
    exponent, coefficient = fit_exponent(sizes, times)
    return ScalingResult([float(s) for s in sizes], times, exponent, coefficient)
