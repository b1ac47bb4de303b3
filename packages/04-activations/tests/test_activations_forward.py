"""Forward values against NumPy formulas, dtypes, options, errors and the dispatch point."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from tinytorch.activations import (
    ACTIVATION_OPS,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    erf,
    gelu,
    leaky_relu,
    log_softmax,
    ops,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from tinytorch.setup.strategies import arrays, shapes
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor, dispatch

erf_oracle = np.vectorize(math.erf, otypes=[np.float64])


def np_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# Reference formulas in float64, written the obvious way (safe for |x| <= 10).
REFERENCES = {
    "relu": (relu, lambda x: np.maximum(x, 0.0)),
    "leaky_relu": (leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x)),
    "sigmoid": (sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x))),
    "tanh": (tanh, np.tanh),
    "gelu": (gelu, lambda x: 0.5 * x * (1.0 + erf_oracle(x / math.sqrt(2.0)))),
    "gelu_tanh": (
        lambda t: gelu(t, approximate="tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    ),
    "softmax": (softmax, lambda x: np_softmax(x, -1)),
    "log_softmax": (log_softmax, lambda x: np.log(np_softmax(x, -1))),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
@settings(max_examples=30, deadline=None)
@given(x=arrays(shapes(min_dims=1, max_dims=3), np.float64))
def test_float64_forward_matches_reference(name: str, x: np.ndarray) -> None:
    function, reference = REFERENCES[name]
    y = function(Tensor(x, dtype=np.float64))
    assert y.dtype == np.float64 and y.shape == x.shape
    assert_close(y, reference(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(REFERENCES))
@settings(max_examples=30, deadline=None)
@given(x=arrays(shapes(min_dims=1, max_dims=3), np.float32))
def test_float32_forward_matches_reference_and_stays_float32(name: str, x: np.ndarray) -> None:
    function, reference = REFERENCES[name]
    y = function(Tensor(x))
    assert y.dtype == np.float32 and y.shape == x.shape
    assert_close(y, reference(x.astype(np.float64)), rtol=2e-6, atol=1e-6)


def test_modules_compute_the_functions() -> None:
    x = Tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32))
    pairs = [
        (ReLU(), relu(x)),
        (LeakyReLU(0.2), leaky_relu(x, 0.2)),
        (Sigmoid(), sigmoid(x)),
        (Tanh(), tanh(x)),
        (GELU(), gelu(x)),
        (GELU("tanh"), gelu(x, "tanh")),
        (Softmax(dim=0), softmax(x, dim=0)),
        (LogSoftmax(dim=0), log_softmax(x, dim=0)),
    ]
    for module, expected in pairs:
        assert np.array_equal(module(x).data, expected.data), module
        assert list(module.parameters()) == []


def test_float16_is_kept() -> None:
    x = Tensor(np.array([-2.0, 0.0, 2.0], dtype=np.float16))
    for function in (relu, leaky_relu, sigmoid, tanh, gelu, softmax, log_softmax):
        assert function(x).dtype == np.float16, function


# --------------------------------------------------------------------- Softmax / LogSoftmax
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2])
@settings(max_examples=20, deadline=None)
@given(x=arrays(shapes(min_dims=3, max_dims=3), np.float32, -30.0, 30.0))
def test_softmax_slices_are_probabilities(dim: int, x: np.ndarray) -> None:
    y = softmax(Tensor(x), dim=dim).data
    assert ((y >= 0) & (y <= 1)).all()
    assert_close(y.sum(axis=dim), np.ones(np.delete(x.shape, dim % 3)), rtol=1e-5, atol=1e-6)
    assert_close(y, np_softmax(x.astype(np.float64), dim), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dim", [0, 1, -1])
@settings(max_examples=20, deadline=None)
@given(x=arrays(shapes(min_dims=3, max_dims=3), np.float64, -30.0, 30.0))
def test_log_softmax_is_log_of_softmax(dim: int, x: np.ndarray) -> None:
    y = log_softmax(Tensor(x, dtype=np.float64), dim=dim).data
    p = softmax(Tensor(x, dtype=np.float64), dim=dim).data
    assert (y <= 0).all()
    finite = p > 0
    assert_close(y[finite], np.log(p[finite]), rtol=1e-10, atol=1e-12)
    assert_close(np.exp(y).sum(axis=dim), np.ones(np.delete(x.shape, dim % 3)), rtol=1e-12)


def test_softmax_is_shift_invariant_and_log_softmax_stays_finite_where_softmax_underflows() -> None:
    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    assert_close(softmax(Tensor(x + 1000)), softmax(Tensor(x)), rtol=1e-6)
    far = Tensor(np.array([0.0, -200.0], dtype=np.float32))
    assert softmax(far).data[1] == 0.0  # exp(-200) underflows float32
    assert_close(log_softmax(far), [0.0, -200.0], rtol=1e-6)  # log of it does not


def test_softmax_of_a_scalar_and_of_an_empty_tensor() -> None:
    assert softmax(Tensor(np.float32(3.0))).item() == 1.0
    assert log_softmax(Tensor(np.float32(3.0))).item() == 0.0
    empty = Tensor(np.zeros((2, 0), dtype=np.float32))
    assert softmax(empty).shape == (2, 0) and log_softmax(empty).shape == (2, 0)


def test_softmax_dim_out_of_range_names_the_op() -> None:
    with pytest.raises(IndexError, match="softmax: dim 2 is out of range"):
        softmax(Tensor(np.ones((2, 3), dtype=np.float32)), dim=2)
    with pytest.raises(IndexError, match="log_softmax"):
        LogSoftmax(dim=-3)(Tensor(np.ones((2, 3), dtype=np.float32)))


# --------------------------------------------------------------------- erf and GELU
def test_erf_float64_matches_math_erf() -> None:
    x = np.concatenate([np.linspace(-12, 12, 20001), [0.0, 1e-300, 2.0, -2.0, 6.0, 1e4, -1e4]])
    assert_close(erf(x), erf_oracle(x), rtol=0, atol=2e-15)
    assert erf(np.array(0.0)) == 0.0 and erf(np.array(30.0)) == 1.0
    assert_close(erf(-x), -erf(x), rtol=0, atol=0)  # odd


def test_erf_float32_is_abramowitz_stegun_accurate() -> None:
    x = np.linspace(-8, 8, 20001, dtype=np.float32)
    y = erf(x)
    assert y.dtype == np.float32
    assert_close(y, erf_oracle(x.astype(np.float64)), rtol=0, atol=6e-7)


def test_erf_refuses_integers() -> None:
    with pytest.raises(TypeError, match=r"erf: .*int64.*astype\(np.float32\)"):
        erf(np.arange(3))


def test_gelu_tanh_is_close_to_exact_gelu() -> None:
    x = Tensor(np.linspace(-8, 8, 4001), dtype=np.float64)
    difference = np.abs(gelu(x, "tanh").data - gelu(x).data)
    assert difference.max() < 5e-4  # the known maximum is 4.7e-4, near x = -2.7
    assert difference.max() > 1e-4  # and they are not the same function


def test_gelu_known_values() -> None:
    x = Tensor(np.array([-1.0, 0.0, 1.0, 3.0]), dtype=np.float64)
    cdf = 0.5 * (1 + erf_oracle(np.array([-1.0, 0.0, 1.0, 3.0]) / math.sqrt(2)))
    assert_close(gelu(x), [-1.0 * cdf[0], 0.0, cdf[2], 3.0 * cdf[3]], rtol=1e-14)
    assert_close(gelu(x).data[2], 0.8413447460685429, rtol=1e-14)  # Phi(1)


def test_gelu_rejects_an_unknown_approximation() -> None:
    with pytest.raises(ValueError, match=r"approximate must be one of \('none', 'tanh'\)"):
        GELU("exact")
    with pytest.raises(ValueError, match="'erf'"):
        gelu(Tensor([1.0]), approximate="erf")


# --------------------------------------------------------------------- LeakyReLU and ReLU
def test_leaky_relu_slope() -> None:
    x = Tensor(np.array([-2.0, -0.5, 0.0, 3.0], dtype=np.float32))
    assert_close(leaky_relu(x), [-0.02, -0.005, 0.0, 3.0], rtol=1e-6)
    assert_close(leaky_relu(x, negative_slope=0.2), [-0.4, -0.1, 0.0, 3.0], rtol=1e-6)
    assert_close(LeakyReLU(negative_slope=0.5)(x), [-1.0, -0.25, 0.0, 3.0], rtol=1e-6)
    assert np.array_equal(leaky_relu(x, 0.0).data, relu(x).data)
    assert repr(LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"


def test_relu_keeps_integer_dtypes() -> None:
    y = relu(Tensor(np.array([-3, 0, 4], dtype=np.int64)))
    assert y.dtype == np.int64 and y.data.tolist() == [0, 0, 4]
    assert relu(Tensor(np.array([-3, 4], dtype=np.int8))).dtype == np.int8


def test_relu_refuses_bool() -> None:
    with pytest.raises(TypeError, match="relu: expected a numeric tensor, got dtype bool"):
        relu(Tensor(np.array([True, False])))


# --------------------------------------------------------------------- integer input
FLOAT_ONLY = [
    ("sigmoid", sigmoid),
    ("tanh", tanh),
    ("gelu", gelu),
    ("leaky_relu", leaky_relu),
    ("softmax", softmax),
    ("log_softmax", log_softmax),
    ("sigmoid", Sigmoid()),
    ("gelu", GELU()),
    ("softmax", Softmax()),
]


@pytest.mark.parametrize(("name", "function"), FLOAT_ONLY)
def test_integer_input_raises_an_error_that_names_the_problem(name: str, function) -> None:
    x = Tensor(np.array([1, 2, 3], dtype=np.int64))
    with pytest.raises(TypeError) as info:
        function(x)
    message = str(info.value)
    assert message.startswith(f"{name}: expected a floating-point tensor, got dtype int64")
    assert "x.astype(np.float32)" in message


def test_sigmoid_on_a_python_int_list_raises() -> None:
    with pytest.raises(TypeError, match=r"sigmoid: .*int64"):
        sigmoid([1, 2, 3])  # type: ignore[arg-type]


# --------------------------------------------------------------------- Ops and the dispatch point
def test_every_activation_runs_through_apply_with_its_options(monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(dispatch.hooks, "recorder", lambda op, inputs, out: seen.append(op))
    x = Tensor(np.ones((2, 3), dtype=np.float32))
    relu(x)
    leaky_relu(x, 0.3)
    sigmoid(x)
    tanh(x)
    gelu(x, "tanh")
    softmax(x, dim=0)
    log_softmax(x, dim=1)
    assert [type(op) for op in seen] == list(ACTIVATION_OPS)
    assert seen[1].negative_slope == 0.3
    assert seen[4].approximate == "tanh"
    assert seen[5].dim == 0 and seen[6].dim == 1
    assert [op.name for op in seen] == [
        "relu",
        "leaky_relu",
        "sigmoid",
        "tanh",
        "gelu",
        "softmax",
        "log_softmax",
    ]


def test_ops_forward_on_arrays_and_repr() -> None:
    x = np.array([[-1.0, 2.0]])
    assert np.array_equal(ops.ReLUOp().forward(x), [[0.0, 2.0]])
    assert repr(ops.SoftmaxOp(dim=0)) == "SoftmaxOp(dim=0)"
    assert repr(ops.GELUOp("tanh")) == "GELUOp(approximate='tanh')"
    assert repr(ops.LeakyReLUOp(0.1)) == "LeakyReLUOp(negative_slope=0.1)"


def test_module_reprs() -> None:
    assert repr(ReLU()) == "ReLU()" and repr(ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(Tanh()) == "Tanh()" and repr(Sigmoid()) == "Sigmoid()"
    assert repr(GELU()) == "GELU(approximate='none')"
    assert repr(Softmax()) == "Softmax(dim=-1)" and repr(LogSoftmax(1)) == "LogSoftmax(dim=1)"
