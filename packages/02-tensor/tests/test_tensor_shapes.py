"""Shapes, strides and views: reshape/view, permute/transpose/.T, squeeze/unsqueeze/flatten,
expand, indexing, cat/stack, where, astype -- values against NumPy, and which results share
memory with their input (views) and which copy.
"""

from __future__ import annotations

import re

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
from tinytorch.tensor import Tensor
from tinytorch.tensor.dispatch import hooks

FAST = settings(max_examples=40, deadline=None, database=None)


@pytest.fixture
def without_autograd():
    """Module 02 alone: no recorder and no backward engine, whatever else was imported."""
    saved = hooks.recorder, hooks.backward
    hooks.recorder = hooks.backward = None
    yield
    hooks.recorder, hooks.backward = saved


def shares(result: Tensor, base: Tensor) -> bool:
    return bool(np.shares_memory(result.data, base.data))


def grid(*shape: int) -> Tensor:
    """0, 1, 2, ... as float32 in ``shape``: every element distinct, easy to read in failures."""
    return Tensor(np.arange(np.prod(shape), dtype=np.float32).reshape(shape))


# --------------------------------------------------------------------- strides and layout
def test_strides_count_elements_and_views_change_them_without_copying():
    x = grid(2, 3, 4)
    assert x.strides == (12, 4, 1) and x.is_contiguous()
    assert x.nbytes == 24 * 4 and x.numel() == 24 and x.ndim == 3 and x.dim() == 3
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4  # PyTorch's size()
    t = x.transpose(0, 2)
    assert t.shape == (4, 3, 2) and t.strides == (1, 4, 12)
    assert not t.is_contiguous() and shares(t, x)
    assert x[:, ::2].strides == (12, 8, 1)
    assert x[::-1].strides == (-12, 4, 1)
    c = t.contiguous()
    assert c.is_contiguous() and not shares(c, x) and c.strides == (6, 2, 1)
    np.testing.assert_array_equal(c.data, t.data)
    assert x.contiguous() is x


# --------------------------------------------------------------------- reshape and view
@FAST
@given(a=arrays(shapes(), np.float32))
def test_reshape_round_trips_and_is_a_view_of_a_contiguous_tensor(a):
    x = Tensor(a)
    flat = x.reshape(-1)
    assert flat.shape == (a.size,) and shares(flat, x)
    np.testing.assert_array_equal(flat.data, a.reshape(-1))
    back = flat.reshape(a.shape)
    assert back.shape == a.shape and shares(back, x)
    np.testing.assert_array_equal(back.data, a)
    assert x.view(a.size).shape == (a.size,)


@FAST
@given(a=non_contiguous_arrays())
def test_reshape_of_a_non_contiguous_tensor_copies_and_view_raises(a):
    x = Tensor(a)
    np.testing.assert_array_equal(x.reshape(-1).data, a.reshape(-1))
    with pytest.raises(RuntimeError, match=r"view: .* not contiguous"):
        x.view(-1)


