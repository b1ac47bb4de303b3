"""MkDocs hook (``hooks:`` in mkdocs.yml): the pages of the site that are generated, not written.

At every build, from what is in the repository at that moment:

- ``modules/NN-name.md`` for each ``packages/NN-name/``: its README (links rewritten for the
  site), the milestones it unlocks, its systems-lesson figures, and its API rendered from the
  docstrings by mkdocstrings (``::: tinytorch.<name>``). A module that lands is on the site at the
  next build; nothing lists the modules by hand. The nav gets one entry per module, by phase.
- ``milestones.md``: the milestone results (``milestones/results/*.json`` when milestones have
  written them, else the table of the repository's README) and which module unlocks each one.
- ``benchmarks.md``: every ``benchmarks/results/<case>.json`` as a table.
- ``figures/*.png``: drawn by ``docs/gen_figures.py`` (see there) into ``build/docs-figures/``.
- In hand-written pages, ``<!-- tinytorch:NAME -->`` markers are replaced: ``course-map``
  (index.md), ``figures`` (lessons.md), ``dependency-table`` (architecture.md, from every
  ``pyproject.toml``).

Nothing generated is committed; the generated pages exist only in the built site.
"""

from __future__ import annotations

import ast
import json
import logging
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
log = logging.getLogger("mkdocs.hooks.tinytorch")

import gen_figures  # noqa: E402  (docs/ is not a package)

# The four phases of the course: modules by number, and what each phase is for.
PHASES = [
    ("Foundations", 1, 5, "A Tensor, layers, activations and networks, with backward by hand"),
    ("Training", 6, 10, "Autograd, convolutions, optimizers, data and the training loop"),
    ("Language models", 11, 15, "Tokens, embeddings, attention, transformers and generation"),
    ("Systems", 16, 20, "Profiling, kernels, compression, KV caching and the competition"),
]


@dataclass
class ModuleInfo:
    number: str  # "07"
    name: str  # "spatial"
    folder: Path
    distribution: str = ""
    version: str = ""
    description: str = ""
    dependencies: list[str] = field(default_factory=list)  # local module names
    external: list[str] = field(default_factory=list)  # other requirements, as written
    has_source: bool = False

    @property
    def slug(self) -> str:
        return f"{self.number}-{self.name}"

    @property
    def page(self) -> str:
        return f"modules/{self.slug}.md" if self.number else f"tooling/{self.folder.name}.md"

    @property
    def phase(self) -> str:
        n = int(self.number)
        return next((title for title, lo, hi, _ in PHASES if lo <= n <= hi), "Beyond")


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower()


def discover_modules(root: Path = ROOT) -> list[ModuleInfo]:
    """Every ``packages/NN-name/`` folder with a ``pyproject.toml``, in module order."""
    modules = []
    for folder in sorted(root.glob("packages/[0-9][0-9]-*/")):
        match = re.fullmatch(r"(\d\d)-(.+)", folder.name)
        pyproject = folder / "pyproject.toml"
        if not match or not pyproject.is_file():
            continue
        module = ModuleInfo(match.group(1), match.group(2), folder)
        try:
            project = tomllib.loads(pyproject.read_text())["project"]
        except (tomllib.TOMLDecodeError, KeyError):
            project = {}
        module.distribution = project.get("name", f"tinytorch-{module.name}")
        module.description = project.get("description", "")
        for requirement in project.get("dependencies", []):
            name = _requirement_name(requirement)
            if name.startswith("tinytorch-"):
                module.dependencies.append(name.removeprefix("tinytorch-"))
            else:
                module.external.append(requirement)
        package = folder / "src" / "tinytorch" / module.name
        module.has_source = (package / "__init__.py").is_file()
        about = package / "__about__.py"
        found = (
            re.search(r'__version__\s*=\s*"([^"]+)"', about.read_text())
            if about.is_file()
            else None
        )
        module.version = found.group(1) if found else ""
        modules.append(module)
    return modules


