"""TinyTorch module 20: a competition whose every number is re-measured.

Events with fixed rules (`EVENTS`); submissions that are artifacts (weights + an architecture
spec, `pack`), checked (`check`) and measured in fresh processes under time and memory limits
(`run`); a SQLite leaderboard safe for concurrent writers (`Leaderboard`) ranked with Pareto
fronts and an all-round score (`standings`, `allround_score`, `pareto_front`).
"""

from tinytorch.competition.__about__ import __version__
from tinytorch.competition.board import (
    Leaderboard,
    Standing,
    plot_pareto,
    render_table,
    standings,
    write_html,
)
from tinytorch.competition.classroom import run_class
from tinytorch.competition.events import EVENTS, Event, event_by_name
from tinytorch.competition.runner import machine_description, run, tinytorch_versions
from tinytorch.competition.scoring import ALLROUND_WEIGHTS, allround_score, pareto_front
from tinytorch.competition.spec import SpecError, allowed_types, build_from_spec, model_spec
from tinytorch.competition.submission import Rejected, Submission, check, load_model, pack, sha256

__all__ = [
    "ALLROUND_WEIGHTS",
    "EVENTS",
    "Event",
    "Leaderboard",
    "Rejected",
    "SpecError",
    "Standing",
    "Submission",
    "__version__",
    "allowed_types",
    "allround_score",
    "build_from_spec",
    "check",
    "event_by_name",
    "load_model",
    "machine_description",
    "model_spec",
    "pack",
    "pareto_front",
    "plot_pareto",
    "render_table",
    "run",
    "run_class",
    "sha256",
    "standings",
    "tinytorch_versions",
    "write_html",
]
