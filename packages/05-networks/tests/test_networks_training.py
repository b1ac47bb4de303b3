"""Manual training: the MSE and its gradient, the SGD step, the loop, and XOR to 100%."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.layers import Linear
from tinytorch.networks import (
    MLP,
    binary_accuracy,
    mse_loss,
    mse_loss_grad,
    sgd_step,
    train_manual,
    train_xor,
    xor_data,
    xor_model,
)
from tinytorch.setup import assert_close, gradcheck
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_mse_loss_matches_numpy() -> None:
    p, t = rng(1).standard_normal((5, 3)), rng(2).standard_normal((5, 3))
    assert mse_loss(Tensor(p), Tensor(t)) == pytest.approx(np.mean((p - t) ** 2), rel=1e-6)


def test_mse_loss_grad_matches_finite_differences() -> None:
    target = rng(2).standard_normal((4, 2))

    def loss(p: np.ndarray) -> np.ndarray:
        return np.array(mse_loss(Tensor(p, dtype=np.float64), Tensor(target, dtype=np.float64)))

    def grad(p: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        prediction = Tensor(p, dtype=np.float64)
        return [mse_loss_grad(prediction, Tensor(target, dtype=np.float64)).data * g]

    gradcheck(loss, [rng(1).standard_normal((4, 2))], grad, rtol=1e-5)
    assert (
        mse_loss_grad(Tensor(np.ones(3), dtype=np.float64), Tensor(np.zeros(3))).dtype == np.float64
    )


def test_losses_refuse_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"mse_loss: prediction has shape \(4, 1\) but target"):
        mse_loss(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))
    with pytest.raises(ValueError, match=r"mse_loss_grad: .*reshape the target"):
        mse_loss_grad(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))


def test_sgd_step_moves_against_the_gradient_in_place() -> None:
    net = MLP([2, 3, 1], rng=rng())
    before = {name: p.data.copy() for name, p in net.named_parameters()}
    arrays = [p.data for p in net.parameters()]
    net[0].weight.grad = Tensor(np.ones((3, 2)))
    net[2].bias.grad = Tensor(np.full(1, 2.0))
    sgd_step(net, lr=0.1)
    assert_close(net[0].weight, before["0.weight"] - 0.1, rtol=1e-6)
    assert_close(net[2].bias, before["2.bias"] - 0.2, rtol=1e-6)
    np.testing.assert_array_equal(net[0].bias.data, before["0.bias"])  # no grad: untouched
    assert all(p.data is a for p, a in zip(net.parameters(), arrays, strict=True))


def test_binary_accuracy() -> None:
    prediction = Tensor([[0.9], [0.2], [0.6], [0.4]])
    assert binary_accuracy(prediction, Tensor([[1.0], [0.0], [0.0], [0.0]])) == 0.75
    assert binary_accuracy(prediction, Tensor([[1.0], [0.0], [1.0], [0.0]])) == 1.0


def test_train_manual_fits_a_linear_regression() -> None:
    x = rng(1).standard_normal((64, 3)).astype(np.float32)
    true_w, true_b = np.array([[1.5, -2.0, 0.5]]), 0.3
    y = (x @ true_w.T + true_b).astype(np.float32)
    layer = Linear(3, 1, rng=rng())
    losses = train_manual(layer, Tensor(x), Tensor(y), lr=0.1, epochs=300)
    assert len(losses) == 300 and losses[-1] < 1e-8 < losses[0]
    assert_close(layer.weight, true_w.astype(np.float32), atol=1e-4)
    assert_close(layer.bias, np.array([true_b], dtype=np.float32), atol=1e-4)


def test_xor_data() -> None:
    x, y = xor_data()
    assert x.shape == (4, 2) and y.shape == (4, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(y.data.ravel(), np.logical_xor(x.data[:, 0], x.data[:, 1]))


def test_xor_trains_to_full_accuracy() -> None:
    result = train_xor(seed=0)
    assert result.accuracy == 1.0
    assert result.predictions.shape == (4, 1)
    assert result.losses[-1] < 0.01 < result.losses[0]
    x, y = xor_data()
    assert binary_accuracy(result.model(x), y) == 1.0


def test_xor_training_is_reproducible_and_works_across_seeds() -> None:
    assert train_xor(seed=3).losses == train_xor(seed=3).losses
    assert all(train_xor(seed=seed, epochs=600).accuracy == 1.0 for seed in range(5))


def test_xor_model_layout() -> None:
    model = xor_model(hidden=6, rng=rng())
    assert [type(layer).__name__ for layer in model] == ["Linear", "Tanh", "Linear", "Sigmoid"]
    assert model.num_parameters() == 2 * 6 + 6 + 6 + 1
