"""The core contracts autograd relies on: one derivative protocol, in-place safety, no activations
kept by Modules, and the PyTorch update idioms under ``no_grad``."""

from __future__ import annotations

import gc
from collections.abc import Callable

import numpy as np
import pytest

import tinytorch.activations as A
import tinytorch.autograd as autograd
import tinytorch.layers as layers
import tinytorch.networks as networks
import tinytorch.tensor as tt
from tinytorch.autograd import held_activation_bytes, live_node_count, no_grad
from tinytorch.layers import Dropout, Linear, Parameter
from tinytorch.networks import Sequential
from tinytorch.tensor import Op, Tensor


# --------------------------------------------------------------------- one derivative protocol
def all_op_classes() -> list[type[Op]]:
    """Every Op subclass defined so far (the packages imported above define theirs)."""
    found, stack = [], [Op]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


def concrete(cls: type[Op]) -> bool:
    """A class someone applies (not a shared base such as _Binary or ActivationOp)."""
    return (
        not cls.__name__.startswith("_")
        and cls.__module__.startswith("tinytorch.")
        and "forward" in {name for klass in cls.__mro__[:-2] for name in vars(klass)}
        and cls.forward is not Op.forward
    )


def test_every_differentiable_op_owns_exactly_one_derivative() -> None:
    classes = [cls for cls in all_op_classes() if concrete(cls)]
    names = {cls.__name__ for cls in classes}
    assert {"Add", "MatMul", "GetItem", "LinearOp", "DropoutOp", "ReLUOp", "Checkpoint"} <= names
    missing = [
        cls.__name__ for cls in classes if cls.differentiable and cls.backward is Op.backward
    ]
    assert missing == []
    for cls in classes:
        owners = [klass for klass in cls.__mro__ if "backward" in vars(klass)]
        assert owners[0] is not Op or not cls.differentiable, cls.__name__


def test_there_is_no_second_derivative_mechanism() -> None:
    for package in (tt, layers, A, networks, autograd):
        public = set(getattr(package, "__all__", dir(package)))
        assert not {"register_rule", "rule_for", "RULES", "accumulate"} & public, package
        assert not [name for name in public if name.endswith("_backward")], package
    assert not [cls for cls in all_op_classes() if "vjp" in vars(cls)]


def test_manual_backward_and_autograd_call_the_same_op_backward(monkeypatch) -> None:
    calls: list[str] = []
    original = layers.LinearOp.backward

    def counted(self, grad, needs):  # type: ignore[no-untyped-def]
        calls.append("linear")
        return original(self, grad, needs)

    monkeypatch.setattr(layers.LinearOp, "backward", counted)
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    x = Tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    layer(x).sum().backward()
    layer(x)
    layer.backward(Tensor(np.ones((4, 2), dtype=np.float32)))
    assert calls == ["linear", "linear"]


