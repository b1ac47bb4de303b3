"""The systems lessons: score-matrix memory (formula, and tracemalloc's measurement of the
fused Op against it), attention versus projection FLOPs, and the crossover lengths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytorch.attention import (
    ScaledDotProductAttentionOp,
    attention_crossover,
    attention_flops,
    attention_score_memory,
    measure_attention_memory,
)


def test_score_memory_formula() -> None:
    assert attention_score_memory(32, 4, 64) == 32 * 4 * 64 * 64 * 4
    assert attention_score_memory(1, 1, 10, 7, np.float64) == 10 * 7 * 8
    op = ScaledDotProductAttentionOp()
    q = np.zeros((3, 2, 9, 4), dtype=np.float32)
    op.forward(q, q, q)
    assert op.saved[3].nbytes == attention_score_memory(3, 2, 9)  # what the Op keeps


def test_measured_memory_follows_the_quadratic_formula() -> None:
    rows = measure_attention_memory((128, 256, 512), batch=1, num_heads=2, head_dim=8)
    for row in rows:
        kept = row["retained_bytes"] - row["output_bytes"]
        assert kept >= row["formula_bytes"]  # the weights stay for the backward
        assert row["peak_bytes"] <= 1.5 * row["formula_bytes"]  # one (L, S) buffer, in place
    exponent = math.log(rows[-1]["peak_bytes"] / rows[-2]["peak_bytes"]) / math.log(2)
    assert exponent == pytest.approx(2.0, abs=0.1)


def test_attention_flops_by_part() -> None:
    report = attention_flops(64, 128, batch=2)
    assert report["scores"] == report["weighted_sum"] == 2 * 2 * 64 * 64 * 128
    assert report["projections"] == 2 * 8 * 64 * 128 * 128
    assert report["mlp"] == 2 * 16 * 64 * 128 * 128
    total = report["attention"] + report["projections"] + report["mlp"]
    assert report["attention_fraction"] == pytest.approx(report["attention"] / total)
    # the matmuls' definition: an (L, E) @ (E, S) product costs 2*L*E*S
    assert attention_flops(10, 6)["scores"] == 2 * 10 * 6 * 10


def test_crossover_lengths() -> None:
    e = 128
    cross = attention_crossover(e)
    assert cross == {
        "vs_projections": 256.0,
        "vs_layer": 768.0,
        "causal_vs_projections": 512.0,
        "causal_vs_layer": 1536.0,
    }
    at = attention_flops(int(cross["vs_projections"]), e)
    assert at["attention"] == pytest.approx(at["projections"])
    at = attention_flops(int(cross["vs_layer"]), e)
    assert at["attention"] == pytest.approx(at["projections"] + at["mlp"])
    causal = attention_flops(int(cross["causal_vs_projections"]), e)
    assert causal["attention"] / 2 == pytest.approx(causal["projections"])
