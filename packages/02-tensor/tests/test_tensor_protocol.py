"""The derivative protocol's plumbing (``vjp``, version counters, in-place writes,
``accumulate_grad``) and PyTorch's spelling of the common Tensor methods.

Every op's derivative itself is checked in test_tensor_derivatives.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Op, Tensor, accumulate_grad, apply, ops, vjp
from tinytorch.tensor.dispatch import Grads, hooks, set_grad_mode


@pytest.fixture
def recording():
    """A recorder that marks results as made by an op (as module 06 does), restored after."""
    saved = hooks.recorder, hooks.backward

    def record(op, inputs, out):
        if any(t.requires_grad for t in inputs):
            out.requires_grad, out._node = True, (op, inputs)

    hooks.recorder, hooks.backward = record, None
    yield
    hooks.recorder, hooks.backward = saved


# --------------------------------------------------------------------- vjp and saved versions
def test_vjp_refuses_an_input_modified_in_place_after_it_was_saved():
    x = Tensor([1.0, 2.0])
    op = ops.Mul()
    apply(op, x, Tensor([3.0, 4.0]))
    assert vjp(op, np.ones(2, dtype=np.float32), (True, True))[0].tolist() == [3.0, 4.0]
    x.add_(1.0)  # version 0 -> 1
    with pytest.raises(RuntimeError, match=r"input 0 \(shape \(2,\), float32\) of mul was modif"):
        vjp(op, np.ones(2, dtype=np.float32), (True, True))


def test_a_write_through_a_view_bumps_the_shared_version():
    x = Tensor([1.0, 2.0, 3.0])
    op = ops.Exp()
    out = apply(op, x)  # Exp saves its output
    view = out[1:]
    assert view._version_counter is out._version_counter
    view[0] = 5.0
    assert out._version == 1 and x._version == 0
    with pytest.raises(RuntimeError, match=r"its output of exp was modified by an in-place"):
        vjp(op, np.ones(3, dtype=np.float32), (True,))


def test_views_share_the_version_counter_and_copies_do_not():
    x = tt.arange(6.0).reshape(2, 3)
    for view in (x[0], x.T, x.reshape(3, 2), x.expand(2, 2, 3), x.detach()):
        assert view._version_counter is x._version_counter
    for copy in (x + 0, x.clone(), x[[0, 1]], x.flip(0)):
        assert copy._version_counter is not x._version_counter


def test_vjp_after_release_and_with_a_wrong_number_of_gradients():
    op = ops.Exp()
    apply(op, Tensor([1.0]))
    op.release()
    with pytest.raises(RuntimeError, match=r"exp already released .* retain_graph=True"):
        vjp(op, np.ones(1), (True,))

    class Broken(Op):
        def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return a + b

        def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
            return (grad,)

    broken = Broken()
    apply(broken, Tensor([1.0]), Tensor([2.0]))
    with pytest.raises(RuntimeError, match=r"backward of broken returned 1 gradients for 2 inputs"):
        vjp(broken, np.ones(1), (True, True))


def test_an_op_without_backward_names_itself():
    class Cube(Op):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return x**3

    op = Cube()
    apply(op, Tensor([1.0]))
    with pytest.raises(NotImplementedError, match=r"cube: no derivative; Cube\.backward"):
        vjp(op, np.ones(1), (True,))


def test_needs_skips_unneeded_gradients():
    op = ops.MatMul()
    apply(op, tt.ones(2, 3), tt.ones(3, 4))
    grad_a, grad_b = vjp(op, np.ones((2, 4), dtype=np.float32), (False, True))
    assert grad_a is None and grad_b.shape == (3, 4)


# --------------------------------------------------------------------- accumulate_grad
def test_accumulate_grad_adds_up_copies_and_keeps_the_dtype():
    w = Tensor([1.0, 2.0], requires_grad=True)
    g = np.array([0.5, 0.5])  # float64
    accumulate_grad(w, g)
    g[0] = 100.0  # the stored gradient is a copy
    accumulate_grad(w, np.array([1.0, 1.0], dtype=np.float32))
    assert w.grad is not None and w.grad.dtype == np.float32
    assert w.grad.tolist() == [1.5, 1.5]
    with pytest.raises(ValueError, match=r"accumulate_grad: gradient of shape \(3,\) for a tensor"):
        accumulate_grad(w, np.ones(3))


# --------------------------------------------------------------------- in-place writes
def test_in_place_ops_on_a_parameter_need_no_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    for write in (lambda: w.add_(1.0), lambda: w.zero_(), lambda: w.__isub__(1.0)):
        with pytest.raises(RuntimeError, match=r"a leaf that requires grad.*no_grad"):
            write()
    previous = set_grad_mode(False)  # `with no_grad():`
    try:
        w -= 0.5 * np.array([2.0, 2.0])  # an SGD step
        w.mul_(2).clamp_(max=1.5)
    finally:
        set_grad_mode(previous)
    assert w.tolist() == [0.0, 1.5] and w._version == 3


def test_in_place_on_a_recorded_result_is_refused(recording):
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"made by a recorded op.*out-of-place form"):
        y += 1
    with pytest.raises(RuntimeError, match=r"setitem: .*recorded op"):
        y[0] = 0.0
    y.detach()[0] = 0.0  # the documented escape: the graph does not see it
    assert y.tolist() == [0.0, 4.0]


def test_in_place_errors_for_dtype_shape_and_read_only_views():
    ints = Tensor([1, 2])
    with pytest.raises(TypeError, match=r"div_: a float result cannot be written into .* int64"):
        ints.div_(2)
    x = tt.zeros(3)
    with pytest.raises(ValueError, match=r"add_: the result has shape \(2, 3\), but an in-place"):
        x.add_(tt.zeros(2, 3))
    with pytest.raises(ValueError, match=r"fill_: the storage .* read-only.*contiguous"):
        tt.zeros(3, 1).expand(3, 4).fill_(1.0)
    x.copy_(Tensor([1.0, 2.0, 3.0]))
    assert x.tolist() == [1.0, 2.0, 3.0]


# --------------------------------------------------------------------- PyTorch's methods
def test_common_methods_behave_as_in_pytorch():
    x = tt.arange(6.0).reshape(2, 3, 1)
    assert x.squeeze(1).shape == (2, 3, 1)  # dim 1 has size 3: unchanged, no error
    assert x.squeeze(-1).shape == (2, 3) and x.squeeze().shape == (2, 3)
    assert x.view(-1).shape == (6,) and x.view(3, -1).shape == (3, 2)
    assert x.expand(-1, -1, 4).shape == (2, 3, 4)
    assert tt.ones(3, 1).expand(-1, 4).shape == (3, 4)
    assert x.unsqueeze(-1).shape == (2, 3, 1, 1) and x.unsqueeze(0).shape == (1, 2, 3, 1)
    assert x.flatten().shape == (6,) and x.flatten(1).shape == (2, 3)
    assert x.size() == (2, 3, 1) and x.size(-2) == 3 and x.numel() == 6 and x.dim() == 3
    assert x.float() is x and x.to(np.float32) is x and x.to("cpu") is x  # no copy: as PyTorch
    assert x.double().dtype == np.float64 and x.long().dtype == np.int64
    assert x.contiguous() is x and x.tolist() == [[[0.0], [1.0], [2.0]], [[3.0], [4.0], [5.0]]]
    clone = x.clone()
    assert not np.shares_memory(clone.data, x.data)
    values, indices = x.max(1)
    assert values.shape == (2, 1) and indices.tolist() == [[2], [2]]
    assert x.add(1, alpha=2).tolist() == (x + 2).tolist()
    assert x.sub(x, alpha=0.5).tolist() == (x * 0.5).tolist()
    assert x.mul(2).div(2).neg().pow(2).tolist() == (x * x).tolist()
    with pytest.raises(ValueError, match=r"to: TinyTorch runs on NumPy, on the CPU only"):
        x.to("cuda")


METHODS: dict[str, Any] = {
    "squeeze(dim of size 3)": lambda x, f64: x.squeeze(1),
    "squeeze(-1)": lambda x, f64: x.squeeze(-1),
    "squeeze()": lambda x, f64: x.squeeze(),
    "view(-1)": lambda x, f64: x.view(-1),
    "view(3, -1)": lambda x, f64: x.view(3, -1),
    "expand(-1, -1, 4)": lambda x, f64: x.expand(-1, -1, 4),
    "expand(2, 2, 3, 1)": lambda x, f64: x.expand(2, 2, 3, 1),
    "unsqueeze(-1)": lambda x, f64: x.unsqueeze(-1),
    "unsqueeze(1)": lambda x, f64: x.unsqueeze(1),
    "flatten()": lambda x, f64: x.flatten(),
    "flatten(0, 1)": lambda x, f64: x.flatten(0, 1),
    "matmul": lambda x, f64: x.squeeze(-1).matmul(x.squeeze(-1).T),
    "neg": lambda x, f64: x.neg(),
    "pow": lambda x, f64: x.pow(3),
    "add(alpha)": lambda x, f64: x.add(x, alpha=3),
    "sub(alpha)": lambda x, f64: x.sub(1.5, alpha=2),
    "mul": lambda x, f64: x.mul(x),
    "div": lambda x, f64: x.div(4),
    "clone": lambda x, f64: x.clone(),
    "double": lambda x, f64: x.double(),
    "to(float64)": lambda x, f64: x.to(f64),
    "max(dim).values": lambda x, f64: x.max(1).values,
    "max(dim).indices": lambda x, f64: x.max(1).indices,
    "min(dim, keepdim)[1]": lambda x, f64: x.min(0, keepdim=True)[1],
    "amax(dims)": lambda x, f64: x.amax((0, 1)),
    "amin(dim)": lambda x, f64: x.amin(-1),
    "size()": lambda x, f64: x.size(),
    "size(1)": lambda x, f64: x.size(1),
    "numel()": lambda x, f64: x.numel(),
    "dim()": lambda x, f64: x.dim(),
    "tolist()": lambda x, f64: x.tolist(),
    "sum(dim, keepdim)": lambda x, f64: x.sum(1, keepdim=True),
    "var(dim)": lambda x, f64: x.var(1),
    "std()": lambda x, f64: x.std(),
}


@pytest.mark.parity
@pytest.mark.parametrize("name", METHODS)
def test_common_methods_match_pytorch(name):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity needs torch")
    a = np.array([[[0.5], [3.0], [-2.0]], [[4.0], [1.0], [2.5]]])  # (2, 3, 1)
    ours = METHODS[name](Tensor(a, dtype=np.float64), np.float64)
    theirs = METHODS[name](torch.tensor(a), torch.float64)
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, Tensor) and ours.shape == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        assert_close(ours, theirs.numpy(), rtol=1e-12)
    else:
        assert ours == (tuple(theirs) if isinstance(theirs, torch.Size) else theirs)
