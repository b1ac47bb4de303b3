"""Learning-rate schedulers: set each parameter group's ``lr`` as a function of the step count.

A scheduler is stepped once per epoch or per batch, after the optimizer::

    for batch in data:
        opt.zero_grad(); loss(batch).backward(); opt.step()
        sched.step()

Each scheduler here computes the learning rate in *closed form* from the step count
``last_epoch`` (0 right after construction) and each group's base learning rate
``base_lrs`` (the group's ``lr`` when the first scheduler was attached, kept as
``group["initial_lr"]``). PyTorch computes most of them recursively (each lr from the previous
one); the values are the same up to floating-point rounding (~1e-16 relative), and the parity
tests check them step by step.

Cost: O(number of groups) per step; the optimizer's update does not change.
"""

from __future__ import annotations

import bisect
import copy
import math
from collections.abc import Iterable
from typing import Any

from tinytorch.optimizers.optimizer import Optimizer


class LRScheduler:
    """Base class: ``step()``, ``get_last_lr()``, ``state_dict()`` / ``load_state_dict()``.

    Subclasses define `get_lr`: the learning rate of every group at step ``self.last_epoch``.
    Constructing a scheduler sets the groups' lr to the step-0 value.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected an Optimizer (e.g. SGD(model.parameters(), "
                f"lr=0.1)), got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr: list[float] = []
        self._set_lrs(self.get_lr())

    def get_lr(self) -> list[float]:
        """The learning rate of each parameter group at step ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self) -> None:
        """Advance one step and write the new learning rates into the optimizer's groups."""
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def get_last_lr(self) -> list[float]:
        """The learning rates this scheduler set last, one per parameter group."""
        return list(self._last_lr)

    def _set_lrs(self, lrs: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (which is saved on its own): a deep copy."""
        return copy.deepcopy({k: v for k, v in vars(self).items() if k != "optimizer"})

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict`; the learning rates are restored with the optimizer's state."""
        vars(self).update(copy.deepcopy(state_dict))


class StepLR(LRScheduler):
    """``lr = base_lr * gamma ** (last_epoch // step_size)``: decay by ``gamma`` every
    ``step_size`` steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        # HINT: multiply each base lr by gamma once per completed step_size epochs (integer
        # HINT: division)
        # BEGIN SOLUTION
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]
        # END SOLUTION


class MultiStepLR(LRScheduler):
    """``lr = base_lr * gamma ** (number of milestones <= last_epoch)``: decay by ``gamma`` at
    each milestone (a milestone listed twice decays twice)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1) -> None:
        self.milestones = sorted(milestones)
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        # HINT: bisect.bisect_right(sorted_list, x) counts the entries <= x
        # BEGIN SOLUTION
        passed = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma**passed for base in self.base_lrs]
        # END SOLUTION


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2``.

    Half a cosine from ``base_lr`` down to ``eta_min`` over ``T_max`` steps; stepped past
    ``T_max`` it rises again (a full period is ``2 * T_max``), as PyTorch's does.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        # HINT: half a cosine from base to eta_min: eta_min + (base - eta_min) (1 + cos(pi t /
        # HINT: T_max)) / 2
        # BEGIN SOLUTION
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]
        # END SOLUTION


