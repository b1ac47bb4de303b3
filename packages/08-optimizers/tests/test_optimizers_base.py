"""Optimizer plumbing: parameter groups, zero_grad, skipping, state_dict round trips, errors."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.layers import Linear, Parameter
from tinytorch.optimizers import SGD, Adam, AdamW, CosineAnnealingLR, RMSprop
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor


def params(*shapes: tuple[int, ...], seed: int = 0) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(shape)) for shape in shapes]


def test_params_may_be_a_generator_and_take_the_defaults() -> None:
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    optimizer = SGD(layer.parameters(), lr=0.5, momentum=0.9)
    (group,) = optimizer.param_groups
    assert [id(p) for p in group["params"]] == [id(layer.weight), id(layer.bias)]
    assert (group["lr"], group["momentum"], group["dampening"], group["nesterov"]) == (
        0.5,
        0.9,
        0,
        False,
    )
    assert optimizer.defaults["lr"] == 0.5


def test_param_groups_with_their_own_lr() -> None:
    a, b = params((2,), (3,))
    a0, b0 = a.data.copy(), b.data.copy()
    optimizer = SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 1.0]
    a.grad, b.grad = Tensor(np.ones(2)), Tensor(np.ones(3))
    optimizer.step()
    assert_close(a.data, a0 - 0.1)
    assert_close(b.data, b0 - 1.0)


def test_param_groups_with_their_own_adam_options() -> None:
    a, b = params((2,), (2,))
    optimizer = Adam([{"params": a}, {"params": [b], "betas": (0.5, 0.9), "lr": 0.2}], lr=0.1)
    assert [id(p) for p in optimizer.param_groups[0]["params"]] == [id(a)]  # a lone Parameter
    assert optimizer.param_groups[0]["betas"] == (0.9, 0.999)
    assert optimizer.param_groups[1]["betas"] == (0.5, 0.9)
    a0, b0 = a.data.copy(), b.data.copy()
    a.grad, b.grad = Tensor([1.0, -1.0]), Tensor([1.0, -1.0])
    optimizer.step()  # Adam's first step is lr * sign(g)
    assert_close(a.data, a0 - 0.1 * np.array([1, -1]), atol=1e-6)
    assert_close(b.data, b0 - 0.2 * np.array([1, -1]), atol=1e-6)


def test_add_param_group_for_a_new_head() -> None:
    body, head = params((2,), (2,))
    optimizer = SGD([body], lr=0.1, momentum=0.9)
    optimizer.add_param_group({"params": head, "lr": 0.01})
    assert len(optimizer.param_groups) == 2
    assert optimizer.param_groups[1]["lr"] == 0.01
    assert optimizer.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group({"params": [body]})
    with pytest.raises(TypeError, match="must be a dict"):
        optimizer.add_param_group([head])  # type: ignore[arg-type]


def test_zero_grad_sets_none_or_zero() -> None:
    a, b = params((2,), (3,))
    optimizer = SGD([a, b], lr=0.1)
    a.grad, b.grad = Tensor(np.ones(2)), Tensor(np.ones(3))
    optimizer.zero_grad()
    assert a.grad is None and b.grad is None
    a.grad = Tensor(np.ones(2))
    optimizer.zero_grad(set_to_none=False)
    assert_close(a.grad, np.zeros(2))
    assert b.grad is None


@pytest.mark.parametrize("optimizer_class", [SGD, Adam, AdamW, RMSprop])
def test_step_skips_parameters_without_grad(optimizer_class) -> None:
    a, b = params((2,), (3,))
    b0 = b.data.copy()
    optimizer = optimizer_class([a, b], lr=0.1)
    a.grad = Tensor(np.ones(2))
    optimizer.step()
    assert np.array_equal(b.data, b0)
    assert b not in optimizer.state or optimizer.state.get(b) == {}


def test_step_returns_the_closure_loss() -> None:
    (a,) = params((2,))
    optimizer = SGD([a], lr=0.1)

    def closure() -> float:
        a.grad = Tensor(2 * a.data)
        return float((a.data**2).sum())

    before = float((a.data**2).sum())
    assert optimizer.step(closure) == pytest.approx(before)
    assert float((a.data**2).sum()) < before


def test_bad_params_raise_clear_errors() -> None:
    (a,) = params((2,))
    with pytest.raises(TypeError, match="got a single Parameter"):
        SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="set"):
        SGD({a}, lr=0.1)
    with pytest.raises(
        TypeError, match="can only optimize Tensors, but one of the params is ndarray"
    ):
        SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [a]}, {"params": [a]}], lr=0.1)


def test_a_gradient_of_the_wrong_shape_is_named() -> None:
    (a,) = params((2, 3))
    a.grad = Tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"gradient of shape \(3, 2\) for a parameter of shape"):
        SGD([a], lr=0.1).step()


def test_repr_lists_groups() -> None:
    (a,) = params((2,))
    text = repr(SGD([a], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "momentum: 0.9" in text


# ------------------------------------------------------------------- checkpoints
def quadratic_grads(ps: list[Parameter]) -> None:
    """grad of sum(0.5 * |p - 1|² + 0.1 * p⁴): depends on p, so trajectories are sensitive."""
    for p in ps:
        p.grad = Tensor(p.data - 1 + 0.4 * p.data**3)


CHECKPOINT_CASES = [
    (SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (Adam, {"lr": 0.05, "amsgrad": True}),
    (AdamW, {"lr": 0.05}),
    (RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
]


@pytest.mark.parametrize(
    ("optimizer_class", "options"), CHECKPOINT_CASES, ids=lambda x: getattr(x, "__name__", "")
)
def test_resume_from_state_dict_gives_the_same_trajectory(optimizer_class, options: dict) -> None:
    def build(ps: list[Parameter]):
        optimizer = optimizer_class(
            [{"params": ps[:1]}, {"params": ps[1:], "lr": options["lr"] / 2}], **options
        )
        return optimizer, CosineAnnealingLR(optimizer, T_max=10)

    ps = params((3,), (2, 2))
    optimizer, scheduler = build(ps)
    for _ in range(4):
        quadratic_grads(ps)
        optimizer.step()
        scheduler.step()
    saved_params = [p.data.copy() for p in ps]
    saved_opt, saved_sched = optimizer.state_dict(), scheduler.state_dict()
    for _ in range(5):
        quadratic_grads(ps)
        optimizer.step()
        scheduler.step()

    resumed = [Parameter(data) for data in saved_params]
    optimizer2, scheduler2 = build(resumed)
    optimizer2.load_state_dict(saved_opt)
    scheduler2.load_state_dict(saved_sched)
    assert [g["lr"] for g in optimizer2.param_groups] == [
        g["lr"] for g in saved_opt["param_groups"]
    ]
    for _ in range(5):
        quadratic_grads(resumed)
        optimizer2.step()
        scheduler2.step()
    for p, q in zip(ps, resumed, strict=True):
        assert np.array_equal(p.data, q.data)
    assert scheduler2.get_last_lr() == scheduler.get_last_lr()


def test_state_dict_layout_and_copies() -> None:
    a, b, c = params((2,), (3,), (1,))
    optimizer = Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1)
    a.grad, c.grad = Tensor(np.ones(2)), Tensor(np.ones(1))
    optimizer.step()
    saved = optimizer.state_dict()
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2]]
    assert saved["param_groups"][1]["lr"] == 0.5
    assert sorted(saved["state"]) == [0, 2]  # b had no gradient: no state
    assert saved["state"][0]["step"] == 1
    m = saved["state"][0]["exp_avg"].copy()
    optimizer.step()
    assert np.array_equal(saved["state"][0]["exp_avg"], m)  # a later step leaves it alone
    optimizer.load_state_dict(saved)
    assert optimizer.state[a]["step"] == 1
    assert optimizer.state[a]["exp_avg"] is not saved["state"][0]["exp_avg"]  # copied in
    assert optimizer.param_groups[0]["params"][0] is a


def test_load_state_dict_names_the_mismatch() -> None:
    a, b, c = params((2,), (3,), (1,))
    saved = SGD([{"params": [a, b]}, {"params": [c]}], lr=0.1).state_dict()
    with pytest.raises(
        ValueError, match="saved state has 2 parameter groups but this optimizer has 1"
    ):
        SGD([a, b, c], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="group 0 has 2 parameters in the saved state but 1"):
        SGD([{"params": [a]}, {"params": [b, c]}], lr=0.1).load_state_dict(saved)


def test_load_state_dict_rejects_mis_shaped_state() -> None:
    (a,) = params((2,))
    optimizer = SGD([a], lr=0.1, momentum=0.9)
    a.grad = Tensor(np.ones(2))
    optimizer.step()
    (other,) = params((5,))
    with pytest.raises(ValueError, match=r"'momentum_buffer' of parameter 0 has shape \(2,\)"):
        SGD([other], lr=0.1, momentum=0.9).load_state_dict(optimizer.state_dict())


def test_step_counts_as_an_in_place_write_so_a_stale_graph_refuses_backward() -> None:
    w = Parameter(np.array([1.0, 2.0], dtype=np.float32))
    x = Tensor([3.0, 4.0])
    loss = (w * x * w).sum()  # Mul saves w for its backward
    loss.backward(retain_graph=True)
    optimizer = SGD([w], lr=0.1)
    optimizer.step()
    assert w._version == 1
    np.testing.assert_allclose(w.data, [1.0 - 0.1 * 6.0, 2.0 - 0.1 * 16.0], rtol=1e-6)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()  # would mix the old graph with the new weights
