"""scaled_dot_product_attention: the fused Op against the Tensor-op reference (forward and
autograd backward, float64), finite differences, masks of every kind, fully masked rows,
dropout, broadcasting and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.attention import (
    ScaledDotProductAttentionOp,
    attention_probs,
    causal_mask,
    scaled_dot_product_attention,
    scaled_dot_product_attention_reference,
)
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def qkv(batch: tuple[int, ...] = (2, 3), length: int = 4, source: int = 5, e: int = 8, ev: int = 6):
    generator = rng(1)
    return (
        generator.standard_normal((*batch, length, e)),
        generator.standard_normal((*batch, source, e)),
        generator.standard_normal((*batch, source, ev)),
    )


def as_tensors(*arrays: np.ndarray) -> list[Tensor]:
    return [Tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]


MASKS: dict[str, Any] = {
    "none": {},
    "bool": {"attn_mask": rng(2).random((4, 5)) > 0.4},
    "bool broadcast (B,1,L,S)": {"attn_mask": rng(3).random((2, 1, 4, 5)) > 0.3},
    "float": {"attn_mask": rng(4).standard_normal((4, 5))},
    "float with -inf": {"attn_mask": np.where(rng(5).random((3, 4, 5)) > 0.3, 0.5, -np.inf)},
    "causal": {"is_causal": True},
    "scale": {"scale": 0.3},
}


@pytest.mark.parametrize("name", list(MASKS))
def test_forward_and_backward_equal_the_reference(name: str) -> None:
    kwargs = MASKS[name]
    arrays = qkv()
    fused, composed = as_tensors(*arrays), as_tensors(*arrays)
    out = scaled_dot_product_attention(*fused, **kwargs)
    ref = scaled_dot_product_attention_reference(*composed, **kwargs)
    assert out.shape == (2, 3, 4, 6) and out.dtype == np.float64
    assert_close(out.data, ref.data, rtol=1e-12, atol=1e-12)
    grad = rng(6).standard_normal(out.shape)
    out.backward(grad)
    ref.backward(grad)
    for ours, theirs in zip(fused, composed, strict=True):
        assert_close(ours.grad.data, theirs.grad.data, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("length", "source"), [(3, 6), (6, 3), (5, 5)])
def test_causal_is_top_left_aligned(length: int, source: int) -> None:
    q, k, v = qkv(length=length, source=source)
    mask = causal_mask(length, source)
    assert np.array_equal(mask, np.tril(np.ones((length, source), dtype=bool)))
    causal = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), is_causal=True)
    masked = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), attn_mask=mask)
    assert_close(causal.data, masked.data, rtol=1e-6, atol=1e-6)
    probs = attention_probs(q, k, 0.5, is_causal=True)
    assert np.all(probs[..., ~mask] == 0)
    assert_close(probs.sum(-1), np.ones(probs.shape[:-1]))


def test_fully_masked_rows_give_zeros_not_nan() -> None:
    q, k, v = qkv()
    mask = np.ones((4, 5), dtype=bool)
    mask[1] = False
    tensors = as_tensors(q, k, v)
    out = scaled_dot_product_attention(*tensors, attn_mask=mask)
    assert np.all(out.data[..., 1, :] == 0) and np.isfinite(out.data).all()
    out.backward(np.ones(out.shape))
    for t in tensors:
        assert np.isfinite(t.grad.data).all()
    assert np.all(tensors[0].grad.data[..., 1, :] == 0)  # that query had no influence
    additive = np.zeros((4, 5))
    additive[2] = -np.inf
    out = scaled_dot_product_attention(*as_tensors(q, k, v), attn_mask=additive)
    assert np.all(out.data[..., 2, :] == 0) and np.isfinite(out.data).all()


def test_probabilities_are_stable_for_huge_scores() -> None:
    q = np.full((1, 2, 4), 1e4)
    k = np.full((1, 3, 4), 1e4)
    probs = attention_probs(q, k, 1.0)
    assert_close(probs, np.full((1, 2, 3), 1 / 3))


def gradcheck_op(arrays: list[np.ndarray], make_op: Any, n_inputs: int | None = None) -> None:
    n = len(arrays) if n_inputs is None else n_inputs

    def fn(*xs: np.ndarray) -> np.ndarray:
        return make_op().forward(*xs)

    def grad_fn(*args: np.ndarray) -> list[np.ndarray]:
        *xs, grad = args
        op = make_op()
        op.forward(*xs)
        return list(op.backward(grad, (True,) * n))

    gradcheck(fn, arrays, grad_fn)


def test_gradcheck_q_k_v() -> None:
    gradcheck_op(list(qkv((2,), 3, 4, 5, 3)), lambda: ScaledDotProductAttentionOp())


def test_gradcheck_causal_and_scale() -> None:
    gradcheck_op(
        list(qkv((2,), 4, 4, 3, 2)), lambda: ScaledDotProductAttentionOp(0.7, is_causal=True)
    )


def test_gradcheck_float_mask_gets_the_score_gradient() -> None:
    arrays = [*qkv((2,), 3, 4, 5, 3), rng(7).standard_normal((3, 4))]
    gradcheck_op(arrays, lambda: ScaledDotProductAttentionOp())


def test_gradcheck_with_dropout_and_a_seeded_rng() -> None:
    gradcheck_op(
        list(qkv((2,), 3, 4, 5, 3)),
        lambda: ScaledDotProductAttentionOp(dropout_p=0.4, rng=rng(8)),
    )


def test_broadcast_batch_dims_sum_back() -> None:
    q = rng(9).standard_normal((2, 3, 4, 5))
    k = rng(10).standard_normal((1, 3, 6, 5))
    v = rng(11).standard_normal((3, 6, 2))
    fused, composed = as_tensors(q, k, v), as_tensors(q, k, v)
    out = scaled_dot_product_attention(*fused)
    ref = scaled_dot_product_attention_reference(*composed)
    assert out.shape == (2, 3, 4, 2)
    out.sum().backward()
    ref.sum().backward()
    for ours, theirs in zip(fused, composed, strict=True):
        assert ours.grad.shape == ours.shape
        assert_close(ours.grad.data, theirs.grad.data, rtol=1e-10, atol=1e-12)


def test_dropout_zero_one_and_statistics() -> None:
    q, k, v = (Tensor(a) for a in qkv((4, 4), 16, 16, 8, 8))
    plain = scaled_dot_product_attention(q, k, v)
    assert_close(scaled_dot_product_attention(q, k, v, dropout_p=0.0).data, plain.data)
    assert np.all(scaled_dot_product_attention(q, k, v, dropout_p=1.0).data == 0)
    op = ScaledDotProductAttentionOp(dropout_p=0.25, rng=rng(12))
    op.forward(q.data, k.data, v.data)
    weights, probs = op.attention_weights(), op.saved[3]
    kept = weights != 0
    assert abs(kept.mean() - 0.75) < 0.02
    assert_close(weights[kept], probs[kept] / 0.75, rtol=1e-6)
    first = scaled_dot_product_attention(q, k, v, dropout_p=0.25, rng=rng(13))
    second = scaled_dot_product_attention(q, k, v, dropout_p=0.25, rng=rng(13))
    assert_close(first.data, second.data, rtol=0, atol=0)
    assert not np.allclose(first.data, plain.data)


def test_float32_stays_float32_and_one_node_is_recorded() -> None:
    q, k, v = (Tensor(a, requires_grad=True) for a in qkv())
    out = scaled_dot_product_attention(q, k, v, is_causal=True)
    assert out.dtype == np.float32
    node = out._node
    assert isinstance(node.op, ScaledDotProductAttentionOp)
    assert all(edge is t for edge, t in zip(node.next, (q, k, v), strict=True))


def test_errors_name_the_problem() -> None:
    q, k, v = (Tensor(a) for a in qkv())
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), bool), is_causal=True)
    with pytest.raises(ValueError, match=r"key \(\.\.\., S, E\)"):
        scaled_dot_product_attention(q, Tensor(np.ones((2, 3, 5, 7))), v)
    with pytest.raises(TypeError, match="floating point"):
        scaled_dot_product_attention(Tensor(np.ones((2, 2), dtype=np.int64)), k, v)
    with pytest.raises(TypeError, match=r"bool .*or float"):
        scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), dtype=np.int64))
    with pytest.raises(ValueError, match="does not broadcast"):
        scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 4), bool))
    with pytest.raises(NotImplementedError, match="enable_gqa"):
        scaled_dot_product_attention(q, k, v, enable_gqa=True)
    with pytest.raises(ValueError, match="dropout_p"):
        scaled_dot_product_attention(q, k, v, dropout_p=1.5)
