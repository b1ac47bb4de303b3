"""Distillation: Hinton's loss value vs NumPy, its gradient vs finite differences (both
inputs), the special cases of alpha, and a DistillationTrainer run on module 10's Trainer."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.compression import (
    DistillationLoss,
    DistillationTrainer,
    SoftTargetKLOp,
    distillation_loss,
    soft_target_kl,
)
from tinytorch.dataloader import DataLoader, TensorDataset
from tinytorch.networks import MLP
from tinytorch.optimizers import SGD
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor, apply, vjp
from tinytorch.training import cross_entropy


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def numpy_kl(s: np.ndarray, t: np.ndarray, temperature: float) -> float:
    def log_softmax(z: np.ndarray) -> np.ndarray:
        z = z - z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))

    log_ps, log_pt = log_softmax(s / temperature), log_softmax(t / temperature)
    return float(temperature**2 * (np.exp(log_pt) * (log_pt - log_ps)).sum(1).mean())


@pytest.mark.parametrize("temperature", [1.0, 4.0, 20.0])
def test_soft_target_kl_value_matches_numpy(temperature: float) -> None:
    s = rng(1).normal(0, 3, (7, 5))
    t = rng(2).normal(0, 3, (7, 5))
    value = soft_target_kl(Tensor(s, dtype=np.float64), Tensor(t, dtype=np.float64), temperature)
    assert value.shape == () and value.dtype == np.float64
    assert float(value.item()) == pytest.approx(numpy_kl(s, t, temperature), rel=1e-12)
    same = soft_target_kl(Tensor(s, dtype=np.float64), Tensor(s, dtype=np.float64), temperature)
    assert abs(float(same.item())) < 1e-12  # KL(p || p) = 0


@pytest.mark.parametrize("temperature", [1.0, 3.0])
def test_soft_target_kl_gradient_matches_finite_differences(temperature: float) -> None:
    s = rng(3).normal(0, 2, (4, 6))
    t = rng(4).normal(0, 2, (4, 6))

    def fn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return SoftTargetKLOp(temperature).forward(a, b)

    def grad_fn(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple:
        op = SoftTargetKLOp(temperature)
        apply(op, Tensor(a, dtype=np.float64), Tensor(b, dtype=np.float64))
        return vjp(op, g, (True, True))

    gradcheck(fn, [s, t], grad_fn)


def test_student_gradient_is_t_times_the_probability_gap() -> None:
    s, t, temperature = rng(5).normal(0, 1, (3, 4)), rng(6).normal(0, 1, (3, 4)), 2.5
    student = Tensor(s, dtype=np.float64, requires_grad=True)
    soft_target_kl(student, Tensor(t, dtype=np.float64), temperature).backward()

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    expected = temperature * (softmax(s / temperature) - softmax(t / temperature)) / 3
    assert_close(student.grad, expected, rtol=1e-10, atol=1e-12)


def test_distillation_loss_is_the_weighted_sum() -> None:
    s = Tensor(rng(7).normal(0, 1, (8, 10)), dtype=np.float64)
    t = Tensor(rng(8).normal(0, 1, (8, 10)), dtype=np.float64)
    y = Tensor(rng(9).integers(0, 10, 8))
    soft = numpy_kl(s.data, t.data, 4.0)
    hard = float(cross_entropy(s, y).item())
    value = float(distillation_loss(s, t, y, temperature=4.0, alpha=0.7).item())
    assert value == pytest.approx(0.7 * soft + 0.3 * hard, rel=1e-10)
    assert float(distillation_loss(s, t, y, alpha=0.0).item()) == pytest.approx(hard)
    assert float(distillation_loss(s, t, y, 4.0, alpha=1.0).item()) == pytest.approx(soft)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        distillation_loss(s, t, y, alpha=1.5)
    with pytest.raises(ValueError, match="temperature must be positive"):
        soft_target_kl(s, t, 0.0)


def test_distillation_loss_without_teacher_logits_is_cross_entropy() -> None:
    loss = DistillationLoss(4.0, 0.9)
    s = Tensor(rng(10).normal(0, 1, (5, 3)))
    y = Tensor(rng(11).integers(0, 3, 5))
    assert float(loss(s, y).item()) == pytest.approx(float(cross_entropy(s, y).item()))


def test_distillation_trainer_moves_the_student_towards_the_teacher() -> None:
    g = rng(12)
    x = g.normal(0, 1, (128, 6)).astype(np.float32)
    teacher = MLP([6, 32, 4], rng=rng(13)).eval()
    with_teacher = teacher(Tensor(x)).data
    y = with_teacher.argmax(1)
    student = MLP([6, 8, 4], rng=rng(14))
    loader = DataLoader(TensorDataset(x, y), 32, shuffle=True, seed=0)
    trainer = DistillationTrainer(
        student, teacher, SGD(student.parameters(), lr=0.5), temperature=2.0, alpha=1.0,
        progress=False,
    )  # fmt: skip

    def gap() -> float:
        return numpy_kl(student(Tensor(x)).data.astype(np.float64), with_teacher, 2.0)

    before = gap()
    history = trainer.fit(loader, 5, val_loader=loader)
    assert gap() < 0.5 * before
    assert trainer.distill.teacher_logits is None  # only set inside a step
    assert all(not m.training for m in teacher.modules())
    assert history.records[-1]["val_loss"] is not None
