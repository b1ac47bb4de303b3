"""The course commands of the ``tinytorch`` CLI: students' and instructors' workflow.

    tinytorch student init DIR [--modules 01-10]   write a student workspace
    tinytorch test NN [-k EXPR] [-x] [-v]           run module NN's tests on the code here
    tinytorch status [--run-tests]                  modules passing, milestones unlocked
    tinytorch reference NN [--undo]                 swap module NN for the reference and back
    tinytorch run SCRIPT [ARGS ...]                 run a script (a milestone) on the code here
    tinytorch grade DIR                             grade a workspace: grades.json and a table
    tinytorch fences [NN ...] [--check]             list the solution fences; check each is tested

"Here" is the course folder at or above the current directory: a student workspace
(``workspace.json``) or the repository. See docs/students.md and docs/instructors.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tinytorch.course.cli import Command, register_command
from tinytorch.course.fencecheck import FenceReport, check_fences, module_fences
from tinytorch.course.fences import FenceError
from tinytorch.course.grading import ModuleGrade, grade_workspace, grades_report, write_grades
from tinytorch.course.layout import (
    STATE_DIR,
    WORKSPACE_FILE,
    Milestone,
    ModulePackage,
    discover_milestones,
    discover_modules,
    find_course_root,
    fingerprint,
    load_results,
    module_by_number,
    record_result,
    select_modules,
)
from tinytorch.course.testrun import TestResult, run_script, run_tests
from tinytorch.course.workspace import (
    RepoReference,
    Workspace,
    WorkspaceError,
    create_workspace,
    resolve_reference,
    undo_reference,
    use_reference,
)

__all__ = ["default_repository", "module_namespace", "test_module"]

USAGE = 2  # exit code for bad input (argparse uses it too)


def default_repository() -> Path | None:
    """The repository to take reference versions from when none is named: the one at or above
    the current directory, else the checkout this ``tinytorch.course`` was installed from."""
    here = find_course_root()
    if here is not None and not (here / WORKSPACE_FILE).is_file():
        return here
    installed_from = Path(__file__).resolve().parents[5]  # packages/course/src/tinytorch/course
    return installed_from if discover_modules(installed_from) else None


def _course_root(console: Console, folder: str | None) -> Path | None:
    root = find_course_root(folder)
    if root is None:
        console.print(
            f"[red]{Path(folder or Path.cwd()).resolve()} is not inside a TinyTorch workspace or "
            f"repository[/]: run this in the folder made by `tinytorch student init`, or pass "
            f"--workspace DIR"
        )
    return root


def module_namespace(modules: Sequence[ModulePackage], module: ModulePackage) -> list[Path]:
    """The ``src/tinytorch`` folders that module ``module``'s tests run on: it and every
    module before it, as they are in the course folder."""
    return [m.src / "tinytorch" for m in modules if m.number <= module.number]


def test_module(
    root: Path,
    module: ModulePackage,
    args: Sequence[str] = (),
    record: bool = True,
    details: bool = False,
) -> TestResult:
    """Run ``module``'s tests on the code of the course folder ``root``; remember the result
    (unless ``args`` select some tests only). ``details``: see ``run_tests``."""
    modules = discover_modules(root)
    namespace = module_namespace(modules, module)
    state = root / STATE_DIR
    state.mkdir(exist_ok=True)
    here = Path.cwd().resolve()
    inside = here == root.resolve() or root.resolve() in here.parents
    # pytest prints traceback paths relative to where it runs: where the student stands (inside
    # the course folder), so they open from there; hypothesis keeps its examples in .tinytorch/.
    env = {
        "HYPOTHESIS_STORAGE_DIRECTORY": str(state / "hypothesis"),
        "COLUMNS": str(max(shutil.get_terminal_size((120, 24)).columns, 80)),
    }
    result = run_tests(
        namespace,
        [module.tests],
        rootdir=root,
        cwd=here if inside else root,
        args=["--continue-on-collection-errors", *args],
        details=details,
        env=env,
        pythonpath=[root],  # a process a test spawns imports the test module from the root
    )
    if record and not args:
        folders = [p.parent for p in namespace] + [module.tests]
        record_result(root, module.number, result, fingerprint(folders))
    return result


def _resolve_module(console: Console, modules: Sequence[ModulePackage], key: str):
    try:
        return module_by_number(modules, key)
    except ValueError as error:
        console.print(f"[red]{error}")
        return None


# --------------------------------------------------------------------------- student init


def cmd_student(args: argparse.Namespace, console: Console) -> int:
    """``tinytorch student init DIR``: write a student workspace."""
    source = Path(args.source) if args.source else default_repository()
    if source is None or not discover_modules(source):
        console.print(
            "[red]No TinyTorch repository found[/] to make the workspace from: run this inside "
            "the repository, or pass --source PATH"
        )
        return USAGE
    available = discover_modules(source)
    try:
        assigned = select_modules(args.modules, available)
        workspace = create_workspace(
            args.dir, source, assigned, Path(args.wheels) if args.wheels else None, args.index_url
        )
    except (ValueError, FenceError) as error:
        console.print(f"[red]{error}")
        return USAGE
    first = next((m.number for m in workspace.assigned()), "02")
    table = Table("#", "module", "in the workspace", "fences", title=f"Workspace {workspace.root}")
    for module in workspace.modules:
        state = workspace.state(module)
        kind = "[bold]student version" if state["assigned"] else "[dim]reference version"
        table.add_row(module.number, module.name, kind, str(state.get("fences", 0)))
    console.print(table)
    console.print(
        f"Next: cd {workspace.root}; pip install ./packages/course './packages/01-setup[test]'; "
        f"read README.md; "
        f"`tinytorch test {first}`.",
        markup=False,
    )
    return 0


def _student_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="student_command", metavar="ACTION", required=True)
    init = sub.add_parser("init", help="write a student workspace")
    init.add_argument("dir", help="folder to create (must not exist, or be empty)")
    init.add_argument(
        "--modules",
        default=None,
        help="modules the student writes, e.g. 01-10, 3,5,7 or all (default: all); the others "
        "are reference versions",
    )
    init.add_argument("--source", help="the TinyTorch repository (default: the one here)")
    init.add_argument("--wheels", help="a folder of reference wheels to ship (nox's dist/)")
    init.add_argument("--index-url", help="a package index serving the reference wheels")


register_command(Command("student", "Make a student workspace", cmd_student, _student_arguments))


# --------------------------------------------------------------------------- test


def _print_result(console: Console, module: ModulePackage, result: TestResult) -> None:
    head = f"module {module.label}:"
    if result.ok:
        extra = f", {result.skipped} skipped" if result.skipped else ""
        console.print(
            f"[green]{head} all {result.passed} tests passed{extra}[/] ({result.seconds:.1f} s)"
        )
        return
    console.print(f"[red]{head} {result.summary()}[/] ({result.seconds:.1f} s)")
    stubs = result.not_implemented
    if stubs:
        are = "is a NotImplementedError" if stubs == 1 else "are NotImplementedErrors"
        console.print(f"  {stubs} of the failures {are}: code still to write")
    if result.failures:
        first = result.failures[0]
        # soft_wrap: a test id is never broken across lines, whatever the terminal's width
        console.print(f"  first failure: {first.test}", markup=False, soft_wrap=True)
        message = "\n    ".join(first.message.strip().splitlines()[:4])
        console.print(f"    {message}", markup=False, soft_wrap=True)


def cmd_test(args: argparse.Namespace, console: Console) -> int:
    """``tinytorch test NN``: run one module's tests on the code of this folder."""
    root = _course_root(console, args.workspace)
    if root is None:
        return USAGE
    module = _resolve_module(console, discover_modules(root), args.module)
    if module is None:
        return USAGE
    extra = (["-k", args.k] if args.k else []) + (["-x"] if args.exitfirst else [])
    console.print(f"running the tests of module {module.label} ...")
    result = test_module(root, module, extra, details=args.verbose)
    if args.verbose:  # as pytest wrote it: never re-wrapped (a test id stays on one line)
        sys.stdout.write(result.output if result.output.endswith("\n") else result.output + "\n")
        sys.stdout.flush()
    if args.k and result.returncode == 5 and not result.outcomes:
        tests = module.tests.relative_to(root)
        console.print(
            f"[yellow]no test of module {module.label} matches -k {args.k!r}[/]: -k selects "
            f"tests whose name contains the text (e.g. -k forward); the names are the "
            f"`def test_...` in {tests}/",
            soft_wrap=True,
        )
        return 1
    _print_result(console, module, result)
    if not result.ok and not args.verbose:
        console.print(
            f"  (`tinytorch test {module.number} -x -v` stops at the first failure and shows it)"
        )
    return 0 if result.ok else 1


