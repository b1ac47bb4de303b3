"""Parity with PyTorch: the same weights and inputs give the same outputs and gradients as
torch.nn.Conv1d, Conv2d, ConvTranspose2d, MaxPool2d (dilation, ceil_mode, indices), AvgPool2d
(ceil_mode, count_include_pad, divisor_override), BatchNorm1d/2d (train and eval, running
statistics included, or not tracked) and GroupNorm, both through autograd and through the
Modules' manual backward."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from tinytorch.setup.testing import assert_close
from tinytorch.spatial import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    ConvTranspose2d,
    GroupNorm,
    MaxPool2d,
    avg_pool2d,
    batch_norm,
    conv_transpose2d,
    group_norm,
    max_pool2d,
)
from tinytorch.tensor import Tensor

torch = pytest.importorskip(
    "torch", reason="PyTorch not installed: parity tests need torch==2.13.0"
)

pytestmark = pytest.mark.parity


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def run_both(layer: Any, torch_layer: Any, x: np.ndarray, seed: int = 1) -> dict[str, Any]:
    """Forward and backward of both layers on x with one random dL/dy; every result as arrays:
    outputs, input gradients (autograd and manual), parameter gradients (autograd and manual).

    One forward: autograd's backward (keeping the graph), then the layer's hand-written
    backward, which differentiates the very Op autograd just did."""
    inputs = Tensor(x, requires_grad=True)
    out = layer(inputs)
    torch_inputs = torch.tensor(x, requires_grad=True)
    torch_out = torch_layer(torch_inputs)
    grad = rng(seed).standard_normal(out.shape).astype(np.float32)
    layer.zero_grad()
    torch_layer.zero_grad()
    out.backward(grad, retain_graph=True)
    torch_out.backward(torch.from_numpy(grad))
    automatic = {name: param.grad.data for name, param in layer.named_parameters()}  # type: ignore[union-attr]
    layer.zero_grad()
    manual = layer.backward(Tensor(grad)).data
    theirs = dict(torch_layer.named_parameters())
    return {
        "out": (out.data, torch_out.detach().numpy()),
        "grad_input": (inputs.grad.data, torch_inputs.grad.numpy()),  # type: ignore[union-attr]
        "manual_grad_input": (manual, torch_inputs.grad.numpy()),
        **{f"grad_{name}": (grad_, theirs[name].grad) for name, grad_ in automatic.items()},
        **{
            f"manual_grad_{name}": (param.grad.data, theirs[name].grad)  # type: ignore[union-attr]
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


def copy_parameters(layer: Any, torch_layer: Any) -> None:
    """PyTorch's parameters := ours (same names, same layouts)."""
    with torch.no_grad():
        for name, param in layer.named_parameters():
            dict(torch_layer.named_parameters())[name].copy_(torch.from_numpy(param.data))


