"""Every activation, driven from one table of reference definitions (MiniTorch style).

Each row names the activation's function (options bound), its Module, its Op, a NumPy reference
written the obvious way in float64 (safe for |x| <= 20), the PyTorch module it mirrors, the
points where its derivative is a convention (kinks), what its backward reads, and whether it
takes integer tensors. From the table:

- forward against the reference (float64 and float32, hypothesis-drawn shapes);
- backward against finite differences in float64 (`gradcheck`), through the Module's manual
  backward and through the Op alone;
- the Module's manual backward equal to the Op's derivative (`tinytorch.tensor.vjp`);
- what the Module keeps between forward and backward (the input or the output, nothing after);
- no overflow, NaN or warning at +-1e4 (and +-1e24) in float32 and float64, forward and back;
- parity with PyTorch (float64, forward and backward, on a grid plus kinks and +-1e4), reprs
  included.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinytorch.activations as A
from tinytorch.activations import ops
from tinytorch.setup.strategies import arrays, shapes
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor, apply, dispatch, vjp

erf_ref = np.vectorize(math.erf, otypes=[np.float64])
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def np_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_elu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


def np_softplus(x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    return np.where(x * beta > threshold, x, np.log1p(np.exp(np.minimum(x * beta, 50))) / beta)


@dataclass(frozen=True)
class Case:
    name: str
    function: Callable[[Tensor], Tensor]
    module: Callable[[], A.Activation]
    op: Callable[[], ops.ActivationOp]
    reference: Callable[[np.ndarray], np.ndarray]
    torch_module: Callable[[Any], Any]  # torch.nn -> the same layer
    saves: str  # "input" or "output": what the backward reads
    kinks: tuple[float, ...] = ()
    integers: bool = False  # takes integer tensors (and keeps their dtype)
    elementwise: bool = True


CASES = [
    Case(
        "relu",
        A.relu,
        A.ReLU,
        ops.ReLUOp,
        lambda x: np.maximum(x, 0.0),
        lambda nn: nn.ReLU(),
        "output",
        (0.0,),
        integers=True,
    ),
    Case(
        "leaky_relu",
        lambda t: A.leaky_relu(t, 0.1),
        lambda: A.LeakyReLU(0.1),
        lambda: ops.LeakyReLUOp(0.1),
        lambda x: np.where(x > 0, x, 0.1 * x),
        lambda nn: nn.LeakyReLU(0.1),
        "input",
        (0.0,),
    ),
    Case(
        "sigmoid",
        A.sigmoid,
        A.Sigmoid,
        ops.SigmoidOp,
        lambda x: 1.0 / (1.0 + np.exp(-x)),
        lambda nn: nn.Sigmoid(),
        "output",
    ),
    Case("tanh", A.tanh, A.Tanh, ops.TanhOp, np.tanh, lambda nn: nn.Tanh(), "output"),
    Case(
        "gelu",
        A.gelu,
        A.GELU,
        ops.GELUOp,
        lambda x: 0.5 * x * (1.0 + erf_ref(x / math.sqrt(2.0))),
        lambda nn: nn.GELU(),
        "input",
    ),
    Case(
        "gelu_tanh",
        lambda t: A.gelu(t, approximate="tanh"),
        lambda: A.GELU("tanh"),
        lambda: ops.GELUOp("tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
        lambda nn: nn.GELU(approximate="tanh"),
        "input",
    ),
    Case(
        "softmax",
        A.softmax,
        A.Softmax,
        ops.SoftmaxOp,
        np_softmax,
        lambda nn: nn.Softmax(dim=-1),
        "output",
        elementwise=False,
    ),
    Case(
        "log_softmax",
        A.log_softmax,
        A.LogSoftmax,
        ops.LogSoftmaxOp,
        lambda x: np.log(np_softmax(x)),
        lambda nn: nn.LogSoftmax(dim=-1),
        "output",
        elementwise=False,
    ),
    Case(
        "silu",
        A.silu,
        A.SiLU,
        ops.SiLUOp,
        lambda x: x / (1.0 + np.exp(-x)),
        lambda nn: nn.SiLU(),
        "input",
    ),
    Case(
        "elu",
        A.elu,
        A.ELU,
        ops.ELUOp,
        lambda x: np_elu(x, 1.0),
        lambda nn: nn.ELU(),
        "output",
        (0.0,),
    ),
    Case(
        "elu_alpha_2",
        lambda t: A.elu(t, alpha=2.0),
        lambda: A.ELU(alpha=2.0),
        lambda: ops.ELUOp(2.0),
        lambda x: np_elu(x, 2.0),
        lambda nn: nn.ELU(alpha=2.0),
        "output",
        (0.0,),
    ),
    Case(
        "elu_negative_alpha",
        lambda t: A.elu(t, alpha=-0.5),
        lambda: A.ELU(alpha=-0.5),
        lambda: ops.ELUOp(-0.5),
        lambda x: np_elu(x, -0.5),
        lambda nn: nn.ELU(alpha=-0.5),
        "input",
        (0.0,),
    ),
    Case(
        "selu",
        A.selu,
        A.SELU,
        ops.SELUOp,
        lambda x: SELU_SCALE * np_elu(x, SELU_ALPHA),
        lambda nn: nn.SELU(),
        "output",
        (0.0,),
    ),
    Case(
        "softplus",
        A.softplus,
        A.Softplus,
        ops.SoftplusOp,
        lambda x: np_softplus(x, 1.0, 20.0),
        lambda nn: nn.Softplus(),
        "input",
        (20.0,),
    ),
    Case(
        "softplus_beta_2",
        lambda t: A.softplus(t, beta=2.0, threshold=10.0),
        lambda: A.Softplus(beta=2.0, threshold=10.0),
        lambda: ops.SoftplusOp(2.0, 10.0),
        lambda x: np_softplus(x, 2.0, 10.0),
        lambda nn: nn.Softplus(beta=2.0, threshold=10.0),
        "input",
        (5.0,),
    ),
    Case(
        "relu6",
        A.relu6,
        A.ReLU6,
        ops.ReLU6Op,
        lambda x: np.minimum(np.maximum(x, 0.0), 6.0),
        lambda nn: nn.ReLU6(),
        "output",
        (0.0, 6.0),
        integers=True,
    ),
    Case(
        "hardtanh",
        A.hardtanh,
        A.Hardtanh,
        ops.HardtanhOp,
        lambda x: np.minimum(np.maximum(x, -1.0), 1.0),
        lambda nn: nn.Hardtanh(),
        "output",
        (-1.0, 1.0),
        integers=True,
    ),
    Case(
        "hardtanh_-2_3",
        lambda t: A.hardtanh(t, -2.0, 3.0),
        lambda: A.Hardtanh(-2.0, 3.0),
        lambda: ops.HardtanhOp(-2.0, 3.0),
        lambda x: np.minimum(np.maximum(x, -2.0), 3.0),
        lambda nn: nn.Hardtanh(-2.0, 3.0),
        "output",
        (-2.0, 3.0),
        integers=True,
    ),
    Case(
        "hardswish",
        A.hardswish,
        A.Hardswish,
        ops.HardswishOp,
        lambda x: x * np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0,
        lambda nn: nn.Hardswish(),
        "input",
        (-3.0, 3.0),
    ),
    Case(
        "hardsigmoid",
        A.hardsigmoid,
        A.Hardsigmoid,
        ops.HardsigmoidOp,
        lambda x: np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0,
        lambda nn: nn.Hardsigmoid(),
        "input",
        (-3.0, 3.0),
    ),
    Case(
        "logsigmoid",
        A.logsigmoid,
        A.LogSigmoid,
        ops.LogSigmoidOp,
        lambda x: -np.log1p(np.exp(-x)),
        lambda nn: nn.LogSigmoid(),
        "output",
    ),
    Case(
        "mish",
        A.mish,
        A.Mish,
        ops.MishOp,
        lambda x: x * np.tanh(np.log1p(np.exp(x))),
        lambda nn: nn.Mish(),
        "input",
    ),
]
BY_NAME = {case.name: case for case in CASES}
NAMES = sorted(BY_NAME)


def away_from_kinks(x: np.ndarray, kinks: tuple[float, ...]) -> np.ndarray:
    """Move values within 1e-3 of a kink a quarter away: finite differences across a kink
    measure neither one-sided derivative."""
    for kink in kinks:
        x = np.where(np.abs(x - kink) < 1e-3, kink + 0.25, x)
    return x


def test_the_table_covers_every_activation_op_and_module() -> None:
    assert {type(case.op()) for case in CASES} == set(A.ACTIVATION_OPS)
    modules = {
        value
        for value in vars(A).values()
        if isinstance(value, type) and issubclass(value, A.Activation) and value is not A.Activation
    }
    assert {type(case.module()) for case in CASES} == modules


# --------------------------------------------------------------------- forward
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(x=arrays(shapes(min_dims=1, max_dims=3), np.float64, -20.0, 20.0))
def test_float64_forward_matches_the_reference(name: str, x: np.ndarray) -> None:
    case = BY_NAME[name]
    y = case.function(Tensor(x, dtype=np.float64))
    assert y.dtype == np.float64 and y.shape == x.shape
    assert_close(y, case.reference(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(x=arrays(shapes(min_dims=1, max_dims=3), np.float32, -20.0, 20.0))
def test_float32_forward_matches_the_reference_and_stays_float32(name: str, x: np.ndarray) -> None:
    case = BY_NAME[name]
    y = case.function(Tensor(x))
    assert y.dtype == np.float32 and y.shape == x.shape
    assert_close(y, case.reference(x.astype(np.float64)), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("name", NAMES)
def test_the_module_computes_the_function_and_has_no_parameters(name: str) -> None:
    case = BY_NAME[name]
    x = Tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32) * 4)
    assert np.array_equal(case.module()(x).data, case.function(x).data)
    assert list(case.module().parameters()) == []


@pytest.mark.parametrize("name", NAMES)
def test_float16_is_kept(name: str) -> None:
    x = np.array([-4.0, -1.0, 0.0, 0.5, 4.0], dtype=np.float16)
    y = BY_NAME[name].function(Tensor(x))
    assert y.dtype == np.float16
    assert_close(y, BY_NAME[name].reference(x.astype(np.float64)), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("name", NAMES)
def test_integer_input_is_kept_or_refused_with_the_fix(name: str) -> None:
    case = BY_NAME[name]
    x = np.array([-7, -2, 0, 2, 7], dtype=np.int64)
    if case.integers:
        y = case.function(Tensor(x))
        assert y.dtype == np.int64
        assert y.data.tolist() == case.reference(x.astype(np.float64)).astype(np.int64).tolist()
        return
    with pytest.raises(TypeError) as info:
        case.function(Tensor(x))
    function = case.op().name
    assert str(info.value).startswith(
        f"{function}: expected a floating-point tensor, got dtype int64"
    )
    assert "x.astype(np.float32)" in str(info.value)


@pytest.mark.parametrize("name", NAMES)
def test_the_function_runs_its_op_through_the_dispatch_point(name: str, monkeypatch) -> None:
    case = BY_NAME[name]
    seen: list[ops.ActivationOp] = []
    monkeypatch.setattr(dispatch.hooks, "recorder", lambda op, inputs, out: seen.append(op))
    case.function(Tensor(np.ones((2, 3), dtype=np.float32)))
    (op,) = seen
    assert type(op) is type(case.op()) and repr(op) == repr(case.op())


# --------------------------------------------------------------------- backward
def module_fn(case: Case) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: case.module()(Tensor(x, dtype=np.float64)).data


def module_grad_fn(case: Case) -> Callable[..., list[np.ndarray]]:
    def grad_fn(x: np.ndarray, grad_output: np.ndarray) -> list[np.ndarray]:
        layer = case.module()
        layer(Tensor(x, dtype=np.float64))
        grad = layer.backward(Tensor(grad_output, dtype=np.float64))
        assert grad.dtype == np.float64 and grad.shape == x.shape
        return [grad.data]

    return grad_fn


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20, deadline=None)
@given(x=arrays(shapes(min_dims=0, max_dims=3, max_side=4), np.float64, -12.0, 12.0))
def test_module_backward_matches_finite_differences(name: str, x: np.ndarray) -> None:
    case = BY_NAME[name]
    x = away_from_kinks(x, case.kinks)
    gradcheck(module_fn(case), [x], module_grad_fn(case), rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20, deadline=None)
@given(x=arrays(shapes(min_dims=1, max_dims=3, max_side=4), np.float64, -12.0, 12.0))
def test_op_backward_matches_finite_differences(name: str, x: np.ndarray) -> None:
    case = BY_NAME[name]
    x = away_from_kinks(x, case.kinks)

    def grad_fn(a: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        op = case.op()
        op.forward(a)
        (grad,) = op.backward(g, (True,))
        return [grad]

    gradcheck(lambda a: case.op().forward(a), [x], grad_fn, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=15, deadline=None)
@given(x=arrays(shapes(min_dims=1, max_dims=3), np.float32), seed=st.integers(0, 2**16))
def test_module_backward_equals_the_op_derivative(name: str, x: np.ndarray, seed: int) -> None:
    """The Module's manual backward and the Op's derivative (what autograd calls) agree."""
    case = BY_NAME[name]
    g = np.random.default_rng(seed).standard_normal(x.shape).astype(np.float32)
    layer = case.module()
    layer(Tensor(x))
    grad = layer.backward(Tensor(g))
    op = case.op()
    apply(op, Tensor(x))
    (expected,) = vjp(op, g, (True,))
    assert grad.dtype == np.float32
    assert np.array_equal(grad.data, expected)


@pytest.mark.parametrize("name", NAMES)
def test_the_module_keeps_only_what_its_backward_reads_and_then_nothing(name: str) -> None:
    case = BY_NAME[name]
    layer = case.module()
    x = Tensor(np.linspace(-4, 4, 10, dtype=np.float32).reshape(2, 5))
    y = layer(x)
    assert layer._ctx is not None
    (saved,) = layer._ctx.saved
    assert saved is (y.data if case.saves == "output" else x.data)
    layer.backward(Tensor(np.ones((2, 5), dtype=np.float32)))
    assert layer._ctx is None and not any(isinstance(v, np.ndarray) for v in vars(layer).values())


@pytest.mark.parametrize("name", NAMES)
def test_a_forward_without_grad_mode_keeps_nothing(name: str) -> None:
    layer = BY_NAME[name].module()
    previous = dispatch.set_grad_mode(False)
    try:
        layer(Tensor(np.ones(3, dtype=np.float32)))
    finally:
        dispatch.set_grad_mode(previous)
    assert layer._ctx is None
    with pytest.raises(RuntimeError, match=r"\.backward: call forward first"):
        layer.backward(Tensor(np.ones(3, dtype=np.float32)))


# --------------------------------------------------------------------- stability
EXTREMES = [-1e4, -1000.0, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 1000.0, 1e4]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scale", [1.0, 1e20])
def test_outputs_and_gradients_are_finite_at_extremes(name: str, dtype, scale: float) -> None:
    """No overflow, invalid value or division warning, forward or backward, at +-1e4 (and
    +-1e24): the stable forms never evaluate exp of a large positive number."""
    x = Tensor(np.array(EXTREMES, dtype=dtype) * dtype(scale), dtype=dtype)
    g = Tensor(np.random.default_rng(0).standard_normal(x.shape).astype(dtype), dtype=dtype)
    layer = BY_NAME[name].module()
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = layer(x)
        grad = layer.backward(g)
    assert y.dtype == dtype and grad.dtype == dtype
    assert np.isfinite(y.data).all(), y
    assert np.isfinite(grad.data).all(), grad


# --------------------------------------------------------------------- parity with PyTorch
def parity_points() -> np.ndarray:
    """A grid, every kink of the table (and a hair either side), and extreme inputs."""
    kinks = sorted({k for case in CASES for k in case.kinks})
    hair = [k + d for k in kinks for d in (-1e-9, 0.0, 1e-9)]
    return np.array([*np.linspace(-12.0, 12.0, 97), *hair, *EXTREMES, 25.0, -25.0])


# PyTorch's float64 hardsigmoid/hardswish use the float32 constant 1/6 in their derivative
BACKWARD_RTOL = {"hardsigmoid": 1e-7, "hardswish": 1e-7}


@pytest.mark.parity
@pytest.mark.parametrize("name", NAMES)
def test_parity_with_pytorch_forward_and_backward_in_float64(name: str) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity needs torch")
    case = BY_NAME[name]
    x = parity_points()
    g = np.random.default_rng(1).standard_normal(x.shape)
    torch_x = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch_y = case.torch_module(torch.nn)(torch_x)
    torch_y.backward(torch.from_numpy(g))

    layer = case.module()
    y = layer(Tensor(x, dtype=np.float64))
    manual = layer.backward(Tensor(g, dtype=np.float64))
    op = case.op()
    apply(op, Tensor(x, dtype=np.float64))
    (derivative,) = vjp(op, g, (True,))

    expected_y, expected_grad = torch_y.detach().numpy(), torch_x.grad.numpy()
    assert_close(y, expected_y, rtol=1e-12, atol=1e-15, msg=f"{name} forward")
    rtol = BACKWARD_RTOL.get(name, 1e-10)
    assert_close(manual, expected_grad, rtol=rtol, atol=1e-13, msg=f"{name} manual backward")
    assert_close(derivative, expected_grad, rtol=rtol, atol=1e-13, msg=f"{name} Op backward")


@pytest.mark.parity
@pytest.mark.parametrize("name", [case.name for case in CASES if case.kinks])
def test_derivatives_at_the_kinks_are_pytorch_s(name: str) -> None:
    """Exactly PyTorch's convention at each kink (relu6 at 0 and 6, hardswish at +-3, ...)."""
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity needs torch")
    case = BY_NAME[name]
    x = np.array(case.kinks)
    torch_x = torch.tensor(x, requires_grad=True)
    case.torch_module(torch.nn)(torch_x).sum().backward()
    op = case.op()
    op.forward(x)
    (grad,) = op.backward(np.ones_like(x), (True,))
    assert_close(grad, torch_x.grad.numpy(), rtol=BACKWARD_RTOL.get(name, 1e-15), atol=0.0)


@pytest.mark.parity
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("inplace", [False, True])
def test_module_reprs_are_pytorch_s(name: str, inplace: bool) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity needs torch")
    case = BY_NAME[name]
    ours, theirs = case.module(), case.torch_module(torch.nn)
    if inplace:
        if not hasattr(theirs, "inplace"):
            assert not hasattr(ours, "inplace") or not ours.inplace
            return
        ours.inplace = theirs.inplace = True
    assert repr(ours) == repr(theirs)
