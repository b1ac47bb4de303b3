"""Init schemes: empirical statistics vs the formulas, in-place fills, seeds, init_model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytorch.activations import ReLU
from tinytorch.layers import Linear, Parameter
from tinytorch.networks import (
    MLP,
    Sequential,
    calculate_gain,
    constant_,
    fan_in_and_fan_out,
    init_model,
    kaiming_normal_,
    kaiming_uniform_,
    normal_,
    ones_,
    uniform_,
    xavier_normal_,
    xavier_uniform_,
    zeros_,
)

FAN_OUT, FAN_IN = 300, 500  # a (300, 500) weight: 150,000 samples, std known to ~0.2%


def weight(shape: tuple[int, ...] = (FAN_OUT, FAN_IN)) -> Parameter:
    return Parameter(np.zeros(shape, dtype=np.float32))


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_std(values: np.ndarray, expected: float) -> None:
    """Mean 0 within 5 standard errors, std within 2% (its standard error is ~1/sqrt(2n))."""
    assert abs(values.mean()) < 5 * expected / math.sqrt(values.size)
    assert values.std() == pytest.approx(expected, rel=0.02)


def test_fans_of_linear_and_conv_weights() -> None:
    assert fan_in_and_fan_out(weight((8, 3))) == (3, 8)
    assert fan_in_and_fan_out(weight((16, 3, 5, 5))) == (3 * 25, 16 * 25)
    with pytest.raises(ValueError, match=r"at least 2 dims, got shape \(8,\)"):
        fan_in_and_fan_out(weight((8,)))


def test_gains() -> None:
    assert calculate_gain("linear") == 1.0
    assert calculate_gain("sigmoid") == 1.0
    assert calculate_gain("tanh") == pytest.approx(5 / 3)
    assert calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        calculate_gain("swish")


def test_xavier_uniform_bounds_and_std() -> None:
    w = xavier_uniform_(weight(), rng=rng())
    bound = math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert np.abs(w.data).max() <= bound
    assert np.abs(w.data).max() > 0.99 * bound
    assert_std(w.data, bound / math.sqrt(3))
    gained = xavier_uniform_(weight(), gain=2.0, rng=rng())
    assert np.abs(gained.data).max() == pytest.approx(2 * bound, rel=0.01)


def test_xavier_normal_std() -> None:
    assert_std(xavier_normal_(weight(), rng=rng()).data, math.sqrt(2 / (FAN_IN + FAN_OUT)))
    tanh_gain = calculate_gain("tanh")
    assert_std(
        xavier_normal_(weight(), gain=tanh_gain, rng=rng()).data,
        tanh_gain * math.sqrt(2 / (FAN_IN + FAN_OUT)),
    )


def test_kaiming_uniform_bounds_and_std() -> None:
    w = kaiming_uniform_(weight(), rng=rng())
    bound = math.sqrt(6 / FAN_IN)
    assert np.abs(w.data).max() <= bound
    assert np.abs(w.data).max() > 0.99 * bound
    assert_std(w.data, math.sqrt(2 / FAN_IN))


def test_kaiming_normal_std_and_modes() -> None:
    assert_std(kaiming_normal_(weight(), rng=rng()).data, math.sqrt(2 / FAN_IN))
    assert_std(kaiming_normal_(weight(), mode="fan_out", rng=rng()).data, math.sqrt(2 / FAN_OUT))
    linear = kaiming_normal_(weight(), nonlinearity="linear", rng=rng())
    assert_std(linear.data, 1 / math.sqrt(FAN_IN))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan'"):
        kaiming_normal_(weight(), mode="fan")


def test_kaiming_on_conv_weight_uses_receptive_field() -> None:
    w = kaiming_normal_(weight((64, 16, 3, 3)), rng=rng())
    assert_std(w.data, math.sqrt(2 / (16 * 9)))


def test_normal_uniform_constant_fills() -> None:
    assert_std(normal_(weight(), std=0.05, rng=rng()).data, 0.05)
    shifted = normal_(weight(), mean=3.0, std=0.5, rng=rng()).data
    assert shifted.mean() == pytest.approx(3.0, abs=0.01)
    u = uniform_(weight(), -0.5, 1.5, rng=rng()).data
    assert u.min() >= -0.5 and u.max() < 1.5 and u.mean() == pytest.approx(0.5, abs=0.01)
    assert (zeros_(weight((3, 4))).data == 0).all()
    assert (ones_(weight((3, 4))).data == 1).all()
    assert (constant_(weight((2,)), 0.25).data == 0.25).all()


def test_fills_are_in_place_keep_dtype_and_return_the_tensor() -> None:
    w = weight((20, 30))
    array = w.data
    assert xavier_uniform_(w, rng=rng()) is w
    assert w.data is array and w.dtype == np.float32
    w64 = Parameter(np.zeros((20, 30)), dtype=np.float64)
    kaiming_normal_(w64, rng=rng())
    assert w64.dtype == np.float64


def test_seeded_generators_repeat() -> None:
    a = kaiming_uniform_(weight((10, 10)), rng=rng(7)).data
    b = kaiming_uniform_(weight((10, 10)), rng=rng(7)).data
    c = kaiming_uniform_(weight((10, 10)), rng=rng(8)).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    ("scheme", "std"),
    [
        ("kaiming_normal", lambda fan_in, fan_out: math.sqrt(2 / fan_in)),
        ("kaiming_uniform_", lambda fan_in, fan_out: math.sqrt(2 / fan_in)),
        ("xavier_normal", lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out))),
        ("xavier_uniform", lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out))),
        ("normal", lambda fan_in, fan_out: 0.01),
    ],
)
def test_init_model_sets_every_linear_weight_and_zeroes_biases(scheme, std) -> None:
    model = Sequential(MLP([400, 300, 200], rng=rng()), ReLU(), Linear(200, 100, rng=rng()))
    assert init_model(model, scheme, rng(1)) is model
    linears = [m for m in model.modules() if isinstance(m, Linear)]
    assert len(linears) == 3
    for layer in linears:
        assert_std(layer.weight.data, std(layer.in_features, layer.out_features))
        assert (layer.bias.data == 0).all()


def test_init_model_zeros_callable_and_seed() -> None:
    model = init_model(MLP([4, 3, 2], rng=rng()), "zeros")
    assert all((p.data == 0).all() for p in model.parameters())
    init_model(model, lambda w, rng: constant_(w, 0.5))
    assert (model[0].weight.data == 0.5).all() and (model[0].bias.data == 0).all()
    a = init_model(MLP([4, 3, 2]), "xavier_uniform", rng(3)).state_dict()
    b = init_model(MLP([4, 3, 2]), "xavier_uniform", rng(3)).state_dict()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_init_model_unknown_scheme() -> None:
    with pytest.raises(ValueError, match=r"unknown scheme 'glorot'.*xavier_uniform"):
        init_model(MLP([2, 2]), "glorot")
