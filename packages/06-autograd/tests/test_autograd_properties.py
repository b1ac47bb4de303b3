"""Property tests: random compositions of ops on random broadcastable shapes match finite
differences within 1e-6 relative.

Values stay in safe domains: inputs are drawn from [0.5, 2], every step maps positive values to
positive values and its result is squashed smoothly back into (0.5, 2) (so log, sqrt and powers
are defined and nothing overflows however the steps are chained), and a step with a kink
(maximum, max, abs, clip) that lands within ``MARGIN`` of its kink on the drawn inputs is
replaced, once and for all, by a smooth step: finite differences are meaningless across a kink.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from tinytorch.autograd import unbroadcast
from tinytorch.setup.strategies import arrays, broadcastable_shapes, non_contiguous_arrays
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor, cat, where

RTOL, ATOL = 1e-6, 1e-7
MARGIN = 1e-4  # a kink closer than this to the inputs would fool finite differences
PROPERTIES = settings(max_examples=80, deadline=None, database=None)
COMPOSITIONS = settings(max_examples=200, deadline=None, database=None)

Function = Callable[[Tensor, Tensor], Tensor]
Margin = Callable[[np.ndarray, np.ndarray], float]


def top_two_gap(h: np.ndarray, y: np.ndarray) -> float:
    """Smallest gap between the largest and second-largest value along the last dim."""
    if h.ndim == 0 or h.shape[-1] < 2:
        return np.inf
    top = np.sort(h, axis=-1)[..., -2:]
    return float((top[..., 1] - top[..., 0]).min())


@dataclass(frozen=True)
class Step:
    """``h, y -> new h`` (``y`` is the second input); kinked steps carry a margin and a
    smooth fallback."""

    name: str
    apply: Function
    margin: Margin | None = None
    fallback: Function | None = None

    def __repr__(self) -> str:
        return self.name


def last_dim(f: Callable[[Tensor], Tensor]) -> Function:
    """Apply ``f`` to tensors with at least one dim; 0-d tensors pass through."""
    return lambda h, y: f(h) if h.ndim else h


def cycle_dims(h: Tensor, back: bool = False) -> Tensor:
    """Move the first dim last (or, with ``back``, the last dim first): not its own inverse."""
    if h.ndim == 0:
        return h
    dims = list(range(h.ndim))
    return h.permute(dims[-1:] + dims[:-1] if back else dims[1:] + dims[:1])


STEPS = [
    Step("add", lambda h, y: h + y),
    Step("sub", lambda h, y: h - y + 3.0),
    Step("mul", lambda h, y: h * y),
    Step("div", lambda h, y: h / y),
    Step("rdiv", lambda h, y: y / h),
    Step("pow", lambda h, y: h**y),
    Step("pow-scalar", lambda h, y: h**1.5),
    Step("square", lambda h, y: h * h),
    Step("sqrt", lambda h, y: h.sqrt()),
    Step("log1p", lambda h, y: (h + 1.0).log()),
    Step("exp-neg", lambda h, y: (-h).exp()),
    Step("sum-last", last_dim(lambda h: h.sum(-1, keepdim=True))),
    Step("mean-first", last_dim(lambda h: h.mean(0, keepdim=True))),
    Step("mean-all", lambda h, y: h.mean()),
    Step("var-plus-one", last_dim(lambda h: h.var(-1, keepdim=True, correction=0) + 1.0)),
    Step("transpose-twice", lambda h, y: (h.T * 2.0).T),
    Step("sum-first-via-permute", lambda h, y: cycle_dims(cycle_dims(h).sum(-1, True), back=True)),
    Step("flip", last_dim(lambda h: h[..., ::-1])),
    Step("cat-and-slice", last_dim(lambda h: cat([h, h * 2.0], -1)[..., 1 : h.shape[-1] + 1])),
    Step("reshape-roundtrip", lambda h, y: h.reshape(-1).reshape(h.shape)),
    Step(
        "maximum",
        lambda h, y: h.maximum(y),
        lambda h, y: float(np.abs(h - y).min()),
        lambda h, y: h + y,
    ),
    Step(
        "minimum",
        lambda h, y: h.minimum(y),
        lambda h, y: float(np.abs(h - y).min()),
        lambda h, y: h * y,
    ),
    Step(
        "where-greater",
        lambda h, y: where(h > y, h, y),
        lambda h, y: float(np.abs(h - y).min()),
        lambda h, y: h + y,
    ),
    Step(
        "max-last",
        last_dim(lambda h: h.amax(-1, keepdim=True)),
        top_two_gap,
        last_dim(lambda h: h.mean(-1, keepdim=True)),
    ),
    Step(
        "abs",
        lambda h, y: (h - 1.0).abs() + 0.1,
        lambda h, y: float(np.abs(h - 1.0).min()),
        lambda h, y: (h - 1.0) * (h - 1.0) + 0.1,
    ),
    Step(
        "clip",
        lambda h, y: h.clip(0.8, 1.5),
        lambda h, y: float(np.minimum(np.abs(h - 0.8), np.abs(h - 1.5)).min()),
        lambda h, y: h,
    ),
]


def squash(h: Tensor) -> Tensor:
    """(0, inf) -> (0.5, 2), smooth and increasing."""
    return 0.5 + 1.5 * h / (h + 1.0)


class Composition:
    """The steps applied in order to ``(x, y)``, each result squashed into (0.5, 2).

    Which kinked steps fall back to their smooth version is decided on the first call (the
    unperturbed inputs) and then kept, so the function is the same smooth function for every
    finite-difference evaluation."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps
        self.smooth: list[bool] | None = None

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        deciding = self.smooth is None
        smooth = [] if deciding else self.smooth
        h = x
        for i, step in enumerate(self.steps):
            if deciding:
                near_kink = step.margin is not None and step.margin(h.data, y.data) < MARGIN
                smooth.append(near_kink)  # type: ignore[union-attr]
            h = squash(step.fallback(h, y) if smooth[i] else step.apply(h, y))  # type: ignore[index,misc]
        self.smooth = smooth
        return h

    def __repr__(self) -> str:
        return f"Composition({self.steps})"


