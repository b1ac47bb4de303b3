"""Parity with PyTorch: the same weights, data and gradients give the same parameters after 50
steps of every optimizer, and every scheduler gives the same learning-rate sequence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytorch.layers import Linear, Parameter
from tinytorch.optimizers import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    LinearWarmup,
    MultiStepLR,
    OneCycleLR,
    RMSprop,
    StepLR,
)
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor

torch = pytest.importorskip(
    "torch", reason="PyTorch not installed: parity tests need torch==2.13.0"
)

pytestmark = pytest.mark.parity

STEPS = 50
SIZES = (4, 16, 3)


def initial_weights(seed: int = 0) -> list[np.ndarray]:
    """A 4-16-3 MLP: W1 (16, 4), b1 (16,), W2 (3, 16), b2 (3,), float32."""
    rng = np.random.default_rng(seed)
    shapes = [(SIZES[1], SIZES[0]), (SIZES[1],), (SIZES[2], SIZES[1]), (SIZES[2],)]
    return [rng.uniform(-0.5, 0.5, shape).astype(np.float32) for shape in shapes]


def data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((32, SIZES[0])).astype(np.float32)
    y = np.stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2], np.cos(x[:, 3])], axis=1).astype(np.float32)
    return x, y


def torch_loss(params: list, x: np.ndarray, y: np.ndarray):
    """Mean squared error of tanh MLP, computed by torch on ``params`` (torch tensors)."""
    w1, b1, w2, b2 = params
    hidden = torch.tanh(torch.from_numpy(x) @ w1.T + b1)
    return ((hidden @ w2.T + b2 - torch.from_numpy(y)) ** 2).mean()


def torch_grads(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Gradients of the loss at ``weights``, by torch (used for both sides: isolates the
    optimizer)."""
    params = [torch.tensor(w, requires_grad=True) for w in weights]
    torch_loss(params, x, y).backward()
    return [p.grad.numpy().copy() for p in params]


