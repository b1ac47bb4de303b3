"""The ``tinytorch`` command line: ``tinytorch doctor`` here, the course commands (``student``,
``test``, ``status``, ``reference``, ``run``, ``grade``, ``fences``) in ``commands.py``.

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

import numpy as np
from rich.console import Console
from rich.table import Table

from tinytorch.setup import modules, paths, system
from tinytorch.setup.__about__ import __version__
from tinytorch.setup.measure import format_bytes

__all__ = ["COMMANDS", "Command", "build_parser", "main", "register_command"]


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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code. Bad usage raises ``SystemExit(2)`` (argparse)."""
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
    for info in paths.find_datasets(root).values():
        if info.present:
            status = "[green]present"
        elif info.folder is not None:
            status = f"[yellow]incomplete (missing {', '.join(info.missing)})"
        else:
            status = "missing"
        table.add_row(info.name, status, str(info.folder or ""))
    console.print(table)


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


# --------------------------------------------------------------------------- course commands

# student, test, status, reference, run, grade, fences: they register themselves on import.
from tinytorch.setup import commands as _commands  # noqa: E402, F401
