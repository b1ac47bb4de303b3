"""Update rules: each optimizer against hand-computed values and an independent NumPy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.layers import Parameter
from tinytorch.optimizers import SGD, Adam, AdamW, RMSprop
from tinytorch.setup.strategies import arrays
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor

STEPS = 6


def gradients(shape: tuple[int, ...], seed: int = 0) -> list[np.ndarray]:
    """STEPS float64 gradients: the same list drives the optimizer and the reference."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(STEPS)]


def run(optimizer_class, p0: np.ndarray, grads: list[np.ndarray], **options) -> list[np.ndarray]:
    """Step a float64 Parameter through ``grads``; the parameter after each step."""
    param = Parameter(p0.copy(), dtype=np.float64)
    optimizer = optimizer_class([param], **options)
    trajectory = []
    for grad in grads:
        param.grad = Tensor(grad, dtype=np.float64)
        optimizer.step()
        trajectory.append(param.data.copy())
    return trajectory


# ------------------------------------------------------------------- references, written plainly
def reference_sgd(p, grads, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    out, velocity = [], None
    for g in grads:
        d = g + weight_decay * p
        if momentum:
            velocity = d if velocity is None else momentum * velocity + (1 - dampening) * d
            d = d + momentum * velocity if nesterov else velocity
        p = p - lr * d
        out.append(p)
    return out


def reference_adam(
    p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False
):
    out, m, v, v_max = [], 0 * p, 0 * p, 0 * p
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p - lr * weight_decay * p
        else:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g**2
        m_hat = m / (1 - betas[0] ** t)
        v_max = np.maximum(v_max, v)
        v_hat = (v_max if amsgrad else v) / (1 - betas[1] ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def reference_rmsprop(
    p, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False
):
    out, square, mean, velocity = [], 0 * p, 0 * p, 0 * p
    for g in grads:
        g = g + weight_decay * p
        square = alpha * square + (1 - alpha) * g**2
        mean = alpha * mean + (1 - alpha) * g
        rms = np.sqrt(square - mean**2) if centered else np.sqrt(square)
        step = g / (rms + eps)
        if momentum:
            velocity = momentum * velocity + step
            step = velocity
        p = p - lr * step
        out.append(p)
    return out


P0 = np.random.default_rng(42).standard_normal((3, 4))
GRADS = gradients((3, 4))


def check(trajectory: list[np.ndarray], reference: list[np.ndarray]) -> None:
    for step, (actual, expected) in enumerate(zip(trajectory, reference, strict=True), start=1):
        assert_close(actual, expected, rtol=1e-10, atol=1e-12, msg=f"after step {step}")


# ------------------------------------------------------------------- SGD
SGD_CASES = [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.1, "momentum": 0.8, "dampening": 0.5},
    {"lr": 0.1, "weight_decay": 0.1},
    {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
]


@pytest.mark.parametrize("options", SGD_CASES, ids=str)
def test_sgd_matches_reference_for_several_steps(options: dict) -> None:
    check(run(SGD, P0, GRADS, **options), reference_sgd(P0, GRADS, **options))


def test_sgd_by_hand() -> None:
    ones = [np.ones(1)] * 3
    # momentum 0.9, lr 0.1, g = 1: buffers 1, 1.9, 2.71
    assert_close(np.ravel(run(SGD, np.ones(1), ones, lr=0.1, momentum=0.9)), [0.9, 0.71, 0.439])
    # nesterov: steps of g + 0.9 * buffer = 1.9, 2.71
    nesterov = run(SGD, np.ones(1), ones[:2], lr=0.1, momentum=0.9, nesterov=True)
    assert_close(np.ravel(nesterov), [0.81, 0.539])
    # dampening 0.5: the first buffer is g itself (undamped), the second 0.9 * 1 + 0.5 * 1
    damped = run(SGD, np.ones(1), ones[:2], lr=0.1, momentum=0.9, dampening=0.5)
    assert_close(np.ravel(damped), [0.9, 0.76])
    # weight decay 0.5 with g = 0: p *= (1 - lr * wd) each step
    decayed = run(SGD, np.ones(1), [np.zeros(1)] * 2, lr=0.1, weight_decay=0.5)
    assert_close(np.ravel(decayed), [0.95, 0.9025])


@settings(max_examples=30, deadline=None)
@given(arrays(dtype=np.float32), st.floats(0.0, 1.0))
def test_plain_sgd_is_p_minus_lr_g(values: np.ndarray, lr: float) -> None:
    param = Parameter(values.copy())
    grad = np.flip(values).copy()
    param.grad = Tensor(grad)
    SGD([param], lr=lr).step()
    assert param.dtype == np.float32
    assert_close(param.data, values - np.float32(lr) * grad, rtol=1e-6, atol=1e-6)
    assert_close(param.grad.data, grad)  # the gradient is not modified


def test_nesterov_requires_momentum_and_zero_dampening() -> None:
    p = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match=r"Nesterov momentum requires.*momentum=0"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"dampening=0.5"):
        SGD([p], lr=0.1, momentum=0.9, dampening=0.5, nesterov=True)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: SGD(p, lr=-0.1), "SGD: invalid learning rate"),
        (lambda p: SGD(p, momentum=-1), "SGD: invalid momentum"),
        (lambda p: Adam(p, betas=(1.0, 0.999)), r"Adam: invalid beta parameter at index 0 1.0"),
        (lambda p: AdamW(p, betas=(0.9, -0.1)), r"AdamW: invalid beta parameter at index 1"),
        (lambda p: Adam(p, eps=-1e-8), "Adam: invalid epsilon"),
        (lambda p: Adam(p, weight_decay=-1), "Adam: invalid weight_decay"),
        (lambda p: RMSprop(p, alpha=-0.5), "RMSprop: invalid alpha"),
        (lambda p: RMSprop(p, momentum=-0.5), "RMSprop: invalid momentum"),
    ],
)
def test_invalid_hyperparameters_are_named(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make([Parameter(np.zeros(2))])


# ------------------------------------------------------------------- Adam / AdamW
ADAM_CASES = [
    {"lr": 0.01},
    {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "amsgrad": True},
    {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05},
]


@pytest.mark.parametrize("options", ADAM_CASES, ids=str)
def test_adam_matches_reference_for_several_steps(options: dict) -> None:
    check(run(Adam, P0, GRADS, **options), reference_adam(P0, GRADS, **options))


ADAMW_CASES = [
    {"lr": 0.01},
    {"lr": 0.01, "weight_decay": 0.3},
    {"lr": 0.02, "amsgrad": True, "weight_decay": 0.1},
]


@pytest.mark.parametrize("options", ADAMW_CASES, ids=str)
def test_adamw_decouples_weight_decay(options: dict) -> None:
    expected = reference_adam(P0, GRADS, decoupled=True, **{"weight_decay": 1e-2, **options})
    check(run(AdamW, P0, GRADS, **options), expected)


def test_adam_first_step_is_lr_times_sign() -> None:
    # m_hat = g and v_hat = g² after one step, so the update is lr * g / (|g| + eps)
    g = np.array([2.0, -0.5, 1e-3])
    (after,) = run(Adam, np.zeros(3), [g], lr=0.1)
    assert_close(after, -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)


def test_amsgrad_uses_the_largest_second_moment() -> None:
    # a large gradient then small ones: with amsgrad the denominator keeps the large v
    grads = [np.array([10.0]), np.array([0.1]), np.array([0.1])]
    plain = run(Adam, np.zeros(1), grads, lr=0.1)
    ams = run(Adam, np.zeros(1), grads, lr=0.1, amsgrad=True)
    assert abs(ams[-1][0] - ams[-2][0]) < abs(plain[-1][0] - plain[-2][0])
    check(ams, reference_adam(np.zeros(1), grads, lr=0.1, amsgrad=True))


def test_adam_and_adamw_differ_only_with_weight_decay() -> None:
    adam = run(Adam, P0, GRADS, lr=0.01)
    adamw = run(AdamW, P0, GRADS, lr=0.01, weight_decay=0.0)
    check(adam, adamw)
    assert not np.allclose(
        run(Adam, P0, GRADS, lr=0.01, weight_decay=0.1)[-1],
        run(AdamW, P0, GRADS, lr=0.01, weight_decay=0.1)[-1],
    )


def test_adam_state_names_and_step_count() -> None:
    param = Parameter(np.ones((2, 2)))
    optimizer = Adam([param], amsgrad=True)
    param.grad = Tensor(np.ones((2, 2)))
    optimizer.step()
    optimizer.step()
    state = optimizer.state[param]
    assert sorted(state) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert state["step"] == 2
    assert all(
        state[k].dtype == np.float32 and state[k].shape == (2, 2) for k in state if k != "step"
    )


# ------------------------------------------------------------------- RMSprop
RMSPROP_CASES = [
    {"lr": 0.01},
    {"lr": 0.01, "alpha": 0.9, "eps": 1e-6},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "momentum": 0.9},
    {"lr": 0.01, "centered": True},
    {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
]


@pytest.mark.parametrize("options", RMSPROP_CASES, ids=str)
def test_rmsprop_matches_reference_for_several_steps(options: dict) -> None:
    check(run(RMSprop, P0, GRADS, **options), reference_rmsprop(P0, GRADS, **options))


def test_rmsprop_first_step_by_hand() -> None:
    # s = 0.01 g², so the step is lr * g / (0.1 |g|) = 10 lr sign(g) (no bias correction)
    g = np.array([3.0, -0.2])
    (after,) = run(RMSprop, np.zeros(2), [g], lr=0.01, eps=0.0)
    assert_close(after, [-0.1, 0.1], rtol=1e-12)
    # centered: divide by sqrt(0.01 g² - (0.01 g)²) = sqrt(0.0099) |g|
    (centered,) = run(RMSprop, np.zeros(2), [g], lr=0.01, eps=0.0, centered=True)
    assert_close(centered, -0.01 * np.sign(g) / math.sqrt(0.0099), rtol=1e-12)


def test_rmsprop_state_buffers() -> None:
    param = Parameter(np.ones(3))
    optimizer = RMSprop([param], momentum=0.9, centered=True)
    param.grad = Tensor(np.ones(3))
    optimizer.step()
    assert sorted(optimizer.state[param]) == ["grad_avg", "momentum_buffer", "square_avg", "step"]


# ------------------------------------------------------------------- every optimizer
ALL = [
    (SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    (Adam, {"lr": 0.01, "amsgrad": True}),
    (AdamW, {"lr": 0.01}),
    (RMSprop, {"lr": 0.01, "momentum": 0.9, "centered": True}),
]


@pytest.mark.parametrize(
    ("optimizer_class", "options"), ALL, ids=lambda x: getattr(x, "__name__", "")
)
def test_updates_in_place_keeping_objects_and_float32(optimizer_class, options: dict) -> None:
    param = Parameter(np.random.default_rng(0).standard_normal((4, 3)))
    data = param.data
    optimizer = optimizer_class([param], **options)
    grad = Tensor(np.ones((4, 3)))
    for _ in range(3):
        param.grad = grad
        optimizer.step()
    assert param.data is data and param.dtype == np.float32
    assert all(
        v.dtype == np.float32 for v in optimizer.state[param].values() if isinstance(v, np.ndarray)
    )
    assert_close(grad, np.ones((4, 3)))  # the gradient object is never written to
    (float64,) = run(optimizer_class, np.zeros((4, 3)), [np.ones((4, 3))], **options)
    assert float64.dtype == np.float64  # a float64 parameter stays float64


@pytest.mark.parametrize(
    ("optimizer_class", "options"), ALL, ids=lambda x: getattr(x, "__name__", "")
)
def test_a_quadratic_is_minimised(optimizer_class, options: dict) -> None:
    target = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    param = Parameter(np.zeros(3))
    optimizer = optimizer_class([param], **{**options, "lr": 0.05})
    for _ in range(400):
        param.grad = Tensor(param.data - target)  # d/dp of 0.5 * |p - target|²
        optimizer.step()
    assert_close(param.data, target, rtol=0.05, atol=0.05)
