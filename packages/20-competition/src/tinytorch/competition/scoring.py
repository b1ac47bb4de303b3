"""Ranking runs: one number for the all-round event, and the Pareto front for every event.

The all-round score (event ``cifar10-allround``) is a weighted geometric mean of four ratios
against the baseline run, each oriented so that better is above 1::

    score = (acc / acc_base) ** 0.4
          * (latency_base / latency) ** 0.2
          * (memory_base / memory) ** 0.2
          * (size_base / size) ** 0.2

The baseline scores exactly 1. A geometric mean makes the score scale-free: halving the
latency is worth the same whether it was 20 ms or 2 ms, and no single ratio can buy unbounded
score (a 1,000x smaller file adds 1000 ** 0.2 = 4x, and a 1-point accuracy loss costs about
0.5% of the score at 77%). Accuracy has the largest weight because the others are easier to buy.

The Pareto front of a set of runs is the runs no other run beats: nothing is at least as good
on every objective and strictly better on one. On a board it shows the trade-offs worth making.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["ALLROUND_WEIGHTS", "allround_score", "pareto_front"]

# metric -> (weight, True when higher is better)
ALLROUND_WEIGHTS: dict[str, tuple[float, bool]] = {
    "accuracy": (0.4, True),
    "latency_1t_ms": (0.2, False),
    "peak_memory_bytes": (0.2, False),
    "size_bytes": (0.2, False),
}


def allround_score(metrics: Mapping[str, float], baseline: Mapping[str, float]) -> float:
    """The all-round score of ``metrics`` against ``baseline`` (see the module docstring).

    >>> base = {"accuracy": 0.8, "latency_1t_ms": 10.0, "peak_memory_bytes": 100, "size_bytes": 8}
    >>> round(allround_score(base, base), 6)
    1.0
    >>> round(allround_score({**base, "size_bytes": 2}, base), 4)  # 4x smaller: 4 ** 0.2
    1.3195
    """
    for name in ALLROUND_WEIGHTS:
        for side, values in (("metrics", metrics), ("baseline", baseline)):
            if not values.get(name, 0) > 0:
                raise ValueError(
                    f"allround_score: {side}[{name!r}] must be > 0, got {values.get(name)}"
                )
    # HINT: a weighted geometric mean: add up weight * log(ratio), where each ratio is oriented
    # HINT: so that better is above 1 (metric / baseline if higher is better, else the inverse)
    # BEGIN SOLUTION
    log_score = 0.0
    for name, (weight, higher_is_better) in ALLROUND_WEIGHTS.items():
        ratio = metrics[name] / baseline[name]
        log_score += weight * math.log(ratio if higher_is_better else 1.0 / ratio)
    return math.exp(log_score)
    # END SOLUTION


def pareto_front(points: Sequence[Sequence[float]], higher_is_better: Sequence[bool]) -> list[bool]:
    """For each point (one value per objective), whether it is on the Pareto front.

    A point is dominated when another is at least as good on every objective and strictly
    better on one; the front is the points nobody dominates. Equal points are both on it.
    Cost: O(n^2 * objectives).

    >>> pareto_front([(0.9, 5.0), (0.8, 2.0), (0.7, 3.0)], [True, False])
    [True, True, False]
    """
    for point in points:
        if len(point) != len(higher_is_better):
            raise ValueError(
                f"pareto_front: each point needs {len(higher_is_better)} values (one per "
                f"objective), got {len(point)}"
            )
    # HINT: orient every objective so that bigger is better (negate the others), then a point
    # HINT: is off the front when some other point is >= on all objectives and > on one
    # BEGIN SOLUTION
    oriented = [
        [value if up else -value for value, up in zip(point, higher_is_better, strict=True)]
        for point in points
    ]
    front = []
    for a in oriented:
        dominated = False
        for b in oriented:
            pairs = list(zip(a, b, strict=True))
            if all(bj >= aj for aj, bj in pairs) and any(bj > aj for aj, bj in pairs):
                dominated = True
        front.append(not dominated)
    return front
    # END SOLUTION
