"""Package discovery and dependency order: the one implementation the noxfiles load by path."""

import importlib.util
import sys
from pathlib import Path

from tinytorch.course import packages
from tinytorch.course.workspace import TEMPLATES, create_workspace

SHARED = Path(packages.__file__)


def _write(root: Path, folder: str, name: str, deps: str = "", extra: str = "") -> None:
    pyproject = root / "packages" / folder / "pyproject.toml"
    pyproject.parent.mkdir(parents=True, exist_ok=True)
    pyproject.write_text(
        f'[project]\nname = "{name}"\ndescription = "TinyTorch module: {name}"\n'
        f"dependencies = [{deps}]\n{extra}"
    )


def test_discovery_numbers_dependencies_and_order(tmp_path):
    _write(tmp_path, "tinytorch", "tinytorch", '"tinytorch-layers>=0.1", "tinytorch-tensor"')
    _write(tmp_path, "course", "tinytorch-course", '"rich>=13"')
    _write(tmp_path, "03-layers", "tinytorch-layers", '"numpy", "tinytorch-tensor>=0.2,<0.3"')
    _write(
        tmp_path, "02-tensor", "tinytorch-tensor", '"numpy>=1.24"',
        '[project.optional-dependencies]\ntest = ["pytest"]\n',
    )  # fmt: skip
    found = packages.discover_packages(tmp_path)
    assert {n: (p.number, p.local_deps) for n, p in found.items()} == {
        "tinytorch": (None, ("tinytorch-layers", "tinytorch-tensor")),
        "tinytorch-course": (None, ()),
        "tinytorch-layers": ("03", ("tinytorch-tensor",)),
        "tinytorch-tensor": ("02", ()),
    }
    order = [p.name for p in packages.all_in_order(found)]
    assert order == ["tinytorch-tensor", "tinytorch-layers", "tinytorch", "tinytorch-course"]
    closure = packages.dependency_closure(found, "tinytorch")
    assert [p.name for p in closure] == ["tinytorch-tensor", "tinytorch-layers", "tinytorch"]
    assert packages.has_test_extra(found["tinytorch-tensor"])
    assert not packages.has_test_extra(found["tinytorch-layers"])
    assert packages.requirement_name("tinytorch-tensor[test] >=0.2; python_version>'3'") == (
        "tinytorch-tensor"
    )


def test_the_file_loads_by_path_with_the_standard_library_only():
    spec = importlib.util.spec_from_file_location("shared_packages_copy", SHARED)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    imported = [line for line in SHARED.read_text().splitlines() if line.startswith("import ")]
    assert imported == ["import re"]  # (and tomllib, from the standard library, in a try)


def test_the_workspace_noxfile_uses_the_shared_file(course, tmp_path):
    template = (TEMPLATES / "noxfile.py").read_text()
    assert '"course" / "src" / "tinytorch" / "course" / "packages.py"' in template
    assert "def discover_packages" not in template and "def dependency_closure" not in template
    workspace = create_workspace(tmp_path / "ws", course)
    assert (workspace.root / "noxfile.py").read_text() == template
    found = packages.discover_packages(workspace.root)
    assert [p.number for p in packages.all_in_order(found)] == ["02", "03", "04"]
