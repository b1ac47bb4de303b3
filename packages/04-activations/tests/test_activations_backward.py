"""Hand-written backward beyond the table (test_activations_table.py): the derivative at each
kink as PyTorch defines it, softmax over every dim, a backward needs a forward, chains of layers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings

import tinytorch.activations as A
from tinytorch.activations import ELU, SELU, LogSoftmax, SiLU, Softmax, Tanh, ops
from tinytorch.layers import Linear, Module, Parameter
from tinytorch.setup.strategies import arrays, shapes
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor

MODULES = sorted(
    (
        value
        for value in vars(A).values()
        if isinstance(value, type) and issubclass(value, A.Activation) and value is not A.Activation
    ),
    key=lambda cls: cls.__name__,
)


def derivative(op: ops.ActivationOp, x: list[float]) -> list[float]:
    """The Op's local derivative at each point: backward of dL/dy = 1 after forward(x)."""
    values = np.array(x)
    op.forward(values)
    (grad,) = op.backward(np.ones_like(values), (True,))
    return grad.tolist()


def test_derivatives_at_the_kinks_follow_pytorch() -> None:
    """PyTorch's values (torch 2.13, float64) where the derivative is a convention."""
    assert derivative(ops.ReLUOp(), [0.0]) == [0.0]
    assert derivative(ops.LeakyReLUOp(0.2), [0.0]) == [0.2]
    assert derivative(ops.ReLU6Op(), [0.0, 6.0, 3.0]) == [0.0, 0.0, 1.0]
    assert derivative(ops.HardtanhOp(), [-1.0, 1.0, 0.0]) == [0.0, 0.0, 1.0]
    assert derivative(ops.HardtanhOp(-2.0, 3.0), [-2.0, 3.0]) == [0.0, 0.0]
    assert derivative(ops.HardswishOp(), [-3.0, 3.0, 0.0]) == [0.0, 1.0, 0.5]
    assert derivative(ops.HardsigmoidOp(), [-3.0, 3.0, 0.0]) == [0.0, 0.0, 1 / 6]
    assert derivative(ops.ELUOp(2.0), [0.0]) == [2.0]  # alpha, from the x <= 0 side
    assert derivative(ops.ELUOp(-0.5), [0.0]) == [-0.5]
    assert derivative(ops.SELUOp(), [0.0]) == [
        1.0507009873554804934193349852946 * 1.6732632423543772848170429916717
    ]
    assert derivative(ops.SoftplusOp(), [20.0 + 1e-9])[0] == 1.0  # linear above the threshold
    assert derivative(ops.SoftplusOp(), [20.0])[0] < 1.0  # sigmoid(20) at the threshold


def test_derivatives_at_zero_of_the_smooth_activations() -> None:
    assert derivative(ops.SigmoidOp(), [0.0]) == [0.25]
    assert derivative(ops.TanhOp(), [0.0]) == [1.0]
    assert derivative(ops.GELUOp(), [0.0]) == [0.5]
    assert derivative(ops.GELUOp("tanh"), [0.0]) == [0.5]
    assert derivative(ops.SiLUOp(), [0.0]) == [0.5]
    assert derivative(ops.SoftplusOp(), [0.0]) == [0.5]
    assert derivative(ops.SoftplusOp(beta=3.0), [0.0]) == [0.5]
    assert derivative(ops.LogSigmoidOp(), [0.0]) == [0.5]
    assert_close(derivative(ops.MishOp(), [0.0]), [0.6], rtol=1e-15)  # tanh(log 2) = 0.6


def test_output_saving_derivatives_need_only_the_output() -> None:
    """The lesson behind "saves the output": given y alone, these Ops differentiate."""
    x = np.array([-1.5, -0.2, 0.3, 2.0, 7.0])
    g = np.array([1.0, -2.0, 0.5, 3.0, -1.0])
    for make in (ops.ReLUOp, ops.SigmoidOp, ops.TanhOp, ops.ELUOp, ops.SELUOp, ops.ReLU6Op):
        reference = make()
        y = reference.forward(x)
        (expected,) = reference.backward(g, (True,))
        fresh = make()
        fresh.save_for_backward(y.copy())  # no forward: only the output
        assert np.array_equal(fresh.backward(g, (True,))[0], expected), make


@pytest.mark.parametrize("module", [Softmax, LogSoftmax])
@pytest.mark.parametrize("dim", [0, 1, -1])
@settings(max_examples=15, deadline=None)
@given(x=arrays(shapes(min_dims=3, max_dims=3, max_side=4), np.float64, -8.0, 8.0))
def test_softmax_backward_over_each_dim_of_3d_inputs(module, dim: int, x: np.ndarray) -> None:
    def forward(a: np.ndarray) -> np.ndarray:
        return module(dim=dim)(Tensor(a, dtype=np.float64)).data

    def backward(a: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        layer = module(dim=dim)
        layer(Tensor(a, dtype=np.float64))
        return [layer.backward(Tensor(g, dtype=np.float64)).data]

    gradcheck(forward, [x], backward, rtol=1e-5)


def test_softmax_backward_of_a_constant_direction_is_zero() -> None:
    """Adding c to every logit leaves softmax unchanged, so dL/dx sums to 0 along dim."""
    op = ops.SoftmaxOp()
    op.forward(np.array([[0.1, 2.0, -1.0], [3.0, 3.0, 3.0]]))
    (grad,) = op.backward(np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 1.0]]), (True,))
    assert_close(grad.sum(axis=-1), np.zeros(2), atol=1e-15)


@pytest.mark.parametrize("make", MODULES, ids=lambda cls: cls.__name__)
def test_backward_before_forward_is_an_error(make: Callable[[], Module]) -> None:
    with pytest.raises(RuntimeError, match=r"\.backward: call forward first"):
        make().backward(Tensor(np.ones(3, dtype=np.float32)))


@pytest.mark.parametrize("make", MODULES, ids=lambda cls: cls.__name__)
def test_a_second_backward_needs_a_new_forward(make: Callable[[], Module]) -> None:
    layer = make()
    layer(Tensor(np.linspace(-2, 2, 4, dtype=np.float32)))
    layer.backward(Tensor(np.ones(4, dtype=np.float32)))
    with pytest.raises(RuntimeError, match="call forward first"):
        layer.backward(Tensor(np.ones(4, dtype=np.float32)))


def test_backward_with_a_grad_of_the_wrong_shape_is_an_error() -> None:
    layer = SiLU()
    layer(Tensor(np.zeros((2, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"SiLU.backward: grad_output has shape \(3, 2\)"):
        layer.backward(Tensor(np.ones((3, 2), dtype=np.float32)))


def test_chain_of_linear_and_activation_layers_backpropagates() -> None:
    """Linear -> Tanh -> Linear -> SiLU -> Linear -> ELU -> Linear -> SELU -> LogSoftmax, each
    backward by hand, against finite differences of the whole chain."""
    rng = np.random.default_rng(0)
    linears = [Linear(4, 5, rng=rng), Linear(5, 5, rng=rng), Linear(5, 5, rng=rng)]
    linears.append(Linear(5, 3, rng=rng))
    for layer in linears:
        layer.weight = Parameter(layer.weight.data, dtype=np.float64)
        layer.bias = Parameter(layer.bias.data, dtype=np.float64)  # type: ignore[union-attr]
    first, second, third, fourth = linears
    chain: list[Module] = [first, Tanh(), second, SiLU(), third, ELU(), fourth, SELU()]
    chain.append(LogSoftmax(dim=-1))

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
