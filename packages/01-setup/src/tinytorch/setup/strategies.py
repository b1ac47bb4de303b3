"""Hypothesis strategies for property-based tests of array code.

Only this module imports ``hypothesis`` (install ``tinytorch-setup[test]``). The strategies
favour the cases where array code breaks: size-1 dimensions, 0-d arrays, inputs of different
ranks that broadcast, and non-contiguous views (transposed, strided, reversed).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "array_pairs_broadcastable",
    "arrays",
    "broadcastable_shapes",
    "non_contiguous_arrays",
    "shapes",
]

Shape = tuple[int, ...]


def shapes(
    min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5
) -> st.SearchStrategy[Shape]:
    """Shapes with ``min_dims..max_dims`` dimensions; size-1 sides are drawn about half the time."""
    side = st.integers(min_side, max_side)
    if min_side <= 1 <= max_side:
        side = st.one_of(st.just(1), side)
    return st.lists(side, min_size=min_dims, max_size=max_dims).map(tuple)


def _elements(dtype: np.dtype[Any], min_value: float, max_value: float) -> st.SearchStrategy[Any]:
    if np.issubdtype(dtype, np.floating):
        # Hypothesis needs bounds that the dtype represents exactly: round them inwards.
        low, high = dtype.type(min_value), dtype.type(max_value)
        if low < min_value:
            low = np.nextafter(low, dtype.type(np.inf))
        if high > max_value:
            high = np.nextafter(high, dtype.type(-np.inf))
        width: Literal[16, 32, 64] = (
            16 if dtype.itemsize == 2 else 32 if dtype.itemsize == 4 else 64
        )
        return st.floats(
            float(low),
            float(high),
            allow_nan=False,
            allow_infinity=False,
            allow_subnormal=False,
            width=width,
        )
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return st.integers(max(int(min_value), info.min), min(int(max_value), info.max))
    if dtype == np.bool_:
        return st.booleans()
    raise ValueError(f"arrays(): unsupported dtype {dtype}")


def arrays(
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    dtype: Any = np.float32,
    min_value: float = -10.0,
    max_value: float = 10.0,
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``dtype`` with finite values in ``[min_value, max_value]`` (no NaN, no inf).

    ``shape`` may be a fixed shape, a strategy for shapes, or None (any shape from ``shapes()``).
    """
    dt = np.dtype(dtype)
    return hnp.arrays(
        dt, shapes() if shape is None else shape, elements=_elements(dt, min_value, max_value)
    )


@st.composite
def broadcastable_shapes(
    draw: st.DrawFn, n: int = 2, min_dims: int = 0, max_dims: int = 4, max_side: int = 5
) -> tuple[Shape, ...]:
    """``n`` shapes that broadcast together (``np.broadcast_shapes(*shapes)`` succeeds).

    A target shape is drawn; each input takes a trailing part of it (so ranks differ, down to
    0-d) and replaces some of its sides by 1.
    """
    target = draw(shapes(min_dims, max_dims, 1, max_side))
    result = []
    for _ in range(n):
        rank = draw(st.integers(0, len(target)))
        tail = target[len(target) - rank :]
        result.append(tuple(1 if draw(st.booleans()) else side for side in tail))
    return tuple(result)


@st.composite
def array_pairs_broadcastable(
    draw: st.DrawFn, dtype: Any = np.float32, min_value: float = -10.0, max_value: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays whose shapes broadcast together, e.g. for testing ``a + b``."""
    shape_a, shape_b = draw(broadcastable_shapes(2))
    a = draw(arrays(shape_a, dtype, min_value, max_value))
    b = draw(arrays(shape_b, dtype, min_value, max_value))
    return a, b


@st.composite
def non_contiguous_arrays(
    draw: st.DrawFn,
    shape: Shape | None = None,
    dtype: Any = np.float32,
    min_value: float = -10.0,
    max_value: float = 10.0,
) -> np.ndarray:
    """Views that are not C-contiguous: transposed, strided (``[::2]``) or reversed (``[::-1]``).

    The result has ``shape`` (drawn when None, always with at least one side >= 2) and is
    guaranteed non-contiguous whenever that shape has a side >= 2 -- an array of one element
    is contiguous whatever its strides.
    """
    if shape is None:
        shape = draw(shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
        if max(shape) < 2:
            shape = (*shape[:-1], 2)
    big = [axis for axis, side in enumerate(shape) if side >= 2]
    kinds = ["strided", "reversed"] if big else ["any"]
    if len(big) >= 2:
        kinds.append("transposed")
    kind = draw(st.sampled_from(kinds))

    def base(base_shape: Shape) -> np.ndarray:
        return draw(arrays(base_shape, dtype, min_value, max_value))

    if kind == "transposed":  # the transpose of a C-ordered array of the reversed shape
        return base(shape[::-1]).T
    if kind == "any":
        return base(shape)
    axis = draw(st.sampled_from(big))
    index: list[slice] = [slice(None)] * len(shape)
    if kind == "strided":  # every second element along `axis` of an array twice as long
        index[axis] = slice(None, None, 2)
        return base(tuple(2 * s if i == axis else s for i, s in enumerate(shape)))[tuple(index)]
    index[axis] = slice(None, None, -1)  # reversed: negative stride along `axis`
    return base(shape)[tuple(index)]
