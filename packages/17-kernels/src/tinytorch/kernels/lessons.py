"""Educational kernels with measured effects: a tiled matmul and loop vs vectorised ReLU.

**Tiling.** ``C = A @ B`` touches every row of A once per column block of B. Computed in
``tile x tile`` blocks, each block of A, B and C is reused ``tile`` times while it sits in cache;
`tile_sweep` times `tiled_matmul` over tile sizes: tiny tiles drown in Python overhead (one
NumPy call per block), huge ones fall out of cache, and even the best stays several times
slower than one BLAS call (``np.matmul``), which tiles for registers, L1, L2 and L3 at once,
vectorises and uses every core. Each tile product here is itself an ``np.matmul`` on a small
block (the point is the blocking loop around it, which a student writes and measures).

**Vectorisation.** `relu_loop` is one Python step per element; `relu_vectorised` one NumPy call
for the whole array: about 100x apart on a million elements.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def matmul_flops(m: int, k: int, n: int) -> float:
    """FLOPs of an (m, k) @ (k, n) product: 2*m*k*n (one multiply and one add per term)."""
    return 2.0 * m * k * n


def tiled_matmul(a: np.ndarray, b: np.ndarray, tile: int = 64) -> np.ndarray:
    """``a @ b`` computed in ``tile x tile`` blocks: a (M, K), b (K, N) -> (M, N), a's dtype.

    For each block row i of C and block column j, C[i, j] = sum over block p of
    A[i, p] @ B[p, j]; edge blocks are smaller when ``tile`` does not divide a size. Cost:
    2*M*K*N FLOPs in (M/tile)*(N/tile)*(K/tile) small products.
    """
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(
            f"tiled_matmul: expected (M, K) @ (K, N), got shapes {a.shape} and {b.shape}"
        )
    if tile < 1:
        raise ValueError(f"tiled_matmul: tile must be >= 1, got {tile}")
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), dtype=np.result_type(a, b))
    # HINT: three nested loops over block starts (rows of C, columns of C, the shared dim K);
    # HINT: slices past the end are clipped by NumPy, so edge blocks need no special case
    # BEGIN SOLUTION
    for i in range(0, m, tile):
        for j in range(0, n, tile):
            block = out[i : i + tile, j : j + tile]
            for p in range(0, k, tile):
                block += a[i : i + tile, p : p + tile] @ b[p : p + tile, j : j + tile]
    # END SOLUTION
    return out


def tile_sweep(
    size: int = 256, tiles: tuple[int, ...] = (8, 16, 32, 64, 128, 256), repeats: int = 3
) -> list[dict[str, Any]]:
    """Time `tiled_matmul` on (size, size) float32 matrices for each tile size, and np.matmul:
    rows ``{"tile", "seconds", "gflops", "vs_blas"}`` (the BLAS row has tile None); each time
    is the fastest of ``repeats`` after a warm-up call."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    flops = matmul_flops(size, size, size)

    def best(function: Any) -> float:
        function()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        return min(times)

    blas = best(lambda: a @ b)
    rows: list[dict[str, Any]] = []
    for tile in tiles:
        seconds = best(lambda tile=tile: tiled_matmul(a, b, tile))
        rows.append(
            {
                "tile": tile,
                "seconds": seconds,
                "gflops": flops / seconds / 1e9,
                "vs_blas": seconds / blas,
            }
        )
    rows.append({"tile": None, "seconds": blas, "gflops": flops / blas / 1e9, "vs_blas": 1.0})
    return rows


def relu_loop(x: np.ndarray) -> np.ndarray:
    """max(x, 0) one element at a time in Python (the slow baseline): any shape, x's dtype."""
    out = np.empty_like(x)
    flat_in, flat_out = x.reshape(-1), out.reshape(-1)
    # HINT: one Python iteration per element; write each result into flat_out
    # BEGIN SOLUTION
    for i in range(flat_in.size):
        value = flat_in[i]
        flat_out[i] = value if value > 0 else 0
    # END SOLUTION
    return out


def relu_vectorised(x: np.ndarray) -> np.ndarray:
    """max(x, 0) as one NumPy call over the whole array: any shape, x's dtype."""
    # HINT: one ufunc call; keep the dtype (a Python 0 would not promote float32)
    # BEGIN SOLUTION
    return np.maximum(x, 0)
    # END SOLUTION
