"""Positional encodings: the sinusoidal table against its formula, learned positions (values,
offsets, gradients), and RoPE: against the pairwise rotation written out, norm-preserving,
relative (scores depend on m - n only), and differentiable (finite differences, inverse)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytorch.autograd import held_activation_bytes
from tinytorch.embeddings import (
    AddPositionsOp,
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    RotaryOp,
    SinusoidalPositionalEncoding,
    add_positions,
    apply_rotary,
    rotary_tables,
    sinusoidal_positions,
)
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("dim", [8, 7, 1])
def test_sinusoidal_table_follows_the_formula(dim: int) -> None:
    table = sinusoidal_positions(12, dim, base=100.0).data
    assert table.shape == (12, dim) and table.dtype == np.float32
    for p in range(12):
        for j in range(dim):
            angle = p / 100.0 ** ((j - j % 2) / dim)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert table[p, j] == pytest.approx(expected, abs=1e-6)


def test_sinusoidal_shift_is_a_fixed_rotation() -> None:
    """pe[p + k] is pe[p] rotated pairwise by angles that depend on k only."""
    table = sinusoidal_positions(40, 16).data.astype(np.float64)
    k = 5
    sin_p, cos_p = table[:-k, 0::2], table[:-k, 1::2]
    sin_k, cos_k = table[k, 0::2], table[k, 1::2]
    assert_close(table[k:, 0::2], sin_p * cos_k + cos_p * sin_k, atol=1e-6)
    assert_close(table[k:, 1::2], cos_p * cos_k - sin_p * sin_k, atol=1e-6)


def test_sinusoidal_module_adds_the_table_and_passes_the_gradient() -> None:
    layer = SinusoidalPositionalEncoding(16, 6)
    x = Tensor(rng().standard_normal((2, 5, 6)), requires_grad=True)
    out = layer(x, offset=3)
    assert_close(out.data, x.data + layer.pe.data[3:8])
    grad = rng(1).standard_normal((2, 5, 6)).astype(np.float32)
    out.backward(grad)
    assert_close(x.grad.data, grad)
    assert "pe" in layer.state_dict() and layer.num_parameters() == 0
    layer(x)
    assert_close(layer.backward(Tensor(grad)).data, grad)
    with pytest.raises(ValueError, match="max_len=16"):
        layer(Tensor(np.zeros((1, 17, 6))))


def test_learned_positions_values_and_gradient() -> None:
    layer = LearnedPositionalEmbedding(10, 4, rng=rng())
    x = Tensor(rng(2).standard_normal((3, 6, 4)), requires_grad=True)
    out = layer(x, offset=2)
    assert_close(out.data, x.data + layer.weight.data[2:8])
    grad = rng(3).standard_normal((3, 6, 4)).astype(np.float32)
    out.backward(grad)
    expected = np.zeros((10, 4), dtype=np.float32)
    expected[2:8] = grad.sum(axis=0)
    assert_close(layer.weight.grad.data, expected, rtol=1e-6, atol=1e-6)
    assert_close(x.grad.data, grad)
    assert held_activation_bytes(layer) == 0


def test_learned_positions_manual_backward_equals_autograd() -> None:
    layer = LearnedPositionalEmbedding(8, 3, rng=rng())
    x = Tensor(rng(4).standard_normal((2, 8, 3)))
    grad = rng(5).standard_normal((2, 8, 3)).astype(np.float32)
    layer(x).backward(grad)
    automatic = layer.weight.grad.data.copy()
    layer.zero_grad()
    layer(x)
    assert_close(layer.backward(Tensor(grad)).data, grad)
    assert_close(layer.weight.grad.data, automatic)


def test_learned_positions_refuse_positions_past_max_len() -> None:
    layer = LearnedPositionalEmbedding(8, 3, rng=rng())
    with pytest.raises(ValueError, match=r"positions 6\.\.9.*max_len=8"):
        layer(Tensor(np.zeros((1, 4, 3))), offset=6)
    with pytest.raises(ValueError, match="expected x"):
        add_positions(Tensor(np.zeros((2, 4))), layer.weight)


def test_add_positions_gradcheck_float64() -> None:
    def fn(x: np.ndarray, table: np.ndarray) -> np.ndarray:
        return AddPositionsOp(1).forward(x, table)

    def grad_fn(x: np.ndarray, table: np.ndarray, grad: np.ndarray) -> tuple:
        op = AddPositionsOp(1)
        op.forward(x, table)
        return op.backward(grad, (True, True))

    gradcheck(fn, [rng(6).standard_normal((2, 3, 4)), rng(7).standard_normal((5, 4))], grad_fn)


def rotate_pairs(x: np.ndarray, positions: np.ndarray, base: float) -> np.ndarray:
    """RoPE written out: feature i and i + d/2 of token t rotated by positions[t]*base^(-2i/d)."""
    out = np.empty_like(x)
    d = x.shape[-1]
    half = d // 2
    for t, p in enumerate(positions):
        for i in range(half):
            theta = p * base ** (-2 * i / d)
            a, b = x[..., t, i], x[..., t, i + half]
            out[..., t, i] = a * math.cos(theta) - b * math.sin(theta)
            out[..., t, i + half] = b * math.cos(theta) + a * math.sin(theta)
    return out


def test_rotary_matches_the_pairwise_rotation() -> None:
    x = rng().standard_normal((2, 3, 5, 8))
    positions = np.array([0, 1, 2, 7, 30])
    out = apply_rotary(Tensor(x, dtype=np.float64), positions, base=500.0)
    assert out.dtype == np.float64
    assert_close(out.data, rotate_pairs(x, positions, 500.0), rtol=1e-12, atol=1e-12)


def test_rotary_keeps_norms_and_position_zero() -> None:
    x = rng(1).standard_normal((4, 6, 16)).astype(np.float32)
    out = apply_rotary(Tensor(x)).data
    assert_close(np.linalg.norm(out, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-5)
    assert_close(out[:, 0], x[:, 0])  # angle 0 at position 0


def test_rotary_scores_depend_on_relative_position_only() -> None:
    q, k = rng(2).standard_normal((2, 16))

    def score(m: int, n: int) -> float:
        qm = apply_rotary(Tensor(q[None], dtype=np.float64), [m]).data[0]
        kn = apply_rotary(Tensor(k[None], dtype=np.float64), [n]).data[0]
        return float(qm @ kn)

    assert score(5, 2) == pytest.approx(score(13, 10), abs=1e-9)
    assert score(40, 40) == pytest.approx(float(q @ k), abs=1e-9)
    assert score(5, 2) != pytest.approx(score(5, 3), abs=1e-6)


def test_rotary_gradcheck_and_backward_is_the_inverse() -> None:
    cos, sin = rotary_tables(np.arange(4), 6, dtype=np.float64)

    def fn(x: np.ndarray) -> np.ndarray:
        return RotaryOp(cos, sin).forward(x)

    def grad_fn(x: np.ndarray, grad: np.ndarray) -> tuple:
        op = RotaryOp(cos, sin)
        op.forward(x)
        return op.backward(grad, (True,))

    x = rng(3).standard_normal((2, 4, 6))
    gradcheck(fn, [x], grad_fn)
    op = RotaryOp(cos, sin)
    rotated = op.forward(x)
    assert_close(op.backward(rotated, (True,))[0], x, rtol=1e-12, atol=1e-12)


def test_rotary_module_offset_equals_positions_and_autograd_equals_manual() -> None:
    layer = RotaryEmbedding(8, 32, base=10000)
    x = Tensor(rng(4).standard_normal((2, 2, 5, 8)), requires_grad=True)
    by_offset = layer(x, offset=7)
    assert_close(by_offset.data, layer(x, positions=np.arange(7, 12)).data)
    assert_close(by_offset.data, apply_rotary(x, np.arange(7, 12)).data, rtol=1e-6)
    grad = rng(5).standard_normal(x.shape).astype(np.float32)
    by_offset.backward(grad)
    layer(x, offset=7)
    assert_close(layer.backward(Tensor(grad)).data, x.grad.data)
    assert layer.num_parameters() == 0


def test_rotary_errors() -> None:
    with pytest.raises(ValueError, match="even"):
        RotaryEmbedding(7, 16)
    with pytest.raises(ValueError, match="even"):
        apply_rotary(Tensor(np.zeros((3, 5))))
    with pytest.raises(ValueError, match="max_len=16"):
        RotaryEmbedding(8, 16)(Tensor(np.zeros((20, 8))))
    with pytest.raises(ValueError, match=r"expected x \(\.\.\., T, 8\)"):
        RotaryEmbedding(8, 16)(Tensor(np.zeros((2, 6))))
    with pytest.raises(ValueError, match=r"\[0, 16\)"):
        RotaryEmbedding(8, 16)(Tensor(np.zeros((2, 8))), positions=[3, 16])
