"""LayerNorm forward and backward over the last dim: TinyTorch's fused `LayerNormOp` (two-pass
statistics, x_hat saved, closed-form backward), its Tensor-op reference (mean, subtract,
multiply, sqrt, divide, scale, shift: 9 recorded nodes), and PyTorch's ``nn.LayerNorm``.

Sizes: TinyGPT's activations (32 x 64 tokens of 128) and GPT-2 small's (8 x 1024 tokens of
768). No FLOPs: a normalisation is a few passes over memory. Backward rows time
``y.backward(grad, retain_graph=True)`` on one recorded forward (input, weight and bias
gradients).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from harness import Bench, Report, Row
from tinytorch.tensor import Tensor
from tinytorch.transformers import LayerNorm, layer_norm_reference

TITLE = "LayerNorm forward and backward: fused Op, Tensor-op reference, PyTorch"
SIZES = ((32, 64, 128), (8, 1024, 768))  # (batch, tokens, features)
QUICK_SIZES = ((8, 64, 128), (2, 256, 768))


def size_rows(
    bench: Bench, batch: int, length: int, dim: int, rng: np.random.Generator
) -> list[Row]:
    x = rng.standard_normal((batch, length, dim), dtype=np.float32)
    grad = rng.standard_normal((batch, length, dim), dtype=np.float32)
    layer = LayerNorm(dim)
    layer.weight.data[...] = rng.standard_normal(dim)
    layer.bias.data[...] = rng.standard_normal(dim)
    tx, tgrad = Tensor(x, requires_grad=True), Tensor(grad)
    out = layer(tx)
    rx = Tensor(x, requires_grad=True)

    def reference_step() -> None:
        layer_norm_reference(rx, (dim,), layer.weight, layer.bias).backward(tgrad)

    torch = bench.torch
    torch_forward = torch_backward = torch_step = None
    note = ""
    if torch is not None:
        twin = torch.nn.LayerNorm(dim)
        with torch.no_grad():
            twin.weight.copy_(torch.from_numpy(layer.weight.data))
            twin.bias.copy_(torch.from_numpy(layer.bias.data))
        px, pgrad = torch.from_numpy(x.copy()).requires_grad_(), torch.from_numpy(grad)
        pout = twin(px)
        out.backward(tgrad, retain_graph=True)
        pout.backward(pgrad, retain_graph=True)
        dx_gap = np.abs(tx.grad.data - px.grad.numpy()).max() / np.abs(px.grad.numpy()).max()
        note = (
            f"vs PyTorch: |y - y_PT| <= {np.abs(out.data - pout.detach().numpy()).max():.0e}, "
            f"dx relative {dx_gap:.0e}"
        )

        def torch_forward() -> Any:
            return twin(px)

        def torch_backward() -> None:
            pout.backward(pgrad, retain_graph=True)

        def torch_step() -> None:
            twin(px).backward(pgrad)

    label = f"{batch}x{length} tokens of {dim}"
    return [
        bench.compare(f"{label} forward", lambda: layer(tx), torch_forward, note=note),
        bench.compare(
            f"{label} backward", lambda: out.backward(tgrad, retain_graph=True), torch_backward
        ),
        bench.compare(
            f"{label} fwd+bwd, Tensor-op reference",
            reference_step,
            torch_step,
            note="TinyTorch: 9 recorded ops, autograd",
        ),
    ]


def run(bench: Bench) -> Report:
    rng = np.random.default_rng(0)
    rows: list[Row] = []
    sizes = QUICK_SIZES if bench.quick else SIZES
    for size in sizes:
        rows += size_rows(bench, *size, rng)
    return Report(rows, {"sizes": sizes})
