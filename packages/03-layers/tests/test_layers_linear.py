"""Linear and Dropout: forward against NumPy, hand-written backward against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.layers import Dropout, Linear, Parameter, accumulate_grad
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def float64_linear(weight: np.ndarray, bias: np.ndarray | None) -> Linear:
    """A Linear whose parameters are exactly these float64 arrays."""
    out_features, in_features = weight.shape
    layer = Linear(in_features, out_features, bias=bias is not None)
    layer.weight = Parameter(weight, dtype=np.float64)
    if bias is not None:
        layer.bias = Parameter(bias, dtype=np.float64)
    return layer


def linear_fn(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return float64_linear(weight, bias)(Tensor(x, dtype=np.float64)).data


def linear_grad_fn(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, grad_output: np.ndarray
) -> list[np.ndarray]:
    layer = float64_linear(weight, bias)
    layer(Tensor(x, dtype=np.float64))
    grad_input = layer.backward(Tensor(grad_output, dtype=np.float64))
    assert layer.weight.grad is not None and layer.bias is not None
    assert layer.bias.grad is not None
    grads = [grad_input, layer.weight.grad, layer.bias.grad]
    assert all(g.dtype == np.float64 for g in grads), [g.dtype for g in grads]
    return [g.data for g in grads]


# --------------------------------------------------------------------- Linear forward
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_linear_forward_matches_numpy(shape: tuple[int, ...]) -> None:
    layer = Linear(4, 3, rng=rng(0))
    x = rng(1).standard_normal(shape).astype(np.float32)
    y = layer(Tensor(x))
    assert isinstance(y, Tensor) and y.shape == (*shape[:-1], 3) and y.dtype == np.float32
    assert layer.bias is not None
    assert_close(y, x @ layer.weight.data.T + layer.bias.data, rtol=1e-5, atol=1e-6)


def test_linear_without_bias() -> None:
    layer = Linear(4, 3, bias=False, rng=rng(0))
    assert layer.bias is None
    x = rng(1).standard_normal((6, 4)).astype(np.float32)
    assert_close(layer(Tensor(x)), x @ layer.weight.data.T, rtol=1e-5, atol=1e-6)


def test_linear_parameters_shapes_and_init_bounds() -> None:
    layer = Linear(50, 20, rng=rng(0))
    assert layer.bias is not None
    assert layer.weight.shape == (20, 50) and layer.bias.shape == (20,)
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad
    bound = 1 / math.sqrt(50)
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound  # uses the range, not a tiny part


def test_linear_seeded_rng_is_reproducible() -> None:
    first, second, other = (
        Linear(8, 4, rng=rng(7)),
        Linear(8, 4, rng=rng(7)),
        Linear(8, 4, rng=rng(8)),
    )
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.weight.data, other.weight.data)


def test_linear_wrong_input_width_names_both_sizes() -> None:
    layer = Linear(4, 3)
    with pytest.raises(ValueError, match=r"expected input \(\*, 4\), got shape \(2, 5\)"):
        layer(Tensor(np.ones((2, 5))))


def test_linear_rejects_non_positive_sizes() -> None:
    with pytest.raises(ValueError, match="in_features and out_features must be positive"):
        Linear(0, 3)


# --------------------------------------------------------------------- Linear backward
def test_linear_backward_matches_gradcheck() -> None:
    inputs = [
        rng(0).standard_normal((5, 4)),
        rng(1).standard_normal((3, 4)),
        rng(2).standard_normal(3),
    ]
    result = gradcheck(linear_fn, inputs, linear_grad_fn, rtol=1e-5, atol=1e-8)
    assert result.ok and max(result.max_rel_errors) < 1e-5


def test_linear_backward_matches_gradcheck_for_3d_input() -> None:
    inputs = [
        rng(3).standard_normal((2, 3, 4)),
        rng(4).standard_normal((2, 4)),
        rng(5).standard_normal(2),
    ]
    assert gradcheck(linear_fn, inputs, linear_grad_fn, rtol=1e-5, atol=1e-8).ok


def test_linear_backward_closed_form_in_float32() -> None:
    layer = Linear(4, 3, rng=rng(0))
    x = rng(1).standard_normal((6, 4)).astype(np.float32)
    g = rng(2).standard_normal((6, 3)).astype(np.float32)
    layer(Tensor(x))
    grad_input = layer.backward(Tensor(g))
    assert layer.bias is not None and layer.weight.grad is not None and layer.bias.grad is not None
    assert grad_input.dtype == layer.weight.grad.dtype == layer.bias.grad.dtype == np.float32
    assert_close(grad_input, g @ layer.weight.data, rtol=1e-5, atol=1e-6)
    assert_close(layer.weight.grad, g.T @ x, rtol=1e-5, atol=1e-6)
    assert_close(layer.bias.grad, g.sum(axis=0), rtol=1e-5, atol=1e-6)


def test_linear_gradients_accumulate_over_two_backward_calls() -> None:
    x, w, b = (
        rng(0).standard_normal((5, 4)),
        rng(1).standard_normal((3, 4)),
        rng(2).standard_normal(3),
    )
    g1, g2 = rng(3).standard_normal((5, 3)), rng(4).standard_normal((5, 3))
    layer = float64_linear(w, b)
    layer(Tensor(x, dtype=np.float64))
    layer.backward(Tensor(g1, dtype=np.float64))
    with pytest.raises(RuntimeError, match="releases what the forward saved"):
        layer.backward(Tensor(g2, dtype=np.float64))  # the first backward released the Op
    layer(Tensor(x, dtype=np.float64))
    layer.backward(Tensor(g2, dtype=np.float64))
    assert layer.weight.grad is not None and layer.bias is not None and layer.bias.grad is not None
    assert layer.weight.grad.dtype == np.float64
    assert_close(layer.weight.grad, (g1 + g2).T @ x, rtol=1e-12, atol=1e-12)
    assert_close(layer.bias.grad, (g1 + g2).sum(axis=0), rtol=1e-12, atol=1e-12)
    layer.zero_grad()
    layer(Tensor(x, dtype=np.float64))
    layer.backward(Tensor(g1, dtype=np.float64))
    assert_close(layer.weight.grad, g1.T @ x, rtol=1e-12, atol=1e-12)


def test_linear_backward_errors() -> None:
    layer = Linear(4, 3)
    with pytest.raises(RuntimeError, match="call forward first"):
        layer.backward(Tensor(np.ones((2, 3))))
    layer(Tensor(np.ones((2, 4))))
    shapes = r"grad_output has shape \(2, 4\), but the forward output had shape \(2, 3\)"
    with pytest.raises(ValueError, match=shapes):
        layer.backward(Tensor(np.ones((2, 4))))


def test_accumulate_grad_checks_shape_and_copies() -> None:
    param = Parameter(np.zeros((2, 3)))
    grad = np.ones((2, 3), dtype=np.float32)
    accumulate_grad(param, grad)
    grad[...] = 100.0  # the caller reuses its buffer: the stored gradient must not change
    assert param.grad is not None
    np.testing.assert_array_equal(param.grad.data, np.ones((2, 3)))
    accumulate_grad(param, np.full((2, 3), 2.0))
    assert param.grad.dtype == np.float32
    np.testing.assert_array_equal(param.grad.data, np.full((2, 3), 3.0))
    with pytest.raises(
        ValueError, match=r"gradient of shape \(3,\) for a tensor of shape \(2, 3\)"
    ):
        accumulate_grad(param, np.ones(3))


@settings(max_examples=30, deadline=None)
@given(
    lead=st.lists(st.integers(1, 4), min_size=0, max_size=2).map(tuple),
    in_features=st.integers(1, 6),
    out_features=st.integers(1, 6),
    bias=st.booleans(),
)
def test_linear_shapes_property(
    lead: tuple[int, ...], in_features: int, out_features: int, bias: bool
) -> None:
    layer = Linear(in_features, out_features, bias=bias, rng=rng(0))
    x = rng(1).standard_normal((*lead, in_features)).astype(np.float32)
    y = layer(Tensor(x))
    expected = x @ layer.weight.data.T + (layer.bias.data if layer.bias is not None else 0)
    assert y.shape == (*lead, out_features)
    assert_close(y, expected, rtol=1e-5, atol=1e-5)
    grad_input = layer.backward(Tensor(np.ones(y.shape, dtype=np.float32)))
    assert grad_input.shape == x.shape
    assert layer.weight.grad is not None and layer.weight.grad.shape == layer.weight.shape
    rows = int(np.prod(lead))
    if layer.bias is not None:
        assert layer.bias.grad is not None
        assert_close(layer.bias.grad, np.full(out_features, float(rows)), rtol=1e-6, atol=0)


# --------------------------------------------------------------------- Dropout
def test_dropout_eval_and_p_zero_are_identity() -> None:
    x = Tensor(rng(0).standard_normal((4, 5)).astype(np.float32))
    drop = Dropout(0.5, rng=rng(1)).eval()
    assert drop(x) is x
    g = Tensor(np.ones((4, 5)))
    assert drop.backward(g) is g
    assert Dropout(0.0, rng=rng(1))(x) is x


def test_dropout_training_zeroes_and_scales_against_the_mask() -> None:
    p = 0.3
    x = rng(0).standard_normal((200, 50)).astype(np.float32)
    drop = Dropout(p, rng=rng(1))
    y = drop(Tensor(x))
    expected_keep = rng(1).random(x.shape) >= p  # the same draws the layer made
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_array_equal(y.data == 0, ~expected_keep)
    assert_close(y.data[expected_keep], x[expected_keep] / (1 - p), rtol=1e-6, atol=0)
    assert abs((~expected_keep).mean() - p) < 0.02  # about p of the elements are dropped


def test_dropout_backward_uses_the_forward_mask() -> None:
    p = 0.5
    drop = Dropout(p, rng=rng(2))
    x = np.ones((30, 40), dtype=np.float32)
    y = drop(Tensor(x))
    g = rng(3).standard_normal((30, 40)).astype(np.float32)
    grad_input = drop.backward(Tensor(g))
    kept = y.data != 0
    assert grad_input.dtype == np.float32
    np.testing.assert_array_equal(grad_input.data[~kept], 0)
    assert_close(grad_input.data[kept], g[kept] / (1 - p), rtol=1e-6, atol=0)


def test_dropout_backward_keeps_float64() -> None:
    drop = Dropout(0.5, rng=rng(0))
    y = drop(Tensor(np.ones((8, 8)), dtype=np.float64))
    grad_input = drop.backward(Tensor(np.ones((8, 8)), dtype=np.float64))
    assert y.dtype == grad_input.dtype == np.float64
    np.testing.assert_array_equal(grad_input.data, y.data)


def test_dropout_preserves_the_mean() -> None:
    drop = Dropout(0.4, rng=rng(4))
    y = drop(Tensor(np.ones((500, 400), dtype=np.float32)))
    assert abs(float(y.data.mean()) - 1.0) < 0.01  # 200,000 samples: standard error ~0.0018


def test_dropout_p_out_of_range_raises() -> None:
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=rf"Dropout: p must be in \[0, 1\], got {p}"):
            Dropout(p)


def test_dropout_with_p_one_zeroes_everything_as_pytorch() -> None:
    drop = Dropout(1.0, rng=rng(0))
    y = drop(Tensor(np.ones((4, 5), dtype=np.float32)))
    np.testing.assert_array_equal(y.data, np.zeros((4, 5)))
    grad_input = drop.backward(Tensor(np.ones((4, 5), dtype=np.float32)))
    np.testing.assert_array_equal(grad_input.data, np.zeros((4, 5)))
    assert np.isfinite(y.data).all() and np.isfinite(grad_input.data).all()


def test_a_layer_holds_no_activation_after_its_backward() -> None:
    layer, drop = Linear(6, 4, rng=rng(0)), Dropout(0.5, rng=rng(1))
    x = Tensor(rng(2).standard_normal((8, 6)).astype(np.float32))
    y = drop(layer(x))
    assert layer._ctx is not None and any(isinstance(v, np.ndarray) for v in layer._ctx.saved)
    layer.backward(drop.backward(Tensor(np.ones(y.shape, dtype=np.float32))))
    assert layer._ctx is None and drop._ctx is None  # the Ops (and their saved x, W, mask) are gone


@settings(max_examples=20, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple),
    p=st.floats(0.05, 0.9),
)
def test_dropout_shape_and_values_property(shape: tuple[int, ...], p: float) -> None:
    x = rng(0).uniform(1.0, 2.0, shape).astype(np.float32)  # never 0, so a 0 means "dropped"
    y = Dropout(p, rng=rng(1))(Tensor(x))
    assert y.shape == x.shape
    kept = y.data != 0
    assert_close(y.data[kept], x[kept] / np.float32(1 - p), rtol=1e-6, atol=0)


def test_functional_linear_and_dropout_match_the_layers() -> None:
    from tinytorch.layers import dropout, linear

    layer = Linear(4, 3, rng=rng(0))
    x = Tensor(rng(1).standard_normal((5, 4)).astype(np.float32))
    assert layer.bias is not None
    np.testing.assert_array_equal(linear(x, layer.weight, layer.bias).data, layer(x).data)
    no_bias = x.data @ layer.weight.data.T
    assert_close(linear(x, layer.weight).data, no_bias, rtol=1e-6, atol=1e-6)
    assert dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(dropout(x, 1.0).data, np.zeros((5, 4)))
    masked = dropout(x, 0.5, rng=rng(2)).data
    kept = masked != 0
    assert 0 < kept.sum() < x.numel()
    assert_close(masked[kept], 2 * x.data[kept], rtol=1e-6, atol=0)
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\], got 1.5"):
        dropout(x, 1.5)
