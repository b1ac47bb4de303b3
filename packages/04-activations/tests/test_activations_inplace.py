"""In-place variants: relu_, leaky_relu_, sigmoid_, tanh_ and ReLU(inplace=True)."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.activations import (
    ReLU,
    leaky_relu,
    leaky_relu_,
    relu,
    relu_,
    sigmoid,
    sigmoid_,
    tanh,
    tanh_,
)
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor

PAIRS = [
    ("relu_", relu_, relu),
    ("leaky_relu_", lambda t: leaky_relu_(t, 0.2), lambda t: leaky_relu(t, 0.2)),
    ("sigmoid_", sigmoid_, sigmoid),
    ("tanh_", tanh_, tanh),
]


def sample() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)


@pytest.mark.parametrize(("name", "in_place", "out_of_place"), PAIRS)
def test_in_place_writes_into_x_and_returns_x(name: str, in_place, out_of_place) -> None:
    x = Tensor(sample())
    storage = x.data
    expected = out_of_place(Tensor(sample())).data
    result = in_place(x)
    assert result is x and x.data is storage  # same tensor, same memory
    assert np.array_equal(x.data, expected), name


@pytest.mark.parametrize(("name", "in_place", "out_of_place"), PAIRS)
def test_in_place_is_refused_on_a_tensor_that_requires_grad(
    name: str, in_place, out_of_place
) -> None:
    x = Tensor(sample(), requires_grad=True)
    before = x.data.copy()
    with pytest.raises(RuntimeError, match=f"{name}: .*requires grad.*corrupt the gradients"):
        in_place(x)
    assert np.array_equal(x.data, before)  # nothing was written


def test_in_place_on_a_view_writes_through_to_the_base() -> None:
    base = Tensor(np.array([[-1.0, 2.0], [-3.0, 4.0]], dtype=np.float32))
    relu_(base[1])
    assert base.data.tolist() == [[-1.0, 2.0], [0.0, 4.0]]


def test_in_place_on_a_read_only_broadcast_view_is_refused() -> None:
    view = Tensor(np.array([-1.0, 2.0], dtype=np.float32)).expand(3, 2)
    with pytest.raises(ValueError, match=r"relu_: the storage .* is read-only"):
        relu_(view)


def test_in_place_needs_a_tensor_and_the_right_dtype() -> None:
    with pytest.raises(TypeError, match=r"tanh_: expected a Tensor .*use tanh\(x\)"):
        tanh_(np.zeros(3))  # type: ignore[arg-type]
    ints = Tensor(np.array([-1, 2]))
    with pytest.raises(TypeError, match="sigmoid: expected a floating-point tensor"):
        sigmoid_(ints)
    assert ints.data.tolist() == [-1, 2]
    assert relu_(ints).data.tolist() == [0, 2] and ints.dtype == np.int64


def test_relu_module_in_place_shares_memory_and_still_backpropagates() -> None:
    x = Tensor(sample())
    reference = ReLU()
    expected_y = reference(Tensor(sample()))
    g = Tensor(np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32))
    expected_grad = reference.backward(g)

    layer = ReLU(inplace=True)
    y = layer(x)
    assert y is x and np.array_equal(y.data, expected_y.data)
    assert_close(layer.backward(g), expected_grad, rtol=0, atol=0)  # backward reads only y


def test_relu_module_in_place_refuses_a_tensor_that_requires_grad() -> None:
    with pytest.raises(RuntimeError, match="relu_"):
        ReLU(inplace=True)(Tensor(sample(), requires_grad=True))
