"""Grading a student workspace: each assigned module on its own, on top of the reference.

Module N is graded with the student's version of N and the reference versions of every module
before it, so a broken module 03 costs the tests of 03 and nothing else. The tests are the
reference's (a repository checkout), so a student who edits or deletes tests gains nothing; with
only reference wheels the workspace's copies are used. Modules are graded in parallel, one pytest
process each. A module that does not compile gets zero, with the file and line of the error.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from tinytorch.course.__about__ import __version__
from tinytorch.course.layout import ModulePackage
from tinytorch.course.testrun import Failure, TestResult, run_tests
from tinytorch.course.workspace import Reference, RepoReference, Workspace, WorkspaceError

__all__ = ["ModuleGrade", "compile_errors", "grade_workspace", "grades_report", "write_grades"]


@dataclass(frozen=True)
class ModuleGrade:
    """The grade of one module: tests passed out of the module's tests."""

    number: str
    name: str
    passed: int
    total: int
    failures: tuple[Failure, ...] = ()
    error: str | None = None  # why the module got no tests run (syntax error, timeout, ...)
    seconds: float = 0.0
    skipped: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def score(self) -> float:
        """``passed / total`` in [0, 1] (0 for a module without tests)."""
        return self.passed / self.total if self.total else 0.0

    @property
    def full_marks(self) -> bool:
        return self.error is None and self.total > 0 and self.passed == self.total


def compile_errors(src: Path, relative_to: Path) -> str | None:
    """The first syntax error among the ``.py`` files of ``src``, as ``"<file> line <n>: <msg>"``
    with the file relative to ``relative_to``; None when every file compiles."""
    for path in sorted(Path(src).rglob("*.py")):
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except SyntaxError as error:
            try:
                shown = path.relative_to(relative_to)
            except ValueError:
                shown = path
            return f"syntax error in {shown} line {error.lineno}: {error.msg}"
        except ValueError as error:  # null bytes
            return f"cannot compile {path}: {error}"
    return None


@dataclass
class _Plan:
    workspace: Workspace
    reference: Reference
    scratch: Path
    timeout: float
    reference_src: dict[str, Path] = field(default_factory=dict)

    def reference_namespace(self, module: ModulePackage, below: bool) -> list[Path]:
        """The reference ``src/tinytorch`` folders of the modules before ``module`` (and of
        ``module`` itself unless ``below``)."""
        folders = []
        for other in self.workspace.modules:
            if other.number < module.number or (other.number == module.number and not below):
                if other.number not in self.reference_src:
                    src = self.reference.src(other, self.scratch)
                    if src is None:
                        raise WorkspaceError(
                            f"the {self.reference.description} has no reference version of "
                            f"{other.distribution}, which grading module {module.label} needs"
                        )
                    self.reference_src[other.number] = src
                folders.append(self.reference_src[other.number] / "tinytorch")
        return folders

    def tests_and_root(self, module: ModulePackage) -> tuple[Path, Path, tuple[str, ...]]:
        tests = self.reference.tests(module)
        if tests is not None and isinstance(self.reference, RepoReference):
            return tests, self.reference.root, ()
        note = "graded with the workspace's copy of the tests (the reference has none)"
        return module.tests, self.workspace.root, (note,)


def _expected_tests(plan: _Plan, module: ModulePackage, tests: Path, root: Path) -> int:
    namespace = plan.reference_namespace(module, below=False)
    run = run_tests(namespace, [tests], rootdir=root, args=["--collect-only"], timeout=plan.timeout)
    return run.collected


def _grade(plan: _Plan, module: ModulePackage) -> ModuleGrade:
    tests, root, notes = plan.tests_and_root(module)
    own = plan.workspace.own_src(module)
    earlier = plan.reference_namespace(module, below=True)
    problem: str | None
    if own is None:
        problem = "no version of the student's own (replaced by the reference, no backup)"
    else:
        problem = compile_errors(own, plan.workspace.root)
    if problem is not None:
        total = _expected_tests(plan, module, tests, root)
        return ModuleGrade(module.number, module.name, 0, total, error=problem, notes=notes)
    assert own is not None
    result: TestResult = run_tests(
        [own / "tinytorch", *earlier],
        [tests],
        rootdir=root,
        args=["--continue-on-collection-errors"],
        timeout=plan.timeout,
    )
    total = result.total
    collection_failed = any("::" not in f.test for f in result.failures)
    if result.error is not None or collection_failed:
        total = max(total, _expected_tests(plan, module, tests, root))
    return ModuleGrade(
        module.number,
        module.name,
        result.passed,
        total,
        failures=result.failures,
        error=result.error,
        seconds=result.seconds,
        skipped=result.skipped,
        notes=notes,
    )


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def grade_workspace(
    workspace: Workspace,
    reference: Reference,
    modules: Sequence[ModulePackage] | None = None,
    jobs: int | None = None,
    timeout: float = 300,
    on_done: Callable[[ModuleGrade], object] | None = None,
) -> list[ModuleGrade]:
    """Grade ``modules`` (default: every assigned module) of ``workspace``; see the module doc.

    ``jobs``: modules graded at once (default: the usable CPU cores). ``timeout``: seconds for
    one module's tests. ``on_done`` is called with each grade as it is ready.
    """
    chosen = list(modules) if modules is not None else workspace.assigned()
    with tempfile.TemporaryDirectory(prefix="tinytorch-grade-") as scratch:
        plan = _Plan(workspace, reference, Path(scratch), timeout)
        for module in chosen:  # unpack every reference up front (not thread-safe)
            plan.reference_namespace(module, below=False)

        def grade(module: ModulePackage) -> ModuleGrade:
            result = _grade(plan, module)
            if on_done is not None:
                on_done(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, jobs or _usable_cores())) as pool:
            return list(pool.map(grade, chosen))


def grades_report(
    grades: Sequence[ModuleGrade], workspace: Workspace, reference: Reference
) -> dict:
    """The content of ``grades.json``."""
    modules = {}
    for grade in grades:
        entry = asdict(grade)
        entry["failures"] = [asdict(f) for f in grade.failures]
        entry["notes"] = list(grade.notes)
        entry["score"] = round(grade.score, 4)
        entry["seconds"] = round(grade.seconds, 2)
        del entry["number"]
        modules[grade.number] = entry
    return {
        "workspace": str(workspace.root),
        "graded": datetime.now().astimezone().isoformat(timespec="seconds"),
        "reference": reference.description,
        "tinytorch_course": __version__,
        "modules": modules,
        "passed": sum(g.passed for g in grades),
        "total": sum(g.total for g in grades),
    }


def write_grades(path: Path, report: dict) -> None:
    """Write ``report`` (from ``grades_report``) as JSON."""
    Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
