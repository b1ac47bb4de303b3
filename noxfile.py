"""Every TinyTorch session: per-package tests, all tests, lint, types, build, wheels, milestones.

Packages are discovered from ``packages/*/pyproject.toml``; nothing here lists them by hand. The
discovery and the dependency order are ``packages/course/src/tinytorch/course/packages.py``,
loaded by path: every student workspace's noxfile loads the same file.

    nox -l                 list sessions
    nox                    the default sessions (what ``./dev test`` and CI run)
    nox -s test-07         package 07 alone, in a fresh environment holding only what it declares
    nox -s test-course     the course tooling (packages/course) alone
    nox -s milestones      the main job (quick mode; ``nox -s milestones -- --full`` for full runs)
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import nox

ROOT = Path(__file__).parent
DIST = ROOT / "dist"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = False


def _shared_packages_module() -> ModuleType:
    """``tinytorch.course.packages``, loaded by path: the one implementation of package
    discovery and dependency order, shared with every student workspace's noxfile."""
    path = ROOT / "packages" / "course" / "src" / "tinytorch" / "course" / "packages.py"
    spec = importlib.util.spec_from_file_location("tinytorch_course_packages", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


_shared = _shared_packages_module()
Package = _shared.Package
PACKAGES = _shared.discover_packages(ROOT)


def dependency_closure(name: str) -> list[Package]:
    """The package and every local package it needs, dependencies first (topological order)."""
    return _shared.dependency_closure(PACKAGES, name)


def all_in_order() -> list[Package]:
    """Every package, each after its dependencies; the packages without a number last."""
    return _shared.all_in_order(PACKAGES)


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
    return bool(_shared.has_test_extra(package))


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
    nox.session(name=_test_session_name(package))(test_package)


META_PACKAGE = "tinytorch"  # depends on every module: its tests run in the `tests` session


def _test_session_name(package: Package) -> str:
    """``test-07`` for module 07, ``test-course`` for packages/course/."""
    return f"test-{package.number or package.folder.name}"


SOLO_PACKAGES = [p for p in all_in_order() if p.name != META_PACKAGE]
for _package in SOLO_PACKAGES:
    _make_test_session(_package)

TEST_SESSIONS = [_test_session_name(p) for p in SOLO_PACKAGES]


@nox.session
def tests(session: nox.Session) -> None:
    """All packages installed together (editable, in dependency order), with module 17's
    optional numba (its compiled kernels are tested here; `test-17` tests the NumPy fallback);
    every test."""
    install_local(session, all_in_order(), editable=True)
    session.install("numba>=0.58")
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
    modules = [p.name.replace("tinytorch-", "tinytorch.") for p in SOLO_PACKAGES]
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
    local = [p.name for p in PACKAGES.values() if p.number is None]  # meta-package, course
    session.install("--no-index", "--find-links", str(DIST), *local)
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
    session.install("torch==2.13.0", "rich", "numba>=0.58")  # numba: module 17's fast kernels
    session.install(*[str(p.folder) for p in all_in_order()])
    session.run("python", str(ROOT / "benchmarks" / "run.py"), *session.posargs)


DOCS_TOOLS = [
    "mkdocs>=1.6,<2",
    "mkdocs-material>=9.5,<10",
    "mkdocstrings[python]>=1.0,<2",
    "mkdocstrings-python>=2.0,<3",
    "matplotlib>=3.8",
    "pytest>=7",
    "ruff",  # mkdocstrings formats the rendered signatures with it
]


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site into build/site/: the packages (editable) plus mkdocs-material,
    mkdocstrings and matplotlib; the systems-lesson figures (docs/gen_figures.py), then
    `mkdocs build --strict`, then tests-integration/test_docs.py on that site (it opens a page in
    headless Chromium where one is installed). `nox -s docs -- serve` previews it instead."""
    install_local(session, all_in_order(), editable=True)
    session.install(*DOCS_TOOLS)
    session.chdir(ROOT)
    env = {**data_env(), "NO_MKDOCS_2_WARNING": "1"}
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", *session.posargs[1:], env=env)
        return
    session.run("python", "docs/gen_figures.py", env=env)
    session.run("mkdocs", "build", "--strict", env=env)
    site = {**env, "TINYTORCH_DOCS_SITE": str(ROOT / "build" / "site")}
    session.run("pytest", "-p", "no:cacheprovider", "tests-integration/test_docs.py", env=site)


nox.options.sessions = ["lint", "typecheck", *TEST_SESSIONS, "tests", "docs", "build", "wheels"]
