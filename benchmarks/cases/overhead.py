"""Per-op overhead: ``add`` and ``matmul`` on 8x8 float32 tensors, where the arithmetic is
nothing and the framework is everything.

NumPy itself does an 8x8 add in well under a microsecond; everything above that is Python:
building the Op, ``apply`` unwrapping and wrapping Tensors, dtype checks, and (with
``requires_grad``) recording a graph node, then walking it backwards. The note on each forward
row gives the bare NumPy time, so the overhead per op is the difference.

Forward+backward rows run ``(a op b).sum().backward()`` with both inputs requiring grad: two
recorded ops, then their two derivative rules and the accumulation into ``.grad``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from harness import Bench, Report
from tinytorch.setup import format_seconds
from tinytorch.tensor import Tensor

TITLE = "per-op overhead, 8x8 float32"
N = 8


def add_backward(a: Any, b: Any) -> None:
    a.grad = b.grad = None
    (a + b).sum().backward()


def matmul_backward(a: Any, b: Any) -> None:
    a.grad = b.grad = None
    (a @ b).sum().backward()


def run(bench: Bench) -> Report:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((N, N), dtype=np.float32)
    b = rng.standard_normal((N, N), dtype=np.float32)
    x, y = Tensor(a), Tensor(b)
    gx, gy = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    torch = bench.torch
    if torch is not None:
        tx, ty = torch.from_numpy(a), torch.from_numpy(b)
        tgx = torch.from_numpy(a.copy()).requires_grad_()
        tgy = torch.from_numpy(b.copy()).requires_grad_()

    def numpy_alone(fn: Any) -> str:
        return f"NumPy alone: {format_seconds(bench.time(fn).median_s)}"

    matmul_flops = 2.0 * N**3
    rows = [
        bench.compare(
            f"add {N}x{N} forward",
            lambda: x + y,
            lambda: tx + ty,
            note=numpy_alone(lambda: a + b),
        ),
        bench.compare(
            f"add {N}x{N} forward+backward",
            lambda: add_backward(gx, gy),
            lambda: add_backward(tgx, tgy),
            note="(a + b).sum().backward()",
        ),
        bench.compare(
            f"matmul {N}x{N} forward",
            lambda: x @ y,
            lambda: tx @ ty,
            flops=matmul_flops,
            note=numpy_alone(lambda: a @ b),
        ),
        bench.compare(
            f"matmul {N}x{N} forward+backward",
            lambda: matmul_backward(gx, gy),
            lambda: matmul_backward(tgx, tgy),
            flops=3 * matmul_flops,
            note="(a @ b).sum().backward()",
        ),
    ]
    return Report(rows)
