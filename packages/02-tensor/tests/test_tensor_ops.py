"""Every computing op of Tensor against NumPy, driven by one table of reference functions.

Each table row names an operation, says how TinyTorch spells it, gives the NumPy reference and
the input domain (log needs positive inputs, a divisor must stay away from zero). Hypothesis
draws the inputs: random shapes with size-1 dims and 0-d tensors, broadcasting pairs of
different ranks, and non-contiguous views.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinytorch.tensor as tt
from tinytorch.setup.strategies import (
    arrays,
    broadcastable_shapes,
    non_contiguous_arrays,
    shapes,
)
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor

FAST = settings(max_examples=40, deadline=None, database=None)


@dataclass(frozen=True)
class Ref:
    """How TinyTorch spells an op, its NumPy reference, and the domain its inputs come from."""

    tiny: Callable[..., Tensor]
    numpy: Callable[..., np.ndarray]
    low: float = -10.0
    high: float = 10.0
    nonzero: bool = False  # inputs moved away from zero by 0.5 (divisors)

    def domain(self, a: np.ndarray) -> np.ndarray:
        """``a`` moved into the domain in place, so that a non-contiguous view stays one."""
        if self.nonzero:
            a[...] = np.where(a >= 0, a + 0.5, a - 0.5)
        return a


# --------------------------------------------------------------------- the reference table
BINARY = {
    "add": Ref(operator.add, np.add),
    "sub": Ref(operator.sub, np.subtract),
    "mul": Ref(operator.mul, np.multiply),
    "div": Ref(operator.truediv, np.true_divide, nonzero=True),
    "pow": Ref(operator.pow, np.power, low=0.5, high=3.0),
    "maximum (method)": Ref(Tensor.maximum, np.maximum),
    "minimum (method)": Ref(Tensor.minimum, np.minimum),
    "maximum (function)": Ref(tt.maximum, np.maximum),
    "minimum (function)": Ref(tt.minimum, np.minimum),
}

UNARY = {
    "neg": Ref(operator.neg, np.negative),
    "exp": Ref(Tensor.exp, np.exp),
    "log": Ref(Tensor.log, np.log, low=0.01),
    "sqrt": Ref(Tensor.sqrt, np.sqrt, low=0.0),
    "abs": Ref(Tensor.abs, np.abs),
    "clip": Ref(lambda x: x.clip(-1.0, 2.0), lambda a: np.clip(a, -1.0, 2.0)),
    "clip min only": Ref(lambda x: x.clip(min=0.0), lambda a: np.maximum(a, 0.0)),
    "clamp max only": Ref(lambda x: x.clamp(max=1.5), lambda a: np.minimum(a, 1.5)),
    # a Python number on either side (reflected operators included)
    "x + 2": Ref(lambda x: x + 2, lambda a: a + 2),
    "2 + x": Ref(lambda x: 2 + x, lambda a: 2 + a),
    "x - 2.5": Ref(lambda x: x - 2.5, lambda a: a - 2.5),
    "2 - x": Ref(lambda x: 2 - x, lambda a: 2 - a),
    "x * 3": Ref(lambda x: x * 3, lambda a: a * 3),
    "3 * x": Ref(lambda x: 3 * x, lambda a: 3 * a),
    "x / 4": Ref(lambda x: x / 4, lambda a: a / 4),
    "2 / x": Ref(lambda x: 2 / x, lambda a: 2 / a, nonzero=True),
    "x ** 2": Ref(lambda x: x**2, lambda a: a**2),
    "2 ** x": Ref(lambda x: 2**x, lambda a: 2.0**a),
    "x ** 0.5": Ref(lambda x: x**0.5, np.sqrt, low=0.0),
    "std": Ref(lambda x: x.std(correction=0), lambda a: np.std(a)),
}

REDUCTIONS = {
    "sum": Ref(Tensor.sum, np.sum),
    "mean": Ref(Tensor.mean, np.mean),
    "amax": Ref(Tensor.amax, np.max),
    "amin": Ref(Tensor.amin, np.min),
    "var": Ref(Tensor.var, np.var),
}

COMPARISONS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


# --------------------------------------------------------------------- strategies
@st.composite
def binary_inputs(draw: st.DrawFn, ref: Ref) -> tuple[np.ndarray, np.ndarray]:
    """Two float32 arrays in the op's domain whose shapes broadcast (ranks may differ)."""
    shape_a, shape_b = draw(broadcastable_shapes(2))
    a = draw(arrays(shape_a, np.float32, ref.low, ref.high))
    b = draw(arrays(shape_b, np.float32, ref.low, ref.high))
    return ref.domain(a), ref.domain(b)


