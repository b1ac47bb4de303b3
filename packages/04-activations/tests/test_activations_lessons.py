"""Systems lessons: operation counts, saved memory and gradient saturation, as numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.activations import (
    ELU,
    GELU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    activation_cost,
    saturation_report,
)
from tinytorch.tensor import Tensor

LAYERS = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "gelu": GELU,
    "gelu_tanh": lambda: GELU("tanh"),
    "softmax": Softmax,
    "log_softmax": LogSoftmax,
    "silu": SiLU,
    "elu": ELU,
    "selu": SELU,
    "softplus": Softplus,
    "relu6": ReLU6,
    "hardtanh": Hardtanh,
    "hardswish": Hardswish,
    "hardsigmoid": Hardsigmoid,
    "logsigmoid": LogSigmoid,
    "mish": Mish,
}
ELEMENTWISE = sorted(set(LAYERS) - {"gelu_tanh", "softmax", "log_softmax"})


def test_activation_cost_scales_with_n_and_dtype() -> None:
    cost = activation_cost("sigmoid", 1000)
    assert cost.elements == 1000 and cost.saved == "output"
    assert cost.saved_bytes == 4000
    assert activation_cost("sigmoid", 1000, np.float64).saved_bytes == 8000
    assert cost.forward_ops == 7 * 1000 and cost.backward_ops == 3 * 1000
    assert cost.transcendentals == 1000
    assert activation_cost("relu", 0).forward_ops == 0


def test_relu_is_the_cheapest_and_needs_no_transcendental() -> None:
    n = 10_000
    costs = {name: activation_cost(name, n) for name in LAYERS}
    assert costs["relu"].transcendentals == 0 and costs["leaky_relu"].transcendentals == 0
    assert all(c.forward_ops >= costs["relu"].forward_ops for c in costs.values())
    assert costs["relu"].forward_ops + costs["relu"].backward_ops == 3 * n
    assert costs["gelu"].transcendentals > costs["sigmoid"].transcendentals
    assert costs["gelu_tanh"].forward_ops > costs["gelu"].forward_ops


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_saved_tensor_matches_what_the_module_keeps(name: str) -> None:
    """The lesson's "saved" column is what each Module's Op really holds between forward and
    backward: the output array itself, or the input array itself, and its byte count."""
    layer = LAYERS[name]()
    x = Tensor(np.linspace(-3, 3, 10, dtype=np.float32).reshape(2, 5))
    y = layer(x)
    cost = activation_cost(name, 10)
    assert layer._ctx is not None
    (saved,) = layer._ctx.saved
    assert saved is (y.data if cost.saved == "output" else x.data)
    assert saved.nbytes == cost.saved_bytes


def test_output_saving_activations_keep_no_extra_array_in_a_linear_stack() -> None:
    """Saving the output costs nothing extra when the next layer keeps it anyway; saving the
    input keeps one more array alive per layer."""
    n = 1_000_000
    extra = {name: activation_cost(name, n).saved == "input" for name in LAYERS}
    assert not any(extra[name] for name in ("relu", "sigmoid", "tanh", "elu", "selu", "relu6"))
    assert all(extra[name] for name in ("gelu", "silu", "mish", "softplus", "hardswish"))
    assert activation_cost("silu", n).saved_bytes == 4 * n


def test_the_hard_activations_need_no_transcendental() -> None:
    n = 1000
    for name in ("relu6", "hardtanh", "hardswish", "hardsigmoid"):
        assert activation_cost(name, n).transcendentals == 0, name
    assert activation_cost("hardswish", n).forward_ops < activation_cost("silu", n).forward_ops
    assert activation_cost("mish", n).transcendentals > activation_cost("silu", n).transcendentals


def test_activation_cost_rejects_unknown_names_and_negative_sizes() -> None:
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; choose one of \["):
        activation_cost("swish", 10)
    with pytest.raises(ValueError, match="'silu'"):
        activation_cost("swish", 10)  # the message lists the names
    with pytest.raises(ValueError, match="n must be >= 0"):
        activation_cost("relu", -1)


def test_saturation_of_sigmoid_and_tanh() -> None:
    x = np.array([0.0, 5.0, -10.0])  # sigmoid'(5) = 6.6e-3, sigmoid'(10) = 4.5e-5
    sig = saturation_report(x, "sigmoid")
    assert sig.fraction_saturated == pytest.approx(1 / 3)
    assert sig.activation == "sigmoid" and sig.threshold == 1e-3
    tan = saturation_report(x, "tanh")  # tanh'(5) = 1.8e-4
    assert tan.fraction_saturated == pytest.approx(2 / 3)
    assert saturation_report([0.0], "sigmoid").mean_local_grad == 0.25
    assert saturation_report([0.0], "tanh").mean_local_grad == 1.0


def test_saturation_thresholds_are_where_the_derivative_crosses() -> None:
    assert saturation_report([6.8], "sigmoid").fraction_saturated == 0.0
    assert saturation_report([7.0], "sigmoid").fraction_saturated == 1.0
    assert saturation_report([4.1], "tanh").fraction_saturated == 0.0
    assert saturation_report([4.2], "tanh").fraction_saturated == 1.0


def test_dead_relu_units_and_leaky_relu_never_saturates() -> None:
    x = np.array([-2.0, -1.0, 1.0, 3.0])
    assert saturation_report(x, "relu").fraction_saturated == 0.5
    assert saturation_report(x, "relu").mean_local_grad == 0.5
    assert saturation_report(x, "leaky_relu").fraction_saturated == 0.0
    assert saturation_report(Tensor(x), "gelu").fraction_saturated == 0.0


def test_wide_pre_activations_saturate_sigmoid() -> None:
    """A badly scaled init (std 10 instead of 1) leaves most sigmoid units without gradient."""
    z = np.random.default_rng(0).standard_normal(10_000)
    narrow = saturation_report(z, "sigmoid").fraction_saturated
    wide = saturation_report(10 * z, "sigmoid").fraction_saturated
    assert narrow < 0.01 and wide > 0.4


def test_saturation_report_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown activation 'softmax'"):
        saturation_report([1.0], "softmax")
    with pytest.raises(ValueError, match="x is empty"):
        saturation_report([], "tanh")


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_saturation_report_is_the_mean_of_the_module_s_own_derivative(name: str) -> None:
    """For every elementwise activation the report is computed from its real backward."""
    x = np.linspace(-12, 12, 241)
    layer = LAYERS[name]()
    layer(Tensor(x, dtype=np.float64))
    local = np.abs(layer.backward(Tensor(np.ones_like(x), dtype=np.float64)).data)
    report = saturation_report(x, name)
    assert report.activation == name
    assert report.mean_local_grad == pytest.approx(local.mean(), rel=1e-12)
    assert report.fraction_saturated == pytest.approx(np.mean(local < 1e-3), rel=1e-12)


def test_hard_activations_saturate_exactly_outside_their_range() -> None:
    x = np.array([-5.0, -3.0, -1.0, 0.0, 1.0, 3.0, 5.0, 7.0])
    assert saturation_report(x, "hardtanh").fraction_saturated == 7 / 8  # |x| >= 1
    assert saturation_report(x, "relu6").fraction_saturated == 5 / 8  # x <= 0 or x >= 6
    assert saturation_report(x, "hardsigmoid").fraction_saturated == 5 / 8  # |x| >= 3
    assert saturation_report(x, "hardswish").fraction_saturated == 2 / 8  # x <= -3


def test_elu_family_saturates_on_the_negative_side_only() -> None:
    x = np.array([-10.0, -6.8, 0.0, 10.0, 100.0])  # elu'(-6.8) = 1.1e-3, elu'(-10) = 4.5e-5
    for name in ("elu", "softplus", "silu", "mish"):
        report = saturation_report(x, name)
        assert report.fraction_saturated == 1 / 5, name
    assert saturation_report(x, "selu").fraction_saturated == 1 / 5
    assert saturation_report(x, "logsigmoid").fraction_saturated == 2 / 5  # x = 10 and 100
