"""Numerical stability: no overflow, NaN or inf for inputs of +-1e4 (and beyond), forward and back.

Each check runs under ``np.errstate(over/invalid/divide="raise")``, so an overflowing exp fails
here even outside the repository's pytest configuration (which turns RuntimeWarning into errors).
Underflow (exp(-1e4) == 0) is expected and harmless.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.activations import (
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    gelu,
    log_softmax,
    sigmoid,
    softmax,
    tanh,
)
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor

MODULES = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "gelu": GELU,
    "gelu_tanh": lambda: GELU("tanh"),
    "softmax": Softmax,
    "log_softmax": LogSoftmax,
}
EXTREMES = [-1e4, -1000.0, -100.0, -1.0, 0.0, 1.0, 100.0, 1000.0, 1e4]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("scale", [1.0, 1e20])
def test_outputs_and_gradients_are_finite_at_extremes(name: str, dtype, scale: float) -> None:
    x = Tensor(np.array(EXTREMES, dtype=dtype) * scale, dtype=dtype)
    g = Tensor(np.random.default_rng(0).standard_normal(x.shape).astype(dtype), dtype=dtype)
    layer = MODULES[name]()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = layer(x)
        grad = layer.backward(g)
    assert y.dtype == dtype and grad.dtype == dtype
    assert np.isfinite(y.data).all(), y
    assert np.isfinite(grad.data).all(), grad


def test_values_at_plus_minus_1e4() -> None:
    x = Tensor(np.array([-1e4, 0.0, 1e4], dtype=np.float32))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert sigmoid(x).data.tolist() == [0.0, 0.5, 1.0]
        assert tanh(x).data.tolist() == [-1.0, 0.0, 1.0]
        assert gelu(x).data.tolist() == [0.0, 0.0, 1e4]
        assert gelu(x, "tanh").data.tolist() == [0.0, 0.0, 1e4]
        assert_close(softmax(x), [0.0, 0.0, 1.0])
        assert_close(log_softmax(x), [-2e4, -1e4, 0.0])


def test_saturated_gradients_are_zero_not_nan() -> None:
    x = Tensor(np.array([-1e4, 1e4], dtype=np.float32))
    for layer in (Sigmoid(), Tanh(), GELU(), GELU("tanh")):
        layer(x)
        grad = layer.backward(Tensor(np.ones(2, dtype=np.float32))).data
        assert np.isfinite(grad).all(), layer
    gelu_layer = GELU()
    gelu_layer(x)
    assert gelu_layer.backward(Tensor(np.ones(2, dtype=np.float32))).data.tolist() == [0.0, 1.0]


def test_the_naive_formulas_overflow_where_ours_do_not() -> None:
    """Why the stable forms exist: exp(1e4) is inf in float32 and float64."""
    x = np.array([-1e4, 1e4], dtype=np.float32)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        1.0 / (1.0 + np.exp(-x))  # naive sigmoid
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        np.exp(x) / np.exp(x).sum()  # naive softmax
    with np.errstate(over="raise", invalid="raise"):
        assert np.isfinite(sigmoid(Tensor(x)).data).all()
        assert np.isfinite(softmax(Tensor(x)).data).all()


def test_softmax_of_rows_mixing_huge_and_tiny_logits() -> None:
    x = np.array([[1e4, -1e4, 1e4], [-1e4, -1e4, -1e4]], dtype=np.float32)
    layer = Softmax(dim=-1)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = layer(Tensor(x)).data
        grad = layer.backward(Tensor(np.ones_like(x))).data
    assert_close(y, [[0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)
    assert_close(grad, np.zeros_like(x), atol=1e-7)
