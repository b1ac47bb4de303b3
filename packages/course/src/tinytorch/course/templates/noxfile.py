"""The sessions of this TinyTorch workspace (written by ``tinytorch student init``).

Packages are discovered from ``packages/*/pyproject.toml`` by
``packages/course/src/tinytorch/course/packages.py``, the file the TinyTorch repository's own
noxfile uses (loaded by path: nox needs nothing installed).

    nox -l                 list the sessions
    nox -s test-03         module 03 in a fresh environment holding only the packages it needs
                           (installed from this workspace's folders), then its tests
    nox                    every test-NN session
    nox -s milestones      every package of this workspace installed, then every milestone
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = False

_path = ROOT / "packages" / "course" / "src" / "tinytorch" / "course" / "packages.py"
_spec = importlib.util.spec_from_file_location("tinytorch_course_packages", _path)
assert _spec is not None and _spec.loader is not None, _path
shared = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = shared  # dataclasses look their module up while being created
_spec.loader.exec_module(shared)

PACKAGES = shared.discover_packages(ROOT)


def install_local(session: nox.Session, packages: list) -> None:
    """Install local packages by path (never by name: `tinytorch` on PyPI is someone else's)."""
    session.install(
        *[f"{p.folder}[test]" if shared.has_test_extra(p) else str(p.folder) for p in packages]
    )


def _make_test_session(package) -> None:
    def test_package(session: nox.Session) -> None:
        install_local(session, shared.dependency_closure(PACKAGES, package.name))
        session.run(
            "pytest", "-p", "no:cacheprovider", str(package.folder / "tests"), *session.posargs
        )

    test_package.__doc__ = f"{package.name} alone with only what it declares, then its tests."
    nox.session(name=f"test-{package.number}")(test_package)


MODULES = [p for p in shared.all_in_order(PACKAGES) if p.number is not None]
for _package in MODULES:
    _make_test_session(_package)


@nox.session
def milestones(session: nox.Session) -> None:
    """Every package of this workspace installed, then every milestone (quick mode)."""
    install_local(session, shared.all_in_order(PACKAGES))
    session.run("python", str(ROOT / "milestones" / "run.py"), *session.posargs)


nox.options.sessions = [f"test-{p.number}" for p in MODULES]
