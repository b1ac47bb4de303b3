"""Is every solution fence tested? A check for instructors (``tinytorch fences --check``).

A fence is tested when at least one of its module's tests fails once that fence alone raises
``NotImplementedError``. Stubbing every fence at once (the student's skeleton) cannot show this:
the first stub a test reaches hides the others. Running the tests once per fence would cost a
full test run per fence. Instead, one pytest process per module (``_fencegate.py``) runs the
tests once, recording which fences each test reaches, then for each fence re-runs only the tests
that reached it, with that fence switched off, until one fails -- usually the first.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tinytorch.course.fences import Fence, find_fences
from tinytorch.course.layout import ModulePackage, discover_modules
from tinytorch.course.testrun import run_tests

__all__ = ["FenceReport", "FenceStatus", "check_fences", "module_fences"]

GATE = "tinytorch_fence_gate"


@dataclass(frozen=True)
class FenceStatus:
    """One fence: how many tests reach it, and the first that fails when it raises."""

    fence: Fence
    reached_by: int
    failing_test: str | None

    @property
    def tested(self) -> bool:
        return self.failing_test is not None


@dataclass(frozen=True)
class FenceReport:
    """The fences of one module and whether its tests exercise each of them."""

    module: ModulePackage
    fences: tuple[FenceStatus, ...]
    tests: int  # tests run
    reference_failures: tuple[str, ...]  # tests failing on the reference itself
    error: str | None = None  # the check could not run (collection error, timeout)

    @property
    def untested(self) -> list[FenceStatus]:
        return [status for status in self.fences if not status.tested]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.reference_failures and not self.untested


def module_fences(module: ModulePackage) -> list[Fence]:
    """Every fence of ``module``'s source, file by file (paths relative to its folder)."""
    fences = []
    for path in sorted(module.src.rglob("*.py")):
        label = str(Path("packages") / module.folder.name / path.relative_to(module.folder))
        fences += find_fences(path.read_text(encoding="utf-8"), label)
    return fences


def _instrument(source: str, fences: list[Fence], first: int, module: str) -> str:
    lines = source.splitlines(keepends=True)
    for offset, fence in reversed(list(enumerate(fences))):
        message = f"{module}: {fence.function} (fence check)"
        gate = (
            f"{fence.indent}if __import__({GATE!r}).hit({first + offset}):\n"
            f'{fence.indent}    raise NotImplementedError("{message}")\n'
        )
        lines.insert(fence.begin - 1, gate)
    return "".join(lines)


def check_fences(root: Path, module: ModulePackage, timeout: float = 600) -> FenceReport:
    """Check every fence of ``module`` (a package of the course folder ``root``, whose earlier
    modules supply the rest of ``tinytorch``)."""
    earlier = [m.src / "tinytorch" for m in discover_modules(root) if m.number < module.number]
    with tempfile.TemporaryDirectory(prefix="tinytorch-fences-") as scratch_name:
        scratch = Path(scratch_name)
        src = scratch / "src"
        shutil.copytree(module.src, src, ignore=shutil.ignore_patterns("__pycache__"))
        fences: list[Fence] = []
        for path in sorted(module.src.rglob("*.py")):
            label = str(Path("packages") / module.folder.name / path.relative_to(module.folder))
            source = path.read_text(encoding="utf-8")
            found = find_fences(source, label)
            if found:
                copy = src / path.relative_to(module.src)
                copy.write_text(_instrument(source, found, len(fences), module.name), "utf-8")
                fences += found
        plugin = scratch / "plugin"
        plugin.mkdir()
        shutil.copy(Path(__file__).with_name("_fencegate.py"), plugin / f"{GATE}.py")
        report = scratch / "fences.json"
        result = run_tests(
            [src / "tinytorch", *earlier],
            [module.tests],
            rootdir=root,
            args=["-p", GATE],
            pythonpath=[plugin, root],  # a process a test spawns finds the test module
            env={"TINYTORCH_FENCE_COUNT": str(len(fences)), "TINYTORCH_FENCE_REPORT": str(report)},
            timeout=timeout,
        )
        if not report.is_file():
            why = result.error or "; ".join(f"{f.test}: {f.message}" for f in result.failures)
            return FenceReport(module, (), 0, (), error=why or "the check did not report")
        data = json.loads(report.read_text(encoding="utf-8"))
    statuses = tuple(
        FenceStatus(fence, entry["reached_by"], entry["failing_test"])
        for fence, entry in zip(fences, data["fences"], strict=True)
    )
    error = None
    if data["at_import"]:
        where = ", ".join(fences[i].location for i in data["at_import"])
        error = f"fences run while importing (before any test, so untestable here): {where}"
    return FenceReport(
        module, statuses, data["tests"], tuple(data["reference_failures"]), error=error
    )
