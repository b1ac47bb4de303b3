"""A course folder -- the repository or a student workspace -- and what is in it.

Both hold ``packages/NN-name/`` (``pyproject.toml``, ``src/tinytorch/<name>/``, ``tests/``), and
usually ``milestones/``. Modules are discovered from those folders, never listed by hand, so a new
module is covered as soon as its folder exists. This file also keeps the last test result of each
module (``.tinytorch/results.json``, with a fingerprint of the code it ran against) and works out
which milestones are unlocked.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tinytorch.course.packages import read_project
from tinytorch.course.testrun import TestResult

__all__ = [
    "STATE_DIR",
    "WORKSPACE_FILE",
    "Milestone",
    "ModulePackage",
    "discover_milestones",
    "discover_modules",
    "find_course_root",
    "fingerprint",
    "load_results",
    "module_by_number",
    "record_result",
    "select_modules",
]

WORKSPACE_FILE = "workspace.json"
STATE_DIR = ".tinytorch"  # per-folder state: test results, hypothesis examples; git-ignored


@dataclass(frozen=True)
class ModulePackage:
    """One module's package folder, ``packages/NN-name``."""

    number: str  # "03"
    name: str  # "layers"
    folder: Path  # .../packages/03-layers

    @property
    def label(self) -> str:
        """``"03 layers"``, for messages and tables."""
        return f"{self.number} {self.name}"

    @property
    def distribution(self) -> str:
        """The distribution name, ``tinytorch-layers``."""
        return f"tinytorch-{self.name}"

    @property
    def src(self) -> Path:
        return self.folder / "src"

    @property
    def tests(self) -> Path:
        return self.folder / "tests"

    def version(self) -> str:
        """The version in ``src/tinytorch/<name>/__about__.py`` (``"0.0.0"`` if none)."""
        about = self.src / "tinytorch" / self.name / "__about__.py"
        text = about.read_text() if about.is_file() else ""
        match = re.search(r'__version__\s*=\s*"([^"]+)"', text)
        return match.group(1) if match else "0.0.0"

    def local_dependencies(self) -> tuple[str, ...]:
        """Names of the TinyTorch modules its ``pyproject.toml`` depends on (``("tensor",)``)."""
        requirements = read_project(self.folder / "pyproject.toml").get("dependencies", [])
        names = (re.match(r"tinytorch-([a-z]+)", r.strip()) for r in requirements)
        return tuple(match.group(1) for match in names if match)

    def title(self) -> str:
        """What the module builds: its ``pyproject.toml`` description without the
        ``"TinyTorch module NN: "`` prefix."""
        text = str(read_project(self.folder / "pyproject.toml").get("description", ""))
        return re.sub(r"^TinyTorch module \d+:\s*", "", text)


def discover_modules(root: Path) -> list[ModulePackage]:
    """Every ``packages/NN-name`` with a ``pyproject.toml`` under ``root``, in course order."""
    found = []
    for pyproject in sorted(Path(root).glob("packages/[0-9][0-9]-*/pyproject.toml")):
        number, name = pyproject.parent.name.split("-", 1)
        found.append(ModulePackage(number, name, pyproject.parent))
    return found


def module_by_number(modules: Sequence[ModulePackage], key: str) -> ModulePackage:
    """The module whose number (``"3"``, ``"03"``) or name (``"layers"``) is ``key``.

    Raises ``ValueError`` listing the modules that are here.
    """
    text = str(key).strip().lower()
    text = text.zfill(2) if text.isdigit() else text
    for module in modules:
        if text in (module.number, module.name, module.folder.name):
            return module
    here = ", ".join(m.label for m in modules) or "none"
    raise ValueError(f"no such module {key!r} here: the modules here are {here}")


