"""Every differentiable op's forward and backward, driven by one table of reference functions.

Each row names an expression in TinyTorch, its NumPy reference and (for parity runs) its PyTorch
spelling, with the inputs it is checked on. For every row:

- the forward matches NumPy in float64 (and keeps float64, and gives float32 for float32);
- the backward (each Op's own ``backward``, reached through ``vjp``) matches central finite
  differences in float64 (``tinytorch.setup.testing.gradcheck``, a random ``grad_output``);
- with PyTorch installed (``-m parity``), forward and backward match ``torch`` in float64.

Module 06 is not needed: a small tape installed as the dispatch recorder lists the ops an
expression ran, and `backprop` walks it in reverse, calling `vjp` on each op, as autograd will.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Op, Tensor, vjp
from tinytorch.tensor.dispatch import hooks

# --------------------------------------------------------------------- a tape, without module 06


def backprop(
    fn: Callable[..., Tensor], arrays: list[np.ndarray], grad_output: np.ndarray
) -> list[np.ndarray]:
    """d(sum(fn(*x) * grad_output))/dx for each input array: reverse mode over a tape.

    The ops ``fn`` runs are recorded in execution order (a topological order), so walking the
    tape backwards visits each op after every op that used its output.
    """
    tape: list[tuple[Op, tuple[Tensor, ...], Tensor]] = []
    saved = hooks.recorder, hooks.backward
    hooks.recorder = lambda op, inputs, out: tape.append((op, inputs, out))
    try:
        leaves = [Tensor(a, dtype=a.dtype) for a in arrays]
        out = fn(*leaves)
    finally:
        hooks.recorder, hooks.backward = saved
    assert out.shape == np.shape(grad_output)
    grads: dict[int, np.ndarray] = {id(out): np.asarray(grad_output, dtype=out.dtype)}
    for op, inputs, result in reversed(tape):
        grad = grads.pop(id(result), None)
        if grad is None:
            continue
        needs = tuple(t.dtype.kind == "f" for t in inputs)
        for t, g in zip(inputs, vjp(op, grad, needs), strict=True):
            if g is not None:
                assert np.shape(g) == t.shape, f"{op.name}: gradient shape {np.shape(g)}"
                grads[id(t)] = grads[id(t)] + g if id(t) in grads else g
    return [grads.get(id(leaf), np.zeros(leaf.shape)) for leaf in leaves]


# --------------------------------------------------------------------- the reference table
rng = np.random.default_rng(20261129)


def uniform(*shape: int, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return rng.uniform(low, high, shape)


def away_from_zero(*shape: int) -> np.ndarray:
    a = uniform(*shape, low=0.3, high=2.0)
    return a * rng.choice([-1.0, 1.0], shape)


@dataclass(frozen=True)
class Case:
    """``tiny(*tensors)``, its NumPy reference, its PyTorch spelling ``torch(T, *tensors)``
    (``T`` the torch module), and the float64 inputs."""

    tiny: Callable[..., Tensor]
    numpy: Callable[..., Any]
    torch: Callable[..., Any] | None
    inputs: list[np.ndarray] = field(default_factory=list)


def weighted(parts: Any, cat: Callable[..., Any], dim: int) -> Any:
    """Pieces joined again, each scaled differently, so a gradient routed to the wrong piece
    shows."""
    return cat([p * (i + 1) for i, p in enumerate(parts)], dim)


IDX_GATHER = np.array([[2, 0, 2], [1, 1, 0]])  # for a (3, 4) tensor along dim 1: repeats
IDX_SCATTER = np.array([[0, 2, 0], [2, 2, 1]])  # for dim 0 of (3, 4), src (2, 5)
IDX_SELECT = np.array([3, 0, 3])
MASK = np.array([True, False, False, True])
MASK_2D = np.array([[True, False, True, False], [False, False, True, True], [True] * 4])


def np_prod_zeros() -> np.ndarray:
    """(3, 4) with no zero in row 0, one in row 1, two in row 2."""
    a = away_from_zero(3, 4)
    a[1, 2] = 0.0
    a[2, [0, 3]] = 0.0
    return a


def erf_reference(a: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(a)


def logsumexp_reference(a: np.ndarray, axis: Any, keepdims: bool = False) -> np.ndarray:
    return np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))


def pad_reference(a: np.ndarray, widths: list[tuple[int, int]], mode: str, **kw: Any) -> Any:
    return np.pad(a, widths, mode=mode, **kw)


def np_split(a: np.ndarray, sizes: list[int], axis: int) -> list[np.ndarray]:
    return np.split(a, np.cumsum(sizes)[:-1], axis=axis)


def along(index: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    grids = list(np.ogrid[tuple(slice(n) for n in index.shape)])
    grids[axis] = index
    return tuple(grids)


def np_scatter_add(a: np.ndarray, index: np.ndarray, src: np.ndarray, axis: int) -> np.ndarray:
    out = a.copy()
    np.add.at(out, along(index, axis), src[tuple(slice(n) for n in index.shape)])
    return out


def np_prod_grad_free(a: np.ndarray, axis: Any) -> np.ndarray:
    return np.prod(a, axis=axis)


CASES: dict[str, Case] = {
    # ------------------------------------------------ elementwise (module 02's first ops)
    "add (broadcast)": Case(
        lambda a, b: a + b, np.add, lambda T, a, b: a + b, [uniform(3, 4), uniform(4)]
    ),
    "sub (broadcast)": Case(
        lambda a, b: a - b, np.subtract, lambda T, a, b: a - b, [uniform(2, 1, 3), uniform(4, 1)]
    ),
    "mul (broadcast)": Case(
        lambda a, b: a * b, np.multiply, lambda T, a, b: a * b, [uniform(3, 1), uniform(1, 4)]
    ),
    "div (broadcast)": Case(
        lambda a, b: a / b, np.divide, lambda T, a, b: a / b, [uniform(3, 4), away_from_zero(4)]
    ),
    "pow": Case(
        lambda a, b: a**b,
        np.power,
        lambda T, a, b: a**b,
        [uniform(3, 4, low=0.5, high=2), uniform(3, 1)],
    ),
    "maximum": Case(tt.maximum, np.maximum, lambda T, a, b: T.maximum(a, b), [uniform(3, 4)] * 2),
    "minimum": Case(
        lambda a, b: a.minimum(b), np.minimum, lambda T, a, b: T.minimum(a, b), [uniform(3, 4)] * 2
    ),
    "remainder": Case(
        lambda a, b: a % b,
        np.remainder,
        lambda T, a, b: T.remainder(a, b),
        [uniform(3, 4, low=0.1, high=5), uniform(4, low=0.7, high=1.9)],
    ),
    "matmul": Case(
        lambda a, b: a @ b, np.matmul, lambda T, a, b: a @ b, [uniform(2, 3, 4), uniform(4, 5)]
    ),
    "matmul (vector @ matrix)": Case(
        lambda a, b: a @ b, np.matmul, lambda T, a, b: a @ b, [uniform(4), uniform(2, 4, 3)]
    ),
    "matmul (vector @ vector)": Case(
        lambda a, b: a @ b, np.matmul, lambda T, a, b: a @ b, [uniform(4), uniform(4)]
    ),
    "neg": Case(lambda a: -a, np.negative, lambda T, a: -a, [uniform(3, 4)]),
    "exp": Case(Tensor.exp, np.exp, lambda T, a: a.exp(), [uniform(3, 4)]),
    "log": Case(Tensor.log, np.log, lambda T, a: a.log(), [uniform(3, 4, low=0.2)]),
    "sqrt": Case(Tensor.sqrt, np.sqrt, lambda T, a: a.sqrt(), [uniform(3, 4, low=0.2)]),
    "abs": Case(Tensor.abs, np.abs, lambda T, a: a.abs(), [away_from_zero(3, 4)]),
    "clip": Case(
        lambda a: a.clip(-1.0, 0.5),
        lambda a: np.clip(a, -1.0, 0.5),
        lambda T, a: a.clamp(-1.0, 0.5),
        [uniform(3, 4)],
    ),
    "where": Case(
        lambda a, b: tt.where(Tensor(MASK), a, b),
        lambda a, b: np.where(MASK, a, b),
        lambda T, a, b: T.where(T.as_tensor(MASK), a, b),
        [uniform(3, 4), uniform(3, 1)],
    ),
    # ------------------------------------------------ new elementwise math
    "sin": Case(Tensor.sin, np.sin, lambda T, a: a.sin(), [uniform(3, 4, low=-4, high=4)]),
    "cos": Case(tt.cos, np.cos, lambda T, a: T.cos(a), [uniform(3, 4, low=-4, high=4)]),
    "rsqrt": Case(
        Tensor.rsqrt, lambda a: 1 / np.sqrt(a), lambda T, a: a.rsqrt(), [uniform(3, 4, low=0.3)]
    ),
    "log2": Case(tt.log2, np.log2, lambda T, a: T.log2(a), [uniform(3, 4, low=0.3)]),
    "exp2": Case(Tensor.exp2, np.exp2, lambda T, a: a.exp2(), [uniform(3, 4)]),
    "sign (gradient 0)": Case(Tensor.sign, np.sign, lambda T, a: a.sign(), [away_from_zero(3, 4)]),
    "erf": Case(tt.erf, erf_reference, lambda T, a: T.erf(a), [uniform(3, 4, low=-3, high=3)]),
    # ------------------------------------------------ masking and triangles
    "masked_fill (broadcast mask)": Case(
        lambda a: a.masked_fill(Tensor(MASK), -1.5),
        lambda a: np.where(MASK, -1.5, a),
        lambda T, a: a.masked_fill(T.as_tensor(MASK), -1.5),
        [uniform(3, 4)],
    ),
    "masked_fill (0-d tensor value)": Case(
        lambda a, v: tt.masked_fill(a, Tensor(MASK_2D), v),
        lambda a, v: np.where(MASK_2D, v, a),
        lambda T, a, v: a.masked_fill(T.as_tensor(MASK_2D), v),
        [uniform(3, 4), np.array(0.7)],
    ),
    "tril": Case(
        lambda a: a.tril(-1),
        lambda a: np.tril(a, -1),
        lambda T, a: a.tril(-1),
        [uniform(2, 3, 4)],
    ),
    "triu": Case(tt.triu, np.triu, lambda T, a: T.triu(a), [uniform(4, 3)]),
    # ------------------------------------------------ reductions and scans
    "sum": Case(
        lambda a: a.sum(dim=(0, 2)),
        lambda a: a.sum(axis=(0, 2)),
        lambda T, a: a.sum(dim=(0, 2)),
        [uniform(2, 3, 4)],
    ),
    "mean": Case(
        lambda a: a.mean(dim=-1, keepdim=True),
        lambda a: a.mean(axis=-1, keepdims=True),
        lambda T, a: a.mean(dim=-1, keepdim=True),
        [uniform(2, 3, 4)],
    ),
    "var": Case(
        lambda a: a.var(dim=1),
        lambda a: a.var(axis=1, ddof=1),
        lambda T, a: a.var(1),
        [uniform(3, 4)],
    ),
    "std": Case(lambda a: a.std(), lambda a: a.std(ddof=1), lambda T, a: a.std(), [uniform(3, 4)]),
    "amax": Case(
        lambda a: a.amax(dim=(0, 1)),
        lambda a: a.max(axis=(0, 1)),
        lambda T, a: a.amax(dim=(0, 1)),
        [uniform(3, 4, 2)],
    ),
    "amin": Case(
        lambda a: a.amin(dim=0, keepdim=True),
        lambda a: a.min(axis=0, keepdims=True),
        lambda T, a: a.amin(dim=0, keepdim=True),
        [uniform(3, 4)],
    ),
    "max (all)": Case(Tensor.max, np.max, lambda T, a: a.max(), [uniform(3, 4)]),
    "max(dim).values": Case(
        lambda a: a.max(dim=1).values,
        lambda a: a.max(axis=1),
        lambda T, a: a.max(dim=1).values,
        [uniform(3, 4)],
    ),
    "min(dim, keepdim)[0]": Case(
        lambda a: a.min(0, keepdim=True)[0],
        lambda a: a.min(axis=0, keepdims=True),
        lambda T, a: a.min(0, keepdim=True)[0],
        [uniform(3, 4)],
    ),
    "prod (all, zeros)": Case(Tensor.prod, np.prod, lambda T, a: a.prod(), [np_prod_zeros()]),
    "prod (dim, zeros)": Case(
        lambda a: tt.prod(a, 1),
        lambda a: np.prod(a, axis=1),
        lambda T, a: T.prod(a, 1),
        [np_prod_zeros()],
    ),
    "prod (dim 0, keepdim)": Case(
        lambda a: a.prod(0, keepdim=True),
        lambda a: np.prod(a, axis=0, keepdims=True),
        lambda T, a: a.prod(0, keepdim=True),
        [np_prod_zeros().T.copy()],
    ),
    "cumsum": Case(
        lambda a: a.cumsum(1),
        lambda a: np.cumsum(a, axis=1),
        lambda T, a: a.cumsum(1),
        [uniform(2, 5, 3)],
    ),
    "cumsum (last dim)": Case(
        lambda a: tt.cumsum(a, -1),
        lambda a: np.cumsum(a, axis=-1),
        lambda T, a: T.cumsum(a, -1),
        [uniform(3, 4)],
    ),
    "logsumexp": Case(
        lambda a: a.logsumexp(1),
        lambda a: logsumexp_reference(a, 1),
        lambda T, a: a.logsumexp(1),
        [uniform(3, 4, low=-5, high=5)],
    ),
    "logsumexp (dims, keepdim)": Case(
        lambda a: tt.logsumexp(a, (0, 2), keepdim=True),
        lambda a: logsumexp_reference(a, (0, 2), keepdims=True),
        lambda T, a: T.logsumexp(a, (0, 2), keepdim=True),
        [uniform(2, 3, 4, low=-5, high=5)],
    ),
    # ------------------------------------------------ shapes, views, joins
    "reshape": Case(
        lambda a: a.reshape(4, -1) * 2,
        lambda a: a.reshape(4, -1) * 2,
        lambda T, a: a.reshape(4, -1) * 2,
        [uniform(2, 6)],
    ),
    "permute": Case(
        lambda a: a.permute(2, 0, 1) * 2,
        lambda a: a.transpose(2, 0, 1) * 2,
        lambda T, a: a.permute(2, 0, 1) * 2,
        [uniform(2, 3, 4)],
    ),
    "expand": Case(
        lambda a: a.expand(2, -1, 4) * 3,
        lambda a: np.broadcast_to(a, (2, 3, 4)) * 3,
        lambda T, a: a.expand(2, -1, 4) * 3,
        [uniform(3, 1)],
    ),
    "getitem (slices)": Case(
        lambda a: a[1:, ::2] * 2,
        lambda a: a[1:, ::2] * 2,
        lambda T, a: a[1:, ::2] * 2,
        [uniform(3, 4)],
    ),
    "getitem (repeated index)": Case(
        lambda a: a[[0, 2, 0]],
        lambda a: a[[0, 2, 0]],
        lambda T, a: a[[0, 2, 0]],
        [uniform(3, 4)],
    ),
    "getitem (int among arrays: PyTorch's order)": Case(
        lambda a: a[0, :, [3, 1, 3]],
        lambda a: a[0][:, [3, 1, 3]],
        lambda T, a: a[0, :, [3, 1, 3]],
        [uniform(2, 3, 4)],
    ),
    "getitem (bool mask)": Case(
        lambda a: a[Tensor(MASK_2D)],
        lambda a: a[MASK_2D],
        lambda T, a: a[T.as_tensor(MASK_2D)],
        [uniform(3, 4)],
    ),
    "cat": Case(
        lambda a, b: tt.cat([a, b, a], dim=1),
        lambda a, b: np.concatenate([a, b, a], axis=1),
        lambda T, a, b: T.cat([a, b, a], dim=1),
        [uniform(2, 3), uniform(2, 1)],
    ),
    "stack": Case(
        lambda a, b: tt.stack([a, b], dim=-1),
        lambda a, b: np.stack([a, b], axis=-1),
        lambda T, a, b: T.stack([a, b], dim=-1),
        [uniform(2, 3), uniform(2, 3)],
    ),
    "clone": Case(
        lambda a: a.T.clone(), lambda a: a.T.copy(), lambda T, a: a.T.clone(), [uniform(2, 3)]
    ),
    "split (size)": Case(
        lambda a: weighted(a.split(2, dim=1), tt.cat, 1),
        lambda a: weighted(np_split(a, [2, 2, 1], 1), np.concatenate, 1),
        lambda T, a: weighted(a.split(2, dim=1), T.cat, 1),
        [uniform(3, 5)],
    ),
    "split (sections)": Case(
        lambda a: weighted(tt.split(a, [1, 3, 1], -1), tt.cat, -1),
        lambda a: weighted(np_split(a, [1, 3, 1], -1), np.concatenate, -1),
        lambda T, a: weighted(T.split(a, [1, 3, 1], -1), T.cat, -1),
        [uniform(2, 5)],
    ),
    "chunk": Case(
        lambda a: weighted(a.chunk(3), tt.cat, 0),
        lambda a: weighted(np_split(a, [2, 2, 1], 0), np.concatenate, 0),
        lambda T, a: weighted(a.chunk(3), T.cat, 0),
        [uniform(5, 2)],
    ),
    "flip": Case(
        lambda a: a.flip(0, 2),
        lambda a: np.flip(a, (0, 2)),
        lambda T, a: a.flip(0, 2),
        [uniform(2, 3, 4)],
    ),
    "roll (dims)": Case(
        lambda a: a.roll((1, -2), (0, 1)),
        lambda a: np.roll(a, (1, -2), axis=(0, 1)),
        lambda T, a: a.roll((1, -2), (0, 1)),
        [uniform(3, 4)],
    ),
    "roll (flattened)": Case(
        lambda a: tt.roll(a, 5),
        lambda a: np.roll(a, 5),
        lambda T, a: T.roll(a, 5),
        [uniform(3, 4)],
    ),
    "repeat": Case(
        lambda a: a.repeat(2, 1, 3),
        lambda a: np.tile(a, (2, 1, 3)),
        lambda T, a: a.repeat(2, 1, 3),
        [uniform(2, 3)],
    ),
    "pad (constant)": Case(
        lambda a: tt.pad(a, (1, 2), value=0.5),
        lambda a: np.pad(a, [(0, 0), (1, 2)], constant_values=0.5),
        lambda T, a: T.nn.functional.pad(a, (1, 2), value=0.5),
        [uniform(2, 3)],
    ),
    "pad (constant, negative crops)": Case(
        lambda a: tt.pad(a, (1, -1, -1, 2)),
        lambda a: np.pad(a[1:, :-1], [(0, 2), (1, 0)]),
        lambda T, a: T.nn.functional.pad(a, (1, -1, -1, 2)),
        [uniform(3, 4)],
    ),
    "pad (reflect)": Case(
        lambda a: tt.pad(a, (2, 1), mode="reflect"),
        lambda a: np.pad(a, [(0, 0), (0, 0), (2, 1)], mode="reflect"),
        lambda T, a: T.nn.functional.pad(a, (2, 1), mode="reflect"),
        [uniform(1, 2, 4)],
    ),
    "pad (replicate, 2 dims)": Case(
        lambda a: tt.pad(a, (1, 3, 2, 0), mode="replicate"),
        lambda a: np.pad(a, [(0, 0), (2, 0), (1, 3)], mode="edge"),
        lambda T, a: T.nn.functional.pad(a, (1, 3, 2, 0), mode="replicate"),
        [uniform(2, 3, 4)],
    ),
    "pad (circular)": Case(
        lambda a: tt.pad(a, (1, 2), mode="circular"),
        lambda a: np.pad(a, [(0, 0), (0, 0), (1, 2)], mode="wrap"),
        lambda T, a: T.nn.functional.pad(a, (1, 2), mode="circular"),
        [uniform(1, 2, 4)],
    ),
    # ------------------------------------------------ indexing with index tensors
    "gather": Case(
        lambda a: a.gather(1, Tensor(IDX_GATHER)),
        lambda a: a[:2][along(IDX_GATHER, 1)],
        lambda T, a: a.gather(1, T.as_tensor(IDX_GATHER)),
        [uniform(3, 4)],
    ),
    "scatter_add": Case(
        lambda a, s: a.scatter_add(0, Tensor(IDX_SCATTER), s),
        lambda a, s: np_scatter_add(a, IDX_SCATTER, s, 0),
        lambda T, a, s: a.scatter_add(0, T.as_tensor(IDX_SCATTER), s),
        [uniform(3, 4), uniform(2, 3)],
    ),
    "scatter_add (src larger than index)": Case(
        lambda a, s: a.scatter_add(0, Tensor(IDX_SCATTER), s),
        lambda a, s: np_scatter_add(a, IDX_SCATTER, s, 0),
        None,  # torch 2.13's backward raises here (a gradient of index's shape for src)
        [uniform(3, 4), uniform(2, 5)],
    ),
    "scatter_add (dim 1)": Case(
        lambda a, s: tt.scatter_add(a, 1, Tensor(IDX_GATHER), s),
        lambda a, s: np_scatter_add(a, IDX_GATHER, s, 1),
        lambda T, a, s: T.scatter_add(a, 1, T.as_tensor(IDX_GATHER), s),
        [uniform(3, 4), uniform(2, 3)],
    ),
    "index_select": Case(
        lambda a: a.index_select(1, Tensor(IDX_SELECT)),
        lambda a: a[:, IDX_SELECT],
        lambda T, a: a.index_select(1, T.as_tensor(IDX_SELECT)),
        [uniform(3, 4)],
    ),
    "index_select (function, dim 0)": Case(
        lambda a: tt.index_select(a, 0, Tensor([2, 2])),
        lambda a: a[[2, 2]],
        lambda T, a: T.index_select(a, 0, T.tensor([2, 2])),
        [uniform(3, 4)],
    ),
    # ------------------------------------------------ einsum
    "einsum matmul": Case(
        lambda a, b: tt.einsum("ij,jk->ik", a, b),
        lambda a, b: a @ b,
        lambda T, a, b: T.einsum("ij,jk->ik", a, b),
        [uniform(2, 3), uniform(3, 4)],
    ),
    "einsum batched matmul": Case(
        lambda a, b: tt.einsum("bij,bjk->bik", a, b),
        lambda a, b: a @ b,
        lambda T, a, b: T.einsum("bij,bjk->bik", a, b),
        [uniform(2, 2, 3), uniform(2, 3, 4)],
    ),
    "einsum trace-like diagonal": Case(
        lambda a: tt.einsum("ii->i", a),
        np.diagonal,
        lambda T, a: T.einsum("ii->i", a),
        [uniform(3, 3)],
    ),
    "einsum trace (implicit)": Case(
        lambda a: tt.einsum("ii", a),
        np.trace,
        lambda T, a: T.einsum("ii", a),
        [uniform(3, 3)],
    ),
    "einsum outer product": Case(
        lambda a, b: tt.einsum("i,j->ij", a, b),
        np.outer,
        lambda T, a, b: T.einsum("i,j->ij", a, b),
        [uniform(3), uniform(4)],
    ),
    "einsum ellipsis transpose": Case(
        lambda a: tt.einsum("...ij->...ji", a),
        lambda a: np.swapaxes(a, -1, -2),
        lambda T, a: T.einsum("...ij->...ji", a),
        [uniform(2, 3, 4)],
    ),
    "einsum broadcast size-1 dims": Case(
        lambda a, b: tt.einsum("ij,ij->i", a, b),
        lambda a, b: (a * b).sum(1),
        lambda T, a, b: T.einsum("ij,ij->i", a, b),
        [uniform(3, 1), uniform(3, 4)],
    ),
    "einsum sum out a dim of one operand": Case(
        lambda a, b: tt.einsum("ij,k->ik", a, b),
        lambda a, b: a.sum(1, keepdims=True) * b,
        lambda T, a, b: T.einsum("ij,k->ik", a, b),
        [uniform(3, 2), uniform(4)],
    ),
    "einsum three operands (list)": Case(
        lambda a, b, c: tt.einsum("bn,anm,bm->ba", [a, b, c]),
        lambda a, b, c: np.einsum("bn,anm,bm->ba", a, b, c),
        lambda T, a, b, c: T.einsum("bn,anm,bm->ba", [a, b, c]),
        [uniform(2, 3), uniform(4, 3, 2), uniform(2, 2)],
    ),
    "einsum ellipsis broadcast": Case(
        lambda a, b: tt.einsum("...j,...j->...", a, b),
        lambda a, b: (a * b).sum(-1),
        lambda T, a, b: T.einsum("...j,...j->...", a, b),
        [uniform(2, 1, 3), uniform(4, 3)],
    ),
}


def run_forward(case: Case, dtype: Any = np.float64) -> tuple[Tensor, np.ndarray]:
    tensors = [Tensor(a, dtype=dtype) for a in case.inputs]
    with np.errstate(all="raise"):
        expected = np.asarray(case.numpy(*case.inputs))
    return case.tiny(*tensors), expected


@pytest.mark.parametrize("name", CASES)
def test_forward_matches_numpy_and_keeps_the_dtype(name):
    case = CASES[name]
    out, expected = run_forward(case)
    assert isinstance(out, Tensor) and out.dtype == np.float64
    assert_close(out, expected, rtol=1e-12, atol=1e-12)
    out32, _ = run_forward(case, np.float32)
    assert out32.dtype == np.float32
    assert_close(out32, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", CASES)
def test_backward_matches_finite_differences(name):
    case = CASES[name]

    def forward(*arrays: np.ndarray) -> np.ndarray:
        return case.tiny(*(Tensor(a, dtype=np.float64) for a in arrays)).data

    def backward(*arrays_and_grad: np.ndarray) -> list[np.ndarray]:
        *arrays, grad_output = arrays_and_grad
        grads = backprop(case.tiny, list(arrays), grad_output)
        assert all(g.dtype == np.float64 for g in grads)
        return grads

    gradcheck(forward, case.inputs, backward, rtol=1e-6, atol=1e-8)


def test_astype_sends_the_gradient_back_in_the_input_dtype():
    x = Tensor(np.array([1.0, 2.0]), dtype=np.float64)
    op = tt.ops.Astype(np.dtype(np.float32))
    out = tt.apply(op, x)
    assert out.dtype == np.float32
    (grad,) = vjp(op, np.array([0.5, 2.0], dtype=np.float32), (True,))
    assert grad.dtype == np.float64 and grad.tolist() == [0.5, 2.0]


def test_float32_gradients_keep_float32():
    case = CASES["logsumexp"]
    x = case.inputs[0].astype(np.float32)
    (grad,) = backprop(case.tiny, [x], np.ones(3, dtype=np.float32))
    assert grad.dtype == np.float32


@pytest.mark.parity
@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.torch is not None])
def test_forward_and_backward_match_pytorch(name):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity needs torch")
    case = CASES[name]
    assert case.torch is not None
    out, _ = run_forward(case)
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in case.inputs]
    theirs = case.torch(torch, *leaves)
    assert_close(out, theirs.detach().numpy(), rtol=1e-10, atol=1e-12, msg=f"{name}: forward")
    grad_output = np.random.default_rng(1).standard_normal(out.shape)
    ours = backprop(case.tiny, case.inputs, grad_output)
    theirs.backward(torch.from_numpy(grad_output))
    for i, (mine, leaf) in enumerate(zip(ours, leaves, strict=True)):
        expected = leaf.grad.numpy() if leaf.grad is not None else np.zeros(leaf.shape)
        assert_close(mine, expected, rtol=1e-10, atol=1e-12, msg=f"{name}: gradient {i}")
