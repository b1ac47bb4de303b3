"""For instructors: a class leaderboard from a folder of student submissions.

``run_class(event, folder, board)`` runs every sub-folder of ``folder`` (one per student,
named as the student wants to appear) through `runner.run`: each in its own fresh processes,
under the event's time and memory limits, in a temporary copy. ``jobs`` submissions run at once
(threads that wait on their processes; the board's writer lock keeps their records whole).
The result lists, per folder, the recorded row or the rule that rejected it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tinytorch.competition.runner import run
from tinytorch.competition.submission import Rejected

__all__ = ["run_class"]


def run_class(
    event: str,
    folder: str | os.PathLike[str],
    board: str | os.PathLike[str],
    jobs: int = 1,
    single_thread: bool = True,
) -> dict[str, dict[str, Any]]:
    """``{sub-folder name: {"row": ...} or {"rejected": reason}}`` for every submission."""
    folders = sorted(p for p in Path(folder).iterdir() if p.is_dir())

    def one(path: Path) -> dict[str, Any]:
        try:
            return {"row": run(event, path, board, single_thread=single_thread)}
        except Rejected as error:
            return {"rejected": str(error)}

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, folders))
    return {path.name: result for path, result in zip(folders, results, strict=True)}
