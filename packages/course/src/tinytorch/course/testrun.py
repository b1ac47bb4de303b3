"""Run a module's tests (or a script) against chosen source folders, without installing them.

A student's workspace holds one folder per module (``packages/03-layers/src/tinytorch/layers``).
To test module 03 with the student's own 03 and the reference 01-02, the test process must import
``tinytorch.layers`` from one folder and ``tinytorch.tensor`` from another. ``tinytorch`` is a
PEP 420 namespace, so that is one list of folders: the child process (``_child.py``) builds the
``tinytorch`` namespace module from exactly the folders given here before anything is imported,
so whatever TinyTorch the calling environment has installed can never shadow the code under test.

Each run is one ``python -m pytest -q -p no:cacheprovider`` process in a session of its own; its
outcome comes back as a ``TestResult`` (counts, and each failure with its message) read from a
JSON-lines report written as the tests finish. ``Limits`` put a memory limit and a CPU-time limit
on the process (``resource.setrlimit``) and a wall-clock limit on the run; at the wall-clock limit
the whole process group is killed and the tests that finished before still count.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Failure", "Limits", "TestResult", "child_command", "run_script", "run_tests"]

CHILD_ENV = "TINYTORCH_CHILD"


@dataclass(frozen=True)
class Limits:
    """What one run may use: ``memory_mib`` of address space (None: no limit) and ``seconds`` of
    CPU time per usable core (``RLIMIT_CPU``); the wall-clock limit is ``run_tests``'s
    ``timeout``."""

    seconds: float = 300
    memory_mib: int | None = 4096

    def child_config(self) -> dict[str, int]:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        config = {"cpu_seconds": int(self.seconds * max(1, cores)) + 1}
        if self.memory_mib:
            config["memory_bytes"] = int(self.memory_mib) << 20
        return config


@dataclass(frozen=True)
class Failure:
    """One failing test (or collection error): its pytest node id and the error's message."""

    test: str
    message: str


@dataclass(frozen=True)
class TestResult:
    """Outcome of one pytest run. ``error`` is set when pytest could not report tests at all
    (it crashed, timed out, found nothing to run) or the code could not be compiled."""

    __test__ = False  # not a pytest test class, despite the name

    passed: int
    failed: int  # failed tests plus errors (in collection, set-up or tear-down)
    skipped: int
    failures: tuple[Failure, ...] = ()
    returncode: int = 0
    seconds: float = 0.0
    output: str = ""
    error: str | None = None
    outcomes: Mapping[str, str] = field(default_factory=dict)  # node id -> passed/failed/...
    collected: int = 0  # tests pytest collected (files that failed to import have none)
    collected_ids: tuple[str, ...] = ()  # their node ids
    messages: Mapping[str, str] = field(default_factory=dict)  # node id -> message (not passed)
    limit: str | None = None  # "time" or "memory" when the run hit a limit

    @property
    def total(self) -> int:
        """Tests that count: passed plus failed (skipped ones do not)."""
        return self.passed + self.failed

    @property
    def ok(self) -> bool:
        """Every test passed (at least one ran) and pytest exited cleanly."""
        return self.error is None and self.failed == 0 and self.passed > 0 and self.returncode == 0

    @property
    def not_implemented(self) -> int:
        """How many failures are a ``NotImplementedError``: code still to be written."""
        return sum("NotImplementedError" in f.message for f in self.failures)

    def summary(self) -> str:
        """One line: ``"40 passed, 16 failed (of 56)"`` or the error."""
        if self.error is not None:
            return self.error
        text = f"{self.passed} passed, {self.failed} failed (of {self.total})"
        return text + (f", {self.skipped} skipped" if self.skipped else "")


