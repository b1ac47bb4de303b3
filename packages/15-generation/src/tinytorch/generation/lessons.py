"""Systems lessons of generation, as functions that return numbers.

- `positions_processed`: without a cache, every new token re-runs the model over the whole
  (cropped) context, so generating ``n`` tokens processes ``O(n * block_size)`` positions
  instead of ``prompt + n``: the waste module 19's KV cache removes.
- `temperature_entropy`: how temperature reshapes a distribution, in bits (0 at T = 0,
  growing with T towards ``log2(V)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinytorch.generation.sampling import next_token_probs

__all__ = ["positions_processed", "temperature_entropy"]


def positions_processed(prompt_len: int, new_tokens: int, block_size: int) -> dict[str, int]:
    """Token positions the model runs over to generate ``new_tokens`` after a prompt.

    ``"recompute"``: step ``i`` (0-based) runs over ``min(prompt_len + i, block_size)``
    positions, as `generate` does; ``"kv_cache"``: each position once, ``prompt_len +
    new_tokens - 1`` (the last new token is never fed back), the cost with cached keys and
    values (module 19). ``"ratio"``: recompute / kv_cache, rounded down.
    """
    if prompt_len < 1 or new_tokens < 1 or block_size < 1:
        raise ValueError(
            f"positions_processed: prompt_len, new_tokens and block_size must be >= 1, got "
            f"{prompt_len}, {new_tokens}, {block_size}"
        )
    # HINT: without a cache, step i runs the model over min(prompt_len + i, block_size)
    # HINT: positions; with one, each position goes through the model once
    # BEGIN SOLUTION
    lengths = np.minimum(prompt_len + np.arange(new_tokens), block_size)
    recompute = int(lengths.sum())
    cached = prompt_len + new_tokens - 1
    # END SOLUTION
    return {"recompute": recompute, "kv_cache": cached, "ratio": recompute // cached}


def temperature_entropy(logits: Any, temperatures: Iterable[float]) -> dict[float, float]:
    """Entropy in bits of ``next_token_probs(logits, T)`` for each temperature ``T`` (one row
    of logits ``(V,)``): 0 for greedy, the model's entropy at 1, -> log2(V) as T grows."""
    row = np.asarray(logits, dtype=np.float64).reshape(1, -1)
    result = {}
    for t in temperatures:
        p = next_token_probs(row, float(t))[0]
        nonzero = p[p > 0]
        result[float(t)] = float(-(nonzero * np.log2(nonzero)).sum())
    return result
