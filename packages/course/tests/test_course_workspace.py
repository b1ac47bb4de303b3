"""Course folders, student workspaces and reference versions, on the fake repository."""

import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tinytorch.course.fences import find_fences
from tinytorch.course.layout import (
    discover_milestones,
    discover_modules,
    find_course_root,
    module_by_number,
    select_modules,
)
from tinytorch.course.workspace import (
    IndexReference,
    RepoReference,
    WheelReference,
    Workspace,
    WorkspaceError,
    create_workspace,
    resolve_reference,
    undo_reference,
    use_reference,
)


def test_modules_are_discovered_from_the_folders(course):
    modules = discover_modules(course)
    assert [m.label for m in modules] == ["02 tensor", "03 layers", "04 activations"]
    layers = modules[1]
    assert layers.distribution == "tinytorch-layers" and layers.version() == "0.1.0"
    assert layers.local_dependencies() == ("tensor",)
    assert find_course_root(layers.tests) == course
    assert find_course_root(course.parent) is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, ["02", "03", "04"]),
        ("all", ["02", "03", "04"]),
        ("01-10", ["02", "03", "04"]),
        ("3", ["03"]),
        ("04,2", ["02", "04"]),
        ("layers, 04", ["03", "04"]),
    ],
)
def test_select_modules(course, spec, expected):
    assert [m.number for m in select_modules(spec, discover_modules(course))] == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("99", "no such module '99'"),
        ("07", "no such module '07' here: the modules here are 02 tensor, 03 layers"),
        ("11-12", "the range 11-12 selects none of the modules here"),
    ],
)
def test_select_modules_refuses_what_is_not_here(course, spec, message):
    with pytest.raises(ValueError, match=message):
        select_modules(spec, discover_modules(course))


def test_milestones_need_what_they_import_and_its_dependencies(course):
    found = {m.name: m.requires for m in discover_milestones(course, discover_modules(course))}
    assert found == {
        "m01_double": ("tensor", "layers"),
        "m02_relu": ("tensor", "layers", "activations"),  # kit.py imports tinytorch.tensor
    }


def test_workspace_holds_skeletons_of_assigned_modules_and_references(course, tmp_path):
    modules = discover_modules(course)
    workspace = create_workspace(tmp_path / "ws", course, [modules[0], modules[1]])
    assert [m.label for m in workspace.assigned()] == ["02 tensor", "03 layers"]
    ops = (workspace.root / "packages/02-tensor/src/tinytorch/tensor/ops.py").read_text()
    assert 'raise NotImplementedError("tensor: add - see the HINT above")' in ops
    assert "return a + b" not in ops and "# HINT: one operator" in ops
    assert "    return product" in ops  # plumbing after a fence stays
    activations = "packages/04-activations/src/tinytorch/activations/__init__.py"
    assert (workspace.root / activations).read_text() == (course / activations).read_text()
    for name in ("README.md", "noxfile.py", "pyproject.toml", ".gitignore", "milestones/kit.py"):
        assert (workspace.root / name).is_file(), name
    readme = (workspace.root / "README.md").read_text()
    assert "| 03 | `layers` |" in readme and "tinytorch test 02" in readme and "$" not in readme
    data = json.loads((workspace.root / "workspace.json").read_text())
    assert data["reference"]["source"] == str(course)
    assert data["modules"]["02"] == {
        "name": "tensor",
        "assigned": True,
        "mode": "student",
        "fences": 2,
        "version": "0.1.0",
    }
    assert data["modules"]["04"]["mode"] == "reference"
    assert Workspace.load(workspace.root).data == data


