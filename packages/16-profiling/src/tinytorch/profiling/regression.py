"""Did it get slower? A rank test plus a minimum effect size, and stored baselines.

Timings are not normally distributed (a floor, then a long tail of interruptions), so the
comparison uses the **Mann-Whitney U test**, which only looks at ranks: pool both samples, rank
them (ties get the average of the ranks they span), and ``U = R1 - n1 (n1 + 1) / 2`` where ``R1``
is the first sample's rank sum. Under "no difference" U has mean ``n1 n2 / 2`` and variance
``n1 n2 / 12 * ((n + 1) - sum(t^3 - t) / (n (n - 1)))`` (t: the size of each group of ties); the
two-sided p-value is the normal approximation with a continuity correction of 1/2 -- the same
formula as ``scipy.stats.mannwhitneyu(x, y, method="asymptotic")``.

A p-value alone flags differences too small to matter once there are many samples, so
`compare` also requires the medians to differ by at least ``min_effect`` (5% by default).

A baseline file is JSON: ``{"benchmarks": {"name": {"samples": [...], ...}}}``;
``python -m tinytorch.profiling compare BASELINE.json NEW.json`` exits 1 on a regression.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.profiling.timing import BenchmarkResult, thread_info

__all__ = [
    "Comparison",
    "compare",
    "load_baseline",
    "mann_whitney_u",
    "rankdata",
    "save_baseline",
]


def rankdata(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n of ``values`` (float64), ties sharing the average of their ranks.

    >>> rankdata([10.0, 20.0, 10.0, 30.0]).tolist()
    [1.5, 3.0, 1.5, 4.0]
    """
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(len(x), dtype=np.float64)
    # HINT: walk the sorted values in runs of equal values; positions i..j-1 (0-based) would get
    # HINT: ranks i+1..j, so every member of the run gets their mean (i + 1 + j) / 2
    # BEGIN SOLUTION
    i = 0
    while i < len(x):
        j = i + 1
        while j < len(x) and sorted_x[j] == sorted_x[i]:
            j += 1
        ranks[order[i:j]] = (i + 1 + j) / 2.0
        i = j
    # END SOLUTION
    return ranks


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Two-sided Mann-Whitney U test: ``(U of x, p-value)``, normal approximation with tie
    and continuity corrections (scipy's ``mannwhitneyu(x, y, method="asymptotic")``).

    >>> u, p = mann_whitney_u([1, 2, 3], [4, 5, 6])
    >>> u, round(p, 4)
    (0.0, 0.0809)
    """
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError(f"mann_whitney_u needs two non-empty samples, got sizes {n1} and {n2}")
    n = n1 + n2
    ranks = rankdata([*x, *y])
    _, ties = np.unique(np.asarray([*x, *y], dtype=np.float64), return_counts=True)
    # HINT: U1 = (rank sum of x) - n1 (n1 + 1) / 2; mean n1 n2 / 2; the tie-corrected sigma is
    # HINT: sqrt(n1 n2 / 12 * ((n + 1) - sum(t^3 - t) / (n (n - 1)))); z uses max(U1, U2) - mean
    # HINT: - 1/2 (continuity), and p = 2 * P(Z > z) = erfc(z / sqrt(2)), at most 1
    # BEGIN SOLUTION
    u1 = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2.0
    u = max(u1, n1 * n2 - u1)
    mean = n1 * n2 / 2.0
    tie_term = float(np.sum(ties.astype(np.float64) ** 3 - ties)) / (n * (n - 1)) if n > 1 else 0.0
    variance = n1 * n2 / 12.0 * ((n + 1) - tie_term)
    if variance <= 0:  # every value equal: no evidence of a difference
        return u1, 1.0
    z = (u - mean - 0.5) / math.sqrt(variance)
    p = min(1.0, math.erfc(z / math.sqrt(2.0)))
    # END SOLUTION
    return u1, p


@dataclass(frozen=True)
class Comparison:
    """The verdict of `compare`: "faster", "slower" or "same"."""

    verdict: str
    ratio: float  # median(new) / median(baseline)
    p_value: float
    u: float

    def __str__(self) -> str:
        return f"{self.verdict} ({self.ratio:.3f}x the baseline's median, p = {self.p_value:.2g})"


def compare(
    baseline_samples: Sequence[float],
    new_samples: Sequence[float],
    min_effect: float = 0.05,
    alpha: float = 0.01,
) -> Comparison:
    """Is ``new`` slower or faster than ``baseline``? Both significant (Mann-Whitney p < alpha)
    and large enough (medians differ by more than ``min_effect``, as a fraction), else "same"."""
    if min_effect < 0 or not 0 < alpha < 1:
        raise ValueError(
            f"compare needs min_effect >= 0 and 0 < alpha < 1, got {min_effect} and {alpha}"
        )
    u, p = mann_whitney_u(baseline_samples, new_samples)
    base, new = statistics.median(baseline_samples), statistics.median(new_samples)
    ratio = new / base if base > 0 else math.inf
    verdict = "same"
    if p < alpha and ratio > 1 + min_effect:
        verdict = "slower"
    elif p < alpha and ratio < 1 / (1 + min_effect):
        verdict = "faster"
    return Comparison(verdict, ratio, p, u)


def save_baseline(
    path: str | os.PathLike[str], results: Mapping[str, BenchmarkResult | Sequence[float]]
) -> None:
    """Write benchmark samples (seconds per call) by name to a baseline JSON file."""
    benchmarks: dict[str, Any] = {}
    for name, result in results.items():
        if isinstance(result, BenchmarkResult):
            benchmarks[name] = {"samples": list(result.samples), "number": result.number}
        else:
            benchmarks[name] = {"samples": [float(s) for s in result]}
    data = {"benchmarks": benchmarks, "threads": thread_info()}
    Path(path).write_text(json.dumps(data, indent=1))


def load_baseline(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """Read a file written by `save_baseline`: samples by benchmark name."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), dict):
        raise ValueError(
            f"load_baseline: {path} is not a baseline file (expected a JSON object with "
            f'"benchmarks": {{name: {{"samples": [...]}}}}); write one with save_baseline'
        )
    return {
        name: [float(s) for s in entry["samples"]] for name, entry in data["benchmarks"].items()
    }
