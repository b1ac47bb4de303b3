"""Parity with PyTorch: top-k as nanoGPT's ``logits[logits < topk(...)[..., [-1]]] = -inf``,
top-p as Hugging Face's ``TopPLogitsWarper`` (transcribed below, ascending sort and
``cumsum <= 1 - top_p``), temperature and softmax as ``torch.softmax(logits / T)``, and the
warm-up + cosine schedule as ``SequentialLR(LinearLR, CosineAnnealingLR)``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.generation import next_token_probs, top_k_filter, top_p_filter, warmup_cosine
from tinytorch.layers import Parameter
from tinytorch.optimizers import AdamW
from tinytorch.setup.testing import assert_close

torch = pytest.importorskip(
    "torch", reason="PyTorch not installed: parity tests need torch==2.13.0"
)

pytestmark = pytest.mark.parity


def hf_top_p(scores: Any, top_p: float, min_tokens_to_keep: int = 1) -> Any:
    """transformers.TopPLogitsWarper.__call__ (v4.4x), verbatim but for the class."""
    sorted_logits, sorted_indices = torch.sort(scores, descending=False)
    cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    sorted_indices_to_remove = cumulative_probs <= (1 - top_p)
    sorted_indices_to_remove[..., -min_tokens_to_keep:] = 0
    indices_to_remove = sorted_indices_to_remove.scatter(
        1, sorted_indices, sorted_indices_to_remove
    )
    return scores.masked_fill(indices_to_remove, -float("inf"))


def nanogpt_top_k(logits: Any, k: int) -> Any:
    v, _ = torch.topk(logits, min(k, logits.size(-1)))
    out = logits.clone()
    out[out < v[:, [-1]]] = -float("inf")
    return out


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 3, 10, 64])
def test_top_k_matches_pytorch(seed: int, k: int) -> None:
    logits = np.random.default_rng(seed).normal(0, 3, (4, 50))
    expected = nanogpt_top_k(torch.from_numpy(logits), k).numpy()
    assert_close(top_k_filter(logits, k), expected)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.95])
def test_top_p_matches_hugging_face(seed: int, p: float) -> None:
    logits = np.random.default_rng(seed).normal(0, 2, (4, 40))
    expected = hf_top_p(torch.from_numpy(logits), p).numpy()
    assert_close(top_p_filter(logits, p), expected)


@pytest.mark.parametrize("temperature", [0.3, 1.0, 1.7])
def test_distribution_matches_torch_softmax(temperature: float) -> None:
    logits = np.random.default_rng(1).normal(0, 2, (3, 20))
    expected = torch.softmax(torch.from_numpy(logits) / temperature, dim=-1).numpy()
    assert_close(next_token_probs(logits, temperature), expected, rtol=1e-12, atol=1e-15)


def test_warmup_cosine_matches_sequential_lr() -> None:
    warmup, total, lr, ratio = 10, 60, 1e-3, 0.1
    ours = AdamW([Parameter(np.zeros(2))], lr=lr)
    schedule = warmup_cosine(ours, warmup, total, ratio)
    param = torch.nn.Parameter(torch.zeros(2))
    theirs = torch.optim.AdamW([param], lr=lr)
    reference = torch.optim.lr_scheduler.SequentialLR(
        theirs,
        [
            torch.optim.lr_scheduler.LinearLR(theirs, 1 / warmup, 1.0, total_iters=warmup),
            torch.optim.lr_scheduler.CosineAnnealingLR(theirs, total - warmup, lr * ratio),
        ],
        [warmup],
    )
    for _ in range(total + 1):
        assert abs(ours.param_groups[0]["lr"] - theirs.param_groups[0]["lr"]) < 1e-12
        theirs.step()
        reference.step()
        schedule.step()
