"""Embedding lookup: forward is weight[ids], backward a scatter-add that sums repeated ids,
checked against np.add.at, finite differences (float64) and the manual backward; padding_idx,
errors, dtypes, and that nothing is held after a backward."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.autograd import held_activation_bytes, no_grad
from tinytorch.embeddings import (
    Embedding,
    EmbeddingOp,
    embedding,
    scatter_rows_add_at,
    scatter_rows_bincount,
    scatter_rows_sorted,
)
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor, apply, vjp


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("shape", [(), (5,), (2, 7), (2, 3, 4)])
def test_forward_is_a_row_lookup(shape: tuple[int, ...]) -> None:
    layer = Embedding(11, 6, rng=rng())
    ids = rng(1).integers(0, 11, shape)
    out = layer(Tensor(ids))
    assert out.shape == (*shape, 6) and out.dtype == np.float32
    assert_close(out.data, layer.weight.data[ids])


def test_backward_sums_repeated_ids() -> None:
    layer = Embedding(5, 3, rng=rng())
    ids = np.array([[1, 1, 4], [1, 0, 4]])
    grad = rng(2).standard_normal((2, 3, 3)).astype(np.float32)
    out = layer(ids)
    out.backward(grad)
    expected = np.zeros((5, 3), dtype=np.float32)
    for (i, j), row in np.ndenumerate(ids):  # the definition, token by token
        expected[row] += grad[i, j]
    assert_close(layer.weight.grad.data, expected, rtol=1e-6, atol=1e-6)
    assert np.all(layer.weight.grad.data[[2, 3]] == 0)


@pytest.mark.parametrize("scatter", ["sort", "bincount", "add_at"])
def test_every_scatter_matches_the_add_at_oracle(scatter: str) -> None:
    ids = rng(3).integers(0, 50, (8, 16))
    weight = Tensor(rng(4).standard_normal((50, 7)), requires_grad=True)
    out = embedding(ids, weight, scatter=scatter)
    grad = rng(5).standard_normal(out.shape).astype(np.float32)
    out.backward(grad)
    oracle = scatter_rows_add_at(ids.ravel(), grad.reshape(-1, 7), 50)
    assert_close(weight.grad.data, oracle, rtol=1e-5, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    num_rows=st.integers(1, 30),
    dim=st.integers(1, 9),
    tokens=st.integers(0, 60),
    seed=st.integers(0, 2**16),
)
def test_scatters_agree_on_random_shapes(num_rows: int, dim: int, tokens: int, seed: int) -> None:
    generator = rng(seed)
    ids = generator.integers(0, num_rows, tokens)
    rows = generator.standard_normal((tokens, dim))
    oracle = scatter_rows_add_at(ids, rows, num_rows)
    for scatter in (scatter_rows_sorted, scatter_rows_bincount):
        result = scatter(ids, rows, num_rows)
        assert result.shape == (num_rows, dim) and result.dtype == rows.dtype
        assert_close(result, oracle, rtol=1e-12, atol=1e-12)


def test_gradcheck_float64() -> None:
    ids = np.array([[0, 2, 2], [3, 0, 1]])

    def fn(weight: np.ndarray) -> np.ndarray:
        return EmbeddingOp().forward(ids, weight)

    def grad_fn(weight: np.ndarray, grad: np.ndarray) -> list[np.ndarray]:
        op = EmbeddingOp()
        op.forward(ids, weight)
        return [op.backward(grad, (False, True))[1]]

    gradcheck(fn, [rng(6).standard_normal((4, 5))], grad_fn)


def test_padding_idx_starts_at_zero_and_gets_no_gradient() -> None:
    layer = Embedding(6, 4, padding_idx=2, rng=rng())
    assert np.all(layer.weight.data[2] == 0) and np.any(layer.weight.data[1] != 0)
    ids = np.array([[2, 1, 2], [2, 2, 5]])
    layer(ids).sum().backward()
    assert np.all(layer.weight.grad.data[2] == 0)
    assert_close(layer.weight.grad.data[1], np.ones(4))
    assert_close(layer.weight.grad.data[5], np.ones(4))


def test_negative_padding_idx_counts_from_the_end() -> None:
    layer = Embedding(6, 4, padding_idx=-1, rng=rng())
    assert layer.padding_idx == 5 and np.all(layer.weight.data[5] == 0)
    with pytest.raises(ValueError, match="padding_idx"):
        Embedding(6, 4, padding_idx=6)


def test_manual_backward_equals_autograd() -> None:
    ids = rng(7).integers(0, 9, (3, 5))
    grad = rng(8).standard_normal((3, 5, 4)).astype(np.float32)
    layer = Embedding(9, 4, padding_idx=0, rng=rng())
    layer(ids).backward(grad)
    automatic = layer.weight.grad.data.copy()
    layer.zero_grad()
    layer(ids)
    assert layer.backward(Tensor(grad)) is None
    assert_close(layer.weight.grad.data, automatic, rtol=0, atol=0)


def test_float64_table_stays_float64() -> None:
    weight = Tensor(rng().standard_normal((4, 3)), dtype=np.float64, requires_grad=True)
    out = embedding([[0, 3]], weight)
    assert out.dtype == np.float64
    out.sum().backward()
    assert weight.grad.dtype == np.float64


def test_out_of_range_id_names_the_id_its_position_and_the_table() -> None:
    layer = Embedding(10, 3, rng=rng())
    with pytest.raises(IndexError, match=r"id 12 at position \(1, 2\).*num_embeddings=10"):
        layer(np.array([[0, 1, 2], [3, 4, 12]]))
    with pytest.raises(IndexError, match=r"id -1 at position \(0,\)"):
        layer(np.array([-1, 3]))


def test_float_ids_are_refused() -> None:
    with pytest.raises(TypeError, match="integer ids"):
        Embedding(10, 3, rng=rng())(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="integer ids"):
        embedding(np.array([True]), Tensor(np.ones((2, 2))))


def test_bad_construction_and_table() -> None:
    with pytest.raises(ValueError, match="num_embeddings"):
        Embedding(0, 3)
    with pytest.raises(ValueError, match="2-d table"):
        embedding([0], Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="scatter"):
        EmbeddingOp(scatter="loop")


def test_init_is_standard_normal() -> None:
    weight = Embedding(1000, 64, rng=rng()).weight.data
    assert abs(weight.mean()) < 0.01 and abs(weight.std() - 1.0) < 0.01


def test_from_pretrained_copies_and_freezes() -> None:
    table = rng().standard_normal((5, 3)).astype(np.float32)
    layer = Embedding.from_pretrained(table)
    assert not layer.weight.requires_grad
    assert_close(layer(np.array([4, 0])).data, table[[4, 0]])
    table[0] = 100.0  # a copy: the layer does not change
    assert layer.weight.data[0, 0] != 100.0
    assert Embedding.from_pretrained(table, freeze=False).weight.requires_grad


def test_nothing_is_held_after_backward_or_under_no_grad() -> None:
    layer = Embedding(20, 8, rng=rng())
    ids = rng(9).integers(0, 20, (4, 6))
    layer(ids).sum().backward()
    assert held_activation_bytes(layer) == 0
    with no_grad():
        layer(ids)
    assert held_activation_bytes(layer) == 0


def test_vjp_refuses_ids_changed_in_place() -> None:
    ids = Tensor(np.array([0, 1, 1]))
    weight = Tensor(rng().standard_normal((3, 2)), requires_grad=True)
    op = EmbeddingOp()
    apply(op, ids, weight)
    ids.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        vjp(op, np.ones((3, 2), dtype=np.float32), (False, True))


def test_repr() -> None:
    assert repr(Embedding(7, 3, padding_idx=1)) == "Embedding(7, 3, padding_idx=1)"
