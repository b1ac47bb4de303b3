"""What every milestone shares: a timed and memory-measured stage, and the summary table."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.table import Table

from tinytorch.setup import format_bytes, measure_memory


def measured(
    fn: Callable[[], Any], samples: int, memory: bool = True
) -> tuple[Any, dict[str, float]]:
    """Run ``fn`` timed, then (if ``memory``) again under tracemalloc for its peak: never time
    under tracing, which slows allocation. ``samples``: examples one call processes."""
    start = time.perf_counter()
    value = fn()
    wall = time.perf_counter() - start
    peak = measure_memory(fn).peak_bytes if memory else None
    return value, {"wall_s": wall, "peak_bytes": peak, "samples_per_s": samples / wall}


def summary_table(title: str, summary: dict[str, Any]) -> Table:
    """A rich table of ``summary["stages"]``: result, accuracy, time, peak memory, samples/s."""
    mode = "quick" if summary["quick"] else "full"
    verdict = "[green]passed[/green]" if summary["passed"] else "[red]FAILED[/red]"
    table = Table(title=f"{title} ({mode}) -- {verdict}")
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
            f"{stage['samples_per_s']:,.0f}",
        )
    return table
