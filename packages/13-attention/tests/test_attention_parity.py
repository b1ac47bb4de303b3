"""Parity with PyTorch (float64): F.scaled_dot_product_attention (masks, causal, scale, fully
masked rows, float-mask gradient), nn.MultiheadAttention (batch_first=True, same weights, self
and cross attention, masks, weights) and nanoGPT's CausalSelfAttention written in torch."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tinytorch.attention import (
    CausalSelfAttention,
    MultiHeadAttention,
    scaled_dot_product_attention,
)
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor

torch = pytest.importorskip(
    "torch", reason="PyTorch not installed: parity tests need torch==2.13.0"
)
F = torch.nn.functional

pytestmark = pytest.mark.parity


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def pairs(*arrays: np.ndarray) -> tuple[list[Tensor], list[Any]]:
    ours = [Tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def fully_masked() -> np.ndarray:
    mask = rng(9).random((2, 3, 5, 6)) > 0.5
    mask[0, 1, 2] = False  # one query with no key at all
    return mask


SDPA_CASES: dict[str, dict[str, Any]] = {
    "plain": {},
    "bool mask": {"attn_mask": rng(1).random((5, 6)) > 0.3},
    "bool mask with a fully masked row": {"attn_mask": fully_masked()},
    "float mask": {"attn_mask": rng(2).standard_normal((3, 5, 6))},
    "causal": {"is_causal": True},
    "scale": {"scale": 0.2},
}


@pytest.mark.parametrize("name", list(SDPA_CASES))
def test_scaled_dot_product_attention(name: str) -> None:
    kwargs = SDPA_CASES[name]
    q, k, v = (rng(3).standard_normal(s) for s in ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7)))
    ours, theirs = pairs(q, k, v)
    torch_kwargs = dict(kwargs)
    if "attn_mask" in kwargs:
        torch_kwargs["attn_mask"] = torch.from_numpy(kwargs["attn_mask"])
    out = scaled_dot_product_attention(*ours, **kwargs)
    ref = F.scaled_dot_product_attention(*theirs, **torch_kwargs)
    grad = rng(4).standard_normal(out.shape)
    out.backward(grad)
    ref.backward(torch.from_numpy(grad))
    assert_close(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours, theirs, strict=True):
        assert_close(a.grad.data, b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_float_mask_gradient() -> None:
    q, k, v = (rng(5).standard_normal(s) for s in ((2, 4, 3), (2, 5, 3), (2, 5, 3)))
    mask = rng(6).standard_normal((4, 5))
    (mq, *ours), (tm, *theirs) = pairs(mask, q, k, v)
    out = scaled_dot_product_attention(*ours, attn_mask=mq)
    ref = F.scaled_dot_product_attention(*theirs, attn_mask=tm)
    out.sum().backward()
    ref.sum().backward()
    assert_close(mq.grad.data, tm.grad.numpy(), rtol=1e-9, atol=1e-12)


def twin_mha(layer: MultiHeadAttention, bias: bool = True) -> Any:
    twin = torch.nn.MultiheadAttention(
        layer.embed_dim, layer.num_heads, bias=bias, batch_first=True, dtype=torch.float64
    )
    with torch.no_grad():
        twin.in_proj_weight.copy_(torch.from_numpy(layer.in_proj_weight.data))
        twin.out_proj.weight.copy_(torch.from_numpy(layer.out_proj.weight.data))
        if bias:
            twin.in_proj_bias.copy_(torch.from_numpy(layer.in_proj_bias.data))
            twin.out_proj.bias.copy_(torch.from_numpy(layer.out_proj.bias.data))
    return twin


def padding_mask() -> np.ndarray:
    mask = np.zeros((2, 6), dtype=bool)
    mask[0, 4:] = True
    return mask


MHA_CASES: dict[str, dict[str, Any]] = {
    "self": {},
    "cross": {"cross": True},
    "key padding": {"key_padding_mask": padding_mask()},
    "bool attn_mask": {"attn_mask": np.triu(np.ones((6, 6), dtype=bool), 1)},
    "float attn_mask": {"attn_mask": rng(7).standard_normal((6, 6))},
    "per-head weights": {"average_attn_weights": False},
    "no bias": {"bias": False},
}


@pytest.mark.parametrize("name", list(MHA_CASES))
def test_multihead_attention(name: str) -> None:
    case = dict(MHA_CASES[name])
    bias, cross = case.pop("bias", True), case.pop("cross", False)
    layer = MultiHeadAttention(8, 2, bias=bias, rng=rng(8))
    for param in layer.parameters():
        param.data = param.data.astype(np.float64)
    twin = twin_mha(layer, bias)
    x = rng(10).standard_normal((2, 6, 8))
    (ours,), (theirs,) = pairs(x)
    if cross:
        (key,), (twin_key,) = pairs(rng(11).standard_normal((2, 6, 8)))
        args, twin_args = (ours, key, key), (theirs, twin_key, twin_key)
    else:
        args, twin_args = (ours, ours, ours), (theirs, theirs, theirs)
    torch_case = {
        k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in case.items()
    }
    out, weights = layer(*args, **case)
    ref, ref_weights = twin(*twin_args, **torch_case)
    grad = rng(12).standard_normal(out.shape)
    out.backward(grad)
    ref.backward(torch.from_numpy(grad))
    assert_close(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert_close(weights.data, ref_weights.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert_close(ours.grad.data, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
    for param_name, param in layer.named_parameters():
        twin_param = dict(twin.named_parameters())[param_name]
        assert_close(
            param.grad.data, twin_param.grad.numpy(), rtol=1e-9, atol=1e-12, msg=param_name
        )


class TorchCausalSelfAttention(torch.nn.Module):  # nanoGPT's model.py, dropout 0
    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.c_attn = torch.nn.Linear(n_embd, 3 * n_embd, dtype=torch.float64)
        self.c_proj = torch.nn.Linear(n_embd, n_embd, dtype=torch.float64)
        self.n_head, self.n_embd = n_head, n_embd

    def forward(self, x: Any) -> Any:
        b, t, c = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        q = q.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        v = v.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(torch.ones(t, t).tril() == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))


def test_causal_self_attention_matches_nanogpt() -> None:
    layer = CausalSelfAttention(12, 3, rng=rng(13))
    for param in layer.parameters():
        param.data = param.data.astype(np.float64)
    twin = TorchCausalSelfAttention(12, 3)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    (x,), (tx,) = pairs(rng(14).standard_normal((2, 7, 12)))
    out, ref = layer(x), twin(tx)
    grad = rng(15).standard_normal(out.shape)
    out.backward(grad)
    ref.backward(torch.from_numpy(grad))
    assert_close(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert_close(x.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    for name, param in layer.named_parameters():
        twin_grad = dict(twin.named_parameters())[name].grad.numpy()
        assert_close(param.grad.data, twin_grad, rtol=1e-9, atol=1e-12, msg=name)
