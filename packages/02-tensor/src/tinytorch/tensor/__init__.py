"""TinyTorch module 02: the Tensor.

>>> from tinytorch.tensor import Tensor
>>> x = Tensor([[1.0, 2.0], [3.0, 4.0]])
>>> (x @ x.T + 1).sum(dim=1)
Tensor([18., 38.], dtype=float32)
"""

import sys
import types
from typing import Any

from tinytorch.tensor import functions, ops, ops_extra, special
from tinytorch.tensor.__about__ import __version__
from tinytorch.tensor.dispatch import Op, apply, install_autograd, is_grad_enabled, vjp
from tinytorch.tensor.functions import (
    chunk,
    cos,
    cumsum,
    einsum,
    erf,
    exp2,
    flip,
    gather,
    index_select,
    log2,
    logsumexp,
    masked_fill,
    one_hot,
    pad,
    prod,
    roll,
    rsqrt,
    scatter_add,
    sign,
    sin,
    split,
    tril,
    triu,
)
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

# tt.any(x) and tt.all(x), left out of __all__: a star import would shadow Python's builtins
any = functions.any
all = functions.all

__all__ = [
    "MinMax",
    "Op",
    "Tensor",
    "__version__",
    "accumulate_grad",
    "apply",
    "arange",
    "cat",
    "chunk",
    "concatenate",
    "cos",
    "cumsum",
    "einsum",
    "erf",
    "exp2",
    "flip",
    "footprint_table",
    "full",
    "gather",
    "index_select",
    "install_autograd",
    "is_grad_enabled",
    "log2",
    "logsumexp",
    "masked_fill",
    "maximum",
    "memory_footprint",
    "minimum",
    "one_hot",
    "ones",
    "ops",
    "ops_extra",
    "pad",
    "prod",
    "rand",
    "randn",
    "roll",
    "rsqrt",
    "scatter_add",
    "sign",
    "sin",
    "special",
    "split",
    "stack",
    "tensor",
    "traversal_timing",
    "tril",
    "triu",
    "view_costs",
    "vjp",
    "where",
    "zeros",
]


class _CallablePackage(types.ModuleType):
    """``tinytorch.tensor([1.0, 2.0])`` works as ``torch.tensor([1.0, 2.0])`` does: the package
    ``tinytorch.tensor`` (module 02) is also callable, and calls the function `tensor`."""

    def __call__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        return tensor(data, dtype=dtype, requires_grad=requires_grad)


sys.modules[__name__].__class__ = _CallablePackage