def _workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace", metavar="DIR", help="the workspace or repository (default: the one here)"
    )


def _test_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("module", help="module number or name, e.g. 03 or layers")
    parser.add_argument("-k", metavar="EXPR", help="only tests matching EXPR (as pytest -k)")
    parser.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show pytest's output, tracebacks and hypothesis's smallest failing examples "
        "(slower: use with -x)",
    )
    _workspace_option(parser)


register_command(
    Command("test", "Run one module's tests on the code here", cmd_test, _test_arguments)
)


# --------------------------------------------------------------------------- status


def _installed_status(args: argparse.Namespace, console: Console) -> int:
    """Outside a course folder: module 01's table of installed TinyTorch packages."""
    if args.run_tests:
        console.print(
            f"[yellow]Cannot run tests: {Path.cwd()} is not inside a TinyTorch workspace or "
            f"repository (no packages/NN-name/ at or above it)."
        )
    try:
        from tinytorch.setup.cli import installed_status
    except ImportError:
        console.print(
            f"{Path.cwd()} is not inside a TinyTorch workspace or repository; run `tinytorch "
            f"status` there (or pass --workspace DIR)"
        )
        return 0
    return int(installed_status(console))


def _current(root: Path, modules: Sequence[ModulePackage], module: ModulePackage) -> str:
    folders = [p.parent for p in module_namespace(modules, module)] + [module.tests]
    return fingerprint(folders)


