"""Indexing follows PyTorch where PyTorch and NumPy order the result's dims differently.

Both put the dims of the index arrays in place of those arrays when the arrays are adjacent, and
first when a slice, None or ... separates them. NumPy counts an integer as one more index array;
PyTorch selects with it first. So ``x[0, :, [0, 1]]`` of a (2, 3, 4) tensor is (2, 3) in NumPy
and (3, 2) in PyTorch. The oracle here is that definition: select with the integers (and
slices) first, then index the rest with NumPy.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tinytorch.tensor import Tensor, apply, ops, vjp

L = [0, 1]
MASK_4 = np.array([True, False, True, True])
MASK_2 = np.array([False, True])
S = slice(None)

# index -> does NumPy order it differently from PyTorch? (on a (2, 3, 4, 5) tensor)
PATTERNS = {
    "0,:,L": ((0, S, L), True),
    "L,:,L": ((L, S, L), False),
    "L,0,L": ((L, 0, L), False),
    "L,:,0": ((L, S, 0), False),
    ":,L,0": ((S, L, 0), False),
    ":,L,:,0": ((S, L, S, 0), True),
    "0,L": ((0, L), False),
    "L,0": ((L, 0), False),
    "0,L,L": ((0, L, L), False),
    ":,0,:,L": ((S, 0, S, L), True),
    "0,...,L": ((0, Ellipsis, L), True),
    "L,...,0": ((L, Ellipsis, 0), False),
    "L,None,L": ((L, None, L), False),
    "0,None,L": ((0, None, L), True),
    "None,0,L": ((None, 0, L), False),
    "0,:,L,L": ((0, S, L, L), True),
    "0,L,:,L": ((0, L, S, L), False),
    ":,L,0,L": ((S, L, 0, L), False),
    "0,:,0,L": ((0, S, 0, L), True),
    "1,:,mask": ((1, S, MASK_4), True),
    "mask,:,0": ((MASK_2, S, 0), False),
    "0,:,2-d index": ((0, S, [[0, 1], [1, 2]]), True),
    "0,:,L,0": ((0, S, L, 0), True),
    "-1,1:,::-1,L": ((-1, slice(1, None), slice(None, None, -1), L), True),
    "0-d int array,:,L": ((np.array(1), S, L), True),
    "np.int64,:,L": ((np.int64(1), S, L), True),
}


def _is_int(p):
    if isinstance(p, np.ndarray):
        return p.ndim == 0 and p.dtype.kind in "iu"
    return isinstance(p, (int, np.integer)) and not isinstance(p, bool)


def pytorch_stages(index):
    """PyTorch's indexing as two NumPy steps: integers, slices, None first; then the arrays."""
    first, second = [], []
    for p in index if isinstance(index, tuple) else (index,):
        if _is_int(p) or isinstance(p, slice):
            first.append(int(p) if _is_int(p) else p)  # int(): a 0-d array would copy
            if isinstance(p, slice):
                second.append(S)
        elif p is None:
            first.append(None)
            second.append(S)
        elif p is Ellipsis:
            first.append(p)
            second.append(p)
        else:
            array = np.asarray(p)
            first.extend([S] * (array.ndim if array.dtype == np.bool_ else 1))
            second.append(array)
    return tuple(first), tuple(second)


def pytorch_getitem(a, index):
    first, second = pytorch_stages(index)
    return a[first][second]


def pytorch_setitem(a, index, values):
    first, second = pytorch_stages(index)
    view = a[first]  # basic indexing: a view of a
    view[second] = values


def grid():
    return np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)


@pytest.mark.parametrize("name", PATTERNS)
def test_getitem_orders_dims_as_pytorch(name):
    index, differs = PATTERNS[name]
    a = grid()
    expected = pytorch_getitem(a, index)
    numpy_result = a[index]
    assert differs == (numpy_result.shape != expected.shape or (numpy_result != expected).any())
    out = Tensor(a)[index]
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    as_tensors = tuple(Tensor(p) if isinstance(p, (list, np.ndarray)) else p for p in index)
    np.testing.assert_array_equal(Tensor(a)[as_tensors].data, expected)  # Tensor indices too


@pytest.mark.parametrize("name", PATTERNS)
def test_setitem_takes_values_in_pytorchs_layout(name):
    index, _ = PATTERNS[name]
    expected = grid()
    shape = pytorch_getitem(expected, index).shape
    values = -1.0 - np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    pytorch_setitem(expected, index, values)
    x = Tensor(grid())
    x[index] = values
    np.testing.assert_array_equal(x.data, expected)
    x = Tensor(grid())
    x[index] = Tensor(values[..., :1])  # broadcasting along the last dim of x[index]
    y = grid()
    pytorch_setitem(y, index, values[..., :1])
    np.testing.assert_array_equal(x.data, y)


@pytest.mark.parametrize("name", PATTERNS)
def test_getitem_backward_is_the_adjoint(name):
    """Indexing is linear: <g, x[index]> == <backward(g), x> for every x and g."""
    index, _ = PATTERNS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5))
    op = ops.GetItem(index)
    out = apply(op, Tensor(x, dtype=np.float64))
    g = rng.standard_normal(out.shape)
    (grad,) = vjp(op, g, (True,))
    assert grad.shape == x.shape
    assert np.sum(g * out.data) == pytest.approx(np.sum(grad * x), rel=1e-12)


def random_indices(count: int, seed: int = 0):
    """Tuples of up to 4 entries drawn from ints, slices, index lists, None and ... (valid ones
    for a (2, 3, 4, 5) tensor only)."""
    rng = np.random.default_rng(seed)
    pool = [0, -1, 1, S, slice(1, None), slice(None, None, -1), [0, 1], [[1], [0]], None, ...]
    found = []
    while len(found) < count:
        index = tuple(pool[i] for i in rng.integers(0, len(pool), rng.integers(1, 5)))
        if sum(p is Ellipsis for p in index) > 1:
            continue
        try:
            grid()[index]
        except IndexError:
            continue
        found.append(index)
    return found


def test_random_mixed_indices_follow_the_pytorch_rule():
    for index in random_indices(400):
        expected = pytorch_getitem(grid(), index)
        out = Tensor(grid())[index]
        assert out.shape == expected.shape, index
        np.testing.assert_array_equal(out.data, expected)


@pytest.mark.parity
def test_indexing_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity needs torch")
    indices = [index for index, _ in PATTERNS.values()] + random_indices(400, seed=1)
    for index in indices:
        as_torch = tuple(
            torch.as_tensor(np.asarray(p)) if isinstance(p, (list, np.ndarray)) else p
            for p in index
        )
        if any(isinstance(p, slice) and (p.step or 1) < 0 for p in index):
            continue  # PyTorch has no negative steps
        theirs = torch.from_numpy(grid())[as_torch].numpy()
        ours = Tensor(grid())[index]
        assert ours.shape == theirs.shape, index
        np.testing.assert_array_equal(ours.data, theirs)
        values = np.asarray(np.arange(theirs.size, dtype=np.float32).reshape(theirs.shape) + 1)
        target = torch.from_numpy(grid())
        target[as_torch] = torch.from_numpy(values)
        x = Tensor(grid())
        x[index] = values
        np.testing.assert_array_equal(x.data, target.numpy())


def test_plain_numpy_cases_are_unchanged():
    """Where the two agree, TinyTorch is NumPy: basic slicing is a view."""
    a = grid()
    for index in itertools.product([0, S, L], repeat=2):
        np.testing.assert_array_equal(Tensor(a)[index].data, a[index])
    view = Tensor(a)[0, 1:]
    assert np.shares_memory(view.data, a)
