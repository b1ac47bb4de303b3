"""What every benchmark case shares: timing TinyTorch beside PyTorch, result rows, the machine.

A case builds its inputs once, then hands two functions that do the same work on the same data
(one in TinyTorch, one in PyTorch) to `Bench.compare`, which times both the same way:

* ``warmup`` untimed calls first (caches, lazy initialisation, the allocator), the last of
  which sizes ``number``;
* each sample times ``number`` calls, with ``number`` chosen so that a sample lasts at least
  ``min_sample_s``: a 3 µs op is timed thousands of times per sample, a 0.3 s step once;
* ``repeats`` samples, summarised by the median and the interquartile range (IQR), which one
  slow sample (a context switch, a garbage collection) cannot move.

Two libraries in one process must not slow each other down: both get the same thread count
(set by ``run.py``), PyTorch's Python objects are hidden from the garbage collector that
TinyTorch's graphs keep busy (`freeze_heap`), and each timing starts after a short pause so that
the other library's idle BLAS threads have stopped spinning (`Bench.time`).

Timing is `tinytorch.setup.time_function`; this file adds the PyTorch side, FLOP rates against
the machine's measured matmul peak, a check that no other program shared the CPU meanwhile
(`others_busy`), and the JSON form of a row.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from tinytorch.setup import TimingResult, format_seconds, time_function
from tinytorch.setup.system import blas_info, cpu_info

TORCH_VERSION = "2.13.0"
SETTLE_S = 0.2  # idle time before each timing, so the other library's threads stop spinning
TORCH_MISSING = f"PyTorch not installed: pip install torch=={TORCH_VERSION}"


@dataclass(frozen=True)
class Settings:
    """How hard to time: quick mode is for smoke runs (noisy numbers, seconds in all)."""

    warmup: int
    repeats: int
    min_sample_s: float  # a sample lasts at least this long (``number`` calls per sample)

    @classmethod
    def for_mode(cls, quick: bool) -> Settings:
        return cls(warmup=1, repeats=3, min_sample_s=0.002) if quick else cls(2, 7, 0.05)


@dataclass
class Row:
    """One benchmark: TinyTorch's timing, PyTorch's (None when torch is absent), FLOPs per call.

    ``units`` (with ``unit``, e.g. 10,000 "op") turns a time per call into a time per op.
    """

    label: str
    tinytorch: TimingResult | None
    pytorch: TimingResult | None = None
    flops: float | None = None
    units: int | None = None
    unit: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """TinyTorch time / PyTorch time: 2.0 means TinyTorch takes twice as long."""
        if self.tinytorch is None or self.pytorch is None:
            return None
        return self.tinytorch.median_s / self.pytorch.median_s

    def gflops(self, timing: TimingResult | None) -> float | None:
        """Achieved GFLOP/s of one side (None where FLOPs are not well defined)."""
        if self.flops is None or timing is None:
            return None
        return self.flops / timing.median_s / 1e9

    def to_json(self, peak_gflops: float) -> dict[str, Any]:
        def side(timing: TimingResult | None) -> dict[str, Any] | None:
            if timing is None:
                return None
            rate = self.gflops(timing)
            return {
                "median_s": timing.median_s,
                "iqr_s": timing.iqr_s,
                "min_s": timing.min_s,
                "max_s": timing.max_s,
                "repeats": timing.repeats,
                "number": timing.number,
                "per_unit_s": timing.median_s / self.units if self.units else None,
                "gflops": rate,
                "fraction_of_peak": rate / peak_gflops if rate is not None else None,
            }

        return {
            "label": self.label,
            "flops": self.flops,
            "units": self.units,
            "unit": self.unit or None,
            "tinytorch": side(self.tinytorch),
            "pytorch": side(self.pytorch),
            "ratio": self.ratio,
            "note": self.note,
        }


@dataclass
class TextTable:
    """A case's extra table (e.g. where a step's time goes), printed after its rows."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    text_columns: int = 1  # the first columns hold text (left-aligned), the others numbers

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns, "rows": self.rows}


