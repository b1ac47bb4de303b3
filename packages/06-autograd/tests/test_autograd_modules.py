"""Autograd against the hand-written backwards of modules 03-05, and gradient checkpointing.

Modules 03-05 computed every layer's backward by hand; autograd must give the same gradients
from the forward pass alone. Each test runs ONE forward (so Dropout's mask is shared), then the
manual backward, then ``backward()`` on the same output, and compares input and parameter grads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinytorch.activations as A
from tinytorch.autograd import checkpoint, deep_mlp, graph_stats, live_node_count, no_grad
from tinytorch.layers import Dropout, Linear, Module
from tinytorch.networks import MLP, Sequential
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def manual_and_autograd(
    module: Module, x: Tensor, grad_output: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Gradients of the input (key ``"input"``) and of every parameter, by ``module.backward``
    and by autograd, from a single forward pass."""
    x.requires_grad_(True)
    out = module(x)
    module.zero_grad()
    grad_input = module.backward(Tensor(grad_output, dtype=out.dtype))
    manual = {"input": grad_input.data.copy()}
    manual.update({name: p.grad.data.copy() for name, p in module.named_parameters()})  # type: ignore[union-attr]
    module.zero_grad()
    out.backward(grad_output)
    automatic = {"input": x.grad.data}  # type: ignore[union-attr]
    automatic.update({name: p.grad.data for name, p in module.named_parameters()})  # type: ignore[union-attr]
    return manual, automatic


def assert_same_grads(manual: dict[str, np.ndarray], automatic: dict[str, np.ndarray]) -> None:
    assert manual.keys() == automatic.keys()
    for name in manual:
        assert automatic[name].dtype == manual[name].dtype, name
        assert_close(automatic[name], manual[name], rtol=1e-5, atol=1e-6, msg=name)


def random_input(shape: tuple[int, ...], seed: int = 1) -> Tensor:
    return Tensor(rng(seed).standard_normal(shape, dtype=np.float32))


def random_grad(shape: tuple[int, ...], seed: int = 2) -> np.ndarray:
    return rng(seed).standard_normal(shape, dtype=np.float32)


# --------------------------------------------------------------------- module 03
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_backward_equals_autograd(shape: tuple[int, ...], bias: bool) -> None:
    layer = Linear(4, 3, bias=bias, rng=rng(0))
    manual, automatic = manual_and_autograd(
        layer, random_input(shape), random_grad((*shape[:-1], 3))
    )
    assert set(manual) == ({"input", "weight", "bias"} if bias else {"input", "weight"})
    assert_same_grads(manual, automatic)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.9])
def test_dropout_backward_equals_autograd_with_the_same_mask(p: float) -> None:
    layer = Dropout(p, rng=rng(0))
    manual, automatic = manual_and_autograd(layer, random_input((6, 5)), random_grad((6, 5)))
    assert_same_grads(manual, automatic)
    if p > 0:
        assert (automatic["input"] == 0).any()  # some elements were dropped


def test_dropout_in_eval_mode_passes_gradients_through() -> None:
    layer = Dropout(0.5, rng=rng(0)).eval()
    g = random_grad((3, 4))
    manual, automatic = manual_and_autograd(layer, random_input((3, 4)), g)
    assert_same_grads(manual, automatic)
    assert_close(automatic["input"], g)


# --------------------------------------------------------------------- module 04
ACTIVATION_MODULES = [
    pytest.param(lambda: A.ReLU(), id="ReLU"),
    pytest.param(lambda: A.LeakyReLU(0.1), id="LeakyReLU"),
    pytest.param(lambda: A.Sigmoid(), id="Sigmoid"),
    pytest.param(lambda: A.Tanh(), id="Tanh"),
    pytest.param(lambda: A.GELU(), id="GELU"),
    pytest.param(lambda: A.GELU(approximate="tanh"), id="GELU-tanh"),
    pytest.param(lambda: A.Softmax(dim=-1), id="Softmax"),
    pytest.param(lambda: A.Softmax(dim=0), id="Softmax-dim0"),
    pytest.param(lambda: A.LogSoftmax(dim=-1), id="LogSoftmax"),
    pytest.param(lambda: A.LogSoftmax(dim=1), id="LogSoftmax-dim1"),
]


