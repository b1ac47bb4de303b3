"""TinyTorch module 07: convolution, pooling and normalisation, vectorised.

    >>> import numpy as np
    >>> from tinytorch.spatial import Conv2d, MaxPool2d
    >>> from tinytorch.tensor import Tensor
    >>> conv = Conv2d(3, 8, kernel_size=3, padding=1, rng=np.random.default_rng(0))
    >>> MaxPool2d(2)(conv(Tensor(np.ones((2, 3, 32, 32))))).shape
    (2, 8, 16, 16)

Importing this package switches autograd on (it imports `tinytorch.autograd`). The Ops, each
with its forward and backward side by side, are in `tinytorch.spatial.ops`; the loop oracles in
`tinytorch.spatial.naive`.
"""

import tinytorch.autograd  # noqa: F401  (switches autograd on, as every package from 06 does)
from tinytorch.spatial import ops
from tinytorch.spatial.__about__ import __version__
from tinytorch.spatial.functional import (
    avg_pool2d,
    batch_norm,
    conv1d,
    conv2d,
    conv_transpose2d,
    global_avg_pool2d,
    group_norm,
    max_pool2d,
)
from tinytorch.spatial.lessons import (
    activation_memory,
    batchnorm_counts,
    conv2d_flops,
    conv2d_output_shape,
    conv_output_size,
    conv_timing,
    conv_transpose_output_size,
    conv_vs_dense_parameters,
    im2col_memory,
    normalization_counts,
)
from tinytorch.spatial.modules import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    ConvTranspose2d,
    Flatten,
    GlobalAvgPool2d,
    GroupNorm,
    MaxPool2d,
)
from tinytorch.spatial.naive import (
    avg_pool2d_naive,
    batch_norm_composed,
    batch_norm_naive,
    conv1d_naive,
    conv2d_naive,
    conv_transpose2d_naive,
    group_norm_naive,
    max_pool2d_naive,
)
from tinytorch.spatial.ops import col2im, im2col, pool_output_size

__all__ = [
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "Flatten",
    "GlobalAvgPool2d",
    "GroupNorm",
    "MaxPool2d",
    "__version__",
    "activation_memory",
    "avg_pool2d",
    "avg_pool2d_naive",
    "batch_norm",
    "batch_norm_composed",
    "batch_norm_naive",
    "batchnorm_counts",
    "col2im",
    "conv1d",
    "conv1d_naive",
    "conv2d",
    "conv2d_flops",
    "conv2d_naive",
    "conv2d_output_shape",
    "conv_output_size",
    "conv_timing",
    "conv_transpose2d",
    "conv_transpose2d_naive",
    "conv_transpose_output_size",
    "conv_vs_dense_parameters",
    "global_avg_pool2d",
    "group_norm",
    "group_norm_naive",
    "im2col",
    "im2col_memory",
    "max_pool2d",
    "max_pool2d_naive",
    "normalization_counts",
    "ops",
    "pool_output_size",
]
