"""The attention softmax kernel equals the reference attention Ops (the oracle), forward and
backward, causal or not, with dropout, rotary embeddings and broadcast batch dims; with a mask
(or without numba) the reference's softmax runs."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.kernels as kernels
from tinytorch.attention.ops import (
    MultiHeadAttentionOp,
    PackedSelfAttentionOp,
    ScaledDotProductAttentionOp,
    attention_probs,
    causal_mask,
)
from tinytorch.kernels.attention import fast_probs, softmax_probs
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor, vjp
from tinytorch.tensor import apply as _apply

TOL = {np.float64: 1e-10, np.float32: 2e-5}


def apply(op, *arrays):
    """`apply` on Tensors that keep the arrays' dtypes (float64 stays float64)."""
    return _apply(op, *(Tensor(a, dtype=a.dtype) for a in arrays))


def both(make, arrays, grad, needs):
    """(out, grads, op) of the reference and of the "fast" set, each on a fresh Op."""
    results = []
    for name in ("reference", "fast"):
        op = make()
        with kernels.using(name):
            out = apply(op, *arrays).data
        results.append((out, vjp(op, grad, needs), op))
    return results


def check(results, dtype) -> None:
    (ref_out, ref_grads, _), (out, grads, _) = results
    tol = TOL[dtype]
    assert out.dtype == ref_out.dtype and out.shape == ref_out.shape
    assert_close(out, ref_out, rtol=tol, atol=tol)
    for mine, theirs in zip(grads, ref_grads, strict=True):
        if theirs is None:
            assert mine is None
            continue
        assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
        assert_close(mine, theirs, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize(
    "shapes",
    [
        ((2, 3, 7, 8), (2, 3, 7, 8), (2, 3, 7, 5)),  # self-attention, Ev != E
        ((2, 3, 4, 8), (2, 3, 9, 8), (2, 3, 9, 8)),  # L < S (causal: top-left aligned)
        ((2, 1, 9, 8), (2, 1, 4, 8), (2, 1, 4, 8)),  # L > S: later rows see every key
        ((5, 8), (6, 8), (3, 6, 4)),  # v's batch dim broadcasts over q and k
    ],
)
def test_scaled_dot_product_attention(shapes, is_causal, dtype, engine) -> None:
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s).astype(dtype) * 2 for s in shapes)
    make = lambda: ScaledDotProductAttentionOp(is_causal=is_causal)  # noqa: E731
    out_shape = np.matmul(np.matmul(q, k.swapaxes(-1, -2)), v).shape
    grad = rng.standard_normal(out_shape).astype(dtype)
    results = both(make, (q, k, v), grad, (True, True, True))
    assert results[1][2]._kernel is kernels.FAST[ScaledDotProductAttentionOp]
    check(results, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_multi_head_attention_with_dropout_and_scale(dtype, engine) -> None:
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((2, 6, 12)).astype(dtype) for _ in range(3))
    grad = rng.standard_normal((2, 6, 12)).astype(dtype)

    def make():  # the same dropout draws on both sides
        return MultiHeadAttentionOp(
            3, is_causal=True, dropout_p=0.3, scale=0.7, rng=np.random.default_rng(5)
        )

    check(both(make, (q, k, v), grad, (True, True, True)), dtype)


@pytest.mark.parametrize("rotary", [False, True])
def test_packed_self_attention(rotary: bool, engine) -> None:
    rng = np.random.default_rng(2)
    b, t, e, h = 2, 7, 12, 2
    qkv = rng.standard_normal((b, t, 3 * e))
    grad = rng.standard_normal((b, t, e))
    tables = None
    if rotary:
        angles = rng.standard_normal((t, e // h))
        tables = (np.cos(angles), np.sin(angles))

    def make():
        return PackedSelfAttentionOp(h, rotary=tables, is_causal=True)

    check(both(make, (qkv,), grad, (True,)), np.float64)


def test_a_mask_runs_the_reference_softmax() -> None:
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 5, 4)) for _ in range(3))
    grad = rng.standard_normal((2, 5, 4))
    for mask in (causal_mask(5), rng.standard_normal((5, 5))):
        results = both(ScaledDotProductAttentionOp, (q, k, v, mask), grad, (True,) * 4)
        check(results, np.float64)
        reference = attention_probs(q, k, 0.5, mask)
        np.testing.assert_array_equal(fast_probs(q, k, 0.5, mask), reference)  # its own code


def test_softmax_probs_rows_sum_to_one_and_respect_causality() -> None:
    """(Only where numba is installed: `softmax_probs` is the compiled path.)"""
    rng = np.random.default_rng(4)
    q, k = rng.standard_normal((3, 6, 4)) * 5, rng.standard_normal((3, 8, 4)) * 5
    with kernels.use_numba(True):
        probs = softmax_probs(q, k, 0.5, True)
    assert_close(probs.sum(-1), np.ones((3, 6)), rtol=1e-12, atol=1e-12)
    assert (probs[:, np.triu_indices(6, 1, 8)[0], np.triu_indices(6, 1, 8)[1]] == 0).all()
    scores = np.matmul(q, k.swapaxes(-1, -2)) * 0.5
    scores[:, ~causal_mask(6, 8)] = -np.inf
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    assert_close(probs, expected / expected.sum(-1, keepdims=True), rtol=1e-12, atol=1e-12)


if not kernels.HAVE_NUMBA:
    del test_softmax_probs_rows_sum_to_one_and_respect_causality


def test_the_kernel_leaves_no_reference_cycle() -> None:
    """The Op gets plain functions, not methods bound to itself: it is freed as soon as the
    last reference goes (with what it saved), without waiting for the cycle collector."""
    import weakref

    rng = np.random.default_rng(5)
    q, k, v = (Tensor(rng.standard_normal((2, 5, 4))) for _ in range(3))
    op = ScaledDotProductAttentionOp(is_causal=True)
    with kernels.using("fast"):
        _apply(op, q, k, v)
    assert op.probs_fn is fast_probs or not kernels.numba_enabled()
    gone = weakref.ref(op)
    del op
    assert gone() is None
