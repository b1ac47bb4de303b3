"""What every milestone shares: the data policy, a timed and memory-measured stage, the summary
table, and the record of a run (``milestones/results/``).

The data policy. A milestone that needs a dataset reads it from the data directory
(``TINYTORCH_DATA``, else ``~/.cache/tinytorch/data``). In quick mode, when the dataset is not
there, it may run on a synthetic stand-in with the same shapes: a smoke test of the code, which
says so in its headline and is checked against a stand-in bar, never against the real-data
target. A full run (``--full``), or a run whose ``TINYTORCH_DATA`` names a folder that does not
exist, needs the real data: missing data is then a `MissingDataError` naming the folder and the
files it should hold.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from tinytorch.setup import format_bytes, measure_memory

RESULTS = Path(__file__).resolve().parent / "results"
STAND_IN = "SYNTHETIC stand-in"  # how a stand-in's data description starts


class MissingDataError(RuntimeError):
    """A run that needs the real dataset did not find it (its message names folder and files)."""


def stand_in_refusal(quick: bool) -> str | None:
    """Why this run may not fall back to the synthetic stand-in, or None when it may (quick
    mode, and no ``TINYTORCH_DATA`` naming a folder that does not exist)."""
    if not quick:
        return "a full run needs the real dataset (the synthetic stand-in is for quick mode only)"
    named = os.environ.get("TINYTORCH_DATA", "")
    if named and not Path(named).expanduser().is_dir():
        return f"TINYTORCH_DATA names {named}, which is not a folder"
    return None


def missing_data(milestone: str, reason: str, detail: str) -> MissingDataError:
    """The error for a run that needs data it did not find: ``detail`` names the files."""
    return MissingDataError(
        f"{milestone}: {reason}. {detail} (Only a quick run may use the labelled synthetic "
        f"stand-in, and only when TINYTORCH_DATA is unset or an existing folder.)"
    )


def conditions() -> dict[str, Any]:
    """The machine a run measured on: when, CPUs, load average, BLAS threads asked for."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "load_average": load,
        "python": platform.python_version(),
        "blas_threads": os.environ.get("OMP_NUM_THREADS") or os.environ.get("OPENBLAS_NUM_THREADS"),
    }


def record(summary: dict[str, Any], path: Path | None = None) -> Path:
    """Write ``summary`` (with the machine's conditions) as the last measured run of its
    milestone: ``milestones/results/<milestone>.<quick|full>.json``. The README's figures are
    taken from these files (tests-integration/test_milestones_quick.py checks the MNIST row)."""
    mode = "quick" if summary["quick"] else "full"
    path = path or RESULTS / f"{summary['milestone']}.{mode}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = {k: v for k, v in summary.items() if k not in ("model", "models")}
    kept.setdefault("conditions", conditions())
    path.write_text(json.dumps(kept, indent=2, default=str) + "\n")
    return path


def measured(
    fn: Callable[[], Any], samples: int, memory: bool = True
) -> tuple[Any, dict[str, float]]:
    """Run ``fn`` timed, then (if ``memory``) again under tracemalloc for its peak: never time
    under tracing, which slows allocation. ``samples``: examples one call processes.

    ``wall_s`` is the timed run; ``memory_s`` the traced rerun (often slower than the run
    itself): a summary adds it to its ``overheads`` so that its times add up."""
    start = time.perf_counter()
    value = fn()
    wall = time.perf_counter() - start
    traced = time.perf_counter()
    peak = measure_memory(fn).peak_bytes if memory else None
    return value, {
        "wall_s": wall,
        "peak_bytes": peak,
        "samples_per_s": samples / wall,
        "memory_s": time.perf_counter() - traced if memory else 0.0,
    }


def fast_kernels(model: Any) -> tuple[contextlib.AbstractContextManager[Any], str]:
    """Module 17's fast kernels for training ``model``, when that package is installed: its
    BatchNorm+ReLU pairs fused (the same Parameters, the same state_dict keys) and the fast
    set switched on for the returned block. Returns (the context, a line saying what runs)."""
    try:
        import tinytorch.kernels as kernels
    except ModuleNotFoundError:
        return contextlib.nullcontext(), "kernels: reference Ops (tinytorch-kernels not installed)"
    kernels.warm_up()
    kernels.fuse(model)
    return kernels.using("fast"), kernels.describe("fast")


def finish(summary: dict[str, Any], json_path: Path | None, keep: bool) -> int:
    """The end of every milestone's command line: write ``summary`` to ``--json``'s path,
    `record` it with ``--record`` (``keep``), print the verdict and headline; the exit code
    (0: passed, 1: failed)."""
    from rich.console import Console

    if json_path is not None:
        json_path.write_text(json.dumps(summary, indent=2, default=str))
    if keep:
        Console().print(f"recorded {record(summary)}")
    Console().print(f"{verdict(summary)}: {summary['headline']}", highlight=False)
    return 0 if summary["passed"] else 1


def verdict(summary: dict[str, Any]) -> str:
    """``passed``, ``FAILED``, or, on the synthetic stand-in, ``stand-in check passed`` (the
    real-data target was not tried)."""
    if summary.get("stand_in"):
        return "stand-in check passed" if summary["passed"] else "stand-in check FAILED"
    return "passed" if summary["passed"] else "FAILED"


def summary_table(title: str, summary: dict[str, Any]) -> Table:
    """A rich table of ``summary["stages"]``: result, accuracy, time, peak memory, samples/s.

    ``summary["overheads"]`` (what -> seconds: loading, memory-peak reruns) get a row each.
    When ``summary["wall_s"]`` exceeds the stages' and overheads' times, a row ``other`` the rest
    (``summary["other"]`` says what it is: loading, evaluation, ...) and a row ``total`` the
    whole, so that the time column adds up."""
    mode = "quick" if summary["quick"] else "full"
    word = verdict(summary)
    colour = "red" if "FAILED" in word else ("yellow" if summary.get("stand_in") else "green")
    table = Table(title=f"{title} ({mode}) -- [{colour}]{word}[/{colour}]")
    table.add_column("stage")
    table.add_column("result")
    for column in ("accuracy", "time", "peak mem", "samples/s"):
        table.add_column(column, justify="right")
    for name, stage in summary["stages"].items():
        accuracy = "-" if stage.get("accuracy") is None else f"{stage['accuracy']:.1%}"
        peak = "-" if stage.get("peak_bytes") is None else format_bytes(stage["peak_bytes"])
        table.add_row(
            name,
            stage["result"],
            accuracy,
            f"{stage['wall_s']:.2f} s",
            peak,
            f"{stage['samples_per_s']:,.0f}" if stage.get("samples_per_s") else "-",
        )
    staged = sum(stage["wall_s"] for stage in summary["stages"].values())
    for what, seconds in summary.get("overheads", {}).items():
        table.add_row(what, "", "-", f"{seconds:.2f} s", "-", "-")
        staged += seconds
    total = summary.get("wall_s")
    if total is not None and total - staged > 0.005:
        what = summary.get("other", "set-up, loading and bookkeeping outside the stages")
        table.add_row("other", what, "-", f"{total - staged:.2f} s", "-", "-")
    if total is not None and (len(summary["stages"]) > 1 or total - staged > 0.005):
        table.add_row("total", "", "-", f"{total:.2f} s", "-", "-")
    return table
