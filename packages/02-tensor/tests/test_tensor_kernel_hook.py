"""The kernel registry at the dispatch point (``hooks.kernels``), which module 17 fills.

A kernel registered for an Op type runs instead of that Op's forward, and its backward runs in
`vjp` for every Op instance whose forward it ran, even if the registry changed in between; an
empty registry leaves every Op on its own code.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor, apply, ops, vjp
from tinytorch.tensor.dispatch import Grads, Op, hooks


class TwiceMul:
    """A stand-in kernel for `ops.Mul` that computes 2*a*b (so its use is visible) and keeps
    the same saved layout; it counts its calls."""

    def __init__(self) -> None:
        self.forwards = 0
        self.backwards = 0

    def forward(self, op: Op, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.forwards += 1
        op.save_for_backward(a, b)
        return 2 * a * b

    def backward(self, op: Op, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        self.backwards += 1
        a, b = op.saved
        return (2 * grad * b if needs[0] else None, 2 * grad * a if needs[1] else None)


@pytest.fixture
def kernel():
    """`TwiceMul` registered for `ops.Mul`; the registry emptied afterwards."""
    assert hooks.kernels == {}, "the registry must be empty by default"
    twice = TwiceMul()
    hooks.kernels[ops.Mul] = twice
    yield twice
    hooks.kernels.clear()


def operands() -> tuple[Tensor, Tensor]:
    rng = np.random.default_rng(0)
    return Tensor(rng.standard_normal((3, 4))), Tensor(rng.standard_normal((3, 4)))


def test_registry_is_empty_and_ops_run_their_own_code() -> None:
    a, b = operands()
    op = ops.Mul()
    out = apply(op, a, b)
    assert hooks.kernels == {}
    assert op._kernel is None
    assert_close(out.data, a.data * b.data)


def test_registered_kernel_runs_forward_and_its_backward(kernel: TwiceMul) -> None:
    a, b = operands()
    op = ops.Mul()
    out = apply(op, a, b)
    assert op._kernel is kernel and kernel.forwards == 1
    assert_close(out.data, 2 * a.data * b.data)
    grad = np.ones((3, 4))
    ga, gb = vjp(op, grad, (True, True))
    assert kernel.backwards == 1
    assert_close(ga, 2 * b.data)
    assert_close(gb, 2 * a.data)


def test_backward_follows_the_forward_not_the_registry(kernel: TwiceMul) -> None:
    a, b = operands()
    fast, plain = ops.Mul(), ops.Mul()
    apply(fast, a, b)
    hooks.kernels.clear()  # switched off between forward and backward
    apply(plain, a, b)
    assert plain._kernel is None
    grad = np.ones((3, 4))
    assert_close(vjp(fast, grad, (True, False))[0], 2 * b.data)  # still the kernel's
    assert_close(vjp(plain, grad, (True, False))[0], b.data)  # the reference's
    assert kernel.backwards == 1


def test_lookup_is_by_exact_type(kernel: TwiceMul) -> None:
    class MyMul(ops.Mul):
        pass

    a, b = operands()
    op = MyMul()
    out = apply(op, a, b)
    assert op._kernel is None and kernel.forwards == 0
    assert_close(out.data, a.data * b.data)


def test_kernel_result_dtype_rules_and_version_checks_still_apply(kernel: TwiceMul) -> None:
    a = Tensor(np.ones((2, 2), dtype=np.float32))
    b = Tensor(np.full((2, 2), 3.0, dtype=np.float32))
    op = ops.Mul()
    out = apply(op, a, b)
    assert out.dtype == np.float32
    a.data[...] = 0.0
    a._version_counter.value += 1  # as an in-place op would
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        vjp(op, np.ones((2, 2), dtype=np.float32), (True, True))


def test_an_op_with_a_kernel_attribute_of_its_own_keeps_it(kernel: TwiceMul) -> None:
    """Pooling Ops call their kernel size ``kernel``: the dispatch point must not overwrite it."""
    op = ops.Mul()
    op.kernel = (2, 2)  # type: ignore[attr-defined]
    apply(op, *operands())
    assert op.kernel == (2, 2) and op._kernel is kernel  # type: ignore[attr-defined]
    assert "TwiceMul" not in repr(op)
