"""Run a module's tests (or a script) against chosen source folders, without installing them.

A student's workspace holds one folder per module (``packages/03-layers/src/tinytorch/layers``).
To test module 03 with the student's own 03 and the reference 01-02, the test process must import
``tinytorch.layers`` from one folder and ``tinytorch.tensor`` from another. ``tinytorch`` is a
PEP 420 namespace, so that is one list of folders: the child process (``_child.py``) builds the
``tinytorch`` namespace module from exactly the folders given here before anything is imported,
so whatever TinyTorch the calling environment has installed can never shadow the code under test.

Each run is one ``python -m pytest -q -p no:cacheprovider`` process; its outcome comes back as a
``TestResult`` (counts, and each failure with its message) read from a JSON report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Failure", "TestResult", "child_command", "run_script", "run_tests"]

CHILD_ENV = "TINYTORCH_CHILD"


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
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment variable of a child run (see ``_child.py``)."""
    code = Path(__file__).with_name("_child.py").read_text(encoding="utf-8")
    config = {
        "namespace": [str(Path(p).resolve()) for p in namespace],
        "mode": mode,
        "argv": [str(a) for a in argv],
        "report": str(report) if report else None,
        "shrink": shrink,
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


def _read_report(report: Path) -> tuple[dict[str, str], list[Failure], int]:
    data = json.loads(report.read_text(encoding="utf-8"))
    outcomes = {node: outcome for node, (outcome, _) in data["tests"].items()}
    failures = [
        Failure(node, message)
        for node, (outcome, message) in data["tests"].items()
        if outcome in ("failed", "error")
    ]
    return outcomes, failures, int(data.get("collected", 0))


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
) -> TestResult:
    """Run pytest on ``tests`` with ``tinytorch`` made of the ``namespace`` folders.

    ``namespace``: ``src/tinytorch`` folders, searched in order. ``rootdir``: the folder whose
    ``pyproject.toml`` holds the pytest configuration (node ids are relative to it). ``cwd``: where
    the process runs (hypothesis keeps its example database there); a temporary folder when None.
    ``pythonpath``: extra import folders (a pytest plugin). ``details``: tracebacks in the
    output and hypothesis's smallest failing examples -- slower; without them a skeleton's
    hundreds of failures take seconds, not minutes. Never raises for failing tests.
    """
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tinytorch-test-") as scratch:
        report = Path(scratch) / "report.json"
        argv = ["-q", "-p", "no:cacheprovider", "--rootdir", str(rootdir)]
        if (rootdir / "pyproject.toml").is_file():
            argv += ["-c", str(rootdir / "pyproject.toml")]
        argv += [] if details else ["--tb=no"]
        argv += [*args, *map(str, tests)]
        command, child = child_command(namespace, "pytest", argv, report, shrink=details)
        try:
            proc = subprocess.run(
                command,
                cwd=cwd or scratch,
                env=_environment({**child, **(env or {})}, pythonpath, namespace),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return TestResult(
                0, 0, 0, seconds=time.perf_counter() - start, returncode=-1,
                error=f"timed out after {timeout:.0f} s (an endless loop?)",
            )  # fmt: skip
        output = proc.stdout + proc.stderr
        seconds = time.perf_counter() - start
        if not report.is_file():
            tail = "\n".join(output.strip().splitlines()[-5:])
            return TestResult(
                0, 0, 0, returncode=proc.returncode, seconds=seconds, output=output,
                error=f"pytest stopped before reporting (exit {proc.returncode}): {tail}",
            )  # fmt: skip
        outcomes, failures, collected = _read_report(report)
    counts = {k: sum(v == k for v in outcomes.values()) for k in ("passed", "skipped")}
    error = None
    if proc.returncode not in (0, 1):
        error = (
            "no tests were collected"
            if proc.returncode == 5
            else f"pytest exit {proc.returncode}: {(output.strip().splitlines() or [''])[-1]}"
        )
        if failures:
            error = None  # collection errors: reported as failures, the tests count as failed
    return TestResult(
        passed=counts["passed"],
        failed=len(failures),
        skipped=counts["skipped"],
        failures=tuple(failures),
        returncode=proc.returncode,
        seconds=seconds,
        output=output,
        error=error,
        outcomes=outcomes,
        collected=collected,
    )


def run_script(
    namespace: Sequence[Path], script: Path, args: Sequence[str] = (), cwd: Path | None = None
) -> int:
    """Run a Python script with ``tinytorch`` made of ``namespace``; output goes to the terminal."""
    command, child = child_command(namespace, "run", [str(script), *args])
    env = _environment(child, [script.resolve().parent], namespace)
    return subprocess.run(command, cwd=cwd, env=env).returncode
