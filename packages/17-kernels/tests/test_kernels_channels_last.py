"""Channels-last memory format: the conv, fused BatchNorm+ReLU and max-pool kernels take
(N, C, H, W) arrays stored channels-last (``x.transpose(0, 2, 3, 1)`` C-contiguous) without a
transposing copy, give channels-last results and gradients, and compute the same numbers as
the reference Ops on C-contiguous copies (the oracle), forward and backward."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.kernels as kernels
from tinytorch.activations import ReLU
from tinytorch.activations.ops import ReLUOp
from tinytorch.kernels.conv import as_channels_last, channels_last
from tinytorch.networks import Sequential
from tinytorch.setup.testing import assert_close
from tinytorch.spatial import BatchNorm2d, Conv2d, GlobalAvgPool2d, MaxPool2d
from tinytorch.spatial.ops import BatchNormOp, Conv2dOp, MaxPool2dOp, conv_padding, to_pair
from tinytorch.tensor import Tensor, vjp
from tinytorch.tensor import apply as _apply

TOL = {np.float64: 1e-10, np.float32: 2e-4}


def apply(op, *arrays):
    """`apply` on Tensors that keep the arrays' dtypes (float64 stays float64)."""
    return _apply(op, *(Tensor(a, dtype=a.dtype) for a in arrays))


