"""The course tooling's place in the repository: its own distribution (packages/course), which
depends on no module, and the one implementation of package discovery that the repository's
noxfile and every workspace's noxfile share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinytorch.course import packages

ROOT = Path(__file__).resolve().parents[1]
FOUND = packages.discover_packages(ROOT)

pytestmark = pytest.mark.skipif(
    "tinytorch-course" not in FOUND, reason=f"no packages/course under {ROOT}: not the repository"
)


def test_the_course_depends_on_no_module() -> None:
    course = FOUND["tinytorch-course"]
    assert course.number is None and course.local_deps == ()
    project = packages.read_project(course.folder / "pyproject.toml")
    entry_points = project.get("entry-points", {}).get("tinytorch.commands", {})
    assert entry_points == {"course": "tinytorch.course.cli:COMMANDS"}


def test_the_repository_noxfile_loads_the_shared_discovery() -> None:
    noxfile = (ROOT / "noxfile.py").read_text()
    assert '"course" / "src" / "tinytorch" / "course" / "packages.py"' in noxfile
    for own in ("def discover_packages", "tomllib.loads", "stack: list"):
        assert own not in noxfile, f"the noxfile has its own copy of the discovery ({own})"


def test_every_package_folder_is_discovered_in_dependency_order() -> None:
    folders = {p.parent.name for p in ROOT.glob("packages/*/pyproject.toml")}
    assert {p.folder.name for p in FOUND.values()} == folders
    order = packages.all_in_order(FOUND)
    position = {p.name: i for i, p in enumerate(order)}
    for package in order:
        for dependency in package.local_deps:
            assert position[dependency] < position[package.name], (package.name, dependency)
    numbered = [p.number for p in order if p.number is not None]
    assert numbered == sorted(numbered) and numbered[0] == "01"
    assert all(p.number is None for p in order[len(numbered) :])  # meta-package, course last
