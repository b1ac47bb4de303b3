"""Parity with PyTorch: the same weights and inputs give the same outputs and gradients as
torch.nn.Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d (train and eval, running statistics
included), both through autograd and through the Modules' manual backward."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.setup.testing import assert_close
from tinytorch.spatial import AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, MaxPool2d
from tinytorch.tensor import Tensor

torch = pytest.importorskip(
    "torch", reason="PyTorch not installed: parity tests need torch==2.13.0"
)

pytestmark = pytest.mark.parity


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def run_both(layer: Any, torch_layer: Any, x: np.ndarray, seed: int = 1) -> dict[str, Any]:
    """Forward and backward of both layers on x with one random dL/dy; every result as arrays:
    outputs, input gradients (autograd and manual), parameter gradients."""
    inputs = Tensor(x, requires_grad=True)
    out = layer(inputs)
    torch_inputs = torch.tensor(x, requires_grad=True)
    torch_out = torch_layer(torch_inputs)
    grad = rng(seed).standard_normal(out.shape).astype(np.float32)
    manual = layer.backward(Tensor(grad)).data
    layer.zero_grad()
    torch_layer.zero_grad()
    out.backward(grad)
    torch_out.backward(torch.from_numpy(grad))
    return {
        "out": (out.data, torch_out.detach().numpy()),
        "grad_input": (inputs.grad.data, torch_inputs.grad.numpy()),
        "manual_grad_input": (manual, torch_inputs.grad.numpy()),
        **{
            f"grad_{name}": (param.grad.data, dict(torch_layer.named_parameters())[name].grad)
            for name, param in layer.named_parameters()
        },
    }


def check(results: dict[str, Any], rtol: float = 1e-5, atol: float = 1e-5) -> None:
    for name, (ours, theirs) in results.items():
        theirs = theirs.numpy() if hasattr(theirs, "numpy") else theirs
        assert_close(ours, theirs, rtol=rtol, atol=atol, msg=name)


CONV_CONFIGS = [
    (3, 8, 3, 1, 0, 1, 1, True),
    (3, 8, 3, 1, 1, 1, 1, True),
    (4, 6, 3, 2, 1, 1, 1, False),
    (4, 6, 3, 1, 2, 2, 1, True),
    (4, 6, 3, 2, 1, 1, 2, True),
    (4, 8, (3, 5), (2, 1), (1, 2), (2, 1), 2, True),
    (6, 6, 3, 1, 1, 1, 6, True),
    (4, 6, 3, 1, "same", 2, 2, True),
    (4, 6, (2, 4), 1, "same", 1, 1, False),
    (3, 4, 1, 1, 0, 1, 1, True),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("config", CONV_CONFIGS, ids=str)
def test_conv2d(config: tuple[Any, ...]) -> None:
    c_in, c_out, kernel, stride, padding, dilation, groups, bias = config
    layer = Conv2d(c_in, c_out, kernel, stride, padding, dilation, groups, bias, rng=rng(0))
    torch_layer = torch.nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation, groups, bias)
    with torch.no_grad():
        torch_layer.weight.copy_(torch.from_numpy(layer.weight.data))
        if bias:
            torch_layer.bias.copy_(torch.from_numpy(layer.bias.data))  # type: ignore[union-attr]
    x = rng(2).standard_normal((3, c_in, 9, 8)).astype(np.float32)
    check(run_both(layer, torch_layer, x))


def test_conv2d_init_bounds_match_pytorch() -> None:
    """Same distribution family and bound: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    ours = Conv2d(8, 16, 3, groups=2, rng=rng(0)).weight.data
    theirs = torch.nn.Conv2d(8, 16, 3, groups=2).weight.detach().numpy()
    bound = 1 / np.sqrt(4 * 9)
    assert np.abs(ours).max() <= bound and np.abs(theirs).max() <= bound
    assert abs(ours.std() - theirs.std()) < 0.2 * bound


POOL_CONFIGS = [
    (2, None, 0),
    (3, 2, 1),
    (3, 1, 1),
    (2, 3, 0),
    ((3, 2), (1, 2), (1, 0)),
    ((2, 4), (2, 3), (1, 2)),
]


@pytest.mark.parametrize("config", POOL_CONFIGS, ids=str)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling(kind: str, config: tuple[Any, ...]) -> None:
    ours, theirs = {"max": (MaxPool2d, torch.nn.MaxPool2d), "avg": (AvgPool2d, torch.nn.AvgPool2d)}[
        kind
    ]
    x = rng(3).standard_normal((2, 3, 9, 8)).astype(np.float32)
    check(run_both(ours(*config), theirs(*config), x), rtol=1e-6, atol=1e-6)


def test_max_pool_ties_route_like_pytorch() -> None:
    x = np.round(rng(4).standard_normal((2, 2, 6, 6))).astype(np.float32)  # many ties
    check(run_both(MaxPool2d(3, 1, 1), torch.nn.MaxPool2d(3, 1, 1), x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("ours", "theirs", "shape"),
    [
        (BatchNorm2d, "BatchNorm2d", (8, 4, 5, 5)),
        (BatchNorm1d, "BatchNorm1d", (16, 4)),
        (BatchNorm1d, "BatchNorm1d", (6, 4, 7)),
    ],
)
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_train_then_eval(
    ours: Any, theirs: str, shape: tuple[int, ...], momentum: float | None, affine: bool
) -> None:
    layer = ours(4, eps=1e-3, momentum=momentum, affine=affine)
    torch_layer = getattr(torch.nn, theirs)(4, eps=1e-3, momentum=momentum, affine=affine)
    if affine:
        weight, bias = rng(5).uniform(0.5, 1.5, 4), rng(6).standard_normal(4)
        layer.weight.data[...] = weight
        layer.bias.data[...] = bias
        with torch.no_grad():
            torch_layer.weight.copy_(torch.from_numpy(layer.weight.data))
            torch_layer.bias.copy_(torch.from_numpy(layer.bias.data))
    for step in range(3):  # training: batch statistics, running statistics updated
        x = (rng(10 + step).standard_normal(shape) * 3 + 2).astype(np.float32)
        check(run_both(layer, torch_layer, x, seed=step), rtol=1e-4, atol=1e-5)
    state, torch_state = layer.state_dict(), torch_layer.state_dict()
    assert list(state) == list(torch_state)
    for name in state:
        assert_close(state[name], torch_state[name].numpy(), rtol=1e-5, atol=1e-6, msg=name)
    layer.eval()
    torch_layer.eval()
    x = (rng(20).standard_normal(shape) * 3 + 2).astype(np.float32)
    check(run_both(layer, torch_layer, x), rtol=1e-5, atol=1e-5)
    assert_close(layer.running_mean, torch_layer.running_mean.numpy(), rtol=1e-5, atol=1e-6)
