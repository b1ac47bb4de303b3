"""Does backward take time linear in the size of the graph? (Issue 4.)

Two graphs, each at four sizes, doubling:

* **uses**: one tensor used k times in one expression, ``x + x + ... + x`` (k = 250 ... 2,000):
  backward must sum k gradient contributions into ``x``; a bug such as a list-membership test in
  the topological sort, or re-walking a tensor once per use, makes this quadratic;
* **chain**: n ops one after another, ``y = y * 1.0001`` (n = 2,500 ... 20,000).

Backward is timed alone, on a graph built once and kept (``retain_graph=True``); forward (building
the graph) is timed separately. Time per use / per op should stay flat as the size doubles, and
the slope of log(time) against log(size), the fitted exponent, should be ~1.0 (2.0 would be
quadratic). This is a benchmark, not a test: timings are never asserted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from harness import Bench, Report, Row, fit_exponent
from tinytorch.setup import format_seconds
from tinytorch.tensor import Tensor

TITLE = "autograd scaling: k uses of one tensor, n-op chains (issue 4)"
USES = (250, 500, 1000, 2000)
CHAIN = (2500, 5000, 10_000, 20_000)
FACTOR = 1.0001


def many_uses(x: Any, k: int) -> Any:
    """``x + x + ... + x`` with ``k`` uses of ``x`` (k - 1 adds), summed to a scalar."""
    y = x
    for _ in range(k - 1):
        y = y + x
    return y.sum()


def long_chain(x: Any, n: int) -> Any:
    """``x * FACTOR ** n`` one multiplication at a time (n ops), summed to a scalar."""
    y = x
    for _ in range(n):
        y = y * FACTOR
    return y.sum()


def backward_again(x: Any, loss: Any) -> None:
    x.grad = None
    loss.backward(retain_graph=True)


def size_row(
    bench: Bench, build: Callable[[Any, int], Any], size: int, label: str, unit: str
) -> tuple[Row, dict[str, float]]:
    """Backward of ``build(x, size)`` timed as a row; forward times (per side) returned too."""
    data = np.random.default_rng(0).standard_normal(16, dtype=np.float32)
    x = Tensor(data, requires_grad=True)
    loss = build(x, size)
    forward = {"tinytorch": bench.time(lambda: build(x, size)).median_s}
    note = f"forward {format_seconds(forward['tinytorch'] / size)}/{unit}"
    if bench.torch is not None:
        tx = bench.torch.from_numpy(data.copy()).requires_grad_()
        tloss = build(tx, size)
        forward["pytorch"] = bench.time(lambda: build(tx, size)).median_s
        note += f" (PyTorch {format_seconds(forward['pytorch'] / size)}/{unit})"
    row = bench.compare(
        f"{label} {size:,}: backward",
        lambda: backward_again(x, loss),
        lambda: backward_again(tx, tloss),
        units=size,
        unit=unit,
        note=note,
    )
    return row, forward


def scaling_rows(
    bench: Bench, build: Callable[[Any, int], Any], sizes: tuple[int, ...], label: str, unit: str
) -> tuple[list[Row], dict[str, Any]]:
    """One row per size, then the fitted exponents of backward and forward time."""
    rows, forwards = [], []
    for size in sizes:
        row, forward = size_row(bench, build, size, label, unit)
        rows.append(row)
        forwards.append(forward)
    summary: dict[str, Any] = {"sizes": list(sizes), "unit": unit}
    for side in ("tinytorch", "pytorch"):
        timings = [getattr(row, side) for row in rows]
        if None in timings:
            continue
        backward_s = [t.median_s for t in timings]
        forward_s = [f[side] for f in forwards]
        summary[side] = {
            "backward_s": backward_s,
            "forward_s": forward_s,
            "backward_exponent": fit_exponent(list(sizes), backward_s),
            "forward_exponent": fit_exponent(list(sizes), forward_s),
        }
    rows.append(Row(f"{label} ...: fitted exponent", None, note=exponent_note(summary)))
    return rows, summary


def exponent_note(summary: dict[str, Any]) -> str:
    """``"TinyTorch backward 1.01, forward 0.99; PyTorch ..."`` (1.0 = linear)."""
    parts = []
    for side, name in (("tinytorch", "TinyTorch"), ("pytorch", "PyTorch")):
        if side in summary:
            fit = summary[side]
            parts.append(
                f"{name} backward {fit['backward_exponent']:.2f}, "
                f"forward {fit['forward_exponent']:.2f}"
            )
    return "; ".join(parts) + " (1.0 = linear)"


def run(bench: Bench) -> Report:
    uses = tuple(k // 10 for k in USES) if bench.quick else USES
    chain = tuple(n // 10 for n in CHAIN) if bench.quick else CHAIN
    check = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    many_uses(check, uses[-1]).backward()
    if not np.allclose(check.grad.data, uses[-1]):
        raise AssertionError(f"x used {uses[-1]} times: gradient {check.grad.data} != {uses[-1]}")
    use_rows, use_summary = scaling_rows(bench, many_uses, uses, "x used k times, k =", "use")
    chain_rows, chain_summary = scaling_rows(bench, long_chain, chain, "n-op chain, n =", "op")
    return Report(use_rows + chain_rows, {"uses": use_summary, "chain": chain_summary})
