"""Profile one training step of milestone 05's CIFAR CNN (batch 128) with the kernels off and
on, with module 16's profiler: the table the README shows.

    python packages/17-kernels/examples/profile_cnn_step.py [batch]
"""

from __future__ import annotations

import sys

import numpy as np

import tinytorch.autograd  # noqa: F401
import tinytorch.kernels as kernels
from tinytorch.activations import ReLU
from tinytorch.layers import Linear
from tinytorch.networks import Sequential
from tinytorch.profiling import profile
from tinytorch.spatial import BatchNorm2d, Conv2d, GlobalAvgPool2d, MaxPool2d
from tinytorch.tensor import Tensor
from tinytorch.training import CrossEntropyLoss


def build_model(seed: int = 0) -> Sequential:
    """Milestone 05's model: three (conv-BN-ReLU) x 2 + max-pool stages, global pool, linear."""
    rng = np.random.default_rng(seed)
    layers: list = []
    for c_in, c_out in ((3, 32), (32, 64), (64, 128)):
        for a, b in ((c_in, c_out), (c_out, c_out)):
            layers += [Conv2d(a, b, 3, padding=1, bias=False, rng=rng), BatchNorm2d(b), ReLU()]
        layers.append(MaxPool2d(2))
    return Sequential(*layers, GlobalAvgPool2d(), Linear(128, 10, rng=rng))


def main(batch: int = 128) -> None:
    kernels.warm_up()
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((batch, 3, 32, 32), dtype=np.float32))
    labels = rng.integers(0, 10, batch)
    loss_fn = CrossEntropyLoss()
    for name, model in (("reference", build_model()), ("fast", kernels.fuse(build_model()))):
        with kernels.using(name):

            def step(model: Sequential = model) -> None:
                loss_fn(model(x), labels).backward()

            step()  # warm-up: buffers, page faults
            with profile() as prof:
                step()
            print(f"== {kernels.describe()}: op time {prof.total_op_time * 1e3:.0f} ms")
            print(prof.table(sort_by="total_time", row_limit=8))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 128)
