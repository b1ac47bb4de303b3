"""The course commands end to end on the fake repository: student init, test, status,
reference, run, grade and fences (each runs pytest in a child process, as students do)."""

import json
import re
from pathlib import Path

import pytest

from tinytorch.course import cli
from tinytorch.course.fences import find_fences, restore_solutions


def _text(capsys) -> str:
    """Captured output with rich's table borders removed and whitespace collapsed."""
    out = re.sub("[\u2500-\u257f]", " ", capsys.readouterr().out)
    return " ".join(out.split())


def _init(course: Path, dest: Path, monkeypatch, *extra: str) -> Path:
    monkeypatch.chdir(course)
    assert cli.main(["student", "init", str(dest), *extra]) == 0
    monkeypatch.chdir(dest)
    return dest


def _solve(workspace: Path, course: Path, *numbers: str) -> None:
    """Copy the reference solutions back into the fences of the given modules."""
    for path in sorted((course / "packages").rglob("*.py")):
        relative = path.relative_to(course)
        if relative.parts[1][:2] in numbers and find_fences(path.read_text()):
            target = workspace / relative
            target.write_text(restore_solutions(target.read_text(), path.read_text()))


def test_student_init_and_test_of_a_skeleton(course, tmp_path, monkeypatch, capsys):
    workspace = _init(course, tmp_path / "ws", monkeypatch, "--modules", "02-03")
    out = _text(capsys)
    assert "02 tensor student version 2" in out and "04 activations reference version 0" in out
    assert "pip install ./packages/course './packages/01-setup[test]'" in out
    assert cli.main(["test", "03"]) == 1
    out = _text(capsys)
    assert "module 03 layers: 0 passed, 2 failed (of 2)" in out
    assert "2 of the failures are NotImplementedErrors: code still to write" in out
    assert "first failure: packages/03-layers/tests/test_fake_layers.py::test_double" in out
    assert "NotImplementedError: layers: Doubler.__call__ - see the HINT above" in out
    _solve(workspace, course, "02")
    assert cli.main(["test", "2"]) == 0
    assert "module 02 tensor: all 3 tests passed" in _text(capsys)
    assert cli.main(["test", "03", "-k", "negative", "-x", "-v"]) == 1
    out = _text(capsys)
    assert "0 passed, 1 failed (of 1)" in out and "layers: Doubler.__call__" in out
    assert "Traceback" in out or "def __call__" in out  # -v shows pytest's report


def test_test_needs_a_course_folder_and_a_module_that_is_there(
    tmp_path, course, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["test", "03"]) == 2
    assert "is not inside a TinyTorch workspace or repository" in _text(capsys)
    monkeypatch.chdir(course)
    assert cli.main(["test", "07"]) == 2
    assert "no such module '07' here" in _text(capsys)


def test_solved_workspace_status_and_milestones(course, tmp_path, monkeypatch, capfd):
    workspace = _init(course, tmp_path / "ws", monkeypatch)
    _solve(workspace, course, "02", "03")
    capfd.readouterr()
    assert cli.main(["status"]) == 0
    out = _text(capfd)
    assert "02 tensor yours not run yet" in out
    assert "m01_double locked: needs 02 tensor, 03 layers passing" in out
    for number in ("02", "03"):
        assert cli.main(["test", number]) == 0
    assert cli.main(["status"]) == 0
    out = _text(capfd)
    assert "02 tensor yours passing (3 tests)" in out and "03 layers yours passing (2 tests)" in out
    assert "m01_double unlocked: tinytorch run milestones/m01_double.py" in out
    assert "m02_relu locked: needs 04 activations passing" in out
    ops = workspace / "packages/02-tensor/src/tinytorch/tensor/ops.py"
    ops.write_text(ops.read_text() + "\n# an edit\n")
    assert cli.main(["status"]) == 0
    out = _text(capfd)
    assert "02 tensor yours changed since the last run (then: passing (3 tests))" in out
    assert "m01_double locked" in out
    assert cli.main(["status", "--run-tests"]) == 1  # 04 is still a skeleton
    out = _text(capfd)
    assert "04 activations yours 2 of 2 failing" in out and "m01_double unlocked" in out
    assert cli.main(["run", "milestones/m01_double.py"]) == 0
    assert "milestone 01: 42" in capfd.readouterr().out


