"""Systems lessons of module 02, as functions that return numbers.

- Memory: a tensor costs ``numel() * itemsize`` bytes; halving the dtype halves memory and
  bandwidth.
- Layout: NumPy and PyTorch store rows contiguously (C order), so walking along a row reads
  consecutive bytes (cache lines fully used) while walking down a column jumps ``row_bytes``.
- Views: slicing, transposing and reshaping a contiguous tensor allocate no element storage.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinytorch.tensor.tensor import Tensor

DTYPES = ("float64", "float32", "float16", "int64", "int32", "int8", "uint8", "bool")


def memory_footprint(shape: Sequence[int], dtype: Any = np.float32) -> int:
    """Bytes to store a tensor of ``shape`` and ``dtype``: ``prod(shape) * itemsize``."""
    # HINT: the element count is the product of the sizes (1 for shape ()); each element takes
    # HINT: np.dtype(dtype).itemsize bytes. Use an int64 product: a float32 (50000, 50000) is 10 GB
    # BEGIN SOLUTION
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    # END SOLUTION


def footprint_table(shape: Sequence[int]) -> dict[str, int]:
    """Bytes of a ``shape`` tensor for each common dtype, e.g. a 1000x1000 float32 is 4 MB."""
    return {name: memory_footprint(shape, name) for name in DTYPES}


def traversal_timing(n: int = 2048, repeats: int = 3) -> dict[str, float]:
    """Seconds to sum an (n, n) C-order float32 array row by row vs column by column.

    Returns ``{"row_major_s", "column_major_s", "ratio"}``; ratio > 1 means columns are slower
    (each column element sits ``4*n`` bytes after the previous one: one cache line per element).
    """
    array = np.ones((n, n), dtype=np.float32)

    def rows() -> None:
        for i in range(n):
            array[i, :].sum()

    def columns() -> None:
        for j in range(n):
            array[:, j].sum()

    row_s, column_s = _best_of(rows, repeats), _best_of(columns, repeats)
    return {"row_major_s": row_s, "column_major_s": column_s, "ratio": column_s / row_s}


def _best_of(fn: Callable[[], None], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def view_costs(shape: Sequence[int] = (256, 256)) -> dict[str, dict[str, Any]]:
    """For slice, transpose, reshape and a copy of a float32 tensor: shares memory? bytes allocated?

    Views report ``shares_memory=True`` and allocate (almost) nothing: a few hundred bytes of
    array header, never the ``size*4`` bytes of elements that the copy allocates.
    """
    base = Tensor(np.zeros(shape, dtype=np.float32))
    cases: dict[str, Callable[[], Tensor]] = {
        "slice": lambda: base[1:, ::2],
        "transpose": lambda: base.T,
        "reshape": lambda: base.reshape(-1),
        "copy (contiguous of a transpose)": lambda: base.T.contiguous(),
    }
    report = {}
    for name, make in cases.items():
        tracemalloc.start()
        result = make()
        allocated = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        report[name] = {
            "shares_memory": bool(np.shares_memory(result.data, base.data)),
            "bytes_allocated": int(allocated),
        }
    return report