CONV1D_CONFIGS = [
    (3, 8, 3, 1, 0, 1, 1, True),
    (3, 8, 3, 2, 1, 1, 1, False),
    (4, 6, 5, 1, 2, 2, 2, True),
    (4, 4, 3, 3, 1, 1, 4, True),
    (4, 6, 4, 1, "same", 2, 2, True),
    (4, 6, 2, 1, "valid", 1, 1, True),
    (2, 3, 1, 1, 0, 1, 1, True),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("config", CONV1D_CONFIGS, ids=str)
def test_conv1d(config: tuple[Any, ...]) -> None:
    c_in, c_out, kernel, stride, padding, dilation, groups, bias = config
    layer = Conv1d(c_in, c_out, kernel, stride, padding, dilation, groups, bias, rng=rng(0))
    torch_layer = torch.nn.Conv1d(c_in, c_out, kernel, stride, padding, dilation, groups, bias)
    assert layer.kernel_size == torch_layer.kernel_size and layer.stride == torch_layer.stride
    assert layer.padding == torch_layer.padding and layer.dilation == torch_layer.dilation
    assert repr(layer) == repr(torch_layer)
    copy_parameters(layer, torch_layer)
    x = rng(2).standard_normal((3, c_in, 13)).astype(np.float32)
    check(run_both(layer, torch_layer, x))


CONV_TRANSPOSE_CONFIGS = [
    # (in, out, kernel, stride, padding, output_padding, groups, bias, dilation)
    (3, 8, 3, 1, 0, 0, 1, True, 1),
    (4, 6, 3, 2, 1, 1, 1, True, 1),
    (4, 6, 4, 2, 1, 0, 2, False, 1),
    (4, 6, (3, 5), (2, 1), (1, 2), (1, 0), 2, True, (1, 2)),
    (6, 6, 3, 1, 1, 0, 6, True, 1),
    (4, 4, 3, 1, 2, 1, 1, True, 2),
    (3, 4, 2, 3, 0, 2, 1, True, 1),
    (3, 2, 1, 1, 0, 0, 1, True, 1),
]


@pytest.mark.parametrize("config", CONV_TRANSPOSE_CONFIGS, ids=str)
def test_conv_transpose2d(config: tuple[Any, ...]) -> None:
    c_in, c_out, kernel, stride, padding, output_padding, groups, bias, dilation = config
    options = (c_in, c_out, kernel, stride, padding, output_padding, groups, bias, dilation)
    layer = ConvTranspose2d(*options, rng=rng(0))
    torch_layer = torch.nn.ConvTranspose2d(*options)
    assert layer.weight.shape == tuple(torch_layer.weight.shape)
    assert repr(layer) == repr(torch_layer)
    copy_parameters(layer, torch_layer)
    x = rng(2).standard_normal((2, c_in, 5, 6)).astype(np.float32)
    check(run_both(layer, torch_layer, x))


def test_conv_transpose2d_output_size_and_init_like_pytorch() -> None:
    layer = ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2, rng=rng(0))
    torch_layer = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    copy_parameters(layer, torch_layer)
    x = rng(1).standard_normal((1, 4, 5, 5)).astype(np.float32)
    for size in [(9, 9), (10, 9), (1, 6, 10, 10)]:
        ours = layer(Tensor(x), output_size=size)
        theirs = torch_layer(torch.from_numpy(x), output_size=list(size))
        assert_close(ours, theirs.detach().numpy(), rtol=1e-5, atol=1e-5, msg=str(size))
    fresh = torch.nn.ConvTranspose2d(4, 6, 3, groups=2)
    bound = 1 / np.sqrt(3 * 9)  # fan_in = weight.shape[1] * kH * kW
    assert np.abs(fresh.weight.detach().numpy()).max() <= bound
    assert np.abs(fresh.bias.detach().numpy()).max() <= bound  # type: ignore[union-attr]
    assert (
        np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.9 * bound
    )


def test_conv_transpose2d_functional_float64() -> None:
    generator = rng(3)
    x = generator.standard_normal((2, 4, 4, 3))
    weight = generator.standard_normal((4, 3, 3, 2))
    bias = generator.standard_normal(6)
    ours = conv_transpose2d(
        Tensor(x, dtype=np.float64), Tensor(weight, dtype=np.float64),
        Tensor(bias, dtype=np.float64), (2, 3), (1, 0), (1, 2), 2, (1, 2),
    )  # fmt: skip
    theirs = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x), torch.from_numpy(weight), torch.from_numpy(bias),
        (2, 3), (1, 0), (1, 2), 2, (1, 2),
    )  # fmt: skip
    assert ours.dtype == np.float64
    assert_close(ours, theirs.numpy(), rtol=1e-12, atol=1e-12)


MAX_POOL_MODES = [
    # (kernel_size, stride, padding, dilation, ceil_mode)
    *[
        (k, s, p, d, c)
        for k, s, p, d, c in itertools.product([2, 3], [1, 2, 3], [0, 1], [1, 2], [False, True])
    ],
    ((3, 2), (2, 1), (1, 0), (2, 3), True),
    ((2, 4), (3, 2), (1, 2), (1, 2), True),
]


