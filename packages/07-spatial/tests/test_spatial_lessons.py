"""The systems lessons: shapes, FLOPs, weight sharing, im2col memory, activation memory,
BatchNorm's counts and the loop-versus-matmul timing, each checked against the real thing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.layers import Linear
from tinytorch.spatial import (
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    MaxPool2d,
    activation_memory,
    batchnorm_counts,
    conv2d_flops,
    conv2d_output_shape,
    conv_output_size,
    conv_timing,
    conv_vs_dense_parameters,
    im2col_memory,
    normalization_counts,
)
from tinytorch.spatial.functional import make_conv2d_op
from tinytorch.spatial.ops import BatchNormOp, GroupNormOp
from tinytorch.tensor import Tensor


@pytest.mark.parametrize(
    ("args", "expected"),
    [((32, 3, 1, 1), 32), ((32, 3, 2, 0), 15), ((32, 3, 2, 1), 16), ((7, 3, 1, 0, 2), 3)],
)
def test_conv_output_size(args: tuple[int, ...], expected: int) -> None:
    assert conv_output_size(*args) == expected


def test_conv_output_size_errors() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_size(2, 5)
    with pytest.raises(ValueError, match="padding >= 0"):
        conv_output_size(8, 3, padding=-1)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation"), [(3, 1, 1, 1), ((3, 5), (2, 1), (0, 2), (1, 2))]
)
def test_output_shape_matches_a_real_conv(
    kernel: Any, stride: Any, padding: Any, dilation: Any
) -> None:
    layer = Conv2d(2, 5, kernel, stride, padding, dilation, rng=np.random.default_rng(0))
    out = layer(Tensor(np.zeros((3, 2, 11, 9), dtype=np.float32)))
    assert conv2d_output_shape((3, 2, 11, 9), 5, kernel, stride, padding, dilation) == out.shape


def test_conv2d_flops() -> None:
    assert conv2d_flops((128, 3, 32, 32), 32, 3, padding=1) == 230_686_720
    assert conv2d_flops((128, 3, 32, 32), 32, 3, padding=1, bias=False) == 226_492_416
    # groups divide the work: each output sees C/groups channels
    assert conv2d_flops((1, 8, 4, 4), 8, 1, groups=8, bias=False) == 2 * 8 * 16
    assert conv2d_flops((1, 8, 4, 4), 8, 1, groups=1, bias=False) == 2 * 8 * 16 * 8
    forward = conv2d_flops((2, 4, 6, 6), 3, 3, bias=True)
    products = 2 * 2 * 3 * 16 * 4 * 9
    assert conv2d_flops((2, 4, 6, 6), 3, 3, backward=True) == forward + 2 * products + 2 * 3 * 16
    with pytest.raises(ValueError, match="divisible by groups"):
        conv2d_flops((1, 3, 4, 4), 4, 1, groups=2)


def test_conv_vs_dense_parameters() -> None:
    counts = conv_vs_dense_parameters((3, 32, 32), 32, 3, padding=1)
    assert counts["conv"] == Conv2d(3, 32, 3).num_parameters() == 896
    assert counts["dense"] == 3072 * 32768 + 32768  # Linear(3*32*32, 32*32*32): 100.7M
    small = conv_vs_dense_parameters((2, 5, 5), 3, 3)
    assert small["dense"] == Linear(2 * 5 * 5, 3 * 3 * 3).num_parameters()
    assert counts["ratio"] > 100_000
    no_bias = conv_vs_dense_parameters((1, 4, 4), 1, 3, bias=False)
    assert no_bias == {"conv": 9, "dense": 16 * 4, "ratio": 64 / 9}


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding", "dilation"),
    [((2, 3, 8, 8), 3, 1, 1, 1), ((2, 4, 9, 7), (3, 2), 2, 0, (1, 2)), ((1, 5, 6, 6), 1, 1, 0, 1)],
)
def test_im2col_memory_matches_the_real_column_matrix(
    shape: tuple[int, int, int, int], kernel: Any, stride: Any, padding: Any, dilation: Any
) -> None:
    report = im2col_memory(shape, kernel, stride, padding, dilation)
    op = make_conv2d_op(kernel, stride, padding, dilation)
    x = np.zeros(shape, dtype=np.float32)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    op.forward(x, np.zeros((1, shape[1], kh, kw), dtype=np.float32))
    cols, _ = op.saved  # what the Op keeps for its backward
    assert report["columns_bytes"] == cols.nbytes
    assert report["input_bytes"] == x.nbytes
    assert report["ratio"] == cols.nbytes / x.nbytes


def test_im2col_memory_ratios() -> None:
    assert im2col_memory((128, 32, 32, 32), 3, padding=1)["ratio"] == 9
    assert im2col_memory((1, 3, 32, 32), 1)["ratio"] == 1
    assert im2col_memory((128, 32, 32, 32), 3, stride=2, padding=1)["ratio"] == 9 / 4
    assert im2col_memory((1, 1, 4, 4), 3, dtype=np.float64)["columns_bytes"] == 9 * 4 * 8


def test_activation_memory_rows_and_no_side_effects() -> None:
    rng = np.random.default_rng(0)
    layers = [Conv2d(3, 8, 3, padding=1, rng=rng), BatchNorm2d(8), MaxPool2d(2), Flatten()]
    rows = activation_memory(layers, (16, 3, 32, 32))
    assert [row["layer"] for row in rows] == ["Conv2d", "BatchNorm2d", "MaxPool2d", "Flatten"]
    assert [row["output_shape"] for row in rows] == [
        (16, 8, 32, 32),
        (16, 8, 32, 32),
        (16, 8, 16, 16),
        (16, 2048),
    ]
    assert rows[0]["bytes"] == 16 * 8 * 32 * 32 * 4
    bn = layers[1]
    assert isinstance(bn, BatchNorm2d)
    assert bn.training and int(bn.num_batches_tracked.item()) == 0  # eval, modes restored
    double = activation_memory(layers, (32, 3, 32, 32))
    assert [r["bytes"] for r in double] == [2 * r["bytes"] for r in rows]  # linear in batch


def test_batchnorm_counts_match_the_layers() -> None:
    for layer, affine in [(BatchNorm2d(64), True), (BatchNorm1d(10, affine=False), False)]:
        counts = batchnorm_counts(layer.num_features, affine)
        buffers = [t for _, t in layer.named_buffers()]
        assert counts["parameters"] == layer.num_parameters()
        assert counts["parameter_bytes"] == sum(p.nbytes for p in layer.parameters())
        assert counts["buffers"] == sum(t.numel() for t in buffers)
        assert counts["buffer_bytes"] == sum(t.nbytes for t in buffers)
    assert batchnorm_counts(64) == {
        "parameters": 128,
        "buffers": 129,
        "parameter_bytes": 512,
        "buffer_bytes": 520,
    }
    untracked = BatchNorm2d(8, track_running_stats=False)
    counts = batchnorm_counts(8, track_running_stats=False)
    assert counts == {"parameters": 16, "buffers": 0, "parameter_bytes": 64, "buffer_bytes": 0}
    assert counts["parameters"] == untracked.num_parameters()
    assert list(untracked.named_buffers()) == []


@pytest.mark.parametrize(
    ("shape", "groups"), [((32, 64, 16, 16), 8), ((4, 6, 5), 3), ((1, 4, 2, 2), 1), ((3, 6), 6)]
)
def test_normalization_counts_match_the_ops_statistics(shape: tuple[int, ...], groups: int) -> None:
    """BatchNorm: C statistics over the batch; GroupNorm: N*G statistics, one example each
    (counted from the 1/std arrays the Ops save for their backward)."""
    counts = normalization_counts(shape, groups)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    batch_op, group_op = BatchNormOp(True, 1e-5), GroupNormOp(groups, 1e-5)
    batch_op.forward(x)
    group_op.forward(x)
    for row, op in ((counts["batch_norm"], batch_op), (counts["group_norm"], group_op)):
        xhat, invstd, _ = op.saved
        assert row["statistics"] == invstd.size
        assert row["statistics"] * row["values_per_statistic"] == xhat.size == x.size
    assert counts["batch_norm"]["examples_per_statistic"] == shape[0]
    assert counts["group_norm"]["examples_per_statistic"] == 1
    assert normalization_counts((32, 64, 16, 16), 8) == {
        "batch_norm": {
            "statistics": 64,
            "values_per_statistic": 8192,
            "examples_per_statistic": 32,
        },
        "group_norm": {
            "statistics": 256,
            "values_per_statistic": 2048,
            "examples_per_statistic": 1,
        },
    }
    with pytest.raises(ValueError, match="not divisible by num_groups"):
        normalization_counts((2, 6, 3), 4)


def test_conv_timing_reports_both_and_they_agree() -> None:
    report = conv_timing((1, 2, 6, 6), out_channels=3, repeats=1)
    assert set(report) == {"naive", "im2col"}
    for row in report.values():
        assert row["seconds"] > 0 and row["gflops"] > 0
        assert row["max_abs_error"] < 1e-4
    assert report["naive"]["max_abs_error"] == 0.0
