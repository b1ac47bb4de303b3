"""What a KV cache costs in memory, as code, checked against the arrays a cache allocates.

Every layer keeps a key and a value vector per head, per position, per sequence:

    bytes = 2 (keys and values) x layers x batch x heads x length x head_dim x itemsize

It grows linearly with the batch and the context, and does not depend on the vocabulary or the
MLP: for nanoGPT's Shakespeare model (6 layers, 6 heads of 64, block 256) it is 4.7 MB per
sequence in float32; GPT-2 XL's shape (48 layers, 25 heads of 64, 1024 positions) needs 629 MB
per sequence, more than its 1.5B parameters' float16 weights once the batch passes 5.
`allocated_bytes` sums the arrays a cache actually holds, so a test can check the formula
against them (and an INT8 cache's savings are measured, not claimed).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def kv_cache_bytes(
    num_layers: int,
    batch_size: int,
    num_heads: int,
    length: int,
    head_dim: int,
    itemsize: int = 4,
) -> int:
    """``2 * num_layers * batch_size * num_heads * length * head_dim * itemsize``: the bytes
    of the keys and values of ``length`` positions (4 = float32, 2 = float16, 1 = int8)."""
    # HINT: keys and values (2) for every layer, sequence, head, position and feature
    # BEGIN SOLUTION
    return 2 * num_layers * batch_size * num_heads * length * head_dim * itemsize
    # END SOLUTION


def model_cache_bytes(
    model: Any, batch_size: int, length: int | None = None, itemsize: int = 4
) -> int:
    """`kv_cache_bytes` for a GPT-shaped model (``n_layer``, ``n_head``, ``n_embd``,
    ``block_size``); ``length`` defaults to ``block_size``."""
    length = model.block_size if length is None else length
    head_dim = model.n_embd // model.n_head
    return kv_cache_bytes(model.n_layer, batch_size, model.n_head, length, head_dim, itemsize)


def cache_arrays(cache: Any) -> list[np.ndarray]:
    """Every NumPy array a cache object holds (its attributes that are arrays, or lists or
    tuples of arrays), each once."""
    arrays: dict[int, np.ndarray] = {}
    for value in vars(cache).values():
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, np.ndarray):
                arrays[id(item)] = item
    return list(arrays.values())


def allocated_bytes(cache: Any) -> int:
    """The bytes of the arrays ``cache`` holds (`cache_arrays`), whatever is filled."""
    return sum(array.nbytes for array in cache_arrays(cache))
