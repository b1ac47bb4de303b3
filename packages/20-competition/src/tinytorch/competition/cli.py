"""``tinytorch compete`` (also ``python -m tinytorch.competition``): events, run, board, class.

    tinytorch compete events
    tinytorch compete run EVENT SUBMISSION [--board FILE]
    tinytorch compete board EVENT [--board FILE] [--html PAGE] [--plot PNG]
    tinytorch compete class EVENT FOLDER [--board FILE] [--jobs N]

The board defaults to ``leaderboard.sqlite`` in the current folder. The ``tinytorch`` command
(module 01) finds ``compete`` through the ``tinytorch.commands`` entry point (`COMMANDS`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from rich.console import Console

from tinytorch.competition.board import Leaderboard, plot_pareto, render_table, write_html
from tinytorch.competition.classroom import run_class
from tinytorch.competition.events import EVENTS
from tinytorch.competition.runner import run
from tinytorch.competition.submission import Rejected
from tinytorch.setup.cli import Command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The verbs of ``tinytorch compete`` and their arguments."""
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("events", help="list the events and their rules")
    run_parser = verbs.add_parser("run", help="check, measure and record one submission")
    run_parser.add_argument("event", choices=sorted(EVENTS))
    run_parser.add_argument("submission")
    board_parser = verbs.add_parser("board", help="print an event's leaderboard")
    board_parser.add_argument("event", choices=sorted(EVENTS))
    board_parser.add_argument("--html", help="also write the board as an HTML page")
    board_parser.add_argument("--plot", help="also plot the Pareto front (needs matplotlib)")
    class_parser = verbs.add_parser("class", help="run every sub-folder of FOLDER")
    class_parser.add_argument("event", choices=sorted(EVENTS))
    class_parser.add_argument("folder")
    class_parser.add_argument("--jobs", type=int, default=1)
    for sub in (run_parser, board_parser, class_parser):
        sub.add_argument("--board", default="leaderboard.sqlite", help="the SQLite file")


def run_compete(args: argparse.Namespace, console: Console) -> int:
    """Run one ``tinytorch compete`` verb; returns the exit code."""
    if args.verb == "events":
        for event in EVENTS.values():
            limit = f"floor {event.floor:.0%}" if event.floor else f"ceiling {event.ceiling}"
            console.print(f"[bold]{event.name}[/bold]: {event.description} ({limit}; limits "
                          f"{event.max_bytes // 2**20} MiB, {event.time_limit_s:g} s, "
                          f"{event.memory_limit_mb} MB)")  # fmt: skip
        return 0
    if args.verb == "run":
        try:
            row = run(args.event, args.submission, args.board)
        except Rejected as error:
            console.print(f"[red]rejected[/red]: {error} (nothing recorded)")
            return 1
        console.print(json.dumps(row["metrics"], indent=1, default=str))
        console.print(f"recorded as run {row['id']} in {args.board}")
        return 0
    if args.verb == "class":
        results = run_class(args.event, args.folder, args.board, jobs=args.jobs)
        for name, result in results.items():
            verdict = "recorded" if "row" in result else f"rejected: {result['rejected']}"
            console.print(f"{name}: {verdict}")
    board = Leaderboard(args.board)
    console.print(render_table(board, args.event))
    if getattr(args, "html", None):
        console.print(f"wrote {write_html(board, args.event, args.html)}")
    if getattr(args, "plot", None):
        console.print(f"wrote {plot_pareto(board, args.event, args.plot)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tinytorch.competition ...``: the same verbs as ``tinytorch compete``."""
    parser = argparse.ArgumentParser(prog="tinytorch compete", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run_compete(parser.parse_args(argv), Console())


COMMANDS = [
    Command("compete", "the competition: events, run, board, class", run_compete, add_arguments)
]
