"""Systems lessons of module 13, as functions that return numbers.

- Memory: every head of every sequence holds an (L, S) matrix of attention weights, kept for
  the backward: ``batch * heads * L * S * 4`` bytes per layer in float32
  (`attention_score_memory`). It grows as T^2: 64 tokens are 16 KB per head, 2,048 tokens
  16 MB per head, 1 GB for a batch of 8 with 8 heads, *per layer*. `measure_attention_memory`
  measures the forward's peak and what it keeps with ``tracemalloc`` against the formula.
- Compute: per layer and sequence, the projections cost ``8 T E^2`` FLOPs (queries, keys,
  values, output), the MLP ``16 T E^2``, attention itself ``4 T^2 E`` (scores and weighted
  sum) (`attention_flops`). Attention overtakes the projections at T = 2E and the whole layer's
  other matmuls at T = 6E; a causal kernel that skips the masked half needs T = 4E and 12E
  (`attention_crossover`). TinyGPT (E = 128, T = 64) is far below: attention is 1/4 of its
  projections' FLOPs, and short sequences are projection-bound.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinytorch.attention.ops import ScaledDotProductAttentionOp
from tinytorch.setup.measure import measure_memory


def attention_score_memory(
    batch: int,
    num_heads: int,
    seq_len: int,
    source_len: int | None = None,
    dtype: Any = np.float32,
) -> int:
    """Bytes of one layer's attention weights, (batch, heads, L, S): what the forward keeps
    for the backward (without dropout). ``source_len`` defaults to ``seq_len`` (self-attention).
    """
    source = seq_len if source_len is None else source_len
    # HINT: one score per (query, key) pair, per head, per sequence; times the bytes of one
    # HINT: number of ``dtype`` (np.dtype(dtype).itemsize)
    # BEGIN SOLUTION
    return batch * num_heads * seq_len * source * np.dtype(dtype).itemsize
    # END SOLUTION


def measure_attention_memory(
    seq_lens: Iterable[int] = (64, 128, 256, 512),
    batch: int = 2,
    num_heads: int = 4,
    head_dim: int = 16,
    is_causal: bool = True,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Run one float32 attention forward (`ScaledDotProductAttentionOp`) per length under
    ``tracemalloc``: its ``peak_bytes`` (while it ran) and ``retained_bytes`` (the output and
    what the Op saved, alive afterwards), against ``formula_bytes`` (`attention_score_memory`)
    and ``output_bytes`` (B, H, T, D). The saved weights are ``retained - output``; the peak
    adds the row statistics. A first, unmeasured call caches the causal mask (L*S bytes,
    shared by every later call of that size).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for t in seq_lens:
        q, k, v = rng.standard_normal((3, batch, num_heads, t, head_dim), dtype=np.float32)
        ScaledDotProductAttentionOp(is_causal=is_causal).forward(q, k, v)  # caches the mask
        op = ScaledDotProductAttentionOp(is_causal=is_causal)
        result = measure_memory(op.forward, q, k, v)
        formula = attention_score_memory(batch, num_heads, t)
        rows.append(
            {
                "seq_len": t,
                "formula_bytes": formula,
                "peak_bytes": result.peak_bytes,
                "retained_bytes": result.retained_bytes,
                "output_bytes": batch * num_heads * t * head_dim * 4,
                "peak_over_formula": result.peak_bytes / formula,
            }
        )
        del op, result
    return rows


def attention_flops(seq_len: int, embed_dim: int, batch: int = 1) -> dict[str, float]:
    """Forward matmul FLOPs of one Transformer layer on ``batch`` sequences of ``seq_len``
    tokens of width ``embed_dim`` (E), split by part (heads do not change the totals):

    ``scores`` 2 T^2 E (q k^T), ``weighted_sum`` 2 T^2 E (P v), ``attention`` their sum;
    ``qkv_projection`` 6 T E^2, ``out_projection`` 2 T E^2, ``projections`` their sum;
    ``mlp`` 16 T E^2 (E -> 4E -> E); ``attention_fraction`` of the three.
    """
    t, e = float(seq_len), float(embed_dim)
    # HINT: a (m, k) @ (k, n) matmul costs 2*m*k*n FLOPs; q k^T is (T, E) @ (E, T), P v is
    # HINT: (T, T) @ (T, E); the projections are (T, E) @ (E, 3E) and (E, E); the MLP E->4E->E
    # BEGIN SOLUTION
    scores = weighted = 2.0 * t * t * e
    qkv, out = 6.0 * t * e * e, 2.0 * t * e * e
    mlp = 16.0 * t * e * e
    # END SOLUTION
    parts = {
        "scores": scores,
        "weighted_sum": weighted,
        "attention": scores + weighted,
        "qkv_projection": qkv,
        "out_projection": out,
        "projections": qkv + out,
        "mlp": mlp,
    }
    report = {name: batch * value for name, value in parts.items()}
    report["attention_fraction"] = parts["attention"] / (parts["attention"] + qkv + out + mlp)
    return report


def attention_crossover(embed_dim: int) -> dict[str, float]:
    """Sequence lengths at which attention's FLOPs (4 T^2 E) equal: the projections' (8 T E^2):
    ``vs_projections`` = 2E; all the layer's other matmuls (24 T E^2, projections and MLP):
    ``vs_layer`` = 6E; and, for a causal kernel that skips the masked half (2 T^2 E),
    ``causal_vs_projections`` = 4E and ``causal_vs_layer`` = 12E."""
    e = float(embed_dim)
    # HINT: solve a * T^2 * E = b * T * E^2 for T: T = b * E / a (a = 4 for full attention,
    # HINT: 2 for the causal half; b = 8 for the projections, 24 for the whole layer)
    # BEGIN SOLUTION
    return {
        "vs_projections": 8.0 * e / 4.0,
        "vs_layer": 24.0 * e / 4.0,
        "causal_vs_projections": 8.0 * e / 2.0,
        "causal_vs_layer": 24.0 * e / 2.0,
    }
    # END SOLUTION
