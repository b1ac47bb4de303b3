"""TinyTorch module 10: losses, the Trainer, and atomic, resumable checkpoints.

>>> import numpy as np
>>> from tinytorch.training import CrossEntropyLoss
>>> from tinytorch.tensor import Tensor
>>> logits = Tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]], requires_grad=True)
>>> loss = CrossEntropyLoss()(logits, np.array([0, 1]))
>>> round(loss.item(), 4)
0.1324
>>> loss.backward()
>>> logits.grad.data.round(3)
array([[-0.078,  0.057,  0.021],
       [ 0.023, -0.045,  0.023]], dtype=float32)

Importing this package switches autograd on (through `tinytorch.autograd`). Each fused loss Op
(`CrossEntropyOp`, `NLLLossOp`, `BCEOp`, `BCEWithLogitsOp`, ...) holds its forward and, side by
side, its backward: autograd calls that backward like any other Op's.
"""

from tinytorch.training.__about__ import __version__
from tinytorch.training.checkpoint import (
    Checkpoint,
    CheckpointError,
    atomic_write,
    find_generators,
    get_rng_state,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from tinytorch.training.history import History
from tinytorch.training.lessons import (
    checkpoint_bytes,
    cross_entropy_costs,
    memory_tracking_overhead,
)
from tinytorch.training.losses import (
    REDUCTIONS,
    BCELoss,
    BCEOp,
    BCEWithLogitsLoss,
    BCEWithLogitsOp,
    CrossEntropyLoss,
    CrossEntropyOp,
    CrossEntropyProbsOp,
    MSELoss,
    NLLLoss,
    NLLLossOp,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    cross_entropy_composed,
    mse_loss,
    nll_loss,
)
from tinytorch.training.memory import (
    PeakMemory,
    lifetime_peak_rss_bytes,
    peak_rss_bytes,
    reset_peak_rss,
)
from tinytorch.training.metrics import accuracy
from tinytorch.training.trainer import NonFiniteLossError, Trainer, clip_grad_norm_, grad_norm

__all__ = [
    "REDUCTIONS",
    "BCELoss",
    "BCEOp",
    "BCEWithLogitsLoss",
    "BCEWithLogitsOp",
    "Checkpoint",
    "CheckpointError",
    "CrossEntropyLoss",
    "CrossEntropyOp",
    "CrossEntropyProbsOp",
    "History",
    "MSELoss",
    "NLLLoss",
    "NLLLossOp",
    "NonFiniteLossError",
    "PeakMemory",
    "Trainer",
    "__version__",
    "accuracy",
    "atomic_write",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "checkpoint_bytes",
    "clip_grad_norm_",
    "cross_entropy",
    "cross_entropy_composed",
    "cross_entropy_costs",
    "find_generators",
    "get_rng_state",
    "grad_norm",
    "lifetime_peak_rss_bytes",
    "load_checkpoint",
    "memory_tracking_overhead",
    "mse_loss",
    "nll_loss",
    "peak_rss_bytes",
    "read_checkpoint",
    "reset_peak_rss",
    "save_checkpoint",
    "set_rng_state",
]
