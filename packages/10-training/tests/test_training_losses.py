"""Losses, driven by one table of cases (`CASES`): each case is a loss, an input shape, a kind of
target and options. Every case is checked

- against an independent NumPy formula (values, float64),
- by finite differences (gradients of every differentiable argument, float64, no torch),
- against PyTorch (values and gradients, float64, through the function and the Module;
  ``-m parity``, skipped without torch).

Then: the fused cross-entropy against the composed oracle, stability, dtypes, the Modules'
buffers and reprs, and the error messages."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch import training
from tinytorch.autograd import no_grad
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor
from tinytorch.training import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    NLLLoss,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    cross_entropy_composed,
    mse_loss,
    nll_loss,
)

REDUCTIONS = ("mean", "sum", "none")
MODULES = {
    "mse_loss": "MSELoss",
    "cross_entropy": "CrossEntropyLoss",
    "nll_loss": "NLLLoss",
    "binary_cross_entropy": "BCELoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Case:
    """One loss call. ``target``: "index" (int class indices), "probs" (class probabilities of
    the input's shape), "unit" (floats in [0, 1]), "normal" (any floats). ``weight`` /
    ``pos_weight``: None, "class" (C,), "last" (the last dim), "full" (the input's shape).
    ``ignore``: how many predictions get ``ignore_index`` ("all": every one). ``grads``: the
    arguments that are differentiated. ``smooth``: finite differences apply (no clamp, no
    NaN, no kink)."""

    loss: str
    shape: tuple[int, ...]
    target: str
    reduction: str = "mean"
    weight: str | None = None
    pos_weight: str | None = None
    label_smoothing: float = 0.0
    ignore_index: int | None = None
    ignore: int | str = 0
    saturated: bool = False
    grads: tuple[str, ...] = ("input",)
    smooth: bool = True

    @property
    def id(self) -> str:
        parts = [self.loss.replace("binary_cross_entropy", "bce"), "x".join(map(str, self.shape))]
        parts += [self.target, self.reduction]
        for name in ("weight", "pos_weight"):
            if getattr(self, name):
                parts.append(f"{name}={getattr(self, name)}")
        if self.label_smoothing:
            parts.append(f"eps={self.label_smoothing}")
        if self.ignore_index is not None:
            parts.append(f"ignore_index={self.ignore_index}")
        if self.ignore:
            parts.append(f"ignore={self.ignore}")
        if self.saturated:
            parts.append("saturated")
        return "-".join(parts)

    @property
    def classes(self) -> int:
        return self.shape[1] if len(self.shape) > 1 else self.shape[0]

    def kwargs(self, arrays: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of both libraries' call (PyTorch's names)."""
        kwargs: dict[str, Any] = {"reduction": self.reduction}
        for name in ("weight", "pos_weight"):
            if name in arrays:
                kwargs[name] = arrays[name]
        if self.label_smoothing:
            kwargs["label_smoothing"] = self.label_smoothing
        if self.ignore_index is not None:
            kwargs["ignore_index"] = self.ignore_index
        return kwargs


def arrays_for(case: Case, seed: int = 0) -> dict[str, np.ndarray]:
    """Float64 input, target and weights for ``case`` (deterministic)."""
    gen = rng(seed)
    shape, c = case.shape, case.classes
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    if case.loss == "binary_cross_entropy":
        x = gen.uniform(0.05, 0.95, shape)
        if case.saturated:
            x.flat[:4] = [0.0, 1.0, 1e-50, 1 - 1e-17]
    elif case.loss == "nll_loss":
        z = gen.standard_normal(shape)
        x = z - np.log(np.exp(z).sum(axis=min(1, len(shape) - 1), keepdims=True))
    else:
        x = gen.standard_normal(shape) * (20.0 if case.saturated else 2.0)
    if case.target == "index":
        y = gen.integers(0, c, target_shape)
        ignore = -100 if case.ignore_index is None else case.ignore_index
        if case.ignore == "all":
            y = np.full(target_shape, ignore)
        elif case.ignore:
            y.flat[: case.ignore] = ignore
    elif case.target == "probs":
        z = gen.standard_normal(shape) * 2
        y = np.exp(z) / np.exp(z).sum(axis=min(1, len(shape) - 1), keepdims=True)
    elif case.target == "unit":
        y = gen.uniform(0, 1, shape)
        if case.saturated:
            y.flat[:4] = [0.0, 1.0, 1.0, 0.0]
    else:
        y = gen.standard_normal(shape)
    arrays = {"input": x, "target": y}
    for name in ("weight", "pos_weight"):
        kind = getattr(case, name)
        if kind is not None:
            weight_shape = {"class": (c,), "last": shape[-1:], "full": shape}[kind]
            arrays[name] = gen.uniform(0.2, 3.0, weight_shape)
    return arrays


def build_cases() -> list[Case]:
    cases: list[Case] = []
    for reduction in REDUCTIONS:
        r = reduction
        grads_both = ("input", "target")
        cases += [
            # mean squared error
            Case("mse_loss", (4, 3), "normal", r, grads=grads_both),
            Case("mse_loss", (2, 3, 2), "normal", r, weight="full", grads=(*grads_both, "weight")),
            # cross-entropy, class indices
            Case("cross_entropy", (6, 5), "index", r),
            Case("cross_entropy", (6, 5), "index", r, label_smoothing=0.2),
            Case("cross_entropy", (6, 5), "index", r, weight="class"),
            Case("cross_entropy", (6, 5), "index", r, weight="class", label_smoothing=0.3),
            Case(
                "cross_entropy", (7, 4), "index", r, weight="class", label_smoothing=0.1, ignore=3
            ),
            Case("cross_entropy", (7, 4), "index", r, ignore_index=0, ignore=2),
            Case("cross_entropy", (7, 4), "index", r, label_smoothing=1.0),
            Case("cross_entropy", (2, 4, 3), "index", r, label_smoothing=0.1),
            Case("cross_entropy", (2, 3, 2, 3), "index", r, weight="class", ignore=2),
            Case(
                "cross_entropy",
                (2, 3, 2, 2),
                "index",
                r,
                weight="class",
                label_smoothing=0.2,
                ignore=1,
            ),
            Case("cross_entropy", (5,), "index", r, label_smoothing=0.1, weight="class"),
            Case("cross_entropy", (3, 4), "index", r, ignore="all", smooth=False),
            Case("cross_entropy", (3, 4), "index", r, weight="class", ignore="all", smooth=False),
            Case("cross_entropy", (4, 3), "index", r, saturated=True, label_smoothing=0.1),
            # cross-entropy, class probabilities
            Case("cross_entropy", (5, 4), "probs", r, grads=grads_both),
            Case("cross_entropy", (5, 4), "probs", r, label_smoothing=0.2, grads=grads_both),
            Case(
                "cross_entropy",
                (5, 4),
                "probs",
                r,
                weight="class",
                label_smoothing=0.1,
                grads=(*grads_both, "weight"),
            ),
            Case("cross_entropy", (2, 3, 2, 2), "probs", r, weight="class", grads=grads_both),
            Case("cross_entropy", (4,), "probs", r, label_smoothing=0.3, grads=grads_both),
            # negative log-likelihood
            Case("nll_loss", (6, 5), "index", r),
            Case("nll_loss", (6, 5), "index", r, weight="class", ignore=2),
            Case("nll_loss", (6, 5), "index", r, ignore_index=1, ignore=2),
            Case("nll_loss", (2, 4, 3), "index", r, weight="class"),
            Case("nll_loss", (2, 3, 2, 2), "index", r, ignore=3),
            Case("nll_loss", (5,), "index", r, weight="class"),
            Case("nll_loss", (3, 4), "index", r, weight="class", ignore="all", smooth=False),
            # binary cross-entropy from probabilities
            Case("binary_cross_entropy", (4, 3), "unit", r, grads=grads_both),
            Case("binary_cross_entropy", (4, 3), "unit", r, weight="full", grads=grads_both),
            Case("binary_cross_entropy", (2, 3, 2), "unit", r, weight="last", grads=grads_both),
            Case(
                "binary_cross_entropy",
                (3, 4),
                "unit",
                r,
                saturated=True,
                grads=grads_both,
                smooth=False,
            ),
            # binary cross-entropy from logits
            Case("binary_cross_entropy_with_logits", (4, 3), "unit", r, grads=grads_both),
            Case(
                "binary_cross_entropy_with_logits",
                (4, 3),
                "unit",
                r,
                weight="full",
                grads=grads_both,
            ),
            Case(
                "binary_cross_entropy_with_logits",
                (4, 3),
                "unit",
                r,
                pos_weight="last",
                grads=grads_both,
            ),
            Case(
                "binary_cross_entropy_with_logits",
                (2, 3, 4),
                "unit",
                r,
                weight="last",
                pos_weight="last",
                grads=grads_both,
            ),
            Case(
                "binary_cross_entropy_with_logits",
                (3, 4),
                "unit",
                r,
                pos_weight="last",
                saturated=True,
                grads=grads_both,
            ),
        ]
    return cases


CASES = build_cases()
SMOOTH_CASES = [c for c in CASES if c.smooth]


# --------------------------------------------------------------------- the NumPy oracle
def reduce_np(values: np.ndarray, reduction: str, denominator: float | None = None) -> Any:
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if denominator is None:
        denominator = values.size
    return values.sum() / denominator if denominator else np.nan


def log_softmax_np(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def rows_np(x: np.ndarray) -> np.ndarray:
    """(N, C, d...) -> (N*d..., C); (C,) -> (1, C)."""
    if x.ndim == 1:
        return x[None]
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def log_sigmoid_np(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0, -x)


def reference(case: Case, arrays: dict[str, np.ndarray]) -> Any:
    """The loss written directly from its definition (PyTorch's documented formulas)."""
    x, y, w = arrays["input"], arrays["target"], arrays.get("weight")
    r = case.reduction
    if case.loss == "mse_loss":
        e = (x - y) ** 2
        return reduce_np(e, r) if w is None else reduce_np(e * w, r, w.sum())
    if case.loss == "binary_cross_entropy":
        with np.errstate(divide="ignore"):
            log_p, log_q = np.maximum(np.log(x), -100), np.maximum(np.log(1 - x), -100)
        loss = -(y * log_p + (1 - y) * log_q) * (1 if w is None else w)
        return reduce_np(loss, r)
    if case.loss == "binary_cross_entropy_with_logits":
        pw = arrays.get("pos_weight", 1.0)
        loss = -(pw * y * log_sigmoid_np(x) + (1 - y) * log_sigmoid_np(-x))
        return reduce_np(loss * (1 if w is None else w), r)
    c, eps = case.classes, case.label_smoothing
    target_shape = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
    logp = rows_np(x) if case.loss == "nll_loss" else log_softmax_np(rows_np(x))
    w = np.ones(c) if w is None else w
    if case.target == "probs":
        q = (1 - eps) * rows_np(y) + eps / c
        per = -(w * q * logp).sum(axis=1)
        return reduce_np(per.reshape(target_shape), r)
    labels = y.reshape(-1)
    ignore = -100 if case.ignore_index is None else case.ignore_index
    valid = labels != ignore
    per = np.zeros(len(labels))
    for i in np.flatnonzero(valid):
        nll = -w[labels[i]] * logp[i, labels[i]]
        per[i] = (1 - eps) * nll + eps / c * -(w * logp[i]).sum()
    denominator = sum(w[labels[i]] for i in np.flatnonzero(valid))
    return reduce_np(per.reshape(target_shape), r, denominator)


# --------------------------------------------------------------------- running a case
def ours(case: Case, arrays: dict[str, np.ndarray], module: bool = False) -> Any:
    """Call TinyTorch's loss on float64 Tensors (those in ``case.grads`` require grad)."""
    tensors = {
        name: Tensor(a, dtype=a.dtype, requires_grad=name in case.grads and a.dtype.kind == "f")
        for name, a in arrays.items()
    }
    kwargs = case.kwargs(tensors)
    if module:
        loss = getattr(training, MODULES[case.loss])(**kwargs)(tensors["input"], tensors["target"])
    else:
        loss = getattr(training, case.loss)(tensors["input"], tensors["target"], **kwargs)
    return loss, tensors


def grad_output(case: Case, shape: tuple[int, ...]) -> np.ndarray | None:
    return rng(99).standard_normal(shape) if case.reduction == "none" else None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_values_match_numpy(case: Case) -> None:
    arrays = arrays_for(case)
    loss, _ = ours(case, arrays)
    assert loss.dtype == np.float64
    assert_close(loss, np.asarray(reference(case, arrays)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", SMOOTH_CASES, ids=lambda c: c.id)
def test_gradients_match_finite_differences(case: Case) -> None:
    arrays = arrays_for(case)
    names = list(case.grads)

    def with_values(values: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
        return {**arrays, **dict(zip(names, values, strict=True))}

    def fn(*values: np.ndarray) -> np.ndarray:
        return ours(case, with_values(values))[0].data

    def grad_fn(*values_and_g: np.ndarray) -> list[np.ndarray]:
        *values, g = values_and_g
        loss, tensors = ours(case, with_values(tuple(values)))
        loss.backward(g)
        return [tensors[name].grad.data for name in names]

    gradcheck(fn, [arrays[name] for name in names], grad_fn, rtol=1e-5, atol=1e-7)


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip(
        "torch", reason="PyTorch not installed: parity tests need torch==2.13.0"
    )


def theirs(torch: Any, case: Case, arrays: dict[str, np.ndarray], module: bool = False) -> Any:
    tensors = {
        name: torch.tensor(a, requires_grad=name in case.grads and a.dtype.kind == "f")
        for name, a in arrays.items()
    }
    kwargs = case.kwargs(tensors)
    if module:
        loss = getattr(torch.nn, MODULES[case.loss])(**kwargs)(tensors["input"], tensors["target"])
    else:
        loss = getattr(torch.nn.functional, case.loss)(
            tensors["input"], tensors["target"], **kwargs
        )
    return loss, tensors


PARITY = [
    pytest.param(case, module, id=f"{case.id}-{'module' if module else 'function'}")
    for case in CASES
    for module in (False, True)
    if not (module and case.loss == "mse_loss" and case.weight)  # nn.MSELoss takes no weight
]


@pytest.mark.parity
@pytest.mark.parametrize(("case", "module"), PARITY)
def test_values_and_gradients_match_pytorch(torch: Any, case: Case, module: bool) -> None:
    arrays = arrays_for(case)
    loss, tensors = ours(case, arrays, module)
    torch_loss, torch_tensors = theirs(torch, case, arrays, module)
    assert loss.shape == tuple(torch_loss.shape)
    assert_close(loss, torch_loss.detach().numpy(), rtol=1e-10, atol=1e-12, msg="value")
    g = grad_output(case, loss.shape)
    loss.backward(g)
    torch_loss.backward(None if g is None else torch.from_numpy(g))
    for name in case.grads:
        assert_close(
            tensors[name].grad,
            torch_tensors[name].grad.numpy(),
            rtol=1e-9,
            atol=1e-12,
            msg=f"gradient of {name}",
        )


def test_the_table_covers_every_loss_reduction_and_option() -> None:
    covered = {(c.loss, c.reduction) for c in CASES}
    assert covered == set(itertools.product(MODULES, REDUCTIONS))
    assert {c.target for c in CASES if c.loss == "cross_entropy"} == {"index", "probs"}
    assert {len(c.shape) for c in CASES if c.loss in ("cross_entropy", "nll_loss")} == {1, 2, 3, 4}
    assert any(c.pos_weight and c.weight for c in CASES)
    assert len(SMOOTH_CASES) > 80


# --------------------------------------------------------------------- cross-entropy specifics
def test_label_smoothing_is_cross_entropy_against_the_smoothed_distribution() -> None:
    z = rng(4).standard_normal((6, 4))
    y = np.array([0, 1, 2, 3, 0, 1])
    eps = 0.2
    q = np.full((6, 4), eps / 4)
    q[np.arange(6), y] += 1 - eps
    expected = -(q * log_softmax_np(z)).sum(axis=1).mean()
    got = cross_entropy(Tensor(z, dtype=np.float64), y, label_smoothing=eps)
    assert_close(got, expected, rtol=1e-12)
    as_probabilities = cross_entropy(Tensor(z, dtype=np.float64), Tensor(q, dtype=np.float64))
    assert_close(as_probabilities, expected, rtol=1e-12)


def test_one_hot_probabilities_equal_class_indices_in_value_and_gradient() -> None:
    z = rng(5).standard_normal((5, 3))
    y = np.array([2, 0, 1, 1, 0])
    by_index, by_probs = (
        Tensor(z, dtype=np.float64, requires_grad=True),
        Tensor(z, dtype=np.float64, requires_grad=True),
    )
    a = cross_entropy(by_index, y, label_smoothing=0.1)
    b = cross_entropy(by_probs, np.eye(3)[y], label_smoothing=0.1)
    assert_close(a, b.data, rtol=1e-12)
    a.backward()
    b.backward()
    assert_close(by_index.grad, by_probs.grad.data, rtol=1e-12, atol=1e-15)


def test_extra_dims_equal_the_flattened_predictions() -> None:
    z = rng(6).standard_normal((2, 3, 4, 5))
    y = rng(7).integers(0, 3, (2, 4, 5))
    w = np.array([0.5, 2.0, 1.0])
    x = Tensor(z, dtype=np.float64, requires_grad=True)
    loss = cross_entropy(x, y, weight=w, reduction="none")
    assert loss.shape == (2, 4, 5)
    flat = cross_entropy(
        Tensor(np.moveaxis(z, 1, -1).reshape(-1, 3), dtype=np.float64),
        y.reshape(-1),
        weight=w,
        reduction="none",
    )
    assert_close(loss.data.reshape(-1), flat, rtol=1e-12)
    loss.sum().backward()
    assert x.grad.shape == z.shape


def test_fused_cross_entropy_is_one_graph_node() -> None:
    from tinytorch.autograd import topological_order

    x = Tensor(rng(8).standard_normal((4, 3)), requires_grad=True)
    assert len(topological_order(cross_entropy(x, np.array([0, 1, 2, 0])))) == 1
    weighted = cross_entropy(x, np.array([0, 1, 2, 0]), weight=[1.0, 2.0, 3.0])
    assert len(topological_order(weighted)) == 1


def test_fused_backward_is_softmax_minus_onehot_over_n() -> None:
    z = rng(8).standard_normal((6, 3))
    y = np.array([2, 0, 1, 1, 0, 2])
    x = Tensor(z, dtype=np.float64, requires_grad=True)
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
    weighted=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_fused_equals_composed_autograd(
    n: int, c: int, eps: float, reduction: str, weighted: bool, seed: int
) -> None:
    gen = rng(seed)
    z = gen.standard_normal((n, c)) * 3
    y = gen.integers(0, c, n)
    y[0] = 0  # at least one counted row
    if n > 1:
        y[1] = -100
    w = gen.uniform(0.5, 2.0, c) if weighted else None
    g = gen.standard_normal(n) if reduction == "none" else None
    fused_x = Tensor(z, dtype=np.float64, requires_grad=True)
    composed_x = Tensor(z, dtype=np.float64, requires_grad=True)
    options = {"weight": w, "reduction": reduction, "label_smoothing": eps}
    fused = cross_entropy(fused_x, y, **options)
    composed = cross_entropy_composed(composed_x, y, **options)
    assert_close(fused, composed, rtol=1e-12, atol=1e-14)
    fused.backward(g)
    composed.backward(g)
    assert_close(fused_x.grad, composed_x.grad, rtol=1e-10, atol=1e-14)


def test_cross_entropy_is_stable_for_huge_logits() -> None:
    z = np.array([[1e4, 0.0, -1e4], [-1e30, 1e30, 0.0]], dtype=np.float32)
    loss = cross_entropy(Tensor(z), np.array([1, 1]), reduction="none")
    assert np.isfinite(loss.data).all()
    assert_close(loss, [1e4, 0.0], rtol=1e-6)


def test_ignored_rows_add_nothing_and_get_no_gradient() -> None:
    z = rng(9).standard_normal((5, 3))
    y = np.array([0, -100, 2, -100, 1])
    keep = y != -100
    x = Tensor(z, dtype=np.float64, requires_grad=True)
    loss = cross_entropy(x, y, weight=[1.0, 2.0, 3.0], label_smoothing=0.2)
    loss.backward()
    assert (x.grad.data[~keep] == 0).all() and (x.grad.data[keep] != 0).all()
    none = cross_entropy(Tensor(z, dtype=np.float64), y, reduction="none")
    assert (none.data[~keep] == 0).all()


def test_a_mean_over_nothing_is_nan_as_in_pytorch() -> None:
    x = Tensor(np.zeros((2, 3)), dtype=np.float64, requires_grad=True)
    loss = cross_entropy(x, np.array([-100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    assert (x.grad.data == 0).all()  # nothing counted, nothing to learn
    zero_weight = nll_loss(Tensor(np.zeros((2, 3))), np.array([1, 1]), weight=[1.0, 0.0, 1.0])
    assert np.isnan(zero_weight.item())


@pytest.mark.parametrize("loss_fn", [cross_entropy, nll_loss])
def test_class_losses_keep_float32_and_give_no_gradient_to_labels(loss_fn: Any) -> None:
    x = Tensor(rng(9).standard_normal((4, 3, 2), dtype=np.float32), requires_grad=True)
    labels = Tensor(np.array([[0, 1], [2, 0], [1, 1], [0, 2]]))
    loss = loss_fn(x, labels, weight=np.array([1.0, 2.0, 0.5]))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    assert labels.grad is None


def test_float32_values_agree_with_float64() -> None:
    case = Case("cross_entropy", (6, 5), "index", weight="class", label_smoothing=0.1, ignore=1)
    arrays = arrays_for(case)
    expected = reference(case, arrays)
    got = CrossEntropyLoss(weight=arrays["weight"].astype(np.float32), label_smoothing=0.1)(
        Tensor(arrays["input"]), Tensor(arrays["target"])
    )
    assert got.dtype == np.float32
    assert_close(got, expected, rtol=2e-6, atol=1e-6)


# --------------------------------------------------------------------- BCE specifics
def test_bce_with_logits_is_stable_and_exact_in_the_tails() -> None:
    x = np.array([-200.0, -40.0, 0.0, 40.0, 200.0], dtype=np.float32)
    y = np.array([1.0, 1.0, 1.0, 0.0, 0.0], dtype=np.float32)
    for pos_weight in (None, np.float32(1.0)):
        loss = binary_cross_entropy_with_logits(
            Tensor(x), Tensor(y), reduction="none", pos_weight=pos_weight
        )
        assert np.isfinite(loss.data).all()
        assert_close(loss, [200.0, 40.0, np.log(2.0), 40.0, 200.0], rtol=1e-6)
    tiny = binary_cross_entropy_with_logits(Tensor(np.array([30.0])), Tensor(np.array([1.0])))
    assert_close(tiny, np.log1p(np.exp(-30.0)), rtol=1e-5)  # log1p keeps ~1e-13 exact


def test_pos_weight_scales_the_positive_term_only() -> None:
    x = rng(10).standard_normal((4, 2))
    positives = binary_cross_entropy_with_logits(
        Tensor(x, dtype=np.float64), np.ones((4, 2)), reduction="none", pos_weight=[3.0, 0.5]
    )
    base = binary_cross_entropy_with_logits(
        Tensor(x, dtype=np.float64), np.ones((4, 2)), reduction="none"
    )
    assert_close(positives, base.data * [3.0, 0.5], rtol=1e-12)
    negatives = binary_cross_entropy_with_logits(
        Tensor(x, dtype=np.float64), np.zeros((4, 2)), reduction="none", pos_weight=[3.0, 0.5]
    )
    assert_close(
        negatives,
        binary_cross_entropy_with_logits(
            Tensor(x, dtype=np.float64), np.zeros((4, 2)), reduction="none"
        ),
        rtol=1e-12,
    )


def test_bce_gradient_at_zero_is_half_minus_target() -> None:
    x = Tensor(np.zeros(2), dtype=np.float64, requires_grad=True)
    binary_cross_entropy_with_logits(x, Tensor(np.array([1.0, 0.0]), dtype=np.float64)).backward()
    assert_close(x.grad, [-0.25, 0.25], rtol=1e-12)


def test_bce_clamps_the_logs_at_minus_100() -> None:
    p = Tensor(np.array([0.0, 1.0, 0.0, 1.0]), dtype=np.float64, requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = binary_cross_entropy(p, y, reduction="none")
    assert_close(loss, [100.0, 100.0, 0.0, 0.0], rtol=1e-12)
    loss.sum().backward()
    epsilon = np.float64(np.float32(1e-12))  # PyTorch's EPSILON is a C float
    assert_close(p.grad, np.array([-1.0, 1.0, 0.0, 0.0]) / epsilon, rtol=1e-15)


def test_bce_equals_bce_with_logits_of_the_sigmoid() -> None:
    x = rng(11).standard_normal((3, 4))
    y = rng(12).uniform(0, 1, (3, 4))
    p = 1 / (1 + np.exp(-x))
    assert_close(
        binary_cross_entropy(Tensor(p, dtype=np.float64), y, weight=np.arange(1.0, 5.0)),
        binary_cross_entropy_with_logits(
            Tensor(x, dtype=np.float64), y, weight=np.arange(1.0, 5.0)
        ).data,
        rtol=1e-10,
    )


# --------------------------------------------------------------------- Modules
def test_loss_weights_are_buffers() -> None:
    w = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    for module in (CrossEntropyLoss(w), NLLLoss(w), BCELoss(w)):
        assert list(module.state_dict()) == ["weight"]
        assert list(module.parameters()) == []
    both = BCEWithLogitsLoss(weight=w, pos_weight=w)
    assert list(both.state_dict()) == ["weight", "pos_weight"]
    assert CrossEntropyLoss().weight is None and list(CrossEntropyLoss().state_dict()) == []


def test_repr_names_the_options() -> None:
    assert repr(CrossEntropyLoss()) == "CrossEntropyLoss(reduction='mean')"
    assert (
        repr(CrossEntropyLoss(label_smoothing=0.1, ignore_index=0))
        == "CrossEntropyLoss(ignore_index=0, reduction='mean', label_smoothing=0.1)"
    )
    assert (
        repr(CrossEntropyLoss(np.ones(3, dtype=np.float32)))
        == "CrossEntropyLoss(weight=<(3,) float32>, reduction='mean')"
    )
    assert repr(MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    assert repr(NLLLoss(reduction="none")) == "NLLLoss(reduction='none')"
    assert repr(BCELoss()) == "BCELoss(reduction='mean')"
    assert (
        repr(BCEWithLogitsLoss(pos_weight=np.ones(2, dtype=np.float32)))
        == "BCEWithLogitsLoss(reduction='mean', pos_weight=<(2,) float32>)"
    )


# --------------------------------------------------------------------- errors
def test_mse_refuses_shapes_that_would_broadcast() -> None:
    with pytest.raises(ValueError, match=r"mse_loss: input has shape \(4, 1\).*\(4,\)"):
        mse_loss(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))
    with pytest.raises(ValueError, match=r"mse_loss: weight has shape \(4,\).*\(4, 1\)"):
        mse_loss(Tensor(np.zeros((4, 1))), np.zeros((4, 1)), weight=np.ones(4))


def test_float_labels_are_refused_naming_the_fix() -> None:
    with pytest.raises(
        TypeError,
        match=r"integer class indices of shape \(3,\).*float32.*"
        r"astype\(np.int64\) \(or give float class probabilities of the input's",
    ):
        cross_entropy(Tensor(np.zeros((3, 4))), Tensor(np.zeros(3)))
    with pytest.raises(TypeError, match=r"one-hot rows\? take target.argmax\(dim=1\)"):
        nll_loss(Tensor(np.zeros((3, 4))), Tensor(np.eye(4)[[0, 1, 2]]))
    with pytest.raises(
        TypeError,
        match=r"class probabilities and must be float.*int64.*"
        r"one-hot rows\? take target.argmax\(dim=1\)",
    ):
        cross_entropy(Tensor(np.zeros((3, 4))), np.eye(4, dtype=np.int64)[[0, 1, 2]])


def test_wrong_label_shapes_are_named() -> None:
    logits = Tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"target must have shape \(3,\).*got \(3, 1\); flatten"):
        cross_entropy(logits, np.zeros((3, 1), dtype=np.int64))
    with pytest.raises(ValueError, match=r"got \(5,\); give one class index per row .*3 rows"):
        cross_entropy(logits, np.zeros(5, dtype=np.int64))
    with pytest.raises(ValueError, match=r"target must have shape \(\) for input of shape \(4,\)"):
        cross_entropy(Tensor(np.zeros(4)), np.zeros(1, dtype=np.int64))
    with pytest.raises(ValueError, match=r"input must be float scores.*got shape \(\)"):
        nll_loss(Tensor(np.float32(0.0)), np.int64(0))
    images = Tensor(np.zeros((2, 5, 4, 3)))
    with pytest.raises(ValueError, match=r"shape \(2, 4, 3\).*got \(2, 3, 4\); reshape it"):
        cross_entropy(images, np.zeros((2, 3, 4), dtype=np.int64))
    with pytest.raises(ValueError, match=r"classes must be dim 1.*input.permute\(0, 3, 1, 2\)"):
        cross_entropy(images, np.zeros((2, 5, 4), dtype=np.int64))


def test_out_of_range_labels_are_named_with_their_positions() -> None:
    with pytest.raises(IndexError, match=r"\[0, 4\).*got 4 at index 1, -1 at index 2 \(2 of 3"):
        cross_entropy(Tensor(np.zeros((3, 4))), np.array([0, 4, -1]))
    target = np.zeros((2, 2, 3), dtype=np.int64)
    target[1, 0, 2] = 7
    with pytest.raises(IndexError, match=r"got 7 at index \(1, 0, 2\) \(1 of 12"):
        nll_loss(Tensor(np.zeros((2, 5, 2, 3))), target)
    with pytest.raises(IndexError, match=r"got -1 at index \(\)"):
        cross_entropy(Tensor(np.zeros(3)), np.int64(-1))


def test_weights_are_checked() -> None:
    x = Tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"weight must hold one value per class, shape \(4,\)"):
        cross_entropy(x, np.array([0, 1, 2]), weight=np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(4,\).*got shape \(3,\)"):
        cross_entropy(x, np.full((3, 4), 0.25), weight=np.ones(3))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(3,\) does not broadcast"):
        binary_cross_entropy_with_logits(x, np.zeros((3, 4)), pos_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"weight of shape \(2, 3, 4\) does not broadcast"):
        binary_cross_entropy(Tensor(np.full((3, 4), 0.5)), np.zeros((3, 4)), np.ones((2, 3, 4)))
    trained = Tensor(np.ones(4), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"weight requires grad.*weight.detach\(\)"):
        nll_loss(x, np.array([0, 1, 2]), weight=trained)
    with no_grad():
        nll_loss(x, np.array([0, 1, 2]), weight=trained)  # fine: nothing is differentiated


def test_probability_targets_refuse_a_non_negative_ignore_index() -> None:
    with pytest.raises(ValueError, match=r"ignore_index=0 only applies to class-index targets"):
        cross_entropy(Tensor(np.zeros((3, 4))), np.full((3, 4), 0.25), ignore_index=0)


def test_bce_refuses_values_outside_0_1() -> None:
    with pytest.raises(
        ValueError,
        match=r"input must be in \[0, 1\], got 1.5 at flat index 1 "
        r"\(1 of 3 outside\); it must hold probabilities.*with_logits",
    ):
        binary_cross_entropy(Tensor(np.array([0.5, 1.5, 0.0])), np.zeros(3))
    with pytest.raises(ValueError, match=r"input must be in \[0, 1\], got nan"):
        binary_cross_entropy(Tensor(np.array([np.nan])), np.zeros(1))
    with pytest.raises(ValueError, match=r"target must be in \[0, 1\], got -1 at flat index 0"):
        binary_cross_entropy(Tensor(np.array([0.5])), np.array([-1.0]))


@pytest.mark.parametrize(
    "call",
    [
        lambda x, y: binary_cross_entropy_with_logits(x, y),
        lambda x, y: binary_cross_entropy(x, y),
    ],
    ids=["with_logits", "probabilities"],
)
def test_bce_shapes_and_dtypes_are_checked(call: Any) -> None:
    with pytest.raises(ValueError, match=r"input has shape \(4, 1\) but target has shape \(4,\)"):
        call(Tensor(np.full((4, 1), 0.5)), Tensor(np.zeros(4)))
    with pytest.raises(TypeError, match=r"must be float, got float32 and int64"):
        call(Tensor(np.full(4, 0.5)), Tensor(np.zeros(4, dtype=np.int64)))


def test_bad_options_raise() -> None:
    with pytest.raises(ValueError, match="reduction must be one of"):
        CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got -0.1"):
        cross_entropy(Tensor(np.zeros((2, 3))), np.full((2, 3), 1 / 3), label_smoothing=-0.1)
    for module in (MSELoss, NLLLoss, BCELoss, BCEWithLogitsLoss):
        with pytest.raises(ValueError, match="reduction must be one of"):
            module(reduction="mean ")
    with pytest.raises(ValueError, match="reduction must be one of"):
        nll_loss(Tensor(np.zeros((2, 3))), np.array([0, 1]), reduction="avg")


def test_deprecated_size_average_and_reduce_are_refused_with_the_replacement() -> None:
    with pytest.raises(
        ValueError,
        match=r"MSELoss: size_average and reduce are deprecated.*"
        r"size_average='sum'.*pass reduction=",
    ):
        MSELoss("sum")  # PyTorch's first positional argument is size_average
    with pytest.raises(ValueError, match=r"cross_entropy: size_average and reduce"):
        cross_entropy(Tensor(np.zeros((2, 3))), np.array([0, 1]), None, False)
    with pytest.raises(ValueError, match=r"reduce=False"):
        BCEWithLogitsLoss(reduce=False)