def select_modules(spec: str | None, modules: Sequence[ModulePackage]) -> list[ModulePackage]:
    """Parse ``"01-10"``, ``"3,5,7"``, ``"02-04,tensor"`` or ``"all"`` (None means all).

    A range keeps the modules of it that exist here; a single module that is not here, or a
    range that selects none, raises ``ValueError``.
    """
    if spec is None or spec.strip().lower() == "all":
        return list(modules)
    chosen: set[str] = set()
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        bounds = re.fullmatch(r"(\d{1,2})\s*-\s*(\d{1,2})", part)
        if bounds:
            low, high = sorted(int(b) for b in bounds.groups())
            hit = {m.number for m in modules if low <= int(m.number) <= high}
            if not hit:
                raise ValueError(f"the range {part} selects none of the modules here")
            chosen |= hit
        else:
            chosen.add(module_by_number(modules, part).number)
    return [m for m in modules if m.number in chosen]


def find_course_root(start: str | Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: cwd) that is a student workspace
    (holds ``workspace.json``) or the repository (holds ``packages/NN-name/pyproject.toml``)."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / WORKSPACE_FILE).is_file() or discover_modules(folder):
            return folder
    return None


# --------------------------------------------------------------------------- results


def fingerprint(folders: Iterable[Path]) -> str:
    """A hash of every ``.py`` file under ``folders`` (names and contents)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.py")):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _state_dir(root: Path) -> Path:
    state = root / STATE_DIR
    state.mkdir(exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by the tinytorch command: test results, examples\n*\n")
    return state


def load_results(root: Path) -> dict[str, dict]:
    """Module number -> the last recorded result (``passed``, ``total``, ``ok``, ...)."""
    path = Path(root) / STATE_DIR / "results.json"
    if not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError, ValueError):
        return {}


_RESULTS_LOCK = threading.Lock()  # `status --run-tests` records modules from several threads


def record_result(root: Path, number: str, result: TestResult, fingerprint: str) -> None:
    """Remember ``result`` of module ``number``, and the code it ran against.

    Read-modify-write of one file: under a lock (parallel test runs would otherwise drop each
    other's results), written to a temporary file and renamed (a reader never sees half of it).
    """
    with _RESULTS_LOCK:
        _record_result(root, number, result, fingerprint)


def _record_result(root: Path, number: str, result: TestResult, fingerprint: str) -> None:
    results = load_results(root)
    results[number] = {
        "passed": result.passed,
        "failed": result.failed,
        "total": result.total,
        "ok": result.ok,
        "error": result.error,
        "fingerprint": fingerprint,
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    path = _state_dir(root) / "results.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, path)


# --------------------------------------------------------------------------- milestones


@dataclass(frozen=True)
class Milestone:
    """A milestone script ``milestones/mNN_name.py`` and the modules it needs."""

    name: str  # "m01_xor"
    path: Path
    requires: tuple[str, ...]  # module names, with every module those depend on, course order


def _imported_tinytorch(path: Path, seen: set[Path]) -> set[str]:
    """``tinytorch.<name>`` modules imported by ``path`` or by sibling files it imports."""
    seen.add(path)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            imported = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported = [node.module]
        else:
            continue
        for name in imported:
            parts = name.split(".")
            if parts[0] == "tinytorch" and len(parts) > 1:
                names.add(parts[1])
            sibling = path.with_name(f"{parts[0]}.py")
            if sibling.is_file() and sibling not in seen:
                names |= _imported_tinytorch(sibling, seen)
    return names


def discover_milestones(root: Path, modules: Sequence[ModulePackage]) -> list[Milestone]:
    """Each ``milestones/mNN_*.py`` of ``root`` with the modules it imports, plus their
    dependencies (from each package's ``pyproject.toml``), so that a milestone is unlocked
    only when every module it runs on is in place."""
    by_name = {m.name: m for m in modules}
    found = []
    for path in sorted(Path(root).glob("milestones/m[0-9][0-9]_*.py")):
        needed = _imported_tinytorch(path, set())
        stack = list(needed)
        while stack:
            module = by_name.get(stack.pop())
            for dependency in module.local_dependencies() if module else ():
                if dependency not in needed:
                    needed.add(dependency)
                    stack.append(dependency)
        order = sorted(needed, key=lambda n: (by_name[n].number if n in by_name else "99", n))
        found.append(Milestone(path.stem, path, tuple(order)))
    return found
