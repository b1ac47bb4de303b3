"""GroupNorm: forward against the per-(example, group) loop oracle, the closed-form backward
against finite differences and against autograd through a composed Tensor-op version, the
Module's manual backward, and what sets it apart from BatchNorm (no batch dependence)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.autograd import held_activation_bytes, no_grad
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.spatial import GroupNorm, group_norm, group_norm_naive
from tinytorch.spatial.ops import GroupNormOp
from tinytorch.tensor import Tensor

# (shape, num_groups)
CASES = [((3, 6, 4, 5), 3), ((4, 6), 2), ((2, 4, 7), 4), ((2, 6, 2, 3), 1), ((1, 3, 2, 2), 3)]


def data(shape: tuple[int, ...], seed: int = 0, dtype: Any = np.float64) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * 2 + 3).astype(dtype)


def affine(channels: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    return generator.uniform(0.5, 1.5, channels), generator.standard_normal(channels)


def composed(x: Tensor, groups: int, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    """Group norm from Tensor ops (reshape, mean, var, sqrt, arithmetic): autograd
    differentiates it op by op."""
    n, c = x.shape[:2]
    rows = x.reshape((n, groups, -1))
    mean = rows.mean(dim=2, keepdim=True)
    var = rows.var(dim=2, keepdim=True, correction=0)
    normalised = ((rows - mean) / (var + eps).sqrt()).reshape(x.shape)
    shape = (1, c, *([1] * (x.ndim - 2)))
    return normalised * weight.reshape(shape) + bias.reshape(shape)


@pytest.mark.parametrize(("shape", "groups"), CASES)
def test_forward_matches_the_oracle(shape: tuple[int, ...], groups: int) -> None:
    x = data(shape)
    weight, bias = affine(shape[1])
    op = GroupNormOp(groups, 1e-5)
    out = op.forward(x, weight, bias)
    expected, _, var = group_norm_naive(x, groups, weight, bias)
    assert_close(out, expected, rtol=1e-10, atol=1e-10)
    xhat, invstd, _ = op.saved
    assert invstd.shape == (shape[0], groups, 1)  # one statistic per (example, group)
    assert_close(invstd[..., 0], 1 / np.sqrt(var + 1e-5), rtol=1e-10)
    assert xhat.shape == (shape[0], groups, int(np.prod(shape[1:])) // groups)
    plain = group_norm(Tensor(x, dtype=np.float64), groups)
    assert_close(plain, group_norm_naive(x, groups)[0], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("shape", "groups"), CASES)
def test_backward_matches_finite_differences(shape: tuple[int, ...], groups: int) -> None:
    x = data(shape)
    weight, bias = affine(shape[1])

    def backward(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> list:
        op = GroupNormOp(groups, 1e-5)
        op.forward(x, w, b)
        return list(op.backward(g, (True, True, True)))

    forward = lambda x, w, b: GroupNormOp(groups, 1e-5).forward(x, w, b)  # noqa: E731
    gradcheck(forward, [x, weight, bias], backward, rtol=1e-5, atol=1e-7)


def test_backward_without_affine_matches_finite_differences() -> None:
    x = data((3, 4, 2, 2))

    def backward(x: np.ndarray, g: np.ndarray) -> list:
        op = GroupNormOp(2, 1e-5)
        op.forward(x)
        return list(op.backward(g, (True,)))

    gradcheck(lambda x: GroupNormOp(2, 1e-5).forward(x), [x], backward, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("shape", "groups"), CASES[:3])
def test_closed_form_equals_autograd_through_the_composed_version(
    shape: tuple[int, ...], groups: int
) -> None:
    x = data(shape)
    weight, bias = affine(shape[1])
    grad = np.random.default_rng(3).standard_normal(shape)
    results = []
    for build in (
        lambda x, w, b: group_norm(x, groups, w, b),
        lambda x, w, b: composed(x, groups, w, b),
    ):
        tensors = [Tensor(a, dtype=np.float64, requires_grad=True) for a in (x, weight, bias)]
        out = build(*tensors)
        out.backward(grad)
        results.append([out.data, *[t.grad.data for t in tensors]])  # type: ignore[union-attr]
    for closed, by_autograd in zip(*results, strict=True):
        assert_close(closed, by_autograd, rtol=1e-9, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 3),
    groups=st.integers(1, 3),
    per_group=st.integers(1, 3),
    spatial=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    seed=st.integers(0, 2**16),
)
def test_random_shapes_forward_and_directional_derivative(
    n: int, groups: int, per_group: int, spatial: list[int], seed: int
) -> None:
    """Equal to the oracle; the backward predicts f(x + t*v) - f(x - t*v) along a random v."""
    shape = (n, groups * per_group, *spatial)
    generator = np.random.default_rng(seed)
    x = generator.standard_normal(shape) * 2 + 1
    weight, bias = affine(shape[1], seed)
    op = GroupNormOp(groups, 1e-5)
    out = op.forward(x, weight, bias)
    assert_close(out, group_norm_naive(x, groups, weight, bias)[0], rtol=1e-9, atol=1e-9)
    grad = generator.standard_normal(shape)
    grad_input, _, _ = op.backward(grad, (True, False, False))
    direction = generator.standard_normal(shape)
    t = 1e-6
    plus = GroupNormOp(groups, 1e-5).forward(x + t * direction, weight, bias)
    minus = GroupNormOp(groups, 1e-5).forward(x - t * direction, weight, bias)
    numeric = np.sum(grad * (plus - minus)) / (2 * t)
    assert np.isclose(np.sum(grad_input * direction), numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("affine_", [True, False])
def test_module_manual_backward_equals_autograd(affine_: bool) -> None:
    layer = GroupNorm(2, 6, affine=affine_)
    if affine_:
        weight, bias = affine(6)
        layer.weight.data[...] = weight  # type: ignore[union-attr]
        layer.bias.data[...] = bias  # type: ignore[union-attr]
    x = Tensor(data((3, 6, 4, 4), dtype=np.float32), requires_grad=True)
    out = layer(x)
    assert out.dtype == np.float32
    assert held_activation_bytes(layer) > x.nbytes  # x_hat (and 1/std)
    grad = np.random.default_rng(4).standard_normal(out.shape).astype(np.float32)
    out.backward(grad, retain_graph=True)
    automatic = {"input": x.grad.data} | {n: p.grad.data for n, p in layer.named_parameters()}  # type: ignore[union-attr]
    layer.zero_grad()
    manual = {"input": layer.backward(Tensor(grad)).data}
    manual |= {n: p.grad.data for n, p in layer.named_parameters()}  # type: ignore[union-attr]
    assert set(manual) == ({"input", "weight", "bias"} if affine_ else {"input"})
    for key in manual:
        assert manual[key].dtype == np.float32, key
        assert_close(manual[key], automatic[key], rtol=1e-5, atol=1e-5, msg=key)
    assert held_activation_bytes(layer) == 0


def test_each_example_is_normalised_alone_and_train_equals_eval() -> None:
    """Unlike BatchNorm: an example's output does not depend on the rest of the batch, a batch
    of one works, and eval mode computes the same thing (no running statistics)."""
    layer = GroupNorm(3, 6)
    batch = data((4, 6, 3, 3), dtype=np.float32)
    together = layer(Tensor(batch)).data
    alone = np.concatenate([layer(Tensor(batch[i : i + 1])).data for i in range(4)])
    assert_close(together, alone, rtol=1e-6, atol=1e-6)
    layer.eval()
    with no_grad():
        assert_close(layer(Tensor(batch)), together, rtol=0, atol=0)
    assert list(layer.named_buffers()) == []
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]


def test_num_groups_one_is_layer_norm_and_num_channels_is_instance_norm() -> None:
    x = data((2, 4, 3, 3))
    layer_norm = group_norm(Tensor(x, dtype=np.float64), 1).data
    axes = (1, 2, 3)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    assert_close(layer_norm, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-10, atol=1e-10)
    instance_norm = group_norm(Tensor(x, dtype=np.float64), 4).data
    mean, var = x.mean(axis=(2, 3), keepdims=True), x.var(axis=(2, 3), keepdims=True)
    assert_close(instance_norm, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-10, atol=1e-10)


def test_weight_and_bias_are_each_optional() -> None:
    x = data((3, 4, 2, 3))
    weight, bias = affine(4)
    for w, b in [(weight, None), (None, bias)]:
        out = group_norm(
            Tensor(x, dtype=np.float64),
            2,
            None if w is None else Tensor(w, dtype=np.float64),
            None if b is None else Tensor(b, dtype=np.float64),
        )
        assert_close(out, group_norm_naive(x, 2, w, b)[0], rtol=1e-10, atol=1e-10)

    def backward(x: np.ndarray, w: np.ndarray, g: np.ndarray) -> list:
        op = GroupNormOp(2, 1e-5)
        op.forward(x, w)
        return list(op.backward(g, (True, True)))

    forward = lambda x, w: GroupNormOp(2, 1e-5).forward(x, w)  # noqa: E731
    gradcheck(forward, [x, weight], backward, rtol=1e-5, atol=1e-7)
    layer = GroupNorm(2, 4, bias=False)
    inputs = Tensor(x.astype(np.float32), requires_grad=True)
    out = layer(inputs)
    out.backward(np.ones(out.shape, dtype=np.float32), retain_graph=True)
    automatic = layer.weight.grad.data.copy()  # type: ignore[union-attr]
    layer.zero_grad()
    assert_close(
        layer.backward(Tensor(np.ones(out.shape, dtype=np.float32))), inputs.grad, atol=1e-5
    )  # type: ignore[arg-type]
    assert_close(layer.weight.grad, automatic, rtol=1e-5, atol=1e-6)  # type: ignore[arg-type, union-attr]


def test_repr_and_errors() -> None:
    assert repr(GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    assert (
        repr(GroupNorm(2, 4, affine=False))
        == "GroupNorm(2, 4, eps=1e-05, affine=False, bias=False)"
    )
    assert GroupNorm(2, 4, affine=False).num_parameters() == 0
    assert GroupNorm(2, 4, bias=False).num_parameters() == 4
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups"):
        GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"\(N, C, \*\) with C = num_channels = 4"):
        GroupNorm(2, 4)(Tensor(np.ones((2, 3, 5))))
    with pytest.raises(ValueError, match="cannot be split into num_groups=4"):
        group_norm(Tensor(np.ones((2, 6))), 4)
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        group_norm(Tensor(np.ones((2, 4))), 2, Tensor(np.ones(3)), Tensor(np.ones(3)))
    with pytest.raises(RuntimeError, match="call forward first"):
        GroupNorm(2, 4).backward(Tensor(np.ones((2, 4))))
