"""The systems lessons, each against the real model: parameter counts, FLOPs per token
counted from the model's own layers, and the activation-memory formula against the bytes the
recorded graph really keeps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.layers import Linear
from tinytorch.tensor import Tensor
from tinytorch.transformers import (
    TinyGPT,
    TransformerBlock,
    gpt_activation_memory,
    gpt_flops_per_token,
    gpt_num_parameters,
    saved_activation_bytes,
)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"bias": False},
        {"tie_weights": False},
        {"bias": False, "tie_weights": False},
    ],
)
def test_parameter_count_matches_the_model(options: dict[str, Any]) -> None:
    model = TinyGPT(13, 10, n_layer=3, n_head=2, n_embd=12, **options)
    counts = gpt_num_parameters(13, 10, 3, 12, **options)
    assert counts["total"] == model.num_parameters()
    assert counts["per_layer"] == model.h[0].num_parameters()
    assert counts["non_embedding"] == counts["total"] - 10 * 12


def test_tinygpt_and_gpt2_sizes() -> None:
    assert gpt_num_parameters(65, 64, 4, 128)["total"] == 809_856
    gpt2 = gpt_num_parameters(50257, 1024, 12, 768)
    assert gpt2["total"] == 124_439_808  # GPT-2 small, as nanoGPT reports (with wpe)
    assert gpt2["non_embedding"] == 123_653_376


def test_flops_per_token_count_the_models_matmuls() -> None:
    model = TinyGPT(65, 64, n_layer=4, n_head=4, n_embd=128)
    linear = sum(
        2 * m.in_features * m.out_features for m in model.modules() if isinstance(m, Linear)
    )
    attention = 4 * 4 * 64 * 128  # per layer: scores 2TC and weighted sum 2TC per token
    flops = gpt_flops_per_token(4, 128, 64, 65)
    assert flops["forward"] == linear + attention
    assert flops["training"] == 3 * flops["forward"]
    assert flops["six_n"] == 6 * flops["matmul_parameters"]
    assert flops["training"] - flops["six_n"] == 3 * attention
    assert flops["attention_share"] == pytest.approx(attention / flops["forward"])


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_activation_memory_of_a_block_is_what_its_graph_keeps(dropout: float) -> None:
    b, t, c, h = 3, 10, 16, 4
    block = TransformerBlock(c, h, dropout=dropout, rng=np.random.default_rng(0))
    x = Tensor(np.random.default_rng(1).standard_normal((b, t, c)), requires_grad=True)
    out = block(x)
    kept = saved_activation_bytes(out, exclude=[x, *block.parameters()])
    assert kept == gpt_activation_memory(b, t, c, h, dropout=dropout > 0)["per_layer"]
    out.sum().backward()
    assert saved_activation_bytes(out) == 0


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_activation_memory_of_the_whole_model(dropout: float) -> None:
    b, t, v = 2, 8, 11
    model = TinyGPT(v, t, n_layer=3, n_head=2, n_embd=8, dropout=dropout)
    ids = np.random.default_rng(2).integers(0, v, (b, t))
    _, loss = model(ids, ids)
    kept = saved_activation_bytes(loss, exclude=model.parameters())
    memory = gpt_activation_memory(b, t, 8, 2, n_layer=3, vocab_size=v, dropout=dropout > 0)
    assert kept == memory["total"]
    assert memory["layers"] == 3 * memory["per_layer"]


def test_tinygpt_memory_figures() -> None:
    memory = gpt_activation_memory(32, 64, 128, 4, n_layer=4, vocab_size=65)
    assert memory["per_layer"] == (16 * 32 * 64 * 128 + 32 * 4 * 64 * 64 + 2 * 32 * 64) * 4
    assert memory["per_layer"] == 18_890_752  # 18.9 MB a layer, 4.7x the model's 3.2 MB
