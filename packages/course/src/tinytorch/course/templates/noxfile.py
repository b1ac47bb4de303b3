"""The sessions of this TinyTorch workspace (written by ``tinytorch student init``).

Packages are discovered from ``packages/*/pyproject.toml``, as in the TinyTorch repository.

    nox -l                 list the sessions
    nox -s test-03         module 03 in a fresh environment holding only the packages it needs
                           (installed from this workspace's folders), then its tests
    nox                    every test-NN session
    nox -s milestones      every package of this workspace installed, then every milestone
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = False


@dataclass(frozen=True)
class Package:
    """One distribution under packages/: its folder, name, module number and local deps."""

    folder: Path
    name: str
    number: str | None  # "01".."20"; None for the tinytorch meta-package
    local_deps: tuple[str, ...]


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower()


def discover_packages() -> dict[str, Package]:
    """Read every packages/*/pyproject.toml; return packages by distribution name."""
    found: dict[str, dict] = {}
    for pyproject in sorted(ROOT.glob("packages/*/pyproject.toml")):
        found[pyproject.parent.name] = tomllib.loads(pyproject.read_text())["project"]
    names = {project["name"].lower() for project in found.values()}
    packages = {}
    for folder_name, project in found.items():
        match = re.match(r"(\d\d)-", folder_name)
        deps = [_requirement_name(r) for r in project.get("dependencies", [])]
        packages[project["name"].lower()] = Package(
            folder=ROOT / "packages" / folder_name,
            name=project["name"].lower(),
            number=match.group(1) if match else None,
            local_deps=tuple(d for d in deps if d in names),
        )
    return packages


PACKAGES = discover_packages()


def dependency_closure(name: str) -> list[Package]:
    """The package and every local package it needs, dependencies first."""
    order: list[Package] = []
    seen: set[str] = set()
    stack: list[tuple[str, bool]] = [(name, False)]
    while stack:
        current, expanded = stack.pop()
        if expanded:
            order.append(PACKAGES[current])
            continue
        if current in seen:
            continue
        seen.add(current)
        stack.append((current, True))
        stack.extend((dep, False) for dep in reversed(PACKAGES[current].local_deps))
    return order


def all_in_order() -> list[Package]:
    """Every package, each after its dependencies; the meta-package last."""
    order: list[Package] = []
    for name in sorted(PACKAGES, key=lambda n: (PACKAGES[n].number or "99", n)):
        order += [p for p in dependency_closure(name) if p not in order]
    return order


def install_local(session: nox.Session, packages: list[Package]) -> None:
    """Install local packages by path (never by name: `tinytorch` on PyPI is someone else's)."""
    args = []
    for package in packages:
        project = tomllib.loads((package.folder / "pyproject.toml").read_text())["project"]
        has_test = "test" in project.get("optional-dependencies", {})
        args.append(f"{package.folder}[test]" if has_test else str(package.folder))
    session.install(*args)


def _make_test_session(package: Package) -> None:
    def test_package(session: nox.Session) -> None:
        install_local(session, dependency_closure(package.name))
        session.run(
            "pytest", "-p", "no:cacheprovider", str(package.folder / "tests"), *session.posargs
        )

    test_package.__doc__ = f"{package.name} alone with only what it declares, then its tests."
    nox.session(name=f"test-{package.number}")(test_package)


for _package in PACKAGES.values():
    if _package.number is not None:
        _make_test_session(_package)

TEST_SESSIONS = sorted(f"test-{p.number}" for p in PACKAGES.values() if p.number)


@nox.session
def milestones(session: nox.Session) -> None:
    """Every package of this workspace installed, then every milestone (quick mode)."""
    install_local(session, all_in_order())
    session.run("python", str(ROOT / "milestones" / "run.py"), *session.posargs)


nox.options.sessions = TEST_SESSIONS
