"""TinyTorch module 12: embeddings and positional encodings.

    >>> import numpy as np
    >>> from tinytorch.embeddings import Embedding, LearnedPositionalEmbedding
    >>> tok = Embedding(65, 16, rng=np.random.default_rng(0))
    >>> pos = LearnedPositionalEmbedding(8, 16, rng=np.random.default_rng(1))
    >>> pos(tok(np.array([[1, 2, 3], [4, 5, 6]]))).shape
    (2, 3, 16)

Importing this package switches autograd on (it imports `tinytorch.autograd`). The Ops, each
with its forward and backward side by side, are in `tinytorch.embeddings.ops`.
"""

import tinytorch.autograd  # noqa: F401  (switches autograd on, as every package from 06 does)
from tinytorch.embeddings import ops
from tinytorch.embeddings.__about__ import __version__
from tinytorch.embeddings.functional import (
    add_positions,
    apply_rotary,
    embedding,
    sinusoidal_positions,
)
from tinytorch.embeddings.lessons import (
    batch_gradient_density,
    embedding_memory,
    embedding_memory_table,
    gradient_density,
    lookup_vs_onehot,
    scatter_timing,
)
from tinytorch.embeddings.modules import (
    Embedding,
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
)
from tinytorch.embeddings.ops import (
    AddPositionsOp,
    EmbeddingOp,
    RotaryOp,
    rotary_tables,
    rotate_half,
    scatter_rows_add_at,
    scatter_rows_bincount,
    scatter_rows_sorted,
)

__all__ = [
    "AddPositionsOp",
    "Embedding",
    "EmbeddingOp",
    "LearnedPositionalEmbedding",
    "RotaryEmbedding",
    "RotaryOp",
    "SinusoidalPositionalEncoding",
    "__version__",
    "add_positions",
    "apply_rotary",
    "batch_gradient_density",
    "embedding",
    "embedding_memory",
    "embedding_memory_table",
    "gradient_density",
    "lookup_vs_onehot",
    "ops",
    "rotary_tables",
    "rotate_half",
    "scatter_rows_add_at",
    "scatter_rows_bincount",
    "scatter_rows_sorted",
    "scatter_timing",
    "sinusoidal_positions",
]
