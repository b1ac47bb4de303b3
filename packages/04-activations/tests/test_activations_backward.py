"""Hand-written backward: finite-difference gradcheck in float64, Module and Op paths agreeing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.activations import (
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    gelu_backward,
    leaky_relu_backward,
    log_softmax_backward,
    ops,
    relu_backward,
    sigmoid_backward,
    softmax_backward,
    tanh_backward,
)
from tinytorch.layers import Linear, Module, Parameter
from tinytorch.setup.strategies import arrays, shapes
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor

# name -> (Module factory, Op factory, backward function with the options bound)
CASES: dict[str, tuple[Callable[[], Module], Callable[[], ops.ActivationOp], Callable]] = {
    "relu": (ReLU, ops.ReLUOp, relu_backward),
    "leaky_relu": (
        lambda: LeakyReLU(0.1),
        lambda: ops.LeakyReLUOp(0.1),
        lambda x, y, g: leaky_relu_backward(x, y, g, 0.1),
    ),
    "sigmoid": (Sigmoid, ops.SigmoidOp, sigmoid_backward),
    "tanh": (Tanh, ops.TanhOp, tanh_backward),
    "gelu": (GELU, ops.GELUOp, gelu_backward),
    "gelu_tanh": (
        lambda: GELU("tanh"),
        lambda: ops.GELUOp("tanh"),
        lambda x, y, g: gelu_backward(x, y, g, "tanh"),
    ),
    "softmax": (Softmax, ops.SoftmaxOp, softmax_backward),
    "log_softmax": (LogSoftmax, ops.LogSoftmaxOp, log_softmax_backward),
}


def away_from_kinks(x: np.ndarray) -> np.ndarray:
    """Move values off 0, where ReLU and LeakyReLU have no derivative for finite differences."""
    return np.where(np.abs(x) < 1e-3, 0.5, x)


def module_fn(make: Callable[[], Module]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: make()(Tensor(x, dtype=np.float64)).data


def module_grad_fn(make: Callable[[], Module]) -> Callable[..., list[np.ndarray]]:
    def grad_fn(x: np.ndarray, grad_output: np.ndarray) -> list[np.ndarray]:
        layer = make()
        layer(Tensor(x, dtype=np.float64))
        grad = layer.backward(Tensor(grad_output, dtype=np.float64))
        assert grad.dtype == np.float64 and grad.shape == x.shape
        return [grad.data]

    return grad_fn


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=25, deadline=None)
@given(x=arrays(shapes(min_dims=0, max_dims=3, max_side=4), np.float64, -6.0, 6.0))
def test_module_backward_matches_finite_differences(name: str, x: np.ndarray) -> None:
    make_module, _, _ = CASES[name]
    x = away_from_kinks(x)
    gradcheck(module_fn(make_module), [x], module_grad_fn(make_module), rtol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=25, deadline=None)
@given(x=arrays(shapes(min_dims=1, max_dims=3, max_side=4), np.float64, -6.0, 6.0))
def test_backward_function_matches_finite_differences(name: str, x: np.ndarray) -> None:
    _, make_op, backward = CASES[name]
    x = away_from_kinks(x)

    def grad_fn(a: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        return [backward(a, make_op().forward(a), g)]

    gradcheck(lambda a: make_op().forward(a), [x], grad_fn, rtol=1e-5)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@settings(max_examples=25, deadline=None)
@given(x=arrays(shapes(min_dims=1, max_dims=2, max_side=5), np.float64, -12.0, 12.0))
def test_gelu_backward_over_a_wide_range(approximate: str, x: np.ndarray) -> None:
    make = lambda: GELU(approximate)  # noqa: E731
    gradcheck(module_fn(make), [x], module_grad_fn(make), rtol=1e-5)


@pytest.mark.parametrize("module", [Softmax, LogSoftmax])
@pytest.mark.parametrize("dim", [0, 1, -1])
@settings(max_examples=15, deadline=None)
@given(x=arrays(shapes(min_dims=3, max_dims=3, max_side=4), np.float64, -8.0, 8.0))
def test_softmax_backward_over_each_dim_of_3d_inputs(module, dim: int, x: np.ndarray) -> None:
    make = lambda: module(dim=dim)  # noqa: E731
    gradcheck(module_fn(make), [x], module_grad_fn(make), rtol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=20, deadline=None)
@given(
    x=arrays(shapes(min_dims=1, max_dims=3), np.float32),
    seed=st.integers(0, 2**16),
)
def test_module_backward_equals_the_op_vjp(name: str, x: np.ndarray, seed: int) -> None:
    """The Module's manual backward and the Op's vjp (autograd's hook) give identical arrays."""
    make_module, make_op, _ = CASES[name]
    g = np.random.default_rng(seed).standard_normal(x.shape).astype(np.float32)
    layer = make_module()
    y = layer(Tensor(x))
    grad = layer.backward(Tensor(g))
    assert grad.dtype == np.float32
    assert np.array_equal(grad.data, make_op().vjp(x, y.data, g))


def test_derivatives_at_zero_follow_pytorch() -> None:
    x, g = np.zeros(2), np.ones(2)
    assert relu_backward(x, np.maximum(x, 0), g).tolist() == [0.0, 0.0]
    assert leaky_relu_backward(x, None, g, 0.2).tolist() == [0.2, 0.2]
    assert sigmoid_backward(None, np.full(2, 0.5), g).tolist() == [0.25, 0.25]
    assert tanh_backward(None, np.zeros(2), g).tolist() == [1.0, 1.0]
    assert gelu_backward(x, None, g).tolist() == [0.5, 0.5]
    assert gelu_backward(x, None, g, "tanh").tolist() == [0.5, 0.5]


def test_backward_functions_read_only_what_they_document() -> None:
    """Output-based rules work without x; input-based rules without y (the memory lesson)."""
    x = np.array([-1.5, 0.3, 2.0])
    g = np.array([1.0, -2.0, 0.5])
    for make_op, backward in [
        (ops.ReLUOp, relu_backward),
        (ops.SigmoidOp, sigmoid_backward),
        (ops.TanhOp, tanh_backward),
        (ops.SoftmaxOp, softmax_backward),
        (ops.LogSoftmaxOp, log_softmax_backward),
    ]:
        y = make_op().forward(x)
        assert np.array_equal(backward(None, y, g), backward(x, y, g))
    for make_op, backward in [(ops.LeakyReLUOp, leaky_relu_backward), (ops.GELUOp, gelu_backward)]:
        y = make_op().forward(x)
        assert np.array_equal(backward(x, None, g), backward(x, y, g))


def test_softmax_backward_of_a_constant_direction_is_zero() -> None:
    """Adding c to every logit leaves softmax unchanged, so dL/dx sums to 0 along dim."""
    y = ops.SoftmaxOp().forward(np.array([[0.1, 2.0, -1.0], [3.0, 3.0, 3.0]]))
    grad = softmax_backward(None, y, np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 1.0]]))
    assert_close(grad.sum(axis=-1), np.zeros(2), atol=1e-15)