def child_command(
    namespace: Sequence[Path],
    mode: str,
    argv: Sequence[str],
    report: Path | None = None,
    shrink: bool = True,
    limits: Limits | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment variable of a child run (see ``_child.py``)."""
    code = Path(__file__).with_name("_child.py").read_text(encoding="utf-8")
    config = {
        "namespace": [str(Path(p).resolve()) for p in namespace],
        "mode": mode,
        "argv": [str(a) for a in argv],
        "report": str(report) if report else None,
        "shrink": shrink,
        "limits": limits.child_config() if limits is not None else None,
    }
    return [sys.executable, "-c", code], {CHILD_ENV: json.dumps(config)}


def _environment(extra: Mapping[str, str], pythonpath: Sequence[Path], namespace: Sequence[Path]):
    env = dict(os.environ)
    env.update(extra)
    # Subprocesses started by a test see the same code through a plain PYTHONPATH.
    parts = [str(p) for p in pythonpath] + [str(Path(p).parent) for p in namespace]
    if env.get("PYTHONPATH"):
        parts.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def _read_report(
    report: Path,
) -> tuple[dict[str, str], dict[str, str], list[Failure], list[str], bool]:
    """Outcomes, messages, failures, collected node ids, and whether the session finished."""
    outcomes: dict[str, str] = {}
    messages: dict[str, str] = {}
    collected: list[str] = []
    finished = False
    lines = report.read_text(encoding="utf-8").splitlines() if report.is_file() else []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
        if "collected" in entry:
            collected = list(entry["collected"])
        elif "exitstatus" in entry:
            finished = True
        elif "test" in entry:
            outcomes[entry["test"]] = entry["outcome"]
            messages[entry["test"]] = entry.get("message", "")
    failures = [
        Failure(node, messages[node])
        for node, outcome in outcomes.items()
        if outcome in ("failed", "error")
    ]
    return outcomes, messages, failures, collected, finished


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        proc.kill()


def run_tests(
    namespace: Sequence[Path],
    tests: Sequence[Path],
    *,
    rootdir: Path,
    cwd: Path | None = None,
    args: Sequence[str] = (),
    pythonpath: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    details: bool = False,
    limits: Limits | None = None,
) -> TestResult:
    """Run pytest on ``tests`` with ``tinytorch`` made of the ``namespace`` folders.

    ``namespace``: ``src/tinytorch`` folders, searched in order. ``rootdir``: the folder whose
    ``pyproject.toml`` holds the pytest configuration (node ids are relative to it). ``cwd``: where
    the process runs (hypothesis keeps its example database there); a temporary folder when None.
    ``pythonpath``: extra import folders (a pytest plugin). ``details``: tracebacks in the
    output and hypothesis's smallest failing examples -- slower; without them a skeleton's
    hundreds of failures take seconds, not minutes. ``limits``: memory and CPU limits of the
    process (see ``Limits``); ``timeout``: the wall-clock limit. Never raises for failing tests.
    """
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tinytorch-test-") as scratch:
        report = Path(scratch) / "report.jsonl"
        argv = ["-q", "-p", "no:cacheprovider", "--rootdir", str(rootdir)]
        if (rootdir / "pyproject.toml").is_file():
            argv += ["-c", str(rootdir / "pyproject.toml")]
        argv += [] if details else ["--tb=no"]
        argv += [*args, *map(str, tests)]
        command, child = child_command(namespace, "pytest", argv, report, details, limits)
        proc = subprocess.Popen(
            command,
            cwd=cwd or scratch,
            env=_environment({**child, **(env or {})}, pythonpath, namespace),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: a timeout kills every descendant
        )
        timed_out = False
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            output, _ = proc.communicate()
        seconds = time.perf_counter() - start
        outcomes, messages, failures, collected, finished = _read_report(report)
    messages = {node: text for node, text in messages.items() if outcomes[node] != "passed"}
    counts = {k: sum(v == k for v in outcomes.values()) for k in ("passed", "skipped")}
    error, limit = None, None
    code = proc.returncode
    memory_errors = sum("MemoryError" in f.message for f in failures)
    if timed_out:
        error, limit = f"time limit of {timeout:.0f} s exceeded (an endless loop?)", "time"
    elif limits is not None and code == -signal.SIGXCPU and not finished:
        error, limit = f"CPU time limit of {limits.seconds:.0f} s exceeded", "time"
    elif not finished and limits is not None and limits.memory_mib and code != 0:
        error = (
            f"the test process died (exit {code}) at the memory limit of {limits.memory_mib} "
            f"MiB, or by itself"
        )
        limit = "memory"
    elif not finished:
        tail = "\n".join(output.strip().splitlines()[-5:])
        error = f"pytest stopped before reporting (exit {code}): {tail}"
    elif code not in (0, 1):
        error = (
            "no tests were collected"
            if code == 5
            else f"pytest exit {code}: {(output.strip().splitlines() or [''])[-1]}"
        )
        if failures:
            error = None  # collection errors: reported as failures, the tests count as failed
    if limit is None and memory_errors and limits is not None and limits.memory_mib:
        limit = "memory"
    return TestResult(
        passed=counts["passed"],
        failed=len(failures),
        skipped=counts["skipped"],
        failures=tuple(failures),
        returncode=code,
        seconds=seconds,
        output=output,
        error=error,
        outcomes=outcomes,
        collected=len(collected),
        collected_ids=tuple(collected),
        messages=messages,
        limit=limit,
    )


def run_script(
    namespace: Sequence[Path], script: Path, args: Sequence[str] = (), cwd: Path | None = None
) -> int:
    """Run a Python script with ``tinytorch`` made of ``namespace``; output goes to the terminal."""
    command, child = child_command(namespace, "run", [str(script), *args])
    env = _environment(child, [script.resolve().parent], namespace)
    return subprocess.run(command, cwd=cwd, env=env).returncode
