"""The embedding operations on Tensors, ``torch.nn.functional`` style.

Each builds its Op and runs it through the dispatch point ``apply``: one new Tensor and (module
06 is on) one recorded graph node, differentiated by the Op's own ``backward``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.embeddings.ops import (
    DEFAULT_SCATTER,
    AddPositionsOp,
    EmbeddingOp,
    RotaryOp,
    normalize_padding_idx,
    rotary_tables,
    sinusoidal_table,
)
from tinytorch.tensor import Tensor, apply


def _tensor(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(value)


def embedding(
    input: Any, weight: Tensor, padding_idx: int | None = None, scatter: str = DEFAULT_SCATTER
) -> Tensor:
    """``weight[input]`` (PyTorch's ``F.embedding(input, weight, padding_idx)``).

    input: integer ids of any shape ``(*)``, each in [0, num_embeddings); weight:
    (num_embeddings, dim) float -> ``(*, dim)`` in weight's dtype. The ``padding_idx`` row gets
    no gradient (its value is used as it is; `Embedding` initialises it to zeros).
    ``scatter`` picks the backward's scatter-add (``"sort"``, ``"add_at"``, ``"bincount"``).
    Raises TypeError for float ids and IndexError naming the first out-of-range id and its
    position. Cost: a copy of ``ids.size * dim`` numbers; the backward one scatter-add.
    """
    weight = _tensor(weight)
    if weight.ndim != 2:
        raise ValueError(
            f"embedding: the weight must be a 2-d table (num_embeddings, embedding_dim), got "
            f"shape {weight.shape}"
        )
    padding = normalize_padding_idx("embedding", padding_idx, weight.shape[0])
    return apply(EmbeddingOp(padding, scatter), input, weight)


def sinusoidal_positions(length: int, dim: int, base: float = 10000.0) -> Tensor:
    """The fixed sinusoidal encodings (Vaswani et al. 2017): a (length, dim) float32 Tensor,
    ``pe[p, 2i] = sin(p / base**(2i/dim))``, ``pe[p, 2i+1] = cos(p / base**(2i/dim))``.

    Add it to token embeddings (B, T, dim) (it broadcasts over the batch). No parameters.
    """
    return Tensor(sinusoidal_table(length, dim, base).astype(np.float32))


def add_positions(x: Tensor, table: Tensor, offset: int = 0) -> Tensor:
    """``x + table[offset : offset + T]`` as one Op: x (*, T, dim), table (max_len, dim).

    The table's rows offset..offset+T-1 get the batch-summed gradient (a learned positional
    embedding); ``offset`` is the position of x's first token (generation with a KV cache).
    """
    return apply(AddPositionsOp(offset), x, table)


def apply_rotary(x: Any, positions: Any = None, base: float = 10000.0) -> Tensor:
    """Rotate x (..., T, head_dim) by RoPE angles of ``positions`` (rotate-half convention).

    ``positions``: integer (or float) positions of the T tokens, shape (T,) or broadcastable
    to x's (..., T); default ``0 .. T-1``. ``head_dim`` must be even; feature i is paired with
    feature i + head_dim/2 (GPT-NeoX / LLaMA layout) and rotated by
    ``positions * base**(-2i/head_dim)``. Returns x's shape and dtype. Differentiable: the
    backward is the inverse rotation. No parameters; the tables cost (T, head_dim) each.
    """
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"apply_rotary: expected x (..., T, head_dim), got shape {x.shape}")
    if positions is None:
        positions = np.arange(x.shape[-2])
    positions = positions.data if isinstance(positions, Tensor) else np.asarray(positions)
    cos, sin = rotary_tables(positions, x.shape[-1], base, x.dtype)
    return apply(RotaryOp(cos, sin), x)
