"""Conv2d forward and backward, timed separately, at the CIFAR CNN's sizes (batch 128, 3x3
kernels, padding 1, stride 1, no bias: BatchNorm follows every conv in that network).

FLOPs: forward ``2*N*O*Ho*Wo*C*kH*kW`` (one multiply-add per kernel weight per output pixel);
backward twice that: the input's gradient and the weight's gradient are each a matmul as large
as the forward (both are computed here, the input requires grad).

TinyTorch runs a convolution as im2col (copy every 3x3 window into a column matrix, 9x the
input) plus one batched matmul; its backward is two matmuls plus col2im (one strided add per
kernel offset). Each row's note splits TinyTorch's time into those parts, each timed alone on
the same arrays with the functions `tinytorch.spatial.ops` uses (the backward's on the column
matrix the layer's `Conv2dOp` saved, ``op.saved``). PyTorch calls oneDNN's direct
convolution kernels. Backward rows time ``y.backward(grad, retain_graph=True)`` on one
recorded forward, on both sides (the gradients accumulate into ``.grad``, as in training).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from harness import Bench, Report, Row
from tinytorch.setup import format_seconds
from tinytorch.spatial import Conv2d
from tinytorch.spatial.ops import col2im, im2col, pad2d
from tinytorch.tensor import Tensor

TITLE = "Conv2d forward and backward, CIFAR CNN sizes, batch 128, 3x3, padding 1"
BATCH, KERNEL, PADDING = 128, 3, 1
LAYERS = ((3, 32, 32), (32, 64, 32), (64, 128, 16))  # (in channels, out channels, image size)
QUICK_BATCH = 16
Part = tuple[str, Callable[[], Any], float | None]  # (name, work, FLOPs or None)


def conv_flops(batch: int, c_in: int, c_out: int, size: int) -> float:
    """Forward FLOPs of a stride-1 'same' 3x3 convolution: 2*N*O*Ho*Wo*C*kH*kW."""
    return 2.0 * batch * c_out * size * size * c_in * KERNEL * KERNEL


def split(bench: Bench, parts: list[Part]) -> dict[str, float]:
    """Time each part of TinyTorch's work alone: {part: seconds}."""
    return {name: bench.time(fn).median_s for name, fn, _ in parts}


def split_note(parts: list[Part], seconds: dict[str, float]) -> str:
    """``"TT: im2col 3.1 ms, matmul 5.2 ms (210 GFLOP/s)"``."""
    texts = []
    for name, _, flops in parts:
        rate = f" ({flops / seconds[name] / 1e9:,.0f} GFLOP/s)" if flops else ""
        texts.append(f"{name} {format_seconds(seconds[name])}{rate}")
    return "TT: " + ", ".join(texts)


