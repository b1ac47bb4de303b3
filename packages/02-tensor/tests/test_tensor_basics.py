"""Construction and dtype rules, Python protocols, in-place writes, factories, and the errors."""

from __future__ import annotations

import operator
import re

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.tensor import Tensor
from tinytorch.tensor.dispatch import hooks, set_grad_mode


@pytest.fixture
def without_autograd():
    """Module 02 alone: no recorder and no backward engine, whatever else was imported."""
    saved = hooks.recorder, hooks.backward
    hooks.recorder = hooks.backward = None
    yield
    hooks.recorder, hooks.backward = saved


# --------------------------------------------------------------------- construction and dtypes
@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        ([1.0, 2.0], np.float32),  # Python floats: float32, not NumPy's float64
        (np.array([1.0, 2.0]), np.float32),  # float64 arrays too
        (3.5, np.float32),
        ([1, 2], np.int64),  # integers stay integers
        (np.array([1, 2], dtype=np.int32), np.int32),
        (np.array([1, 2], dtype=np.uint8), np.uint8),
        ([True, False], np.bool_),
        (np.array([1.0], dtype=np.float16), np.float16),
    ],
    ids=str,
)
def test_default_dtypes(data, dtype):
    assert Tensor(data).dtype == dtype
    assert tt.tensor(data).dtype == dtype


def test_an_explicit_dtype_is_kept():
    assert Tensor([1.0, 2.0], dtype=np.float64).dtype == np.float64
    assert Tensor([1.5, 2.5], dtype=np.int32).data.tolist() == [1, 2]
    assert Tensor(np.ones(2), dtype="float64").dtype == np.float64
    assert tt.tensor([1, 2], dtype=np.float32).dtype == np.float32


def test_a_float32_array_is_wrapped_without_a_copy_and_float64_is_converted():
    a = np.ones((2, 3), dtype=np.float32)
    assert np.shares_memory(Tensor(a).data, a)
    assert Tensor(a).numpy() is a
    b = np.ones((2, 3))
    assert not np.shares_memory(Tensor(b).data, b)
    assert Tensor(Tensor(a)).data is a


def test_numpy_of_a_tensor_that_requires_grad_fails_as_in_pytorch() -> None:
    a = np.ones((2, 3), dtype=np.float32)
    x = Tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"x\.detach\(\)\.numpy\(\)"):
        x.numpy()
    assert x.detach().numpy() is a and x.numpy(force=True) is a


def test_non_numeric_data_is_refused():
    with pytest.raises(TypeError, match="Tensor: cannot hold data of dtype"):
        Tensor(["a", "b"])
    with pytest.raises(TypeError, match="complex"):
        Tensor(np.array([1 + 2j]))


@pytest.mark.parametrize(
    ("expression", "dtype"),
    [
        ("i / i", np.float32),  # int / int: float32, as in PyTorch
        ("i / 2", np.float32),
        ("1 / i", np.float32),
        ("i.exp()", np.float32),
        ("i.sqrt()", np.float32),
        ("i.mean()", np.float32),
        ("i + i", np.int64),
        ("i * 3", np.int64),
        ("i + 2.5", np.float32),
        ("i + f", np.float32),
        ("f * 2.0", np.float32),
        ("f + np.ones(2)", np.float32),  # a float64 ndarray operand is float32
        ("d + 1.0", np.float64),  # float64 tensors stay float64
        ("d + f", np.float64),
        ("d / i", np.float64),
        ("d.exp()", np.float64),
        ("d @ d", np.float64),
        ("f.astype(np.float64)", np.float64),
        ("Tensor(np.array([1, 2], dtype=np.int32)) + 1", np.int32),
        ("Tensor(np.array([1.0], dtype=np.float16)) * 2.0", np.float16),
    ],
)
def test_dtype_rules_of_operations(expression, dtype):
    names = {
        "i": Tensor([1, 2]),
        "f": Tensor([1.0, 2.0]),
        "d": Tensor([1.0, 2.0], dtype=np.float64),
        "np": np,
        "Tensor": Tensor,
    }
    assert eval(expression, names).dtype == dtype


