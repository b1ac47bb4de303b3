"""The leaderboard: one SQLite row per measured run, and the views ranked from it.

Storage (``sqlite3``, standard library): a table ``runs`` with the event, the submission's name
and sha256, its optimisations, the measured metrics (JSON), the machine's description, the
TinyTorch versions and the time. Two processes may record at once (a class runs submissions
in parallel): the database is in WAL mode (readers never block the writer) and every write is
one ``BEGIN IMMEDIATE`` transaction, SQLite's writer lock, with a 30 s busy timeout, so writes
queue instead of failing or interleaving.

Views: `standings` ranks an event's runs (the best run per submission hash; runs that miss the
event's floor or ceiling are listed, unranked), marks the Pareto front of the objective against
the quality metric, and `render_table` (rich), `write_html` and `plot_pareto` (matplotlib,
optional) show it.
"""

from __future__ import annotations

import html
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from tinytorch.competition.events import Event, event_by_name
from tinytorch.competition.scoring import allround_score, pareto_front

__all__ = ["Leaderboard", "Standing", "plot_pareto", "render_table", "standings", "write_html"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    optimizations TEXT NOT NULL,
    metrics TEXT NOT NULL,
    machine TEXT NOT NULL,
    versions TEXT NOT NULL,
    recorded REAL NOT NULL
)
"""


class Leaderboard:
    """The runs recorded in the SQLite file at ``path`` (created on first use)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        return db

    def record(self, row: dict[str, Any]) -> int:
        """Append one measured run; returns its id. One writer at a time (BEGIN IMMEDIATE)."""
        values = (
            row["event"],
            row["name"],
            row["sha256"],
            json.dumps(row["optimizations"], sort_keys=True),
            json.dumps(row["metrics"], sort_keys=True),
            row["machine"],
            json.dumps(row["versions"], sort_keys=True),
            time.time(),
        )
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute(
                "INSERT INTO runs (event, name, sha256, optimizations, metrics, machine, "
                "versions, recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            db.execute("COMMIT")
            return int(cursor.lastrowid or 0)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def runs(self, event: str | None = None) -> list[dict[str, Any]]:
        """Every recorded run (of ``event``), oldest first, JSON columns decoded."""
        query = "SELECT * FROM runs" + (" WHERE event = ?" if event else "") + " ORDER BY id"
        db = self._connect()
        try:
            db.row_factory = sqlite3.Row
            rows = db.execute(query, (event,) if event else ()).fetchall()
        finally:
            db.close()
        decoded = []
        for row in rows:
            item = dict(row)
            for key in ("optimizations", "metrics", "versions"):
                item[key] = json.loads(item[key])
            decoded.append(item)
        return decoded


@dataclass
class Standing:
    """One submission's best run on an event, with its rank and whether it is on the front."""

    name: str
    sha256: str
    metrics: dict[str, Any]
    objective: float
    quality: float
    qualifies: bool
    rank: int | None = None
    on_front: bool = False


def _quality(event: Event, metrics: dict[str, Any]) -> tuple[float, bool]:
    if event.task == "shakespeare":
        loss = float(metrics["val_loss"])
        return loss, event.ceiling is None or loss <= event.ceiling
    accuracy = float(metrics["accuracy"])
    return accuracy, event.floor is None or accuracy >= event.floor


def standings(board: Leaderboard, event_name: str) -> list[Standing]:
    """The event's submissions ranked by its objective (best run of each submission hash).

    ``score`` (the all-round event) is computed against the run named ``baseline``; without
    one there is nothing to normalise by, and a ValueError says so.
    """
    event = event_by_name(event_name)
    runs = board.runs(event.name)
    if event.objective == "score":
        baselines = [r for r in runs if r["name"] == "baseline"]
        if not baselines:
            raise ValueError(
                f"{event.name}: no run named 'baseline' on this board; record the baseline "
                f"first (milestone m08 packs it), the score is relative to it"
            )
        for run in runs:
            run["metrics"]["score"] = allround_score(run["metrics"], baselines[-1]["metrics"])
    sign = 1.0 if event.lower_is_better else -1.0
    best: dict[str, Standing] = {}
    for run in runs:
        quality, qualifies = _quality(event, run["metrics"])
        standing = Standing(
            run["name"], run["sha256"], run["metrics"], float(run["metrics"][event.objective]),
            quality, qualifies,
        )  # fmt: skip
        kept = best.get(run["sha256"])
        if kept is None or sign * standing.objective < sign * kept.objective:
            best[run["sha256"]] = standing
    ordered = sorted(best.values(), key=lambda s: (not s.qualifies, sign * s.objective))
    for rank, standing in enumerate((s for s in ordered if s.qualifies), start=1):
        standing.rank = rank
    higher_quality = event.task != "shakespeare"
    front = pareto_front(
        [(s.objective, s.quality) for s in ordered], [not event.lower_is_better, higher_quality]
    )
    for standing, on_front in zip(ordered, front, strict=True):
        standing.on_front = on_front
    return ordered


def _format(name: str, value: Any) -> str:
    if name == "accuracy":
        return f"{100 * value:.2f}%"
    if name.endswith("bytes"):
        return f"{value / 2**20:.2f} MiB" if value >= 2**20 else f"{value / 1024:.1f} KiB"
    if name.endswith("_ms"):
        return f"{value:.2f} ms"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


COLUMNS = {
    "cifar10": ("accuracy", "latency_1t_ms", "latency_ms", "peak_memory_bytes", "size_bytes"),
    "shakespeare": (
        "val_loss",
        "tokens_per_s",
        "tokens_per_s_1t",
        "peak_memory_bytes",
        "size_bytes",
    ),
}


def _columns(event: Event) -> tuple[str, ...]:
    base = COLUMNS[event.task]
    return base + (("score",) if event.objective == "score" else ())


def render_table(board: Leaderboard, event_name: str) -> Table:
    """A rich table of `standings`: rank, name, front mark (*), every metric."""
    event = event_by_name(event_name)
    table = Table(title=f"{event.name}: {event.description}")
    for header in ("rank", "submission", "front", *_columns(event), "sha256"):
        table.add_column(header, justify="left" if header == "submission" else "right")
    for s in standings(board, event.name):
        cells = [_format(c, s.metrics[c]) if c in s.metrics else "-" for c in _columns(event)]
        rank = str(s.rank) if s.rank is not None else "unranked"
        table.add_row(rank, s.name, "*" if s.on_front else "", *cells, s.sha256[:10])
    return table


def write_html(board: Leaderboard, event_name: str, path: str | os.PathLike[str]) -> Path:
    """The standings as a standalone HTML page (escaped: names come from submissions)."""
    event = event_by_name(event_name)
    columns = _columns(event)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ("rank", "submission", "front", *columns))
    body = []
    for s in standings(board, event.name):
        cells = [_format(c, s.metrics[c]) if c in s.metrics else "-" for c in columns]
        row = [str(s.rank or "unranked"), s.name, "*" if s.on_front else "", *cells]
        body.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(event.name)}"
        f"</title></head><body><h1>{html.escape(event.name)}</h1>"
        f"<p>{html.escape(event.description)}</p><table border='1'><tr>{head}</tr>"
        f"{''.join(body)}</table><p>* on the Pareto front</p></body></html>"
    )
    target = Path(path)
    target.write_text(page, encoding="utf-8")
    return target


def plot_pareto(board: Leaderboard, event_name: str, path: str | os.PathLike[str]) -> Path:
    """Objective against quality, the front joined by a line (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    event = event_by_name(event_name)
    rows = standings(board, event.name)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([s.objective for s in rows], [s.quality for s in rows], c="gray")
    front = sorted((s.objective, s.quality) for s in rows if s.on_front)
    ax.plot([p[0] for p in front], [p[1] for p in front], "o-", color="tab:red", label="front")
    for s in rows:
        ax.annotate(s.name, (s.objective, s.quality), fontsize=7)
    ax.set_xlabel(event.objective)
    ax.set_ylabel("val_loss" if event.task == "shakespeare" else "accuracy")
    ax.set_title(event.name)
    ax.legend()
    fig.tight_layout()
    target = Path(path)
    fig.savefig(target, dpi=120)
    plt.close(fig)
    return target
