"""The fused MLP block and the language-model loss: GELU and its derivative against module
04's GELU, the fused MLPOp against Linear + GELU + Linear (forward and backward), finite
differences, extreme inputs, and the cross entropy against its definition."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tinytorch.activations.ops import GELUOp
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor
from tinytorch.transformers import MLP, MLPOp, gelu_with_derivative, next_token_loss
from tinytorch.transformers.ops import GELU_CHUNK


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gelu_and_derivative_match_module_04(approximate: str, dtype: Any) -> None:
    x = (rng(1).standard_normal(5000) * 4).astype(dtype)
    x[:4] = [0.0, -12.0, 12.0, 1e-3]
    value, slope = gelu_with_derivative(x, approximate)
    op = GELUOp(approximate)
    expected = op.forward(x.astype(np.float64))
    expected_slope = op.backward(np.ones(x.shape), (True,))[0]
    assert value.dtype == dtype and slope.dtype == dtype
    tolerance = 1e-12 if dtype == np.float64 else 2e-6
    assert_close(value, expected, rtol=tolerance, atol=tolerance)
    assert_close(slope, expected_slope, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_blocks_cover_every_element(approximate: str) -> None:
    x = rng(11).standard_normal((3, GELU_CHUNK // 2 + 7)).astype(np.float32)  # 3 blocks + a bit
    value, slope = gelu_with_derivative(x, approximate)
    expected = GELUOp(approximate).forward(x.astype(np.float64))
    assert value.shape == slope.shape == x.shape
    assert_close(value, expected, rtol=2e-6, atol=2e-6)
    assert_close(slope[:, -1], gelu_with_derivative(x[:, -1].copy(), approximate)[1])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_is_finite_for_huge_inputs(approximate: str) -> None:
    x = np.array([-1e30, -50.0, 50.0, 1e30], dtype=np.float32)
    value, slope = gelu_with_derivative(x, approximate)
    assert_close(value, np.array([0.0, 0.0, 50.0, 1e30], dtype=np.float32))
    assert_close(slope, np.array([0.0, 0.0, 1.0, 1.0], dtype=np.float32))


def double(module: Any) -> Any:
    for param in module.parameters():
        param.data = param.data.astype(np.float64)
    return module


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_mlp_equals_linear_gelu_linear(approximate: str, bias: bool) -> None:
    fused = double(MLP(6, bias=bias, rng=rng(2), approximate=approximate))
    plain = double(MLP(6, bias=bias, rng=rng(2), approximate=approximate, fused=False))
    x = rng(3).standard_normal((2, 5, 6))
    a, b = (
        Tensor(x, dtype=np.float64, requires_grad=True),
        Tensor(x, dtype=np.float64, requires_grad=True),
    )
    out, ref = fused(a), plain(b)
    assert_close(out.data, ref.data, rtol=1e-12, atol=1e-12)
    grad = rng(4).standard_normal(out.shape)
    out.backward(grad)
    ref.backward(grad)
    assert_close(a.grad.data, b.grad.data, rtol=1e-10, atol=1e-12)
    theirs = dict(plain.named_parameters())
    for name, param in fused.named_parameters():
        assert_close(param.grad.data, theirs[name].grad.data, rtol=1e-10, atol=1e-12, msg=name)


@pytest.mark.parametrize("bias", [True, False])
def test_mlp_op_gradcheck(bias: bool) -> None:
    shapes = [(3, 2, 4), (8, 4), (8,), (4, 8), (4,)] if bias else [(3, 2, 4), (8, 4), (4, 8)]
    arrays = [rng(5).standard_normal(s) for s in shapes]

    def fn(*xs: np.ndarray) -> np.ndarray:
        return MLPOp("none", bias).forward(*xs)

    def grad_fn(*args: np.ndarray) -> list[np.ndarray]:
        *xs, grad = args
        op = MLPOp("none", bias)
        op.forward(*xs)
        return list(op.backward(grad, (True,) * len(xs)))

    gradcheck(fn, arrays, grad_fn)


def test_mlp_options_and_errors() -> None:
    mlp = MLP(8, dropout=0.5, rng=rng())
    assert [n for n, _ in mlp.named_parameters()] == [
        "c_fc.weight", "c_fc.bias", "c_proj.weight", "c_proj.bias"
    ]  # fmt: skip
    x = Tensor(rng(6).standard_normal((2, 3, 8)))
    assert not np.allclose(mlp(x).data, mlp(x).data)  # dropout in training
    mlp.eval()
    assert_close(mlp(x).data, mlp(x).data)
    with pytest.raises(ValueError, match="approximate"):
        MLP(8, approximate="erf")
    with pytest.raises(ValueError, match=r"expected x \(\*, E\)"):
        MLPOp().forward(
            np.zeros((2, 5)), np.zeros((8, 4)), np.zeros(8), np.zeros((4, 8)), np.zeros(4)
        )


def test_next_token_loss_equals_its_definition_and_ignores_minus_one() -> None:
    logits = rng(7).standard_normal((2, 5, 7)) * 3
    targets = rng(8).integers(0, 7, (2, 5))
    targets[0, 1] = targets[1, 4] = -1
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    kept = targets != -1
    expected = -np.mean(
        [log_probs[i, j, targets[i, j]] for i in range(2) for j in range(5) if kept[i, j]]
    )
    x = Tensor(logits, dtype=np.float64, requires_grad=True)
    loss = next_token_loss(x, targets)
    assert loss.shape == () and loss.item() == pytest.approx(expected, rel=1e-12)
    loss.backward()
    probs = np.exp(log_probs)
    one_hot = np.eye(7)[np.where(kept, targets, 0)]
    expected_grad = (probs - one_hot) * kept[..., None] / kept.sum()
    assert_close(x.grad.data, expected_grad, rtol=1e-10, atol=1e-12)


def test_next_token_loss_is_stable_and_ignores_every_kind_of_row() -> None:
    huge = np.array([[[1e4, 0.0, -1e4]]], dtype=np.float32)
    assert next_token_loss(Tensor(huge), [[0]]).item() == pytest.approx(0.0, abs=1e-6)
    assert next_token_loss(Tensor(huge), [[1]]).item() == pytest.approx(1e4, rel=1e-6)
    uniform = next_token_loss(Tensor(np.zeros((1, 4, 65))), [[1, 2, 3, 4]]).item()
    assert uniform == pytest.approx(math.log(65), rel=1e-6)
    assert math.isnan(next_token_loss(Tensor(np.zeros((1, 2, 5))), [[-1, -1]]).item())  # as torch


def test_a_replaced_linear_runs_its_own_forward_not_the_fused_op() -> None:
    from tinytorch.activations import gelu
    from tinytorch.layers import Linear

    class Halved(Linear):  # another layer type in c_fc's place (as a QuantizedLinear would be)
        def forward(self, x: Tensor) -> Tensor:
            return super().forward(x) * 0.5

    mlp = double(MLP(6, rng=rng(5)))
    replacement = Halved(6, 24)
    replacement.weight.data[...] = mlp.c_fc.weight.data
    replacement.bias.data[...] = mlp.c_fc.bias.data
    mlp.c_fc = replacement
    x = Tensor(rng(6).standard_normal((3, 6)), dtype=np.float64)
    expected = mlp.c_proj(gelu(mlp.c_fc(x)))
    assert_close(mlp(x).data, expected.data, rtol=1e-12, atol=1e-12)