@pytest.mark.parametrize("make", ACTIVATION_MODULES)
def test_every_activation_backward_equals_autograd(make: Callable[[], Module]) -> None:
    manual, automatic = manual_and_autograd(make(), random_input((3, 4, 5)), random_grad((3, 4, 5)))
    assert_same_grads(manual, automatic)


ACTIVATION_FUNCTIONS = [
    pytest.param(A.relu, id="relu"),
    pytest.param(lambda x: A.leaky_relu(x, 0.2), id="leaky_relu"),
    pytest.param(A.sigmoid, id="sigmoid"),
    pytest.param(A.tanh, id="tanh"),
    pytest.param(A.gelu, id="gelu"),
    pytest.param(lambda x: A.gelu(x, "tanh"), id="gelu-tanh"),
    pytest.param(lambda x: A.softmax(x, dim=0), id="softmax"),
    pytest.param(A.log_softmax, id="log_softmax"),
]


@pytest.mark.parametrize("f", ACTIVATION_FUNCTIONS)
def test_activation_rules_match_finite_differences(f: Callable[[Tensor], Tensor]) -> None:
    """The rules autograd registers for the module-04 Ops, in float64 within 1e-6 relative.
    Composed with a product, so the incoming gradient is not all ones."""
    x = rng(3).uniform(-3, 3, (3, 4))
    x[np.abs(x) < 0.05] = 0.5  # away from ReLU's kink
    w = rng(4).uniform(0.5, 2.0, (3, 4))

    def forward(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (f(Tensor(a, dtype=np.float64)) * Tensor(b, dtype=np.float64)).data

    def backward(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> list[Any]:
        ta, tb = (Tensor(v, dtype=np.float64, requires_grad=True) for v in (a, b))
        (f(ta) * tb).backward(g)
        assert ta.grad is not None and ta.grad.dtype == np.float64
        return [ta.grad.data, tb.grad.data]  # type: ignore[union-attr]

    gradcheck(forward, [x, w], backward, rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------- module 05
def test_sequential_mlp_manual_backward_equals_autograd() -> None:
    net = Sequential(
        Linear(4, 8, rng=rng(0)),
        A.ReLU(),
        Dropout(0.25, rng=rng(1)),
        Linear(8, 8, rng=rng(2)),
        A.Tanh(),
        Linear(8, 6, rng=rng(3)),
        A.GELU(),
        Linear(6, 3, rng=rng(4)),
        A.LogSoftmax(dim=-1),
    )
    manual, automatic = manual_and_autograd(net, random_input((10, 4)), random_grad((10, 3)))
    assert len(manual) == 1 + 2 * 4
    assert_same_grads(manual, automatic)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_mlp_builder_manual_backward_equals_autograd(activation: str) -> None:
    net = MLP([5, 7, 7, 2], activation=activation, final_activation="sigmoid", rng=rng(0))
    manual, automatic = manual_and_autograd(net, random_input((4, 5)), random_grad((4, 2)))
    assert_same_grads(manual, automatic)


# --------------------------------------------------------------------- checkpointing
def grads_of_step(
    model: Module, x: Tensor, run: Callable[[Module, Tensor], Tensor]
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Output, parameter grads and input grad of ``run(model, x).sum().backward()``."""
    model.zero_grad()
    x.grad = None
    out = run(model, x)
    out.sum().backward()
    params = {name: p.grad.data.copy() for name, p in model.named_parameters()}  # type: ignore[union-attr]
    return out.data.copy(), params, x.grad.data.copy()  # type: ignore[union-attr]


def test_checkpoint_of_a_function_gives_the_same_values_and_grads() -> None:
    def f(a: Tensor, b: Tensor) -> Tensor:
        return (a.exp() * b + a * a).sum(-1)

    a = Tensor(rng(0).standard_normal((3, 4)), dtype=np.float64, requires_grad=True)
    b = Tensor(rng(1).standard_normal((3, 4)), dtype=np.float64, requires_grad=True)
    plain = f(a, b)
    plain.sum().backward()
    expected = [a.grad.data.copy(), b.grad.data.copy()]  # type: ignore[union-attr]
    a.grad = b.grad = None
    checkpointed = checkpoint(f, a, b)
    assert checkpointed.dtype == np.float64 and checkpointed.requires_grad
    assert_close(checkpointed, plain.data, rtol=1e-12)
    checkpointed.sum().backward()
    assert_close(a.grad, expected[0], rtol=1e-12)
    assert_close(b.grad, expected[1], rtol=1e-12)


@pytest.mark.parametrize(
    "run",
    [
        pytest.param(lambda m, x: checkpoint(m, x), id="whole"),
        pytest.param(lambda m, x: checkpoint(m[4:], checkpoint(m[:4], x)), id="two-segments"),
        pytest.param(lambda m, x: m[4:](checkpoint(m[:4], x)), id="first-half-only"),
    ],
)
def test_checkpointed_sequential_matches_plain(run: Callable[[Module, Tensor], Tensor]) -> None:
    model = deep_mlp(depth=4, width=6, seed=0)
    x = random_input((5, 6)).requires_grad_(True)
    out, params, grad_x = grads_of_step(model, x, lambda m, t: m(t))
    out_c, params_c, grad_x_c = grads_of_step(model, x, run)
    assert_close(out_c, out, rtol=1e-6, atol=1e-7)
    assert_close(grad_x_c, grad_x, rtol=1e-5, atol=1e-6)
    assert params_c.keys() == params.keys() and len(params) == 8
    for name in params:
        assert_close(params_c[name], params[name], rtol=1e-5, atol=1e-6, msg=name)


def test_checkpoint_trains_parameters_when_the_input_needs_no_grad() -> None:
    model = deep_mlp(depth=2, width=4, seed=1)
    x = random_input((3, 4))
    _, params, _ = grads_of_step(model, x.requires_grad_(True), lambda m, t: m(t))
    x.requires_grad_(False)
    x.grad = None
    model.zero_grad()
    y = checkpoint(model, x)
    assert y.requires_grad
    y.sum().backward()
    assert x.grad is None
    for name, p in model.named_parameters():
        assert_close(p.grad, params[name], rtol=1e-5, atol=1e-6, msg=name)


def test_checkpoint_keeps_one_node_instead_of_the_segment_graph() -> None:
    model = deep_mlp(depth=3, width=4, seed=2)
    x = random_input((2, 4)).requires_grad_(True)
    before = live_node_count()
    y = checkpoint(model, x)
    assert live_node_count() - before == 1
    assert graph_stats(y)["nodes"] == 1
    plain = model(x)
    assert graph_stats(plain)["nodes"] == 3 * 2  # one LinearOp and one ReLU per block


def test_checkpoint_under_no_grad_records_nothing() -> None:
    model = deep_mlp(depth=2, width=4, seed=3)
    x = random_input((2, 4)).requires_grad_(True)
    with no_grad():
        y = checkpoint(model, x)
    assert not y.requires_grad and y._node is None
    assert_close(y, model(x).data)


def test_checkpoint_replays_dropout_masks_and_leaves_the_stream_unchanged() -> None:
    """The recomputation must drop the same elements as the forward did, and the generator
    must continue afterwards as if no recomputation had happened."""

    def model() -> Sequential:
        return Sequential(
            Linear(4, 6, rng=rng(0)), Dropout(0.5, rng=rng(1)), Linear(6, 3, rng=rng(2))
        )

    x = random_input((5, 4)).requires_grad_(True)
    plain_model, checkpointed_model = model(), model()
    out, params, grad_x = grads_of_step(plain_model, x, lambda m, t: m(t))
    out_c, params_c, grad_x_c = grads_of_step(checkpointed_model, x, checkpoint)
    assert_close(out_c, out)
    assert_close(grad_x_c, grad_x, rtol=1e-5, atol=1e-6)
    for name in params:
        assert_close(params_c[name], params[name], rtol=1e-5, atol=1e-6, msg=name)
    next_plain = plain_model[1].rng.random(3)  # type: ignore[attr-defined]
    next_checkpointed = checkpointed_model[1].rng.random(3)  # type: ignore[attr-defined]
    assert_close(next_checkpointed, next_plain)
