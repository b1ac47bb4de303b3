"""Student workspaces: generating one, and swapping a module for its reference version.

``create_workspace(dest, source, assigned)`` writes::

    dest/
      workspace.json        which modules the student writes ("assigned") and where the
                            reference comes from
      README.md             the student's guide: module order, tests, progress, milestones
      noxfile.py            test-NN sessions, as in the repository, plus milestones
      pyproject.toml        the repository's tool configuration (pytest, ruff)
      packages/NN-name/     every module: assigned ones with the solutions replaced by
                            NotImplementedError stubs, the others as reference versions
      milestones/           the end-to-end runs
      wheels/               reference wheels, when the instructor passed --wheels: only of the
                            modules the student does not write

``use_reference(workspace, "06", reference)`` moves the student's ``src`` into
``backup/06-autograd/src`` and puts the reference version in its place; ``undo_reference``
moves it back. A reference is a repository checkout, a folder of wheels (``nox -s build``'s
``dist/``), or a package index.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template

from tinytorch.course.__about__ import __version__
from tinytorch.course.fences import find_fences, strip_solutions
from tinytorch.course.layout import (
    STATE_DIR,
    WORKSPACE_FILE,
    ModulePackage,
    discover_modules,
    module_by_number,
)
from tinytorch.course.packages import discover_packages

__all__ = [
    "IndexReference",
    "Reference",
    "RepoReference",
    "WheelReference",
    "Workspace",
    "WorkspaceError",
    "create_workspace",
    "resolve_reference",
    "undo_reference",
    "use_reference",
]

TEMPLATES = Path(__file__).with_name("templates")
COPY_IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.egg-info", ".hypothesis", ".pytest_cache", ".nox", "build",
    "dist", ".mypy_cache", ".ruff_cache", "results", STATE_DIR,
)  # fmt: skip


class WorkspaceError(ValueError):
    """A workspace operation that cannot be done; the message says why and what to do."""


# --------------------------------------------------------------------------- references


class Reference(ABC):
    """Where reference versions of the modules come from."""

    @property
    @abstractmethod
    def description(self) -> str:
        """``"repository /path"``, ``"wheels in /path"``: for messages."""

    @abstractmethod
    def src(self, module: ModulePackage, scratch: Path) -> Path | None:
        """A ``src`` folder holding ``tinytorch/<name>`` of ``module``'s reference version
        (unpacked under ``scratch`` if needed), or None when this reference lacks it."""

    def tests(self, module: ModulePackage) -> Path | None:
        """The reference tests of ``module`` (a repository has them; wheels do not)."""
        return None


@dataclass
class RepoReference(Reference):
    """A checkout of the repository: ``root/packages/NN-name/src``."""

    root: Path

    @property
    def description(self) -> str:
        return f"repository {self.root}"

    def _folder(self, module: ModulePackage) -> Path:
        return self.root / "packages" / module.folder.name

    def src(self, module: ModulePackage, scratch: Path) -> Path | None:
        src = self._folder(module) / "src"
        return src if (src / "tinytorch" / module.name).is_dir() else None

    def tests(self, module: ModulePackage) -> Path | None:
        tests = self._folder(module) / "tests"
        return tests if tests.is_dir() else None


def _wheel_name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "_", distribution).lower()


@dataclass
class WheelReference(Reference):
    """A folder of wheels (``dist/``): ``tinytorch_layers-0.1.0-py3-none-any.whl``."""

    folder: Path

    @property
    def description(self) -> str:
        return f"wheels in {self.folder}"

    def wheel(self, module: ModulePackage) -> Path | None:
        """The wheel of ``module``'s version, else its newest wheel, else None."""
        prefix = _wheel_name(module.distribution) + "-"
        wheels = sorted(self.folder.glob(f"{prefix}*.whl"))
        exact = [w for w in wheels if w.name.startswith(f"{prefix}{module.version()}-")]
        found = exact or wheels
        return found[-1] if found else None

    def src(self, module: ModulePackage, scratch: Path) -> Path | None:
        wheel = self.wheel(module)
        if wheel is None:
            return None
        target = scratch / module.folder.name / "src"
        inside = f"tinytorch/{module.name}/"
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.startswith(inside) and not member.endswith("/"):
                    destination = target / member
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(archive.read(member))
        return target if (target / "tinytorch" / module.name).is_dir() else None


@dataclass
class IndexReference(Reference):
    """A package index (``--index-url``): wheels are fetched with ``pip download``."""

    url: str

    @property
    def description(self) -> str:
        return f"index {self.url}"

    def src(self, module: ModulePackage, scratch: Path) -> Path | None:
        downloads = scratch / "downloads"
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary", ":all:", "--index-url", self.url, "--dest", str(downloads),
            f"{module.distribution}=={module.version()}",
        ]  # fmt: skip
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            return None
        return WheelReference(downloads).src(module, scratch)


