"""Against PyTorch: nanoGPT's model with its own preallocated KV cache (written in place, read
through ``F.scaled_dot_product_attention``), TinyGPT's weights, float64: the prompt's and every
decode step's logits agree; and the README's example and the docstring run."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinytorch.autograd import no_grad
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor
from tinytorch.transformers import TinyGPT


def torch_cached_gpt(torch: Any, model: TinyGPT) -> Any:
    nn, F = torch.nn, torch.nn.functional
    c, h = model.n_embd, model.n_head
    d = c // h

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(c), nn.LayerNorm(c)
            self.attn = nn.Module()
            self.attn.c_attn, self.attn.c_proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
            self.mlp = nn.Module()
            self.mlp.c_fc, self.mlp.c_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

        def forward(self, x: Any, cache: Any, pos: int) -> Any:
            b, t, _ = x.shape
            q, k, v = self.attn.c_attn(self.ln_1(x)).split(c, dim=2)
            q, k, v = (z.view(b, t, h, d).transpose(1, 2) for z in (q, k, v))
            cache[0][:, :, pos : pos + t], cache[1][:, :, pos : pos + t] = k, v
            keys, values = cache[0][:, :, : pos + t], cache[1][:, :, : pos + t]
            allowed = torch.ones(t, pos + t, dtype=torch.bool).tril(diagonal=pos)
            y = F.scaled_dot_product_attention(q, keys, values, attn_mask=allowed)
            x = x + self.attn.c_proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(model.vocab_size, c)
            self.wpe = nn.Embedding(model.block_size, c)
            self.h = nn.ModuleList(Block() for _ in range(model.n_layer))
            self.ln_f = nn.LayerNorm(c)
            self.lm_head = nn.Linear(c, model.vocab_size, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx: Any, caches: Any, pos: int) -> Any:
            x = self.wte(idx) + self.wpe(torch.arange(pos, pos + idx.shape[1]))
            for block, cache in zip(self.h, caches, strict=True):
                x = block(x, cache, pos)
            return self.lm_head(self.ln_f(x))

    twin = GPT().double()
    state = {k: torch.from_numpy(v) for k, v in model.state_dict().items()}
    twin.load_state_dict(state, strict=False)
    return twin.eval()


@pytest.mark.parity
def test_cached_steps_match_pytorch_with_its_own_cache() -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for this test")
    model = TinyGPT(31, 20, 2, 2, 16, rng=np.random.default_rng(0))
    for param in model.parameters():
        param.data = param.data.astype(np.float64)
    twin = torch_cached_gpt(torch, model)
    idx = np.random.default_rng(1).integers(0, 31, (2, 20))
    cache = model.make_kv_cache(2)
    shape = (2, 2, 20, 8)
    theirs_cache = [
        (torch.zeros(shape, dtype=torch.float64), torch.zeros(shape, dtype=torch.float64))
        for _ in range(2)
    ]
    bounds = [(0, 6), *((t, t + 1) for t in range(6, 20))]
    with no_grad(), torch.inference_mode():
        for start, end in bounds:
            ours = model(Tensor(idx[:, start:end]), kv_cache=cache).data
            theirs = twin(torch.from_numpy(idx[:, start:end]), theirs_cache, start).numpy()
            assert_close(ours, theirs, rtol=1e-10, atol=1e-10)


def test_readme_example_and_docstring_run() -> None:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(readme), "exec"), {})
    result = doctest.testmod(importlib.import_module("tinytorch.kvcache"))
    assert result.attempted > 0 and result.failed == 0
