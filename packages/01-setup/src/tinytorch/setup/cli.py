"""The ``tinytorch`` command line: ``doctor`` (the environment check) and ``status`` (the
TinyTorch packages installed) here. The course verbs (``student``, ``test``, ``status`` inside a
course folder, ``reference``, ``run``, ``grade``, ``fences``) belong to the separate distribution
``tinytorch-course``: every installed distribution that declares the entry point group
``tinytorch.commands`` (a dict or list of commands with ``name``, ``help``, ``run``,
``add_arguments``) has its commands added when ``main`` runs.

Subcommands live in the ``COMMANDS`` registry. A later package adds its own with
``register_command(Command(name, help, run, add_arguments))`` before calling ``main``::

    def run_hello(args: argparse.Namespace, console: Console) -> int:
        console.print(f"hello {args.who}")
        return 0

    register_command(Command("hello", "Say hello", run_hello,
                             lambda p: p.add_argument("who")))
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from tinytorch.setup import modules, paths, system
from tinytorch.setup.__about__ import __version__
from tinytorch.setup.measure import format_bytes

__all__ = [
    "COMMANDS",
    "ENTRY_POINT_GROUP",
    "Command",
    "build_parser",
    "installed_status",
    "load_plugins",
    "main",
    "register_command",
]

ENTRY_POINT_GROUP = "tinytorch.commands"


@dataclass(frozen=True)
class Command:
    """A ``tinytorch`` subcommand: ``run(args, console)`` returns the exit code."""

    name: str
    help: str
    run: Callable[[argparse.Namespace, Console], int]
    add_arguments: Callable[[argparse.ArgumentParser], object] | None = None


COMMANDS: dict[str, Command] = {}


def register_command(command: Command, *, replace: bool = False) -> Command:
    """Add a subcommand to the CLI (``replace=True`` to override an existing one)."""
    if command.name in COMMANDS and not replace:
        raise ValueError(f"tinytorch subcommand {command.name!r} is already registered")
    COMMANDS[command.name] = command
    return command


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subparser per registered command."""
    parser = argparse.ArgumentParser(
        prog="tinytorch", description="TinyTorch: a deep-learning framework built from scratch."
    )
    parser.add_argument("--version", action="version", version=f"tinytorch-setup {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS.values():
        command_parser = sub.add_parser(command.name, help=command.help)
        if command.add_arguments is not None:
            command.add_arguments(command_parser)
    return parser


_PLUGINS_LOADED = False


def load_plugins() -> list[str]:
    """Add the commands of every ``tinytorch.commands`` entry point (once); returns their names.
    A plugin's command replaces a built-in one of the same name (the course's ``status``)."""
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return []
    _PLUGINS_LOADED = True
    added = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            commands = entry_point.load()
        except ImportError:  # a plugin whose own dependencies are missing: leave it out
            continue
        for command in commands.values() if isinstance(commands, dict) else commands:
            register_command(command, replace=True)
            added.append(command.name)
    return added


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code. Bad usage raises ``SystemExit(2)`` (argparse)."""
    load_plugins()
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command].run(args, Console(highlight=False))


# --------------------------------------------------------------------------- doctor


def _key_values(console: Console, title: str, rows: dict[str, str]) -> None:
    console.rule(f"[bold]{title}", align="left")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in rows.items():
        grid.add_row(key, value)
    console.print(grid)


def _packages_table(console: Console) -> None:
    console.rule("[bold]TinyTorch packages", align="left")
    found = modules.installed_packages()
    if not found:
        console.print("No TinyTorch packages found by importlib.metadata.")
        return
    table = Table("#", "package", "version", "install")
    table.add_column("location", overflow="fold")
    for pkg in found:
        table.add_row(pkg.number, pkg.distribution, pkg.version, pkg.kind, pkg.location)
    console.print(table)
    if any(pkg.foreign for pkg in found):
        console.print(
            "[yellow]The installed 'tinytorch' distribution is an unrelated PyPI project. "
            "Uninstall it and install ./packages/tinytorch instead."
        )


def _data_section(console: Console, explicit: str | None) -> None:
    root = paths.data_dir(explicit)
    if explicit:
        source = "--data-dir"
    elif os.environ.get(paths.DATA_ENV_VAR):
        source = f"${paths.DATA_ENV_VAR}"
    else:
        source = f"default (set ${paths.DATA_ENV_VAR} to change)"
    exists = "" if root.is_dir() else "  [yellow](does not exist yet)"
    _key_values(console, "Data", {"directory": f"{root}{exists}", "chosen by": source})
    table = Table("dataset", "status")
    table.add_column("folder", overflow="fold")
    absent = []
    for info in paths.find_datasets(root).values():
        spec = paths.DATASETS[info.name]
        if info.present:
            status = "[green]present"
        elif info.folder is not None:
            status = f"[yellow]incomplete (missing {', '.join(info.missing)})"
        else:
            status = "missing"
        table.add_row(info.name, status, str(info.folder or root / spec.folders[0]))
        if not info.present:
            absent.append((info.name, spec))
    console.print(table)
    if absent:
        console.print(
            f"To get a missing dataset, put its files into the folder shown above (inside {root}):"
        )
        for name, spec in absent:
            files = ", ".join(spec.files[:3]) + (", ..." if len(spec.files) > 3 else "")
            console.print(f"  {name} ({files}): {spec.how_to_get}", markup=False)
        console.print(
            "Milestones without their data run on a small synthetic stand-in in quick mode only."
        )


def cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    """Print the environment: Python, NumPy/BLAS, CPU, memory, packages, data."""
    _key_values(console, "Python", system.python_info())
    blas = system.blas_info()
    _key_values(
        console,
        "NumPy",
        {"version": np.__version__, "BLAS": f"{blas['name']} {blas['version']}".strip()}
        | ({"BLAS config": blas["configuration"]} if "configuration" in blas else {}),
    )
    cpu = system.cpu_info()
    _key_values(
        console,
        "CPU",
        {
            "machine": cpu.machine,
            "logical cores": str(cpu.logical_cores or "unknown"),
            "usable by this process": str(cpu.usable_cores or "unknown"),
        },
    )
    mem = system.memory_info()
    _key_values(
        console,
        "Memory",
        {
            "total": format_bytes(mem.total_bytes) if mem.total_bytes else "unknown",
            "available": format_bytes(mem.available_bytes) if mem.available_bytes else "unknown",
        },
    )
    _packages_table(console)
    _data_section(console, args.data_dir)
    return 0


register_command(
    Command(
        "doctor",
        "Check the environment: Python, NumPy/BLAS, CPU, memory, packages, data",
        cmd_doctor,
        lambda p: p.add_argument("--data-dir", default=None, help="data directory to inspect"),
    )
)


# --------------------------------------------------------------------------- status


def installed_status(console: Console) -> int:
    """The TinyTorch packages this environment has installed, one row per module."""
    installed = {pkg.distribution: pkg for pkg in modules.installed_packages()}
    table = Table("#", "module", "package", "version", "install", title="TinyTorch modules")
    for info in modules.MODULES:
        pkg = installed.get(info.package)
        row = [info.number, info.name, info.package]
        table.add_row(*row, *([pkg.version, pkg.kind] if pkg else ["", "[dim]not installed"]))
    console.print(table)
    if not any(pkg.number not in ("01", "--") for pkg in installed.values()):
        console.print(
            "No TinyTorch module packages are installed besides tinytorch-setup; "
            "install one with pip install ./packages/NN-name"
        )
    meta = installed.get(modules.META_PACKAGE)
    if meta is not None:
        console.print(f"meta-package: {meta.distribution} {meta.version} ({meta.kind})")
    return 0


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    """``tinytorch status``: the installed packages (the course's ``status`` replaces this one
    when ``tinytorch-course`` is installed, and shows this table outside a course folder)."""
    if getattr(args, "run_tests", False):
        console.print(
            f"[yellow]Cannot run tests: {Path.cwd()} is not a course folder, and the course "
            f"commands are not installed (pip install ./packages/course)."
        )
    return installed_status(console)


register_command(
    Command(
        "status",
        "The TinyTorch packages installed (modules passing, with tinytorch-course)",
        cmd_status,
        lambda p: p.add_argument("--run-tests", action="store_true", help=argparse.SUPPRESS),
    )
)
