"""A chain of 10,000 ops, ``y = y * 1.0001`` on a 16-element float32 vector, then
``y.sum().backward()``: forward records 10,000 graph nodes, backward visits each once.

The arithmetic is nothing; this measures the cost per recorded op and per derivative rule, and
that autograd handles a graph far deeper than Python's recursion limit (1,000) without recursion.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from harness import Bench, Report
from tinytorch.tensor import Tensor

TITLE = "autograd: a 10,000-op chain, forward+backward"
OPS = 10_000
FACTOR = 1.0001  # 1.0001 ** 20_000 ≈ 7.4: no overflow on the longest chain of autograd_scaling


def chain(x: Any, ops: int) -> Any:
    """``x * FACTOR ** ops`` computed one multiplication at a time: ``ops`` recorded ops."""
    y = x
    for _ in range(ops):
        y = y * FACTOR
    return y


def forward_backward(x: Any, ops: int) -> None:
    x.grad = None
    chain(x, ops).sum().backward()


def run(bench: Bench) -> Report:
    ops = OPS // 10 if bench.quick else OPS
    data = np.random.default_rng(0).standard_normal(16, dtype=np.float32)
    x = Tensor(data, requires_grad=True)
    forward_backward(x, ops)
    expected = FACTOR**ops
    if not np.allclose(x.grad.data, expected, rtol=1e-3):
        raise AssertionError(f"chain of {ops} ops: gradient {x.grad.data[0]} != {expected}")
    if bench.torch is not None:
        tx = bench.torch.from_numpy(data.copy()).requires_grad_()
    row = bench.compare(
        f"{ops:,}-op chain forward+backward",
        lambda: forward_backward(x, ops),
        lambda: forward_backward(tx, ops),
        units=ops,
        unit="op",
        note="y = y * 1.0001, then y.sum().backward()",
    )
    return Report([row])