# --------------------------------------------------------------------- scalars and reflection
def test_python_numbers_and_arrays_on_either_side():
    x = Tensor([1.0, 2.0, 4.0])
    assert (2 - x).data.tolist() == [1.0, 0.0, -2.0]
    assert (2 / x).data.tolist() == [2.0, 1.0, 0.5]
    assert (2**x).data.tolist() == [2.0, 4.0, 16.0]
    assert (1 + x).data.tolist() == [2.0, 3.0, 5.0]
    assert (3 * x).data.tolist() == [3.0, 6.0, 12.0]
    assert (-x).data.tolist() == [-1.0, -2.0, -4.0]
    for left in (np.array([1.0, 1.0, 1.0]), [1.0, 1.0, 1.0]):
        out = left + x
        assert isinstance(out, Tensor), "ndarray + Tensor must give a Tensor"
        assert out.data.tolist() == [2.0, 3.0, 5.0]
    out = np.array([10.0, 10.0, 10.0]) - x
    assert isinstance(out, Tensor) and out.data.tolist() == [9.0, 8.0, 6.0]
    assert isinstance(np.float32(2.0) * x, Tensor)
    assert (x > 1.5).data.tolist() == [False, True, True]
    assert operator.lt(1.5, x).data.tolist() == [False, True, True]  # reflected: x > 1.5
    assert (x == 2).data.tolist() == [False, True, False]
    assert (x != 2).data.tolist() == [True, False, True]


def test_module_level_maximum_and_minimum_accept_numbers_on_either_side():
    x = Tensor([-1.0, 0.5, 2.0])
    assert tt.maximum(x, 0.0).data.tolist() == [0.0, 0.5, 2.0]
    assert tt.maximum(0.0, x).data.tolist() == [0.0, 0.5, 2.0]
    assert tt.minimum(1.0, x).data.tolist() == [-1.0, 0.5, 1.0]
    assert tt.maximum([1.0, 1.0, 1.0], [0.0, 2.0, 1.0]).data.tolist() == [1.0, 2.0, 1.0]
    assert tt.maximum(x, 0.0).dtype == np.float32


# --------------------------------------------------------------------- Python protocols
def test_item_len_iter_bool_float_int():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert Tensor([[2.5]]).item() == 2.5 and isinstance(Tensor(2.5).item(), float)
    assert isinstance(Tensor(3).item(), int)
    assert len(x) == 2
    rows = list(x)
    assert len(rows) == 2 and all(isinstance(r, Tensor) for r in rows)
    assert rows[1].data.tolist() == [3.0, 4.0]
    assert bool(Tensor(1.0)) and not bool(Tensor([0.0]))
    assert float(Tensor([[2.5]])) == 2.5
    assert int(Tensor(7)) == 7
    assert np.asarray(x) is x.data
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert x.sum() > 9  # a one-element comparison decides an if
    assert {x: "tensors hash by identity"}[x]


def test_protocol_errors():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match=r"item: .*one element.*shape \(2, 2\)"):
        x.item()
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(Tensor(1.0))
    with pytest.raises(ValueError, match=r"bool: the truth value of a tensor of shape \(2, 2\)"):
        bool(x)
    with pytest.raises(ValueError, match="bool"):
        if x > 0:
            pass


def test_repr():
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.], dtype=float32)"
    assert repr(Tensor([1, 2])) == "Tensor([1, 2], dtype=int64)"
    assert repr(Tensor(3.0)) == "Tensor(3., dtype=float32)"
    assert repr(Tensor([[1.0, 2.0], [3.0, 4.0]])) == (
        "Tensor([[1., 2.],\n        [3., 4.]], dtype=float32)"
    )
    assert (
        repr(Tensor([1.0], requires_grad=True)) == "Tensor([1.], dtype=float32, requires_grad=True)"
    )


