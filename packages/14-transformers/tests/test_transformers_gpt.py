"""TransformerBlock and TinyGPT: wiring, causality, GPT-2 initialisation, weight tying (one
Parameter, gradients of both uses summed), the loss, parameter groups, dropout modes, a few
training steps that fit a batch, and nothing held after a backward."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tinytorch.autograd import held_activation_bytes, no_grad
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor
from tinytorch.transformers import TinyGPT, TransformerBlock, next_token_loss, param_groups


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def double(module: Any) -> Any:
    for param in module.parameters():
        param.data = param.data.astype(np.float64)
    return module


def small(**options: Any) -> TinyGPT:
    config = {"vocab_size": 11, "block_size": 8, "n_layer": 2, "n_head": 2, "n_embd": 8}
    seed = options.pop("seed", 0)
    return TinyGPT(**{**config, **options, "rng": rng(seed)})


def test_block_is_two_pre_norm_residual_branches() -> None:
    block = double(TransformerBlock(8, 2, rng=rng()))
    for param in block.parameters():  # non-trivial norms
        param.data = param.data + 0.1 * rng(1).standard_normal(param.shape)
    x = Tensor(rng(2).standard_normal((2, 5, 8)), dtype=np.float64)
    middle = x + block.attn(block.ln_1(x))
    expected = middle + block.mlp(block.ln_2(middle))
    assert_close(block(x).data, expected.data, rtol=1e-12, atol=1e-12)


def test_logits_shape_and_causality() -> None:
    model = double(small())
    idx = rng(3).integers(0, 11, (2, 8))
    logits = model(idx)
    assert logits.shape == (2, 8, 11) and logits.dtype == np.float64
    changed = idx.copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11
    later = model(changed).data
    assert_close(later[:, :5], logits.data[:, :5], rtol=1e-12, atol=1e-12)
    assert not np.allclose(later[:, 5:], logits.data[:, 5:])
    assert_close(model(idx[:, :5]).data, logits.data[:, :5], rtol=1e-12, atol=1e-12)


def test_gpt2_initialisation() -> None:
    model = TinyGPT(50, 32, n_layer=3, n_head=4, n_embd=64, rng=rng())
    params = dict(model.named_parameters())
    for name, param in params.items():
        if name.endswith("c_proj.weight"):
            assert param.data.std() == pytest.approx(0.02 / math.sqrt(6), rel=0.1), name
        elif param.ndim == 2:
            assert param.data.std() == pytest.approx(0.02, rel=0.1), name
        elif "ln" in name and name.endswith("weight"):
            assert np.all(param.data == 1), name
        else:
            assert np.all(param.data == 0), name
    assert abs(params["h.0.mlp.c_fc.weight"].data.mean()) < 2e-3


def test_tied_weights_are_one_parameter_with_both_gradients() -> None:
    tied = double(small())
    assert tied.lm_head.weight is tied.wte.weight
    names = [name for name, _ in tied.named_parameters()]
    assert "wte.weight" in names and "lm_head.weight" not in names
    untied = double(small(tie_weights=False))
    state = tied.state_dict()
    state["lm_head.weight"] = state["wte.weight"]
    untied.load_state_dict(state)
    idx, targets = rng(4).integers(0, 11, (2, 6)), rng(5).integers(0, 11, (2, 6))
    _, loss = tied(idx, targets)
    _, loss_untied = untied(idx, targets)
    assert loss.item() == pytest.approx(loss_untied.item(), rel=1e-12)
    loss.backward()
    loss_untied.backward()
    both = untied.wte.weight.grad.data + untied.lm_head.weight.grad.data
    assert_close(tied.wte.weight.grad.data, both, rtol=1e-10, atol=1e-12)
    assert untied.num_parameters() == tied.num_parameters() + 11 * 8


def test_loss_is_cross_entropy_of_the_logits_with_minus_one_ignored() -> None:
    model = small()
    idx, targets = rng(6).integers(0, 11, (3, 8)), rng(7).integers(0, 11, (3, 8))
    targets[0, :3] = -1
    logits, loss = model(idx, targets)
    assert loss.item() == pytest.approx(next_token_loss(logits, targets).item(), rel=1e-6)
    assert small()(idx, targets)[1].item() == pytest.approx(math.log(11), rel=0.05)  # at init


def test_a_few_sign_descent_steps_fit_one_batch() -> None:
    model = small(seed=1)
    idx = rng(8).integers(0, 11, (4, 8))
    targets = np.roll(idx, -1, axis=1)
    first = None
    for _ in range(60):
        model.zero_grad()
        _, loss = model(idx, targets)
        loss.backward()
        first = loss.item() if first is None else first
        with no_grad():
            for param in model.parameters():
                param.data -= 0.02 * np.sign(param.grad.data)
    assert loss.item() < 0.5 * first


def test_param_groups_partition_the_parameters() -> None:
    model = small()
    decay, no_decay = param_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    ids = [id(p) for group in (decay, no_decay) for p in group["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())
    assert len(ids) == len(set(ids))
    decayed = {id(p) for p in decay["params"]}
    names = {id(p): name for name, p in model.named_parameters()}
    assert {names[i] for i in decayed} == {
        f"h.{i}.{part}.weight"
        for i in range(2)
        for part in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
    }


def test_dropout_only_in_training_and_errors() -> None:
    model = small(dropout=0.3)
    idx = rng(9).integers(0, 11, (2, 8))
    assert not np.allclose(model(idx).data, model(idx).data)
    model.eval()
    assert_close(model(idx).data, model(idx).data, rtol=0, atol=0)
    with pytest.raises(ValueError, match="block_size=8"):
        model(np.zeros((1, 9), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(np.zeros(5, dtype=np.int64))
    with pytest.raises(IndexError, match="num_embeddings=11"):
        model(np.full((1, 3), 11))
    with pytest.raises(ValueError, match="divisible"):
        TinyGPT(11, 8, 2, 3, 8)


def test_nothing_is_held_after_backward() -> None:
    model = small(dropout=0.1)
    idx = rng(10).integers(0, 11, (2, 8))
    _, loss = model(idx, idx)
    loss.backward()
    assert held_activation_bytes(model) == 0
    with no_grad():
        model(idx)
    assert held_activation_bytes(model) == 0
