"""Numerical stability: the values at +-1e4 and why the stable forms are needed. (That every
activation's output and gradient stay finite at +-1e4 and +-1e24 is tested from the table in
test_activations_table.py.)

Each check runs under ``np.errstate(over/invalid/divide="raise")``, so an overflowing exp fails
here even outside the repository's pytest configuration (which turns RuntimeWarning into errors).
Underflow (exp(-1e4) == 0) is expected and harmless.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.activations import (
    ELU,
    GELU,
    SELU,
    LogSigmoid,
    Mish,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    log_softmax,
    logsigmoid,
    mish,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor


def test_values_at_plus_minus_1e4() -> None:
    x = Tensor(np.array([-1e4, 0.0, 1e4], dtype=np.float32))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert sigmoid(x).data.tolist() == [0.0, 0.5, 1.0]
        assert tanh(x).data.tolist() == [-1.0, 0.0, 1.0]
        assert gelu(x).data.tolist() == [0.0, 0.0, 1e4]
        assert gelu(x, "tanh").data.tolist() == [0.0, 0.0, 1e4]
        assert_close(softmax(x), [0.0, 0.0, 1.0])
        assert_close(log_softmax(x), [-2e4, -1e4, 0.0])
        assert silu(x).data.tolist() == [0.0, 0.0, 1e4]
        assert mish(x).data.tolist() == [0.0, 0.0, 1e4]
        assert elu(x).data.tolist() == [-1.0, 0.0, 1e4]
        assert_close(selu(x), [-1.0507009873554805 * 1.6732632423543772, 0.0, 1.0507009873554805e4])
        assert_close(softplus(x), [0.0, np.log(2.0), 1e4])
        assert_close(
            softplus(x, beta=0.001), [np.log1p(np.exp(-10.0)) * 1000, np.log(2) * 1000, 1e4]
        )
        assert_close(logsigmoid(x), [-1e4, -np.log(2.0), 0.0])
        assert hardswish(x).data.tolist() == [0.0, 0.0, 1e4]
        assert hardsigmoid(x).data.tolist() == [0.0, 0.5, 1.0]


def test_saturated_gradients_are_zero_not_nan() -> None:
    x = Tensor(np.array([-1e4, 1e4], dtype=np.float32))
    for layer in (Sigmoid(), Tanh(), GELU(), GELU("tanh"), SiLU(), Mish(), Softplus(), ELU()):
        layer(x)
        grad = layer.backward(Tensor(np.ones(2, dtype=np.float32))).data
        assert np.isfinite(grad).all(), layer
    gelu_layer = GELU()
    gelu_layer(x)
    assert gelu_layer.backward(Tensor(np.ones(2, dtype=np.float32))).data.tolist() == [0.0, 1.0]
    for layer, expected in [
        (SiLU(), [0.0, 1.0]),
        (Mish(), [0.0, 1.0]),
        (Softplus(), [0.0, 1.0]),
        (ELU(), [0.0, 1.0]),
        (SELU(), [0.0, 1.0507009873554805]),
        (LogSigmoid(), [1.0, 0.0]),
    ]:
        layer(x)
        grad = layer.backward(Tensor(np.ones(2, dtype=np.float32))).data
        assert_close(grad, expected, rtol=1e-7, atol=0, msg=repr(layer))


def test_the_naive_formulas_overflow_where_ours_do_not() -> None:
    """Why the stable forms exist: exp(1e4) is inf in float32 and float64."""
    x = np.array([-1e4, 1e4], dtype=np.float32)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        1.0 / (1.0 + np.exp(-x))  # naive sigmoid
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        np.exp(x) / np.exp(x).sum()  # naive softmax
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        np.log1p(np.exp(x))  # naive softplus
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        np.where(x > 0, x, np.exp(x) - 1)  # naive ELU: where evaluates both branches
    with np.errstate(over="raise", invalid="raise"):
        assert np.isfinite(sigmoid(Tensor(x)).data).all()
        assert np.isfinite(softmax(Tensor(x)).data).all()
        assert np.isfinite(softplus(Tensor(x)).data).all()
        assert np.isfinite(elu(Tensor(x)).data).all()


def test_softmax_of_rows_mixing_huge_and_tiny_logits() -> None:
    x = np.array([[1e4, -1e4, 1e4], [-1e4, -1e4, -1e4]], dtype=np.float32)
    layer = Softmax(dim=-1)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = layer(Tensor(x)).data
        grad = layer.backward(Tensor(np.ones_like(x))).data
    assert_close(y, [[0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)
    assert_close(grad, np.zeros_like(x), atol=1e-7)
