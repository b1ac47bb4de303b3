"""MultiHeadAttention and CausalSelfAttention: the fast self-attention path equals the general
path, masks in PyTorch's MHA convention, weights, layouts, causality, RoPE, finite-difference
gradchecks of the head-splitting Ops, and nothing held after a backward."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.attention import (
    CausalSelfAttention,
    MultiHeadAttention,
    MultiheadAttention,
    MultiHeadAttentionOp,
    PackedSelfAttentionOp,
    scaled_dot_product_attention_reference,
)
from tinytorch.autograd import held_activation_bytes, no_grad
from tinytorch.embeddings import RotaryEmbedding, apply_rotary, rotary_tables
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def double(module: Any) -> Any:
    for param in module.parameters():
        param.data = param.data.astype(np.float64)
    return module


def x64(*shape: int, seed: int = 1, grad: bool = True) -> Tensor:
    return Tensor(rng(seed).standard_normal(shape), dtype=np.float64, requires_grad=grad)


def test_self_attention_fast_path_equals_the_general_path() -> None:
    mha = double(MultiHeadAttention(16, 4, rng=rng()))
    x = x64(2, 6, 16)
    copy = Tensor(x.data.copy(), dtype=np.float64, requires_grad=True)
    fast, fast_w = mha(x, x, x)
    general, general_w = mha(copy, copy * 1.0, copy * 1.0)
    assert_close(fast.data, general.data, rtol=1e-12, atol=1e-12)
    assert_close(fast_w.data, general_w.data, rtol=1e-12, atol=1e-12)
    grad = rng(2).standard_normal(fast.shape)
    fast.backward(grad)
    fast_param_grad = mha.in_proj_weight.grad.data.copy()
    mha.zero_grad()
    general.backward(grad)
    assert_close(x.grad.data, copy.grad.data, rtol=1e-10, atol=1e-12)
    assert_close(mha.in_proj_weight.grad.data, fast_param_grad, rtol=1e-10, atol=1e-12)


def test_mha_equals_heads_of_the_reference() -> None:
    mha = double(MultiHeadAttention(12, 3, rng=rng()))
    query, key = x64(2, 4, 12, seed=3), x64(2, 5, 12, seed=4)
    out, weights = mha(query, key, key, need_weights=True, average_attn_weights=False)
    w, b = mha.in_proj_weight.data, mha.in_proj_bias.data

    def heads(x: np.ndarray, part: int) -> Tensor:
        y = x @ w[part * 12 : (part + 1) * 12].T + b[part * 12 : (part + 1) * 12]
        return Tensor(y.reshape(*y.shape[:2], 3, 4).transpose(0, 2, 1, 3), dtype=np.float64)

    attended = scaled_dot_product_attention_reference(
        heads(query.data, 0), heads(key.data, 1), heads(key.data, 2)
    ).data
    merged = attended.transpose(0, 2, 1, 3).reshape(2, 4, 12)
    expected = merged @ mha.out_proj.weight.data.T + mha.out_proj.bias.data
    assert_close(out.data, expected, rtol=1e-12, atol=1e-12)
    assert weights.shape == (2, 3, 4, 5)
    assert_close(weights.data.sum(-1), np.ones((2, 3, 4)))


def test_key_padding_mask_ignores_padded_keys() -> None:
    mha = MultiHeadAttention(8, 2, rng=rng())
    query, key = Tensor(rng(5).standard_normal((2, 3, 8))), rng(6).standard_normal((2, 5, 8))
    padding = np.zeros((2, 5), dtype=bool)
    padding[0, 3:] = padding[1, 4:] = True  # True = padding, ignored
    out, weights = mha(query, Tensor(key), Tensor(key), key_padding_mask=padding)
    changed = key.copy()
    changed[padding] = 100.0
    out2, _ = mha(query, Tensor(changed), Tensor(changed), key_padding_mask=padding)
    assert_close(out.data, out2.data, rtol=1e-5, atol=1e-6)
    assert np.all(weights.data[0, :, 3:] == 0) and np.all(weights.data[1, :, 4:] == 0)


def test_attn_mask_conventions_bool_float_and_3d() -> None:
    mha = MultiHeadAttention(8, 2, rng=rng())
    x = Tensor(rng(7).standard_normal((2, 4, 8)))
    blocked = rng(8).random((4, 4)) > 0.6
    np.fill_diagonal(blocked, False)
    as_bool, _ = mha(x, x, x, attn_mask=blocked)  # True = not allowed (PyTorch's MHA)
    as_float, _ = mha(x, x, x, attn_mask=np.where(blocked, -np.inf, 0.0))
    per_head, _ = mha(x, x, x, attn_mask=np.broadcast_to(blocked, (4, 4, 4)).copy())
    assert_close(as_bool.data, as_float.data, rtol=1e-6, atol=1e-6)
    assert_close(as_bool.data, per_head.data, rtol=1e-6, atol=1e-6)
    causal, _ = mha(x, x, x, is_causal=True)
    explicit, _ = mha(x, x, x, attn_mask=np.triu(np.ones((4, 4), dtype=bool), 1))
    assert_close(causal.data, explicit.data, rtol=1e-6, atol=1e-6)
    padding = np.array([[False, False, False, True], [False] * 4])
    _, w = mha(x, x, x, is_causal=True, key_padding_mask=padding)
    assert np.all(w.data[0, :, 3] == 0) and np.all(np.triu(w.data[1], 1) == 0)
    mixed, _ = mha(x, x, x, attn_mask=np.where(blocked, -np.inf, 0.0), key_padding_mask=padding)
    both_bool, _ = mha(x, x, x, attn_mask=blocked, key_padding_mask=padding)
    assert_close(mixed.data, both_bool.data, rtol=1e-6, atol=1e-6)


def test_layouts_batch_first_false_and_unbatched() -> None:
    first = MultiHeadAttention(8, 2, rng=rng(9))
    second = MultiHeadAttention(8, 2, batch_first=False, rng=rng(9))
    x = rng(10).standard_normal((3, 5, 8)).astype(np.float32)
    out, _ = first(Tensor(x), Tensor(x), Tensor(x))
    seq_first = Tensor(x.transpose(1, 0, 2).copy())
    out2, w2 = second(seq_first, seq_first, seq_first)
    assert out2.shape == (5, 3, 8) and w2.shape == (3, 5, 5)
    assert_close(out2.data.transpose(1, 0, 2), out.data, rtol=1e-5, atol=1e-6)
    single, single_w = first(Tensor(x[1]), Tensor(x[1]), Tensor(x[1]), need_weights=True)
    assert single.shape == (5, 8) and single_w.shape == (5, 5)
    assert_close(single.data, out.data[1], rtol=1e-5, atol=1e-6)
    none, nothing = first(Tensor(x), Tensor(x), Tensor(x), need_weights=False)
    assert nothing is None and none.shape == (3, 5, 8)


def test_dropout_only_in_training() -> None:
    mha = MultiHeadAttention(8, 2, dropout=0.5, rng=rng())
    x = Tensor(rng(11).standard_normal((2, 6, 8)))
    train_a, _ = mha(x, x, x)
    train_b, _ = mha(x, x, x)
    assert not np.allclose(train_a.data, train_b.data)
    mha.eval()
    eval_a, _ = mha(x, x, x)
    eval_b, _ = mha(x, x, x)
    assert_close(eval_a.data, eval_b.data, rtol=0, atol=0)


def test_init_and_parameters_match_pytorch_layout() -> None:
    mha = MultiHeadAttention(32, 4, rng=rng())
    names = [name for name, _ in mha.named_parameters()]
    assert names == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    bound = np.sqrt(6 / (32 + 96))
    assert np.abs(mha.in_proj_weight.data).max() <= bound
    assert np.abs(mha.in_proj_weight.data).max() > 0.9 * bound
    assert np.all(mha.in_proj_bias.data == 0) and np.all(mha.out_proj.bias.data == 0)
    assert MultiheadAttention is MultiHeadAttention
    no_bias = MultiHeadAttention(32, 4, bias=False)
    assert [name for name, _ in no_bias.named_parameters()] == ["in_proj_weight", "out_proj.weight"]


def test_mha_errors() -> None:
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)
    mha = MultiHeadAttention(8, 2)
    x = Tensor(np.zeros((2, 3, 8)))
    with pytest.raises(ValueError, match="embed_dim=8"):
        mha(Tensor(np.zeros((2, 3, 6))), x, x)
    with pytest.raises(ValueError, match="2-d attn_mask"):
        mha(x, x, x, attn_mask=np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match="key_padding_mask"):
        mha(x, x, x, key_padding_mask=np.zeros((2, 4), bool))
    with pytest.raises(TypeError, match="True = masked out"):
        mha(x, x, x, attn_mask=np.zeros((3, 3), np.int64))


def causal_reference(layer: CausalSelfAttention, x: np.ndarray) -> np.ndarray:
    qkv = x @ layer.c_attn.weight.data.T + layer.c_attn.bias.data
    b, t, c = x.shape
    h = layer.num_heads
    q, k, v = (
        Tensor(part.reshape(b, t, h, c // h).transpose(0, 2, 1, 3), dtype=np.float64)
        for part in np.split(qkv, 3, axis=-1)
    )
    y = scaled_dot_product_attention_reference(q, k, v, is_causal=True).data
    y = y.transpose(0, 2, 1, 3).reshape(b, t, c)
    return y @ layer.c_proj.weight.data.T + layer.c_proj.bias.data


def test_causal_self_attention_equals_the_reference_and_is_causal() -> None:
    layer = double(CausalSelfAttention(16, 4, rng=rng()))
    x = x64(2, 7, 16)
    out = layer(x)
    assert_close(out.data, causal_reference(layer, x.data), rtol=1e-12, atol=1e-12)
    changed = x.data.copy()
    changed[:, 4:] += 10.0  # the future of tokens 0..3
    later = layer(Tensor(changed, dtype=np.float64)).data
    assert_close(later[:, :4], out.data[:, :4], rtol=1e-12, atol=1e-12)
    assert not np.allclose(later[:, 4:], out.data[:, 4:])
    grad = np.zeros(out.shape)
    grad[:, 2] = 1.0
    out.backward(grad)
    assert np.all(x.grad.data[:, 3:] == 0) and np.any(x.grad.data[:, :3] != 0)


def test_causal_self_attention_with_rope() -> None:
    rotary = RotaryEmbedding(4, 32)
    layer = double(CausalSelfAttention(16, 4, rng=rng(), rotary=rotary))
    x = x64(2, 5, 16, seed=12)
    out = layer(x, offset=3)
    qkv = x.data @ layer.c_attn.weight.data.T + layer.c_attn.bias.data
    q, k, v = (part.reshape(2, 5, 4, 4).transpose(0, 2, 1, 3) for part in np.split(qkv, 3, axis=-1))
    positions = np.arange(3, 8)
    q = apply_rotary(Tensor(q, dtype=np.float64), positions)
    k = apply_rotary(Tensor(k, dtype=np.float64), positions)
    y = scaled_dot_product_attention_reference(q, k, Tensor(v, dtype=np.float64), is_causal=True)
    expected = y.data.transpose(0, 2, 1, 3).reshape(2, 5, 16) @ layer.c_proj.weight.data.T
    assert_close(out.data, expected + layer.c_proj.bias.data, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="max_len=32"):
        layer(x, offset=30)
    with pytest.raises(ValueError, match="head_dim"):
        CausalSelfAttention(16, 2, rotary=rotary)


def gradcheck_op(make_op: Any, arrays: list[np.ndarray]) -> None:
    def fn(*xs: np.ndarray) -> np.ndarray:
        return make_op().forward(*xs)

    def grad_fn(*args: np.ndarray) -> list[np.ndarray]:
        *xs, grad = args
        op = make_op()
        op.forward(*xs)
        return list(op.backward(grad, (True,) * len(xs)))

    gradcheck(fn, arrays, grad_fn)


def test_gradcheck_multi_head_op_with_a_float_mask() -> None:
    arrays = [rng(13).standard_normal(s) for s in ((2, 3, 6), (2, 4, 6), (2, 4, 4), (2, 1, 3, 4))]
    gradcheck_op(lambda: MultiHeadAttentionOp(2), arrays)


def test_gradcheck_packed_op_causal_with_rope_and_dropout() -> None:
    cos, sin = rotary_tables(np.arange(2, 6), 2, dtype=np.float64)
    arrays = [rng(14).standard_normal((2, 4, 18))]
    gradcheck_op(
        lambda: PackedSelfAttentionOp(
            3, rotary=(cos, sin), is_causal=True, dropout_p=0.3, rng=rng(15)
        ),
        arrays,
    )


def test_nothing_is_held_after_backward() -> None:
    layer = CausalSelfAttention(16, 4, dropout=0.1, rng=rng())
    mha = MultiHeadAttention(16, 4, dropout=0.1, rng=rng())
    x = Tensor(rng(16).standard_normal((2, 5, 16)), requires_grad=True)
    layer(x).sum().backward()
    out, _ = mha(x, x, x)
    out.sum().backward()
    assert held_activation_bytes(layer) == 0 and held_activation_bytes(mha) == 0
    with no_grad():
        layer(x)
    assert held_activation_bytes(layer) == 0
