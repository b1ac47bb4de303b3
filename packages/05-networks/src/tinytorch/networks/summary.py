"""What a model costs: a per-layer table of output shapes, parameters and bytes.

``summary`` runs one forward pass on zeros (in eval mode) and records, for every leaf layer, the
shape of its output, how many parameters it owns and how many bytes those and its output take.
Two different memories show up: parameter memory (fixed, paid once) and activation memory (grows
with the batch size, and is what a training forward pass keeps alive for backward).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from tinytorch.layers import Module
from tinytorch.networks.sequential import Sequential
from tinytorch.setup import format_bytes
from tinytorch.tensor import Tensor


@dataclass(frozen=True)
class LayerSummary:
    """One row of a summary: a leaf layer after the forward pass."""

    name: str  # dotted position, as in named_parameters: "0", "2", "1.0"
    type: str  # class name: "Linear"
    output_shape: tuple[int, ...]
    parameters: int  # trainable scalars this layer owns (a shared one counts once)
    param_bytes: int  # parameters * itemsize
    output_bytes: int  # bytes of the output tensor (activation memory)


def _run(module: Module, name: str, x: Tensor, rows: list[LayerSummary], seen: set[int]) -> Tensor:
    """Run ``x`` through ``module``, descending into Sequentials; append one row per leaf."""
    if isinstance(module, Sequential):
        for child_name, child in module.named_children():
            x = _run(child, f"{name}.{child_name}" if name else child_name, x, rows, seen)
        return x
    out = module(x)
    params = [p for p in module.parameters() if id(p) not in seen]
    seen.update(id(p) for p in params)
    rows.append(
        LayerSummary(
            name=name or "(model)",
            type=type(module).__name__,
            output_shape=out.shape,
            parameters=sum(p.numel() for p in params),
            param_bytes=sum(p.nbytes for p in params),
            output_bytes=out.nbytes,
        )
    )
    return out


def summary(
    model: Module, input_shape: tuple[int, ...], dtype: Any = np.float32
) -> list[LayerSummary]:
    """One `LayerSummary` per leaf layer, from a forward pass on ``zeros(input_shape)``.

    ``input_shape`` includes the batch dimension, e.g. ``(1, 784)``. Sequentials (nested too)
    are opened up layer by layer; any other module is one row. The model runs in eval mode
    (Dropout off) and gets its train/eval flags back afterwards.
    Cost: one forward pass.
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    rows: list[LayerSummary] = []
    try:
        _run(model, "", Tensor(np.zeros(input_shape, dtype=dtype)), rows, set())
    finally:
        for module, training in modes:
            module.training = training
    return rows


def summary_totals(rows: list[LayerSummary]) -> dict[str, int]:
    """``{"parameters", "param_bytes", "activation_bytes"}`` summed over the rows."""
    return {
        "parameters": sum(row.parameters for row in rows),
        "param_bytes": sum(row.param_bytes for row in rows),
        "activation_bytes": sum(row.output_bytes for row in rows),
    }


def summary_table(rows: list[LayerSummary], title: str = "Model summary") -> Table:
    """A rich Table of the rows with a totals footer."""
    table = Table(title=title, show_footer=True)
    totals = summary_totals(rows)
    table.add_column("layer", footer="total")
    table.add_column("type")
    table.add_column("output shape")
    table.add_column("parameters", justify="right", footer=f"{totals['parameters']:,}")
    table.add_column("param bytes", justify="right", footer=format_bytes(totals["param_bytes"]))
    table.add_column(
        "output bytes", justify="right", footer=format_bytes(totals["activation_bytes"])
    )
    for row in rows:
        table.add_row(
            row.name,
            row.type,
            str(row.output_shape),
            f"{row.parameters:,}",
            format_bytes(row.param_bytes),
            format_bytes(row.output_bytes),
        )
    return table


def print_summary(
    model: Module,
    input_shape: tuple[int, ...],
    dtype: Any = np.float32,
    console: Console | None = None,
) -> list[LayerSummary]:
    """Print the summary table (parameters, parameter bytes, activation bytes, totals).

    Returns the rows, so ``print_summary`` can be used wherever ``summary`` is.
    """
    rows = summary(model, input_shape, dtype)
    (console or Console()).print(summary_table(rows, f"{type(model).__name__} on {input_shape}"))
    return rows
