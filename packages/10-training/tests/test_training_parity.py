"""Parity with PyTorch in float32 (the dtype training uses): the losses' Modules, every reduction,
label smoothing, ignore_index and weights give the same values and input gradients as torch.nn on
the same inputs; and gradient clipping. (The float64 parity of every loss and option is driven by
the table of cases in test_training_losses.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor
from tinytorch.training import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    NLLLoss,
    clip_grad_norm_,
)

torch = pytest.importorskip(
    "torch", reason="PyTorch not installed: parity tests need torch==2.13.0"
)

pytestmark = pytest.mark.parity

REDUCTIONS = ("mean", "sum", "none")


def compare(ours_fn, torch_fn, arrays, reduction, rtol=1e-5, atol=1e-6):
    ours_inputs = [Tensor(a, requires_grad=True) for a in arrays]
    torch_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = ours_fn(*ours_inputs), torch_fn(*torch_inputs)
    assert_close(ours, theirs.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(5).standard_normal(ours.shape).astype(np.float32)
    ours.backward(g if reduction == "none" else None)
    theirs.backward(torch.tensor(g) if reduction == "none" else None)
    for a, b in zip(ours_inputs, torch_inputs, strict=True):
        assert_close(a.grad, b.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_parity(reduction: str) -> None:
    x, y = np.random.default_rng(0).standard_normal((2, 8, 3)).astype(np.float32)
    compare(
        MSELoss(reduction=reduction),
        torch.nn.MSELoss(reduction=reduction),
        [x, y],
        reduction,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.7])
def test_cross_entropy_parity(reduction: str, smoothing: float) -> None:
    gen = np.random.default_rng(1)
    z = (gen.standard_normal((16, 10)) * 4).astype(np.float32)
    y = gen.integers(0, 10, 16)
    ours = CrossEntropyLoss(label_smoothing=smoothing, reduction=reduction)
    theirs = torch.nn.CrossEntropyLoss(label_smoothing=smoothing, reduction=reduction)
    compare(
        lambda x: ours(x, Tensor(y)),
        lambda x: theirs(x, torch.from_numpy(y)),
        [z],
        reduction,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_ignore_index_parity(reduction: str, smoothing: float) -> None:
    gen = np.random.default_rng(2)
    z = gen.standard_normal((12, 5)).astype(np.float32)
    y = gen.integers(0, 5, 12)
    y[[1, 4, 5]] = -100
    ours = CrossEntropyLoss(label_smoothing=smoothing, reduction=reduction)
    theirs = torch.nn.CrossEntropyLoss(label_smoothing=smoothing, reduction=reduction)
    compare(
        lambda x: ours(x, Tensor(y)),
        lambda x: theirs(x, torch.from_numpy(y)),
        [z],
        reduction,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_cross_entropy_and_nll_parity_over_extra_dims(reduction: str) -> None:
    gen = np.random.default_rng(6)
    z = gen.standard_normal((4, 5, 3, 2)).astype(np.float32)
    y = gen.integers(0, 5, (4, 3, 2))
    y[0, 1] = -100
    w = gen.uniform(0.5, 2.0, 5).astype(np.float32)
    for ours, theirs in (
        (CrossEntropyLoss(w, label_smoothing=0.1, reduction=reduction), torch.nn.CrossEntropyLoss),
        (NLLLoss(w, reduction=reduction), torch.nn.NLLLoss),
    ):
        options = {"label_smoothing": 0.1} if isinstance(ours, CrossEntropyLoss) else {}
        torch_loss = theirs(torch.from_numpy(w), reduction=reduction, **options)
        compare(
            lambda x, ours=ours: ours(x, Tensor(y)),
            lambda x, torch_loss=torch_loss: torch_loss(x, torch.from_numpy(y)),
            [z],
            reduction,
        )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_parity(reduction: str) -> None:
    gen = np.random.default_rng(7)
    z = (gen.standard_normal((8, 6)) * 3).astype(np.float32)
    q = gen.dirichlet(np.ones(6), 8).astype(np.float32)
    compare(
        CrossEntropyLoss(label_smoothing=0.05, reduction=reduction),
        torch.nn.CrossEntropyLoss(label_smoothing=0.05, reduction=reduction),
        [z, q],
        reduction,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_parity(reduction: str) -> None:
    gen = np.random.default_rng(3)
    x = (gen.standard_normal((6, 4)) * 5).astype(np.float32)
    y = gen.random((6, 4)).astype(np.float32)
    pos_weight = gen.uniform(0.5, 4.0, 4).astype(np.float32)
    for ours, theirs in (
        (BCEWithLogitsLoss(reduction=reduction), torch.nn.BCEWithLogitsLoss(reduction=reduction)),
        (
            BCEWithLogitsLoss(reduction=reduction, pos_weight=pos_weight),
            torch.nn.BCEWithLogitsLoss(
                reduction=reduction, pos_weight=torch.from_numpy(pos_weight)
            ),
        ),
    ):
        compare(ours, theirs, [x, y], reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_parity(reduction: str) -> None:
    gen = np.random.default_rng(8)
    p = gen.uniform(0.01, 0.99, (6, 4)).astype(np.float32)
    y = gen.random((6, 4)).astype(np.float32)
    compare(BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), [p, y], reduction)


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_parity(max_norm: float) -> None:
    gen = np.random.default_rng(4)
    grads = [gen.standard_normal(s).astype(np.float32) for s in [(3, 4), (4,), (2, 2)]]
    ours = [Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad, q.grad = Tensor(g.copy()), torch.tensor(g)
    total = clip_grad_norm_(ours, max_norm)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert_close(np.float32(total), expected.numpy(), rtol=1e-6)
    for p, q in zip(ours, theirs, strict=True):
        assert_close(p.grad, q.grad.numpy(), rtol=1e-6, atol=1e-7)
