"""Sequential and MLP: forward values, manual backward vs finite differences, list behaviour."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.activations import ReLU, Sigmoid, Tanh
from tinytorch.layers import Dropout, Linear, Module
from tinytorch.networks import MLP, Sequential, activation_class
from tinytorch.setup import assert_close, gradcheck
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def check_model_gradients(model: Module, x: np.ndarray) -> None:
    """gradcheck, in float64, of dL/dx and every dL/dparam from ``model.backward``."""
    params = list(model.parameters())
    for param in params:
        param.data = param.data.astype(np.float64)

    def set_params(arrays: tuple[np.ndarray, ...]) -> None:
        for param, array in zip(params, arrays, strict=True):
            param.data = array

    def fn(x: np.ndarray, *arrays: np.ndarray) -> np.ndarray:
        set_params(arrays)
        return model(Tensor(x, dtype=np.float64)).data

    def grad_fn(x: np.ndarray, *rest: np.ndarray) -> list[np.ndarray]:
        *arrays, grad_output = rest
        set_params(tuple(arrays))
        model.zero_grad()
        model(Tensor(x, dtype=np.float64))
        grad_input = model.backward(Tensor(grad_output, dtype=np.float64))
        return [grad_input.data, *[param.grad.data for param in params]]

    gradcheck(fn, [x, *[param.data.copy() for param in params]], grad_fn, rtol=1e-5, atol=1e-7)


def linear_tanh_linear_sigmoid(seed: int = 0) -> Sequential:
    generator = rng(seed)
    return Sequential(Linear(4, 5, rng=generator), Tanh(), Linear(5, 3, rng=generator), Sigmoid())


# --------------------------------------------------------------------- forward and backward
def test_forward_matches_numpy_composition() -> None:
    net = linear_tanh_linear_sigmoid()
    x = rng(1).standard_normal((6, 4)).astype(np.float32)
    w1, b1, w2, b2 = (p.data for p in net.parameters())
    expected = sigmoid(np.tanh(x @ w1.T + b1) @ w2.T + b2)
    out = net(Tensor(x))
    assert out.shape == (6, 3)
    assert_close(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "build",
    [
        linear_tanh_linear_sigmoid,
        lambda: Sequential(Linear(4, 6, rng=rng(2)), ReLU(), Linear(6, 2, rng=rng(3))),
        lambda: Sequential(
            Sequential(Linear(4, 3, rng=rng(4)), Tanh()),
            Sequential(Linear(3, 3, rng=rng(5)), Sigmoid(), Sequential(Linear(3, 2, rng=rng(6)))),
        ),
        lambda: MLP([4, 5, 5, 2], activation="tanh", final_activation="sigmoid", rng=rng(7)),
    ],
    ids=["linear-tanh-linear-sigmoid", "linear-relu-linear", "nested", "mlp"],
)
def test_backward_matches_finite_differences(build) -> None:
    check_model_gradients(build(), rng(8).standard_normal((3, 4)))


def test_backward_handles_extra_leading_dims() -> None:
    check_model_gradients(linear_tanh_linear_sigmoid(), rng(9).standard_normal((2, 3, 4)))


def test_backward_accumulates_parameter_grads_and_returns_input_grad() -> None:
    net = linear_tanh_linear_sigmoid()
    x = Tensor(rng(1).standard_normal((5, 4)))
    grad = Tensor(np.ones((5, 3), dtype=np.float32))
    net(x)
    grad_input = net.backward(grad)
    first = [p.grad.data.copy() for p in net.parameters()]
    net(x)
    net.backward(grad)
    assert grad_input.shape == (5, 4)
    for param, once in zip(net.parameters(), first, strict=True):
        assert_close(param.grad, 2 * once, rtol=1e-6)


def test_backward_runs_layers_in_reverse_order() -> None:
    calls: list[str] = []

    class Record(Module):
        def __init__(self, name: str) -> None:
            self.name = name

        def forward(self, x: Tensor) -> Tensor:
            calls.append(f"forward {self.name}")
            return x

        def backward(self, grad_output: Tensor) -> Tensor:
            calls.append(f"backward {self.name}")
            return grad_output * 2

    net = Sequential(Record("a"), Record("b"))
    net(Tensor([1.0]))
    assert_close(net.backward(Tensor([1.0])), np.array([4.0], dtype=np.float32))
    assert calls == ["forward a", "forward b", "backward b", "backward a"]


def test_empty_sequential_is_the_identity() -> None:
    x = Tensor([[1.0, 2.0]])
    assert Sequential()(x) is x
    assert Sequential().backward(x) is x


# --------------------------------------------------------------------- list behaviour
def test_indexing_len_iteration() -> None:
    layers = [Linear(2, 3, rng=rng()), ReLU(), Linear(3, 1, rng=rng())]
    net = Sequential(*layers)
    assert len(net) == 3
    assert list(net) == layers
    assert net[0] is layers[0] and net[-1] is layers[2]
    with pytest.raises(IndexError, match="index 3 is out of range for 3 layers"):
        net[3]


def test_slicing_returns_a_sequential_sharing_the_layers() -> None:
    net = linear_tanh_linear_sigmoid()
    head = net[:2]
    assert isinstance(head, Sequential) and len(head) == 2
    assert head[0] is net[0] and head[1] is net[1]
    assert [type(layer).__name__ for layer in net[::2]] == ["Linear", "Linear"]
    x = Tensor(rng(1).standard_normal((2, 4)))
    assert_close(net[2:](head(x)), net(x), rtol=1e-6)
    assert head[0].weight is net[0].weight  # shared, not copied


def test_parameter_names_follow_pytorch() -> None:
    net = linear_tanh_linear_sigmoid()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(net.state_dict()) == names
    assert "(0): Linear(in_features=4, out_features=5, bias=True)" in repr(net)
    assert "(1): Tanh()" in repr(net)


def test_nested_sequentials_name_by_position() -> None:
    inner = Sequential(Linear(3, 3, rng=rng()), ReLU())
    net = Sequential(Linear(2, 3, rng=rng()), inner, Linear(3, 1, bias=False, rng=rng()))
    names = [name for name, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.0.weight", "1.0.bias", "2.weight"]
    assert [name for name, _ in net.named_modules()] == ["", "0", "1", "1.0", "1.1", "2"]
    assert net.num_parameters() == 9 + 12 + 3


def test_append_names_the_new_layer_and_returns_self() -> None:
    net = Sequential(Linear(2, 3, rng=rng()))
    assert net.append(ReLU()).append(Linear(3, 1, rng=rng())) is net
    assert len(net) == 3
    assert [name for name, _ in net.named_parameters()][-2:] == ["2.weight", "2.bias"]
    assert net(Tensor(np.zeros((4, 2)))).shape == (4, 1)


def test_non_modules_are_refused_with_a_hint() -> None:
    with pytest.raises(TypeError, match=r"argument 1: expected a Module.*got type"):
        Sequential(Linear(2, 2), ReLU)
    with pytest.raises(TypeError, match=r"Sequential.append: expected a Module"):
        Sequential().append("relu")  # type: ignore[arg-type]


def test_train_and_eval_reach_nested_layers() -> None:
    dropout = Dropout(0.5, rng=rng())
    net = Sequential(Linear(4, 4, rng=rng()), Sequential(dropout))
    net.eval()
    assert dropout.training is False
    x = Tensor(np.ones((3, 4)))
    assert_close(net(x), net(x))
    net.train()
    assert dropout.training is True


def test_layer_errors_surface_from_the_chain() -> None:
    net = Sequential(Linear(2, 3), Linear(4, 1))
    with pytest.raises(ValueError, match=r"expected input \(\*, 4\), got shape \(5, 3\)"):
        net(Tensor(np.zeros((5, 2))))


# --------------------------------------------------------------------- MLP
def test_mlp_layers_and_shapes() -> None:
    net = MLP([4, 8, 8, 3], rng=rng())
    assert [type(layer).__name__ for layer in net] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [(layer.in_features, layer.out_features) for layer in net[::2]] == [
        (4, 8),
        (8, 8),
        (8, 3),
    ]
    assert net(Tensor(np.zeros((7, 4)))).shape == (7, 3)
    assert net.num_parameters() == (4 * 8 + 8) + (8 * 8 + 8) + (8 * 3 + 3)
    assert isinstance(net, Sequential) and isinstance(net[1:], Sequential)


def test_mlp_activation_choices() -> None:
    net = MLP([2, 3, 1], activation=Tanh, final_activation="sigmoid", rng=rng())
    assert [type(layer) for layer in net] == [Linear, Tanh, Linear, Sigmoid]
    assert [type(layer) for layer in MLP([2, 3, 1], activation=None)] == [Linear, Linear]
    assert [type(layer) for layer in MLP([2, 1], final_activation=ReLU)] == [Linear, ReLU]
    out = net(Tensor(rng(1).standard_normal((10, 2)))).data
    assert ((out > 0) & (out < 1)).all()


def test_mlp_is_reproducible_from_a_seed() -> None:
    a, b = MLP([3, 4, 2], rng=rng(5)), MLP([3, 4, 2], rng=rng(5))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_activation_names_resolve_ignoring_case() -> None:
    assert activation_class("ReLU") is ReLU
    assert activation_class("tanh") is Tanh
    assert activation_class(Sigmoid) is Sigmoid


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"sizes": [4]}, ValueError, "at least two positive integers"),
        ({"sizes": [4, 0, 2]}, ValueError, "at least two positive integers"),
        ({"sizes": [4, 2.5]}, ValueError, "at least two positive integers"),
        ({"sizes": [4, 2], "activation": "swoosh"}, ValueError, "unknown activation 'swoosh'"),
        ({"sizes": [4, 2], "activation": 3}, TypeError, "activation must be a name"),
    ],
)
def test_mlp_rejects_bad_arguments(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        MLP(**kwargs)


# --------------------------------------------------------------------- properties
@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5),
    split=st.integers(0, 10),
    batch=st.integers(1, 4),
)
def test_any_split_of_an_mlp_composes_back_to_the_whole(sizes, split, batch) -> None:
    net = MLP(sizes, activation="tanh", rng=rng())
    k = split % (len(net) + 1)
    x = Tensor(rng(1).standard_normal((batch, sizes[0])))
    assert_close(net[k:](net[:k](x)), net(x), rtol=1e-6, atol=1e-7)
    assert net.num_parameters() == sum(a * b + b for a, b in pairwise(sizes))
