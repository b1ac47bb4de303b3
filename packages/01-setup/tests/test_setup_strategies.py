"""The hypothesis strategies produce what they promise."""

import numpy as np
from hypothesis import find, given, settings
from hypothesis import strategies as st

from tinytorch.setup.strategies import (
    array_pairs_broadcastable,
    arrays,
    broadcastable_shapes,
    non_contiguous_arrays,
    shapes,
)

FAST = settings(max_examples=60, deadline=None, database=None)
FIND = settings(database=None, max_examples=500)


@FAST
@given(shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
def test_shapes_respect_bounds(shape):
    assert 1 <= len(shape) <= 3 and all(2 <= s <= 4 for s in shape)


def test_shapes_include_size_one_sides_and_scalars():
    assert 1 in find(shapes(min_dims=3), lambda s: 1 in s, settings=FIND)
    assert find(shapes(), lambda s: s == (), settings=FIND) == ()


@FAST
@given(arrays(dtype=np.float32))
def test_arrays_are_finite_and_bounded(a):
    assert a.dtype == np.float32
    assert np.all(np.isfinite(a)) and np.all(np.abs(a) <= 10)


@FAST
@given(arrays((2, 3), np.int64, -5, 5), arrays(st.just((4,)), np.float16, 0.1, 0.3))
def test_arrays_with_fixed_shapes_and_other_dtypes(ints, halves):
    assert ints.shape == (2, 3) and ints.dtype == np.int64 and np.all(np.abs(ints) <= 5)
    assert halves.dtype == np.float16 and np.all((halves >= 0.1) & (halves <= 0.3))


@FAST
@given(broadcastable_shapes(), broadcastable_shapes(n=3))
def test_broadcastable_shapes_broadcast(pair, triple):
    assert len(pair) == 2 and len(triple) == 3
    np.broadcast_shapes(*pair)
    np.broadcast_shapes(*triple)


def test_broadcastable_shapes_cover_the_tricky_cases():
    different_ranks = find(broadcastable_shapes(), lambda p: len(p[0]) != len(p[1]), settings=FIND)
    assert len(different_ranks[0]) != len(different_ranks[1])
    find(broadcastable_shapes(), lambda p: () in p, settings=FIND)  # a 0-d input
    stretched = find(
        broadcastable_shapes(),
        lambda p: len(p[0]) == len(p[1]) and any(a == 1 < b for a, b in zip(*p, strict=True)),
        settings=FIND,
    )
    assert stretched


@FAST
@given(array_pairs_broadcastable())
def test_array_pairs_broadcastable(pair):
    a, b = pair
    assert (a + b).shape == np.broadcast_shapes(a.shape, b.shape)


@FAST
@given(non_contiguous_arrays())
def test_non_contiguous_arrays_are_not_contiguous(a):
    assert not a.flags.c_contiguous
    assert a.dtype == np.float32 and np.all(np.isfinite(a))


@FAST
@given(non_contiguous_arrays(shape=(3, 4), dtype=np.float64))
def test_non_contiguous_arrays_with_a_given_shape(a):
    assert a.shape == (3, 4) and a.dtype == np.float64 and not a.flags.c_contiguous
    assert np.array_equal(np.ascontiguousarray(a), a)


def test_non_contiguous_arrays_include_every_kind_of_view():
    strategy = non_contiguous_arrays(shape=(3, 4))
    find(strategy, lambda a: any(s < 0 for s in a.strides), settings=FIND)  # reversed
    find(strategy, lambda a: a.strides[0] < a.strides[1], settings=FIND)  # transposed
    find(strategy, lambda a: a.strides[-1] == 2 * a.itemsize, settings=FIND)  # strided