# --------------------------------------------------------------------- in-place safety
def w_grad_after(modify: Callable[[Tensor], object]) -> np.ndarray:
    """d(sum(w * x))/dw with x modified in place between forward and backward."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([-1.0, 2.0])
    y = (w * x).sum()
    modify(x)
    y.backward()
    assert w.grad is not None
    return w.grad.data


def test_the_unmodified_gradient_is_the_input() -> None:
    np.testing.assert_array_equal(w_grad_after(lambda x: None), [-1.0, 2.0])


@pytest.mark.parametrize(
    ("name", "modify"),
    [
        ("relu_", A.relu_),
        ("setitem", lambda x: x.__setitem__(0, 5.0)),
        ("add_", lambda x: x.add_(1)),
        ("mul_", lambda x: x.mul_(2)),
        ("+=", lambda x: x.__iadd__(1)),
        ("zero_", lambda x: x.zero_()),
        ("a view", lambda x: x[1:].fill_(7.0)),
        ("copy_", lambda x: x.copy_(Tensor([3.0, 4.0]))),
    ],
)
def test_backward_refuses_an_input_modified_in_place(name: str, modify: Callable) -> None:
    with pytest.raises(
        RuntimeError, match=r"input 1 \(shape \(2,\), float32\) of mul was modified"
    ):
        w_grad_after(modify)


def test_an_in_place_write_on_an_unsaved_input_is_harmless() -> None:
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0])
    y = (a + b).sum()  # Add saves neither input
    b.add_(100)
    y.backward()
    assert a.grad is not None
    np.testing.assert_array_equal(a.grad.data, [1.0, 1.0])


def test_modifying_a_saved_output_is_caught_too() -> None:
    x = Tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()  # Exp saves its output
    z = (y.detach().mul_(0) + y).sum()  # detach shares the storage and its version counter
    with pytest.raises(RuntimeError, match="its output of exp was modified"):
        z.backward()


def test_versions_count_in_place_writes() -> None:
    x = Tensor(np.zeros(3, dtype=np.float32))
    view = x[1:]
    assert x._version == view._version == 0
    x.add_(1)
    x[0] = 2
    view.mul_(3)  # a view shares its base's counter
    assert x._version == view._version == 3
    np.testing.assert_array_equal(x.data, [2.0, 3.0, 3.0])


def test_in_place_on_a_tensor_in_the_graph_says_how_tinytorch_differs() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    with pytest.raises(RuntimeError, match="TinyTorch does not record in-place ops"):
        h.add_(1)
    with pytest.raises(RuntimeError, match="leaf that requires grad"):
        x += 1


# --------------------------------------------------------------------- PyTorch update idioms
def trained_parameter() -> Parameter:
    p = Parameter(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    (p * Tensor([1.0, 10.0, 100.0])).sum().backward()
    return p


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        (lambda p: p.__isub__(0.1 * p.grad), [0.9, 1.0, -7.0]),
        (lambda p: p.sub_(p.grad, alpha=0.1), [0.9, 1.0, -7.0]),
        (lambda p: p.add_(p.grad, alpha=-0.1), [0.9, 1.0, -7.0]),
        (lambda p: p.mul_(0.5), [0.5, 1.0, 1.5]),
        (lambda p: p.zero_(), [0.0, 0.0, 0.0]),
        (lambda p: p.__setitem__(slice(1, None), 0.0), [1.0, 0.0, 0.0]),
        (lambda p: p.clamp_(max=2.0), [1.0, 2.0, 2.0]),
        (lambda p: p.copy_(Tensor([7.0, 8.0, 9.0])), [7.0, 8.0, 9.0]),
    ],
)
def test_pytorch_update_idioms_change_the_parameter_in_place_under_no_grad(
    update: Callable[[Parameter], object], expected: list[float]
) -> None:
    p = trained_parameter()
    storage = p.data
    with no_grad():
        update(p)
    np.testing.assert_allclose(p.data, expected, rtol=1e-6)
    assert p.data is storage and p._version == 1 and p.requires_grad


def test_minus_equals_keeps_the_same_parameter_object() -> None:
    p = trained_parameter()
    q = p
    with no_grad():
        p -= 0.1 * p.grad
    assert p is q
    np.testing.assert_allclose(q.data, [0.9, 1.0, -7.0], rtol=1e-6)


def test_update_idioms_outside_no_grad_fail_loudly() -> None:
    p = trained_parameter()
    for update in (lambda: p.__isub__(p.grad), lambda: p.zero_(), lambda: p.__setitem__(0, 1.0)):
        with pytest.raises(RuntimeError, match=r"with no_grad\(\)"):
            update()
    np.testing.assert_array_equal(p.data, [1.0, 2.0, 3.0])


def test_an_int_tensor_refuses_a_float_result_in_place() -> None:
    k = Tensor(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match="cannot be written into this int64 tensor"):
        k += 0.5


# --------------------------------------------------------------------- memory
def small_mlp() -> Sequential:
    rng = np.random.default_rng(0)
    return Sequential(
        Linear(64, 128, rng=rng), A.ReLU(), Dropout(0.2, rng=rng), Linear(128, 10, rng=rng)
    )


def test_a_model_holds_no_activation_after_backward_or_under_no_grad() -> None:
    model = small_mlp()
    x = Tensor(np.random.default_rng(1).standard_normal((256, 64), dtype=np.float32))
    loss = A.log_softmax(model(x), dim=1).mean()
    assert held_activation_bytes(model) > 256 * 128 * 4  # ReLU's output, Dropout's mask, ...
    loss.backward()
    assert held_activation_bytes(model) == 0
    with no_grad():
        model(x)
    assert held_activation_bytes(model) == 0


def test_manual_backward_leaves_no_activation_either() -> None:
    model = small_mlp()
    out = model(Tensor(np.ones((8, 64), dtype=np.float32)))
    assert held_activation_bytes(model) > 0
    model.backward(Tensor(np.ones(out.shape, dtype=np.float32)))
    assert held_activation_bytes(model) == 0


def test_live_node_count_counts_only_live_graph_nodes() -> None:
    gc.collect()
    before = live_node_count()
    model = small_mlp()
    x = Tensor(np.ones((4, 64), dtype=np.float32))
    loss = model(x).sum()
    assert live_node_count() - before == 5  # Linear, ReLU, Dropout, Linear, Sum
    loss.backward()
    assert live_node_count() == before  # freed, although `loss` still references its node
    with no_grad():
        model(x).sum()
    assert live_node_count() == before