def test_reference_swaps_a_module_and_back(course, tmp_path, monkeypatch, capsys):
    workspace = _init(course, tmp_path / "ws", monkeypatch)
    assert cli.main(["reference", "99"]) == 2
    assert "no such module '99'" in _text(capsys)
    assert cli.main(["reference", "07"]) == 2
    assert "no such module '07' here" in _text(capsys)
    assert cli.main(["reference", "03"]) == 0
    assert "module 03 layers now uses the reference version" in _text(capsys)
    assert cli.main(["status"]) == 0
    assert "03 layers reference (yours is in backup/)" in _text(capsys)
    assert cli.main(["reference", "03", "--undo"]) == 0
    assert "uses your own version again" in _text(capsys)
    assert cli.main(["reference", "03", "--undo"]) == 0
    assert "already uses your own version" in _text(capsys)
    monkeypatch.chdir(course)
    assert cli.main(["reference", "03"]) == 2
    assert "Not in a student workspace" in _text(capsys)
    assert cli.main(["reference", "03", "--workspace", str(workspace)]) == 0


def test_grade_isolates_modules_and_zeroes_syntax_errors(course, tmp_path, monkeypatch, capsys):
    workspace = _init(course, tmp_path / "ws", monkeypatch)
    _solve(workspace, course, "02", "04")  # 03 stays a skeleton
    assert cli.main(["grade", str(workspace), "--jobs", "2", "--reference", str(course)]) == 0
    out = _text(capsys)
    assert f"wrote {workspace / 'grades.json'}" in out
    assert "03 layers 0/2 0% test_fake_layers.py::test_double: NotImplementedError" in out
    assert "total 5/7" in out
    grades = json.loads((workspace / "grades.json").read_text())
    summary = {n: (m["passed"], m["total"], m["error"]) for n, m in grades["modules"].items()}
    assert summary == {"02": (3, 3, None), "03": (0, 2, None), "04": (2, 2, None)}
    assert grades["modules"]["03"]["failures"][0] == {
        "test": "packages/03-layers/tests/test_fake_layers.py::test_double",
        "message": "NotImplementedError: layers: Doubler.__call__ - see the HINT above",
    }
    assert (grades["passed"], grades["total"]) == (5, 7)
    assert grades["reference"] == f"repository {course}"
    broken = workspace / "packages/04-activations/src/tinytorch/activations/__init__.py"
    broken.write_text(broken.read_text().replace("def relu(x):", "def relu(x)"))
    output = tmp_path / "out.json"
    argv = ["grade", str(workspace), "--modules", "04", "--output", str(output)]
    assert cli.main([*argv, "--reference", str(course)]) == 0
    entry = json.loads(output.read_text())["modules"]["04"]
    assert (entry["passed"], entry["total"]) == (0, 2)
    assert entry["error"] == (
        "syntax error in packages/04-activations/src/tinytorch/activations/__init__.py "
        "line 4: expected ':'"
    )
    assert "syntax error in packages/04-activations" in _text(capsys)


def test_grade_uses_the_reference_tests_and_the_backup(course, tmp_path, monkeypatch, capsys):
    workspace = _init(course, tmp_path / "ws", monkeypatch)
    _solve(workspace, course, "02")
    (workspace / "packages/02-tensor/tests/test_fake_tensor.py").write_text("")  # no tests: no gain
    (workspace / "packages/03-layers/tests/test_fake_layers.py").unlink()
    assert cli.main(["reference", "03"]) == 0  # graded with the student's own 03 from backup/
    assert (
        cli.main(["grade", str(workspace), "--modules", "02-03", "--reference", str(course)]) == 0
    )
    grades = json.loads((workspace / "grades.json").read_text())["modules"]
    assert (grades["02"]["passed"], grades["02"]["total"]) == (3, 3)
    assert (grades["03"]["passed"], grades["03"]["total"]) == (0, 2)


def test_grade_refuses_what_is_not_a_workspace(course, tmp_path, capsys):
    assert cli.main(["grade", str(course)]) == 2
    assert "is not a student workspace" in _text(capsys)