def resolve_reference(
    workspace: Workspace | None = None,
    path: str | Path | None = None,
    index_url: str | None = None,
    repositories: Sequence[Path | None] = (),
    for_grading: bool = False,
) -> Reference:
    """The reference to use, from the first of these that exists:

    ``path`` (a repository or a folder of wheels), ``index_url``, the workspace's ``wheels/``
    folder, the repository the workspace was made from, the ``repositories`` given, the index
    the workspace names. ``for_grading`` puts repositories before the wheels: they hold the
    reference tests. Raises ``WorkspaceError`` saying how to name one when none is found.
    """
    if path is not None:
        folder = Path(path).resolve()
        if discover_modules(folder):
            return RepoReference(folder)
        if list(folder.glob("tinytorch*.whl")):
            return WheelReference(folder)
        raise WorkspaceError(
            f"{folder} is neither a TinyTorch repository (packages/NN-name/) nor a folder of "
            f"tinytorch wheels (`nox -s build` writes them to dist/)"
        )
    if index_url:
        return IndexReference(index_url)
    config = workspace.data.get("reference", {}) if workspace is not None else {}
    source = Path(config["source"]) if config.get("source") else None
    repos: list[Reference] = [
        RepoReference(Path(r).resolve())
        for r in (source, *repositories)
        if r and discover_modules(r)
    ]
    wheels: list[Reference] = []
    if workspace is not None:
        folder = workspace.root / config.get("wheels", "wheels")
        if list(folder.glob("tinytorch*.whl")):
            wheels.append(WheelReference(folder))
    index: list[Reference] = (
        [IndexReference(config["index_url"])] if config.get("index_url") else []
    )
    candidates = repos + wheels + index if for_grading else wheels + repos + index
    if not candidates:
        raise WorkspaceError(
            "no reference version found: put the reference wheels into the workspace's "
            "wheels/ folder, or pass --reference PATH (a TinyTorch repository or a folder of "
            "wheels) or --index-url URL"
        )
    return candidates[0]


# --------------------------------------------------------------------------- workspaces


@dataclass
class Workspace:
    """A student workspace: its folder and ``workspace.json``."""

    root: Path
    data: dict

    @classmethod
    def load(cls, root: str | Path) -> Workspace:
        """Read ``root/workspace.json``; ``WorkspaceError`` if ``root`` is no workspace."""
        root = Path(root).resolve()
        path = root / WORKSPACE_FILE
        if not path.is_file():
            raise WorkspaceError(
                f"{root} is not a student workspace (it has no {WORKSPACE_FILE}); create one "
                f"with `tinytorch student init DIR`"
            )
        return cls(root, json.loads(path.read_text()))

    def save(self) -> None:
        (self.root / WORKSPACE_FILE).write_text(json.dumps(self.data, indent=2) + "\n")

    @property
    def modules(self) -> list[ModulePackage]:
        return discover_modules(self.root)

    def state(self, module: ModulePackage) -> dict:
        """``{"assigned": bool, "mode": "student" | "reference", ...}`` of ``module``."""
        default = {"name": module.name, "assigned": False, "mode": "reference"}
        return self.data.setdefault("modules", {}).setdefault(module.number, default)

    def assigned(self) -> list[ModulePackage]:
        """The modules the student writes."""
        return [m for m in self.modules if self.state(m).get("assigned")]

    def backup(self, module: ModulePackage) -> Path:
        """Where the student's ``src`` waits while the reference version is in use."""
        return self.root / "backup" / module.folder.name / "src"

    def own_src(self, module: ModulePackage) -> Path | None:
        """The student's own ``src`` of ``module`` (in ``backup/`` while swapped out)."""
        if self.state(module).get("mode") == "student":
            return module.src
        return self.backup(module) if self.backup(module).is_dir() else None