def _test_cell(entry: dict | None, current: bool) -> tuple[str, bool]:
    """The tests column of ``status`` and whether the module counts as passing."""
    if entry is None:
        return "[dim]not run yet", False
    if entry.get("error"):
        text = f"[red]error: {entry['error']}"
    elif entry["ok"]:
        text = f"[green]passing ({entry['passed']} tests)"
    else:
        text = f"[red]{entry['failed']} of {entry['total']} failing"
    if not current:
        return f"[yellow]changed since the last run[/] (then: {text}[/])", False
    return text, bool(entry["ok"])


def _code_of(workspace: Workspace | None, module: ModulePackage) -> tuple[str, bool]:
    """The ``code`` cell of ``status`` and whether the code is the student's own."""
    if workspace is None:
        return "repository", False
    state = workspace.state(module)
    if state.get("mode") == "student":
        return "[bold]yours", True
    if state.get("assigned"):
        return "reference (yours is in backup/)", False
    return "[dim]reference", False


def module_progress(root: Path) -> tuple[list[ModulePackage], dict[str, tuple[str, str]]]:
    """Each module of the course folder ``root``: (its ``tests`` cell, why it is not passing --
    ``""`` when it is). Reference code (every module of the repository, and the modules of a
    workspace the student does not write or has swapped out) counts as passing: only the
    student's own modules need their tests run. In the repository a recorded failure still
    counts (a developer's edit broke it)."""
    modules = discover_modules(root)
    workspace = Workspace.load(root) if (root / WORKSPACE_FILE).is_file() else None
    results = load_results(root)
    progress = {}
    for module in modules:
        _, own = _code_of(workspace, module)
        entry = results.get(module.number)
        if entry is not None:
            current = _current(root, modules, module) == entry["fingerprint"]
            cell, ok = _test_cell(entry, current)
        else:
            cell, ok = _test_cell(None, True)
        if workspace is not None and not own:  # a reference version in a workspace
            cell, ok = "[dim]reference: counts as passing", True
        elif workspace is None and entry is None:  # the repository: the reference itself
            cell, ok = "[dim]not run yet (reference: counts as passing)", True
        progress[module.name] = (cell, "" if ok else module.label)
    return modules, progress


