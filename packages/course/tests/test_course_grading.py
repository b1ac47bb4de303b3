"""The grading trust boundary: each test tries one way a student could raise their own grade
(on the fake repository of conftest.py) and shows that it gains nothing.

Fake course: 02 tensor (3 tests, 2 fences, and ``tinytorch.tensor.testing.assert_equal``, the
helper later tests use), 03 layers (2 tests, 1 fence: ``Doubler.__call__``), 04 activations.
"""

import json
import textwrap
from pathlib import Path

import pytest

from tinytorch.course import cli
from tinytorch.course.fences import find_fences, restore_solutions

LAYERS = "packages/03-layers/src/tinytorch/layers"


def _workspace(course: Path, tmp_path: Path, monkeypatch) -> Path:
    """A workspace with every module assigned and 02 and 04 solved (03 is the student's)."""
    monkeypatch.chdir(course)
    workspace = tmp_path / "ws"
    assert cli.main(["student", "init", str(workspace)]) == 0
    for path in sorted((course / "packages").rglob("*.py")):
        relative = path.relative_to(course)
        if relative.parts[1][:2] in ("02", "04") and find_fences(path.read_text()):
            target = workspace / relative
            target.write_text(restore_solutions(target.read_text(), path.read_text()))
    return workspace


def _write_layers(workspace: Path, call_body: str, prelude: str = "") -> None:
    """The student's ``tinytorch.layers.core`` with ``Doubler.__call__`` as given."""
    code = f"""
        {prelude}
        from tinytorch.tensor import add


        class Doubler:
            def __call__(self, x):
{textwrap.indent(textwrap.dedent(call_body).strip(), " " * 16)}


        def double(x):
            return Doubler()(x)
    """
    (workspace / LAYERS / "core.py").write_text(textwrap.dedent(code).lstrip())


def _grade(workspace: Path, course: Path, *extra: str) -> dict:
    argv = ["grade", str(workspace), "--reference", str(course), "--output", "g.json", *extra]
    assert cli.main(argv) == 0
    return json.loads(Path("g.json").read_text())


def test_a_skipped_test_counts_as_failed(course, tmp_path, monkeypatch):
    """Exploit: skip what you cannot solve. ``total = passed + failed`` made 1 passed of 2
    tests, one skipped, full marks. The denominator is the reference's collected count."""
    workspace = _workspace(course, tmp_path, monkeypatch)
    _write_layers(
        workspace, "if x < 0:\n    pytest.skip('later')\nreturn add(x, x)", "import pytest"
    )
    module = _grade(workspace, course, "--modules", "03")["modules"]["03"]
    assert (module["passed"], module["total"], module["skipped"]) == (1, 2, 1)
    assert module["score"] == 0.5
    (failure,) = module["failures"]
    assert failure["test"].endswith("test_double_negative")
    assert failure["message"].startswith("skipped (a skipped test counts as failed)")


def test_stopping_the_run_early_does_not_shrink_the_denominator(course, tmp_path, monkeypatch):
    """Exploit: ``pytest.exit`` after the tests you pass; the tests never run used to leave
    the count."""
    workspace = _workspace(course, tmp_path, monkeypatch)
    _write_layers(
        workspace,
        "if x < 0:\n    pytest.exit('done', returncode=0)\nreturn add(x, x)",
        "import pytest",
    )
    module = _grade(workspace, course, "--modules", "03")["modules"]["03"]
    assert (module["passed"], module["total"]) == (1, 2)
    assert [f["test"].split("::")[1] for f in module["failures"]] == ["test_double_negative"]


def test_roster_and_reference_come_from_the_instructor(course, tmp_path, monkeypatch):
    """Exploit: edit workspace.json -- un-assign the module you did not write, and point the
    reference at a copy of the course whose tests always pass."""
    workspace = _workspace(course, tmp_path, monkeypatch)
    easy = tmp_path / "easy"
    for path in course.rglob("*"):
        if path.is_file():
            target = easy / path.relative_to(course)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = "def test_ok():\n    pass\n" if "/tests/" in str(path) else path.read_text()
            target.write_text(text)
    config = json.loads((workspace / "workspace.json").read_text())
    config["modules"]["03"].update(assigned=False, mode="reference")
    config["reference"]["source"] = str(easy)
    (workspace / "workspace.json").write_text(json.dumps(config))
    monkeypatch.chdir(course)  # the instructor, in the repository: it is the reference
    assert cli.main(["grade", str(workspace), "--output", str(tmp_path / "g.json")]) == 0
    grades = json.loads((tmp_path / "g.json").read_text())
    assert grades["reference"] == f"repository {course}"
    assert sorted(grades["modules"]) == ["02", "03", "04"]  # every fenced module of the reference
    assert (grades["modules"]["03"]["passed"], grades["modules"]["03"]["total"]) == (0, 2)
    assert (grades["passed"], grades["total"]) == (5, 7)


