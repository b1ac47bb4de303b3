"""Systems lessons of module 12, as functions that return numbers.

- Memory: an embedding table holds ``num_embeddings * dim`` numbers. GPT-2's 50,257 x 768 table
  is 38.6 M parameters, 154 MB in float32, and training it with Adam holds 4x that (weights,
  gradient, two moments) (`embedding_memory`, `embedding_memory_table`). A character-level
  model's 65 x 128 table is 33 KB: the vocabulary decides.
- Sparse gradients: a batch of N tokens touches at most N distinct rows, so most of dL/dW is
  zero. With ids drawn uniformly the expected fraction of rows touched is
  ``1 - (1 - 1/V)**N``; real text follows Zipf's law and touches fewer (`gradient_density`,
  `batch_gradient_density`). TinyTorch, like PyTorch by default, still writes the dense
  (V, dim) gradient: simple, and what the optimizers expect.
- Lookup versus one-hot matmul: ``one_hot(ids) @ W`` computes the same rows with
  ``2 * N * V * dim`` FLOPs and an (N, V) matrix; a gather copies ``N * dim`` numbers
  (`lookup_vs_onehot`).
- The backward's scatter-add three ways (``np.add.at``, sort + ``reduceat``, ``bincount``), timed
  on the same gradient (`scatter_timing`); the fastest is `EmbeddingOp`'s default.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinytorch.embeddings.ops import SCATTERS, EmbeddingOp, scatter_rows_add_at
from tinytorch.setup.measure import Timer


def embedding_memory(
    num_embeddings: int, embedding_dim: int, dtype: Any = np.float32
) -> dict[str, int]:
    """What an embedding table costs: ``parameters``, ``bytes`` of the table, and
    ``training_bytes`` with its gradient and Adam's two moments (4x ``bytes``).

    ``embedding_memory(50257, 768)["bytes"]`` is 154,389,504 (GPT-2 small's token table).
    """
    # HINT: one row of embedding_dim values per token id: num_embeddings * embedding_dim parameters,
    # HINT: times the dtype's itemsize bytes
    # BEGIN SOLUTION
    parameters = num_embeddings * embedding_dim
    size = parameters * np.dtype(dtype).itemsize
    # END SOLUTION
    return {"parameters": parameters, "bytes": size, "training_bytes": 4 * size}


def embedding_memory_table(
    vocab_sizes: Iterable[int] = (65, 256, 50257, 128256),
    dims: Iterable[int] = (128, 768, 4096),
    dtype: Any = np.float32,
) -> list[dict[str, int]]:
    """`embedding_memory` for every (vocab size, dim) pair: the table grows as V * dim.

    65 is Tiny Shakespeare's characters, 256 a byte-level vocabulary, 50,257 GPT-2's BPE,
    128,256 LLaMA 3's; 128 is TinyGPT's width, 768 GPT-2 small's, 4096 LLaMA 7B's.
    """
    dims = list(dims)
    return [
        {"num_embeddings": v, "embedding_dim": d, **embedding_memory(v, d, dtype)}
        for v in vocab_sizes
        for d in dims
    ]


def gradient_density(ids: Any, num_embeddings: int) -> dict[str, float]:
    """How sparse one batch's embedding gradient is: ``tokens`` in the batch, ``rows_touched``
    (distinct ids: the only non-zero rows of dL/dW) and ``fraction`` = rows_touched /
    num_embeddings."""
    flat = np.asarray(ids).ravel()
    # HINT: only rows whose id occurs in the batch get gradient: count the distinct ids
    # BEGIN SOLUTION
    touched = int(np.unique(flat).size)
    # END SOLUTION
    return {"tokens": int(flat.size), "rows_touched": touched, "fraction": touched / num_embeddings}


def batch_gradient_density(
    num_embeddings: int,
    batch_size: int,
    seq_len: int,
    zipf_a: float | None = None,
    batches: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Fraction of table rows a batch of (batch_size, seq_len) ids touches, averaged over
    ``batches`` random batches, and the uniform-ids formula ``1 - (1 - 1/V)**N``.

    ``zipf_a=None`` draws ids uniformly; a float draws them from a Zipf law truncated to the
    vocabulary (rank r with probability ~ r**-a: like words in text), which touches fewer rows.
    Returns ``measured``, ``uniform_expected``, ``tokens`` (N = batch_size * seq_len).
    """
    rng = np.random.default_rng(seed)
    tokens = batch_size * seq_len
    if zipf_a is None:
        probabilities = None
    else:
        weights = np.arange(1, num_embeddings + 1, dtype=np.float64) ** -zipf_a
        probabilities = weights / weights.sum()
    fractions = []
    for _ in range(batches):
        ids = rng.choice(num_embeddings, size=tokens, p=probabilities)
        fractions.append(gradient_density(ids, num_embeddings)["fraction"])
    expected = 1.0 - (1.0 - 1.0 / num_embeddings) ** tokens
    return {"measured": float(np.mean(fractions)), "uniform_expected": expected, "tokens": tokens}


def lookup_vs_onehot(
    num_embeddings: int = 1000,
    embedding_dim: int = 64,
    tokens: int = 4096,
    repeats: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Time the same embedding two ways, float32: a gather (`EmbeddingOp`) and ``one_hot(ids)
    @ W`` (build the (N, V) one-hot matrix, then a matmul).

    Returns ``lookup_s``, ``onehot_s`` (median seconds per call), ``speedup`` (onehot / lookup),
    ``onehot_flops`` = 2*N*V*dim, ``lookup_bytes`` (the N*dim copied numbers),
    ``onehot_bytes`` (the one-hot matrix) and ``max_abs_difference`` (0: the same rows).
    """
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((num_embeddings, embedding_dim), dtype=np.float32)
    ids = rng.integers(0, num_embeddings, tokens)

    def lookup() -> np.ndarray:
        return EmbeddingOp().forward(ids, table)

    def onehot() -> np.ndarray:
        # HINT: the same lookup as a matmul: a (tokens, num_embeddings) one-hot matrix (one 1 per
        # HINT: row at the token's id) times the table
        # BEGIN SOLUTION
        matrix = np.zeros((tokens, num_embeddings), dtype=np.float32)
        matrix[np.arange(tokens), ids] = 1.0
        return matrix @ table
        # END SOLUTION

    timer = Timer(warmup=1, repeats=repeats)
    lookup_s, onehot_s = timer.measure(lookup).median_s, timer.measure(onehot).median_s
    return {
        "lookup_s": lookup_s,
        "onehot_s": onehot_s,
        "speedup": onehot_s / max(lookup_s, 1e-12),
        "onehot_flops": 2.0 * tokens * num_embeddings * embedding_dim,
        "lookup_bytes": tokens * embedding_dim * 4,
        "onehot_bytes": tokens * num_embeddings * 4,
        "max_abs_difference": float(np.max(np.abs(lookup() - onehot()))),
    }


def scatter_timing(
    num_embeddings: int = 1000,
    embedding_dim: int = 64,
    tokens: int = 4096,
    repeats: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Time the embedding backward's scatter-add each way on one float32 gradient (N, dim).

    Returns ``{method: {"seconds", "max_abs_error"}}`` for ``add_at``, ``sort`` and
    ``bincount`` (error against the ``np.add.at`` oracle), and ``fastest``: the method's name.
    """
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, num_embeddings, tokens)
    rows = rng.standard_normal((tokens, embedding_dim), dtype=np.float32)
    reference = scatter_rows_add_at(ids, rows, num_embeddings)
    timer = Timer(warmup=1, repeats=repeats)
    report: dict[str, Any] = {}
    for method, scatter in SCATTERS.items():
        report[method] = {
            "seconds": timer.measure(scatter, ids, rows, num_embeddings).median_s,
            "max_abs_error": float(np.max(np.abs(scatter(ids, rows, num_embeddings) - reference))),
        }
    report["fastest"] = min(SCATTERS, key=lambda method: report[method]["seconds"])
    return report
