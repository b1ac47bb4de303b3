"""Forward behaviour beyond the table (test_activations_table.py): softmax slices, erf, GELU's
two forms, options and their validation, integer inputs, reprs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from tinytorch.activations import (
    ELU,
    GELU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    elu,
    erf,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    ops,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
)
from tinytorch.setup.strategies import arrays, shapes
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor

erf_oracle = np.vectorize(math.erf, otypes=[np.float64])


def np_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


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
# erf lives in tinytorch.tensor.special (module 02); these test it through 04's re-export,
# which the exact GELU relies on.
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
def test_sigmoid_on_a_python_int_list_raises() -> None:
    with pytest.raises(TypeError, match=r"sigmoid: .*int64"):
        sigmoid([1, 2, 3])  # type: ignore[arg-type]


# --------------------------------------------------------------------- Ops and the dispatch point
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


# --------------------------------------------------------------------- the newer activations
def test_known_values() -> None:
    x = Tensor(np.array([-2.0, 0.0, 1.0]), dtype=np.float64)
    e = math.exp
    assert_close(silu(x), [-2 / (1 + e(2)), 0.0, 1 / (1 + e(-1))], rtol=1e-15)
    assert_close(elu(x), [e(-2) - 1, 0.0, 1.0], rtol=1e-15)
    assert_close(elu(x, alpha=0.5), [0.5 * (e(-2) - 1), 0.0, 1.0], rtol=1e-15)
    scale, alpha = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
    assert_close(selu(x), [scale * alpha * (e(-2) - 1), 0.0, scale], rtol=1e-15)
    assert_close(softplus(x), [math.log1p(e(-2)), math.log(2.0), math.log1p(e(1))], rtol=1e-15)
    assert_close(logsigmoid(x), [-math.log1p(e(2)), -math.log(2.0), -math.log1p(e(-1))])
    assert_close(mish(x), [-2 * math.tanh(math.log1p(e(-2))), 0.0, math.tanh(math.log1p(e(1)))])
    assert hardswish(x).data.tolist() == [-2 / 6, 0.0, 4 / 6]
    assert hardsigmoid(x).data.tolist() == [1 / 6, 0.5, 4 / 6]
    assert relu6(Tensor([-1.0, 3.0, 7.0])).data.tolist() == [0.0, 3.0, 6.0]
    assert hardtanh(Tensor([-3.0, 0.5, 3.0])).data.tolist() == [-1.0, 0.5, 1.0]
    assert hardtanh(Tensor([-3.0, 0.5, 3.0]), -2.0, 2.5).data.tolist() == [-2.0, 0.5, 2.5]


def test_softplus_is_linear_above_the_threshold() -> None:
    x = Tensor(np.array([19.0, 20.0, 20.5, 30.0]), dtype=np.float64)
    y = softplus(x).data
    assert y[2:].tolist() == [20.5, 30.0]  # beta * x > threshold: x itself
    assert y[0] > 19.0 and y[1] > 20.0  # at the threshold itself: still log(1 + exp(x))
    assert softplus(Tensor([3.0]), beta=2.0, threshold=5.0).data.tolist() == [3.0]
    assert_close(softplus(Tensor([2.0]), beta=2.0, threshold=5.0), [math.log1p(math.exp(4)) / 2])
    assert softplus(Tensor([-30.0]), beta=-1.0).data.tolist() == [-30.0]  # -1 * -30 > 20


def test_logsigmoid_is_finite_where_log_of_sigmoid_is_not() -> None:
    x = Tensor(np.array([-200.0, 0.0], dtype=np.float32))
    assert sigmoid(x).data[0] == 0.0  # exp(-200) underflows float32
    assert_close(logsigmoid(x), [-200.0, -math.log(2.0)], rtol=1e-6)


def test_selu_keeps_unit_variance() -> None:
    """SELU's constants make N(0, 1) inputs come out with mean ~0 and variance ~1."""
    z = Tensor(np.random.default_rng(0).standard_normal(200_000), dtype=np.float64)
    y = selu(z).data
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1.0) < 0.01
    assert abs(elu(z).data.var() - 1.0) > 0.1  # plain ELU does not


