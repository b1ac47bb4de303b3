"""The student versions of every module are sound: for each module of the repository,

- the generated skeleton holds no solution text (and no fence markers), and is valid Python;
- its tests fail on the skeleton (the module as a student first receives it);
- its tests pass on the reference, and every fence is tested: with that fence alone raising
  NotImplementedError, at least one test fails (``tinytorch.course.fencecheck``).

Modules are discovered from ``packages/NN-name/``, so a new module is covered when it lands.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tinytorch.course.fencecheck import check_fences, module_fences
from tinytorch.course.fences import STUB_PATTERN, find_fences, solution_leaks
from tinytorch.course.layout import discover_modules
from tinytorch.course.testrun import run_tests
from tinytorch.course.workspace import Workspace, create_workspace

ROOT = Path(__file__).resolve().parents[1]
MODULES = discover_modules(ROOT)
FENCED = [m for m in MODULES if module_fences(m)]

pytestmark = pytest.mark.skipif(
    not MODULES, reason=f"no packages/NN-name/ folders under {ROOT}: not run from the repository"
)


@pytest.fixture(scope="module")
def skeleton(tmp_path_factory) -> Workspace:
    """A workspace in which the student writes every module."""
    return create_workspace(tmp_path_factory.mktemp("student") / "ws", ROOT)


def test_every_module_with_fences_is_covered() -> None:
    """The parametrised tests below cover every fenced module, found from the folders; the
    modules 01-16 (the first module included) are all fenced lessons."""
    numbers = {m.number for m in FENCED}
    assert {f"{n:02d}" for n in range(1, 17)} <= numbers, sorted(numbers)
    assert all(module_fences(m) for m in FENCED)


@pytest.mark.parametrize("module", FENCED, ids=lambda m: m.label)
def test_skeleton_holds_no_solution_text(module, skeleton: Workspace) -> None:
    for path in sorted(module.src.rglob("*.py")):
        reference = path.read_text(encoding="utf-8")
        student = (skeleton.root / path.relative_to(ROOT)).read_text(encoding="utf-8")
        assert solution_leaks(reference, student, str(path.relative_to(ROOT))) == []
        compile(student, str(path), "exec")
        stubs = [line for line in student.splitlines() if STUB_PATTERN.match(line)]
        assert len(stubs) == len(find_fences(reference)), path
        for line in stubs:
            assert f'NotImplementedError("{module.name}: ' in line


@pytest.mark.parametrize("module", FENCED, ids=lambda m: m.label)
def test_module_tests_fail_on_the_skeleton(module, skeleton: Workspace) -> None:
    student = skeleton.root / "packages" / module.folder.name / "src" / "tinytorch"
    earlier = [m.src / "tinytorch" for m in MODULES if m.number < module.number]
    result = run_tests([student, *earlier], [module.tests], rootdir=ROOT, args=["-x"])
    assert not result.ok and result.failures, result.summary()
    assert result.not_implemented, f"{module.label}: the first failure is not a stub: {result}"


@pytest.mark.parametrize("module", FENCED, ids=lambda m: m.label)
def test_tests_pass_on_the_reference_and_every_fence_is_tested(module) -> None:
    report = check_fences(ROOT, module)
    assert report.error is None, report.error
    assert report.reference_failures == (), "tests failing on the reference"
    untested = [
        f"{s.fence.location} ({s.fence.function}): reached by {s.reached_by} tests, none fails"
        for s in report.untested
    ]
    assert not untested, "fences no test exercises:\n" + "\n".join(untested)
    assert len(report.fences) == len(module_fences(module)) and report.tests > 0
