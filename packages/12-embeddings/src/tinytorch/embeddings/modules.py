"""The embedding layers: `Embedding` and three ways to tell a model where each token is.

A Transformer's attention treats its input as a *set*: permute the tokens and the outputs are
permuted the same way. Word order has to be put into the vectors themselves:

- `SinusoidalPositionalEncoding`: fixed sines and cosines of geometric frequencies, added to
  the token vectors (the original Transformer). No parameters; any length up to ``max_len``.
- `LearnedPositionalEmbedding`: a trained table, one vector per position, added (GPT-2). Cannot
  go past ``max_len`` (the model's ``block_size``).
- `RotaryEmbedding` (RoPE): rotates each pair of query/key features by an angle proportional to
  the position, so the attention score ``q_m . k_n`` depends on m - n only (LLaMA, GPT-NeoX).
  Applied inside attention to q and k, not to the token vectors.

Each Module whose forward is one Op runs it with ``run_op`` and differentiates it with the
Op's own backward in its hand-written ``backward`` (modules 03-05's protocol), which
autograd also calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.embeddings.ops import (
    DEFAULT_SCATTER,
    AddPositionsOp,
    EmbeddingOp,
    RotaryOp,
    check_positions,
    check_table,
    normalize_padding_idx,
    rotary_tables,
    sinusoidal_table,
)
from tinytorch.layers import Module, Parameter
from tinytorch.tensor import Tensor, accumulate_grad


def _positive(owner: str, **values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")


class Embedding(Module):
    """A lookup table: integer ids (*) -> vectors (*, embedding_dim), PyTorch's ``nn.Embedding``.

    ``weight`` (num_embeddings, embedding_dim) float32, initialised from N(0, 1) as PyTorch
    does; the ``padding_idx`` row (if given; negative counts from the end) starts at zero and
    never receives a gradient, so padding tokens keep a zero vector. Forward: one gather
    (`EmbeddingOp`); backward: one scatter-add into the rows the batch used.
    Memory: ``num_embeddings * embedding_dim * 4`` bytes (x4 with a gradient and Adam's two
    moments, see `tinytorch.embeddings.embedding_memory`).
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        _positive("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = normalize_padding_idx("Embedding", padding_idx, num_embeddings)
        generator = rng if rng is not None else np.random.default_rng()
        weight = generator.standard_normal((num_embeddings, embedding_dim))
        if self.padding_idx is not None:
            weight[self.padding_idx] = 0.0
        self.weight = Parameter(weight)
        self.scatter = DEFAULT_SCATTER

    @classmethod
    def from_pretrained(
        cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None
    ) -> Embedding:
        """An Embedding holding a copy of ``embeddings`` (num_embeddings, dim), as PyTorch's
        ``nn.Embedding.from_pretrained``; ``freeze=True`` (the default) keeps it out of
        training (``weight.requires_grad = False``)."""
        table = np.array(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        check_table("Embedding.from_pretrained", table)
        layer = cls(table.shape[0], table.shape[1], padding_idx, rng=np.random.default_rng(0))
        layer.weight = Parameter(table, dtype=table.dtype, requires_grad=not freeze)
        return layer

    def forward(self, input: Any) -> Tensor:
        """ids (*) integer -> (*, embedding_dim)."""
        return self.run_op(EmbeddingOp(self.padding_idx, self.scatter), input, self.weight)

    def backward(self, grad_output: Tensor) -> None:  # type: ignore[override]
        """dL/d(out) (*, embedding_dim): adds dL/dweight to ``weight.grad``. The ids are
        integers and have no gradient, so nothing is returned."""
        _, grad_weight = self.op_backward(grad_output, (False, True))
        assert grad_weight is not None
        accumulate_grad(self.weight, grad_weight)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class SinusoidalPositionalEncoding(Module):
    """``x + pe[offset : offset + T]`` with the fixed sinusoidal table ``pe`` (max_len, dim).

    x: (*, T, dim) float -> same shape. ``pe`` is a buffer (saved in ``state_dict``, not
    trained), float32, ``pe[p, 2i] = sin(p / base**(2i/dim))``, ``pe[p, 2i+1] = cos(...)``.
    ``offset`` is the position of x's first token. Memory: max_len * dim * 4 bytes.
    """

    pe: Tensor  # a buffer

    def __init__(self, max_len: int, dim: int, base: float = 10000.0) -> None:
        _positive("SinusoidalPositionalEncoding", max_len=max_len, dim=dim)
        self.max_len, self.dim, self.base = max_len, dim, base
        self.register_buffer("pe", Tensor(sinusoidal_table(max_len, dim, base).astype(np.float32)))

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        return self.run_op(AddPositionsOp(offset), x, self.pe)

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/d(out) -> dL/dx: the table is fixed, so the gradient passes through unchanged."""
        grad_input, _ = self.op_backward(grad_output, (True, False))
        assert grad_input is not None
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, dim={self.dim}"


class LearnedPositionalEmbedding(Module):
    """``x + weight[offset : offset + T]`` with a trained table ``weight`` (max_len, dim).

    GPT-2's ``wpe``: x (*, T, dim) (the token embeddings) -> same shape, one Op
    (`AddPositionsOp`). ``weight`` float32 from N(0, 1) (``nn.Embedding``'s default; GPT
    models re-initialise it with std 0.02). Positions past ``max_len`` raise: the model has
    never learned them. Memory: max_len * dim * 4 bytes (a Parameter).
    """

    def __init__(self, max_len: int, dim: int, rng: np.random.Generator | None = None) -> None:
        _positive("LearnedPositionalEmbedding", max_len=max_len, dim=dim)
        self.max_len, self.dim = max_len, dim
        generator = rng if rng is not None else np.random.default_rng()
        self.weight = Parameter(generator.standard_normal((max_len, dim)))

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        return self.run_op(AddPositionsOp(offset), x, self.weight)

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/d(out) -> dL/dx (= dL/d(out)); adds the batch-summed rows to ``weight.grad``."""
        grad_input, grad_weight = self.op_backward(grad_output, (True, True))
        assert grad_input is not None and grad_weight is not None
        accumulate_grad(self.weight, grad_weight)
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, dim={self.dim}"


class RotaryEmbedding(Module):
    """Rotary position embedding (RoPE) for queries and keys of one head size.

    ``RotaryEmbedding(head_dim, max_len, base=10000)`` precomputes ``cos`` and ``sin`` buffers
    (max_len, head_dim) float32; ``forward(x, offset=0)`` rotates x (..., T, head_dim) by the
    angles of positions offset..offset+T-1 (``positions=`` (T,) picks arbitrary ones).

    Convention: rotate-half (GPT-NeoX, LLaMA, Hugging Face): feature i pairs with feature
    i + head_dim/2, rotated by ``position * base**(-2i/head_dim)``. The attention score of a
    rotated query at position m and key at n then depends on (m - n) only:
    ``rot(q, m) . rot(k, n) = q . rot(k, n - m)``. Differentiable (`RotaryOp`: backward = the
    inverse rotation). No parameters.
    """

    cos: Tensor  # buffers
    sin: Tensor

    def __init__(self, head_dim: int, max_len: int, base: float = 10000.0) -> None:
        _positive("RotaryEmbedding", head_dim=head_dim, max_len=max_len)
        if head_dim % 2:
            raise ValueError(f"RotaryEmbedding: head_dim must be even, got {head_dim}")
        self.head_dim, self.max_len, self.base = head_dim, max_len, base
        cos, sin = rotary_tables(np.arange(max_len), head_dim, base)
        self.register_buffer("cos", Tensor(cos))
        self.register_buffer("sin", Tensor(sin))

    def forward(self, x: Tensor, offset: int = 0, positions: Any = None) -> Tensor:
        if x.ndim < 2 or x.shape[-1] != self.head_dim:
            raise ValueError(
                f"RotaryEmbedding: expected x (..., T, {self.head_dim}), got shape {x.shape}"
            )
        if positions is None:
            check_positions("RotaryEmbedding", x.shape[-2], offset, self.max_len)
            rows: Any = slice(offset, offset + x.shape[-2])
        else:
            rows = np.asarray(positions.data if isinstance(positions, Tensor) else positions)
            if rows.size and (rows.min() < 0 or rows.max() >= self.max_len):
                raise ValueError(
                    f"RotaryEmbedding: positions must be in [0, {self.max_len}), got "
                    f"{rows.min()}..{rows.max()}"
                )
        cos = self.cos.data[rows].astype(x.dtype, copy=False)
        sin = self.sin.data[rows].astype(x.dtype, copy=False)
        return self.run_op(RotaryOp(cos, sin), x)

    def backward(self, grad_output: Tensor) -> Tensor:
        (grad_input,) = self.op_backward(grad_output, (True,))
        assert grad_input is not None
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return f"head_dim={self.head_dim}, max_len={self.max_len}, base={self.base}"