def columns(conv: Conv2d, x: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
    """``make_cols()`` (pad, then im2col: what `Conv2dOp.forward` copies), the column matrix
    the layer's own Op saved for its backward (``op.saved``), and the weight as a
    (1, O, kH*kW*C) matrix whose rows are ordered like the columns'."""
    out_channels, _, kh, kw = conv.weight.shape
    size = x.shape[-1]
    padding = ((PADDING, PADDING), (PADDING, PADDING))

    def make_cols() -> np.ndarray:
        return im2col(pad2d(x, padding), (kh, kw), (1, 1), (1, 1), 1, (size, size))

    op = conv.make_op()
    op.forward(x, conv.weight.data)
    cols, _ = op.saved
    weight = conv.weight.data.transpose(0, 2, 3, 1)
    return make_cols, cols, np.ascontiguousarray(weight).reshape(1, out_channels, -1)


def forward_parts(conv: Conv2d, x: np.ndarray, flops: float) -> list[Part]:
    """Padding plus im2col (the copy), and the matmul, as `Conv2dOp.forward` runs them."""
    make_cols, cols, matrix = columns(conv, x)
    return [("pad+im2col", make_cols, None), ("matmul", lambda: np.matmul(matrix, cols), flops)]


def backward_parts(conv: Conv2d, x: np.ndarray, grad: np.ndarray, flops: float) -> list[Part]:
    """As `Conv2dOp.backward` runs them on the columns its forward saved: dW = dY @ cols^T
    (summed over the batch), dcols = W^T @ dY, then col2im."""
    _, cols, matrix = columns(conv, x)
    n, out_channels, height, width = grad.shape
    dy = grad.reshape(n, 1, out_channels, height * width)
    matrix_t = matrix.swapaxes(-1, -2)  # a view, as Conv2dOp.backward passes it
    dcols = np.matmul(matrix_t, dy)
    padded_shape = (n, x.shape[1], height + 2 * PADDING, width + 2 * PADDING)
    kernel = (KERNEL, KERNEL)
    return [
        ("dW matmul", lambda: np.matmul(dy, cols.swapaxes(-1, -2)).sum(axis=0), flops / 2),
        ("dX matmul", lambda: np.matmul(matrix_t, dy), flops / 2),
        ("col2im", lambda: col2im(dcols, padded_shape, kernel, (1, 1), (1, 1)), None),
    ]


def relative_gap(ours: np.ndarray, theirs: Any) -> float:
    """max |ours - theirs| / max |theirs|: float32 round-off is ~1e-7 to 1e-6."""
    reference = theirs.detach().numpy()
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def layer_rows(
    bench: Bench, c_in: int, c_out: int, size: int, rng: np.random.Generator
) -> tuple[list[Row], dict[str, dict[str, float]]]:
    """Forward and backward rows of one layer, and TinyTorch's time per part of each."""
    batch = QUICK_BATCH if bench.quick else BATCH
    x = rng.standard_normal((batch, c_in, size, size), dtype=np.float32)
    grad = rng.standard_normal((batch, c_out, size, size), dtype=np.float32)
    conv = Conv2d(c_in, c_out, KERNEL, padding=PADDING, bias=False, rng=np.random.default_rng(0))
    tx, tgrad = Tensor(x, requires_grad=True), Tensor(grad)
    ty = conv(tx)
    torch = bench.torch
    torch_forward = torch_backward = None
    same = ""
    if torch is not None:
        twin = torch.nn.Conv2d(c_in, c_out, KERNEL, padding=PADDING, bias=False)
        with torch.no_grad():
            twin.weight.copy_(torch.from_numpy(conv.weight.data))
        px = torch.from_numpy(x.copy()).requires_grad_()
        py, pgrad = twin(px), torch.from_numpy(grad)
        ty.backward(tgrad, retain_graph=True)
        py.backward(pgrad, retain_graph=True)
        same = (
            f"; vs PyTorch, relative: y {relative_gap(ty.data, py):.0e}, "
            f"dx {relative_gap(tx.grad.data, px.grad):.0e}, "
            f"dW {relative_gap(conv.weight.grad.data, twin.weight.grad):.0e}"
        )

        def torch_forward() -> Any:
            return twin(px)

        def torch_backward() -> None:
            py.backward(pgrad, retain_graph=True)

    flops = conv_flops(batch, c_in, c_out, size)
    shape = f"{c_in}->{c_out}, {size}x{size}"
    forward, backward = forward_parts(conv, x, flops), backward_parts(conv, x, grad, 2 * flops)
    forward_s, backward_s = split(bench, forward), split(bench, backward)
    rows = [
        bench.compare(
            f"{shape} forward",
            lambda: conv(tx),
            torch_forward,
            flops=flops,
            note=split_note(forward, forward_s) + same,
        ),
        bench.compare(
            f"{shape} backward",
            lambda: ty.backward(tgrad, retain_graph=True),
            torch_backward,
            flops=2 * flops,
            note=split_note(backward, backward_s),
        ),
    ]
    return rows, {f"{shape} forward": forward_s, f"{shape} backward": backward_s}


def run(bench: Bench) -> Report:
    rng = np.random.default_rng(0)
    rows: list[Row] = []
    parts: dict[str, dict[str, float]] = {}
    for layer in LAYERS:
        layer_rows_, layer_parts = layer_rows(bench, *layer, rng)
        rows += layer_rows_
        parts.update(layer_parts)
    batch = QUICK_BATCH if bench.quick else BATCH
    return Report(rows, {"batch": batch, "layers": LAYERS, "tinytorch_parts_s": parts})