@st.composite
def compositions(draw: st.DrawFn) -> tuple[Composition, np.ndarray, np.ndarray]:
    shape_x, shape_y = draw(broadcastable_shapes(2, max_dims=3, max_side=4))
    x = draw(arrays(shape_x, np.float64, 0.5, 2.0))
    y = draw(arrays(shape_y, np.float64, 0.5, 2.0))
    steps = draw(st.lists(st.sampled_from(STEPS), min_size=1, max_size=6))
    return Composition(steps), x, y


def autograd_grads(f: Function, x: np.ndarray, y: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
    """Gradients of ``sum(f(x, y) * g)``; zeros for an input ``f`` did not use."""
    leaves = [Tensor(a, dtype=np.float64, requires_grad=True) for a in (x, y)]
    f(*leaves).backward(g)
    return [leaf.grad.data if leaf.grad is not None else np.zeros(leaf.shape) for leaf in leaves]


@COMPOSITIONS
@given(compositions())
def test_random_compositions_match_finite_differences(
    case: tuple[Composition, np.ndarray, np.ndarray],
) -> None:
    f, x, y = case

    def forward(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = f(Tensor(a, dtype=np.float64), Tensor(b, dtype=np.float64))
        assert np.all(out.data > 0), "the steps must keep values positive"
        return out.data

    def backward(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        return autograd_grads(f, a, b, g)

    gradcheck(forward, [x, y], backward, rtol=RTOL, atol=ATOL)


@PROPERTIES
@given(broadcastable_shapes(2, max_dims=4))
def test_unbroadcast_gives_each_input_element_its_number_of_uses(
    shapes: tuple[tuple[int, ...], tuple[int, ...]],
) -> None:
    shape_a, shape_b = shapes
    out_shape = np.broadcast_shapes(shape_a, shape_b)
    uses = int(np.prod(out_shape)) // int(np.prod(shape_a))
    result = unbroadcast(np.ones(out_shape), shape_a)
    assert result.shape == shape_a
    assert_close(result, np.full(shape_a, float(uses)))


@PROPERTIES
@given(arrays_pair=st.data())
def test_binary_ops_broadcast_their_gradients_back(arrays_pair: st.DataObject) -> None:
    """a + b, a * b, a / b on broadcast shapes: exact gradients (sums over broadcast dims)."""
    shape_a, shape_b = arrays_pair.draw(broadcastable_shapes(2, max_dims=4))
    a = arrays_pair.draw(arrays(shape_a, np.float64, 0.5, 2.0))
    b = arrays_pair.draw(arrays(shape_b, np.float64, 0.5, 2.0))
    out_shape = np.broadcast_shapes(shape_a, shape_b)
    g = np.random.default_rng(0).standard_normal(out_shape)
    ta, tb = (Tensor(v, dtype=np.float64, requires_grad=True) for v in (a, b))
    (ta * tb + ta / tb - tb).backward(g)
    expected_a = g * b + g / b
    expected_b = g * a - g * a / b**2 - g
    assert_close(ta.grad, unbroadcast(expected_a, shape_a), rtol=1e-12, atol=1e-12)
    assert_close(tb.grad, unbroadcast(expected_b, shape_b), rtol=1e-12, atol=1e-12)


@PROPERTIES
@given(non_contiguous_arrays(dtype=np.float64, min_value=-2.0, max_value=2.0))
def test_non_contiguous_inputs_get_the_same_gradients_as_their_copies(view: np.ndarray) -> None:
    def grads(x: np.ndarray) -> np.ndarray:
        leaf = Tensor(x, dtype=np.float64, requires_grad=True)
        out = (leaf.exp() * leaf[..., ::-1]).sum(-1) + (leaf.T * leaf.T).mean()
        out.sum().backward()
        assert leaf.grad is not None and leaf.grad.shape == x.shape
        return leaf.grad.data

    assert not view.flags.c_contiguous or view.size == 1
    assert_close(grads(view), grads(np.ascontiguousarray(view)), rtol=1e-12, atol=1e-12)
