"""The distributions of a course folder and their dependency order: ONE implementation.

The repository's ``noxfile.py`` and every student workspace's ``noxfile.py`` load this file by
path (it imports nothing but the standard library, so nox needs nothing installed), and the
``tinytorch`` course commands import it as ``tinytorch.course.packages``. Packages are read from
``packages/*/pyproject.toml``; nothing lists them by hand. A folder named ``NN-name`` is module
NN; any other folder (the ``tinytorch`` meta-package, ``course``) is a package without a number,
ordered after the modules.

    >>> packages = discover_packages(root)          # name -> Package
    >>> [p.name for p in all_in_order(packages)]    # each after its local dependencies
    >>> dependency_closure(packages, "tinytorch-layers")   # it and what it needs, deps first
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: the few keys needed here, read with regular expressions
    tomllib = None  # type: ignore[assignment]

__all__ = [
    "Package",
    "all_in_order",
    "dependency_closure",
    "discover_packages",
    "has_test_extra",
    "read_project",
    "requirement_name",
]


@dataclass(frozen=True)
class Package:
    """One distribution under ``packages/``: its folder, name, module number and local deps."""

    folder: Path
    name: str  # distribution name, lower case: "tinytorch-layers"
    number: str | None  # "01".."20"; None for a package that is not a module (meta, course)
    local_deps: tuple[str, ...]  # distribution names of the local packages it depends on
    description: str = ""


def requirement_name(requirement: str) -> str:
    """``"tinytorch-tensor>=0.2,<0.3"`` -> ``"tinytorch-tensor"`` (lower case)."""
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower()


def read_project(pyproject: Path) -> dict:
    """The ``[project]`` table of a ``pyproject.toml`` (name, description, dependencies,
    optional-dependencies at least)."""
    text = Path(pyproject).read_text(encoding="utf-8")
    if tomllib is not None:
        return dict(tomllib.loads(text).get("project", {}))
    project: dict = {}
    for key in ("name", "description"):
        match = re.search(rf'^{key}\s*=\s*"([^"]*)"', text, re.MULTILINE)
        if match:
            project[key] = match.group(1)
    block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.DOTALL | re.MULTILINE)
    project["dependencies"] = re.findall(r"[\"']([^\"']+)[\"']", block.group(1) if block else "")
    extras = re.search(r"^\[project\.optional-dependencies\](.*?)(^\[|\Z)", text, re.S | re.M)
    names = re.findall(r"^(\w[\w-]*)\s*=", extras.group(1), re.MULTILINE) if extras else []
    project["optional-dependencies"] = {name: [] for name in names}
    return project


def discover_packages(root: Path) -> dict[str, Package]:
    """Read every ``root/packages/*/pyproject.toml``; packages by distribution name."""
    found: dict[str, dict] = {}
    for pyproject in sorted(Path(root).glob("packages/*/pyproject.toml")):
        found[pyproject.parent.name] = read_project(pyproject)
    names = {str(project.get("name", "")).lower() for project in found.values()}
    packages = {}
    for folder_name, project in found.items():
        match = re.match(r"(\d\d)-", folder_name)
        deps = [requirement_name(r) for r in project.get("dependencies", [])]
        name = str(project["name"]).lower()
        packages[name] = Package(
            folder=Path(root) / "packages" / folder_name,
            name=name,
            number=match.group(1) if match else None,
            local_deps=tuple(d for d in deps if d in names),
            description=str(project.get("description", "")),
        )
    return packages


def dependency_closure(packages: dict[str, Package], name: str) -> list[Package]:
    """The package ``name`` and every local package it needs, dependencies first."""
    order: list[Package] = []
    seen: set[str] = set()
    stack: list[tuple[str, bool]] = [(name, False)]
    while stack:
        current, expanded = stack.pop()
        if expanded:
            order.append(packages[current])
            continue
        if current in seen:
            continue
        seen.add(current)
        stack.append((current, True))
        stack.extend((dep, False) for dep in reversed(packages[current].local_deps))
    return order


def all_in_order(packages: dict[str, Package]) -> list[Package]:
    """Every package, each after its dependencies: modules by number, then the others by name."""
    order: list[Package] = []
    for name in sorted(packages, key=lambda n: (packages[n].number or "99", n)):
        order += [p for p in dependency_closure(packages, name) if p not in order]
    return order


def has_test_extra(package: Package) -> bool:
    """Whether the package declares a ``test`` extra (installed as ``folder[test]``)."""
    project = read_project(package.folder / "pyproject.toml")
    return "test" in project.get("optional-dependencies", {})