@dataclass
class Report:
    """What a case returns: its rows, numbers that summarise it (e.g. a fitted exponent), and
    extra tables (their numbers belong in the summary too)."""

    rows: list[Row]
    summary: dict[str, Any] = field(default_factory=dict)
    tables: list[TextTable] = field(default_factory=list)


class Bench:
    """The timing context handed to every case: the mode, PyTorch (or None), threads, peak."""

    def __init__(
        self, quick: bool, torch: ModuleType | None, threads: int, peak_gflops: float
    ) -> None:
        self.quick = quick  # cases pick smaller sizes too
        self.settings = Settings.for_mode(quick)
        self.torch = torch
        self.threads = threads
        self.peak_gflops = peak_gflops

    def time(self, fn: Callable[[], Any], repeats: int | None = None) -> TimingResult:
        """Median and spread of ``fn()`` in seconds per call (see the module docstring).

        With PyTorch loaded, two thread pools share the cores: after a call, OpenBLAS's (NumPy)
        and OpenMP's (PyTorch) idle threads spin for a while before they sleep. A short pause
        first lets them go idle, so they cannot steal cores from the other library's calls.
        ``repeats`` (full mode only) replaces the number of samples, for a case whose calls vary.
        """
        gc.collect()  # garbage left by earlier timings is not this one's to collect
        if self.torch is not None:
            time.sleep(SETTLE_S)
        for _ in range(self.settings.warmup):
            start = time.perf_counter()
            fn()
        once = max(time.perf_counter() - start, 1e-7)  # the last warm-up call sizes ``number``
        number = max(1, math.ceil(self.settings.min_sample_s / once))
        samples = repeats if repeats is not None and not self.quick else self.settings.repeats
        return time_function(fn, warmup=0, repeats=samples, number=number)

    def compare(
        self,
        label: str,
        tinytorch_fn: Callable[[], Any],
        torch_fn: Callable[[], Any] | None = None,
        *,
        flops: float | None = None,
        units: int | None = None,
        unit: str = "",
        note: str = "",
        repeats: int | None = None,
    ) -> Row:
        """Time TinyTorch's ``tinytorch_fn`` and PyTorch's ``torch_fn`` (skipped, never called,
        when PyTorch is not installed: a case prepares its torch inputs only when it is)."""
        with_torch = torch_fn is not None and self.torch is not None
        return Row(
            label=label,
            tinytorch=self.time(tinytorch_fn, repeats),
            pytorch=self.time(torch_fn, repeats) if with_torch else None,
            flops=flops,
            units=units,
            unit=unit,
            note=note,
        )


def freeze_heap() -> None:
    """Hide every object alive now from Python's garbage collector (``gc.freeze``).

    TinyTorch allocates Python objects for every op (a Tensor, an Op, a graph Node), so its long
    graphs trigger full collections, and a full collection scans every tracked object in the
    process: importing PyTorch adds ~170,000 of them and made a 10,000-op chain ~1.7x slower.
    Freezing the heap after the imports (and again before each case) leaves the collector what
    a TinyTorch-only program would have. PyTorch builds its graphs in C++ and barely
    notices either way.
    """
    gc.collect()
    gc.freeze()


# --------------------------------------------------------------------- shared helpers
def tinytorch_cross_entropy(logits: Any, labels: np.ndarray) -> Any:
    """Mean of ``-log_softmax(logits)[i, labels[i]]``: logits (N, C) float32 Tensor, labels (N,).

    Written the way a student writes it before module 10 has a loss: log_softmax, then
    integer-array indexing picks each row's correct class.
    """
    from tinytorch.activations import log_softmax

    return -log_softmax(logits, dim=1)[np.arange(len(labels)), labels].mean()


