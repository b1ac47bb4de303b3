"""The instructor's round trip on the real modules: generate a student workspace, copy the
reference solutions back into the fences, and grade it (full marks); then break one function
of module 03 and grade again: exactly module 03's tests that use it fail, while 04 and 05 --
graded on the reference 03 -- still pass; a syntax error zeroes its module only, naming the file
and line; ``tinytorch reference 99`` says there is no such module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinytorch.course import cli
from tinytorch.course.fences import find_fences, restore_solutions, strip_solutions
from tinytorch.course.layout import discover_modules, module_by_number
from tinytorch.course.workspace import Workspace, create_workspace

ROOT = Path(__file__).resolve().parents[1]
MODULES = discover_modules(ROOT)
FENCED = [m for m in MODULES if any(find_fences(p.read_text()) for p in m.src.rglob("*.py"))]

pytestmark = pytest.mark.skipif(
    not MODULES, reason=f"no packages/NN-name/ folders under {ROOT}: not run from the repository"
)


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Workspace:
    """A workspace with every module assigned, then the reference solutions copied back."""
    workspace = create_workspace(tmp_path_factory.mktemp("roundtrip") / "ws", ROOT)
    for module in MODULES:
        for path in sorted(module.src.rglob("*.py")):
            reference = path.read_text(encoding="utf-8")
            target = workspace.root / path.relative_to(ROOT)
            if find_fences(reference):
                target.write_text(restore_solutions(target.read_text(), reference), "utf-8")
            assert target.read_text(encoding="utf-8") == reference, target
    return workspace


def _grade(workspace: Workspace, *args: str) -> dict:
    output = workspace.root / "grades.json"
    assert cli.main(["grade", str(workspace.root), "--reference", str(ROOT), *args]) == 0
    return json.loads(output.read_text())["modules"]


def test_workspace_layout(solved: Workspace) -> None:
    for name in ("README.md", "noxfile.py", "pyproject.toml", "workspace.json", "milestones"):
        assert (solved.root / name).exists(), name
    # the course tools travel with the workspace: `pip install ./packages/course`, and the
    # workspace noxfile loads their package discovery by path
    assert (solved.root / "packages/course/src/tinytorch/course/packages.py").is_file()
    assert ".tinytorch/" in (solved.root / ".gitignore").read_text().splitlines()
    assert [m.number for m in solved.assigned()] == [m.number for m in FENCED]
    readme = (solved.root / "README.md").read_text()
    for module in MODULES:
        assert f"| {module.number} | `{module.name}` |" in readme


def test_solved_workspace_gets_full_marks(solved: Workspace) -> None:
    grades = _grade(solved)
    assert sorted(grades) == [m.number for m in FENCED]
    for number, grade in grades.items():
        assert grade["error"] is None, (number, grade["error"])
        assert grade["failures"] == [], (number, grade["failures"][:3])
        assert grade["passed"] == grade["total"] > 0, number


def test_one_broken_function_fails_only_its_own_tests(solved: Workspace) -> None:
    layers = module_by_number(solved.modules, "03")
    linear = layers.src / "tinytorch" / "layers" / "linear.py"
    reference = (ROOT / linear.relative_to(solved.root)).read_text(encoding="utf-8")
    index = [f.function for f in find_fences(reference)].index("LinearOp.forward")
    linear.write_text(strip_solutions(reference, "layers", select={index}), encoding="utf-8")
    try:
        grades = _grade(solved, "--modules", "03-05")
    finally:
        linear.write_text(reference, encoding="utf-8")
    assert sorted(grades) == ["03", "04", "05"]
    broken = grades["03"]
    assert broken["error"] is None and 0 < broken["passed"] < broken["total"]
    assert broken["passed"] + len(broken["failures"]) == broken["total"]
    for failure in broken["failures"]:
        assert failure["test"].startswith("packages/03-layers/tests/"), failure
        assert "layers: LinearOp.forward - see the HINT above" in failure["message"], failure
    for number in ("04", "05"):
        assert (
            grades[number]["failures"] == [] and grades[number]["passed"] == grades[number]["total"]
        ), number


def test_a_syntax_error_zeroes_only_its_module(solved: Workspace) -> None:
    module = module_by_number(solved.modules, "04")
    path = sorted(p for p in module.src.rglob("*.py") if find_fences(p.read_text()))[0]
    original = path.read_text(encoding="utf-8")
    line = len(original.splitlines()) + 2
    path.write_text(original + "\ndef broken(:\n    pass\n", encoding="utf-8")
    try:
        grades = _grade(solved, "--modules", "04-05")
    finally:
        path.write_text(original, encoding="utf-8")
    shown = path.relative_to(solved.root)
    assert grades["04"]["passed"] == 0 and grades["04"]["total"] > 0
    assert grades["04"]["error"].startswith(f"syntax error in {shown} line {line}: ")
    assert grades["05"]["passed"] == grades["05"]["total"] > 0


def test_reference_99_says_no_such_module(solved: Workspace) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "tinytorch.course", "reference", "99"],
        cwd=solved.root,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2
    assert "no such module '99'" in proc.stdout