def test_extra_folders_cannot_shadow_earlier_modules(course, tmp_path, monkeypatch):
    """Exploit: ship ``src/tinytorch/tensor/`` inside module 03 with an ``assert_equal`` that
    never fails; student code came first in the namespace, so it replaced the reference 02."""
    workspace = _workspace(course, tmp_path, monkeypatch)
    _write_layers(workspace, "return 0")
    shadow = workspace / "packages/03-layers/src/tinytorch/tensor"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    (shadow / "testing.py").write_text("def assert_equal(actual, expected):\n    pass\n")
    module = _grade(workspace, course, "--modules", "03")["modules"]["03"]
    assert (module["passed"], module["total"]) == (0, 2)
    assert "0 != 8" in module["failures"][0]["message"]


def test_student_code_runs_in_a_temporary_copy(course, tmp_path, monkeypatch):
    """Exploit: student code that rewrites the test files it is tested by (the instructor's
    reference tests, for every later grading) and leaves files behind."""
    workspace = _workspace(course, tmp_path, monkeypatch)
    prelude = textwrap.dedent(
        """
        import pathlib, sys
        for _m in list(sys.modules.values()):
            _f = str(getattr(_m, "__file__", "") or "")
            if "tests" in _f and "test_fake" in _f:
                pathlib.Path(_f).write_text("def test_ok():\\n    pass\\n")
        pathlib.Path(__file__).with_name("left_behind.txt").write_text("x")
        """
    )
    _write_layers(workspace, "return 0", prelude.replace("\n", "\n        "))
    tests = course / "packages/03-layers/tests/test_fake_layers.py"
    before = tests.read_text()
    for _ in range(2):  # the second grading sees the same tests
        module = _grade(workspace, course, "--modules", "03")["modules"]["03"]
        assert (module["passed"], module["total"]) == (0, 2)
    assert tests.read_text() == before
    assert not (workspace / LAYERS / "left_behind.txt").exists()


def test_an_endless_loop_hits_the_time_limit(course, tmp_path, monkeypatch, capsys):
    workspace = _workspace(course, tmp_path, monkeypatch)
    _write_layers(workspace, "while x < 0:\n    pass\nreturn add(x, x)")
    module = _grade(workspace, course, "--modules", "03", "--timeout", "6")["modules"]["03"]
    assert module["error"] == "time limit of 6 s exceeded (an endless loop?)"
    assert module["limit"] == "time"
    assert (module["passed"], module["total"]) == (1, 2)  # the test before the loop counts
    assert "time limit of 6 s exceeded" in capsys.readouterr().out


def test_a_memory_hog_hits_the_memory_limit(course, tmp_path, monkeypatch, capsys):
    workspace = _workspace(course, tmp_path, monkeypatch)
    _write_layers(workspace, "if x < 0:\n    return len(bytearray(8 << 30))\nreturn add(x, x)")
    module = _grade(workspace, course, "--modules", "03", "--memory-limit", "1024")
    module = module["modules"]["03"]
    assert module["limit"] == "memory"
    assert (module["passed"], module["total"]) == (1, 2)
    assert "MemoryError" in module["failures"][0]["message"]
    assert "memory limit of 1024 MiB reached" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["workspace", "nothing"])
def test_grading_refuses_a_reference_that_is_not_the_repository(
    course, tmp_path, monkeypatch, capsys, target
):
    workspace = _workspace(course, tmp_path, monkeypatch)
    reference = workspace if target == "workspace" else tmp_path / "nothing"
    assert cli.main(["grade", str(workspace), "--reference", str(reference)]) == 2
    out = " ".join(capsys.readouterr().out.split())
    assert ("is a student workspace" if target == "workspace" else "pass --reference") in out


def test_a_test_the_reference_skips_too_is_not_counted(course, tmp_path, monkeypatch, capsys):
    """A test that skips on the grading machine whatever the code (PyTorch or a dataset
    missing there) is nobody's failure: it leaves the count, with a note."""
    tests = course / "packages/03-layers/tests/test_fake_layers.py"
    tests.write_text(
        tests.read_text() + "\n\ndef test_parity():\n    import pytest\n\n"
        "    pytest.importorskip('no_such_module_here')\n"
    )
    workspace = _workspace(course, tmp_path, monkeypatch)
    _write_layers(workspace, "return add(x, x)")
    module = _grade(workspace, course, "--modules", "03")["modules"]["03"]
    assert (module["passed"], module["total"], module["failures"]) == (2, 2, [])
    (note,) = module["notes"]
    assert note.startswith("1 tests skip on the reference here too, so they are not counted")
    assert "test_parity" in note and "no_such_module_here" in note


def test_tests_that_read_their_package_files_see_them(course, tmp_path, monkeypatch):
    """The sandbox is laid out like the repository: a test may read its package's README."""
    readme = course / "packages/03-layers/README.md"
    readme.write_text("# layers\n\ndouble(4) == 8\n")
    tests = course / "packages/03-layers/tests/test_fake_layers.py"
    tests.write_text(
        tests.read_text() + "\n\ndef test_readme():\n    from pathlib import Path\n\n"
        "    text = (Path(__file__).parents[1] / 'README.md').read_text()\n"
        "    assert 'double(4) == 8' in text\n"
    )
    workspace = _workspace(course, tmp_path, monkeypatch)
    _write_layers(workspace, "return add(x, x)")
    module = _grade(workspace, course, "--modules", "03")["modules"]["03"]
    assert (module["passed"], module["total"], module["failures"]) == (3, 3, [])
