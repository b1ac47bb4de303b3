"""Grading a student workspace: each module on its own, on top of the reference.

The trust boundary: everything in the workspace is the student's, so nothing there decides the
grade but the code of the module graded.

- **Roster and reference from the instructor.** The modules graded and the reference come from
  the instructor's command line (``tinytorch grade DIR --modules 02-06 --reference REPO``),
  never from ``workspace.json``, which the student can edit.
- **The reference's tests and count.** Module N's tests are the reference's, and the denominator
  is the number of tests pytest collects from them on the reference. A test that is skipped,
  errors, times out or never runs (the process died, a collection error, ``pytest.exit``) counts
  as failed: only a reference test id reported ``passed`` scores. The one exception: a test the
  student's run skips is run again on the reference, and if the reference skips it too here
  (PyTorch or a dataset missing on the grading machine) it leaves the count, with a note.
- **Exactly the student's module N.** The run sees ``tinytorch/<N's name>`` from the student's
  ``src`` (``backup/`` while swapped for the reference) and the reference versions of modules
  1..N-1, nothing else: other folders under the student's ``src/`` (a ``tinytorch/setup`` with an
  ``assert_close`` that never fails) are not copied.
- **Contained.** Each module runs in a temporary copy (its tests, the reference code, the
  student's module), in a child process of its own with a memory limit and a CPU-time limit
  (``resource.setrlimit``) and a wall-clock limit; a limit hit is reported as such, and the tests
  that finished before it still count.

A module that does not compile gets zero, with the file and line of the error. Modules are graded
in parallel, one process each.

What this does not stop: the student's code runs inside the pytest process it is tested by, so
code written to tamper with pytest itself (its report hooks, its results file) is not contained;
read the code of a surprising grade.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from tinytorch.course.__about__ import __version__
from tinytorch.course.layout import ModulePackage
from tinytorch.course.testrun import Failure, Limits, TestResult, run_tests
from tinytorch.course.workspace import COPY_IGNORE, Reference, Workspace, WorkspaceError

__all__ = [
    "Limits",
    "ModuleGrade",
    "compile_errors",
    "grade_workspace",
    "grades_report",
    "student_src",
    "write_grades",
]

SKIPPED = "skipped (a skipped test counts as failed)"
NOT_RUN = "not run (the run stopped, or the test was not collected): counts as failed"


@dataclass(frozen=True)
class ModuleGrade:
    """The grade of one module: reference tests passed out of the reference's test count."""

    number: str
    name: str
    passed: int
    total: int
    failures: tuple[Failure, ...] = ()
    error: str | None = None  # why the run was cut short (syntax error, a limit, a crash)
    seconds: float = 0.0
    skipped: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    limit: str | None = None  # "time" or "memory" when the run hit a limit

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


def student_src(workspace: Workspace, module: ModulePackage) -> Path | None:
    """The student's own ``tinytorch/<name>`` folder of ``module``: from ``backup/`` while the
    reference version is swapped in (``tinytorch reference NN``), else from ``src/``. Decided
    from the folders, not from ``workspace.json``."""
    backup = workspace.backup(module) / "tinytorch" / module.name
    if backup.is_dir():
        return backup
    own = workspace.root / "packages" / module.folder.name / "src" / "tinytorch" / module.name
    return own if own.is_dir() else None


@dataclass
class _Plan:
    workspace: Workspace
    reference: Reference
    scratch: Path
    timeout: float
    limits: Limits
    modules: Sequence[ModulePackage]  # the reference's modules
    reference_src: dict[str, Path] = field(default_factory=dict)
    expected: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def source(self, module: ModulePackage) -> Path:
        """The reference ``tinytorch/<name>`` folder of ``module`` (unpacked once)."""
        if module.number not in self.reference_src:
            src = self.reference.src(module, self.scratch / "unpacked")
            if src is None or not (src / "tinytorch" / module.name).is_dir():
                raise WorkspaceError(
                    f"the {self.reference.description} has no reference version of "
                    f"{module.distribution}, which grading needs"
                )
            self.reference_src[module.number] = src / "tinytorch" / module.name
        return self.reference_src[module.number]

    def tests(self, module: ModulePackage) -> Path:
        tests = self.reference.tests(module)
        if tests is None:
            raise WorkspaceError(
                f"the {self.reference.description} has no tests of {module.distribution}: "
                f"grade against a repository checkout (--reference REPO), whose tests are the "
                f"instructor's"
            )
        return tests

    def sandbox(self, module: ModulePackage, own: Path | None, tag: str) -> tuple[Path, list[Path]]:
        """A fresh folder laid out like the repository (``root/``): the reference's
        ``pyproject.toml``, module N's package folder from the reference (tests, README, ...)
        with ``own`` (the student's ``tinytorch/<name>``, or the reference's when None) as its
        code, and the reference code of the modules before it. Returns the folder and the
        namespace (``src/tinytorch`` folders, module N first)."""
        box = Path(tempfile.mkdtemp(prefix=f"{module.number}-{tag}-", dir=self.scratch))
        root = box / "root"
        reference_root = Path(getattr(self.reference, "root", ""))
        if (reference_root / "pyproject.toml").is_file():
            root.mkdir()
            shutil.copy2(reference_root / "pyproject.toml", root / "pyproject.toml")
        package = self.tests(module).parent
        target = root / "packages" / module.folder.name

        def ignore(folder: str, names: list[str]) -> set[str]:  # the code comes below
            return set(COPY_IGNORE(folder, names)) | ({"src"} if Path(folder) == package else set())

        shutil.copytree(package, target, ignore=ignore)
        namespace = []
        for folder, src in [(module.folder.name, own or self.source(module))] + [
            (m.folder.name, self.source(m)) for m in self.modules if m.number < module.number
        ]:
            code = root / "packages" / folder / "src" / "tinytorch" / src.name
            shutil.copytree(src, code, ignore=COPY_IGNORE)
            namespace.append(code.parent)
        return box, namespace

    def run(
        self,
        module: ModulePackage,
        own: Path | None,
        args: Sequence[str],
        only: Sequence[str] = (),
    ) -> TestResult:
        """Run the tests of ``module`` (only the node ids ``only``, when given) in a fresh
        sandbox, on the student's ``own`` module or (None) on the reference."""
        box, namespace = self.sandbox(module, own, "student" if own else "reference")
        tests = [box / "root" / "packages" / module.folder.name / "tests"]
        if only:
            tests = [box / "root" / node for node in only]
        try:
            return run_tests(
                namespace,
                tests,
                rootdir=box / "root",
                cwd=box / "root",  # as in the repository: a spawned process finds the tests
                pythonpath=[box / "root"],
                args=args,
                timeout=self.timeout,
                limits=self.limits,
            )
        finally:
            shutil.rmtree(box, ignore_errors=True)

    def expected_tests(self, module: ModulePackage) -> tuple[str, ...]:
        """The node ids pytest collects from the reference tests on the reference code."""
        if module.number not in self.expected:
            result = self.run(module, None, ["--collect-only"])
            if not result.collected_ids:
                raise WorkspaceError(
                    f"the reference tests of {module.label} collect no tests on the reference "
                    f"({result.error or result.summary()})"
                )
            self.expected[module.number] = result.collected_ids
        return self.expected[module.number]


