"""Learning-rate schedulers: sequences against their closed-form formulas, hand-checked points of
the 1cycle policy, momentum cycling, warm-up hand-over, state_dict round trips and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytorch.layers import Parameter
from tinytorch.optimizers import (
    SGD,
    Adam,
    CosineAnnealingLR,
    LinearWarmup,
    MultiStepLR,
    OneCycleLR,
    Optimizer,
    RMSprop,
    StepLR,
    lr_schedule,
)

STEPS = 100


def sgd(lr: float = 0.1, second_lr: float | None = None, **options) -> SGD:
    groups = [{"params": [Parameter(np.zeros(2))]}]
    if second_lr is not None:
        groups.append({"params": [Parameter(np.zeros(2))], "lr": second_lr})
    return SGD(groups, lr=lr, **options)


def column(values: list[list[float]], group: int = 0) -> list[float]:
    return [lrs[group] for lrs in values]


def test_step_lr_sequence() -> None:
    optimizer = sgd(0.1, second_lr=1.0)
    values = lr_schedule(StepLR(optimizer, step_size=7, gamma=0.5), STEPS)
    for group, base in enumerate([0.1, 1.0]):
        expected = [base * 0.5 ** (t // 7) for t in range(STEPS)]
        assert column(values, group) == pytest.approx(expected, rel=1e-12)
    assert optimizer.param_groups[1]["lr"] == values[-1][1]


def test_multistep_lr_sequence_with_a_repeated_milestone() -> None:
    values = column(lr_schedule(MultiStepLR(sgd(1.0), milestones=[30, 10, 30], gamma=0.1), STEPS))
    expected = [1.0 if t < 10 else 0.1 if t < 30 else 0.001 for t in range(STEPS)]
    assert values == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("T_max", "eta_min"), [(20, 0.0), (30, 0.001), (150, 0.01)])
def test_cosine_annealing_sequence(T_max: int, eta_min: float) -> None:
    values = column(lr_schedule(CosineAnnealingLR(sgd(0.1), T_max=T_max, eta_min=eta_min), STEPS))
    expected = [
        eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2 for t in range(STEPS)
    ]
    assert values == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert values[0] == pytest.approx(0.1)
    if T_max < STEPS:
        assert values[T_max] == pytest.approx(eta_min, abs=1e-15) == min(values)


def test_linear_warmup_alone_holds_the_base_lr_after_warmup() -> None:
    values = column(lr_schedule(LinearWarmup(sgd(0.3), warmup_steps=4, start_factor=0.25), 8))
    assert values == pytest.approx([0.075, 0.13125, 0.1875, 0.24375, 0.3, 0.3, 0.3, 0.3])


def test_linear_warmup_hands_over_to_cosine() -> None:
    optimizer = sgd(0.1, second_lr=0.5)
    cosine = CosineAnnealingLR(optimizer, T_max=95)
    values = lr_schedule(LinearWarmup(optimizer, warmup_steps=5, after=cosine), STEPS)
    for group, base in enumerate([0.1, 0.5]):
        warm = [base * (1 / 3 + (2 / 3) * t / 5) for t in range(5)]
        cool = [base * (1 + math.cos(math.pi * (t - 5) / 95)) / 2 for t in range(5, STEPS)]
        assert column(values, group) == pytest.approx(warm + cool, rel=1e-12, abs=1e-15)
    assert cosine.last_epoch == STEPS - 1 - 5


def test_linear_warmup_checks_its_arguments() -> None:
    optimizer = sgd()
    with pytest.raises(ValueError, match="warmup_steps must be a positive integer, got 0"):
        LinearWarmup(optimizer, 0)
    with pytest.raises(ValueError, match="start_factor must be in"):
        LinearWarmup(optimizer, 3, start_factor=0.0)
    with pytest.raises(ValueError, match="different optimizer"):
        LinearWarmup(optimizer, 3, after=StepLR(sgd(), 5))


def test_one_cycle_key_points_and_momentum() -> None:
    optimizer = sgd(0.1, momentum=0.9)
    scheduler = OneCycleLR(optimizer, max_lr=1.0, total_steps=100)
    lrs, momenta = [], []
    for step in range(100):
        if step > 0:
            scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
        momenta.append(optimizer.param_groups[0]["momentum"])
    initial, peak = 1.0 / 25, 29  # the up phase ends at pct_start * total_steps - 1
    assert lrs[0] == pytest.approx(initial)
    assert lrs[peak] == pytest.approx(1.0) and max(lrs) == lrs[peak]
    assert lrs[-1] == pytest.approx(initial / 1e4)
    assert momenta[0] == pytest.approx(0.95)
    assert momenta[peak] == pytest.approx(0.85)
    assert momenta[-1] == pytest.approx(0.95)
    assert np.all(np.diff(lrs[: peak + 1]) > 0) and np.all(np.diff(lrs[peak:]) < 0)
    # the cosine halfway up the first phase: initial + (1 - initial) / 2
    half = OneCycleLR(sgd(momentum=0.9), max_lr=1.0, total_steps=202, pct_start=0.5)
    assert column(lr_schedule(half, 51))[50] == pytest.approx(initial + (1 - initial) / 2)


def test_one_cycle_linear_and_three_phase() -> None:
    values = column(
        lr_schedule(
            OneCycleLR(sgd(momentum=0.9), 2.0, 101, pct_start=0.5, anneal_strategy="linear"), 101
        )
    )
    up = [0.08 + (2.0 - 0.08) * t / 49.5 for t in range(50)]
    down = [2.0 + (0.08 / 1e4 - 2.0) * (t - 49.5) / 50.5 for t in range(50, 101)]
    assert values == pytest.approx(up + down, rel=1e-12)

    three = column(lr_schedule(OneCycleLR(sgd(momentum=0.9), 1.0, 100, three_phase=True), 100))
    assert three[29] == pytest.approx(1.0)  # up to max_lr at step 29
    assert three[58] == pytest.approx(0.04)  # back to initial_lr at 2 * 30 - 2
    assert three[99] == pytest.approx(0.04 / 1e4)


def test_one_cycle_cycles_adam_beta1_and_keeps_beta2() -> None:
    optimizer = Adam([Parameter(np.zeros(2))], lr=0.01, betas=(0.9, 0.98))
    scheduler = OneCycleLR(optimizer, max_lr=0.01, total_steps=10, base_momentum=0.8)
    assert optimizer.param_groups[0]["betas"] == (0.95, 0.98)
    for _ in range(2):
        scheduler.step()
    assert optimizer.param_groups[0]["betas"] == (pytest.approx(0.8), 0.98)  # the peak: step 2


def test_one_cycle_per_group_max_lr_and_errors() -> None:
    optimizer = sgd(0.1, second_lr=0.1, momentum=0.9)
    scheduler = OneCycleLR(optimizer, max_lr=[1.0, 2.0], epochs=2, steps_per_epoch=5)
    assert scheduler.total_steps == 10
    assert scheduler.get_last_lr() == pytest.approx([0.04, 0.08])
    for _ in range(10):
        scheduler.step()  # step total_steps times is allowed, once more is not
    with pytest.raises(ValueError, match="tried to step 11 times, but total_steps is 10"):
        scheduler.step()
    with pytest.raises(ValueError, match="expected 2 values for max_lr"):
        OneCycleLR(optimizer, max_lr=[1.0], total_steps=10)
    with pytest.raises(ValueError, match="give total_steps, or epochs and steps_per_epoch"):
        OneCycleLR(optimizer, max_lr=1.0)
    with pytest.raises(ValueError, match="anneal_strategy must be 'cos' or 'linear'"):
        OneCycleLR(optimizer, max_lr=1.0, total_steps=10, anneal_strategy="exp")

    class Plain(Optimizer):
        def __init__(self, params: list[Parameter]) -> None:
            super().__init__(params, {"lr": 0.1})

    with pytest.raises(ValueError, match="Plain has neither; pass cycle_momentum=False"):
        OneCycleLR(Plain([Parameter(np.zeros(1))]), max_lr=1.0, total_steps=10)
    OneCycleLR(Plain([Parameter(np.zeros(1))]), 1.0, 10, cycle_momentum=False)


def test_one_cycle_turns_on_rmsprop_momentum() -> None:
    optimizer = RMSprop([Parameter(np.zeros(2))], lr=0.01)
    OneCycleLR(optimizer, max_lr=0.01, total_steps=10)
    assert optimizer.param_groups[0]["momentum"] == pytest.approx(0.95)


def make_schedulers(optimizer: SGD) -> dict[str, object]:
    return {
        "step": StepLR(optimizer, 3, gamma=0.5),
        "multistep": MultiStepLR(optimizer, [4, 8]),
        "cosine": CosineAnnealingLR(optimizer, 10, eta_min=0.01),
        "warmup": LinearWarmup(optimizer, 3, after=CosineAnnealingLR(optimizer, 20)),
        "onecycle": OneCycleLR(optimizer, 1.0, 30),
    }


@pytest.mark.parametrize("name", ["step", "multistep", "cosine", "warmup", "onecycle"])
def test_scheduler_state_dict_round_trip(name: str) -> None:
    optimizer = sgd(0.1, momentum=0.9)
    scheduler = make_schedulers(optimizer)[name]
    lr_schedule(scheduler, 6)
    saved_sched, saved_opt = scheduler.state_dict(), optimizer.state_dict()
    assert "optimizer" not in saved_sched
    rest = lr_schedule(scheduler, 10)

    optimizer2 = sgd(0.1, momentum=0.9)
    scheduler2 = make_schedulers(optimizer2)[name]
    optimizer2.load_state_dict(saved_opt)
    scheduler2.load_state_dict(saved_sched)
    assert lr_schedule(scheduler2, 10) == rest
    assert optimizer2.param_groups[0]["momentum"] == optimizer.param_groups[0]["momentum"]


def test_schedulers_check_their_arguments() -> None:
    with pytest.raises(TypeError, match="expected an Optimizer"):
        StepLR(object(), 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="step_size must be a positive integer, got 0"):
        StepLR(sgd(), 0)
    with pytest.raises(ValueError, match="T_max must be a positive integer"):
        CosineAnnealingLR(sgd(), 0)


def test_base_lrs_come_from_the_first_scheduler() -> None:
    optimizer = sgd(1.0)
    StepLR(optimizer, 1, gamma=0.5).step()  # lr is now 0.5, initial_lr stays 1.0
    assert CosineAnnealingLR(optimizer, 10).base_lrs == [1.0]
