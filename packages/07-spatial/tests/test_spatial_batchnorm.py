"""BatchNorm1d/2d: forward against the per-channel loop oracle, running statistics exactly as
PyTorch updates them, the closed-form backward against finite differences and against autograd
through the composed Tensor-op version, train and eval modes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.autograd import held_activation_bytes, no_grad
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.spatial import (
    BatchNorm1d,
    BatchNorm2d,
    batch_norm,
    batch_norm_composed,
    batch_norm_naive,
)
from tinytorch.spatial.ops import BatchNormOp
from tinytorch.tensor import Tensor

SHAPES = [(4, 3, 5, 5), (6, 3), (5, 3, 4), (2, 3, 1, 3)]


def data(shape: tuple[int, ...], seed: int = 0, dtype: Any = np.float32) -> np.ndarray:
    generator = np.random.default_rng(seed)
    return (generator.standard_normal(shape) * 2 + 3).astype(dtype)


def affine(channels: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    return generator.uniform(0.5, 1.5, channels), generator.standard_normal(channels)


def layer_for(shape: tuple[int, ...], **options: Any) -> BatchNorm1d | BatchNorm2d:
    return BatchNorm2d(shape[1], **options) if len(shape) == 4 else BatchNorm1d(shape[1], **options)


# --------------------------------------------------------------------- forward
@pytest.mark.parametrize("shape", SHAPES)
def test_training_forward_matches_the_oracle(shape: tuple[int, ...]) -> None:
    x = data(shape)
    layer = layer_for(shape)
    weight, bias = affine(shape[1])
    layer.weight.data[...] = weight  # type: ignore[union-attr]
    layer.bias.data[...] = bias  # type: ignore[union-attr]
    out = layer(Tensor(x))
    expected, _, _ = batch_norm_naive(x, weight, bias, eps=1e-5)
    assert out.dtype == np.float32
    assert_close(out, expected, rtol=1e-4, atol=1e-5)
    axes = (0, *range(2, len(shape)))
    assert_close(out.data.mean(axis=axes), bias, atol=1e-5)  # normalised, then shifted


@pytest.mark.parametrize("shape", SHAPES)
def test_running_statistics_follow_pytorchs_formula(shape: tuple[int, ...]) -> None:
    """running = (1 - m) * running + m * batch, the variance unbiased (m / (m - 1))."""
    layer = layer_for(shape, momentum=0.3)
    expected_mean, expected_var = np.zeros(shape[1]), np.ones(shape[1])
    count = int(np.prod(shape)) // shape[1]
    for step in range(3):
        x = data(shape, seed=step)
        layer(Tensor(x))
        _, mean, var = batch_norm_naive(x)
        expected_mean = 0.7 * expected_mean + 0.3 * mean
        expected_var = 0.7 * expected_var + 0.3 * var * count / (count - 1)
    assert_close(layer.running_mean, expected_mean, rtol=1e-5, atol=1e-6)
    assert_close(layer.running_var, expected_var, rtol=1e-5, atol=1e-6)
    assert int(layer.num_batches_tracked.item()) == 3
    assert layer.running_mean.dtype == np.float32


def test_momentum_none_is_a_cumulative_average() -> None:
    layer = BatchNorm1d(2, momentum=None)
    batches = [data((8, 2), seed=s) for s in range(4)]
    for x in batches:
        layer(Tensor(x))
    means = [batch_norm_naive(x)[1] for x in batches]
    assert_close(layer.running_mean, np.mean(means, axis=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
def test_eval_uses_running_statistics_and_updates_nothing(shape: tuple[int, ...]) -> None:
    layer = layer_for(shape)
    layer(Tensor(data(shape, seed=1)))
    layer.eval()
    state = layer.state_dict()
    x = data(shape, seed=2)
    out = layer(Tensor(x))
    expected, _, _ = batch_norm_naive(
        x,
        layer.weight.data,  # type: ignore[union-attr]
        layer.bias.data,  # type: ignore[union-attr]
        running_mean=layer.running_mean.data,
        running_var=layer.running_var.data,
        training=False,
    )
    assert_close(out, expected, rtol=1e-5, atol=1e-5)
    for name, value in layer.state_dict().items():
        assert np.array_equal(value, state[name]), name


def test_functional_batch_norm_updates_the_given_buffers() -> None:
    x = data((4, 2, 3, 3))
    running_mean, running_var = Tensor(np.zeros(2)), Tensor(np.ones(2))
    out = batch_norm(Tensor(x), running_mean, running_var, training=True, momentum=1.0)
    _, mean, var = batch_norm_naive(x)
    unbiased = var * 36 / 35  # 36 values per channel
    assert_close(running_mean, mean, rtol=1e-5)
    assert_close(running_var, unbiased, rtol=1e-5)
    frozen = batch_norm(Tensor(x), running_mean, running_var, training=False)
    shape = (1, 2, 1, 1)
    expected = (x - mean.reshape(shape)) / np.sqrt(unbiased + 1e-5).reshape(shape)
    assert_close(frozen, expected, rtol=1e-4, atol=1e-5)
    assert_close(out, batch_norm_naive(x)[0], rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------- backward
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(3, 2, 3, 3), (5, 3), (2, 2, 4)])
def test_backward_matches_finite_differences(shape: tuple[int, ...], training: bool) -> None:
    x = data(shape, dtype=np.float64)
    weight, bias = affine(shape[1])
    running = (np.array([0.5, -1.0, 2.0][: shape[1]]), np.array([2.0, 0.5, 1.5][: shape[1]]))

    def make() -> BatchNormOp:
        return BatchNormOp(training, 1e-5, *running)

    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        return make().forward(x, w, b)

    def backward(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> list:
        op = make()
        op.forward(x, w, b)
        return list(op.backward(g, (True, True, True)))

    gradcheck(forward, [x, weight, bias], backward, rtol=1e-5, atol=1e-7)


def test_backward_without_affine_matches_finite_differences() -> None:
    x = data((4, 3, 2, 2), dtype=np.float64)

    def backward(x: np.ndarray, g: np.ndarray) -> list:
        op = BatchNormOp(True, 1e-5)
        op.forward(x)
        return list(op.backward(g, (True,)))

    gradcheck(lambda x: BatchNormOp(True, 1e-5).forward(x), [x], backward, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (6, 3), (5, 3, 4)])
def test_closed_form_equals_autograd_through_the_composed_version(shape: tuple[int, ...]) -> None:
    """One Op with a closed-form backward == ten recorded Tensor ops differentiated by autograd."""
    x = data(shape, dtype=np.float64)
    weight, bias = affine(shape[1])
    grad = np.random.default_rng(3).standard_normal(shape)
    results = []
    for build in (
        lambda x, w, b: batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: batch_norm_composed(x, w, b),
    ):
        tensors = [Tensor(a, dtype=np.float64, requires_grad=True) for a in (x, weight, bias)]
        out = build(*tensors)
        out.backward(grad)
        results.append([out.data, *[t.grad.data for t in tensors]])  # type: ignore[union-attr]
    for closed, composed in zip(*results, strict=True):
        assert_close(closed, composed, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (6, 3)])
def test_module_manual_backward_equals_autograd(shape: tuple[int, ...], training: bool) -> None:
    layer = layer_for(shape)
    layer(Tensor(data(shape, seed=5)))  # non-trivial running statistics
    layer.train(training)
    weight, bias = affine(shape[1])
    layer.weight.data[...] = weight  # type: ignore[union-attr]
    layer.bias.data[...] = bias  # type: ignore[union-attr]
    x = Tensor(data(shape), requires_grad=True)
    out = layer(x)
    grad = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    out.backward(grad, retain_graph=True)
    automatic = {"input": x.grad.data}  # type: ignore[union-attr]
    automatic |= {n: p.grad.data for n, p in layer.named_parameters()}  # type: ignore[union-attr]
    layer.zero_grad()
    manual = {"input": layer.backward(Tensor(grad)).data}
    manual |= {n: p.grad.data for n, p in layer.named_parameters()}  # type: ignore[union-attr]
    for key in manual:
        assert manual[key].dtype == np.float32, key
        assert_close(manual[key], automatic[key], rtol=1e-5, atol=1e-6, msg=key)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 4),
    c=st.integers(1, 3),
    spatial=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    training=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_random_shapes_forward_and_directional_derivative(
    n: int, c: int, spatial: list[int], training: bool, seed: int
) -> None:
    """Forward equals the oracle; the backward predicts f(x + t*v) - f(x - t*v) along a random
    direction v (one finite difference instead of one per element)."""
    shape = (n, c, *spatial)
    generator = np.random.default_rng(seed)
    x = generator.standard_normal(shape) * 2 + 1
    weight, bias = affine(c, seed)
    running = (generator.standard_normal(c), generator.uniform(0.5, 2.0, c))
    op = BatchNormOp(training, 1e-5, *running)
    out = op.forward(x, weight, bias)
    expected, _, _ = batch_norm_naive(x, weight, bias, 1e-5, *running, training=training)
    assert_close(out, expected, rtol=1e-9, atol=1e-9)
    grad = generator.standard_normal(shape)
    grad_input, _, _ = op.backward(grad, (True, False, False))
    direction = generator.standard_normal(shape)
    t = 1e-6
    plus = BatchNormOp(training, 1e-5, *running).forward(x + t * direction, weight, bias)
    minus = BatchNormOp(training, 1e-5, *running).forward(x - t * direction, weight, bias)
    numeric = np.sum(grad * (plus - minus)) / (2 * t)
    assert np.isclose(np.sum(grad_input * direction), numeric, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------- the Modules
def test_parameters_buffers_and_state_dict() -> None:
    layer = BatchNorm2d(4)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in layer.named_buffers()] == [
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    assert np.array_equal(layer.weight.data, np.ones(4, dtype=np.float32))  # type: ignore[union-attr]
    assert layer.num_batches_tracked.dtype == np.int64
    other = BatchNorm2d(4)
    layer(Tensor(data((3, 4, 2, 2))))
    other.load_state_dict(layer.state_dict())
    assert_close(other.running_var, layer.running_var)
    plain = BatchNorm1d(3, affine=False)
    assert plain.weight is None and plain.num_parameters() == 0
    assert repr(plain) == (
        "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, "
        "track_running_stats=True)"
    )
    out = plain(Tensor(data((5, 3))))
    assert_close(plain.backward(Tensor(np.zeros((5, 3), dtype=np.float32))), np.zeros((5, 3)))
    assert out.shape == (5, 3)


@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (6, 3), (5, 3, 4)])
def test_without_running_stats_every_forward_uses_the_batch(shape: tuple[int, ...]) -> None:
    """track_running_stats=False: no buffers (None, as PyTorch), nothing in state_dict, and
    batch statistics in eval too."""
    layer = layer_for(shape, track_running_stats=False)
    assert layer.running_mean is None and layer.running_var is None
    assert layer.num_batches_tracked is None
    assert list(layer.named_buffers()) == [] and list(layer.state_dict()) == ["weight", "bias"]
    x = data(shape)
    expected, _, _ = batch_norm_naive(x)
    assert_close(layer(Tensor(x)), expected, rtol=1e-4, atol=1e-5)
    layer.eval()
    assert_close(layer(Tensor(x)), expected, rtol=1e-4, atol=1e-5)  # still the batch's
    inputs = Tensor(x, requires_grad=True)
    out = layer(inputs)
    grad = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    out.backward(grad, retain_graph=True)
    manual = layer.backward(Tensor(grad))  # the batch statistics' two extra terms, in eval
    assert_close(manual, inputs.grad, rtol=1e-5, atol=1e-6)  # type: ignore[arg-type]
    assert abs(float(manual.data.sum())) < 1e-3  # sums to ~0 only when the mean depends on x
    single = BatchNorm1d(3, track_running_stats=False).eval()  # batch statistics need a batch
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        single(Tensor(np.ones((1, 3))))


def test_the_layer_holds_no_activation_after_backward_or_under_no_grad() -> None:
    layer = BatchNorm2d(3)
    x = Tensor(data((4, 3, 5, 5)), requires_grad=True)
    out = layer(x)
    assert held_activation_bytes(layer) >= x.nbytes  # x_hat
    out.sum().backward()
    assert held_activation_bytes(layer) == 0
    layer(x)
    layer.backward(Tensor(np.ones((4, 3, 5, 5), dtype=np.float32)))
    assert held_activation_bytes(layer) == 0 and layer._ctx is None
    with no_grad():
        layer(x)
    assert held_activation_bytes(layer) == 0 and layer._ctx is None


def test_weight_and_bias_are_each_optional() -> None:
    """F.batch_norm takes either alone; BatchNorm2d(..., bias=False) has a weight only."""
    x = data((4, 3, 2, 2), dtype=np.float64)
    weight, bias = affine(3)
    for w, b in [(weight, None), (None, bias)]:
        out = batch_norm(
            Tensor(x, dtype=np.float64),
            None,
            None,
            None if w is None else Tensor(w, dtype=np.float64),
            None if b is None else Tensor(b, dtype=np.float64),
            training=True,
        )
        assert_close(out, batch_norm_naive(x, w, b)[0], rtol=1e-10, atol=1e-10)

    def backward(x: np.ndarray, w: np.ndarray, g: np.ndarray) -> list:
        op = BatchNormOp(True, 1e-5)
        op.forward(x, w)
        return list(op.backward(g, (True, True)))

    forward = lambda x, w: BatchNormOp(True, 1e-5).forward(x, w)  # noqa: E731
    gradcheck(forward, [x, weight], backward, rtol=1e-5, atol=1e-7)
    layer = BatchNorm2d(3, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    inputs = Tensor(data((4, 3, 2, 2)), requires_grad=True)
    out = layer(inputs)
    grad = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    out.backward(grad, retain_graph=True)
    automatic = layer.weight.grad.data.copy()  # type: ignore[union-attr]
    layer.zero_grad()
    assert_close(layer.backward(Tensor(grad)), inputs.grad, rtol=1e-5, atol=1e-6)  # type: ignore[arg-type]
    assert_close(layer.weight.grad, automatic, rtol=1e-5, atol=1e-6)  # type: ignore[arg-type, union-attr]


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) with C = num_features = 3"):
        BatchNorm2d(3)(Tensor(np.ones((2, 3, 4))))
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, L\)"):
        BatchNorm1d(3)(Tensor(np.ones((2, 4))))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3)(Tensor(np.ones((1, 3))))
    with pytest.raises(ValueError, match="must be positive"):
        BatchNorm2d(0)
    with pytest.raises(ValueError, match="eval mode needs running_mean"):
        batch_norm(Tensor(np.ones((2, 3))), None, None, training=False)
    with pytest.raises(RuntimeError, match="call forward first"):
        BatchNorm1d(3).backward(Tensor(np.ones((2, 3))))
