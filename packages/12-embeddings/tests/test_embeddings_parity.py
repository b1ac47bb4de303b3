"""Parity with PyTorch: nn.Embedding and F.embedding (padding_idx included), forward and
weight gradient, and RoPE against the rotate-half formula written in torch (LLaMA's)."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.embeddings import Embedding, RotaryEmbedding, apply_rotary, embedding
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor

torch = pytest.importorskip(
    "torch", reason="PyTorch not installed: parity tests need torch==2.13.0"
)

pytestmark = pytest.mark.parity


@pytest.mark.parametrize("padding_idx", [None, 0, -2])
def test_embedding_module(padding_idx: int | None) -> None:
    layer = Embedding(12, 5, padding_idx=padding_idx, rng=np.random.default_rng(0))
    twin = torch.nn.Embedding(12, 5, padding_idx=padding_idx)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(layer.weight.data))
    ids = np.random.default_rng(1).integers(0, 12, (3, 7))
    ids[0, :3] = 0
    ids[1, :2] = 10
    out, theirs = layer(ids), twin(torch.from_numpy(ids))
    grad = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
    out.backward(grad)
    theirs.backward(torch.from_numpy(grad))
    assert_close(out.data, theirs.detach().numpy())
    assert_close(layer.weight.grad.data, twin.weight.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_functional_embedding_float64() -> None:
    weight = np.random.default_rng(3).standard_normal((9, 4))
    ids = np.array([[1, 1, 8, 0]])
    ours = Tensor(weight, dtype=np.float64, requires_grad=True)
    theirs = torch.tensor(weight, requires_grad=True)
    out = embedding(ids, ours, padding_idx=1)
    ref = torch.nn.functional.embedding(torch.from_numpy(ids), theirs, padding_idx=1)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    assert_close(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert_close(ours.grad.data, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def torch_rotary(x, base: float):  # type: ignore[no-untyped-def]
    """LLaMA's apply_rotary_pos_emb (Hugging Face), written with torch ops."""
    d, t = x.shape[-1], x.shape[-2]
    inv_freq = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    freqs = torch.outer(torch.arange(t, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    x1, x2 = x[..., : d // 2], x[..., d // 2 :]
    return x * emb.cos() + torch.cat((-x2, x1), dim=-1) * emb.sin()


def test_rotary_matches_llama_formula_forward_and_backward() -> None:
    x = np.random.default_rng(4).standard_normal((2, 3, 10, 8))
    ours = Tensor(x, dtype=np.float64, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, ref = apply_rotary(ours, base=10000.0), torch_rotary(theirs, 10000.0)
    grad = np.random.default_rng(5).standard_normal(x.shape)
    out.backward(grad)
    ref.backward(torch.from_numpy(grad))
    assert_close(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert_close(ours.grad.data, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)
    module = RotaryEmbedding(8, 16)(Tensor(x.astype(np.float32)))
    assert_close(module.data, ref.detach().numpy(), rtol=1e-5, atol=1e-5)
