"""summary / print_summary numbers and the systems lessons (costs, signal scale by depth)."""

from __future__ import annotations

import io
from itertools import pairwise

import numpy as np
import pytest
from rich.console import Console

from tinytorch.activations import ReLU, Tanh
from tinytorch.layers import Dropout, Linear, Module
from tinytorch.networks import (
    MLP,
    Sequential,
    activation_scale_by_depth,
    mlp_costs,
    print_summary,
    summary,
    summary_totals,
)
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_summary_of_an_mlp() -> None:
    net = MLP([784, 128, 64, 10], rng=rng())
    rows = summary(net, (32, 784))
    assert [row.name for row in rows] == ["0", "1", "2", "3", "4"]
    assert [row.type for row in rows] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [row.output_shape for row in rows] == [
        (32, 128),
        (32, 128),
        (32, 64),
        (32, 64),
        (32, 10),
    ]
    assert [row.parameters for row in rows] == [784 * 128 + 128, 0, 128 * 64 + 64, 0, 64 * 10 + 10]
    for row in rows:
        assert row.param_bytes == row.parameters * 4
        assert row.output_bytes == int(np.prod(row.output_shape)) * 4
    totals = summary_totals(rows)
    assert totals["parameters"] == net.num_parameters() == sum(row.parameters for row in rows)
    assert totals["param_bytes"] == 4 * net.num_parameters()
    assert totals["activation_bytes"] == 4 * 32 * (128 + 128 + 64 + 64 + 10)


def test_summary_opens_nested_sequentials_and_counts_shared_parameters_once() -> None:
    shared = Linear(6, 6, rng=rng())
    net = Sequential(Linear(3, 6, rng=rng()), Sequential(shared, Tanh(), shared))
    rows = summary(net, (2, 3))
    assert [row.name for row in rows] == ["0", "1.0", "1.1", "1.2"]
    assert [row.parameters for row in rows] == [24, 42, 0, 0]
    assert summary_totals(rows)["parameters"] == net.num_parameters()


def test_summary_of_a_plain_module_is_one_row() -> None:
    class Block(Module):
        def __init__(self) -> None:
            self.inner = Linear(5, 2, rng=rng())

        def forward(self, x: Tensor) -> Tensor:
            return self.inner(x)

    (row,) = summary(Block(), (4, 5))
    assert (row.name, row.type, row.output_shape, row.parameters) == (
        "(model)",
        "Block",
        (4, 2),
        12,
    )


def test_summary_runs_in_eval_mode_and_restores_modes() -> None:
    dropout = Dropout(0.9, rng=rng())
    net = Sequential(Linear(3, 3, rng=rng()), dropout)
    dropout.training = True
    net.training = False
    rows = summary(net, (1, 3))
    assert rows[1].output_shape == (1, 3)
    assert dropout.training is True and net.training is False


def test_summary_reports_shape_errors() -> None:
    with pytest.raises(ValueError, match=r"expected input \(\*, 4\)"):
        summary(MLP([4, 2]), (1, 5))


def test_print_summary_renders_totals() -> None:
    buffer = io.StringIO()
    rows = print_summary(
        MLP([784, 128, 10], rng=rng()), (64, 784), console=Console(file=buffer, width=120)
    )
    text = buffer.getvalue()
    assert len(rows) == 3
    assert "MLP on (64, 784)" in text
    assert "total" in text and "101,770" in text  # 784*128+128 + 128*10+10
    assert "397.54 KiB" in text  # 101,770 * 4 bytes
    assert "ReLU" in text and "(64, 128)" in text


def test_mlp_costs_match_the_model_and_summary() -> None:
    sizes = [784, 256, 128, 10]
    costs = mlp_costs(sizes, batch_size=32)
    net = MLP(sizes, rng=rng())
    assert costs["parameters"] == net.num_parameters()
    assert costs["param_bytes"] == summary_totals(summary(net, (32, 784)))["param_bytes"]
    linear_rows = [row for row in summary(net, (32, 784)) if row.type == "Linear"]
    assert costs["linear_output_bytes"] == sum(row.output_bytes for row in linear_rows)
    assert costs["forward_flops"] == 2 * 32 * (784 * 256 + 256 * 128 + 128 * 10)
    assert costs["backward_flops"] == 2 * costs["forward_flops"]
    assert mlp_costs([10, 1], itemsize=8)["param_bytes"] == 88


def test_kaiming_keeps_the_signal_and_small_init_makes_it_vanish() -> None:
    kaiming = activation_scale_by_depth("kaiming_normal", depth=10, width=128, batch_size=256)
    tiny = activation_scale_by_depth("normal", depth=10, width=128, batch_size=256)
    assert len(kaiming) == len(tiny) == 10
    assert all(0.5 < std < 3.0 for std in kaiming)
    assert all(b < a for a, b in pairwise(tiny))
    assert tiny[-1] < 1e-6 * tiny[0]


def test_relu_halves_variance_which_kaiming_gain_restores() -> None:
    xavier = activation_scale_by_depth("xavier_normal", depth=8, width=128, activation=ReLU)
    kaiming = activation_scale_by_depth("kaiming_normal", depth=8, width=128, activation=ReLU)
    assert xavier[-1] < 0.2 * xavier[0]  # shrinks by ~1/sqrt(2) per layer
    assert kaiming[-1] > 0.5 * kaiming[0]