def to_channels_last(a: np.ndarray) -> np.ndarray:
    """The same (N, C, H, W) values, stored channels-last (a copy)."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def layout(a: np.ndarray, name: str) -> np.ndarray:
    return to_channels_last(a) if name == "channels_last" else np.ascontiguousarray(a)


LAYOUTS = ["contiguous", "channels_last"]


def test_channels_last_helpers() -> None:
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    cl = to_channels_last(x)
    assert channels_last(cl) and not channels_last(x) and not channels_last(x[0])
    np.testing.assert_array_equal(cl, x)
    view = as_channels_last(cl)
    assert view.base is not None and np.shares_memory(view, cl)  # no copy
    copy = as_channels_last(x)
    assert copy.flags.c_contiguous and not np.shares_memory(copy, x)
    np.testing.assert_array_equal(copy, x.transpose(0, 2, 3, 1))


# (N, C, H, W, O, kernel, stride, padding, dilation, bias)
CONV_CASES = [
    (2, 3, 8, 8, 4, 3, 1, 1, 1, True),  # the CNN's layer
    (3, 5, 9, 6, 7, (3, 2), 1, (2, 1), 1, False),  # rectangular kernel, asymmetric padding
    (2, 4, 11, 10, 3, 3, 2, 1, 1, True),  # stride 2: col2im path
    (2, 2, 12, 12, 3, 3, 1, 2, 2, False),  # dilation 2
    (1, 2, 6, 6, 2, 1, 1, 0, 1, True),  # 1x1 convolution
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("grad_layout", LAYOUTS)
@pytest.mark.parametrize("x_layout", LAYOUTS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_channels_last(case, x_layout, grad_layout, dtype) -> None:
    n, c, h, w_, o, k, s, p, d, has_bias = case
    rng = np.random.default_rng(0)
    kernel, stride, dilation = to_pair(k, "k", "t"), to_pair(s, "s", "t"), to_pair(d, "d", "t")
    options = (stride, conv_padding(p, kernel, stride, dilation, "t"), dilation, 1)
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    weight = rng.standard_normal((o, c, *kernel)).astype(dtype)
    inputs = [x, weight] + ([rng.standard_normal(o).astype(dtype)] if has_bias else [])
    ref = Conv2dOp(*options)
    ref_out = apply(ref, *inputs).data
    grad = rng.standard_normal(ref_out.shape).astype(dtype)
    ref_grads = vjp(ref, grad, (True,) * len(inputs))

    op = Conv2dOp(*options)
    with kernels.using("fast"):
        out = apply(op, layout(x, x_layout), *inputs[1:]).data
    assert channels_last(out) and out.dtype == dtype  # the GEMM's output, not copied
    assert_close(out, ref_out, rtol=TOL[dtype], atol=TOL[dtype])
    grads = vjp(op, layout(grad, grad_layout), (True,) * len(inputs))
    assert channels_last(grads[0])
    for mine, theirs in zip(grads, ref_grads, strict=True):
        assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
        assert_close(mine, theirs, rtol=TOL[dtype], atol=TOL[dtype])


def batch_norm_relu_reference(x, w, b, training, running, grad):
    bn = BatchNormOp(training, 1e-5, *running)
    y = apply(bn, x, w, b).data
    relu = ReLUOp()
    out = apply(relu, y).data
    (gy,) = vjp(relu, grad, (True,))
    return out, vjp(bn, gy, (True, True, True)), bn


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("grad_layout", LAYOUTS)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_relu_channels_last(training, grad_layout, dtype, engine) -> None:
    rng = np.random.default_rng(1)
    shape = (3, 5, 6, 7)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    w = (rng.standard_normal(5) + 1).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    running = (rng.standard_normal(5).astype(dtype), rng.uniform(0.5, 2, 5).astype(dtype))
    grad = rng.standard_normal(shape).astype(dtype)
    ref_out, ref_grads, ref = batch_norm_relu_reference(x, w, b, training, running, grad)

    op = kernels.BatchNormReLUOp(training, 1e-5, *running)
    out = apply(op, to_channels_last(x), w, b).data
    assert channels_last(out) and out.dtype == dtype
    tol = TOL[dtype]
    assert_close(out, ref_out, rtol=tol, atol=tol)
    grads = vjp(op, layout(grad, grad_layout), (True, True, True))
    assert channels_last(grads[0])
    for mine, theirs in zip(grads, ref_grads, strict=True):
        assert mine.dtype == theirs.dtype
        assert_close(mine, theirs, rtol=tol, atol=tol * 10)
    if training:
        assert_close(op.batch_mean, ref.batch_mean, rtol=tol, atol=tol)
        assert_close(op.batch_var, ref.batch_var, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", LAYOUTS)
def test_batch_norm_relu_parallel_variants_equal_the_serial_ones(name: str) -> None:
    """With more than one thread the kernels compile ``parallel=True`` variants: prange loops
    over channels (contiguous input) or over blocks of pixels with partial sums per thread
    (channels-last). They compute the same numbers as one thread."""
    rng = np.random.default_rng(4)
    x = layout(rng.standard_normal((3, 4, 6, 5)), name)
    w, b, g = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal((3, 4, 6, 5))
    results = []
    try:
        for threads in (1, 2):
            kernels.set_num_threads(threads)
            op = kernels.BatchNormReLUOp(True, 1e-5)
            out = apply(op, x, w, b).data
            results.append((out, *vjp(op, layout(g, name), (True, True, True))))
    finally:
        kernels.set_num_threads(1)
    assert kernels.num_threads() == 1
    for a, b_ in zip(*results, strict=True):
        assert_close(a, b_, rtol=1e-12, atol=1e-12)


# (shape, kernel, stride, padding, dilation, ceil_mode)
POOL_CASES = [
    ((4, 8, 16, 16), (2, 2), (2, 2), (0, 0), (1, 1), False),  # the CNN's pool: windows tile
    ((2, 3, 5, 7), (2, 2), (2, 2), (0, 0), (1, 1), False),  # tiles, last row/column uncovered
    ((2, 3, 6, 9), (2, 3), (2, 3), (0, 0), (1, 1), False),  # rectangular tiles
    ((2, 3, 7, 7), (3, 3), (2, 2), (1, 1), (1, 1), False),  # overlapping windows, padding
    ((2, 2, 9, 8), (3, 2), (2, 1), (1, 1), (1, 1), False),
    ((2, 2, 5, 5), (2, 2), (2, 2), (0, 0), (1, 1), True),  # ceil_mode: partial windows
    ((1, 2, 10, 10), (3, 3), (1, 1), (1, 1), (2, 2), False),  # dilation
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("grad_layout", LAYOUTS)
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_channels_last(case, grad_layout, dtype, engine) -> None:
    shape, *options = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    x[..., 0, :2] = 1.5  # ties: the first offset wins
    ref = MaxPool2dOp(*options, return_indices=True)
    ref_out = apply(ref, x).data
    grad = rng.standard_normal(ref_out.shape).astype(dtype)
    (ref_dx,) = vjp(ref, grad, (True,))
    op = MaxPool2dOp(*options, return_indices=True)
    with kernels.using("fast"):
        out = apply(op, to_channels_last(x)).data
    if engine == "numba":  # the NumPy engine runs the reference Op (any layout)
        assert channels_last(out)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(op.saved[0], ref.saved[0])
    np.testing.assert_array_equal(op.indices, ref.indices)
    (dx,) = vjp(op, layout(grad, grad_layout), (True,))
    if engine == "numba":
        assert channels_last(dx)
    assert dx.shape == x.shape and dx.dtype == x.dtype
    assert_close(dx, ref_dx, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_max_pool_channels_last_nan_and_minus_infinity(engine) -> None:
    x = np.array([[[[1.0, np.nan, 3.0, np.nan], [0.0, 2.0, -np.inf, -np.inf]]]])
    x = np.concatenate([x, x[..., ::-1]], axis=2)
    x = np.concatenate([x, x[:, :, ::-1]], axis=1)  # two channels
    for padding in ((0, 0), (1, 1)):
        ref = MaxPool2dOp((2, 2), (2, 2), padding)
        op = MaxPool2dOp((2, 2), (2, 2), padding)
        ref_out = apply(ref, x).data
        with kernels.using("fast"):
            out = apply(op, to_channels_last(x)).data
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(op.saved[0], ref.saved[0])


def cnn(seed: int = 0) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(3, 4, 3, padding=1, bias=False, rng=rng), BatchNorm2d(4), ReLU(),
        Conv2d(4, 6, 3, padding=1, bias=False, rng=rng), BatchNorm2d(6), ReLU(),
        MaxPool2d(2), GlobalAvgPool2d(),
    )  # fmt: skip


def as_float64(model):
    for _, t in [*model.named_parameters(), *model.named_buffers()]:
        t.data = t.data.astype(np.float64)
    return model


@pytest.mark.parametrize("fused", [False, True])
def test_channels_last_flows_through_a_cnn(fused: bool, engine) -> None:
    """The kernels' channels-last activations and gradients reach the reference Ops in between
    (BatchNorm, ReLU, the global average) and the whole step equals the reference's."""
    reference, fast = as_float64(cnn()), as_float64(cnn())
    if fused:
        kernels.fuse(fast)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 3, 8, 8))
    g = rng.standard_normal((3, 6))
    results = []
    for model, kernel_set in ((reference, "reference"), (fast, "fast")):
        xt = Tensor(x, dtype=np.float64, requires_grad=True)
        with kernels.using(kernel_set):
            hidden = model[0](xt)
            out = model(xt)
        (out * Tensor(g, dtype=np.float64)).sum().backward()
        results.append((hidden.data, out.data, xt.grad.data))
    assert channels_last(results[1][0])  # the fast conv's output
    for mine, theirs in zip(results[1], results[0], strict=True):
        assert_close(mine, theirs, rtol=1e-10, atol=1e-10)
    for (name, a), (_, b) in zip(
        fast.named_parameters(), reference.named_parameters(), strict=True
    ):
        assert_close(a.grad.data, b.grad.data, rtol=1e-9, atol=1e-9, msg=name)