def test_fences_list_and_check(course, monkeypatch, capsys):
    monkeypatch.chdir(course)
    assert cli.main(["fences"]) == 0
    assert "02 tensor 2 1 add, scale" in _text(capsys)
    assert cli.main(["fences", "--check"]) == 0
    out = _text(capsys)
    assert "02 tensor: all 2 fences tested (3 tests)" in out
    assert "04 activations: all 1 fences tested (2 tests)" in out
    ops = course / "packages/02-tensor/src/tinytorch/tensor/ops.py"
    fenced = "# BEGIN " + "SOLUTION\n    return -x\n    # END " + "SOLUTION\n"
    ops.write_text(ops.read_text() + f"\n\ndef negate(x):\n    {fenced}")
    assert cli.main(["fences", "02", "--check", "--source", str(course)]) == 1
    out = _text(capsys)
    assert "ops.py:18 (negate): not tested -- no test reaches it" in out
    assert cli.main(["fences", "12"]) == 2
    assert "no such module '12' here" in _text(capsys)


@pytest.mark.parametrize("argv", [["student", "init"], ["test"], ["grade"], ["reference"]])
def test_course_commands_require_their_arguments(argv, capsys):
    with pytest.raises(SystemExit) as err:
        cli.main(argv)
    assert err.value.code == 2


def test_test_output_paths_grammar_and_k(course, tmp_path, monkeypatch, capfd):
    """Newcomer findings: -v output re-wrapped at 80 columns, traceback paths relative to
    .tinytorch/, "1 of the failures are", -k without a match."""
    workspace = _init(course, tmp_path / "ws", monkeypatch, "--modules", "03")
    assert ".tinytorch/" in (workspace / ".gitignore").read_text().splitlines()
    monkeypatch.setenv("COLUMNS", "80")
    capfd.readouterr()
    assert cli.main(["test", "03", "-k", "negative", "-v"]) == 1
    out = capfd.readouterr().out
    lines = out.splitlines()
    node = "packages/03-layers/tests/test_fake_layers.py::test_double_negative"
    assert any(node in line for line in lines), out  # one piece, never broken across lines
    assert "packages/03-layers/src/tinytorch/layers/core.py:" in out and "../" not in out
    assert "1 of the failures is a NotImplementedError: code still to write" in out
    assert cli.main(["test", "03", "-k", "negative"]) == 1  # the summary: one line per id too
    assert f"  first failure: {node}\n" in capfd.readouterr().out
    assert cli.main(["test", "03", "-k", "nothing_like_this"]) == 1
    out = " ".join(capfd.readouterr().out.split())
    assert "no test of module 03 layers matches -k 'nothing_like_this'" in out
    assert "first failure" not in out and "-x -v" not in out


def test_run_a_locked_milestone_and_status_of_reference_modules(
    course, tmp_path, monkeypatch, capfd
):
    """Newcomer findings: `tinytorch run` on a locked milestone printed a raw traceback;
    `status` asked for the tests of reference modules before anything unlocked."""
    workspace = _init(course, tmp_path / "ws", monkeypatch, "--modules", "03")
    capfd.readouterr()
    assert cli.main(["status"]) == 0
    out = _text(capfd)
    assert "02 tensor reference reference: counts as passing" in out
    assert "m01_double locked: needs 03 layers passing" in out
    assert cli.main(["run", "milestones/m01_double.py"]) == 1
    out = _text(capfd)
    assert "m01_double is locked: needs 03 layers passing" in out
    assert cli.main(["run", "--force", "milestones/m01_double.py"]) == 1
    captured = capfd.readouterr()
    assert "NotImplementedError: layers: Doubler.__call__ - see the HINT above" in captured.err
    assert "Traceback" not in captured.err
    assert "packages/03-layers/src/tinytorch/layers/core.py" in captured.err
    _solve(workspace, course, "03")
    assert cli.main(["test", "03"]) == 0
    assert cli.main(["run", "milestones/m01_double.py"]) == 0
    assert "milestone 01: 42" in capfd.readouterr().out


def test_status_in_the_repository_counts_the_reference_until_a_run_fails(
    course, monkeypatch, capsys
):
    monkeypatch.chdir(course)
    assert cli.main(["status"]) == 0
    out = _text(capsys)
    assert "02 tensor repository not run yet (reference: counts as passing)" in out
    assert "m01_double unlocked" in out
    ops = course / "packages/03-layers/src/tinytorch/layers/core.py"
    ops.write_text(ops.read_text().replace("return add(x, x)", "return add(x, 1)"))
    assert cli.main(["test", "03"]) == 1
    assert cli.main(["status"]) == 0
    out = _text(capsys)
    assert "03 layers repository 2 of 2 failing" in out
    assert "m01_double locked: needs 03 layers passing" in out