def _strip_package(folder: Path, module: ModulePackage) -> int:
    """Replace the fences of every source file under ``folder/src``; returns how many."""
    count = 0
    for path in sorted((folder / "src").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        label = str(Path("packages") / path.relative_to(folder.parent))
        fences = find_fences(source, label)
        if fences:
            path.write_text(strip_solutions(source, module.name, label), encoding="utf-8")
            count += len(fences)
    return count


def _module_table(modules: Sequence[ModulePackage], assigned: set[str]) -> str:
    rows = ["| # | module | what you build | you write it? |", "|---|---|---|---|"]
    for module in modules:
        title = module.title()
        mine = "**yes**" if module.number in assigned else "no (reference version)"
        rows.append(f"| {module.number} | `{module.name}` | {title} | {mine} |")
    return "\n".join(rows)


def create_workspace(
    dest: str | Path,
    source: str | Path,
    assigned: Sequence[ModulePackage] | None = None,
    wheels: Path | None = None,
    index_url: str | None = None,
) -> Workspace:
    """Write a student workspace at ``dest`` from the repository ``source``.

    ``assigned``: the modules the student writes (default: every module of ``source``); their
    fenced solutions are replaced by stubs. Every other module, and an assigned one without
    fences (nothing to write), is copied as its reference version. ``wheels``: a folder of
    reference wheels to copy into ``dest/wheels``, except the wheels of the modules the student
    writes (they hold the solutions); ``index_url``: an index to fetch reference
    wheels from. ``dest`` must not exist or be empty.
    """
    dest, source = Path(dest).resolve(), Path(source).resolve()
    modules = discover_modules(source)
    if not modules:
        raise WorkspaceError(f"{source} holds no packages/NN-name/: it is not the repository")
    if dest.exists() and any(dest.iterdir()):
        raise WorkspaceError(f"{dest} already exists and is not empty; choose a new folder")
    numbers = {m.number for m in (modules if assigned is None else assigned)}
    data: dict = {
        "format": 1,
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "tinytorch_course": __version__,
        "reference": {"source": str(source), "wheels": "wheels", "index_url": index_url},
        "modules": {},
    }
    for module in modules:
        target = dest / "packages" / module.folder.name
        shutil.copytree(module.folder, target, ignore=COPY_IGNORE)
        fences = _strip_package(target, module) if module.number in numbers else 0
        mine = fences > 0  # a module without fences has nothing to write: reference
        data["modules"][module.number] = {
            "name": module.name,
            "assigned": mine,
            "mode": "student" if mine else "reference",
            "fences": fences,
            "version": module.version(),
        }
    for package in discover_packages(source).values():  # the meta-package, the course tools
        if package.number is None:
            target = dest / "packages" / package.folder.name
            shutil.copytree(package.folder, target, ignore=COPY_IGNORE)
    if (source / "milestones").is_dir():
        shutil.copytree(source / "milestones", dest / "milestones", ignore=COPY_IGNORE)
    if (source / "pyproject.toml").is_file():
        shutil.copy2(source / "pyproject.toml", dest / "pyproject.toml")
    if wheels is not None:
        found = sorted(Path(wheels).glob("tinytorch*.whl"))
        if not found:
            raise WorkspaceError(f"{wheels} holds no tinytorch wheels; run `nox -s build`")
        # Never ship the solutions: no wheel of a module the student writes.
        writing = {
            _wheel_name(m.distribution) + "-"
            for m in modules
            if data["modules"][m.number]["assigned"]
        }
        (dest / "wheels").mkdir()
        for wheel in found:
            if not any(wheel.name.startswith(prefix) for prefix in writing):
                shutil.copy2(wheel, dest / "wheels" / wheel.name)
    students = {n for n, state in data["modules"].items() if state["assigned"]}
    names = {"modules_table": _module_table(modules, students)}
    first = next((m for m in modules if m.number in students), modules[0])
    names |= {"first": first.number, "first_name": first.name}
    readme = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    (dest / "README.md").write_text(Template(readme).safe_substitute(names), encoding="utf-8")
    shutil.copy2(TEMPLATES / "noxfile.py", dest / "noxfile.py")
    shutil.copy2(TEMPLATES / "gitignore.txt", dest / ".gitignore")
    workspace = Workspace(dest, data)
    workspace.save()
    return workspace


# --------------------------------------------------------------------------- swapping


def _module(workspace: Workspace, key: str) -> ModulePackage:
    try:
        return module_by_number(workspace.modules, key)
    except ValueError as error:
        raise WorkspaceError(str(error)) from None


def use_reference(workspace: Workspace, key: str, reference: Reference) -> str:
    """Put the reference version of module ``key`` in place of the student's; returns what
    was done. The student's ``src`` is kept in ``backup/NN-name/src``."""
    module = _module(workspace, key)
    state = workspace.state(module)
    if state.get("mode") == "reference":
        again = " (`tinytorch reference --undo` brings yours back)" if state["assigned"] else ""
        return f"module {module.label} already uses the reference version{again}"
    with tempfile.TemporaryDirectory(prefix="tinytorch-ref-") as scratch:
        src = reference.src(module, Path(scratch))
        if src is None:
            raise WorkspaceError(
                f"the {reference.description} has no reference version of {module.distribution} "
                f"{module.version()}; ask your instructor for its wheel and put it into "
                f"{workspace.root / 'wheels'}"
            )
        backup = workspace.backup(module)
        if backup.exists():
            shutil.rmtree(backup)
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(module.src), str(backup))
        shutil.copytree(src, module.src, ignore=COPY_IGNORE)
    state["mode"] = "reference"
    workspace.save()
    return (
        f"module {module.label} now uses the reference version (from the "
        f"{reference.description}); yours is kept in {backup.relative_to(workspace.root)}"
    )


def undo_reference(workspace: Workspace, key: str) -> str:
    """Bring the student's own version of module ``key`` back from ``backup/``."""
    module = _module(workspace, key)
    state = workspace.state(module)
    backup = workspace.backup(module)
    if state.get("mode") == "student":
        return f"module {module.label} already uses your own version"
    if not backup.is_dir():
        raise WorkspaceError(
            f"module {module.label} has no version of yours to bring back (no "
            f"{backup.relative_to(workspace.root)}): it is not one of your assigned modules"
        )
    shutil.rmtree(module.src)
    shutil.move(str(backup), str(module.src))
    if not any(backup.parent.iterdir()):
        backup.parent.rmdir()
    state["mode"] = "student"
    workspace.save()
    return f"module {module.label} uses your own version again"