def test_outputs_still_held_are_not_overwritten(engine) -> None:
    """Scratch buffers are reused between calls; what a caller still holds never is."""
    rng = np.random.default_rng(5)
    x1, x2 = (to_channels_last(rng.standard_normal((2, 3, 6, 6))) for _ in range(2))
    w = rng.standard_normal((4, 3, 3, 3))
    conv = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    expected = apply(Conv2dOp(*conv), np.ascontiguousarray(x1), w).data
    with kernels.using("fast"):
        first = apply(Conv2dOp(*conv), x1, w).data
        bn = kernels.BatchNormReLUOp(True, 1e-5)
        first_bn = apply(bn, first).data
        first_pool = apply(MaxPool2dOp((2, 2), (2, 2), (0, 0)), first_bn).data
        kept = [first.copy(), first_bn.copy(), first_pool.copy()]
        second = apply(Conv2dOp(*conv), x2, w).data
        second_bn = apply(kernels.BatchNormReLUOp(True, 1e-5), second)
        apply(MaxPool2dOp((2, 2), (2, 2), (0, 0)), second_bn)
    assert_close(first, expected, rtol=1e-12, atol=1e-12)
    for now, then in zip((first, first_bn, first_pool), kept, strict=True):
        np.testing.assert_array_equal(now, then)