@pytest.mark.parametrize("config", MAX_POOL_MODES, ids=str)
def test_max_pool_modes_and_indices(config: tuple[Any, ...]) -> None:
    kernel, stride, padding, dilation, ceil_mode = config
    x = rng(3).standard_normal((2, 3, 9, 8)).astype(np.float32)
    layer = MaxPool2d(kernel, stride, padding, dilation, ceil_mode=ceil_mode)
    torch_layer = torch.nn.MaxPool2d(kernel, stride, padding, dilation, ceil_mode=ceil_mode)
    check(run_both(layer, torch_layer, x), rtol=1e-6, atol=1e-6)  # overlaps add in any order
    _, indices = max_pool2d(Tensor(x), kernel, stride, padding, dilation, ceil_mode, True)
    _, theirs = torch.nn.functional.max_pool2d(
        torch.from_numpy(x), kernel, stride, padding, dilation, ceil_mode, True
    )
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices.data, theirs.numpy())


def test_max_pool_module_return_indices_like_pytorch() -> None:
    x = np.round(rng(4).standard_normal((2, 2, 7, 7))).astype(np.float32)  # ties
    x[0, 0, 2, 3] = np.nan
    x[1, 1, :3, :3] = -np.inf
    ours, indices = MaxPool2d(3, 2, 1, return_indices=True, ceil_mode=True)(Tensor(x))
    theirs, torch_indices = torch.nn.MaxPool2d(3, 2, 1, return_indices=True, ceil_mode=True)(
        torch.from_numpy(x)
    )
    assert_close(ours, theirs.numpy(), rtol=0, atol=0)
    np.testing.assert_array_equal(indices.data, torch_indices.numpy())
    inputs, torch_inputs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    max_pool2d(inputs, 3, 2, 1, ceil_mode=True).sum().backward()
    torch.nn.functional.max_pool2d(torch_inputs, 3, 2, 1, ceil_mode=True).sum().backward()
    assert_close(inputs.grad, torch_inputs.grad.numpy(), rtol=1e-6, atol=1e-6)  # type: ignore[arg-type]


AVG_POOL_MODES = [
    # (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    *[
        (k, s, p, c, i, None)
        for k, s, p, c, i in itertools.product(
            [2, 3], [1, 2, 3], [0, 1], [False, True], [True, False]
        )
    ],
    (3, 2, 1, True, True, 5),
    ((3, 2), (2, 3), (1, 1), True, False, 2),
    ((2, 4), (3, 2), (1, 2), True, True, None),
    ((2, 4), (3, 2), (1, 2), True, False, None),
]


@pytest.mark.parametrize("config", AVG_POOL_MODES, ids=str)
def test_avg_pool_modes(config: tuple[Any, ...]) -> None:
    x = rng(5).standard_normal((2, 3, 9, 8)).astype(np.float32)
    check(run_both(AvgPool2d(*config), torch.nn.AvgPool2d(*config), x), rtol=1e-6, atol=1e-6)


def test_avg_pool_functional_float64() -> None:
    x = rng(6).standard_normal((2, 2, 7, 6))
    for config in [(3, 2, 1, True, False, None), ((2, 3), 2, (1, 1), True, True, 4)]:
        ours = avg_pool2d(Tensor(x, dtype=np.float64), *config)
        theirs = torch.nn.functional.avg_pool2d(torch.from_numpy(x), *config)
        assert_close(ours, theirs.numpy(), rtol=1e-13, atol=1e-13, msg=str(config))