class LinearWarmup(LRScheduler):
    """Warm up linearly, then hand over to another scheduler (``after``) or hold ``base_lr``.

    Steps ``0 .. warmup_steps - 1``: ``lr = base_lr * (start_factor + (1 - start_factor) *
    last_epoch / warmup_steps)``, from ``start_factor * base_lr`` towards ``base_lr``.
    From step ``warmup_steps`` on: the lr of ``after`` at its own step ``last_epoch -
    warmup_steps`` (so ``after`` starts from its step 0), or ``base_lr`` without ``after``.
    ``LinearWarmup(opt, 5, CosineAnnealingLR(opt, 95))`` equals PyTorch's
    ``SequentialLR(opt, [LinearLR(opt, 1/3, total_iters=5), CosineAnnealingLR(opt, 95)], [5])``.

    Large learning rates are unstable at the start of training, while Adam's moment estimates
    and BatchNorm's running statistics are still poor; a short warm-up avoids the early blow-up.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        after: LRScheduler | None = None,
        start_factor: float = 1.0 / 3,
    ) -> None:
        if warmup_steps < 1:
            raise ValueError(
                f"LinearWarmup: warmup_steps must be a positive integer, got {warmup_steps}"
            )
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearWarmup: start_factor must be in (0, 1], got {start_factor}")
        if after is not None and after.optimizer is not optimizer:
            raise ValueError(
                f"LinearWarmup: the scheduler to hand over to ({type(after).__name__}) drives "
                f"a different optimizer; build it on the same optimizer"
            )
        self.warmup_steps, self.after, self.start_factor = warmup_steps, after, start_factor
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        if self.after is not None and self.last_epoch >= self.warmup_steps:
            self.after.last_epoch = self.last_epoch - self.warmup_steps
            self.after._last_lr = self.after.get_lr()
            return self.after.get_last_lr()
        # HINT: the factor grows linearly from start_factor to 1 over warmup_steps, then stays 1
        # BEGIN SOLUTION
        done = min(self.last_epoch, self.warmup_steps) / self.warmup_steps
        factor = self.start_factor + (1 - self.start_factor) * done
        return [base * factor for base in self.base_lrs]
        # END SOLUTION

    def state_dict(self) -> dict[str, Any]:
        state = copy.deepcopy(
            {k: v for k, v in vars(self).items() if k not in ("optimizer", "after")}
        )
        state["after"] = self.after.state_dict() if self.after is not None else None
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        after_state = state.pop("after", None)
        vars(self).update(copy.deepcopy(state))
        if self.after is not None and after_state is not None:
            self.after.load_state_dict(after_state)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin): lr up from ``max_lr / div_factor`` to ``max_lr`` over
    the first ``pct_start`` of ``total_steps``, then down to ``initial_lr / final_div_factor``.

    Phases (``three_phase=False``): steps ``0 .. pct_start*total_steps - 1`` anneal
    ``initial_lr -> max_lr``; the rest, to step ``total_steps - 1``, ``max_lr -> min_lr``. With
    ``three_phase``: up, back down to ``initial_lr`` symmetrically, then down to ``min_lr``.
    Within a phase, at fraction ``pct`` of it, the ``"cos"`` strategy gives
    ``end + (start - end) * (1 + cos(pi * pct)) / 2`` and ``"linear"`` ``start + (end - start) *
    pct``. With ``cycle_momentum``, momentum (SGD, RMSprop) or beta1 (Adam) moves the opposite
    way, between ``max_momentum`` and ``base_momentum``. ``total_steps`` may instead be given as
    ``epochs * steps_per_epoch``. Stepping more than ``total_steps`` times raises.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ) -> None:
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError(
                    "OneCycleLR: give total_steps, or epochs and steps_per_epoch (total_steps = "
                    "epochs * steps_per_epoch)"
                )
            total_steps = epochs * steps_per_epoch
        if not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(
                f"OneCycleLR: expected a positive integer total_steps, got {total_steps}"
            )
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be between 0 and 1, got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        groups = optimizer.param_groups
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        self.cycle_momentum = cycle_momentum
        # Each phase: (end_step, lr from, lr to, momentum from, momentum to), as group keys.
        up_end = float(pct_start * total_steps) - 1
        if three_phase:
            down_end = float(2 * pct_start * total_steps) - 2
            self.phases = [
                (up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (down_end, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self.phases = [
                (up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        for group, peak in zip(groups, _per_group("max_lr", max_lr, len(groups)), strict=True):
            group["initial_lr"] = peak / div_factor
            group["max_lr"] = peak
            group["min_lr"] = group["initial_lr"] / final_div_factor
        self.use_beta1 = "betas" in optimizer.defaults
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and not self.use_beta1:
                raise ValueError(
                    f"OneCycleLR: cycle_momentum needs an optimizer with momentum or betas, "
                    f"{type(optimizer).__name__} has neither; pass cycle_momentum=False"
                )
            highs = _per_group("max_momentum", max_momentum, len(groups))
            lows = _per_group("base_momentum", base_momentum, len(groups))
            for group, high, low in zip(groups, highs, lows, strict=True):
                self._set_momentum(group, high)
                group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer)

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, pct: float) -> float:
        # HINT: from start (pct = 0) to end (pct = 1): linear interpolation, or for 'cos' half a
        # HINT: cosine
        # BEGIN SOLUTION
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start
        # END SOLUTION

    def get_lr(self) -> list[float]:
        """The lr of each group at ``last_epoch`` (and, with cycle_momentum, sets momentum)."""
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR: tried to step {step} times, but total_steps is {self.total_steps}; "
                f"build the scheduler with the number of optimizer steps you will take"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            # HINT: find the first phase whose end_step >= step (or the last phase); pct is
            # HINT: (step - start_step) / (end_step - start_step), start_step the previous end
            # BEGIN SOLUTION
            start_step = 0.0
            for i, (end_step, lr_from, lr_to, m_from, m_to) in enumerate(self.phases):
                if step <= end_step or i == len(self.phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
                    break
                start_step = end_step
            # END SOLUTION
        return lrs


def _per_group(name: str, value: float | list[float], count: int) -> list[float]:
    """One value per parameter group: a list of ``count`` values, or one value repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(
                f"OneCycleLR: expected {count} values for {name} (one per parameter group), "
                f"got {len(value)}"
            )
        return list(value)
    return [value] * count
