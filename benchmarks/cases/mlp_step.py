"""One training step of an MNIST-sized MLP: batch 128, 784-256-128-10, ReLU, cross entropy,
SGD with momentum 0.9: ``zero_grad``, forward, ``backward``, ``step``.

TinyTorch and PyTorch train the same model from identical weights on the same batch; before
timing, both take a few steps side by side and the note reports how far their losses and weights
drift apart (float32 round-off, ~1e-6). FLOPs count the matmuls only (the elementwise work is
~1% of them): forward 2*B*sum(in*out); backward the weight gradients of every layer and the
input gradients of all but the first (the images need none).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from harness import Bench, Report, tinytorch_cross_entropy, torch_cross_entropy
from tinytorch.networks import MLP
from tinytorch.optimizers import SGD
from tinytorch.tensor import Tensor

TITLE = "MLP training step, MNIST size"
BATCH, SIZES = 128, (784, 256, 128, 10)
LR, MOMENTUM = 0.01, 0.9


def step_flops(batch: int, sizes: tuple[int, ...]) -> float:
    """Matmul FLOPs of one training step (forward, then backward without the input's gradient)."""
    layers = [2.0 * batch * fan_in * fan_out for fan_in, fan_out in pairwise(sizes)]
    return sum(layers) + sum(layers) + sum(layers[1:])


def make_models(torch: Any, seed: int) -> tuple[Any, Any]:
    """A TinyTorch MLP, and (when torch is given) a PyTorch copy with identical weights."""
    model = MLP(list(SIZES), activation="relu", rng=np.random.default_rng(seed))
    if torch is None:
        return model, None
    nn = torch.nn
    layers: list[Any] = []
    for fan_in, fan_out in pairwise(SIZES):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    twin = nn.Sequential(*layers[:-1])
    with torch.no_grad():
        for ours, theirs in zip(model.parameters(), twin.parameters(), strict=True):
            theirs.copy_(torch.from_numpy(ours.data))
    return model, twin


def tinytorch_step(model: Any, optimizer: Any, x: Tensor, labels: np.ndarray) -> float:
    optimizer.zero_grad()
    loss = tinytorch_cross_entropy(model(x), labels)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def torch_step(torch: Any, model: Any, optimizer: Any, x: Any, labels: Any) -> float:
    optimizer.zero_grad()
    loss = torch_cross_entropy(torch, model(x), labels)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def agreement(torch: Any, x: np.ndarray, labels: np.ndarray, steps: int = 3) -> str:
    """Train fresh twins ``steps`` steps side by side; the largest loss and weight differences."""
    model, twin = make_models(torch, seed=1)
    opt = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    twin_opt = torch.optim.SGD(twin.parameters(), lr=LR, momentum=MOMENTUM)
    tx, tlabels = torch.from_numpy(x), torch.from_numpy(labels)
    loss_gap = 0.0
    for _ in range(steps):
        ours = tinytorch_step(model, opt, Tensor(x), labels)
        theirs = torch_step(torch, twin, twin_opt, tx, tlabels)
        loss_gap = max(loss_gap, abs(ours - theirs))
    weight_gap = max(
        float(np.abs(p.data - q.detach().numpy()).max())
        for p, q in zip(model.parameters(), twin.parameters(), strict=True)
    )
    return f"same model: after {steps} steps |Δloss| ≤ {loss_gap:.1e}, |Δw| ≤ {weight_gap:.1e}"


def run(bench: Bench) -> Report:
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, SIZES[0]), dtype=np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    torch = bench.torch
    model, twin = make_models(torch, seed=0)
    optimizer = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    note = "PyTorch absent: no agreement check"
    if torch is not None:
        twin_optimizer = torch.optim.SGD(twin.parameters(), lr=LR, momentum=MOMENTUM)
        tx, tlabels = torch.from_numpy(x), torch.from_numpy(labels)
        note = agreement(torch, x, labels)
    row = bench.compare(
        f"step, batch {BATCH}, {'-'.join(map(str, SIZES))}",
        lambda: tinytorch_step(model, optimizer, Tensor(x), labels),
        lambda: torch_step(torch, twin, twin_optimizer, tx, tlabels),
        flops=step_flops(BATCH, SIZES),
        note=note,
    )
    return Report([row], {"step_flops": step_flops(BATCH, SIZES)})