@st.composite
def reduction_dims(draw: st.DrawFn, ndim: int) -> int | tuple[int, ...] | None:
    """None, one dim, or a tuple of distinct dims; each may be written negative."""
    rank = max(ndim, 1)
    one = st.integers(-rank, rank - 1)
    if ndim == 0:
        return draw(st.one_of(st.none(), one))
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
    dims = draw(st.one_of(st.none(), one, several))
    if isinstance(dims, list):
        return tuple(d - ndim if draw(st.booleans()) else d for d in dims)
    return dims


def numpy_axis(dim: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """The NumPy ``axis`` for a TinyTorch ``dim``: every dim for None, () for a 0-d tensor."""
    if dim is None or ndim == 0:
        return tuple(range(ndim))
    return tuple(d % ndim for d in ((dim,) if isinstance(dim, int) else dim))


# --------------------------------------------------------------------- elementwise
@pytest.mark.parametrize("name", BINARY)
@FAST
@given(data=st.data())
def test_binary_ops_broadcast_like_numpy(name, data):
    ref = BINARY[name]
    a, b = data.draw(binary_inputs(ref))
    out = ref.tiny(Tensor(a), Tensor(b))
    expected = ref.numpy(a, b)
    assert isinstance(out, Tensor)
    assert out.shape == expected.shape
    assert out.dtype == np.float32
    assert_close(out, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", UNARY)
@FAST
@given(data=st.data())
def test_unary_and_scalar_ops_match_numpy(name, data):
    ref = UNARY[name]
    a = ref.domain(data.draw(arrays(shapes(), np.float32, ref.low, ref.high)))
    out = ref.tiny(Tensor(a))
    expected = np.asarray(ref.numpy(a))
    assert out.shape == expected.shape
    assert out.dtype == np.float32
    assert_close(out, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["add", "mul", "div", "maximum (method)"])
@FAST
@given(data=st.data())
def test_binary_ops_on_non_contiguous_views(name, data):
    ref = BINARY[name]
    a = ref.domain(data.draw(non_contiguous_arrays()))
    b = ref.domain(data.draw(non_contiguous_arrays(shape=a.shape)))
    assert not a.flags.c_contiguous
    assert_close(ref.tiny(Tensor(a), Tensor(b)), ref.numpy(a, b), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["neg", "exp", "abs", "clip", "2 - x"])
@FAST
@given(a=non_contiguous_arrays())
def test_unary_ops_on_non_contiguous_views(name, a):
    ref = UNARY[name]
    assert_close(ref.tiny(Tensor(a)), ref.numpy(a), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("symbol", COMPARISONS)
@FAST
@given(data=st.data())
def test_comparisons_give_bool_like_numpy(symbol, data):
    compare = COMPARISONS[symbol]
    shape_a, shape_b = data.draw(broadcastable_shapes(2))
    a = data.draw(arrays(shape_a, np.float32, -3, 3)).round()  # rounded: ties are common
    b = data.draw(arrays(shape_b, np.float32, -3, 3)).round()
    out = compare(Tensor(a), Tensor(b))
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out.data, compare(a, b))
    np.testing.assert_array_equal(compare(Tensor(a), 1.0).data, compare(a, np.float32(1.0)))


def test_integer_arithmetic_stays_integer_and_matches_numpy():
    a = np.array([[7, -3, 0], [2, 5, -8]], dtype=np.int64)
    b = np.array([2, -4, 3], dtype=np.int64)
    for op in (operator.add, operator.sub, operator.mul):
        out = op(Tensor(a), Tensor(b))
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out.data, op(a, b))
    np.testing.assert_array_equal((Tensor(a) ** 2).data, a**2)
    assert (Tensor(a) ** 2).dtype == np.int64
    np.testing.assert_array_equal(abs(a), Tensor(a).abs().data)


# --------------------------------------------------------------------- reductions
@pytest.mark.parametrize("name", REDUCTIONS)
@FAST
@given(data=st.data())
def test_reductions_match_numpy_for_every_dim_form(name, data):
    ref = REDUCTIONS[name]
    a = data.draw(arrays(shapes(), np.float32))
    dim = data.draw(reduction_dims(a.ndim))
    keepdim = data.draw(st.booleans())
    axis = numpy_axis(dim, a.ndim)
    if name == "var":
        reduced = int(np.prod([a.shape[d] for d in axis]))
        correction = 1 if reduced > 1 else 0  # n - correction must stay positive
        out = Tensor(a).var(dim, keepdim=keepdim, correction=correction)
        expected = np.var(a, axis=axis, keepdims=keepdim, ddof=correction)
    else:
        out = ref.tiny(Tensor(a), dim, keepdim=keepdim)
        expected = np.asarray(ref.numpy(a, axis=axis, keepdims=keepdim))
    assert out.shape == expected.shape, f"dim={dim}, keepdim={keepdim}"
    assert out.dtype == np.float32
    assert_close(out, expected, rtol=1e-5, atol=1e-5)


@FAST
@given(a=non_contiguous_arrays(), keepdim=st.booleans())
def test_reductions_over_the_last_dim_of_non_contiguous_views(a, keepdim):
    for name, ref in REDUCTIONS.items():
        if name == "var" and a.shape[-1] < 2:
            continue
        expected = ref.numpy(a, axis=-1, keepdims=keepdim, **({"ddof": 1} if name == "var" else {}))
        assert_close(ref.tiny(Tensor(a), -1, keepdim=keepdim), expected, rtol=1e-5, atol=1e-5)


def test_reduction_examples_and_defaults():
    x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.sum().item() == 21.0 and x.sum().shape == ()
    np.testing.assert_array_equal(x.sum(dim=0).data, [5.0, 7.0, 9.0])
    np.testing.assert_array_equal(x.sum(dim=-1, keepdim=True).data, [[6.0], [15.0]])
    np.testing.assert_array_equal(x.mean(dim=(0, 1), keepdim=True).data, [[3.5]])
    assert x.max().item() == 6.0 and x.max().shape == () and x.min().item() == 1.0
    np.testing.assert_array_equal(x.max(dim=1).values.data, [3.0, 6.0])
    np.testing.assert_array_equal(x.min(dim=0).values.data, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.amax(dim=(0, 1)).data, 6.0)
    assert x.var().item() == pytest.approx(3.5)  # correction=1, as in PyTorch
    assert x.var(correction=0).item() == pytest.approx(35 / 12)
    assert x.std(dim=1).data.tolist() == pytest.approx([1.0, 1.0])


def test_reduction_dtypes():
    ints = Tensor([[1, 2], [3, 4]])
    assert ints.sum().dtype == np.int64 and ints.sum().item() == 10
    values, indices = ints.max(dim=0)
    assert values.dtype == np.int64 and indices.dtype == np.int64
    assert ints.amin(dim=1).dtype == np.int64
    assert ints.mean().dtype == np.float32 and ints.mean().item() == 2.5
    assert Tensor([True, True, False]).sum().item() == 2
    doubles = Tensor(np.arange(6.0).reshape(2, 3), dtype=np.float64)
    for reduced in (doubles.sum(0), doubles.mean(), doubles.var(1), doubles.max()):
        assert reduced.dtype == np.float64


@pytest.mark.parametrize("name", ["max", "min"])
@FAST
@given(data=st.data())
def test_max_and_min_over_a_dim_return_values_and_indices_like_numpy(name, data):
    a = data.draw(arrays(shapes(min_dims=1), np.float32, -2, 2)).round()  # many ties
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    keepdim = data.draw(st.booleans())
    result = getattr(Tensor(a), name)(dim, keepdim=keepdim)
    values, indices = result  # a named pair: unpacks, and has .values / .indices
    assert result.values is values and result.indices is indices
    pick = np.argmax if name == "max" else np.argmin
    reduce = np.max if name == "max" else np.min
    np.testing.assert_array_equal(indices.data, pick(a, axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(values.data, reduce(a, axis=dim, keepdims=keepdim))
    assert indices.dtype == np.int64 and values.dtype == np.float32


def test_max_over_several_dims_says_to_use_amax():
    with pytest.raises(TypeError, match=r"max: dim must be one int.*amax"):
        Tensor(np.zeros((2, 3))).max(dim=(0, 1))
    with pytest.raises(TypeError, match=r"min: .*amin"):
        Tensor(np.zeros((2, 3))).min(dim=(0, 1))


def test_max_and_min_of_an_empty_tensor_raise():
    with pytest.raises(ValueError, match="max: the tensor is empty"):
        Tensor(np.zeros((0, 3))).max()
    with pytest.raises(ValueError, match="min: the tensor is empty"):
        Tensor(np.zeros(0)).min()


# --------------------------------------------------------------------- argmax
@FAST
@given(data=st.data())
def test_argmax_matches_numpy_first_index_on_ties(data):
    a = data.draw(arrays(shapes(min_dims=1), np.float32, -2, 2)).round()  # many ties
    dim = data.draw(st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1)))
    keepdim = data.draw(st.booleans())
    out = Tensor(a).argmax(dim, keepdim=keepdim)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.data, np.argmax(a, axis=dim, keepdims=keepdim))


