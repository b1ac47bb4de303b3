"""Promises the repository makes about its packages, checked from their files.

Every package: its own version, py.typed, README and CHANGELOG; dependencies only on earlier
modules and declared for every TinyTorch package it imports; balanced solution fences; the
meta-package depends on every module package with a range that admits its version.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULE_FOLDERS = sorted(p.parent for p in ROOT.glob("packages/[0-9][0-9]-*/pyproject.toml"))


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


def _version(folder: Path, name: str) -> str:
    about = (folder / "src" / "tinytorch" / name / "__about__.py").read_text()
    match = re.search(r'__version__ = "([^"]+)"', about)
    assert match, f"{folder.name}: __about__.py has no __version__"
    return match.group(1)


def _declared(folder: Path) -> dict[str, str]:
    """Local dependency name -> its specifier, e.g. {"tinytorch-tensor": ">=0.1,<0.2"}."""
    declared = {}
    for requirement in _project(folder).get("dependencies", []):
        match = re.match(r"(tinytorch(?:-[a-z]+)?)\s*(.*)", requirement)
        if match:
            declared[match.group(1)] = match.group(2)
    return declared


def _name(folder: Path) -> str:
    return folder.name.split("-", 1)[1]


def _admits(specifier: str, version: str) -> bool:
    """A tiny PEP 440 check for the ">=a.b,<c.d" ranges this repository uses."""
    as_tuple = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    for clause in specifier.split(","):
        op, bound = re.match(r"\s*(>=|<)\s*([\d.]+)", clause).groups()  # type: ignore[union-attr]
        if op == ">=" and as_tuple(version) < as_tuple(bound):
            return False
        if op == "<" and as_tuple(version) >= as_tuple(bound):
            return False
    return True


def test_there_are_module_packages() -> None:
    assert [f.name for f in MODULE_FOLDERS][:2] == ["01-setup", "02-tensor"]


@pytest.mark.parametrize("folder", MODULE_FOLDERS, ids=lambda f: f.name)
def test_package_layout(folder: Path) -> None:
    name = _name(folder)
    source = folder / "src" / "tinytorch" / name
    assert _project(folder)["name"] == f"tinytorch-{name}"
    assert (source / "py.typed").is_file() and (source / "__init__.py").is_file()
    assert not (folder / "src" / "tinytorch" / "__init__.py").exists(), (
        "tinytorch is a namespace: only the meta-package ships tinytorch/__init__.py"
    )
    assert (folder / "README.md").is_file()
    version = _version(folder, name)
    assert f"## {version}" in (folder / "CHANGELOG.md").read_text(), (
        f"{folder.name}: CHANGELOG.md has no entry for version {version}"
    )
    assert list((folder / "tests").glob("test_*.py")), f"{folder.name} has no tests"


@pytest.mark.parametrize("folder", MODULE_FOLDERS, ids=lambda f: f.name)
def test_depends_only_on_earlier_modules_and_declares_every_import(folder: Path) -> None:
    number = folder.name[:2]
    numbers = {_name(f): f.name[:2] for f in MODULE_FOLDERS}
    declared = _declared(folder)
    for dependency in declared:
        assert numbers[dependency.removeprefix("tinytorch-")] < number, (
            f"{folder.name} depends on a later module: {dependency}"
        )
    imported, optional = set(), set()
    for path in (folder / "src").rglob("*.py"):
        tree = ast.parse(path.read_text())
        guarded = {id(n) for t in ast.walk(tree) if _catches_import_error(t) for n in ast.walk(t)}
        for node in ast.walk(tree):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            names = {m.split(".")[1] for m in modules if m.startswith("tinytorch.")}
            (optional if id(node) in guarded else imported).update(names)
    imported.discard(_name(folder))
    undeclared = {f"tinytorch-{m}" for m in imported} - set(declared)
    assert not undeclared, f"{folder.name} imports but does not declare {sorted(undeclared)}"
    # An optional import (inside `try: ... except ImportError`, with a message saying what to
    # install) may name a later module, as Tensor.relu() names module 04; never an earlier one
    # left undeclared.
    for module in optional - {_name(folder)}:
        assert f"tinytorch-{module}" in declared or numbers[module] > number, (
            f"{folder.name} optionally imports the earlier tinytorch-{module}: declare it"
        )


def _catches_import_error(node: ast.AST) -> bool:
    """A ``try`` statement with an ``except ImportError`` (or ModuleNotFoundError) handler."""
    return isinstance(node, ast.Try) and any(
        isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
        for h in node.handlers
    )


def test_meta_package_depends_on_every_module_package() -> None:
    declared = _declared(ROOT / "packages" / "tinytorch")
    for folder in MODULE_FOLDERS:
        name = _name(folder)
        assert f"tinytorch-{name}" in declared, f"the meta-package misses tinytorch-{name}"
        assert _admits(declared[f"tinytorch-{name}"], _version(folder, name)), (
            f"the meta-package's range for tinytorch-{name} excludes its version"
        )


def _fence_errors(path: Path) -> list[str]:
    errors, open_line = [], None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        marker = line.strip()
        if marker == "# BEGIN SOLUTION":
            if open_line is not None:
                errors.append(f"{path}:{number}: BEGIN inside the fence opened at {open_line}")
            open_line = number
        elif marker == "# END SOLUTION":
            if open_line is None:
                errors.append(f"{path}:{number}: END without BEGIN")
            open_line = None
    if open_line is not None:
        errors.append(f"{path}:{open_line}: BEGIN never closed")
    return errors


@pytest.mark.parametrize("folder", MODULE_FOLDERS, ids=lambda f: f.name)
def test_solution_fences_are_balanced(folder: Path) -> None:
    errors = [e for p in sorted((folder / "src").rglob("*.py")) for e in _fence_errors(p)]
    assert not errors, "\n".join(errors)


def _hintless_fences(path: Path) -> list[str]:
    """``path:line`` of each ``# BEGIN SOLUTION`` without a ``# HINT:`` line just above it."""
    lines = path.read_text().splitlines()
    return [
        f"{path}:{number}"
        for number, line in enumerate(lines, 1)
        if line.strip() == "# BEGIN SOLUTION"
        and not (number > 1 and lines[number - 2].strip().startswith("# HINT:"))
    ]


@pytest.mark.parametrize("folder", MODULE_FOLDERS, ids=lambda f: f.name)
def test_every_fence_has_a_hint(folder: Path) -> None:
    """The student's stub says "see the HINT above": there must be one."""
    missing = [h for p in sorted((folder / "src").rglob("*.py")) for h in _hintless_fences(p)]
    assert not missing, "fences with no # HINT: line just above:\n" + "\n".join(missing)
