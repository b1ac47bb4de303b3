"""In-place variants (``relu_`` and friends, ``inplace=True``) and the version counter that keeps
a backward from reading values an in-place write replaced."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import tinytorch.activations as A
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor, apply, vjp
from tinytorch.tensor.ops import Mul

# (name in error messages, in-place call, out-of-place call)
PAIRS: list[tuple[str, Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]] = [
    ("relu_", A.relu_, A.relu),
    ("leaky_relu_", lambda t: A.leaky_relu_(t, 0.2), lambda t: A.leaky_relu(t, 0.2)),
    ("sigmoid_", A.sigmoid_, A.sigmoid),
    ("tanh_", A.tanh_, A.tanh),
    ("elu_", lambda t: A.elu_(t, 0.5), lambda t: A.elu(t, 0.5)),
    ("selu_", A.selu_, A.selu),
    ("hardtanh_", lambda t: A.hardtanh_(t, -0.5, 0.7), lambda t: A.hardtanh(t, -0.5, 0.7)),
    ("relu_", lambda t: A.relu(t, inplace=True), A.relu),
    ("leaky_relu_", lambda t: A.leaky_relu(t, 0.2, inplace=True), lambda t: A.leaky_relu(t, 0.2)),
    ("silu_", lambda t: A.silu(t, inplace=True), A.silu),
    ("elu_", lambda t: A.elu(t, 0.5, inplace=True), lambda t: A.elu(t, 0.5)),
    ("selu_", lambda t: A.selu(t, inplace=True), A.selu),
    ("relu6_", lambda t: A.relu6(t, inplace=True), A.relu6),
    ("hardtanh_", lambda t: A.hardtanh(t, inplace=True), A.hardtanh),
    ("hardswish_", lambda t: A.hardswish(t, inplace=True), A.hardswish),
    ("hardsigmoid_", lambda t: A.hardsigmoid(t, inplace=True), A.hardsigmoid),
    ("mish_", lambda t: A.mish(t, inplace=True), A.mish),
]
IDS = [f"{i}-{name}" for i, (name, _, _) in enumerate(PAIRS)]

# Modules that take inplace=True, and whether their Op saves the output (then the manual
# backward still works after the write) or the input (which the write destroyed).
INPLACE_MODULES: list[tuple[Callable[..., A.Activation], bool]] = [
    (A.ReLU, True),
    (A.ELU, True),
    (A.SELU, True),
    (A.ReLU6, True),
    (A.Hardtanh, True),
    (A.LeakyReLU, False),
    (A.SiLU, False),
    (A.Hardswish, False),
    (A.Hardsigmoid, False),
    (A.Mish, False),
]


def sample() -> np.ndarray:
    return 4 * np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)


def grad_sample() -> Tensor:
    return Tensor(np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32))


@pytest.mark.parametrize(("name", "in_place", "out_of_place"), PAIRS, ids=IDS)
def test_in_place_writes_into_x_bumps_its_version_and_returns_x(
    name: str, in_place, out_of_place
) -> None:
    x = Tensor(sample())
    storage, version = x.data, x._version
    expected = out_of_place(Tensor(sample())).data
    result = in_place(x)
    assert result is x and x.data is storage  # same tensor, same memory
    assert x._version == version + 1
    assert np.array_equal(x.data, expected), name


@pytest.mark.parametrize(("name", "in_place", "out_of_place"), PAIRS, ids=IDS)
def test_in_place_is_refused_on_a_tensor_that_requires_grad(
    name: str, in_place, out_of_place
) -> None:
    x = Tensor(sample(), requires_grad=True)
    before = x.data.copy()
    with pytest.raises(RuntimeError, match=f"{name}: .*requires grad.*out-of-place {name[:-1]}"):
        in_place(x)
    assert np.array_equal(x.data, before) and x._version == 0  # nothing was written


def test_in_place_on_a_view_writes_through_to_the_base() -> None:
    base = Tensor(np.array([[-1.0, 2.0], [-3.0, 7.0]], dtype=np.float32))
    A.relu_(base[1])
    A.hardtanh_(base[:, 1], 0.0, 6.0)
    assert base.data.tolist() == [[-1.0, 2.0], [0.0, 6.0]]


def test_in_place_on_a_read_only_broadcast_view_is_refused() -> None:
    view = Tensor(np.array([-1.0, 2.0], dtype=np.float32)).expand(3, 2)
    with pytest.raises(ValueError, match=r"relu_: the storage .* is read-only"):
        A.relu_(view)


def test_in_place_needs_a_tensor_and_the_right_dtype() -> None:
    with pytest.raises(TypeError, match=r"tanh_: expected a Tensor .*use tanh\(x\)"):
        A.tanh_(np.zeros(3))  # type: ignore[arg-type]
    ints = Tensor(np.array([-1, 2, 9]))
    with pytest.raises(TypeError, match="sigmoid: expected a floating-point tensor"):
        A.sigmoid_(ints)
    with pytest.raises(TypeError, match="elu: expected a floating-point tensor"):
        A.elu_(ints)
    assert ints.data.tolist() == [-1, 2, 9]
    assert A.relu6(ints, inplace=True).data.tolist() == [0, 2, 6] and ints.dtype == np.int64


# --------------------------------------------------------------------- in-place Modules
@pytest.mark.parametrize(
    ("make", "saves_output"), INPLACE_MODULES, ids=[m.__name__ for m, _ in INPLACE_MODULES]
)
def test_in_place_module_shares_memory_and_backpropagates_when_it_saved_the_output(
    make, saves_output: bool
) -> None:
    reference = make()
    expected_y = reference(Tensor(sample()))
    expected_grad = reference.backward(grad_sample())

    layer = make(inplace=True)
    x = Tensor(sample())
    y = layer(x)
    assert y is x and np.array_equal(y.data, expected_y.data)
    assert layer._ctx is not None
    if saves_output:
        assert layer._ctx.saved[0] is x.data  # the storage itself: no second array alive
        assert_close(layer.backward(grad_sample()), expected_grad, rtol=0, atol=0)
    else:  # its derivative reads the input, which the write replaced: refused, not wrong
        name = layer._ctx.name
        with pytest.raises(RuntimeError, match=f"input 0 .* of {name} was modified by an in-pl"):
            layer.backward(grad_sample())


def test_in_place_module_refuses_a_tensor_that_requires_grad() -> None:
    with pytest.raises(RuntimeError, match="relu_"):
        A.ReLU(inplace=True)(Tensor(sample(), requires_grad=True))
    with pytest.raises(RuntimeError, match="silu_"):
        A.SiLU(inplace=True)(Tensor(sample(), requires_grad=True))


def test_writing_again_into_an_in_place_module_s_output_invalidates_its_backward() -> None:
    layer = A.ReLU(inplace=True)
    x = Tensor(sample())
    layer(x)
    x.mul_(2.0)  # the saved output (x's storage) changed: the gradient would be wrong
    with pytest.raises(RuntimeError, match=r"its output of relu was modified .* version is now 2"):
        layer.backward(grad_sample())


# --------------------------------------------------------------------- version counter
def test_an_in_place_activation_invalidates_a_product_that_saved_x() -> None:
    """``y = x * w`` saves x (the derivative for w is grad * x); ``relu_(x)`` then changes x,
    so differentiating y must raise, naming the op, instead of using the new x. This is what
    ``y.sum().backward()`` runs for that node once module 06 records it."""
    x = Tensor(np.array([-1.0, 2.0, -3.0], dtype=np.float32))
    w = Tensor(np.array([0.5, 0.5, 0.5], dtype=np.float32), requires_grad=True)
    op = Mul()
    y = apply(op, x, w)
    (_, grad_w) = vjp(op, np.ones(3, dtype=np.float32), (False, True))
    assert grad_w.tolist() == [-1.0, 2.0, -3.0]  # before the write: fine
    A.relu_(x)
    with pytest.raises(RuntimeError, match=r"input 0 \(shape \(3,\), float32\) of mul was mod"):
        vjp(op, np.ones(y.shape, dtype=np.float32), (False, True))


def test_an_in_place_write_into_a_saved_input_makes_the_module_backward_raise() -> None:
    layer = A.LeakyReLU(0.1)  # saves its input
    x = Tensor(sample())
    layer(x)
    A.relu_(x)
    with pytest.raises(RuntimeError, match="of leaky_relu was modified by an in-place operation"):
        layer.backward(grad_sample())


def test_an_in_place_write_into_a_saved_output_makes_the_module_backward_raise() -> None:
    layer = A.Sigmoid()  # saves its output
    y = layer(Tensor(sample()))
    A.tanh_(y)
    with pytest.raises(RuntimeError, match="its output of sigmoid was modified"):
        layer.backward(grad_sample())


def test_an_in_place_write_into_an_unrelated_tensor_changes_nothing() -> None:
    layer = A.Mish()
    x = Tensor(sample())
    layer(x)
    other = Tensor(sample())
    A.relu_(other)
    expected = A.Mish()
    expected(Tensor(sample()))
    assert np.array_equal(layer.backward(grad_sample()).data, expected.backward(grad_sample()).data)