def torch_cross_entropy(torch: ModuleType, logits: Any, labels: Any) -> Any:
    """The same expression in PyTorch (not ``F.cross_entropy``, so both do the same work)."""
    return -torch.log_softmax(logits, dim=1)[torch.arange(len(labels)), labels].mean()


def fit_exponent(sizes: list[int], seconds: list[float]) -> float:
    """Slope of log(time) against log(size): 1.0 is linear, 2.0 quadratic."""
    slope, _ = np.polyfit(np.log(sizes), np.log(seconds), 1)
    return float(slope)


def format_rate(gflops: float | None, peak_gflops: float) -> str:
    if gflops is None:
        return "-"
    return f"{gflops:,.1f} ({gflops / peak_gflops:.0%})"


def format_timing(timing: TimingResult | None) -> str:
    """``"1.23 ms (4%)"``: the median and, in brackets, the IQR relative to it."""
    if timing is None:
        return "-"
    return f"{format_seconds(timing.median_s)} ({timing.iqr_s / timing.median_s:.0%})"


# --------------------------------------------------------------------- the machine
def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's name from /proc/cpuinfo, with its family and model numbers (a virtual machine
    often says only "AMD EPYC"); the platform's guess elsewhere."""
    fields: dict[str, str] = {}
    try:
        for line in Path(cpuinfo).read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown"
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def matmul_peak(n: int, settings: Settings) -> dict[str, Any]:
    """GFLOP/s of a float32 ``np.matmul`` of two (n, n) matrices: 2n^3 FLOPs per call.

    A large matmul is the fastest thing this machine's BLAS does, so it is the practical peak
    every other rate is compared with. The best of several calls: a peak is what the machine
    can do, and any interruption only makes a call slower.
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    calls = max(3, settings.repeats - 2)
    timing = time_function(np.matmul, a, b, warmup=1, repeats=calls)
    return {"n": n, "calls": calls, "best_s": timing.min_s, "gflops": 2 * n**3 / timing.min_s / 1e9}


def machine_info(threads: int, torch: ModuleType | None) -> dict[str, Any]:
    """What decides these numbers: CPU, cores, thread count, NumPy's BLAS, torch's version."""
    cores = cpu_info()
    blas = blas_info()
    return {
        "cpu": cpu_model(),
        "logical_cores": cores.logical_cores,
        "usable_cores": cores.usable_cores,
        "threads": threads,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": f"{blas['name']} {blas['version']}".strip(),
        "torch": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "cpu_busy_before": cpu_busy_fraction(),
    }


CpuSnapshot = tuple[float, float, float]  # (busy, total) CPU-seconds of all cores, this process's


def cpu_snapshot(stat: str = "/proc/stat") -> CpuSnapshot | None:
    """CPU-seconds so far: all cores busy, all cores in total, this process (None off Linux)."""
    try:
        ticks = [int(v) for v in Path(stat).read_text().split("\n", 1)[0].split()[1:9]]
        per_second = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    idle = ticks[3] + ticks[4]  # idle, iowait
    own = os.times()
    return (sum(ticks) - idle) / per_second, sum(ticks) / per_second, own.user + own.system


def others_busy(before: CpuSnapshot | None, after: CpuSnapshot | None) -> float | None:
    """Fraction of the machine's CPU time that *other* processes used between two snapshots.

    Near 0 on a quiet machine. Well above 0, the timings are suspect: other programs competed
    for the cores, and a multi-threaded BLAS whose threads wait for each other can slow down
    many-fold when one of its threads loses its core.
    """
    if before is None or after is None or after[1] <= before[1]:
        return None
    others = (after[0] - before[0]) - (after[2] - before[2])
    return max(0.0, others / (after[1] - before[1]))


def cpu_busy_fraction(seconds: float = 0.25) -> float | None:
    """`others_busy` over ``seconds`` while this process sleeps: how quiet the machine is."""
    before = cpu_snapshot()
    time.sleep(seconds)
    return others_busy(before, cpu_snapshot())
