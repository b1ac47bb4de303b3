"""Matrix multiplication of two (n, n) float32 matrices, n = 256 and 1024: 2n^3 FLOPs.

Here the framework's overhead (microseconds) is nothing against the arithmetic (milliseconds),
so TinyTorch should run at the speed of NumPy's BLAS, and the ratio to PyTorch (which calls its
own BLAS) shows whose library is faster on this machine, not whose Python is.
"""

from __future__ import annotations

import numpy as np

from harness import Bench, Report, Row
from tinytorch.tensor import Tensor

TITLE = "matmul, (n, n) @ (n, n) float32"
SIZES = (256, 1024)


def matmul_row(bench: Bench, n: int, rng: np.random.Generator) -> Row:
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    x, y = Tensor(a), Tensor(b)
    if bench.torch is not None:
        tx, ty = bench.torch.from_numpy(a), bench.torch.from_numpy(b)
    return bench.compare(
        f"matmul {n}x{n} forward", lambda: x @ y, lambda: tx @ ty, flops=2.0 * n**3
    )


def run(bench: Bench) -> Report:
    rng = np.random.default_rng(0)
    return Report([matmul_row(bench, n, rng) for n in SIZES])
