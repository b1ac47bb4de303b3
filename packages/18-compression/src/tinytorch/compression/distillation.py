"""Knowledge distillation (Hinton, Vinyals and Dean, 2015): a small *student* learns from a
large *teacher*'s softened predictions as well as from the labels.

With temperature ``T``, ``p_t = softmax(teacher_logits / T)`` and ``p_s = softmax(student_logits
/ T)``; a large T spreads the teacher's probability over the wrong classes, and *how* it does
(a 7 that looks like a 1) is information a one-hot label does not carry. The loss is

    L = alpha * T^2 * KL(p_t || p_s)  +  (1 - alpha) * CE(student_logits, labels)

with KL averaged over the batch (PyTorch's ``reduction="batchmean"``). The ``T^2`` factor keeps
the soft term's gradient on the scale of the hard term's: d KL / d z_s = (p_s - p_t) / T, so
without it the soft gradients would shrink as 1/T^2 ... 1/T when T grows.

Derivatives (`SoftTargetKLOp`): for a row, with ``d = log p_t - log p_s`` and ``KL = sum p_t d``,
dL/dz_s = T * (p_s - p_t) / N and dL/dz_t = T * p_t * (d - KL) / N (times the upstream gradient).
Cost: two softmaxes over (N, C) and a few elementwise passes: negligible next to the models.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd import no_grad
from tinytorch.layers import Module
from tinytorch.tensor import Op, Tensor, apply
from tinytorch.tensor.dispatch import Grads
from tinytorch.training import Trainer, cross_entropy

__all__ = [
    "DistillationLoss",
    "DistillationTrainer",
    "SoftTargetKLOp",
    "distillation_loss",
    "soft_target_kl",
]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class SoftTargetKLOp(Op):
    """``T^2 * mean over rows of KL(softmax(t / T) || softmax(s / T))``: student logits s and
    teacher logits t, both (N, C) -> a 0-d loss. Saves both softened distributions."""

    def __init__(self, temperature: float) -> None:
        if not temperature > 0:
            raise ValueError(f"soft_target_kl: temperature must be positive, got {temperature}")
        self.temperature = float(temperature)

    def forward(self, student: np.ndarray, teacher: np.ndarray) -> np.ndarray:
        if student.shape != teacher.shape or student.ndim != 2:
            raise ValueError(
                f"soft_target_kl: student and teacher logits must both be (N, C), got "
                f"{student.shape} and {teacher.shape}"
            )
        t = self.temperature
        # HINT: log-softmax of logits / T for both (stable: subtract the row max); KL per row is
        # HINT: sum p_t * (log p_t - log p_s); average over the N rows and multiply by T^2
        # BEGIN SOLUTION
        log_ps, log_pt = _log_softmax(student / t), _log_softmax(teacher / t)
        pt = np.exp(log_pt)
        row_kl = (pt * (log_pt - log_ps)).sum(axis=-1)
        loss = t * t * row_kl.mean()
        # END SOLUTION
        self.save_for_backward(log_ps, log_pt, row_kl)
        return np.asarray(loss, dtype=student.dtype)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        log_ps, log_pt, row_kl = self.saved
        t, n = self.temperature, log_ps.shape[0]
        pt = np.exp(log_pt)
        scale = grad * t / n
        grad_student = grad_teacher = None
        if needs[0]:
            grad_student = (scale * (np.exp(log_ps) - pt)).astype(log_ps.dtype)
        if needs[1]:
            grad_teacher = (scale * pt * (log_pt - log_ps - row_kl[:, None])).astype(pt.dtype)
        return grad_student, grad_teacher


def soft_target_kl(student_logits: Tensor, teacher_logits: Any, temperature: float) -> Tensor:
    """``T^2 * KL(softmax(teacher / T) || softmax(student / T))``, batch mean: one Op.
    In PyTorch: ``F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1),
    reduction="batchmean") * T * T``."""
    teacher = teacher_logits if isinstance(teacher_logits, Tensor) else Tensor(teacher_logits)
    return apply(SoftTargetKLOp(temperature), student_logits, teacher)


def distillation_loss(
    student_logits: Tensor,
    teacher_logits: Any,
    target: Any,
    temperature: float = 4.0,
    alpha: float = 0.9,
) -> Tensor:
    """Hinton's loss: ``alpha * T^2 * KL(p_t || p_s) + (1 - alpha) * CE(student, target)``.

    student_logits, teacher_logits (N, C) float; target (N,) int class indices. ``alpha`` in
    [0, 1]: 0 is plain training on the labels, 1 learns from the teacher alone.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"distillation_loss: alpha must be in [0, 1], got {alpha}")
    labels = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
    if alpha == 0.0:
        return cross_entropy(student_logits, labels)
    soft = soft_target_kl(student_logits, teacher_logits, temperature)
    if alpha == 1.0:
        return soft
    return soft * alpha + cross_entropy(student_logits, labels) * (1.0 - alpha)


class DistillationLoss:
    """`distillation_loss` with fixed ``temperature`` and ``alpha``; ``teacher_logits`` is set
    per batch by `DistillationTrainer`. Without teacher logits (evaluation) it is the plain
    cross-entropy on the labels, so validation losses compare with a normally trained model."""

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9) -> None:
        self.temperature, self.alpha = temperature, alpha
        self.teacher_logits: Tensor | None = None

    def __call__(self, output: Tensor, target: Any) -> Tensor:
        if self.teacher_logits is None:
            labels = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
            return cross_entropy(output, labels)
        return distillation_loss(output, self.teacher_logits, target, self.temperature, self.alpha)


class DistillationTrainer(Trainer):
    """Module 10's `Trainer` for a student: each training step first runs the ``teacher``
    (eval mode, no graph) on the same inputs, then the usual step with `DistillationLoss`.
    Everything else (fit, evaluate on the labels, schedulers, clipping, checkpoints) is the
    Trainer's. ``DistillationTrainer(student, teacher, optimizer, temperature=4.0, alpha=0.9,
    **trainer_options)``."""

    def __init__(
        self,
        model: Module,
        teacher: Module,
        optimizer: Any,
        temperature: float = 4.0,
        alpha: float = 0.9,
        **options: Any,
    ) -> None:
        self.distill = DistillationLoss(temperature, alpha)
        super().__init__(model, optimizer, self.distill, **options)
        self.teacher = teacher

    def train_step(self, inputs: Any, targets: Any, batch: int = 1) -> tuple[float, Tensor]:
        self.teacher.eval()
        with no_grad():
            self.distill.teacher_logits = self.teacher(inputs).detach()
        try:
            return super().train_step(inputs, targets, batch)
        finally:
            self.distill.teacher_logits = None