# --------------------------------------------------------------------- in-place writes
def test_setitem_writes_in_place_with_broadcasting_and_casting(without_autograd):
    x = tt.zeros(2, 3)
    data = x.data
    x[0] = 1.0
    x[1, 1:] = Tensor([5.0, 6.0])
    x[:, 0] += 1  # read, add, write back
    assert x.data is data
    assert x.data.tolist() == [[2.0, 1.0, 1.0], [1.0, 5.0, 6.0]]
    mask = Tensor([[True, False, False], [False, False, True]])
    x[mask] = -1.0
    assert x.data.tolist() == [[-1.0, 1.0, 1.0], [1.0, 5.0, -1.0]]
    ints = Tensor([1, 2, 3])
    ints[0] = 9.7  # the tensor keeps its dtype
    assert ints.dtype == np.int64 and ints.data.tolist() == [9, 2, 3]


def test_setitem_is_refused_on_a_tensor_that_requires_grad(without_autograd):
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"setitem: .*leaf that requires grad.*no_grad"):
        w[0] = 5.0
    assert w.data.tolist() == [1.0, 2.0] and w._version == 0
    w.detach()[0] = 5.0  # detach shares the storage (and the version counter)
    assert w.data.tolist() == [5.0, 2.0] and w._version == 1
    previous = set_grad_mode(False)  # what `with no_grad():` of module 06 does
    try:
        w[1] = 7.0  # a parameter update
    finally:
        set_grad_mode(previous)
    assert w.data.tolist() == [5.0, 7.0] and w._version == 2


# --------------------------------------------------------------------- gradients (module 06)
def test_requires_grad_is_for_floating_point_tensors_only():
    assert Tensor([1.0], requires_grad=True).requires_grad
    assert tt.zeros(2, requires_grad=True).requires_grad
    x = Tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad
    assert not x.requires_grad_(False).requires_grad
    assert x.is_leaf and x.grad is None
    with pytest.raises(TypeError, match=r"requires_grad: .*floating-point.*int64.*astype"):
        Tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="requires_grad"):
        Tensor([True]).requires_grad_()


def test_detach_shares_data_and_drops_requires_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    d = w.detach()
    assert d.data is w.data and not d.requires_grad


