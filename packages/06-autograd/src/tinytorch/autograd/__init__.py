"""TinyTorch module 06: reverse-mode automatic differentiation.

Importing this package switches autograd on: it installs graph recording and the backward
engine at the Tensor dispatch point (`tinytorch.tensor.install_autograd`).

    >>> import tinytorch.autograd
    >>> from tinytorch.tensor import Tensor
    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    Tensor([2., 4., 6.], dtype=float32)
"""

from tinytorch.autograd.__about__ import __version__
from tinytorch.autograd.checkpoint import Checkpoint, checkpoint
from tinytorch.autograd.engine import (
    Node,
    backward,
    enable_grad,
    live_node_count,
    no_grad,
    record,
    set_grad_enabled,
    topological_order,
)
from tinytorch.autograd.lessons import (
    checkpoint_memory,
    deep_mlp,
    graph_stats,
    held_activation_bytes,
)
from tinytorch.tensor import install_autograd, is_grad_enabled
from tinytorch.tensor.ops import unbroadcast

install_autograd(record, backward)

__all__ = [
    "Checkpoint",
    "Node",
    "__version__",
    "backward",
    "checkpoint",
    "checkpoint_memory",
    "deep_mlp",
    "enable_grad",
    "graph_stats",
    "held_activation_bytes",
    "is_grad_enabled",
    "live_node_count",
    "no_grad",
    "record",
    "set_grad_enabled",
    "topological_order",
    "unbroadcast",
]
