"""Time TinyTorch beside PyTorch (CPU) in one process, on the same inputs and thread count.

    python benchmarks/run.py                    every case (a minute or two); writes results/
    python benchmarks/run.py --only matmul      one case (repeat --only for more)
    python benchmarks/run.py --quick            a smoke run: small sizes, few repeats, no results/
    python benchmarks/run.py --threads 1        single-threaded BLAS on both sides
    python benchmarks/run.py --no-torch         TinyTorch alone, even if PyTorch is installed
    python benchmarks/run.py --json all.json    also write every case's results to one file

The thread count (default: every core this process may use) goes to NumPy's BLAS through
``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS``, which a BLAS reads once,
when NumPy is first imported: so this script sets them before importing NumPy, and gives the same
count to PyTorch with ``torch.set_num_threads``. Full runs write ``benchmarks/results/<case>.json``
(the latest results are committed); the cases are listed in ``benchmarks/cases/__init__.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).parent
RESULTS = HERE / "results"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
sys.path.insert(0, str(HERE))  # `import harness` and `import cases`, as the cases do


def usable_cores() -> int:
    """Cores this process may run on (a container or ``taskset`` may allow fewer than exist)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def set_threads(threads: int) -> bool:
    """Export the thread count for the BLAS libraries; False if NumPy was imported too early."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    return "numpy" not in sys.modules


def import_torch(threads: int) -> ModuleType | None:
    """PyTorch with ``threads`` intra-op threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="one case")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--threads", type=int, help="threads for both sides (default: cores)")
    parser.add_argument("--no-torch", action="store_true", help="time TinyTorch alone")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write all results here")
    return parser.parse_args(argv)


def case_table(name: str, title: str, rows: list[Any], peak_gflops: float, torch: bool) -> Table:
    """One case's rows; columns for PyTorch, per-op times and GFLOP/s only where they apply."""
    from harness import format_rate, format_timing
    from tinytorch.setup import format_seconds

    per_unit = any(row.units for row in rows)
    rates = any(row.flops for row in rows)
    table = Table(title=f"{name}: {title}", title_justify="left")
    table.add_column("benchmark")
    table.add_column("TinyTorch (IQR)", justify="right")
    if torch:
        table.add_column("PyTorch (IQR)", justify="right")
        table.add_column("TT/PT", justify="right")
    if per_unit:
        table.add_column("per op/use TT" + (" | PT" if torch else ""), justify="right")
    if rates:
        table.add_column("GFLOP/s TT (% peak)", justify="right")
        if torch:
            table.add_column("GFLOP/s PT (% peak)", justify="right")
    notes = any(row.note for row in rows)
    if notes:
        table.add_column("note")
    for row in rows:
        cells = [row.label, format_timing(row.tinytorch)]
        if torch:
            ratio = row.ratio
            cells += [format_timing(row.pytorch), f"{ratio:.2f}x" if ratio is not None else "-"]
        if per_unit:
            sides = [row.tinytorch, row.pytorch] if torch else [row.tinytorch]
            per = [
                format_seconds(t.median_s / row.units) if t is not None and row.units else "-"
                for t in sides
            ]
            cells.append(" | ".join(per) if any(p != "-" for p in per) else "-")
        if rates:
            cells.append(format_rate(row.gflops(row.tinytorch), peak_gflops))
            if torch:
                cells.append(format_rate(row.gflops(row.pytorch), peak_gflops))
        if notes:
            cells.append(row.note)
        table.add_row(*cells)
    return table


def text_table(extra: Any) -> Table:
    """A case's extra table (`harness.TextTable`): text cells, numbers right-aligned."""
    table = Table(title=extra.title, title_justify="left")
    for i, column in enumerate(extra.columns):
        table.add_column(column, justify="left" if i < extra.text_columns else "right")
    for row in extra.rows:
        table.add_row(*row)
    return table


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 160  # a log file or CI: wide enough for the tables
    threads = args.threads or usable_cores()
    if not set_threads(threads):
        console.print(
            f"[yellow]NumPy was imported before the thread count was set: its BLAS keeps its "
            f"own thread count, not {threads}[/yellow]"
        )
    import cases
    import harness

    unknown = [name for name in args.only if name not in cases.CASES]
    if unknown:
        console.print(f"[red]unknown case {', '.join(unknown)}; choose from {cases.CASES}[/red]")
        return 2
    torch = None if args.no_torch else import_torch(threads)
    harness.freeze_heap()
    settings = harness.Settings.for_mode(args.quick)
    machine = harness.machine_info(threads, torch)
    peak = harness.matmul_peak(1024 if args.quick else 2048, settings)
    bench = harness.Bench(args.quick, torch, threads, peak["gflops"])

    console.rule("[bold]TinyTorch benchmarks" + (" (quick)" if args.quick else ""))
    console.print(
        f"{machine['cpu']}, {machine['usable_cores']} usable cores, {threads} threads; "
        f"NumPy {machine['numpy']} ({machine['numpy_blas']}); "
        + (f"PyTorch {machine['torch']}" if torch is not None else "PyTorch: not used")
    )
    console.print(
        f"matmul peak (best of {peak['calls']}): float32 np.matmul {peak['n']}^3 = "
        f"{peak['gflops']:,.1f} GFLOP/s; "
        f"timing: median of {settings.repeats} samples of >= {settings.min_sample_s * 1e3:g} ms "
        f"after {settings.warmup} warm-up calls; IQR in brackets"
    )
    busy = machine["cpu_busy_before"]
    if busy is not None and busy > 0.1:
        console.print(
            f"[yellow]other processes kept {busy:.0%} of the CPU busy just before the start: "
            f"timings will be noisy (a busy core can slow multi-threaded BLAS many-fold)[/yellow]"
        )
    torch_note = None
    if torch is None:
        torch_note = "PyTorch not used (--no-torch)" if args.no_torch else harness.TORCH_MISSING
        console.print(f"[yellow]{torch_note} -- timing TinyTorch alone[/yellow]")

    results: dict[str, Any] = {}
    failed = False
    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    for name in args.only or cases.CASES:
        start = time.perf_counter()
        try:
            case = cases.load(name)
        except cases.Locked as locked:
            results[name] = {"case": name, "status": "locked", "reason": str(locked)}
            console.print(f"{name}: locked ({locked})")
            continue
        harness.freeze_heap()
        before = harness.cpu_snapshot()
        try:
            report = case.run(bench)
        except Exception as error:  # one crashed case is reported, the others still run
            console.print_exception()
            results[name] = {"case": name, "status": "crashed", "error": repr(error)}
            failed = True
            continue
        others = harness.others_busy(before, harness.cpu_snapshot())
        console.print(case_table(name, case.TITLE, report.rows, peak["gflops"], torch is not None))
        for extra in report.tables:
            console.print(text_table(extra))
        if others is not None and others > 0.1:
            console.print(
                f"[yellow]{name}: other processes used {others:.0%} of the CPU meanwhile; "
                f"these numbers are suspect[/yellow]"
            )
        results[name] = {
            "case": name,
            "title": case.TITLE,
            "status": "ok",
            "date": date,
            "quick": args.quick,
            "wall_s": time.perf_counter() - start,
            "others_cpu_fraction": others,
            "machine": machine,
            "peak": peak,
            "settings": dataclasses.asdict(settings),
            "torch_note": torch_note,
            "rows": [row.to_json(peak["gflops"]) for row in report.rows],
            "summary": report.summary,
            "tables": [extra.to_json() for extra in report.tables],
        }
        if not args.quick:
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / f"{name}.json").write_text(json.dumps(results[name], indent=2) + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
