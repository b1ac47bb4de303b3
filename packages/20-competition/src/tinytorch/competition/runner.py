"""Running a submission under the rules: a temporary copy, fresh processes, limits, a record.

`run(event, folder)`:

1. copies the submission into a temporary folder (so it cannot change between the check and
   the measurement) and checks it there (`submission.check`): a rule broken -> `Rejected`;
2. measures it in a fresh Python process with the machine's threads, then in a second one
   with one thread (latency only), each under the event's time limit (``subprocess`` timeout)
   and memory limit (``RLIMIT_AS``); a limit hit -> `Rejected` naming the limit;
3. records the measured metrics on the leaderboard, with the machine's description, the
   TinyTorch versions and the submission's sha256. A rejected submission records nothing.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from tinytorch.competition.board import Leaderboard
from tinytorch.competition.events import Event, event_by_name
from tinytorch.competition.submission import Rejected, check

__all__ = ["machine_description", "run", "tinytorch_versions"]

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)

# What running out of address space looks like: Python's exception, the dynamic loader failing
# to map a library (NumPy's import), OpenBLAS failing to allocate its buffers.
OUT_OF_MEMORY = (
    "MemoryError",
    "failed to map segment",
    "Memory allocation",
    "Cannot allocate memory",
    "bad_alloc",
)


def tinytorch_versions() -> dict[str, str]:
    """Every installed TinyTorch distribution and its version."""
    found = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name == "tinytorch" or name.startswith("tinytorch-"):
            found[name] = dist.version
    return dict(sorted(found.items()))


def machine_description() -> str:
    """Processor, CPU count, Python and NumPy versions: what a timing depends on."""
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, NumPy {np.__version__}"
    )


def _limits(memory_mb: int) -> Callable[[], None]:
    def apply() -> None:
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _measure_in_process(event: Event, copy: Path, threads: int | None) -> dict[str, Any]:
    out = copy.parent / f"measured-{threads or 'all'}.json"
    env = dict(os.environ)
    if threads is not None:
        env.update({name: str(threads) for name in THREAD_VARIABLES})
    command = [sys.executable, "-m", "tinytorch.competition.measure", event.to_json(), str(copy)]
    command += [str(out)] + (["--only-latency"] if threads is not None else [])
    try:
        done = subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            timeout=event.time_limit_s,
            preexec_fn=_limits(event.memory_limit_mb),
        )
    except subprocess.TimeoutExpired:
        raise Rejected(f"time limit: measuring took over {event.time_limit_s:g} s") from None
    if not out.is_file():
        output = done.stderr or done.stdout
        if any(sign in output for sign in OUT_OF_MEMORY) or done.returncode in (-9, 137):
            raise Rejected(f"memory limit: over {event.memory_limit_mb} MB of address space")
        tail = output.strip().splitlines()[-3:]
        raise Rejected(f"crashed: the measuring process exited {done.returncode}: {tail}")
    result = json.loads(out.read_text(encoding="utf-8"))
    if "rejected" in result:
        raise Rejected(result["rejected"])
    return dict(result["metrics"])


def run(
    event_name: str | Event,
    folder: str | os.PathLike[str],
    board: str | os.PathLike[str] | None = None,
    single_thread: bool = True,
) -> dict[str, Any]:
    """Check, measure and record the submission in ``folder`` for ``event_name``.

    ``event_name`` may also be an `Event` (e.g. ``dataclasses.replace(EVENTS[name], ...)`` with
    other limits or fewer repeats): the measuring process receives all of its rules.

    Returns the recorded row (see `Leaderboard.record`); raises `Rejected` for a broken rule or
    a limit hit (nothing is recorded then). ``board``: the SQLite file (None: measure only).
    ``single_thread``: also measure the latency on one thread (a second process).
    """
    event = event_name if isinstance(event_name, Event) else event_by_name(event_name)
    with tempfile.TemporaryDirectory(prefix="tinytorch-compete-") as scratch:
        copy = Path(scratch) / "submission"
        source = Path(folder)
        if not source.is_dir():
            raise Rejected(f"schema: {source} is not a folder")
        shutil.copytree(source, copy, symlinks=False)
        submission = check(copy, event.name, set(event.allowed_packages), event.max_bytes)
        metrics = _measure_in_process(event, copy, threads=None)
        if single_thread:
            one = _measure_in_process(event, copy, threads=1)
            metrics["latency_1t_ms"] = one["latency_ms"]
            metrics["latency_1t_p90_ms"] = one["latency_p90_ms"]
            if event.task == "shakespeare":
                metrics["tokens_per_s_1t"] = one["tokens_per_s"]
    row: dict[str, Any] = {
        "event": event.name,
        "name": submission.name,
        "sha256": submission.digest,
        "optimizations": submission.optimizations,
        "metrics": metrics,
        "machine": machine_description(),
        "versions": tinytorch_versions(),
    }
    if board is not None:
        row["id"] = Leaderboard(board).record(row)
    return row
