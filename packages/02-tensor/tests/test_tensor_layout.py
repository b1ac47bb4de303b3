"""The layout lessons of module 02, each against NumPy's own answer: the broadcasting rule,
row-major strides, contiguity, expand's stride-0 view, unbroadcast, and apply's dtype rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinytorch.tensor as tt
from tinytorch.tensor import Tensor
from tinytorch.tensor.ops import broadcast_shape, unbroadcast
from tinytorch.tensor.tensor import contiguous_strides

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)


def _numpy_broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


@settings(max_examples=200, deadline=None)
@given(st.lists(shapes, min_size=1, max_size=3))
def test_broadcast_shape_follows_numpys_rule(many: list[tuple[int, ...]]) -> None:
    expected = _numpy_broadcast(*many)
    if expected is None:
        with pytest.raises(ValueError, match="cannot be broadcast together"):
            broadcast_shape("op", *many)
    else:
        assert broadcast_shape("op", *many) == expected


@pytest.mark.parametrize(
    ("shapes", "expected"),
    [
        (((8, 1, 6), (7, 1)), (8, 7, 6)),
        (((3,), (2, 1)), (2, 3)),
        (((), (2, 3)), (2, 3)),
        (((1, 1), (1,)), (1, 1)),
        (((0,), (1,)), (0,)),
    ],
)
def test_broadcast_shape_examples(shapes, expected) -> None:
    assert broadcast_shape("op", *shapes) == expected


def test_broadcast_shape_names_the_op_and_every_shape() -> None:
    with pytest.raises(ValueError, match=r"where: shapes \(3,\) and \(4,\) and \(1,\)"):
        broadcast_shape("where", (3,), (4,), (1,))


@settings(max_examples=100, deadline=None)
@given(shapes)
def test_contiguous_strides_are_numpys_c_order_strides(shape: tuple[int, ...]) -> None:
    array = np.zeros(shape, dtype=np.float32)
    expected = tuple(s // array.itemsize for s in array.strides)
    got = contiguous_strides(shape)
    assert len(got) == len(shape)
    # NumPy may give any stride to a dim of size 1 or to an empty array; compare the rest
    if array.size:
        assert all(n == 1 or g == e for n, g, e in zip(shape, got, expected, strict=True))
    assert contiguous_strides((2, 3, 4)) == (12, 4, 1)


def test_contiguous_strides_examples() -> None:
    assert contiguous_strides(()) == ()
    assert contiguous_strides((5,)) == (1,)
    assert contiguous_strides((2, 3, 4)) == (12, 4, 1)
    assert contiguous_strides((4, 1, 3)) == (3, 3, 1)


VIEWS = {
    "fresh": lambda x: x,
    "row slice": lambda x: x[1:],
    "column slice": lambda x: x[:, 1:],
    "step slice": lambda x: x[:, ::2],
    "reversed": lambda x: x[::-1],
    "transpose": lambda x: x.T,
    "transpose of a column": lambda x: x[:, :1].T,
    "one row": lambda x: x[2],
    "one column": lambda x: x[:, 2],
    "expand": lambda x: x[:1].expand(3, 4),
    "unsqueezed": lambda x: x.unsqueeze(1),
    "empty": lambda x: x[:0],
    "contiguous of a transpose": lambda x: x.T.contiguous(),
}


@pytest.mark.parametrize("make", VIEWS.values(), ids=VIEWS.keys())
def test_is_contiguous_agrees_with_numpy(make) -> None:
    view = make(tt.arange(12, dtype=np.float32).reshape(3, 4))
    assert view.is_contiguous() == bool(view.data.flags.c_contiguous)


def test_transposed_and_stepped_views_are_not_contiguous_and_view_refuses_them() -> None:
    x = tt.arange(12, dtype=np.float32).reshape(3, 4)
    assert x.is_contiguous() and not x.T.is_contiguous() and not x[:, ::2].is_contiguous()
    assert x.T.strides == (1, 4)
    with pytest.raises(RuntimeError, match="not contiguous"):
        x.T.view(12)
    assert x.T.contiguous().view(12).tolist() == x.data.T.reshape(12).tolist()


def test_expand_is_a_read_only_stride_0_view() -> None:
    x = tt.tensor([[1.0], [2.0], [3.0]])
    y = x.expand(2, 3, 4)
    assert y.shape == (2, 3, 4)
    assert y.strides == (0, 1, 0)
    assert np.shares_memory(y.data, x.data) and not y.data.flags.writeable
    np.testing.assert_array_equal(y.data, np.broadcast_to(x.data, (2, 3, 4)))
    z = tt.arange(6, dtype=np.float32).reshape(2, 3)[:, ::2].expand(4, -1, -1)  # a strided input
    np.testing.assert_array_equal(z.data, np.broadcast_to(z.data[0], (4, 2, 2)))
    assert z.strides == (0, 3, 2)


@pytest.mark.parametrize(
    ("grad_shape", "shape"),
    [((2, 3), (3,)), ((2, 3), (1, 3)), ((2, 3), (2, 1)), ((4, 2, 3), (2, 1)), ((2, 3), (2, 3))],
)
def test_unbroadcast_sums_the_broadcast_copies(grad_shape, shape) -> None:
    grad = np.arange(np.prod(grad_shape), dtype=np.float64).reshape(grad_shape)
    got = unbroadcast(grad, shape)
    assert got.shape == shape
    # the adjoint of broadcasting: <broadcast(v), g> == <v, unbroadcast(g)> for every v
    v = np.random.default_rng(0).standard_normal(shape)
    assert np.isclose((np.broadcast_to(v, grad_shape) * grad).sum(), (v * got).sum())


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (np.int64, np.int64, np.float32),  # int / int: float, not NumPy's float64
        (np.float32, np.float64, np.float64),  # a float64 input keeps float64
        (np.float32, np.int64, np.float32),
        (np.float16, np.float16, np.float16),  # no float64 in, none out; others untouched
    ],
)
def test_apply_result_dtype(a, b, expected) -> None:
    x, y = Tensor(np.ones(3), dtype=a), Tensor(np.full(3, 2), dtype=b)
    assert (x / y).dtype == expected
    assert tt.tensor([1, 2]).exp().dtype == np.float32
    assert Tensor(np.ones(2, dtype=np.float32)).astype(np.float64).dtype == np.float64