OPTIMIZER_CASES = {
    "sgd-momentum": (SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    "sgd-nesterov": (
        SGD,
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
    ),
    "sgd-dampening": (
        SGD,
        torch.optim.SGD,
        {"lr": 0.1, "momentum": 0.8, "dampening": 0.3, "weight_decay": 1e-2},
    ),
    "adam": (Adam, torch.optim.Adam, {"lr": 1e-2}),
    "adam-amsgrad-l2": (
        Adam,
        torch.optim.Adam,
        {"lr": 1e-2, "betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 1e-2},
    ),
    "adamw": (AdamW, torch.optim.AdamW, {"lr": 1e-2, "weight_decay": 0.1}),
    "rmsprop": (RMSprop, torch.optim.RMSprop, {"lr": 1e-3}),
    "rmsprop-centered-momentum": (
        RMSprop,
        torch.optim.RMSprop,
        {"lr": 1e-3, "momentum": 0.9, "centered": True, "weight_decay": 1e-3},
    ),
}


def groups(params: list) -> list[dict]:
    """Two parameter groups: the first layer and the second (the tests halve its lr)."""
    return [{"params": params[:2]}, {"params": params[2:]}]


@pytest.mark.parametrize("case", list(OPTIMIZER_CASES))
def test_fifty_steps_match_pytorch(case: str) -> None:
    ours_class, torch_class, options = OPTIMIZER_CASES[case]
    x, y = data()
    start = initial_weights()
    ours = [Parameter(w.copy()) for w in start]
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in start]
    opt = ours_class(groups(ours), **options)
    torch_opt = torch_class(groups(theirs), **options)
    opt.param_groups[1]["lr"] = torch_opt.param_groups[1]["lr"] = options["lr"] / 2
    for _ in range(STEPS):
        for param, grad in zip(ours, torch_grads([p.data for p in ours], x, y), strict=True):
            param.grad = Tensor(grad)
        opt.step()
        torch_opt.zero_grad()
        torch_loss(theirs, x, y).backward()
        torch_opt.step()
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.dtype == np.float32
        assert_close(mine.data, reference.detach().numpy(), rtol=1e-5, atol=1e-6, msg=case)
    assert not np.allclose(ours[0].data, start[0])  # the parameters did move


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_one_cycle_momentum_cycling_trains_like_pytorch(optimizer: str) -> None:
    x, y = data()
    start = initial_weights()
    ours = [Parameter(w.copy()) for w in start]
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in start]
    if optimizer == "sgd":
        opt, torch_opt = SGD(ours, lr=0.1, momentum=0.9), torch.optim.SGD(theirs, 0.1, 0.9)
    else:
        opt, torch_opt = Adam(ours, lr=0.01), torch.optim.Adam(theirs, lr=0.01)
    sched = OneCycleLR(opt, max_lr=0.05, total_steps=STEPS)
    torch_sched = torch.optim.lr_scheduler.OneCycleLR(torch_opt, max_lr=0.05, total_steps=STEPS)
    for _ in range(STEPS):
        for param, grad in zip(ours, torch_grads([p.data for p in ours], x, y), strict=True):
            param.grad = Tensor(grad)
        opt.step()
        sched.step()
        torch_opt.zero_grad()
        torch_loss(theirs, x, y).backward()
        torch_opt.step()
        torch_sched.step()
        key = "momentum" if optimizer == "sgd" else "betas"
        assert opt.param_groups[0][key] == pytest.approx(torch_opt.param_groups[0][key], rel=1e-12)
    for mine, reference in zip(ours, theirs, strict=True):
        assert_close(mine.data, reference.detach().numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------- schedulers
SCHEDULER_STEPS = 100


def our_optimizer():
    return SGD(
        [{"params": [Parameter(np.zeros(1))]}, {"params": [Parameter(np.zeros(1))], "lr": 0.5}],
        lr=0.1,
        momentum=0.9,
    )


def torch_optimizer():
    params = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    return torch.optim.SGD(
        [{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1, momentum=0.9
    )


lr_sched = torch.optim.lr_scheduler

SCHEDULER_CASES = {
    "step": (lambda o: StepLR(o, 7, gamma=0.5), lambda o: lr_sched.StepLR(o, 7, gamma=0.5)),
    "step-default-gamma": (lambda o: StepLR(o, 30), lambda o: lr_sched.StepLR(o, 30)),
    "multistep": (
        lambda o: MultiStepLR(o, [60, 10, 30, 30], gamma=0.3),
        lambda o: lr_sched.MultiStepLR(o, [60, 10, 30, 30], gamma=0.3),
    ),
    "cosine": (
        lambda o: CosineAnnealingLR(o, T_max=100),
        lambda o: lr_sched.CosineAnnealingLR(o, T_max=100),
    ),
    "cosine-restart-eta-min": (
        lambda o: CosineAnnealingLR(o, T_max=30, eta_min=0.01),
        lambda o: lr_sched.CosineAnnealingLR(o, T_max=30, eta_min=0.01),
    ),
    "warmup-alone": (
        lambda o: LinearWarmup(o, 10, start_factor=0.1),
        lambda o: lr_sched.LinearLR(o, start_factor=0.1, total_iters=10),
    ),
    "warmup-cosine": (
        lambda o: LinearWarmup(o, 5, after=CosineAnnealingLR(o, T_max=95)),
        lambda o: lr_sched.SequentialLR(
            o, [lr_sched.LinearLR(o, total_iters=5), lr_sched.CosineAnnealingLR(o, 95)], [5]
        ),
    ),
    "warmup-step": (
        lambda o: LinearWarmup(o, 8, after=StepLR(o, 10, gamma=0.5), start_factor=0.01),
        lambda o: lr_sched.SequentialLR(
            o, [lr_sched.LinearLR(o, 0.01, total_iters=8), lr_sched.StepLR(o, 10, 0.5)], [8]
        ),
    ),
    "onecycle": (
        lambda o: OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=SCHEDULER_STEPS),
        lambda o: lr_sched.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=SCHEDULER_STEPS),
    ),
    "onecycle-linear-three-phase": (
        lambda o: OneCycleLR(
            o,
            1.0,
            100,
            pct_start=0.25,
            anneal_strategy="linear",
            div_factor=10.0,
            final_div_factor=100.0,
            three_phase=True,
        ),
        lambda o: lr_sched.OneCycleLR(
            o,
            1.0,
            100,
            pct_start=0.25,
            anneal_strategy="linear",
            div_factor=10.0,
            final_div_factor=100.0,
            three_phase=True,
        ),
    ),
    "onecycle-odd-steps": (
        lambda o: OneCycleLR(o, 0.3, epochs=7, steps_per_epoch=13, pct_start=0.4),
        lambda o: lr_sched.OneCycleLR(o, 0.3, epochs=7, steps_per_epoch=13, pct_start=0.4),
    ),
}


@pytest.mark.parametrize("case", list(SCHEDULER_CASES))
def test_scheduler_sequence_matches_pytorch(case: str) -> None:
    make_ours, make_theirs = SCHEDULER_CASES[case]
    opt, torch_opt = our_optimizer(), torch_optimizer()
    ours, theirs = make_ours(opt), make_theirs(torch_opt)
    steps = min(SCHEDULER_STEPS, getattr(ours, "total_steps", SCHEDULER_STEPS))
    for step in range(steps):
        if step > 0:
            ours.step()
            torch_opt.step()  # the order PyTorch expects: optimizer, then scheduler
            theirs.step()
        mine, reference = ours.get_last_lr(), theirs.get_last_lr()
        scale = max(opt.param_groups[i]["initial_lr"] for i in range(2))
        for a, b in zip(mine, reference, strict=True):
            assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15 * scale), (case, step, a, b)
        assert [g["lr"] for g in opt.param_groups] == mine
        assert [g["momentum"] for g in opt.param_groups] == pytest.approx(
            [g["momentum"] for g in torch_opt.param_groups], rel=1e-12
        )


# ------------------------------------------------------------------- with TinyTorch autograd
def tinytorch_loss(layers: list, x: Tensor, y: Tensor) -> Tensor:
    """The same MLP and loss with TinyTorch ops (tanh as 1 - 2 / (exp(2z) + 1))."""
    fc1, fc2 = layers
    z = fc1(x)
    hidden = 1 - 2 / ((2 * z).exp() + 1)
    return ((fc2(hidden) - y) ** 2).mean()


@pytest.mark.parametrize("case", ["sgd-momentum", "sgd-nesterov", "adam", "adamw", "rmsprop"])
def test_fifty_steps_with_tinytorch_autograd_match_pytorch(case: str) -> None:
    ours_class, torch_class, options = OPTIMIZER_CASES[case]
    x, y = data()
    start = initial_weights()
    layers = [Linear(SIZES[0], SIZES[1]), Linear(SIZES[1], SIZES[2])]
    ours = [layers[0].weight, layers[0].bias, layers[1].weight, layers[1].bias]
    for param, w in zip(ours, start, strict=True):
        param.data[...] = w
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in start]
    opt, torch_opt = ours_class(ours, **options), torch_class(theirs, **options)
    for _ in range(STEPS):
        opt.zero_grad()
        tinytorch_loss(layers, Tensor(x), Tensor(y)).backward()
        opt.step()
        torch_opt.zero_grad()
        torch_loss(theirs, x, y).backward()
        torch_opt.step()
    for mine, reference in zip(ours, theirs, strict=True):
        assert_close(mine.data, reference.detach().numpy(), rtol=1e-5, atol=1e-6, msg=case)
