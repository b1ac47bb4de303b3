"""The systems lessons: table memory, gradient density (against the uniform formula and a
direct count), lookup versus one-hot matmul, and the three scatter-adds, each checked."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.embeddings import (
    Embedding,
    batch_gradient_density,
    embedding_memory,
    embedding_memory_table,
    gradient_density,
    lookup_vs_onehot,
    scatter_timing,
)


def test_embedding_memory_counts_the_table() -> None:
    gpt2 = embedding_memory(50257, 768)
    assert gpt2 == {
        "parameters": 38_597_376,
        "bytes": 154_389_504,
        "training_bytes": 4 * 154_389_504,
    }
    assert embedding_memory(65, 128, np.float64)["bytes"] == 65 * 128 * 8
    layer = Embedding(65, 128)
    assert embedding_memory(65, 128)["parameters"] == layer.num_parameters()
    assert embedding_memory(65, 128)["bytes"] == layer.weight.nbytes


def test_memory_table_grows_with_vocab_and_dim() -> None:
    rows = embedding_memory_table((65, 50257), (128, 768))
    assert [(r["num_embeddings"], r["embedding_dim"]) for r in rows] == [
        (65, 128), (65, 768), (50257, 128), (50257, 768)
    ]  # fmt: skip
    assert rows[-1]["bytes"] == 154_389_504 and rows[0]["bytes"] == 33_280


def test_gradient_density_counts_distinct_ids() -> None:
    ids = np.array([[3, 3, 5], [0, 5, 5]])
    assert gradient_density(ids, 10) == {"tokens": 6, "rows_touched": 3, "fraction": 0.3}


def test_gradient_density_is_the_non_zero_rows_of_the_real_gradient() -> None:
    layer = Embedding(100, 4, rng=np.random.default_rng(0))
    ids = np.random.default_rng(1).integers(0, 100, (4, 16))
    layer(ids).sum().backward()
    nonzero = int(np.any(layer.weight.grad.data != 0, axis=1).sum())
    assert gradient_density(ids, 100)["rows_touched"] == nonzero


def test_batch_density_matches_the_uniform_formula_and_zipf_touches_fewer() -> None:
    uniform = batch_gradient_density(5000, 8, 64, batches=20)
    assert uniform["tokens"] == 512
    assert uniform["measured"] == pytest.approx(uniform["uniform_expected"], rel=0.03)
    zipf = batch_gradient_density(5000, 8, 64, zipf_a=1.1, batches=20)
    assert zipf["measured"] < 0.6 * uniform["measured"]
    assert batch_gradient_density(65, 32, 64)["measured"] == 1.0  # every character appears


def test_lookup_vs_onehot_same_rows_far_fewer_flops() -> None:
    report = lookup_vs_onehot(200, 16, 512, repeats=3)
    assert report["max_abs_difference"] == 0.0
    assert report["onehot_flops"] == 2 * 512 * 200 * 16
    assert report["onehot_bytes"] == 512 * 200 * 4 and report["lookup_bytes"] == 512 * 16 * 4
    assert report["lookup_s"] > 0 and report["onehot_s"] > 0
    assert report["speedup"] == pytest.approx(report["onehot_s"] / report["lookup_s"])


def test_scatter_timing_reports_every_method_and_they_agree() -> None:
    report = scatter_timing(300, 8, 1024, repeats=3)
    assert set(report) == {"sort", "add_at", "bincount", "fastest"}
    assert report["fastest"] in ("sort", "add_at", "bincount")
    for method in ("sort", "add_at", "bincount"):
        assert report[method]["seconds"] > 0
        assert report[method]["max_abs_error"] < 1e-4
    assert report["fastest"] == min(
        ("sort", "add_at", "bincount"), key=lambda m: report[m]["seconds"]
    )