def test_workspace_refuses_a_folder_in_use_and_a_non_repository(course, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(WorkspaceError, match="already exists and is not empty"):
        create_workspace(tmp_path / "used", course)
    with pytest.raises(WorkspaceError, match="is not the repository"):
        create_workspace(tmp_path / "new", tmp_path / "used")
    with pytest.raises(WorkspaceError, match="is not a student workspace"):
        Workspace.load(course)


def test_reference_swap_and_undo(course, tmp_path):
    workspace = create_workspace(tmp_path / "ws", course)
    layers = module_by_number(workspace.modules, "03")
    code = layers.src / "tinytorch/layers/core.py"
    skeleton = code.read_text()
    (layers.src / "tinytorch/layers/notes.py").write_text("# my notes\n")
    message = use_reference(workspace, "3", RepoReference(course))
    assert "03 layers now uses the reference version" in message
    reference_code = course / "packages/03-layers/src/tinytorch/layers/core.py"
    assert code.read_text() == reference_code.read_text()
    assert (workspace.root / "backup/03-layers/src/tinytorch/layers/notes.py").is_file()
    assert Workspace.load(workspace.root).data["modules"]["03"]["mode"] == "reference"
    assert "already uses the reference" in use_reference(workspace, "03", RepoReference(course))
    assert "uses your own version again" in undo_reference(workspace, "layers")
    assert code.read_text() == skeleton and (code.parent / "notes.py").is_file()
    assert not list((workspace.root / "backup").glob("*"))
    assert "already uses your own version" in undo_reference(workspace, "03")
    with pytest.raises(WorkspaceError, match="no such module '99'"):
        use_reference(workspace, "99", RepoReference(course))


def test_undo_of_a_module_that_was_never_yours(course, tmp_path):
    workspace = create_workspace(tmp_path / "ws", course, discover_modules(course)[:1])
    with pytest.raises(WorkspaceError, match="no version of yours to bring back"):
        undo_reference(workspace, "04")


def _wheel(folder: Path, course: Path, name: str, number: str, version: str = "0.1.0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"tinytorch_{name}-{version}-py3-none-any.whl"
    src = course / "packages" / f"{number}-{name}" / "src"
    info = f"tinytorch_{name}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path in sorted(src.rglob("*.py")):
            archive.write(path, str(path.relative_to(src)))
        metadata = f"Metadata-Version: 2.1\nName: tinytorch-{name}\nVersion: {version}\n"
        archive.writestr(f"{info}/METADATA", metadata)
        tags = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        archive.writestr(f"{info}/WHEEL", tags)
        archive.writestr(f"{info}/RECORD", "")
    return wheel


def test_wheels_as_the_reference(course, tmp_path):
    dist = tmp_path / "dist"
    _wheel(dist, course, "layers", "03", "0.0.9")
    _wheel(dist, course, "layers", "03")
    workspace = create_workspace(tmp_path / "ws", course)
    shutil.copytree(dist, workspace.root / "wheels")  # what an instructor hands out later
    assert sorted(p.name for p in (workspace.root / "wheels").iterdir()) == [
        "tinytorch_layers-0.0.9-py3-none-any.whl",
        "tinytorch_layers-0.1.0-py3-none-any.whl",
    ]
    reference = resolve_reference(workspace)
    assert isinstance(reference, WheelReference)
    layers, tensor = (module_by_number(workspace.modules, n) for n in ("03", "02"))
    assert reference.wheel(layers).name == "tinytorch_layers-0.1.0-py3-none-any.whl"
    unpacked = reference.src(layers, tmp_path / "scratch")
    assert (unpacked / "tinytorch/layers/core.py").read_text() == (
        course / "packages/03-layers/src/tinytorch/layers/core.py"
    ).read_text()
    assert reference.src(tensor, tmp_path / "scratch") is None and reference.tests(layers) is None
    assert "now uses the reference version (from the wheels in" in use_reference(
        workspace, "03", reference
    )
    with pytest.raises(
        WorkspaceError, match=r"has no reference version of tinytorch-tensor 0\.1\.0"
    ):
        use_reference(workspace, "02", reference)
    assert isinstance(resolve_reference(workspace, for_grading=True), RepoReference)


def test_resolve_reference_by_path_and_when_nothing_is_found(course, tmp_path):
    assert resolve_reference(path=course) == RepoReference(course)
    _wheel(tmp_path / "dist", course, "tensor", "02")
    assert isinstance(resolve_reference(path=tmp_path / "dist"), WheelReference)
    with pytest.raises(WorkspaceError, match="is neither a TinyTorch repository"):
        resolve_reference(path=tmp_path / "nothing")
    workspace = create_workspace(tmp_path / "ws", course)
    workspace.data["reference"]["source"] = str(tmp_path / "gone")
    with pytest.raises(WorkspaceError, match="no reference version found"):
        resolve_reference(workspace)
    assert resolve_reference(workspace, repositories=[course]) == RepoReference(course)


def test_workspace_skeleton_has_no_fences_left(course, tmp_path):
    workspace = create_workspace(tmp_path / "ws", course)
    for path in (workspace.root / "packages").rglob("*.py"):
        assert find_fences(path.read_text()) == [], path


def _has_pip() -> bool:
    if importlib.util.find_spec("pip") is None:
        return False
    return (
        subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode
        == 0
    )


@pytest.mark.skipif(not _has_pip(), reason="pip is not installed in this environment")
def test_an_index_as_the_reference(course, tmp_path):
    _wheel(tmp_path / "index" / "files", course, "layers", "03")
    page = tmp_path / "index" / "simple" / "tinytorch-layers" / "index.html"
    page.parent.mkdir(parents=True)
    name = "tinytorch_layers-0.1.0-py3-none-any.whl"
    page.write_text(f'<html><body><a href="../../files/{name}">{name}</a></body></html>')
    reference = IndexReference((tmp_path / "index" / "simple").as_uri())
    layers, tensor = (module_by_number(discover_modules(course), n) for n in ("03", "02"))
    unpacked = reference.src(layers, tmp_path / "scratch")
    assert unpacked is not None and (unpacked / "tinytorch/layers/core.py").is_file()
    assert reference.src(tensor, tmp_path / "scratch") is None
    assert reference.description.startswith("index file://")


def test_a_module_without_fences_is_never_assigned(course, tmp_path):
    core = course / "packages/03-layers/src/tinytorch/layers/core.py"
    core.write_text(strip_fence_markers(core.read_text()))
    workspace = create_workspace(tmp_path / "ws", course)
    assert [m.number for m in workspace.assigned()] == ["02", "04"]
    assert workspace.data["modules"]["03"]["mode"] == "reference"
    assert (
        "| 03 | `layers` | a layer that doubles | no" in (workspace.root / "README.md").read_text()
    )


def strip_fence_markers(source: str) -> str:
    return "".join(line for line in source.splitlines(keepends=True) if "SOLUTION" not in line)


def test_wheels_ship_only_the_modules_the_student_does_not_write(course, tmp_path):
    """Exploit: ``--wheels dist/`` used to copy every wheel, the solutions of the assigned
    modules included; a student unzipped ``tinytorch_layers-*.whl`` and handed it in."""
    dist = tmp_path / "dist"
    for name, number in (("tensor", "02"), ("layers", "03"), ("activations", "04")):
        _wheel(dist, course, name, number)
    assigned = select_modules("02-03", discover_modules(course))
    workspace = create_workspace(tmp_path / "ws", course, assigned, wheels=dist)
    shipped = sorted(p.name for p in (workspace.root / "wheels").iterdir())
    assert shipped == ["tinytorch_activations-0.1.0-py3-none-any.whl"]
    with pytest.raises(WorkspaceError, match="has no reference version of tinytorch-layers"):
        use_reference(workspace, "03", WheelReference(workspace.root / "wheels"))