def discover_tooling(root: Path = ROOT) -> list[ModuleInfo]:
    """Packages that are not modules (``packages/course/``: the course tooling), except the
    meta-package: a page each under "Guides", with their README and API."""
    tools = []
    for folder in sorted(root.glob("packages/*/")):
        if re.match(r"\d\d-", folder.name) or folder.name == "tinytorch":
            continue
        pyproject = folder / "pyproject.toml"
        names = [p.parent.name for p in folder.glob("src/tinytorch/*/__init__.py")]
        if not pyproject.is_file() or len(names) != 1:
            continue
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        about = folder / "src" / "tinytorch" / names[0] / "__about__.py"
        found = (
            re.search(r'__version__\s*=\s*"([^"]+)"', about.read_text())
            if about.is_file()
            else None
        )
        tool = ModuleInfo("", names[0], folder, project.get("name", folder.name))
        tool.version = found.group(1) if found else ""
        tool.description = project.get("description", "")
        tool.external = list(project.get("dependencies", []))
        tool.has_source = True
        tools.append(tool)
    return tools


def tooling_page(tool: ModuleInfo, modules: list[ModuleInfo]) -> str:
    readme_path = tool.folder / "README.md"
    readme = readme_path.read_text(encoding="utf-8") if readme_path.is_file() else ""
    title = re.match(r"\A\s*# ([^\n]*)\n", readme)
    body = rewrite_links(readme[title.end() if title else 0 :], tool.folder, tool.page, modules)
    lines = [
        f"# {title.group(1) if title else tool.distribution}",
        "",
        f"**Package** `{tool.distribution}` {tool.version} · "
        f"**Folder** `packages/{tool.folder.name}/`",
        "",
        body.strip(),
        "",
        "## API reference",
        "",
        f"::: tinytorch.{tool.name}",
        "    options:",
        "      show_submodules: true",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ milestones


@dataclass
class MilestoneInfo:
    name: str  # "m03_mnist_mlp"
    summary: str  # the first line of its docstring, without the "Milestone NN (...)" prefix
    requires: tuple[str, ...]  # module names it runs on (its imports and their dependencies)
    unlocks_at: str  # the highest module number among them


def _imported_modules(path: Path, seen: set[Path]) -> set[str]:
    """The ``tinytorch.<name>`` modules a milestone file imports, following its imports of
    sibling files (``import milestone_kit``, ``import m03_mnist_mlp``)."""
    seen.add(path)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in imported:
            parts = name.split(".")
            if parts[0] == "tinytorch" and len(parts) > 1:
                names.add(parts[1])
            sibling = path.with_name(f"{parts[0]}.py")
            if sibling.is_file() and sibling not in seen:
                names |= _imported_modules(sibling, seen)
    return names


def discover_milestone_info(modules: list[ModuleInfo], root: Path = ROOT) -> list[MilestoneInfo]:
    """Each ``milestones/mNN_*.py``, unlocked (as ``tinytorch status`` reckons) when every module
    it imports, and every module those depend on, is built: at the highest of their numbers."""
    by_name = {m.name: m for m in modules}
    found = []
    for path in sorted(root.glob("milestones/m[0-9][0-9]_*.py")):
        needed = _imported_modules(path, set())
        stack = list(needed)
        while stack:
            module = by_name.get(stack.pop())
            for dependency in module.dependencies if module else ():
                if dependency not in needed:
                    needed.add(dependency)
                    stack.append(dependency)
        order = sorted((n for n in needed if n in by_name), key=lambda n: by_name[n].number)
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or path.stem
        summary = re.sub(r"^Milestone \d+ \([^)]*\):\s*", "", doc.strip().splitlines()[0])
        levels = [by_name[n].number for n in order]
        found.append(MilestoneInfo(path.stem, summary, tuple(order), max(levels, default="")))
    return found


def _readme_milestone_rows(root: Path = ROOT) -> dict[str, str]:
    """The README's milestone table: milestone name -> its "what it shows" cell."""
    text = (root / "README.md").read_text(encoding="utf-8")
    section = text.split("## Milestones", 1)[-1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`m"):
            rows[cells[0].strip("`")] = cells[-1]
    return rows


def _result_files(root: Path = ROOT) -> dict[str, tuple[Path, dict[str, Any]]]:
    """The last recorded run of each milestone: ``milestones/results/<milestone>.<quick|full>.json``
    (milestone_kit.record), a full run preferred to a quick one. A file holding a
    ``{name: summary}`` mapping (``milestones/run.py --json``) counts for each milestone in it."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in sorted((root / "milestones" / "results").glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            log.warning("milestone results %s unreadable: %s", path, error)
            continue
        if not isinstance(data, dict):
            continue
        if "milestone" in data or "headline" in data:
            entries = {str(data.get("milestone") or path.name.split(".")[0]): data}
        else:
            entries = {
                k: v for k, v in data.items() if re.match(r"m\d\d_", k) and isinstance(v, dict)
            }
        for name, summary in entries.items():
            known = found.get(name)
            if known is None or (known[1].get("quick", True) and not summary.get("quick", True)):
                found[name] = (path, summary)
    return found


def _result_cell(path: Path, summary: dict[str, Any]) -> str:
    """``passed (full run, 2026-11-29, 40 s)``: the headline, from a milestone's summary."""
    if "passed" in summary:
        verdict = "passed" if summary["passed"] else "**FAILED**"
        if summary.get("stand_in"):
            verdict = f"stand-in check {verdict}"
    else:
        verdict = str(summary.get("status", "recorded"))
    when = [
        "quick run" if summary.get("quick", False) else "full run",
        str((summary.get("conditions") or {}).get("date", ""))[:10],
    ]
    if isinstance(summary.get("wall_s"), int | float):
        wall = summary["wall_s"]
        when.append(f"{wall:.0f} s" if wall < 120 else f"{wall / 60:.1f} min")
    headline = summary.get("headline") or _summary_cells(summary)
    where = f"milestones/results/{path.name}"
    return f"{verdict} ({', '.join(w for w in when if w)}): {_format_value(headline)} (`{where}`)"


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, str):
        return value.replace("|", "\\|").replace("\n", " ")
    if (
        isinstance(value, list)
        and len(value) <= 6
        and all(isinstance(v, int | float | str) for v in value)
    ):
        return ", ".join(_format_value(v) for v in value)
    return ""


def _summary_cells(summary: dict[str, Any]) -> str:
    """The scalar entries of a milestone summary, ``key: value`` separated by semicolons."""
    parts = []
    for key, value in summary.items():
        if key in ("milestone", "name", "status", "passed"):
            continue
        shown = _format_value(value)
        if shown and len(shown) <= 120:
            parts.append(f"{key}: {shown}")
    return "; ".join(parts[:12])


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 5, 6, 8]`` -> ``"01-03, 05-06, 08"``."""
    spans: list[list[int]] = []
    for n in sorted(set(numbers)):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a:02d}" if a == b else f"{a:02d}-{b:02d}" for a, b in spans)


def milestones_page(modules: list[ModuleInfo]) -> str:
    milestones = discover_milestone_info(modules)
    results = _result_files()
    readme = _readme_milestone_rows()
    pages = {m.number: m for m in modules}
    pages_by_name = {m.name: m for m in modules}
    lines = [
        "# Milestones",
        "",
        "A milestone is an end-to-end run that unlocks when every module it uses is built (or,",
        "for a student, passes its tests): `tinytorch status` says which are unlocked, and",
        "`./dev milestones` (`nox -s milestones`) runs them all, quick by default, `--full` for",
        "the runs that reach the reported results.",
        "",
    ]
    if results:
        lines += [
            "Each result is the last recorded run in `milestones/results/` (a full run when",
            "there is one); a milestone without a results file shows the repository README's",
            "row.",
            "",
        ]
    else:
        lines += [
            "No `milestones/results/*.json` in this checkout: the results below are the",
            "repository README's table (full runs).",
            "",
        ]
    lines += ["| milestone | unlocks at | modules it runs on | result |", "|---|---|---|---|"]
    for m in milestones:
        unlock = pages.get(m.unlocks_at)
        unlock_cell = f"[{unlock.slug}]({unlock.page})" if unlock else (m.unlocks_at or "-")
        if m.name in results:
            result = _result_cell(*results[m.name])
        else:
            result = readme.get(m.name, m.summary)
        runs_on = _ranges([int(pages_by_name[n].number) for n in m.requires])
        lines.append(f"| `{m.name}`: {m.summary} | {unlock_cell} | {runs_on} | {result} |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ benchmarks


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def benchmarks_page(root: Path = ROOT) -> str:
    files = sorted((root / "benchmarks" / "results").glob("*.json"))
    lines = [
        "# Benchmarks",
        "",
        "TinyTorch beside PyTorch (CPU), the same work on the same inputs in one process with the",
        "same threads; medians of repeated samples. Each table is generated from",
        "`benchmarks/results/<case>.json`, written by `nox -s bench` (`python benchmarks/run.py`);",
        "the method is in `benchmarks/README.md`. **ratio** is TinyTorch's time over PyTorch's",
        "(below 1: TinyTorch is faster); **% peak** compares a rate with NumPy's float32 matmul",
        "peak measured at the start of the run.",
        "",
    ]
    if not files:
        return "\n".join([*lines, "No results in `benchmarks/results/` yet.", ""])
    machine = None
    for path in files:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            log.warning("benchmark result %s unreadable: %s", path, error)
            continue
        machine = machine or data.get("machine")
        lines += [f"## {data.get('title', path.stem)}", ""]
        date = str(data.get("date", ""))[:10]
        quiet = data.get("others_cpu_fraction")
        meta = [f"case `{data.get('case', path.stem)}`", date]
        if data.get("quick"):
            meta.append("quick run")
        if isinstance(quiet, float) and quiet > 0.1:
            meta.append(f"other processes used {quiet:.0%} of the CPU: suspect")
        lines += [", ".join(m for m in meta if m) + ".", ""]
        if data.get("status") != "ok":
            lines += [f"Status: {data.get('status')}. {data.get('torch_note') or ''}", ""]
        rows = data.get("rows", [])
        if rows:
            lines += [
                "| | TinyTorch | PyTorch | ratio | GFLOP/s (TinyTorch / PyTorch) | % peak |",
                "|---|--:|--:|--:|--:|--:|",
            ]
            for row in rows:
                tt, pt = row.get("tinytorch") or {}, row.get("pytorch") or {}
                ratio = row.get("ratio")
                rates = [s.get("gflops") for s in (tt, pt)]
                rate = " / ".join(f"{r:.1f}" if r else "-" for r in rates) if any(rates) else ""
                peaks = [s.get("fraction_of_peak") for s in (tt, pt)]
                peak = " / ".join(f"{p:.0%}" if p else "-" for p in peaks) if any(peaks) else ""
                lines.append(
                    f"| {row.get('label', '')} | {_seconds(tt.get('median_s'))} | "
                    f"{_seconds(pt.get('median_s'))} | "
                    f"{f'{ratio:.2f}' if ratio else '-'} | {rate} | {peak} |"
                )
            lines.append("")
            notes = [r for r in rows if r.get("note")]
            for row in notes:
                lines.append(f"- *{row['label']}*: {_format_value(row['note'])}")
            if notes:
                lines.append("")
    if machine:
        lines += [
            "## Machine",
            "",
            "| | |",
            "|---|---|",
            *(f"| {k} | {_format_value(v)} |" for k, v in machine.items()),
            "",
        ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ module pages

_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def _site_target(target: Path, modules: list[ModuleInfo]) -> str | None:
    """The site page (relative to docs/) standing for a repository path, if any."""
    try:
        relative = target.resolve().relative_to(ROOT)
    except ValueError:
        return None
    parts = relative.parts
    if parts and parts[0] == "docs" and relative.suffix == ".md":
        return "/".join(parts[1:])
    if relative == Path("README.md"):
        return "index.md"
    if len(parts) >= 2 and parts[0] == "packages" and (len(parts) == 2 or parts[2] == "README.md"):
        for module in [*modules, *_state.get("tools", [])]:
            if module.folder.name == parts[1]:
                return module.page
    return None


def rewrite_links(text: str, base: Path, page: str, modules: list[ModuleInfo]) -> str:
    """Relative links of a README at ``base`` made right for the site page ``page``: a link to a
    guide, the repository README or another module's README goes to that page; a link to any
    other file of the repository (no page on the site) becomes its path in code. Links inside
    code blocks and absolute URLs are left alone."""
    depth = page.count("/")
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if fenced:
            out.append(line)
            continue

        def fix(match: re.Match[str]) -> str:
            bang, label, url = match.groups()
            if re.match(r"[a-z][a-z0-9+.-]*:|#|/", url):
                return match.group(0)
            path, _, anchor = url.partition("#")
            site = _site_target(base / path, modules)
            if site is not None:
                return f"{bang}[{label}]({'../' * depth}{site}{'#' + anchor if anchor else ''})"
            repo_path = (base / path).resolve()
            try:
                shown = str(repo_path.relative_to(ROOT))
            except ValueError:
                shown = path
            return f"{label} (`{shown}`)" if label and label.strip("`") != shown else f"`{shown}`"

        out.append(_LINK.sub(fix, line))
    return "\n".join(out)


def _what(module: ModuleInfo) -> str:
    """The package description without its "TinyTorch module NN: " prefix, as a sentence."""
    text = module.description.removeprefix(f"TinyTorch module {module.number}: ").strip()
    return text[:1].upper() + text[1:]


def module_page(
    module: ModuleInfo,
    modules: list[ModuleInfo],
    milestones: list[MilestoneInfo],
    figures: list[dict[str, Any]],
) -> str:
    readme_path = module.folder / "README.md"
    readme = readme_path.read_text(encoding="utf-8") if readme_path.is_file() else ""
    body = re.sub(r"\A\s*# [^\n]*\n", "", readme)  # the README's own title
    body = rewrite_links(body, module.folder, module.page, modules)
    by_name = {m.name: m for m in modules}
    deps = [
        f"[{by_name[d].slug}]({by_name[d].slug}.md)" if d in by_name else f"`tinytorch-{d}`"
        for d in module.dependencies
    ]
    facts = [
        f"**Package** `{module.distribution}`" + (f" {module.version}" if module.version else ""),
        f"**Phase** {module.phase}",
        "**Depends on** " + (", ".join(deps) if deps else "nothing but NumPy"),
    ]
    lines = [f"# {module.number} {module.name}", "", " · ".join(facts), ""]
    if module.description:
        lines += [f"*{_what(module)}*", ""]
    lines += [body.strip() or "*This module has no README yet.*", ""]

    mine = [f for f in figures if f["module"] == module.slug]
    if mine:
        lines += ["## Figures", ""]
        for figure in mine:
            lines += figure_block(figure, "../figures/", heading="###")
    unlocked = [m for m in milestones if m.unlocks_at == module.number]
    lines += ["## Milestones it unlocks", ""]
    if unlocked:
        lines += [f"- `{m.name}`: {m.summary} ([results](../milestones.md))" for m in unlocked] + [
            ""
        ]
    else:
        later = [m for m in milestones if module.name in m.requires]
        if later:
            first = min(later, key=lambda m: m.unlocks_at)
            lines += [
                f"None on its own; milestones that run on it start with `{first.name}` "
                f"(unlocks at module {first.unlocks_at}).",
                "",
            ]
        else:
            lines += ["None yet.", ""]
    lines += ["## API reference", ""]
    if module.has_source:
        lines += [
            f"Generated from the docstrings of `tinytorch.{module.name}` (its public names, "
            "`__all__`).",
            "",
            f"::: tinytorch.{module.name}",
            "",
        ]
    else:
        lines += [f"`src/tinytorch/{module.name}/__init__.py` does not exist yet.", ""]
    return "\n".join(lines)


def figure_block(figure: dict[str, Any], prefix: str, heading: str = "##") -> list[str]:
    lines = [f"{heading} {figure['title']}", ""]
    if "skipped" in figure:
        return [*lines, f'!!! note "Not drawn in this build"\n    {figure["skipped"]}.', ""]
    lines += [
        f"![{figure['title']}]({prefix}{figure['image']})",
        "",
        f"{figure['caption']}",
        "",
        f"*Drawn by `python docs/gen_figures.py --only {figure['name']}`.*",
        "",
    ]
    return lines


# ------------------------------------------------------------------------------ markers


def course_map(modules: list[ModuleInfo], milestones: list[MilestoneInfo]) -> str:
    by_number = {m.number: m for m in modules}
    lines = []
    for index, (title, lo, hi, blurb) in enumerate(PHASES, 1):
        lines += [f"### Phase {index}: {title} (modules {lo:02d}-{hi:02d})", "", f"{blurb}.", ""]
        lines += ["| module | package | builds |", "|---|---|---|"]
        for n in range(lo, hi + 1):
            number = f"{n:02d}"
            module = by_number.get(number)
            if module:
                what = _what(module)
                lines.append(
                    f"| [{module.slug}]({module.page}) | `{module.distribution}` | {what} |"
                )
            else:
                lines.append(f"| {number} | | *not built yet* |")
        lines.append("")
        reached = [m for m in milestones if m.unlocks_at and lo <= int(m.unlocks_at) <= hi]
        if reached:
            lines += ["Milestones unlocked in this phase:", ""]
            lines += [f"- **`{m.name}`** (at module {m.unlocks_at}): {m.summary}" for m in reached]
            lines.append("")
    return "\n".join(lines)


def dependency_table(modules: list[ModuleInfo]) -> str:
    lines = [
        "| module | distribution | version | depends on (local) | other requirements |",
        "|---|---|---|---|---|",
    ]
    by_name = {m.name: m for m in modules}
    for module in modules:
        deps = ", ".join(
            f"[{by_name[d].number}]({by_name[d].page})" if d in by_name else d
            for d in module.dependencies
        )
        external = ", ".join(f"`{r}`" for r in module.external)
        lines.append(
            f"| [{module.slug}]({module.page}) | `{module.distribution}` | {module.version} | "
            f"{deps or '-'} | {external or '-'} |"
        )
    meta = ROOT / "packages" / "tinytorch" / "pyproject.toml"
    if meta.is_file():
        project = tomllib.loads(meta.read_text())["project"]
        count = sum(1 for r in project.get("dependencies", []) if "tinytorch-" in r)
        lines += [
            "",
            f"The meta-package `{project['name']}` (`packages/tinytorch/`) depends on {count} of "
            "them and re-exports their names lazily (`tinytorch.nn`, `tinytorch.optim`, ...).",
        ]
    return "\n".join(lines)


def lessons_figures(figures: list[dict[str, Any]], modules: list[ModuleInfo]) -> str:
    pages = {m.slug: m for m in modules}
    lines = []
    for figure in figures:
        lines += figure_block(figure, "figures/")
        module = pages.get(figure["module"])
        if module:
            lines += [f"From module [{module.slug}]({module.page}).", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ the hooks

_state: dict[str, Any] = {}


def on_config(config: Any) -> Any:
    modules = discover_modules()
    tools = discover_tooling()
    _state.update(modules=modules, tools=tools)
    by_phase: dict[str, list[dict[str, str]]] = {}
    for module in modules:
        by_phase.setdefault(module.phase, []).append({f"{module.slug}": module.page})
    entries = [{f"{title}": by_phase[title]} for title, *_ in PHASES if title in by_phase]
    entries += [{"Beyond": by_phase["Beyond"]}] if "Beyond" in by_phase else []
    for item in config.nav or []:
        if isinstance(item, dict) and "Modules" in item:
            item["Modules"] = entries
        if isinstance(item, dict) and isinstance(item.get("Guides"), list):
            item["Guides"] += [
                {f"Course tooling ({tool.distribution})": tool.page} for tool in tools
            ]
    return config


def on_files(files: Files, config: Any) -> Files:
    modules = _state["modules"]
    milestones = discover_milestone_info(modules)
    figures = gen_figures.ensure()
    _state.update(milestones=milestones, figures=figures)
    for figure in figures:
        if "image" in figure:
            files.append(
                File.generated(
                    config,
                    f"figures/{figure['image']}",
                    abs_src_path=str(gen_figures.DEFAULT_OUT / figure["image"]),
                )
            )
    for module in modules:
        files.append(
            File.generated(
                config, module.page, content=module_page(module, modules, milestones, figures)
            )
        )
    for tool in _state["tools"]:
        files.append(File.generated(config, tool.page, content=tooling_page(tool, modules)))
    files.append(File.generated(config, "milestones.md", content=milestones_page(modules)))
    files.append(File.generated(config, "benchmarks.md", content=benchmarks_page()))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if "<!-- tinytorch:" not in markdown:
        return markdown
    modules, milestones = _state["modules"], _state["milestones"]
    makers = {
        "course-map": lambda: course_map(modules, milestones),
        "dependency-table": lambda: dependency_table(modules),
        "figures": lambda: lessons_figures(_state["figures"], modules),
    }

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in makers:
            log.warning("%s: unknown marker <!-- tinytorch:%s -->", page.file.src_uri, name)
            return match.group(0)
        return makers[name]()

    return re.sub(r"<!-- tinytorch:([\w-]+) -->", fill, markdown)