@pytest.mark.parametrize(
    ("ours", "theirs", "shape"),
    [
        (BatchNorm2d, "BatchNorm2d", (8, 4, 5, 5)),
        (BatchNorm1d, "BatchNorm1d", (16, 4)),
        (BatchNorm1d, "BatchNorm1d", (6, 4, 7)),
    ],
)
@pytest.mark.parametrize("bias", [True, False])
def test_batch_norm_without_running_stats(
    ours: Any, theirs: str, shape: tuple[int, ...], bias: bool
) -> None:
    layer = ours(4, eps=1e-3, track_running_stats=False, bias=bias)
    torch_layer = getattr(torch.nn, theirs)(4, eps=1e-3, track_running_stats=False, bias=bias)
    assert torch_layer.running_mean is None and layer.running_mean is None
    assert list(layer.state_dict()) == list(torch_layer.state_dict())
    assert list(layer.state_dict()) == (["weight", "bias"] if bias else ["weight"])
    assert repr(layer) == repr(torch_layer)
    layer.weight.data[...] = rng(5).uniform(0.5, 1.5, 4)
    if bias:
        layer.bias.data[...] = rng(6).standard_normal(4)
    copy_parameters(layer, torch_layer)
    x = (rng(7).standard_normal(shape) * 3 + 2).astype(np.float32)
    check(run_both(layer, torch_layer, x), rtol=1e-4, atol=1e-5)
    layer.eval()
    torch_layer.eval()
    check(run_both(layer, torch_layer, x), rtol=1e-4, atol=1e-5)  # batch statistics, in eval


GROUP_NORM_CONFIGS = [
    # (num_groups, num_channels, input shape, affine, bias)
    (2, 6, (4, 6, 5, 5), True, True),
    (3, 6, (4, 6, 7), True, True),
    (1, 4, (3, 4, 3, 3), True, True),
    (4, 4, (2, 4, 5, 6), False, True),
    (2, 4, (5, 4), True, True),
    (2, 4, (1, 4, 3, 3), True, True),
    (2, 6, (3, 6, 2, 4), True, False),
]


@pytest.mark.parametrize("config", GROUP_NORM_CONFIGS, ids=str)
def test_group_norm(config: tuple[Any, ...]) -> None:
    groups, channels, shape, affine, bias = config
    layer = GroupNorm(groups, channels, eps=1e-4, affine=affine, bias=bias)
    torch_layer = torch.nn.GroupNorm(groups, channels, eps=1e-4, affine=affine, bias=bias)
    assert repr(layer) == repr(torch_layer)
    for name, param in layer.named_parameters():
        param.data[...] = rng(len(name)).uniform(0.5, 1.5, channels)
    copy_parameters(layer, torch_layer)
    x = (rng(8).standard_normal(shape) * 3 + 2).astype(np.float32)
    check(run_both(layer, torch_layer, x), rtol=1e-4, atol=1e-5)
    assert list(layer.state_dict()) == list(torch_layer.state_dict())


def test_functional_norms_with_weight_or_bias_alone() -> None:
    x = rng(9).standard_normal((4, 6, 3, 3))
    weight, bias = rng(10).uniform(0.5, 1.5, 6), rng(11).standard_normal(6)
    functional = torch.nn.functional
    for w, b in [(weight, None), (None, bias), (weight, bias), (None, None)]:
        ours_w = None if w is None else Tensor(w, dtype=np.float64)
        ours_b = None if b is None else Tensor(b, dtype=np.float64)
        theirs_w = None if w is None else torch.from_numpy(w)
        theirs_b = None if b is None else torch.from_numpy(b)
        ours = group_norm(Tensor(x, dtype=np.float64), 3, ours_w, ours_b)
        theirs = functional.group_norm(torch.from_numpy(x), 3, theirs_w, theirs_b)
        assert_close(ours, theirs.numpy(), rtol=1e-12, atol=1e-12)
        ours = batch_norm(Tensor(x, dtype=np.float64), None, None, ours_w, ours_b, training=True)
        theirs = functional.batch_norm(
            torch.from_numpy(x), None, None, theirs_w, theirs_b, training=True
        )
        assert_close(ours, theirs.numpy(), rtol=1e-12, atol=1e-12)
