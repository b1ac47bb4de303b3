"""Every TinyTorch session: per-package tests, all tests, lint, types, build, wheels, milestones.

Packages are discovered from ``packages/*/pyproject.toml``; nothing here lists them by hand.

    nox -l                 list sessions
    nox                    the default sessions (what ``./dev test`` and CI run)
    nox -s test-07         package 07 alone, in a fresh environment holding only what it declares
    nox -s milestones      the main job (quick mode; ``nox -s milestones -- --full`` for full runs)
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nox

ROOT = Path(__file__).parent
DIST = ROOT / "dist"
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
    """The package and every local package it needs, dependencies first (topological order)."""
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


def install_local(session: nox.Session, packages: list[Package], editable: bool = False) -> None:
    """Install local packages by path (never by name: `tinytorch` on PyPI is someone else's)."""
    args: list[str] = []
    for package in packages:
        target = f"{package.folder}[test]" if _has_test_extra(package) else str(package.folder)
        args += ["-e", target] if editable else [target]
    session.install(*args)


def test_folders() -> list[Path]:
    """Every package's tests/ folder, in dependency order."""
    return [p.folder / "tests" for p in all_in_order() if (p.folder / "tests").is_dir()]


def _has_test_extra(package: Package) -> bool:
    project = tomllib.loads((package.folder / "pyproject.toml").read_text())["project"]
    return "test" in project.get("optional-dependencies", {})


def data_env() -> dict[str, str]:
    """Point TINYTORCH_DATA at the workspace's ../shared/data unless the user chose a folder."""
    shared = ROOT.parent / "shared" / "data"
    if "TINYTORCH_DATA" not in os.environ and shared.is_dir():
        return {"TINYTORCH_DATA": str(shared)}
    return {}


def run_pytest(session: nox.Session, *paths: str | Path) -> None:
    session.run("pytest", "-p", "no:cacheprovider", *map(str, paths), *session.posargs)


def _make_test_session(package: Package) -> None:
    def test_package(session: nox.Session) -> None:
        install_local(session, dependency_closure(package.name))
        run_pytest(session, package.folder / "tests")

    test_package.__doc__ = f"{package.name} alone with only what it declares, then its tests."
    nox.session(name=f"test-{package.number}")(test_package)


for _package in PACKAGES.values():
    if _package.number is not None:
        _make_test_session(_package)

TEST_SESSIONS = sorted(f"test-{p.number}" for p in PACKAGES.values() if p.number)


@nox.session
def tests(session: nox.Session) -> None:
    """All packages installed together (editable, in dependency order); every test."""
    install_local(session, all_in_order(), editable=True)
    run_pytest(session, *test_folders(), ROOT / "tests-integration", "-m", "not parity")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the whole repository."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over every package, installed as wheels into one environment."""
    install_local(session, all_in_order())
    session.install("mypy")
    modules = [p.name.replace("tinytorch-", "tinytorch.") for p in all_in_order() if p.number]
    session.run("mypy", *[arg for module in modules for arg in ("-p", module)])


@nox.session
def build(session: nox.Session) -> None:
    """Wheel and sdist of every package into dist/."""
    shutil.rmtree(DIST, ignore_errors=True)
    session.install("build")
    for package in all_in_order():
        session.run(
            "python",
            "-m",
            "build",
            "--installer",
            "uv",
            "--outdir",
            str(DIST),
            str(package.folder),
            silent=True,
        )
    session.log(f"built {len(list(DIST.glob('*.whl')))} wheels into {DIST}")


@nox.session
def wheels(session: nox.Session) -> None:
    """Install the meta-package from dist/ with --no-index in a fresh env; integration tests."""
    if not list(DIST.glob("tinytorch-*.whl")):
        session.error("dist/ holds no tinytorch wheels: run `nox -s build` first")
    session.install("pytest", "hypothesis", "numpy", "rich", "tqdm", "regex")
    session.install("--no-index", "--find-links", str(DIST), "tinytorch")
    run_pytest(session, ROOT / "tests-integration", "-m", "not parity")


@nox.session
def milestones(session: nox.Session) -> None:
    """The main job: every milestone that exists (quick; pass `-- --full` for full runs)."""
    install_local(session, all_in_order())
    session.run("python", str(ROOT / "milestones" / "run.py"), *session.posargs, env=data_env())


@nox.session(venv_backend="venv")
def parity(session: nox.Session) -> None:
    """The tests that compare against PyTorch (torch==2.13.0, CPU); pip finds local builds."""
    session.install("torch==2.13.0")
    install_local(session, all_in_order())
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "-m",
        "parity",
        *map(str, test_folders()),
        str(ROOT / "tests-integration"),
        *session.posargs,
        success_codes=[0, 5],
    )


@nox.session(venv_backend="venv")
def bench(session: nox.Session) -> None:
    """Benchmarks: TinyTorch beside PyTorch CPU (torch==2.13.0) in one process; writes
    benchmarks/results/. Options after --, e.g. `nox -s bench -- --only matmul --quick`."""
    session.install("torch==2.13.0", "rich")
    session.install(*[str(p.folder) for p in all_in_order()])
    session.run("python", str(ROOT / "benchmarks" / "run.py"), *session.posargs)


nox.options.sessions = ["lint", "typecheck", *TEST_SESSIONS, "tests", "build", "wheels"]
