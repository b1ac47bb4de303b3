"""The registry: use / using / active / describe, and what the dispatch point does with it."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.kernels as kernels
from tinytorch.kernels.buffers import BufferPool
from tinytorch.setup.testing import assert_close
from tinytorch.spatial import Conv2d, MaxPool2d
from tinytorch.spatial.ops import Conv2dOp, MaxPool2dOp
from tinytorch.tensor import Tensor
from tinytorch.tensor.dispatch import hooks


def test_reference_is_the_default() -> None:
    assert kernels.active() == "reference"
    assert hooks.kernels == {}
    assert kernels.kernel_for(Conv2dOp) is None
    assert "reference" in kernels.describe()


def test_use_switches_the_set_on_and_off() -> None:
    previous = kernels.use("fast")
    assert previous == "reference" and kernels.active() == "fast"
    assert kernels.kernel_for(Conv2dOp) is kernels.FAST[Conv2dOp]
    assert kernels.kernel_for(MaxPool2dOp) is kernels.FAST[MaxPool2dOp]
    assert set(hooks.kernels) == set(kernels.FAST)
    assert kernels.use("reference") == "fast"
    assert hooks.kernels == {} and kernels.active() == "reference"


def test_using_restores_the_previous_set_even_after_an_error() -> None:
    with kernels.using("fast"):
        assert kernels.active() == "fast"
        with kernels.using("reference"):
            assert hooks.kernels == {}
        assert kernels.active() == "fast"
    assert kernels.active() == "reference" and hooks.kernels == {}
    with pytest.raises(KeyError), kernels.using("fast"):
        raise KeyError("boom")
    assert hooks.kernels == {}


def test_fast_leaves_the_mlp_to_the_reference_and_fast_gelu_adds_it() -> None:
    from tinytorch.transformers.ops import MLPOp

    assert MLPOp not in kernels.FAST
    assert set(kernels.table("fast+gelu")) == {*kernels.FAST, MLPOp}
    assert kernels.available() == ["fast", "fast+gelu", "reference"]


def test_unknown_set_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown kernel set 'fastest'.*fast"):
        kernels.use("fastest")
    with pytest.raises(ValueError, match="reference"):
        kernels.register_set("reference", {})


def test_describe_names_the_kernels_and_the_engine() -> None:
    line = kernels.describe("fast")
    assert line.startswith("kernels: fast (") and "conv" in line and "max_pool2d" in line
    with kernels.using("fast"):
        assert kernels.describe() == line
    assert ("compiled with numba" in line) == kernels.numba_enabled()
    with kernels.use_numba(False):
        assert "NumPy twins" in kernels.describe("fast")


def test_a_layer_runs_the_kernel_and_its_backward_in_both_protocols() -> None:
    rng = np.random.default_rng(0)
    conv = Conv2d(3, 4, 3, padding=1, rng=rng)
    x = rng.standard_normal((2, 3, 5, 5))
    g = rng.standard_normal((2, 4, 5, 5))
    conv.weight.data = conv.weight.data.astype(np.float64)
    conv.bias.data = conv.bias.data.astype(np.float64)
    out_ref = conv(Tensor(x, dtype=np.float64))
    dx_ref = conv.backward(Tensor(g, dtype=np.float64)).data
    dw_ref = conv.weight.grad.data.copy()
    conv.zero_grad()
    with kernels.using("fast"):
        out = conv(
            Tensor(x, dtype=np.float64)
        )  # manual backward: Module.op_backward -> vjp -> the kernel
        assert conv._ctx is not None and conv._ctx._kernel is kernels.FAST[Conv2dOp]
        dx = conv.backward(Tensor(g, dtype=np.float64)).data
    assert_close(out.data, out_ref.data, rtol=1e-12, atol=1e-12)
    assert_close(dx, dx_ref, rtol=1e-12, atol=1e-12)
    assert_close(conv.weight.grad.data, dw_ref, rtol=1e-12, atol=1e-12)
    conv.zero_grad()
    xt = Tensor(x, dtype=np.float64, requires_grad=True)
    with kernels.using("fast"):
        out = conv(xt)
    (
        out * Tensor(g, dtype=np.float64)
    ).sum().backward()  # autograd, after the registry was switched off
    assert_close(xt.grad.data, dx_ref, rtol=1e-12, atol=1e-12)
    assert_close(conv.weight.grad.data, dw_ref, rtol=1e-12, atol=1e-12)


def test_backward_belongs_to_the_forward_that_ran() -> None:
    x = Tensor(np.random.default_rng(1).standard_normal((1, 2, 4, 4)), requires_grad=True)
    pool = MaxPool2d(2)
    out = pool(x)  # reference forward
    with kernels.using("fast"):
        out.sum().backward()  # still the reference backward
    assert pool._ctx is None or pool._ctx._kernel is None
    assert_close(x.grad.data.sum(), 8.0)  # one per output pixel


class Watcher:
    """An observer like module 16's profiler: the names of the ops it sees."""

    def __init__(self) -> None:
        self.forwards: list[str] = []
        self.backwards: list[str] = []

    def forward(self, op, inputs, output, seconds) -> None:
        self.forwards.append(op.name)

    def backward(self, op, grad, grads, seconds) -> None:
        self.backwards.append(op.name)


def test_the_profilers_observer_sees_ops_that_kernels_run() -> None:
    x = Tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    watcher, previous = Watcher(), hooks.observer
    hooks.observer = watcher
    try:
        with kernels.using("fast"):
            MaxPool2d(2)(x).sum().backward()
    finally:
        hooks.observer = previous
    assert "max_pool2d" in watcher.forwards and "max_pool2d" in watcher.backwards


def test_buffer_pool_reuses_only_free_buffers() -> None:
    pool = BufferPool()
    first = pool.take("t", (3, 4), np.float32)
    assert first.shape == (3, 4) and first.dtype == np.float32
    held = first
    second = pool.take("t", (3, 4), np.float32)
    assert second is not held  # still referenced by `held`
    view = second.reshape(12)
    del first, held
    third = pool.take("t", (3, 4), np.float32)
    assert third is not view.base  # a view keeps its base busy
    del view, second, third
    again = pool.take("t", (3, 4), np.float32)
    assert pool.nbytes() == 2 * 48
    assert again.base is None
    pool.clear()
    assert pool.nbytes() == 0


def test_optimize_switches_the_fast_set_on_and_fuses() -> None:
    from tinytorch.activations import ReLU
    from tinytorch.networks import Sequential
    from tinytorch.spatial import BatchNorm2d

    model = Sequential(Conv2d(1, 2, 3), BatchNorm2d(2), ReLU())
    assert kernels.optimize(model) is model
    assert kernels.active() == "fast" and kernels.fused_count(model) == 1
    assert kernels.optimize() is None