@pytest.mark.parametrize("make", [ReLU, Sigmoid, Tanh, GELU, LeakyReLU, Softmax, LogSoftmax])
def test_backward_before_forward_is_an_error(make: Callable[[], Module]) -> None:
    with pytest.raises(RuntimeError, match=r"\.backward: call forward first"):
        make().backward(Tensor(np.ones(3, dtype=np.float32)))


def test_backward_with_a_grad_of_the_wrong_shape_is_an_error() -> None:
    layer = Sigmoid()
    layer(Tensor(np.zeros((2, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"Sigmoid.backward: grad_output has shape \(3, 2\)"):
        layer.backward(Tensor(np.ones((3, 2), dtype=np.float32)))


def test_chain_of_linear_and_activation_layers_backpropagates() -> None:
    """Linear -> Tanh -> Linear -> LogSoftmax, backward by hand, against finite differences."""
    rng = np.random.default_rng(0)
    first, second = Linear(4, 5, rng=rng), Linear(5, 3, rng=rng)
    for layer in (first, second):
        layer.weight = Parameter(layer.weight.data, dtype=np.float64)
        layer.bias = Parameter(layer.bias.data, dtype=np.float64)  # type: ignore[union-attr]
    chain: list[Module] = [first, Tanh(), second, LogSoftmax(dim=-1)]

    def forward(x: np.ndarray) -> np.ndarray:
        h = Tensor(x, dtype=np.float64)
        for layer in chain:
            h = layer(h)
        return h.data

    def backward(x: np.ndarray, grad_output: np.ndarray) -> list[np.ndarray]:
        forward(x)
        grad = Tensor(grad_output, dtype=np.float64)
        for layer in reversed(chain):
            grad = layer.backward(grad)
        return [grad.data]

    gradcheck(forward, [rng.standard_normal((6, 4))], backward, rtol=1e-5)