def locked_by(milestone: Milestone, progress: dict[str, tuple[str, str]]) -> list[str]:
    """The modules that keep ``milestone`` locked (``["03 layers"]``), none when unlocked."""
    missing = [progress[name][1] if name in progress else f"{name} (not here)" for name in
               milestone.requires]  # fmt: skip
    return [m for m in missing if m]


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    """Per module: passing or not; which milestones are unlocked."""
    root = find_course_root(args.workspace)
    if root is None:
        return _installed_status(args, console)
    modules = discover_modules(root)
    workspace = Workspace.load(root) if (root / WORKSPACE_FILE).is_file() else None
    if args.run_tests:
        mine = [m for m in modules if workspace is None or _code_of(workspace, m)[1]]
        console.print(f"running the tests of {len(mine)} modules ...")
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        with ThreadPoolExecutor(max_workers=max(1, cores)) as pool:
            list(pool.map(lambda m: test_module(root, m), mine))
    modules, progress = module_progress(root)
    table = Table("#", "module", "code", "tests", title=f"TinyTorch modules in {root}")
    for module in modules:
        table.add_row(module.number, module.name, _code_of(workspace, module)[0],
                      progress[module.name][0])  # fmt: skip
    console.print(table)
    milestones = discover_milestones(root, modules)
    if milestones:
        grid = Table("milestone", "status", title="Milestones")
        for milestone in milestones:
            missing = locked_by(milestone, progress)
            if missing:
                grid.add_row(milestone.name, f"[dim]locked: needs {', '.join(missing)} passing")
            else:
                grid.add_row(
                    milestone.name,
                    f"[green]unlocked[/]: tinytorch run {milestone.path.relative_to(root)}",
                )
        console.print(grid)
    if not args.run_tests:
        console.print(
            "Results are from the last `tinytorch test NN`; `tinytorch status --run-tests` "
            "runs the tests of every module of yours now."
        )
        return 0
    return 0 if all(not why for _, why in progress.values()) else 1


def _status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-tests", action="store_true", help="run every module's tests first")
    _workspace_option(parser)


register_command(
    Command(
        "status",
        "Modules passing or not and milestones unlocked (installed packages outside a course)",
        cmd_status,
        _status_arguments,
    ),
    replace=True,
)


# --------------------------------------------------------------------------- reference


def cmd_reference(args: argparse.Namespace, console: Console) -> int:
    """``tinytorch reference NN [--undo]``: swap a module for its reference version and back."""
    root = find_course_root(args.workspace)
    if root is None or not (root / WORKSPACE_FILE).is_file():
        console.print(
            "[red]Not in a student workspace[/]: `tinytorch reference` swaps modules of a "
            "workspace made by `tinytorch student init`; run it there or pass --workspace DIR"
        )
        return USAGE
    workspace = Workspace.load(root)
    if _resolve_module(console, workspace.modules, args.module) is None:
        return USAGE
    try:
        if args.undo:
            message = undo_reference(workspace, args.module)
        else:
            reference = resolve_reference(
                workspace, args.reference, args.index_url, [default_repository()]
            )
            message = use_reference(workspace, args.module, reference)
    except WorkspaceError as error:
        console.print(f"[red]{error}")
        return 1
    console.print(message)
    return 0


def _reference_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("module", help="module number or name, e.g. 06")
    parser.add_argument("--undo", action="store_true", help="bring your own version back")
    parser.add_argument("--reference", metavar="PATH", help="a repository or a folder of wheels")
    parser.add_argument("--index-url", help="a package index serving the reference wheels")
    _workspace_option(parser)


