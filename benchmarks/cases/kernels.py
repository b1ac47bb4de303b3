"""Module 17's kernels, each beside the reference Op it replaces (and PyTorch's op).

For each kernel, forward and backward are timed separately, reference Op and kernel in turn
(`interleaved`: A, B, A, B, ..., medians), and the table reports each one's speed-up over the
reference; each row times the kernel's forward+backward beside PyTorch's. Shapes are those of
the CIFAR CNN step (milestone 05, batch 128): its second conv (32 -> 32 channels, 32x32), a
deeper one (64 -> 64, 16x16), the first max-pool, the first BatchNorm+ReLU pair; and an
embedding backward of 8,192 tokens into a 10,000 x 256 table; TinyGPT's LayerNorm and MLP block
(the fused bias+GELU of set "fast+gelu", kept out of "fast" because it measured slower) and
causal self-attention (the fused softmax). Then
the lessons: the tiled matmul's time against the tile size (and BLAS), and a Python-loop ReLU
against one NumPy call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cases.kernels_on import interleaved, kernels_module
from harness import Bench, Report, TextTable
from tinytorch.activations.ops import ReLUOp
from tinytorch.attention.ops import PackedSelfAttentionOp
from tinytorch.embeddings.ops import EmbeddingOp
from tinytorch.kernels import (
    FAST,
    BatchNormReLUOp,
    relu_loop,
    relu_vectorised,
    table,
    tile_sweep,
)
from tinytorch.setup import format_seconds
from tinytorch.spatial.ops import BatchNormOp, Conv2dOp, MaxPool2dOp
from tinytorch.transformers.ops import LayerNormOp, MLPOp

TITLE = "Kernels (module 17) beside the reference Ops they replace"


def conv_case(batch: int, channels: int, size: int, rng: Any) -> dict[str, Any]:
    x = rng.standard_normal((batch, channels, size, size), dtype=np.float32)
    w = rng.standard_normal((channels, channels, 3, 3), dtype=np.float32) * 0.1
    g = rng.standard_normal((batch, channels, size, size), dtype=np.float32)
    options = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    kernel = FAST[Conv2dOp]
    return {
        "label": f"conv2d 3x3, {channels}->{channels} ch, {size}x{size}",
        "make": lambda: Conv2dOp(*options),
        "ref_fwd": lambda op: op.forward(x, w),
        "fast_fwd": lambda op: kernel.forward(op, x, w),
        "ref_bwd": lambda op: op.backward(g, (True, True)),
        "fast_bwd": lambda op: kernel.backward(op, g, (True, True)),
        "torch": lambda torch: torch_conv(torch, x, w, g),
    }


def torch_conv(torch: Any, x: np.ndarray, w: np.ndarray, g: np.ndarray) -> Any:
    xt, wt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
    gt = torch.from_numpy(g)

    def step() -> None:
        torch.nn.functional.conv2d(xt, wt, padding=1).backward(gt)

    return step


def pool_case(batch: int, rng: Any) -> dict[str, Any]:
    x = rng.standard_normal((batch, 32, 32, 32), dtype=np.float32)
    g = rng.standard_normal((batch, 32, 16, 16), dtype=np.float32)
    kernel = FAST[MaxPool2dOp]

    def torch_pool(torch: Any) -> Any:
        xt, gt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(g)
        return lambda: torch.nn.functional.max_pool2d(xt, 2).backward(gt)

    return {
        "label": "max_pool2d 2x2, 32 ch, 32x32",
        "make": lambda: MaxPool2dOp((2, 2), (2, 2), (0, 0)),
        "ref_fwd": lambda op: op.forward(x),
        "fast_fwd": lambda op: kernel.forward(op, x),
        "ref_bwd": lambda op: op.backward(g, (True,)),
        "fast_bwd": lambda op: kernel.backward(op, g, (True,)),
        "torch": torch_pool,
    }


def bn_relu_case(batch: int, rng: Any) -> dict[str, Any]:
    x = rng.standard_normal((batch, 32, 32, 32), dtype=np.float32)
    g = rng.standard_normal((batch, 32, 32, 32), dtype=np.float32)
    w, b = np.ones(32, np.float32), np.zeros(32, np.float32)

    def ref_fwd(ops: Any) -> Any:
        return ops[1].forward(ops[0].forward(x, w, b))

    def ref_bwd(ops: Any) -> Any:
        (gy,) = ops[1].backward(g, (True,))
        return ops[0].backward(gy, (True, True, True))

    def torch_bn(torch: Any) -> Any:
        bn = torch.nn.BatchNorm2d(32)
        xt, gt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(g)
        return lambda: torch.relu(bn(xt)).backward(gt)

    return {
        "label": "BatchNorm2d+ReLU fused, 32 ch, 32x32",
        "make": lambda: (BatchNormOp(True, 1e-5), ReLUOp()),
        "make_fast": lambda: BatchNormReLUOp(True, 1e-5),
        "ref_fwd": ref_fwd,
        "fast_fwd": lambda op: op.forward(x, w, b),
        "ref_bwd": ref_bwd,
        "fast_bwd": lambda op: op.backward(g, (True, True, True)),
        "torch": torch_bn,
    }


def embedding_case(rng: Any, tokens: int) -> dict[str, Any]:
    table = rng.standard_normal((10_000, 256), dtype=np.float32)
    ids = rng.integers(0, 10_000, tokens)
    g = rng.standard_normal((tokens, 256), dtype=np.float32)
    kernel = FAST[EmbeddingOp]

    def torch_embedding(torch: Any) -> Any:
        wt, it, gt = (
            torch.from_numpy(table).requires_grad_(),
            torch.from_numpy(ids),
            torch.from_numpy(g),
        )
        return lambda: torch.nn.functional.embedding(it, wt).backward(gt)

    return {
        "label": f"embedding backward, {tokens} tokens, 10000x256",
        "make": lambda: EmbeddingOp(),
        "ref_fwd": lambda op: op.forward(ids, table),
        "fast_fwd": lambda op: kernel.forward(op, ids, table),
        "ref_bwd": lambda op: op.backward(g, (False, True)),
        "fast_bwd": lambda op: kernel.backward(op, g, (False, True)),
        "torch": torch_embedding,
    }


def layer_norm_case(rng: Any) -> dict[str, Any]:
    """TinyGPT's LayerNorm: 2,048 tokens of 128 features."""
    x = rng.standard_normal((32, 64, 128), dtype=np.float32)
    g = rng.standard_normal((32, 64, 128), dtype=np.float32)
    w, b = np.ones(128, np.float32), np.zeros(128, np.float32)
    kernel = FAST[LayerNormOp]
    needs = (True, True, True)

    def torch_ln(torch: Any) -> Any:
        xt, gt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(g)
        wt, bt = torch.from_numpy(w).requires_grad_(), torch.from_numpy(b).requires_grad_()
        return lambda: torch.nn.functional.layer_norm(xt, (128,), wt, bt).backward(gt)

    return {
        "label": "LayerNorm, 2048 tokens x 128",
        "make": lambda: LayerNormOp((128,), 1e-5),
        "ref_fwd": lambda op: op.forward(x, w, b),
        "fast_fwd": lambda op: kernel.forward(op, x, w, b),
        "ref_bwd": lambda op: op.backward(g, needs),
        "fast_bwd": lambda op: kernel.backward(op, g, needs),
        "torch": torch_ln,
    }


