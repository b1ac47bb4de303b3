"""TinyTorch module 13: attention.

    >>> import numpy as np
    >>> from tinytorch.attention import CausalSelfAttention
    >>> from tinytorch.tensor import Tensor
    >>> attn = CausalSelfAttention(32, 4, rng=np.random.default_rng(0))
    >>> attn(Tensor(np.ones((2, 10, 32)))).shape
    (2, 10, 32)

Importing this package switches autograd on (it imports `tinytorch.autograd`). The fused Ops,
each with its forward and its closed-form backward side by side, are in
`tinytorch.attention.ops`; the Tensor-op oracle in `tinytorch.attention.reference`.
"""

import tinytorch.autograd  # noqa: F401  (switches autograd on, as every package from 06 does)
from tinytorch.attention import ops
from tinytorch.attention.__about__ import __version__
from tinytorch.attention.cache import KVCache
from tinytorch.attention.functional import scaled_dot_product_attention
from tinytorch.attention.lessons import (
    attention_crossover,
    attention_flops,
    attention_score_memory,
    measure_attention_memory,
)
from tinytorch.attention.modules import (
    CausalSelfAttention,
    MultiHeadAttention,
    MultiheadAttention,
    merge_masks,
)
from tinytorch.attention.ops import (
    CachedSelfAttentionOp,
    MultiHeadAttentionOp,
    PackedSelfAttentionOp,
    ScaledDotProductAttentionOp,
    attention_grads,
    attention_probs,
    cached_attention_mask,
    causal_mask,
    softmax_vjp,
)
from tinytorch.attention.reference import scaled_dot_product_attention_reference

__all__ = [
    "CachedSelfAttentionOp",
    "CausalSelfAttention",
    "KVCache",
    "MultiHeadAttention",
    "MultiHeadAttentionOp",
    "MultiheadAttention",
    "PackedSelfAttentionOp",
    "ScaledDotProductAttentionOp",
    "__version__",
    "attention_crossover",
    "attention_flops",
    "attention_grads",
    "attention_probs",
    "attention_score_memory",
    "cached_attention_mask",
    "causal_mask",
    "measure_attention_memory",
    "merge_masks",
    "ops",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_reference",
    "softmax_vjp",
]
