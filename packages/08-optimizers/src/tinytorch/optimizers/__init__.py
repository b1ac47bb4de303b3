"""TinyTorch module 08: optimizers (SGD, Adam, AdamW, RMSprop) and learning-rate schedulers.

>>> import numpy as np
>>> from tinytorch.layers import Parameter
>>> from tinytorch.optimizers import SGD
>>> from tinytorch.tensor import Tensor
>>> w = Parameter(np.array([1.0, -2.0]))
>>> opt = SGD([w], lr=0.1, momentum=0.9)
>>> w.grad = Tensor([0.5, 0.5])
>>> opt.step()
>>> w
Parameter containing:
Tensor([ 0.95, -2.05], dtype=float32, requires_grad=True)
"""

import tinytorch.autograd  # noqa: F401  (switches autograd on: loss.backward() fills .grad)
from tinytorch.optimizers.__about__ import __version__
from tinytorch.optimizers.adam import Adam, AdamW
from tinytorch.optimizers.lessons import (
    OPTIMIZERS,
    ill_conditioned_race,
    lr_schedule,
    optimizer_memory,
    optimizer_state_bytes,
)
from tinytorch.optimizers.optimizer import Optimizer
from tinytorch.optimizers.rmsprop import RMSprop
from tinytorch.optimizers.schedulers import (
    CosineAnnealingLR,
    LinearWarmup,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    StepLR,
)
from tinytorch.optimizers.sgd import SGD

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "LRScheduler",
    "LinearWarmup",
    "MultiStepLR",
    "OneCycleLR",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "__version__",
    "ill_conditioned_race",
    "lr_schedule",
    "optimizer_memory",
    "optimizer_state_bytes",
]