def mlp_case(rng: Any) -> dict[str, Any]:
    """TinyGPT's MLP block (2,048 tokens, 128 -> 512 -> 128), where the fused bias+GELU kernel
    (set "fast+gelu") replaces ~25 NumPy passes with one scalar compiled loop."""
    x = rng.standard_normal((32, 64, 128), dtype=np.float32)
    params = [
        rng.standard_normal((512, 128), dtype=np.float32) * 0.1,
        np.zeros(512, np.float32),
        rng.standard_normal((128, 512), dtype=np.float32) * 0.1,
        np.zeros(128, np.float32),
    ]
    g = rng.standard_normal((32, 64, 128), dtype=np.float32)
    kernel = table("fast+gelu")[MLPOp]
    needs = (True,) * 5

    def torch_mlp(torch: Any) -> Any:
        xt = torch.from_numpy(x).requires_grad_()
        ps = [torch.from_numpy(p).requires_grad_() for p in params]
        gt = torch.from_numpy(g)
        functional = torch.nn.functional

        def step() -> None:
            hidden = functional.gelu(functional.linear(xt, ps[0], ps[1]))
            functional.linear(hidden, ps[2], ps[3]).backward(gt)

        return step

    return {
        "label": "MLP fused bias+GELU (fast+gelu), 2048 x 128->512",
        "make": lambda: MLPOp(),
        "ref_fwd": lambda op: op.forward(x, *params),
        "fast_fwd": lambda op: kernel.forward(op, x, *params),
        "ref_bwd": lambda op: op.backward(g, needs),
        "fast_bwd": lambda op: kernel.backward(op, g, needs),
        "torch": torch_mlp,
    }