def test_hardswish_and_hardsigmoid_approximate_silu_and_sigmoid() -> None:
    x = Tensor(np.linspace(-8, 8, 1601), dtype=np.float64)
    assert np.abs(hardsigmoid(x).data - sigmoid(x).data).max() < 0.1
    assert np.abs(hardswish(x).data - silu(x).data).max() < 0.15
    assert np.array_equal(hardswish(x).data, x.data * hardsigmoid(x).data)


def test_relu6_and_hardtanh_keep_integer_dtypes_and_truncate_float_bounds() -> None:
    ints = Tensor(np.array([-3, 0, 4, 9], dtype=np.int32))
    assert relu6(ints).dtype == np.int32 and relu6(ints).data.tolist() == [0, 0, 4, 6]
    assert hardtanh(ints, -1.5, 1.5).data.tolist() == [-1, 0, 1, 1]  # as torch.clamp
    with pytest.raises(TypeError, match="hardtanh: expected a numeric tensor, got dtype bool"):
        hardtanh(Tensor(np.array([True, False])))


def test_option_errors_name_the_op_the_values_and_the_fix() -> None:
    with pytest.raises(ValueError, match=r"hardtanh: min_val \(2.0\) cannot be greater than max"):
        hardtanh(Tensor([0.0]), 2.0, -2.0)
    assert hardtanh(Tensor([0.0, 5.0]), 1.0, 1.0).data.tolist() == [1.0, 1.0]  # allowed
    with pytest.raises(ValueError, match=r"Hardtanh: max_val \(1.0\) must be greater than min"):
        Hardtanh(1.0, 1.0)  # the layer, as PyTorch's, wants max_val > min_val
    with pytest.raises(ValueError, match="softplus: beta must be nonzero, got 0"):
        softplus(Tensor([1.0]), beta=0)
    with pytest.raises(ValueError, match=r"beta=1\.0"):
        Softplus(beta=0.0)


def test_new_module_reprs() -> None:
    assert repr(SiLU()) == "SiLU()" and repr(SiLU(inplace=True)) == "SiLU(inplace=True)"
    assert (
        repr(ELU()) == "ELU(alpha=1.0)" and repr(ELU(2.0, True)) == "ELU(alpha=2.0, inplace=True)"
    )
    assert repr(SELU()) == "SELU()" and repr(Mish()) == "Mish()" and repr(ReLU6()) == "ReLU6()"
    assert repr(Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    assert repr(Hardswish(inplace=True)) == "Hardswish()"  # as PyTorch's repr
    assert repr(Hardsigmoid()) == "Hardsigmoid()" and repr(LogSigmoid()) == "LogSigmoid()"
    assert repr(LeakyReLU(0.2, inplace=True)) == "LeakyReLU(negative_slope=0.2, inplace=True)"
    assert repr(ops.ELUOp(0.5)) == "ELUOp(alpha=0.5)" and repr(ops.SELUOp()) == "SELUOp()"
    assert repr(ops.HardtanhOp(-2, 3)) == "HardtanhOp(min_val=-2, max_val=3)"
    assert repr(ops.SoftplusOp(2)) == "SoftplusOp(beta=2.0, threshold=20.0)"
    assert repr(ops.ReLU6Op()) == "ReLU6Op()"


def test_log1pexp_is_exact_where_the_naive_form_fails() -> None:
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    y = ops.log1pexp(x)
    assert y[0] == 0.0 and y[-1] == 800.0  # log(1 + exp(800)) overflows; this does not
    assert_close(y[1:4], [math.exp(-40.0), math.log(2.0), 40.0 + math.exp(-40.0)], rtol=1e-15)
    with np.errstate(over="ignore"):
        assert np.isinf(np.log(1 + np.exp(x[-1])))
    assert ops.log1pexp(x.astype(np.float32)).dtype == np.float32