def test_reshape_and_view_spellings():
    x = grid(2, 3)
    assert x.reshape(3, 2).shape == (3, 2)
    assert x.reshape((3, 2)).shape == (3, 2)
    assert x.reshape([6]).shape == (6,)
    assert x.reshape(-1, 2).shape == (3, 2)
    assert x.view(1, 6).shape == (1, 6)
    assert Tensor(7.0).reshape(1, 1).shape == (1, 1)
    assert grid(1).reshape(()).shape == ()
    with pytest.raises(RuntimeError, match=r"contiguous\(\)\.view\(\)"):
        x.T.view(6)
    with pytest.raises(ValueError, match=r"reshape: .*shape \(2, 3\) \(6 elements\).*\(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(-1, -1)


# --------------------------------------------------------------------- permute, transpose, .T
@FAST
@given(data=st.data())
def test_permute_matches_numpy_and_is_a_view(data):
    a = data.draw(arrays(shapes(), np.float32))
    order = data.draw(st.permutations(range(a.ndim)))
    order = [d - a.ndim if data.draw(st.booleans()) else d for d in order]  # some negative
    x = Tensor(a)
    p = x.permute(*order)
    np.testing.assert_array_equal(p.data, np.transpose(a, order))
    assert shares(p, x)
    np.testing.assert_array_equal(x.permute(order).data, p.data)  # a list works too
    np.testing.assert_array_equal(x.T.data, a.T)


def test_transpose_swaps_two_dims():
    x = grid(2, 3, 4)
    np.testing.assert_array_equal(x.transpose(0, 2).data, np.swapaxes(x.data, 0, 2))
    np.testing.assert_array_equal(x.transpose().data, np.swapaxes(x.data, -2, -1))
    np.testing.assert_array_equal(x.transpose(-1, 0).data, np.swapaxes(x.data, -1, 0))
    assert x.transpose(1, 1).shape == (2, 3, 4)
    assert x.T.shape == (4, 3, 2)
    assert Tensor(1.0).T.shape == () and grid(3).T.shape == (3,)


# --------------------------------------------------------------------- squeeze, unsqueeze, flatten
@FAST
@given(a=arrays(shapes(max_dims=5), np.float32), data=st.data())
def test_squeeze_unsqueeze_flatten_match_numpy(a, data):
    x = Tensor(a)
    np.testing.assert_array_equal(x.squeeze().data, np.squeeze(a))
    if a.ndim:
        dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
        expected = np.squeeze(a, axis=dim) if a.shape[dim] == 1 else a
        np.testing.assert_array_equal(x.squeeze(dim).data, expected)
        assert x.squeeze(dim).shape == expected.shape
    position = data.draw(st.integers(-a.ndim - 1, a.ndim))
    assert x.unsqueeze(position).shape == np.expand_dims(a, position).shape
    assert shares(x.unsqueeze(position), x)
    np.testing.assert_array_equal(x.flatten().data, a.reshape(-1))
    if a.ndim >= 2:
        start = data.draw(st.integers(0, a.ndim - 1))
        end = data.draw(st.integers(start, a.ndim - 1))
        merged = int(np.prod(a.shape[start : end + 1]))
        expected_shape = (*a.shape[:start], merged, *a.shape[end + 1 :])
        assert x.flatten(start, end).shape == expected_shape
        assert x.flatten(start - a.ndim, end).shape == expected_shape
        np.testing.assert_array_equal(x.flatten(start, end).data, a.reshape(expected_shape))


def test_squeeze_unsqueeze_flatten_examples():
    x = grid(1, 3, 1)
    assert x.squeeze().shape == (3,)
    assert x.squeeze(0).shape == (3, 1)
    assert x.squeeze(-1).shape == (1, 3)
    assert x.squeeze(1).shape == (1, 3, 1)  # size 3: left alone
    assert x.unsqueeze(0).shape == (1, 1, 3, 1)
    assert x.unsqueeze(-1).shape == (1, 3, 1, 1)
    assert grid(2, 3, 4).flatten(1).shape == (2, 12)
    assert grid(2, 3, 4).flatten(0, 1).shape == (6, 4)
    assert Tensor(5.0).flatten().shape == (1,)
    assert Tensor(5.0).unsqueeze(0).shape == (1,)


# --------------------------------------------------------------------- expand
def test_expand_is_a_stride_zero_view():
    x = Tensor([[1.0], [2.0], [3.0]])
    e = x.expand(2, 3, 4)
    assert e.shape == (2, 3, 4) and e.strides == (0, 1, 0)
    assert shares(e, x)
    np.testing.assert_array_equal(e.data, np.broadcast_to(x.data, (2, 3, 4)))
    assert x.expand((3, 4)).shape == (3, 4)
    assert x.expand(-1, 5).shape == (3, 5)  # -1 keeps a dim
    assert x.expand(2, -1, 5).shape == (2, 3, 5)
    assert Tensor(1.0).expand(2, 2).shape == (2, 2)
    assert e.nbytes == 24 * 4 and e.contiguous().nbytes == 24 * 4  # spans 24, stores 3


@FAST
@given(a=arrays(shapes(max_dims=3), np.float32), data=st.data())
def test_expand_matches_broadcast_to(a, data):
    lead = data.draw(shapes(max_dims=2))
    target = (*lead, *(data.draw(st.integers(1, 3)) if s == 1 else s for s in a.shape))
    out = Tensor(a).expand(target)
    np.testing.assert_array_equal(out.data, np.broadcast_to(a, target))


@pytest.mark.parametrize("target", [(1, 4), (2, 1), (4,), (-1, 3, 1)])
def test_expand_errors_name_both_shapes(target):
    message = re.escape(f"expand: cannot expand a tensor of shape (3, 1) to {target}")
    with pytest.raises(ValueError, match=message):
        Tensor(np.zeros((3, 1))).expand(target)


# --------------------------------------------------------------------- indexing
BASIC_INDEXES = [
    (0,),
    (-1,),
    (slice(1, None),),
    (slice(None, None, 2),),
    (slice(None, None, -1),),
    (slice(None), 1),
    (Ellipsis, 0),
    (None, slice(0, 2)),
    (1, slice(None), slice(1, 3)),
]


@pytest.mark.parametrize("index", BASIC_INDEXES, ids=str)
def test_basic_indexing_gives_views(index):
    x = grid(3, 4, 5)
    out = x[index]
    np.testing.assert_array_equal(out.data, x.data[index])
    assert shares(out, x), "basic slicing must not copy"


def test_a_write_through_a_slice_reaches_the_base(without_autograd):
    x = grid(3, 4)
    x[1:, ::2][0, 0] = -1.0
    assert x.data[1, 0] == -1.0


@pytest.mark.parametrize(
    "index",
    [
        np.array([2, 0, 2]),
        Tensor([2, 0, 2]),
        [0, 1],
        (np.array([0, 2]), np.array([1, 3])),
        (slice(None), Tensor([0, 3])),
        np.array([True, False, True]),
        Tensor([True, False, True]),
    ],
    ids=str,
)
def test_integer_array_and_bool_indexing_copy(index):
    x = grid(3, 4)
    out = x[index]
    np.testing.assert_array_equal(out.data, x.data[_as_numpy_index(index)])
    assert not shares(out, x), "integer-array and bool indexing copy"


def _as_numpy_index(index):
    if isinstance(index, tuple):
        return tuple(_as_numpy_index(i) for i in index)
    return index.data if isinstance(index, Tensor) else index


def test_indexing_by_a_comparison_mask():
    x = Tensor([[-1.0, 2.0], [3.0, -4.0]])
    np.testing.assert_array_equal(x[x > 0].data, [2.0, 3.0])


# --------------------------------------------------------------------- concatenate, cat, stack
@FAST
@given(data=st.data())
def test_concatenate_and_stack_match_numpy(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    parts = []
    for size in sizes:
        part_shape = tuple(size if i == dim % len(shape) else s for i, s in enumerate(shape))
        parts.append(data.draw(arrays(part_shape, np.float32)))
    out = tt.concatenate([Tensor(p) for p in parts], dim=dim)
    np.testing.assert_array_equal(out.data, np.concatenate(parts, axis=dim))
    assert not any(shares(out, Tensor(p)) for p in parts)
    same = [data.draw(arrays(shape, np.float32)) for _ in sizes]
    new_dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    np.testing.assert_array_equal(
        tt.stack([Tensor(s) for s in same], dim=new_dim).data, np.stack(same, axis=new_dim)
    )


def test_cat_is_concatenate_and_accepts_arrays():
    assert tt.cat is tt.concatenate
    out = tt.cat([grid(2, 2), np.ones((1, 2), dtype=np.float32)])
    np.testing.assert_array_equal(out.data, [[0.0, 1.0], [2.0, 3.0], [1.0, 1.0]])
    assert tt.stack([Tensor(1.0), Tensor(2.0)]).shape == (2,)


def test_join_errors():
    with pytest.raises(ValueError, match=r"concatenate: shapes \[\(2, 3\), \(2, 4\)\] differ"):
        tt.cat([grid(2, 3), grid(2, 4)])
    with pytest.raises(ValueError, match="concatenate: need tensors with the same number"):
        tt.cat([grid(2, 3), grid(3)])
    with pytest.raises(ValueError, match="concatenate: 0-d tensors"):
        tt.cat([Tensor(1.0), Tensor(2.0)])
    with pytest.raises(IndexError, match="concatenate: dim 2 is out of range"):
        tt.cat([grid(2, 3), grid(2, 3)], dim=2)
    with pytest.raises(ValueError, match=r"stack: need tensors of one shape.*\(2, 3\), \(3, 2\)"):
        tt.stack([grid(2, 3), grid(3, 2)])
    with pytest.raises(IndexError, match="stack: dim 3 is out of range"):
        tt.stack([grid(2, 3), grid(2, 3)], dim=3)


# --------------------------------------------------------------------- where, clip, astype
@FAST
@given(data=st.data())
def test_where_broadcasts_like_numpy(data):
    shape_c, shape_a, shape_b = data.draw(broadcastable_shapes(3))
    condition = data.draw(arrays(shape_c, np.bool_))
    a = data.draw(arrays(shape_a, np.float32))
    b = data.draw(arrays(shape_b, np.float32))
    out = tt.where(Tensor(condition), Tensor(a), Tensor(b))
    np.testing.assert_array_equal(out.data, np.where(condition, a, b))
    assert out.dtype == np.float32


def test_where_with_scalars_and_masks():
    x = Tensor([[-1.0, 2.0], [3.0, -4.0]])
    np.testing.assert_array_equal(tt.where(x > 0, x, 0.0).data, [[0.0, 2.0], [3.0, 0.0]])
    np.testing.assert_array_equal(tt.where(x > 0, 1.0, -1.0).data, [[-1.0, 1.0], [1.0, -1.0]])
    assert tt.where(x > 0, 1.0, -1.0).dtype == np.float32
    ints = tt.where([True, False], Tensor([1, 2]), 0)
    assert ints.dtype == np.int64 and ints.data.tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"where: shapes \(2,\) and \(2, 2\) and \(3,\)"):
        tt.where(Tensor([True, False]), x, Tensor([1.0, 2.0, 3.0]))


def test_clip_bounds():
    x = Tensor([-2.0, 0.5, 3.0])
    assert x.clip(-1.0, 1.0).data.tolist() == [-1.0, 0.5, 1.0]
    assert x.clamp(min=0.0).data.tolist() == [0.0, 0.5, 3.0]
    assert x.clip(max=0.0).data.tolist() == [-2.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="clip: give at least one of min and max"):
        x.clip()


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int64, np.int32, bool])
def test_astype_converts_to_exactly_the_dtype_asked_for(dtype):
    x = Tensor([[0.0, 1.5], [-2.0, 3.0]])
    out = x.astype(dtype)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out.data, x.data.astype(dtype))
    assert not shares(out, x)
    assert Tensor([1, 2]).astype(np.float64).dtype == np.float64
