"""The course verbs of the ``tinytorch`` command: ``student``, ``test``, ``status``,
``reference``, ``run``, ``grade``, ``fences`` (in ``commands.py``).

The ``tinytorch`` command itself belongs to module 01 (``tinytorch.setup.cli``: ``doctor`` and
the installed packages); it adds these verbs through the entry point group
``tinytorch.commands``, which names ``COMMANDS`` below. Without module 01 installed they run as
``tinytorch-course VERB`` or ``python -m tinytorch.course VERB``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

from tinytorch.course.__about__ import __version__

__all__ = ["COMMANDS", "Command", "build_parser", "main", "register_command"]


@dataclass(frozen=True)
class Command:
    """A subcommand: ``run(args, console)`` returns the exit code (the same fields as
    ``tinytorch.setup.cli.Command``, so either CLI can hold it)."""

    name: str
    help: str
    run: Callable[[argparse.Namespace, Console], int]
    add_arguments: Callable[[argparse.ArgumentParser], object] | None = None


COMMANDS: dict[str, Command] = {}


def register_command(command: Command, *, replace: bool = False) -> Command:
    """Add a course verb (``replace=True`` to override an existing one)."""
    if command.name in COMMANDS and not replace:
        raise ValueError(f"tinytorch subcommand {command.name!r} is already registered")
    COMMANDS[command.name] = command
    return command


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tinytorch-course``: one subparser per course verb."""
    parser = argparse.ArgumentParser(
        prog="tinytorch", description="TinyTorch course tools: workspaces, tests, grading."
    )
    parser.add_argument("--version", action="version", version=f"tinytorch-course {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS.values():
        command_parser = sub.add_parser(command.name, help=command.help)
        if command.add_arguments is not None:
            command.add_arguments(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a course verb; returns the exit code. Bad usage raises ``SystemExit(2)``."""
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command].run(args, Console(highlight=False))


# student, test, status, reference, run, grade, fences: they register themselves on import.
from tinytorch.course import commands as _commands  # noqa: E402, F401
