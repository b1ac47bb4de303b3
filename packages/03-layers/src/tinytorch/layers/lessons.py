"""Systems lessons of module 03, as functions that return numbers.

- Memory: a model's parameters cost ``num_parameters * itemsize`` bytes. ``Linear(784, 128)``
  holds 100,480 numbers: 401,920 bytes in float32, half that in float16. Training needs more on
  top (a gradient per parameter here; optimizer state in module 08).
- Compute: a Linear layer on N rows does one multiply and one add per weight per row:
  ``2*N*in*out`` FLOPs forward. Its backward is two matmuls of the same size (dL/dx and dL/dW),
  so a training step costs about 3x the forward pass.
- Cache: a matmul's ``2*n^3`` FLOPs run at very different speeds depending on how memory is
  read. The textbook loop reads a column of B for every output element (one cache line per
  number); working in small tiles reuses every number loaded into cache ``block`` times; a
  BLAS library (``np.matmul``) adds SIMD, register blocking and threads on top.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.layers.module import Module
from tinytorch.setup.measure import Timer

MEMORY_DTYPES = ("float64", "float32", "float16", "int8")


def parameter_memory(module: Module, dtype: Any = None) -> int:
    """Bytes of ``module``'s parameters: as stored (``dtype=None``), or if stored as ``dtype``.

    A shared parameter is counted once. Buffers (state that is not trained) are not included.
    ``parameter_memory(Linear(784, 128))`` is 401,920 (100,480 float32 numbers * 4 bytes).
    """
    # HINT: module.parameters() yields each parameter once; a Tensor knows its .nbytes
    # BEGIN SOLUTION
    if dtype is None:
        return sum(param.nbytes for param in module.parameters())
    return module.num_parameters() * np.dtype(dtype).itemsize
    # END SOLUTION


def parameter_memory_table(module: Module) -> dict[str, int]:
    """Bytes of ``module``'s parameters in each of float64, float32, float16 and int8."""
    return {name: parameter_memory(module, name) for name in MEMORY_DTYPES}


def linear_flops(
    batch: int, in_features: int, out_features: int, backward: bool = False, bias: bool = True
) -> int:
    """FLOPs of ``Linear(in_features, out_features)`` on ``batch`` rows (a multiply-add is 2).

    Forward: ``x @ W.T`` is ``2*N*in*out``; adding the bias is ``N*out``. With
    ``backward=True``, the forward plus the backward: dL/dx = g @ W and dL/dW = g.T @ x are
    ``2*N*in*out`` each, and dL/db (a sum of g over the rows) is ``N*out``.
    ``linear_flops(32, 784, 128)`` is 6,426,624.
    """
    if min(batch, in_features, out_features) < 0:
        raise ValueError(
            f"linear_flops: sizes must be >= 0, got batch={batch}, in_features={in_features}, "
            f"out_features={out_features}"
        )
    # HINT: a matmul (N, in) @ (in, out) does N*out dot products of length in
    # BEGIN SOLUTION
    matmul = 2 * batch * in_features * out_features
    bias_flops = batch * out_features if bias else 0
    forward = matmul + bias_flops
    if not backward:
        return forward
    return forward + 2 * matmul + bias_flops
    # END SOLUTION


def _check_matmul_shapes(name: str, a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(
            f"{name}: needs a (n, k) and b (k, m), got shapes {a.shape} and {b.shape}; "
            f"the inner sizes must match"
        )


def matmul_naive(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The textbook triple loop, with the innermost (k) loop vectorised as one dot product.

    a: (n, k), b: (k, m) -> (n, m), in the result dtype of a and b. ``n*m`` Python iterations,
    each reading a row of ``a`` (contiguous) and a column of ``b``: consecutive column elements
    are ``m*itemsize`` bytes apart, so every number read costs a whole cache line.
    """
    _check_matmul_shapes("matmul_naive", a, b)
    c = np.zeros((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    # HINT: c[i, j] is the dot product of row i of a and column j of b
    # BEGIN SOLUTION
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            c[i, j] = a[i, :] @ b[:, j]
    # END SOLUTION
    return c


def matmul_blocked(a: np.ndarray, b: np.ndarray, block: int = 32) -> np.ndarray:
    """Tiled matmul: ``c[I, J] += a[I, K] @ b[K, J]`` over ``block x block`` tiles I, J, K.

    a: (n, k), b: (k, m) -> (n, m). Three 32x32 float32 tiles are 12 KiB, which fit in a core's
    L1 cache: each number brought into cache is used ``block`` times before it is evicted,
    instead of once. ``ceil(n/block) * ceil(m/block) * ceil(k/block)`` tile products in all;
    edge tiles are smaller when a size is not a multiple of ``block``.
    """
    _check_matmul_shapes("matmul_blocked", a, b)
    if block < 1:
        raise ValueError(f"matmul_blocked: block must be >= 1, got {block}")
    n, k = a.shape
    m = b.shape[1]
    c = np.zeros((n, m), dtype=np.result_type(a, b))
    # HINT: three nested loops over tile corners (i0, j0, k0), stepping by block
    # BEGIN SOLUTION
    for i0 in range(0, n, block):
        for j0 in range(0, m, block):
            for k0 in range(0, k, block):
                a_tile = a[i0 : i0 + block, k0 : k0 + block]
                b_tile = b[k0 : k0 + block, j0 : j0 + block]
                c[i0 : i0 + block, j0 : j0 + block] += a_tile @ b_tile
    # END SOLUTION
    return c


def gemm_order_timing(
    n: int = 128, block: int = 32, repeats: int = 3, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Time an (n, n) float32 matmul three ways: naive loops, tiled, and ``np.matmul`` (BLAS).

    Returns ``{"naive": row, "blocked": row, "numpy": row}`` where each row is
    ``{"seconds": median seconds per call, "gflops": 2*n^3 / seconds / 1e9,
    "max_abs_error": largest |result - np.matmul|}``. The same arithmetic runs orders of
    magnitude apart: Python overhead per element, then cache reuse, then SIMD and threads.
    Cost: about ``repeats + 1`` calls of each; the naive one takes tens of ms at n=128.
    """
    if n < 1:
        raise ValueError(f"gemm_order_timing: n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    reference = np.matmul(a, b)
    variants: dict[str, Callable[[], np.ndarray]] = {
        "naive": lambda: matmul_naive(a, b),
        "blocked": lambda: matmul_blocked(a, b, block),
        "numpy": lambda: np.matmul(a, b),
    }
    flops = 2 * n**3
    report = {}
    for name, run in variants.items():
        seconds = Timer(warmup=1, repeats=repeats).measure(run).median_s
        error = float(np.max(np.abs(run() - reference)))
        report[name] = {
            "seconds": seconds,
            "gflops": flops / max(seconds, 1e-12) / 1e9,
            "max_abs_error": error,
        }
    return report
