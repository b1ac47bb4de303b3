"""Systems lessons: operation counts, saved memory and gradient saturation, as numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.activations import (
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
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
}


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
    """The lesson's "saved" column is what each Module really holds between forward and backward."""
    layer = LAYERS[name]()
    layer(Tensor(np.ones((2, 5), dtype=np.float32)))
    saved = activation_cost(name, 10).saved
    assert getattr(layer, f"_{saved}", None) is not None
    other = "input" if saved == "output" else "output"
    assert not hasattr(layer, f"_{other}")
    assert getattr(layer, f"_{saved}").nbytes == activation_cost(name, 10).saved_bytes


def test_activation_cost_rejects_unknown_names_and_negative_sizes() -> None:
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; choose one of \["):
        activation_cost("swish", 10)
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