def attention_case(rng: Any) -> dict[str, Any]:
    """TinyGPT's causal self-attention: 32 sequences of 64 tokens, 4 heads of 32, from a fused
    QKV projection (``PackedSelfAttentionOp``); the kernel fuses the softmax's passes."""
    batch, tokens, embed, heads = 32, 64, 128, 4
    qkv = rng.standard_normal((batch, tokens, 3 * embed), dtype=np.float32)
    g = rng.standard_normal((batch, tokens, embed), dtype=np.float32)
    kernel = FAST[PackedSelfAttentionOp]

    def torch_attention(torch: Any) -> Any:
        qkv_t, gt = torch.from_numpy(qkv).requires_grad_(), torch.from_numpy(g)
        functional = torch.nn.functional

        def step() -> None:
            parts = qkv_t.view(batch, tokens, 3, heads, embed // heads).permute(2, 0, 3, 1, 4)
            out = functional.scaled_dot_product_attention(*parts, is_causal=True)
            out.transpose(1, 2).reshape(batch, tokens, embed).backward(gt)

        return step

    return {
        "label": "causal self-attention softmax, 32 x 64 tokens, 4 heads",
        "make": lambda: PackedSelfAttentionOp(heads, is_causal=True),
        "ref_fwd": lambda op: op.forward(qkv),
        "fast_fwd": lambda op: kernel.forward(op, qkv),
        "ref_bwd": lambda op: op.backward(g, (True,)),
        "fast_bwd": lambda op: kernel.backward(op, g, (True,)),
        "torch": torch_attention,
    }


def measure(case: dict[str, Any], rounds: int) -> dict[str, float]:
    """Interleaved medians of the reference and kernel forward, then backward."""
    make_fast = case.get("make_fast", case["make"])
    ref_op, fast_op = case["make"](), make_fast()
    forward = interleaved(
        {"reference": lambda: case["ref_fwd"](ref_op), "kernel": lambda: case["fast_fwd"](fast_op)},
        rounds,
    )
    backward = interleaved(
        {"reference": lambda: case["ref_bwd"](ref_op), "kernel": lambda: case["fast_bwd"](fast_op)},
        rounds,
    )
    return {
        "forward_reference_s": forward["reference"],
        "forward_kernel_s": forward["kernel"],
        "forward_speedup": forward["reference"] / forward["kernel"],
        "backward_reference_s": backward["reference"],
        "backward_kernel_s": backward["kernel"],
        "backward_speedup": backward["reference"] / backward["kernel"],
    }


def run(bench: Bench) -> Report:
    kernels = kernels_module()
    assert kernels is not None
    batch = 16 if bench.quick else 128
    rounds = 3 if bench.quick else 9
    rng = np.random.default_rng(0)
    cases = [
        conv_case(batch, 32, 32, rng),
        conv_case(batch, 64, 16, rng),
        pool_case(batch, rng),
        bn_relu_case(batch, rng),
        embedding_case(rng, 1024 if bench.quick else 8192),
        layer_norm_case(rng),
        mlp_case(rng),
        attention_case(rng),
    ]
    rows, results, table_rows = [], {}, []
    for case in cases:
        result = measure(case, rounds)
        results[case["label"]] = result
        fast_op = case.get("make_fast", case["make"])()

        def fast_step(case: dict[str, Any] = case, op: Any = fast_op) -> None:
            case["fast_fwd"](op)
            case["fast_bwd"](op)

        torch_step = case["torch"](bench.torch) if bench.torch is not None else None
        note = (
            f"vs reference: forward {result['forward_speedup']:.2f}x, "
            f"backward {result['backward_speedup']:.2f}x faster"
        )
        rows.append(bench.compare(f"{case['label']}: fwd+bwd", fast_step, torch_step, note=note))
        table_rows.append(
            [
                case["label"],
                format_seconds(result["forward_reference_s"]),
                format_seconds(result["forward_kernel_s"]),
                f"{result['forward_speedup']:.2f}x",
                format_seconds(result["backward_reference_s"]),
                format_seconds(result["backward_kernel_s"]),
                f"{result['backward_speedup']:.2f}x",
            ]
        )
    speedups = TextTable(
        f"kernels vs reference Ops (interleaved medians of {rounds}; {kernels.describe('fast')})",
        ["kernel", "ref fwd", "kernel fwd", "speed-up", "ref bwd", "kernel bwd", "speed-up"],
        table_rows,
    )
    sweep = tile_sweep(size=128 if bench.quick else 512, tiles=(8, 32, 64, 128, 256), repeats=3)
    tiles = TextTable(
        "tiled_matmul (float32, square): time against tile size, and one BLAS call",
        ["tile", "time", "GFLOP/s", "x BLAS time"],
        [
            [
                "BLAS (np.matmul)" if row["tile"] is None else str(row["tile"]),
                format_seconds(row["seconds"]),
                f"{row['gflops']:.1f}",
                f"{row['vs_blas']:.1f}x",
            ]
            for row in sweep
        ],
    )
    x = rng.standard_normal(100_000).astype(np.float32)
    relu = interleaved({"loop": lambda: relu_loop(x), "vectorised": lambda: relu_vectorised(x)}, 3)
    summary = {
        "kernels": results,
        "tile_sweep": sweep,
        "relu_100k": {**relu, "speedup": relu["loop"] / relu["vectorised"]},
        "threads": kernels.num_threads(),
        "numba": kernels.numba_enabled(),
    }
    lesson = TextTable(
        "ReLU on 100,000 float32: a Python loop vs one NumPy call",
        ["version", "time", "speed-up"],
        [
            ["loop", format_seconds(relu["loop"]), "1.0x"],
            [
                "vectorised",
                format_seconds(relu["vectorised"]),
                f"{relu['loop'] / relu['vectorised']:.0f}x",
            ],
        ],
    )
    return Report(rows, summary, [speedups, tiles, lesson])
