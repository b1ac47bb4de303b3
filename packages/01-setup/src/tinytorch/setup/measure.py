"""Measuring time and memory, the two costs every module reports.

Timing lessons built in here:

* the first call is often slow (page faults, caches, lazy initialisation), so ``warmup`` calls
  run before anything is recorded;
* one sample is noise: ``repeats`` samples are taken and summarised with the **median** and the
  **interquartile range**, which a single slow outlier (a context switch, a GC pass) cannot move;
* very fast functions are timed ``number`` times per sample, so the clock's resolution and the
  loop overhead are small against the time measured.

Memory: ``tracemalloc`` sees every allocation made through Python's allocator, and NumPy reports
its array buffers to it, so the peak of a function's traced allocations is its working memory.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np

__all__ = [
    "MemoryResult",
    "Timer",
    "TimingResult",
    "array_bytes",
    "format_bytes",
    "format_seconds",
    "measure_memory",
    "time_function",
]


def format_seconds(seconds: float) -> str:
    """Human-readable duration: ``format_seconds(0.00123) == "1.23 ms"``."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.2f} {unit}"
    return f"{seconds / 1e-9:.2f} ns"


def format_bytes(n: float) -> str:
    """Human-readable size in binary units: ``format_bytes(1572864) == "1.50 MiB"``."""
    if abs(n) < 1024:
        return f"{int(n)} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if abs(value) < 1024 or unit == "TiB":
            break
    return f"{value:.2f} {unit}"


@dataclass(frozen=True)
class TimingResult:
    """Summary of repeated timings; every value is seconds **per call**."""

    samples: list[float] = field(repr=False)  # one per repeat, seconds per call
    median_s: float
    mean_s: float
    stdev_s: float
    min_s: float
    max_s: float
    iqr_s: float  # interquartile range: 75th minus 25th percentile
    repeats: int
    number: int = 1  # calls per sample

    @classmethod
    def from_samples(cls, samples: list[float], number: int = 1) -> TimingResult:
        """Summarise raw per-call samples (at least one)."""
        if not samples:
            raise ValueError("TimingResult needs at least one sample")
        # HINT: sort the samples; the median is the middle one (the mean of the two middle ones
        # HINT: for an even count): one slow outlier cannot move it, unlike the mean
        # BEGIN SOLUTION
        ordered = sorted(samples)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            median = ordered[middle]
        else:
            median = (ordered[middle - 1] + ordered[middle]) / 2
        # END SOLUTION
        q25, q75 = np.percentile(samples, [25, 75])
        return cls(
            samples=list(samples),
            median_s=median,
            mean_s=statistics.fmean(samples),
            stdev_s=statistics.stdev(samples) if len(samples) > 1 else 0.0,
            min_s=min(samples),
            max_s=max(samples),
            iqr_s=float(q75 - q25),
            repeats=len(samples),
            number=number,
        )

    def __str__(self) -> str:
        return (
            f"{format_seconds(self.median_s)} median (IQR {format_seconds(self.iqr_s)}, "
            f"min {format_seconds(self.min_s)}, {self.repeats} repeats x {self.number} calls)"
        )


class Timer:
    """Time a function robustly, or time a block of code.

    >>> result = Timer(warmup=2, repeats=7).measure(sum, range(1000))
    >>> result.median_s > 0
    True
    >>> with Timer() as t:
    ...     _ = sum(range(1000))
    >>> t.elapsed > 0
    True
    """

    def __init__(self, *, warmup: int = 1, repeats: int = 5, number: int = 1) -> None:
        if warmup < 0 or repeats < 1 or number < 1:
            raise ValueError(
                f"Timer needs warmup >= 0, repeats >= 1 and number >= 1; "
                f"got warmup={warmup}, repeats={repeats}, number={number}"
            )
        self.warmup = warmup
        self.repeats = repeats
        self.number = number
        self.elapsed: float = 0.0  # seconds, set when a `with Timer()` block ends
        self._start: float | None = None

    def measure(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> TimingResult:
        """Call ``fn(*args, **kwargs)``: ``warmup`` times untimed, then ``repeats`` samples.

        Each sample times ``number`` back-to-back calls with ``time.perf_counter`` and records
        the seconds **per call**. Costs ``warmup + repeats * number`` calls of ``fn``.
        """
        # HINT: first call fn `self.warmup` times without timing (caches, page faults, lazy set-up)
        # HINT: then for each of `self.repeats` samples: read time.perf_counter(), call fn
        # HINT: `self.number` times, read the clock again; record (elapsed / self.number)
        # BEGIN SOLUTION
        for _ in range(self.warmup):
            fn(*args, **kwargs)
        samples = []
        for _ in range(self.repeats):
            start = time.perf_counter()
            for _ in range(self.number):
                fn(*args, **kwargs)
            samples.append((time.perf_counter() - start) / self.number)
        # END SOLUTION
        return TimingResult.from_samples(samples, self.number)

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._start is not None
        self.elapsed = time.perf_counter() - self._start


def time_function(
    fn: Callable[..., Any],
    *args: Any,
    warmup: int = 1,
    repeats: int = 5,
    number: int = 1,
    **kwargs: Any,
) -> TimingResult:
    """Shortcut for ``Timer(warmup=..., repeats=..., number=...).measure(fn, *args, **kwargs)``."""
    return Timer(warmup=warmup, repeats=repeats, number=number).measure(fn, *args, **kwargs)


def array_bytes(value: Any) -> int:
    """Total ``.nbytes`` of the NumPy arrays in ``value``.

    Looks inside tuples, lists and dicts (values), and at the ``.data`` array of tensor-like
    objects. An array reached twice is counted once.
    """
    seen: set[int] = set()
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, np.ndarray):
            total += item.nbytes
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(getattr(item, "data", None), np.ndarray):
            stack.append(item.data)
    return total


@dataclass(frozen=True)
class MemoryResult:
    """What ``measure_memory`` saw while the function ran."""

    peak_bytes: int  # peak of traced allocations made during the call
    retained_bytes: int  # traced bytes still allocated when the call returned
    array_bytes: int  # total .nbytes of the NumPy arrays in the returned value
    value: Any = field(repr=False)  # the function's return value

    def __str__(self) -> str:
        return (
            f"peak {format_bytes(self.peak_bytes)}, retained {format_bytes(self.retained_bytes)}, "
            f"returned arrays {format_bytes(self.array_bytes)}"
        )


def measure_memory(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> MemoryResult:
    """Call ``fn(*args, **kwargs)`` under ``tracemalloc`` and report its peak allocation.

    Works whether or not tracing was already on; the numbers are relative to the memory traced
    just before the call. Tracing slows allocation-heavy code down, so never time under it.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        # HINT: tracemalloc.reset_peak() forgets earlier peaks; tracemalloc.get_traced_memory()
        # HINT: returns (current, peak) bytes. Read the baseline before calling fn, then
        # HINT: (current, peak) after it: both are measured from that baseline (see below)
        # BEGIN SOLUTION
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        value = fn(*args, **kwargs)
        current, peak = tracemalloc.get_traced_memory()
        # END SOLUTION
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return MemoryResult(
        peak_bytes=max(0, peak - baseline),
        retained_bytes=max(0, current - baseline),
        array_bytes=array_bytes(value),
        value=value,
    )