register_command(
    Command(
        "reference",
        "Use the reference version of a module in this workspace (--undo: yours again)",
        cmd_reference,
        _reference_arguments,
    )
)


# --------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    """``tinytorch run SCRIPT``: run a Python script on the code of this course folder."""
    root = _course_root(console, args.workspace)
    if root is None:
        return USAGE
    script = Path(args.script)
    if not script.is_file():
        console.print(f"[red]No such script: {script}")
        return USAGE
    modules, progress = module_progress(root)
    for milestone in discover_milestones(root, modules):
        missing = locked_by(milestone, progress)
        if milestone.path.resolve() == script.resolve() and missing and not args.force:
            console.print(
                f"[yellow]{milestone.name} is locked: needs {', '.join(missing)} passing[/] "
                f"(`tinytorch test NN`; `tinytorch status` shows what is passing; "
                f"`tinytorch run --force {args.script}` runs it anyway)",
                soft_wrap=True,
            )
            return 1
    namespace = [m.src / "tinytorch" for m in modules]
    return run_script(namespace, script, args.args)


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force", action="store_true", help="run a milestone even while it is locked"
    )
    parser.add_argument("script", help="a Python file, e.g. milestones/m01_xor.py")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    _workspace_option(parser)


register_command(
    Command("run", "Run a script (a milestone) on the code here", cmd_run, _run_arguments)
)


# --------------------------------------------------------------------------- grade


def _grade_row(grade: ModuleGrade) -> list[str]:
    color = "green" if grade.full_marks else "yellow" if grade.passed else "red"
    if grade.error:
        detail = grade.error
    elif grade.failures:
        first = grade.failures[0]
        path, _, name = first.test.partition("::")
        message = (first.message.strip().splitlines() or [""])[0]
        detail = f"{Path(path).name}::{name}: {message}" if name else f"{path}: {message}"
    else:
        detail = ""
    return [
        grade.number,
        grade.name,
        f"[{color}]{grade.passed}/{grade.total}",
        f"[{color}]{100 * grade.score:.0f}%",
        detail.replace("[", "\\["),
    ]


def grading_reference(path: str | None) -> RepoReference:
    """The reference to grade against, from the instructor's side only: ``--reference REPO``,
    else the repository at or above the current directory, else the checkout this package was
    installed from. Never the workspace's ``workspace.json``. A repository: its tests are the
    instructor's (wheels hold none)."""
    folder = Path(path).resolve() if path else default_repository()
    if folder is None or not discover_modules(folder):
        raise WorkspaceError(
            f"{folder or 'no repository here'}: grading needs the TinyTorch repository (its "
            f"tests and reference code): pass --reference REPO"
        )
    if (folder / WORKSPACE_FILE).is_file():
        raise WorkspaceError(f"{folder} is a student workspace, not the reference repository")
    return RepoReference(folder)


def cmd_grade(args: argparse.Namespace, console: Console) -> int:
    """``tinytorch grade DIR``: grade the roster's modules; grades.json and a table."""
    try:
        workspace = Workspace.load(args.dir)
        reference = grading_reference(args.reference)
        available = discover_modules(reference.root)
        if args.modules:
            chosen = select_modules(args.modules, available)
        else:  # every module a student can write: the ones with fences
            chosen = [m for m in available if module_fences(m)]
    except (ValueError, WorkspaceError) as error:
        console.print(f"[red]{error}")
        return USAGE
    memory = args.memory_limit or None
    console.print(f"grading {len(chosen)} modules of {workspace.root}")
    console.print(f"against the {reference.description}")
    console.print(
        f"limits per module: {args.timeout:.0f} s, "
        f"{f'{memory} MiB of memory' if memory else 'no memory limit'}"
    )
    grades = grade_workspace(
        workspace,
        reference,
        chosen,
        available,
        jobs=args.jobs,
        timeout=args.timeout,
        memory_mib=memory,
        on_done=lambda g: console.print(f"  {g.number} {g.name}: {g.passed}/{g.total}"),
    )
    report = grades_report(grades, workspace, reference)
    output = Path(args.output) if args.output else workspace.root / "grades.json"
    write_grades(output, report)
    table = Table("#", "module", "tests", "score", title=f"Grades: {workspace.root.name}")
    table.add_column("first failure / error", overflow="fold")
    for grade in grades:
        table.add_row(*_grade_row(grade))
    total = f"{report['passed']}/{report['total']}"
    table.add_row("", "[bold]total", f"[bold]{total}", "", "")
    console.print(table)
    for grade in grades:
        for note in grade.notes:
            console.print(f"[yellow]{grade.number} {grade.name}: {note}")
    console.print(f"wrote {output}")
    return 0


