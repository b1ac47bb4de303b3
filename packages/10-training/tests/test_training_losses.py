"""Losses: values against NumPy formulas, gradients against finite differences (float64), the
fused cross-entropy backward against the composed autograd one, reductions and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor
from tinytorch.training import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    binary_cross_entropy_with_logits,
    cross_entropy,
    cross_entropy_composed,
    mse_loss,
)

REDUCTIONS = ("mean", "sum", "none")


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def log_softmax_np(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def reduce_np(values: np.ndarray, reduction: str) -> np.ndarray:
    return {"mean": values.mean(), "sum": values.sum(), "none": values}[reduction]


def ce_reference(z: np.ndarray, y: np.ndarray, eps: float, reduction: str) -> np.ndarray:
    """PyTorch's label smoothing: (1 - eps) * nll + eps * mean over classes of -logp."""
    logp = log_softmax_np(z.astype(np.float64))
    nll = -logp[np.arange(len(y)), y]
    return reduce_np((1 - eps) * nll + eps * (-logp).mean(axis=1), reduction)


def leaf(x: np.ndarray) -> Tensor:
    return Tensor(x, dtype=x.dtype, requires_grad=True)


# --------------------------------------------------------------------- MSE
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_matches_numpy(reduction: str) -> None:
    x, y = rng().standard_normal((2, 5, 3))
    expected = reduce_np((x - y) ** 2, reduction)
    assert_close(mse_loss(Tensor(x, dtype=np.float64), y, reduction), expected, rtol=1e-12)
    assert_close(MSELoss(reduction)(Tensor(x), Tensor(y)), expected, rtol=1e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_gradcheck(reduction: str) -> None:
    x0, y0 = rng(1).standard_normal((2, 4, 3))

    def fn(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return mse_loss(Tensor(x, dtype=np.float64), Tensor(y, dtype=np.float64), reduction).data

    def grad_fn(x: np.ndarray, y: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        xt, yt = leaf(x), leaf(y)
        mse_loss(xt, yt, reduction).backward(g)
        return [xt.grad.data, yt.grad.data]

    gradcheck(fn, [x0, y0], grad_fn)


def test_mse_refuses_shapes_that_would_broadcast() -> None:
    with pytest.raises(ValueError, match=r"mse_loss: input has shape \(4, 1\).*\(4,\)"):
        mse_loss(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))


# --------------------------------------------------------------------- cross-entropy values
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("eps", [0.0, 0.1, 1.0])
def test_cross_entropy_matches_numpy(reduction: str, eps: float) -> None:
    z = rng(2).standard_normal((7, 5))
    y = rng(3).integers(0, 5, 7)
    expected = ce_reference(z, y, eps, reduction)
    got = cross_entropy(Tensor(z, dtype=np.float64), y, label_smoothing=eps, reduction=reduction)
    assert got.dtype == np.float64
    assert_close(got, expected, rtol=1e-12)
    module = CrossEntropyLoss(label_smoothing=eps, reduction=reduction)
    got32 = module(Tensor(z), Tensor(y))
    assert got32.dtype == np.float32
    assert_close(got32, expected, rtol=2e-6, atol=1e-6)


def test_label_smoothing_is_cross_entropy_against_the_smoothed_distribution() -> None:
    z = rng(4).standard_normal((6, 4))
    y = np.array([0, 1, 2, 3, 0, 1])
    eps = 0.2
    q = np.full((6, 4), eps / 4)
    q[np.arange(6), y] += 1 - eps
    expected = -(q * log_softmax_np(z)).sum(axis=1).mean()
    got = cross_entropy(Tensor(z, dtype=np.float64), y, label_smoothing=eps)
    assert_close(got, expected, rtol=1e-12)


def test_cross_entropy_is_stable_for_huge_logits() -> None:
    z = np.array([[1e4, 0.0, -1e4], [-1e30, 1e30, 0.0]], dtype=np.float32)
    loss = cross_entropy(Tensor(z), np.array([1, 1]), reduction="none")
    assert np.isfinite(loss.data).all()
    assert_close(loss, [1e4, 0.0], rtol=1e-6)


def test_cross_entropy_ignore_index_skips_rows_in_value_and_count() -> None:
    z = rng(5).standard_normal((5, 3))
    y = np.array([0, -100, 2, -100, 1])
    keep = y != -100
    expected = ce_reference(z[keep], y[keep], 0.0, "mean")
    assert_close(cross_entropy(Tensor(z, dtype=np.float64), y), expected, rtol=1e-12)
    x = leaf(z)
    cross_entropy(x, y).backward()
    assert (x.grad.data[~keep] == 0).all()
    none = cross_entropy(Tensor(z, dtype=np.float64), y, reduction="none")
    assert (none.data[~keep] == 0).all()


# --------------------------------------------------------------------- cross-entropy gradients
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_cross_entropy_gradcheck(reduction: str, eps: float) -> None:
    z0 = rng(6).standard_normal((5, 4))
    y = rng(7).integers(0, 4, 5)

    def fn(z: np.ndarray) -> np.ndarray:
        return cross_entropy(Tensor(z, dtype=np.float64), y, eps, reduction).data

    def grad_fn(z: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        x = leaf(z)
        cross_entropy(x, y, eps, reduction).backward(g)
        return [x.grad.data]

    gradcheck(fn, [z0], grad_fn)


def test_fused_backward_is_softmax_minus_onehot_over_n() -> None:
    z = rng(8).standard_normal((6, 3))
    y = np.array([2, 0, 1, 1, 0, 2])
    x = leaf(z)
    cross_entropy(x, y).backward()
    softmax = np.exp(log_softmax_np(z))
    onehot = np.eye(3)[y]
    assert_close(x.grad, (softmax - onehot) / 6, rtol=1e-12, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 8),
    c=st.integers(1, 6),
    eps=st.sampled_from([0.0, 0.1, 0.5]),
    reduction=st.sampled_from(REDUCTIONS),
    seed=st.integers(0, 2**16),
)
def test_fused_equals_composed_autograd(
    n: int, c: int, eps: float, reduction: str, seed: int
) -> None:
    gen = rng(seed)
    z = gen.standard_normal((n, c)) * 3
    y = gen.integers(0, c, n)
    g = gen.standard_normal(n) if reduction == "none" else None
    fused_x, composed_x = leaf(z), leaf(z)
    fused = cross_entropy(fused_x, y, eps, reduction)
    composed = cross_entropy_composed(composed_x, y, eps, reduction)
    assert_close(fused, composed, rtol=1e-12, atol=1e-14)
    fused.backward(g)
    composed.backward(g)
    assert_close(fused_x.grad, composed_x.grad, rtol=1e-10, atol=1e-14)


def test_cross_entropy_gives_no_gradient_to_labels_and_keeps_float32() -> None:
    x = Tensor(rng(9).standard_normal((4, 3), dtype=np.float32), requires_grad=True)
    loss = cross_entropy(x, Tensor(np.array([0, 1, 2, 0])))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


# --------------------------------------------------------------------- cross-entropy errors
def test_cross_entropy_rejects_float_labels_naming_the_fix() -> None:
    with pytest.raises(TypeError, match=r"labels must be integer class indices.*float32"):
        cross_entropy(Tensor(np.zeros((3, 4))), Tensor(np.zeros(3)))
    with pytest.raises(TypeError, match=r"one-hot rows\? take labels.argmax\(dim=1\)"):
        cross_entropy(Tensor(np.zeros((3, 4))), Tensor(np.eye(4)[[0, 1, 2]]))


def test_cross_entropy_rejects_wrong_label_shapes() -> None:
    logits = Tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\).*\(3, 1\).*reshape"):
        cross_entropy(logits, np.zeros((3, 1), dtype=np.int64))
    with pytest.raises(ValueError, match=r"got \(5,\); give one label per row of logits"):
        cross_entropy(logits, np.zeros(5, dtype=np.int64))
    with pytest.raises(ValueError, match=r"logits must be a \(N, C\) float array.*\(4,\)"):
        cross_entropy(Tensor(np.zeros(4)), np.zeros(1, dtype=np.int64))


def test_cross_entropy_out_of_range_labels_are_named() -> None:
    with pytest.raises(IndexError, match=r"\[0, 4\).*got 4 at index 1, -1 at index 2 \(2 of 3"):
        cross_entropy(Tensor(np.zeros((3, 4))), np.array([0, 4, -1]))


def test_bad_options_raise() -> None:
    with pytest.raises(ValueError, match="reduction must be one of"):
        CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction must be one of"):
        MSELoss(reduction="mean ")
    with pytest.raises(ValueError, match="reduction must be one of"):
        BCEWithLogitsLoss(reduction="")


# --------------------------------------------------------------------- BCE with logits
def bce_reference(x: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
    p = 1 / (1 + np.exp(-x))
    return reduce_np(-(y * np.log(p) + (1 - y) * np.log(1 - p)), reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_numpy(reduction: str) -> None:
    x = rng(10).standard_normal((4, 3)) * 3
    y = rng(11).random((4, 3))
    expected = bce_reference(x, y, reduction)
    got = binary_cross_entropy_with_logits(
        Tensor(x, dtype=np.float64), Tensor(y, dtype=np.float64), reduction
    )
    assert_close(got, expected, rtol=1e-12)
    module = BCEWithLogitsLoss(reduction)
    assert_close(module(Tensor(x), Tensor(y)), expected, rtol=1e-5, atol=1e-6)


def test_bce_with_logits_is_stable_and_exact_in_the_tails() -> None:
    x = np.array([-200.0, -40.0, 0.0, 40.0, 200.0], dtype=np.float32)
    y = np.array([1.0, 1.0, 1.0, 0.0, 0.0], dtype=np.float32)
    loss = binary_cross_entropy_with_logits(Tensor(x), Tensor(y), reduction="none")
    assert np.isfinite(loss.data).all()
    assert_close(loss, [200.0, 40.0, np.log(2.0), 40.0, 200.0], rtol=1e-6)
    tiny = binary_cross_entropy_with_logits(Tensor(np.array([30.0])), Tensor(np.array([1.0])))
    assert_close(tiny, np.log1p(np.exp(-30.0)), rtol=1e-5)  # log1p keeps ~1e-13 exact


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_gradcheck(reduction: str) -> None:
    x0 = rng(12).standard_normal((3, 4)) * 2
    y0 = rng(13).random((3, 4))

    def fn(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return binary_cross_entropy_with_logits(
            Tensor(x, dtype=np.float64), Tensor(y, dtype=np.float64), reduction
        ).data

    def grad_fn(x: np.ndarray, y: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        xt, yt = leaf(x), leaf(y)
        binary_cross_entropy_with_logits(xt, yt, reduction).backward(g)
        return [xt.grad.data, yt.grad.data]

    gradcheck(fn, [x0, y0], grad_fn)


def test_bce_gradient_at_zero_is_half_minus_target() -> None:
    x = leaf(np.zeros(2))
    binary_cross_entropy_with_logits(x, Tensor(np.array([1.0, 0.0]), dtype=np.float64)).backward()
    assert_close(x.grad, [-0.25, 0.25], rtol=1e-12)


def test_bce_with_logits_errors() -> None:
    with pytest.raises(ValueError, match=r"input has shape \(4, 1\) but target has shape \(4,\)"):
        binary_cross_entropy_with_logits(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))
    with pytest.raises(TypeError, match=r"must be float, got float32 and int64"):
        binary_cross_entropy_with_logits(Tensor(np.zeros(4)), Tensor(np.zeros(4, dtype=np.int64)))


def test_repr_names_the_options() -> None:
    assert repr(CrossEntropyLoss(0.1)) == "CrossEntropyLoss(label_smoothing=0.1, reduction='mean')"
    assert repr(MSELoss("sum")) == "MSELoss(reduction='sum')"
    assert repr(BCEWithLogitsLoss()) == "BCEWithLogitsLoss(reduction='mean')"
