"""Fused BatchNorm+ReLU equals the unfused BatchNorm then ReLU (the reference Ops are the
oracle), and `fuse` turns a model into one that computes the same function."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.kernels as kernels
from tinytorch.activations import ReLU
from tinytorch.activations.ops import ReLUOp
from tinytorch.layers import Linear
from tinytorch.networks import Sequential
from tinytorch.setup.testing import assert_close
from tinytorch.spatial import BatchNorm2d, Conv2d, MaxPool2d
from tinytorch.spatial.ops import BatchNormOp
from tinytorch.tensor import Tensor, vjp
from tinytorch.tensor import apply as _apply

TOL = {np.float64: 1e-10, np.float32: 1e-4}


def apply(op, *arrays):
    return _apply(op, *(Tensor(a, dtype=a.dtype) for a in arrays))


def reference(x, w, b, training, running, grad):
    bn = BatchNormOp(training, 1e-5, *running)
    inputs = [a for a in (x, w, b) if a is not None]
    y = apply(bn, *inputs).data
    relu = ReLUOp()
    out = apply(relu, y).data
    (gy,) = vjp(relu, grad, (True,))
    return out, vjp(bn, gy, (True,) * len(inputs)), bn


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (1, 2, 7, 3), (5, 4)])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_fused_op_equals_batch_norm_then_relu(shape, training, dtype, affine, engine) -> None:
    rng = np.random.default_rng(0)
    channels = shape[1]
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    w = (rng.standard_normal(channels) + 1).astype(dtype) if affine != "none" else None
    b = rng.standard_normal(channels).astype(dtype) if affine == "both" else None
    running = (
        rng.standard_normal(channels).astype(dtype),
        rng.uniform(0.5, 2, channels).astype(dtype),
    )
    grad = rng.standard_normal(shape).astype(dtype)
    ref_out, ref_grads, ref_op = reference(x, w, b, training, running, grad)
    op = kernels.BatchNormReLUOp(training, 1e-5, *running)
    inputs = [a for a in (x, w, b) if a is not None]
    out = apply(op, *inputs).data
    assert out.dtype == ref_out.dtype
    tol = TOL[dtype]
    assert_close(out, ref_out, rtol=tol, atol=tol)
    grads = vjp(op, grad, (True,) * len(inputs))
    for mine, theirs in zip(grads, ref_grads, strict=True):
        assert mine.dtype == theirs.dtype
        assert_close(mine, theirs, rtol=tol, atol=tol * 10)
    if training:
        assert_close(op.batch_mean, ref_op.batch_mean, rtol=tol, atol=tol)
        assert_close(op.batch_var, ref_op.batch_var, rtol=tol, atol=tol)


@pytest.mark.parametrize("training", [True, False])
def test_numba_and_numpy_paths_agree(training: bool) -> None:
    """(Only where numba is installed: without it there is one path, and no test to skip.)"""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 6, 6))
    w, b, g = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal((3, 4, 6, 6))
    results = []
    for flag in (True, False):
        with kernels.use_numba(flag):
            op = kernels.BatchNormReLUOp(training, 1e-5, np.zeros(4), np.ones(4))
            out = apply(op, x, w, b).data
            results.append((out, *vjp(op, g, (True, True, True))))
    for a, b_ in zip(*results, strict=True):
        assert_close(a, b_, rtol=1e-12, atol=1e-12)


if not kernels.HAVE_NUMBA:
    del test_numba_and_numpy_paths_agree


def cnn(seed: int = 0) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(3, 4, 3, padding=1, bias=False, rng=rng), BatchNorm2d(4), ReLU(),
        MaxPool2d(2),
        Sequential(Conv2d(4, 4, 3, padding=1, rng=rng), BatchNorm2d(4), ReLU()),
        BatchNorm2d(4),  # not followed by a ReLU: stays
    )  # fmt: skip


def as_float64(model):
    for _, t in [*model.named_parameters(), *model.named_buffers()]:
        if t.dtype == np.float32:
            t.data = t.data.astype(np.float64)
    return model


def test_fuse_replaces_pairs_and_keeps_state_dict_keys() -> None:
    model = cnn()
    keys = list(model.state_dict())
    fused = kernels.fuse(model)
    assert fused is model
    assert kernels.fused_count(model) == 2
    assert isinstance(model[1], kernels.BatchNormReLU2d) and isinstance(model[2], kernels.Identity)
    assert isinstance(model[4][1], kernels.BatchNormReLU2d)
    assert type(model[5]) is BatchNorm2d
    assert list(model.state_dict()) == keys


@pytest.mark.parametrize("manual", [False, True])
def test_fused_model_equals_unfused_in_training_and_eval(manual: bool, engine) -> None:
    plain, fused = as_float64(cnn(0)), kernels.fuse(as_float64(cnn(0)))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 3, 8, 8))
    g = rng.standard_normal((3, 4, 4, 4))
    for model in (plain, fused):
        xt = Tensor(x, dtype=np.float64, requires_grad=not manual)
        with kernels.using("fast"):
            out = model(xt)
        if manual:
            model.backward(Tensor(g, dtype=np.float64))
        else:
            (out * Tensor(g, dtype=np.float64)).sum().backward()
        model.out = out.data  # type: ignore[attr-defined]
    assert_close(fused.out, plain.out, rtol=1e-10, atol=1e-10)
    for (name, a), (_, b) in zip(fused.named_parameters(), plain.named_parameters(), strict=True):
        assert_close(a.grad.data, b.grad.data, rtol=1e-9, atol=1e-9, msg=name)
    for (name, a), (_, b) in zip(
        fused.state_dict().items(), plain.state_dict().items(), strict=True
    ):
        assert_close(a, b, rtol=1e-12, atol=1e-12, msg=name)  # running statistics
    plain.eval()
    fused.eval()
    x2 = Tensor(rng.standard_normal((2, 3, 8, 8)), dtype=np.float64)
    assert_close(fused(x2).data, plain(x2).data, rtol=1e-10, atol=1e-10)


def test_fuse_leaves_other_layers_alone() -> None:
    model = Sequential(Linear(3, 3), ReLU(), BatchNorm2d(2), ReLU(inplace=True))
    kernels.fuse(model)
    assert kernels.fused_count(model) == 0


def test_set_num_threads_rejects_zero() -> None:
    with pytest.raises(ValueError, match="threads must be >= 1"):
        kernels.set_num_threads(0)
