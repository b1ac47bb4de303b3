"""TinyTorch module 14: Transformers.

    >>> import numpy as np
    >>> from tinytorch.transformers import TinyGPT
    >>> model = TinyGPT(65, 16, n_layer=2, n_head=2, n_embd=32, rng=np.random.default_rng(0))
    >>> logits, loss = model(np.zeros((2, 16), dtype=np.int64), np.ones((2, 16), dtype=np.int64))
    >>> logits.shape, round(float(loss.item()), 1)
    ((2, 16, 65), 4.2)

Importing this package switches autograd on (it imports `tinytorch.autograd`). The fused Ops
(LayerNorm, RMSNorm, the MLP block, the language-model loss), each with its forward and its
closed-form backward side by side, are in `tinytorch.transformers.ops`; the Tensor-op oracles
in `tinytorch.transformers.reference`.
"""

import tinytorch.autograd  # noqa: F401  (switches autograd on, as every package from 06 does)
from tinytorch.transformers import ops
from tinytorch.transformers.__about__ import __version__
from tinytorch.transformers.functional import layer_norm, rms_norm
from tinytorch.transformers.lessons import (
    gpt_activation_memory,
    gpt_flops_per_token,
    gpt_num_parameters,
    saved_activation_bytes,
)
from tinytorch.transformers.modules import (
    MLP,
    LayerNorm,
    RMSNorm,
    TinyGPT,
    TransformerBlock,
    next_token_loss,
    param_groups,
)
from tinytorch.transformers.ops import (
    LayerNormOp,
    MLPOp,
    RMSNormOp,
    gelu_with_derivative,
)
from tinytorch.transformers.reference import layer_norm_reference, rms_norm_reference

__all__ = [
    "MLP",
    "LayerNorm",
    "LayerNormOp",
    "MLPOp",
    "RMSNorm",
    "RMSNormOp",
    "TinyGPT",
    "TransformerBlock",
    "__version__",
    "gelu_with_derivative",
    "gpt_activation_memory",
    "gpt_flops_per_token",
    "gpt_num_parameters",
    "layer_norm",
    "layer_norm_reference",
    "next_token_loss",
    "ops",
    "param_groups",
    "rms_norm",
    "rms_norm_reference",
    "saved_activation_bytes",
]
