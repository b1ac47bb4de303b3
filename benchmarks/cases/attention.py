"""Causal scaled dot-product attention, forward and backward: TinyTorch's fused Op, TinyTorch's
Tensor-op reference, and PyTorch's ``F.scaled_dot_product_attention``.

Sizes: TinyGPT's (batch 32, 4 heads, 64 tokens, head size 32) and a longer context (batch 4,
8 heads, 512 tokens, head size 64). TinyTorch's `ScaledDotProductAttentionOp` computes the
scores, the causal mask and a max-subtracted softmax in one in-place (B, H, T, T) buffer, keeps
it for the backward, and differentiates in closed form (dS = P * (dP - rowsum(dP * P))). The
reference (``scaled_dot_product_attention_reference``) is the same function from matmul,
where, softmax and multiply, differentiated by autograd: 7 recorded nodes. PyTorch 2.13 runs
its CPU flash-attention kernel (blocked, never the full T x T matrix at once).

FLOPs count the full T x T matrices, as TinyTorch computes them (the causal mask halves the
useful work, which PyTorch's kernel skips): forward 4*B*H*T^2*D, backward 8*B*H*T^2*D.
Backward rows time ``y.backward(grad, retain_graph=True)`` on one recorded forward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from harness import Bench, Report, Row
from tinytorch.attention import (
    scaled_dot_product_attention,
    scaled_dot_product_attention_reference,
)
from tinytorch.tensor import Tensor

TITLE = "causal scaled dot-product attention: fused Op, Tensor-op reference, PyTorch"
SIZES = ((32, 4, 64, 32), (4, 8, 512, 64))  # (batch, heads, tokens, head size)
QUICK_SIZES = ((4, 4, 64, 32), (1, 4, 256, 32))


def gap(ours: np.ndarray, theirs: Any) -> float:
    reference = theirs.detach().numpy()
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def size_rows(
    bench: Bench, batch: int, heads: int, length: int, dim: int, rng: np.random.Generator
) -> list[Row]:
    shape = (batch, heads, length, dim)
    q, k, v, grad = (rng.standard_normal(shape, dtype=np.float32) for _ in range(4))
    tq, tk, tv = (Tensor(a, requires_grad=True) for a in (q, k, v))
    tgrad = Tensor(grad)
    out = scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    rq, rk, rv = (Tensor(a, requires_grad=True) for a in (q, k, v))

    def reference_step() -> None:
        scaled_dot_product_attention_reference(rq, rk, rv, is_causal=True).backward(tgrad)

    torch = bench.torch
    torch_forward = torch_backward = torch_step = None
    note = ""
    if torch is not None:
        F = torch.nn.functional
        pq, pk, pv = (torch.from_numpy(a.copy()).requires_grad_() for a in (q, k, v))
        pgrad = torch.from_numpy(grad)
        pout = F.scaled_dot_product_attention(pq, pk, pv, is_causal=True)
        out.backward(tgrad, retain_graph=True)
        pout.backward(pgrad, retain_graph=True)
        grads = ", ".join(
            f"{name} {gap(ours.grad.data, theirs.grad):.0e}"
            for name, ours, theirs in (("dq", tq, pq), ("dk", tk, pk), ("dv", tv, pv))
        )
        note = f"vs PyTorch, relative: y {gap(out.data, pout):.0e}, {grads}"

        def torch_forward() -> Any:
            return F.scaled_dot_product_attention(pq, pk, pv, is_causal=True)

        def torch_backward() -> None:
            pout.backward(pgrad, retain_graph=True)

        def torch_step() -> None:
            F.scaled_dot_product_attention(pq, pk, pv, is_causal=True).backward(pgrad)

    flops = 4.0 * batch * heads * length * length * dim
    label = f"B{batch} H{heads} T{length} D{dim}"
    return [
        bench.compare(
            f"{label} forward",
            lambda: scaled_dot_product_attention(tq, tk, tv, is_causal=True),
            torch_forward,
            flops=flops,
            note=note,
        ),
        bench.compare(
            f"{label} backward",
            lambda: out.backward(tgrad, retain_graph=True),
            torch_backward,
            flops=2 * flops,
        ),
        bench.compare(
            f"{label} fwd+bwd, Tensor-op reference",
            reference_step,
            torch_step,
            flops=3 * flops,
            note="TinyTorch: 7 recorded ops (transpose, matmul, mul, where, softmax, mul, matmul)",
        ),
    ]


def run(bench: Bench) -> Report:
    rng = np.random.default_rng(0)
    rows: list[Row] = []
    sizes = QUICK_SIZES if bench.quick else SIZES
    for size in sizes:
        rows += size_rows(bench, *size, rng)
    return Report(rows, {"sizes": sizes})