def test_argmax_examples():
    x = Tensor([[1.0, 9.0, 9.0], [7.0, 0.0, 2.0]])
    assert x.argmax().item() == 1  # flattened, first of the ties
    np.testing.assert_array_equal(x.argmax(dim=1).data, [1, 0])
    np.testing.assert_array_equal(x.argmax(dim=0, keepdim=True).data, [[1, 0, 0]])
    assert Tensor(5.0).argmax().item() == 0
    assert Tensor(5.0).argmax(dim=0).item() == 0


# --------------------------------------------------------------------- matmul
@st.composite
def matmul_operands(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """(..., M, K) @ (..., K, N) with broadcasting batch dims; either side may be 1-d (K,)."""
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    batch_a, batch_b = draw(broadcastable_shapes(2, max_dims=2, max_side=3))
    shape_a = (k,) if draw(st.booleans()) else (*batch_a, m, k)
    shape_b = (k,) if draw(st.booleans()) else (*batch_b, k, n)
    return draw(arrays(shape_a, np.float32)), draw(arrays(shape_b, np.float32))


@FAST
@given(operands=matmul_operands())
def test_matmul_matches_numpy_in_float64(operands):
    a, b = operands
    out = Tensor(a) @ Tensor(b)
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert out.shape == expected.shape
    assert out.dtype == np.float32
    assert_close(out, expected, rtol=1e-5, atol=1e-4)


def test_matmul_shapes_for_each_rank():
    rng = np.random.default_rng(0)
    vector, matrix = rng.standard_normal(3), rng.standard_normal((3, 3))
    batch, other = rng.standard_normal((2, 1, 4, 3)), rng.standard_normal((5, 3, 2))
    cases = [(vector, vector), (matrix, vector), (vector, matrix), (matrix, matrix),
             (batch, other), (batch, vector), (vector, other)]  # fmt: skip
    for a, b in cases:
        out = Tensor(a) @ Tensor(b)
        assert out.shape == np.matmul(a, b).shape
        assert_close(out, np.matmul(a, b), rtol=1e-5, atol=1e-5)
    assert (Tensor(batch) @ Tensor(other)).shape == (2, 5, 4, 2)


def test_matmul_of_integers_and_reflected_with_an_ndarray():
    a = np.array([[1, 2], [3, 4]])
    out = Tensor(a) @ Tensor(a)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.data, a @ a)
    reflected = np.eye(2, dtype=np.float32) @ Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(reflected, Tensor)
    np.testing.assert_array_equal(reflected.data, [[1.0, 2.0], [3.0, 4.0]])
    assert_close(Tensor([[1.0, 2.0]]) @ [[1.0], [1.0]], [[3.0]])
