"""TinyTorch module 03: `Module`, `Parameter`, `Linear`, `Dropout` and the manual backward.

>>> import numpy as np
>>> from tinytorch.layers import Linear
>>> from tinytorch.tensor import Tensor
>>> layer = Linear(4, 2, rng=np.random.default_rng(0))
>>> layer(Tensor(np.ones((3, 4)))).shape
(3, 2)
"""

from tinytorch.layers.__about__ import __version__
from tinytorch.layers.lessons import (
    gemm_order_timing,
    linear_flops,
    matmul_blocked,
    matmul_naive,
    parameter_memory,
    parameter_memory_table,
)
from tinytorch.layers.linear import Dropout, DropoutOp, Linear, LinearOp, dropout, linear
from tinytorch.layers.module import Module, Parameter
from tinytorch.tensor import accumulate_grad

__all__ = [
    "Dropout",
    "DropoutOp",
    "Linear",
    "LinearOp",
    "Module",
    "Parameter",
    "__version__",
    "accumulate_grad",
    "dropout",
    "gemm_order_timing",
    "linear",
    "linear_flops",
    "matmul_blocked",
    "matmul_naive",
    "parameter_memory",
    "parameter_memory_table",
]
