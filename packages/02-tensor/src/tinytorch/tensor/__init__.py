"""TinyTorch module 02: the Tensor.

>>> from tinytorch.tensor import Tensor
>>> x = Tensor([[1.0, 2.0], [3.0, 4.0]])
>>> (x @ x.T + 1).sum(dim=1)
Tensor([18., 38.], dtype=float32)
"""

from tinytorch.tensor import ops
from tinytorch.tensor.__about__ import __version__
from tinytorch.tensor.dispatch import Op, apply, install_autograd, is_grad_enabled, vjp
from tinytorch.tensor.lessons import footprint_table, memory_footprint, traversal_timing, view_costs
from tinytorch.tensor.tensor import (
    MinMax,
    Tensor,
    accumulate_grad,
    arange,
    cat,
    concatenate,
    full,
    maximum,
    minimum,
    ones,
    rand,
    randn,
    stack,
    tensor,
    where,
    zeros,
)

__all__ = [
    "MinMax",
    "Op",
    "Tensor",
    "__version__",
    "accumulate_grad",
    "apply",
    "arange",
    "cat",
    "concatenate",
    "footprint_table",
    "full",
    "install_autograd",
    "is_grad_enabled",
    "maximum",
    "memory_footprint",
    "minimum",
    "ones",
    "ops",
    "rand",
    "randn",
    "stack",
    "tensor",
    "traversal_timing",
    "view_costs",
    "vjp",
    "where",
    "zeros",
]
