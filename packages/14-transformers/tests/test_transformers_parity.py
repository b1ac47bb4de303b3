"""Parity with PyTorch (float64): nn.LayerNorm, nn.RMSNorm, F.cross_entropy(ignore_index=-1),
and TinyGPT against a twin built from torch.nn modules with the same weights: logits, loss and
every parameter's gradient."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor
from tinytorch.transformers import (
    LayerNorm,
    RMSNorm,
    TinyGPT,
    layer_norm,
    next_token_loss,
    rms_norm,
)

torch = pytest.importorskip(
    "torch", reason="PyTorch not installed: parity tests need torch==2.13.0"
)
nn, F = torch.nn, torch.nn.functional

pytestmark = pytest.mark.parity


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def compare_layer(layer: Any, twin: Any, shape: tuple[int, ...]) -> None:
    for param in layer.parameters():
        param.data = rng(1).standard_normal(param.shape)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    x = rng(2).standard_normal(shape)
    ours, theirs = (
        Tensor(x, dtype=np.float64, requires_grad=True),
        torch.tensor(x, requires_grad=True),
    )
    out, ref = layer(ours), twin(theirs)
    grad = rng(3).standard_normal(shape)
    out.backward(grad)
    ref.backward(torch.from_numpy(grad))
    assert_close(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert_close(ours.grad.data, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
    twin_params = dict(twin.named_parameters())
    for name, param in layer.named_parameters():
        assert_close(param.grad.data, twin_params[name].grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "options",
    [{}, {"bias": False}, {"elementwise_affine": False}, {"eps": 1e-3}],
)
def test_layer_norm(options: dict[str, Any]) -> None:
    twin = nn.LayerNorm((4, 6), dtype=torch.float64, **options)
    compare_layer(LayerNorm((4, 6), **options), twin, (3, 4, 6))


@pytest.mark.parametrize("options", [{}, {"eps": 1e-4}, {"elementwise_affine": False}])
def test_rms_norm(options: dict[str, Any]) -> None:
    compare_layer(RMSNorm(6, **options), nn.RMSNorm(6, dtype=torch.float64, **options), (2, 5, 6))


def test_functional_norms() -> None:
    x, w, b = (rng(9).standard_normal(s) for s in ((2, 3, 4, 5), (4, 5), (4, 5)))
    ours = [Tensor(a, dtype=np.float64, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = layer_norm(ours[0], (4, 5), ours[1], ours[2], eps=1e-3) * 1.0
    out = out + rms_norm(ours[0], [5], ours[2][0])
    ref = F.layer_norm(theirs[0], (4, 5), theirs[1], theirs[2], eps=1e-3)
    ref = ref + F.rms_norm(theirs[0], [5], theirs[2][0])
    grad = rng(10).standard_normal(x.shape)
    out.backward(grad)
    ref.backward(torch.from_numpy(grad))
    assert_close(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, t in zip(ours, theirs, strict=True):
        assert_close(a.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_cross_entropy_ignore_index() -> None:
    logits = rng(4).standard_normal((6, 9)) * 2
    targets = rng(5).integers(0, 9, 6)
    targets[2] = -1
    ours, theirs = (
        Tensor(logits, dtype=np.float64, requires_grad=True),
        torch.tensor(logits, requires_grad=True),
    )
    loss = next_token_loss(ours, targets)
    ref = F.cross_entropy(theirs, torch.from_numpy(targets), ignore_index=-1)
    loss.backward()
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    assert_close(ours.grad.data, theirs.grad.numpy(), rtol=1e-10, atol=1e-13)


class TorchBlock(nn.Module):
    def __init__(self, c: int, h: int, bias: bool, approximate: str) -> None:
        super().__init__()
        kw = {"dtype": torch.float64}
        self.ln_1 = nn.LayerNorm(c, bias=bias, **kw)
        self.attn = nn.Module()
        self.attn.c_attn = nn.Linear(c, 3 * c, bias=bias, **kw)
        self.attn.c_proj = nn.Linear(c, c, bias=bias, **kw)
        self.ln_2 = nn.LayerNorm(c, bias=bias, **kw)
        self.mlp = nn.Module()
        self.mlp.c_fc = nn.Linear(c, 4 * c, bias=bias, **kw)
        self.mlp.c_proj = nn.Linear(4 * c, c, bias=bias, **kw)
        self.h, self.approximate = h, approximate

    def forward(self, x: Any) -> Any:
        b, t, c = x.shape
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.h, c // self.h).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        hidden = F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate=self.approximate)
        return x + self.mlp.c_proj(hidden)


class TorchGPT(nn.Module):
    """nanoGPT's GPT, built from torch.nn modules, with TinyGPT's parameter names."""

    def __init__(self, v: int, t: int, layers: int, h: int, c: int, bias: bool, tie: bool,
                 approximate: str) -> None:  # fmt: skip
        super().__init__()
        self.wte = nn.Embedding(v, c, dtype=torch.float64)
        self.wpe = nn.Module()
        self.wpe.weight = nn.Parameter(torch.zeros(t, c, dtype=torch.float64))
        self.h = nn.ModuleList(TorchBlock(c, h, bias, approximate) for _ in range(layers))
        self.ln_f = nn.LayerNorm(c, bias=bias, dtype=torch.float64)
        self.lm_head = nn.Linear(c, v, bias=False, dtype=torch.float64)
        if tie:
            self.lm_head.weight = self.wte.weight

    def forward(self, idx: Any, targets: Any) -> Any:
        x = self.wte(idx) + self.wpe.weight[: idx.shape[1]]
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss


@pytest.mark.parametrize(
    ("bias", "tie", "approximate"),
    [(True, True, "none"), (False, True, "tanh"), (True, False, "none")],
)
def test_tinygpt_matches_a_pytorch_twin(bias: bool, tie: bool, approximate: str) -> None:
    v, t, layers, h, c = 13, 9, 2, 2, 8
    model = TinyGPT(v, t, layers, h, c, bias=bias, tie_weights=tie, rng=rng(6),
                    gelu_approximate=approximate)  # fmt: skip
    for param in model.parameters():
        param.data = param.data.astype(np.float64)
    twin = TorchGPT(v, t, layers, h, c, bias, tie, approximate)
    state = {k: torch.from_numpy(a) for k, a in model.state_dict().items()}
    missing, unexpected = twin.load_state_dict(state, strict=False)
    assert not unexpected and missing == (["lm_head.weight"] if tie else [])
    idx = rng(7).integers(0, v, (3, t))
    targets = rng(8).integers(0, v, (3, t))
    targets[1, 2] = -1
    logits, loss = model(idx, targets)
    ref_logits, ref_loss = twin(torch.from_numpy(idx), torch.from_numpy(targets))
    loss.backward()
    ref_loss.backward()
    assert_close(logits.data, ref_logits.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-12)
    twin_params = dict(twin.named_parameters())
    for name, param in model.named_parameters():
        assert_close(
            param.grad.data, twin_params[name].grad.numpy(), rtol=1e-8, atol=1e-12, msg=name
        )
