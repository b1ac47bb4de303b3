"""Module and Parameter: discovery of parameters/children/buffers, modes, grads, state_dict."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.layers import Dropout, Linear, Module, Parameter
from tinytorch.tensor import Tensor, is_grad_enabled


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


class Block(Module):
    """Linear -> Dropout, with a running-count buffer."""

    def __init__(self, n: int, seed: int) -> None:
        self.fc = Linear(n, n, rng=rng(seed))
        self.drop = Dropout(0.5, rng=rng(seed))
        self.register_buffer("steps", Tensor(np.zeros(1, dtype=np.int64)))

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc(x))


class Net(Module):
    """A scale parameter, a list of blocks and a head: nesting at two levels."""

    def __init__(self) -> None:
        self.scale = Parameter(np.ones(3))
        self.blocks = [Block(3, seed=1), Block(3, seed=2)]
        self.head = Linear(3, 2, rng=rng(3))
        self.register_buffer("mean", Tensor(np.zeros(3)))

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x * self.scale)


class Tied(Module):
    """Two Linear layers sharing one weight (like tied embeddings)."""

    def __init__(self) -> None:
        self.a = Linear(4, 4, rng=rng(0))
        self.b = Linear(4, 4, bias=False, rng=rng(1))
        self.b.weight = self.a.weight


NET_PARAMETERS = [
    "scale",
    "blocks.0.fc.weight",
    "blocks.0.fc.bias",
    "blocks.1.fc.weight",
    "blocks.1.fc.bias",
    "head.weight",
    "head.bias",
]
NET_BUFFERS = ["mean", "blocks.0.steps", "blocks.1.steps"]


# --------------------------------------------------------------------- structure
def test_parameter_is_a_float32_tensor_that_requires_grad() -> None:
    p = Parameter(np.arange(6.0).reshape(2, 3))
    assert isinstance(p, Tensor)
    assert p.requires_grad and p.dtype == np.float32 and p.shape == (2, 3)
    assert Parameter(np.ones(2), dtype=np.float64).dtype == np.float64
    assert repr(p).startswith("Parameter containing:\nTensor(")


def test_named_parameters_walks_nested_modules_and_lists_in_order() -> None:
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == NET_PARAMETERS
    assert net.blocks[1].fc.weight is dict(net.named_parameters())["blocks.1.fc.weight"]
    assert [id(p) for p in net.parameters()] == [id(p) for _, p in net.named_parameters()]


def test_missing_bias_is_not_a_parameter() -> None:
    names = [name for name, _ in Linear(3, 2, bias=False).named_parameters()]
    assert names == ["weight"]


def test_shared_parameter_is_counted_once() -> None:
    tied = Tied()
    assert [name for name, _ in tied.named_parameters()] == ["a.weight", "a.bias"]
    assert tied.num_parameters() == 16 + 4
    assert list(tied.state_dict()) == ["a.weight", "a.bias"]


def test_children_and_modules() -> None:
    net = Net()
    assert [name for name, _ in net.named_children()] == ["blocks.0", "blocks.1", "head"]
    assert list(net.children()) == [net.blocks[0], net.blocks[1], net.head]
    names = [name for name, _ in net.named_modules()]
    assert names == [
        "",
        "blocks.0",
        "blocks.0.fc",
        "blocks.0.drop",
        "blocks.1",
        "blocks.1.fc",
        "blocks.1.drop",
        "head",
    ]
    assert next(net.modules()) is net
    assert len(list(net.modules())) == 8


def test_tuple_of_modules_is_also_a_container() -> None:
    class Pair(Module):
        def __init__(self) -> None:
            self.layers = (Linear(2, 2, rng=rng(0)), Linear(2, 1, rng=rng(1)))

    assert [name for name, _ in Pair().named_parameters()] == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
    ]


def test_train_and_eval_propagate_to_every_descendant() -> None:
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())
    net.blocks[0].eval()
    assert [m.training for m in net.modules()] == [True, False, False, False] + [True] * 4


def test_num_parameters() -> None:
    assert Net().num_parameters() == 3 + 2 * (9 + 3) + (6 + 2)
    assert Linear(784, 128).num_parameters() == 784 * 128 + 128
    assert Linear(784, 128, bias=False).num_parameters() == 784 * 128
    assert Dropout().num_parameters() == 0


def test_zero_grad_clears_every_gradient() -> None:
    net = Net()
    for p in net.parameters():
        p.grad = Tensor(np.ones(p.shape))
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_base_module_forward_and_backward_explain_themselves() -> None:
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        Module()(Tensor([1.0]))
    with pytest.raises(NotImplementedError, match="autograd"):
        Module().backward(Tensor([1.0]))


# --------------------------------------------------------------------- state
def test_state_dict_holds_parameters_and_buffers_as_copies() -> None:
    net = Net()
    state = net.state_dict()
    assert list(state) == NET_PARAMETERS + NET_BUFFERS
    for name, tensor in [*net.named_parameters(), *net.named_buffers()]:
        assert isinstance(state[name], np.ndarray)
        np.testing.assert_array_equal(state[name], tensor.data)
        assert not np.shares_memory(state[name], tensor.data)
    before = net.head.weight.data.copy()
    state["head.weight"][...] = 123.0
    np.testing.assert_array_equal(net.head.weight.data, before)


def test_load_state_dict_round_trip_is_in_place() -> None:
    source, target = Net(), Net()
    target.head = Linear(3, 2, rng=rng(99))
    for p in source.parameters():
        p.data[...] = rng(len(p.shape)).standard_normal(p.shape)
    source.blocks[1].steps.data[...] = 7
    params_before = {name: p for name, p in target.named_parameters()}
    arrays_before = {name: p.data for name, p in target.named_parameters()}

    target.load_state_dict(source.state_dict())

    for name, p in target.named_parameters():
        assert p is params_before[name]  # same Parameter objects (optimizers keep them)
        assert p.data is arrays_before[name]  # and the same storage, written in place
        np.testing.assert_array_equal(p.data, dict(source.named_parameters())[name].data)
    assert target.blocks[1].steps.data.item() == 7
    assert target.blocks[1].steps.dtype == np.int64
    for name, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[name], value)


def test_load_state_dict_bumps_every_version_and_keeps_grad_mode() -> None:
    source, target = Net(), Net()
    versions = {
        name: t._version for name, t in [*target.named_parameters(), *target.named_buffers()]
    }
    assert is_grad_enabled()
    target.load_state_dict(source.state_dict())  # parameters require grad: no error either
    assert is_grad_enabled()
    for name, tensor in [*target.named_parameters(), *target.named_buffers()]:
        assert tensor._version == versions[name] + 1, name  # PyTorch's copy_ bumps it too


def test_load_state_dict_converts_to_the_parameter_dtype() -> None:
    layer = Linear(2, 2)
    state = {"weight": np.eye(2, dtype=np.float64), "bias": [1, 2]}
    layer.load_state_dict(state)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    np.testing.assert_array_equal(layer.bias.data, [1.0, 2.0])


def test_load_state_dict_names_missing_unexpected_and_misshaped_keys() -> None:
    net = Net()
    state = net.state_dict()
    del state["head.bias"]
    state["extra.weight"] = np.zeros(2)
    state["scale"] = np.ones(4)
    with pytest.raises(KeyError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    assert "missing keys ['head.bias']" in message
    assert "unexpected keys ['extra.weight']" in message
    assert "scale: expected (3,), got (4,)" in message
    assert "Net" in message


def test_failed_load_changes_nothing() -> None:
    net = Net()
    before = net.state_dict()
    state = {name: np.full(value.shape, 5.0) for name, value in before.items()}
    state["head.weight"] = np.zeros((3, 3))
    with pytest.raises(KeyError, match=r"head\.weight"):
        net.load_state_dict(state)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_strict_false_skips_missing_and_unexpected_but_not_misshaped() -> None:
    net = Net()
    new_scale = np.array([1.0, 2.0, 3.0])
    head_weight = net.head.weight.data.copy()
    net.load_state_dict({"scale": new_scale, "other": np.zeros(1)}, strict=False)
    np.testing.assert_array_equal(net.scale.data, new_scale)
    np.testing.assert_array_equal(net.head.weight.data, head_weight)
    with pytest.raises(KeyError, match="missing keys"):
        net.load_state_dict({"scale": new_scale})
    with pytest.raises(KeyError, match=r"scale: expected \(3,\), got \(2,\)"):
        net.load_state_dict({"scale": np.ones(2)}, strict=False)


def test_buffers_are_saved_loaded_and_not_trained() -> None:
    net = Net()
    assert [name for name, _ in net.named_buffers()] == NET_BUFFERS
    assert all(b is not p for _, b in net.named_buffers() for p in net.parameters())
    net.mean.data[...] = [1.0, 2.0, 3.0]
    other = Net()
    other.load_state_dict(net.state_dict())
    np.testing.assert_array_equal(other.mean.data, [1.0, 2.0, 3.0])
    assert net.num_parameters() == Net().num_parameters()


def test_register_buffer_twice_keeps_one_entry_and_follows_reassignment() -> None:
    block = Block(2, seed=0)
    block.register_buffer("steps", Tensor(np.full(1, 3, dtype=np.int64)))
    assert [name for name, _ in block.named_buffers()] == ["steps"]
    assert block.state_dict()["steps"].tolist() == [3]


def test_register_buffer_refuses_non_tensors() -> None:
    with pytest.raises(TypeError, match="register_buffer: buffer 'mean' must be a Tensor"):
        Module().register_buffer("mean", np.zeros(3))  # type: ignore[arg-type]


# --------------------------------------------------------------------- printing
def test_repr_of_leaf_layers() -> None:
    assert repr(Linear(4, 2)) == "Linear(in_features=4, out_features=2, bias=True)"
    assert repr(Linear(4, 2, bias=False)) == "Linear(in_features=4, out_features=2, bias=False)"
    assert repr(Dropout(0.25)) == "Dropout(p=0.25)"


def test_repr_nests_children_with_indentation() -> None:
    expected = "\n".join(
        [
            "Net(",
            "  (blocks.0): Block(",
            "    (fc): Linear(in_features=3, out_features=3, bias=True)",
            "    (drop): Dropout(p=0.5)",
            "  )",
            "  (blocks.1): Block(",
            "    (fc): Linear(in_features=3, out_features=3, bias=True)",
            "    (drop): Dropout(p=0.5)",
            "  )",
            "  (head): Linear(in_features=3, out_features=2, bias=True)",
            ")",
        ]
    )
    assert repr(Net()) == expected