def _grade(plan: _Plan, module: ModulePackage) -> ModuleGrade:
    expected = plan.expected_tests(module)
    total = len(expected)
    own = student_src(plan.workspace, module)
    problem: str | None
    if own is None:
        problem = f"no tinytorch/{module.name} of the student's (in src/ or backup/)"
    else:
        problem = compile_errors(own, plan.workspace.root)
    if problem is not None:
        return ModuleGrade(module.number, module.name, 0, total, error=problem)
    result = plan.run(module, own, ["--continue-on-collection-errors"])
    notes = []
    skipped = [node for node in expected if result.outcomes.get(node) == "skipped"]
    if skipped:  # a test the reference itself skips here (no torch, no data) is not counted
        check = plan.run(module, None, [], only=skipped)
        also = {node for node in skipped if check.outcomes.get(node) == "skipped"}
        if also:
            expected = tuple(node for node in expected if node not in also)
            total = len(expected)
            notes.append(
                f"{len(also)} tests skip on the reference here too, so they are not counted "
                f"(e.g. {sorted(also)[0]}: {check.messages.get(sorted(also)[0], '')})"
            )
    passed = sum(result.outcomes.get(node) == "passed" for node in expected)
    failures = []
    for node in expected:
        outcome = result.outcomes.get(node)
        if outcome == "passed":
            continue
        if outcome == "skipped":
            message = f"{SKIPPED}: {result.messages.get(node, '')}".rstrip(": ")
        elif outcome is None:
            message = NOT_RUN if result.limit is None else f"not run: {result.error}"
        else:
            message = result.messages.get(node, "")
        failures.append(Failure(node, message))
    failures += [f for f in result.failures if f.test not in set(expected)]  # collection errors
    if result.limit == "memory" and result.error is None:
        notes.append(f"memory limit of {plan.limits.memory_mib} MiB reached (MemoryError)")
    return ModuleGrade(
        module.number,
        module.name,
        passed,
        total,
        failures=tuple(failures),
        error=result.error,
        seconds=result.seconds,
        skipped=sum(result.outcomes.get(node) == "skipped" for node in expected),
        notes=tuple(notes),
        limit=result.limit,
    )


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def grade_workspace(
    workspace: Workspace,
    reference: Reference,
    modules: Sequence[ModulePackage],
    reference_modules: Sequence[ModulePackage],
    jobs: int | None = None,
    timeout: float = 300,
    memory_mib: int | None = 4096,
    on_done: Callable[[ModuleGrade], object] | None = None,
) -> list[ModuleGrade]:
    """Grade ``modules`` (the instructor's roster, modules of the reference) of ``workspace``;
    see the module doc.

    ``reference_modules``: every module of the reference (they decide what "modules 1..N-1"
    are). ``jobs``: modules graded at once (default: the usable CPU cores).
    ``timeout``: wall-clock seconds for one module's tests (also its CPU-time limit per core);
    ``memory_mib``: its address-space limit (None: none). ``on_done`` is called with each grade.
    """
    chosen = list(modules)
    with tempfile.TemporaryDirectory(prefix="tinytorch-grade-") as scratch:
        limits = Limits(seconds=timeout, memory_mib=memory_mib)
        plan = _Plan(workspace, reference, Path(scratch), timeout, limits, reference_modules)
        for module in chosen:  # unpack every reference up front (not thread-safe)
            for other in reference_modules:
                if other.number <= module.number:
                    plan.source(other)

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
