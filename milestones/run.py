"""Run every milestone that exists: the main job of TinyTorch (``./dev milestones``).

Each milestone is a file ``milestones/mNN_name.py`` with ``main(quick: bool) -> dict`` (its
summary). A milestone that imports a TinyTorch package which is not installed is reported as
locked (its module is not built yet), not failed.

    python milestones/run.py                 quick mode (seconds each; what CI runs)
    python milestones/run.py --full          the full runs that reach the reported accuracies
    python milestones/run.py --only m01      one milestone
    python milestones/run.py --json out.json write every summary
    python milestones/run.py --full --record also write each to milestones/results/ (the
                                             figures the README quotes)

A milestone on the synthetic stand-in (quick mode, dataset absent) shows "passed (stand-in
check)": the real-data target was not tried. A run that needs data it does not find (``--full``,
or ``TINYTORCH_DATA`` naming a folder that does not exist) is "no data", with the folder and
files it needs, and counts as a failure.
"""

from __future__ import annotations

import os

# One BLAS thread unless the caller chose (as m07 does): on 2 shared cores, OpenBLAS's two worker
# threads spin against each other and other processes; a CNN training step of m05 measured 21 s
# with 2 threads against 0.9 s with 1 on a loaded machine. Read once, when NumPy loads: this takes
# effect when this file is the first to import NumPy (run directly, or through run.py).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # milestones import milestone_kit

from milestone_kit import MissingDataError, record  # noqa: E402


def discover() -> list[Path]:
    return sorted(HERE.glob("m[0-9][0-9]_*.py"))


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full runs (minutes), not quick")
    parser.add_argument("--only", action="append", default=[], help="milestone prefix, e.g. m01")
    parser.add_argument("--json", type=Path, help="write all summaries to this file")
    parser.add_argument(
        "--record", action="store_true", help="write each summary to milestones/results/"
    )
    args = parser.parse_args(argv)
    console = Console()
    results: dict[str, dict[str, Any]] = {}
    failed = False
    for path in discover():
        if args.only and not any(path.stem.startswith(o) for o in args.only):
            continue
        try:
            milestone = load(path)
        except ModuleNotFoundError as error:
            if not (error.name or "").startswith("tinytorch"):
                raise
            results[path.stem] = {"status": "locked", "missing": [error.name]}
            continue
        console.rule(f"[bold]{path.stem}")
        start = time.perf_counter()
        try:
            summary = milestone.main(quick=not args.full)
            results[path.stem] = {
                "status": "passed" if summary.get("passed", True) else "failed",
                **summary,
            }
            if args.record and "milestone" in summary:
                record(summary)
        except MissingDataError as error:
            console.print(f"[red]no data:[/red] {error}", highlight=False)
            results[path.stem] = {"status": "no data", "error": str(error)}
        except Exception as error:  # a milestone's crash is reported, the others still run
            console.print_exception()
            results[path.stem] = {"status": "crashed", "error": repr(error)}
        results[path.stem].setdefault("wall_s", time.perf_counter() - start)
        failed |= results[path.stem]["status"] != "passed"
    table = Table(title=f"TinyTorch milestones ({'full' if args.full else 'quick'} mode)")
    for column in ("milestone", "status", "result", "wall time"):
        table.add_column(column)
    for name, result in results.items():
        detail = result.get(
            "headline", ", ".join(result.get("missing", [])) or result.get("error", "")
        )
        wall = f"{result['wall_s']:.1f} s" if "wall_s" in result else "-"
        status = result["status"]
        if result.get("stand_in"):
            status += " (stand-in check)"
        table.add_row(name, status, str(detail), wall)
    console.print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if not results:
        console.print("no milestones found")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