def _grade_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="the student's workspace")
    parser.add_argument(
        "--modules",
        help="the roster: modules to grade, e.g. 02-06 (default: every module of the reference "
        "that has fences); never read from the workspace",
    )
    parser.add_argument(
        "--reference", metavar="REPO", help="the TinyTorch repository holding the reference "
        "code and tests (default: the repository here, else the one this tool came from)"
    )  # fmt: skip
    parser.add_argument("--output", metavar="FILE", help="where to write grades.json")
    parser.add_argument("--jobs", type=int, default=None, help="modules graded at once")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds allowed for one module's tests"
    )
    parser.add_argument(
        "--memory-limit",
        type=int,
        default=4096,
        metavar="MIB",
        help="memory (address space) allowed for one module's tests, MiB (0: no limit)",
    )


register_command(Command("grade", "Grade a student workspace", cmd_grade, _grade_arguments))


# --------------------------------------------------------------------------- fences


def _print_fence_report(console: Console, report: FenceReport) -> None:
    module = report.module
    if report.error:
        console.print(f"[red]{module.label}: {report.error}", markup=False)
    if report.reference_failures:
        console.print(
            f"[red]{module.label}: {len(report.reference_failures)} tests fail on the reference: "
            f"{', '.join(report.reference_failures[:5])}"
        )
    for status in report.untested:
        reach = "no test reaches it"
        if status.reached_by:
            reach = f"reached by {status.reached_by} tests, none fails"
        console.print(
            f"[red]{status.fence.location} ({status.fence.function}): not tested -- {reach}"
        )
    if report.ok and not report.fences:
        console.print(f"{module.label}: no fences ({report.tests} tests pass on the reference)")
    elif report.ok:
        console.print(
            f"[green]{module.label}: all {len(report.fences)} fences tested[/] "
            f"({report.tests} tests)"
        )


def cmd_fences(args: argparse.Namespace, console: Console) -> int:
    """``tinytorch fences [NN ...] [--check]``: the solution fences of each module."""
    root = Path(args.source) if args.source else default_repository()
    if root is None or not discover_modules(root):
        console.print("[red]No TinyTorch repository found: run this inside it, or pass --source")
        return USAGE
    available = discover_modules(root)
    try:
        chosen = select_modules(",".join(args.modules) if args.modules else None, available)
    except ValueError as error:
        console.print(f"[red]{error}")
        return USAGE
    if not args.check:
        table = Table("#", "module", "fences", "with hints", title="Solution fences")
        table.add_column("functions", overflow="fold")
        for module in chosen:
            fences = module_fences(module)
            functions = ", ".join(dict.fromkeys(f.function for f in fences))
            hinted = sum(bool(f.hints) for f in fences)
            table.add_row(module.number, module.name, str(len(fences)), str(hinted), functions)
        console.print(table)
        return 0
    ok = True
    for module in chosen:
        report = check_fences(root, module)
        _print_fence_report(console, report)
        ok &= report.ok
    return 0 if ok else 1


def _fences_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("modules", nargs="*", help="modules, e.g. 03 05-07 (default: all)")
    parser.add_argument(
        "--check", action="store_true", help="check that a test fails when each fence raises"
    )
    parser.add_argument("--source", help="the TinyTorch repository (default: the one here)")


register_command(
    Command(
        "fences", "List the solution fences; --check that each is tested", cmd_fences,
        _fences_arguments,
    )
)  # fmt: skip