def test_backward_without_autograd_names_the_module_to_import(without_autograd):
    loss = (Tensor([1.0, 2.0], requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match=re.escape("import tinytorch.autograd")):
        loss.backward()


def test_backward_hands_the_gradient_to_the_installed_engine(without_autograd):
    calls = []
    hooks.backward = lambda tensor, grad, retain_graph: calls.append((tensor, grad, retain_graph))
    x = Tensor([1.0, 2.0], dtype=np.float64)
    x.backward([1, 1], retain_graph=True)
    x.backward()
    (tensor, grad, retain), (_, no_grad, _) = calls
    assert tensor is x and retain and no_grad is None
    assert grad.dtype == np.float64 and grad.data.tolist() == [1.0, 1.0]


# --------------------------------------------------------------------- factories
def test_factories():
    assert tt.zeros(2, 3).shape == (2, 3) and tt.zeros((2, 3)).data.sum() == 0
    assert tt.zeros(2).dtype == np.float32
    assert tt.ones(4, dtype=np.int32).dtype == np.int32 and tt.ones(4).data.sum() == 4
    assert tt.zeros().shape == ()
    assert tt.full((2, 2), 7.0).data.tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert tt.full([3], 1, dtype=np.int64).dtype == np.int64
    assert tt.arange(5).data.tolist() == [0, 1, 2, 3, 4] and tt.arange(5).dtype == np.int64
    assert tt.arange(2, 8, 2).data.tolist() == [2, 4, 6]
    assert tt.arange(10, step=3).data.tolist() == [0, 3, 6, 9]
    assert tt.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert tt.arange(3, dtype=np.float64).dtype == np.float64


def test_random_factories_are_float32_and_repeatable_with_a_seeded_rng():
    a = tt.randn(3, 4, rng=np.random.default_rng(0))
    b = tt.randn((3, 4), rng=np.random.default_rng(0))
    assert a.shape == (3, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(a.data, b.data)
    assert tt.randn(2, requires_grad=True).requires_grad
    u = tt.rand(1000, rng=np.random.default_rng(1))
    assert u.dtype == np.float32 and u.data.min() >= 0.0 and u.data.max() < 1.0
    assert 0.4 < u.mean().item() < 0.6


# --------------------------------------------------------------------- error messages
@pytest.mark.parametrize(
    ("expression", "error", "message"),
    [
        ("tt.zeros(3, 4) @ tt.zeros(5, 6)", ValueError, "matmul: shapes (3, 4) and (5, 6)"),
        ("tt.zeros(4) @ tt.zeros(5)", ValueError, "matmul: shapes (4,) and (5,)"),
        ("tt.zeros(2, 3, 4) @ tt.zeros(5, 4, 2)", ValueError, "batch dims (2,) and (5,)"),
        ("Tensor(2.0) @ tt.zeros(2)", ValueError, "matmul: both operands need at least 1"),
        ("tt.zeros(3, 4) + tt.zeros(5, 6)", ValueError, "add: shapes (3, 4) and (5, 6)"),
        ("tt.zeros(2) * tt.zeros(3)", ValueError, "mul: shapes (2,) and (3,)"),
        ("tt.zeros(2).maximum(tt.zeros(3))", ValueError, "maximum: shapes (2,) and (3,)"),
        ("tt.zeros(2) < tt.zeros(3)", ValueError, "lt: shapes (2,) and (3,)"),
        ("tt.zeros(2, 3).sum(dim=5)", IndexError, "sum: dim 5 is out of range"),
        ("tt.zeros(2, 3).mean(dim=(0, -3))", IndexError, "mean: dim -3 is out of range"),
        ("tt.zeros(2, 3).max(dim=2)", IndexError, "max: dim 2"),
        ("tt.zeros(2, 3).var(dim=-4)", IndexError, "var: dim -4"),
        ("tt.zeros(2, 3).argmax(dim=2)", IndexError, "argmax: dim 2"),
        ("tt.zeros(2, 3).squeeze(3)", IndexError, "squeeze: dim 3"),
        ("tt.zeros(2, 3).unsqueeze(4)", IndexError, "unsqueeze: dim 4"),
        ("tt.zeros(2, 3).transpose(0, 2)", IndexError, "transpose: dim 2"),
        ("tt.zeros(2, 3).permute(0, 2)", IndexError, "permute: dim 2"),
        ("tt.zeros(2, 3).permute(0, 0)", ValueError, "permute: dims (0, 0)"),
        ("tt.zeros(2, 3).permute(0)", ValueError, "permute: dims (0,)"),
        ("tt.zeros(2, 3).flatten(3)", IndexError, "flatten: dim 3"),
        ("tt.zeros(2, 3, 4).flatten(2, 0)", ValueError, "start_dim 2 comes after end_dim 0"),
    ],
)
def test_errors_name_the_operation_and_the_values(expression, error, message):
    with pytest.raises(error, match=re.escape(message)):
        eval(expression, {"tt": tt, "Tensor": Tensor})


def test_the_package_is_callable_like_torch_tensor() -> None:
    import tinytorch.tensor

    x = tinytorch.tensor([1.0, 2.0], requires_grad=True)
    assert isinstance(x, Tensor) and x.requires_grad and x.dtype == np.float32
    assert tinytorch.tensor([1, 2], dtype=np.int32).dtype == np.int32
    assert tinytorch.tensor.Tensor is Tensor  # still the package
