"""Progress bars for long loops (training epochs, downloads, benchmarks).

``track(iterable)`` yields the items of ``iterable`` unchanged and, on an interactive terminal,
draws a rich progress bar with the rate and the estimated time left. In CI logs and redirected
output it draws nothing: a progress bar there only fills the log with control characters.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # rich is imported lazily: `import tinytorch.setup` stays fast
    from rich.progress import Task
    from rich.text import Text

__all__ = ["progress_enabled", "track"]

T = TypeVar("T")


def progress_enabled() -> bool:
    """True when progress bars should be drawn: stdout is a terminal and ``$CI`` is not set."""
    if os.environ.get("CI"):
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def track(
    iterable: Iterable[T],
    total: int | None = None,
    description: str = "",
    unit: str = "it",
) -> Iterator[T]:
    """Yield every item of ``iterable``, showing progress, rate and ETA on a terminal.

    ``total`` defaults to ``len(iterable)`` when the iterable has a length; without one the bar
    shows a pulsing animation, the count and the rate, but no ETA.
    """
    if not progress_enabled():
        yield from iterable
        return

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Items per second, e.g. ``1,234.5 img/s``."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("?" if speed is None else f"{speed:,.1f} {unit}/s", style="cyan")

    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    columns = [
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if total is not None else TextColumn("{task.completed}"),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, transient=False) as progress:
        task_id = progress.add_task(description, total=total)
        count = 0
        for item in iterable:
            yield item
            count += 1
            progress.advance(task_id)
        progress.update(task_id, total=count)  # an unknown length is known at the end
