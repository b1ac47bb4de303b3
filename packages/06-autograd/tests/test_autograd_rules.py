"""Every Op's derivative, chained by autograd, against finite differences (float64, 1e-6 rel).

One helper, `check_grad`, runs an expression built from Tensor ops forward and backward and
compares the gradient of every input with central differences (tinygrad's helper_test_op
style); the tables below list one or more expressions per Op of module 02. Exact-value tests
pin down the choices finite differences cannot see: ties, kinks and duplicate indices.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinytorch.autograd  # noqa: F401  (autograd on)
from tinytorch.autograd import unbroadcast
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Op, Tensor, apply, cat, maximum, minimum, stack, where
from tinytorch.tensor.dispatch import Grads

RTOL = 1e-6  # "within 1e-6 relative"
ATOL = 1e-7  # finite-difference round-off on gradients that are (close to) zero

Expression = Callable[..., Tensor]


def check_grad(f: Expression, *arrays: np.ndarray) -> None:
    """Gradients of ``f(*tensors)`` for every input agree with finite differences.

    Checked in float64 within ``RTOL`` relative, with a random ``grad_output`` (so a rule that
    ignores the incoming gradient fails). Then once more in float32: the gradients must keep the
    dtype of their inputs and agree with the float64 ones to float32 precision.
    """

    def forward(*xs: np.ndarray) -> np.ndarray:
        return f(*(Tensor(x, dtype=np.float64) for x in xs)).data

    def backward(*xs_and_grad: np.ndarray) -> list[np.ndarray]:
        *xs, grad_output = xs_and_grad
        leaves = [Tensor(x, dtype=np.float64, requires_grad=True) for x in xs]
        out = f(*leaves)
        assert out.dtype == np.float64 and out.requires_grad
        out.backward(grad_output)
        for leaf in leaves:
            assert leaf.grad is not None, "an input that requires grad got no .grad"
            assert leaf.grad.dtype == np.float64 and leaf.grad.shape == leaf.shape
        return [leaf.grad.data for leaf in leaves]  # type: ignore[union-attr]

    gradcheck(forward, arrays, backward, rtol=RTOL, atol=ATOL)

    grad_output = np.random.default_rng(1).standard_normal(np.shape(forward(*arrays)))
    expected = backward(*arrays, grad_output)
    leaves = [Tensor(x, dtype=np.float32, requires_grad=True) for x in arrays]
    f(*leaves).backward(grad_output)
    for leaf, grad in zip(leaves, expected, strict=True):
        assert leaf.grad is not None and leaf.grad.dtype == np.float32
        assert_close(leaf.grad, grad, rtol=1e-3, atol=1e-3)


_rng = np.random.default_rng(0)


def R(*shape: int) -> np.ndarray:
    """Uniform in [-2, 2)."""
    return _rng.uniform(-2.0, 2.0, shape)


def P(*shape: int) -> np.ndarray:
    """Positive: uniform in [0.5, 2) (for log, sqrt, fractional powers)."""
    return _rng.uniform(0.5, 2.0, shape)


def A(*shape: int) -> np.ndarray:
    """Away from zero: |x| in [0.5, 2) with a random sign (for division, abs)."""
    return P(*shape) * _rng.choice([-1.0, 1.0], shape)


def case(name: str, f: Expression, *arrays: np.ndarray) -> Any:
    return pytest.param(f, arrays, id=name)


CONDITION = np.array([[True], [False], [True]])
ELEMENTWISE = [
    case("add", lambda a, b: a + b, R(3, 4), R(4)),
    case("add-both-broadcast", lambda a, b: a + b, R(2, 1, 3), R(4, 1)),
    case("add-0d", lambda a, b: a + b, R(), R(2, 3)),
    case("add-scalar", lambda a: 2.5 + a + 1, R(3)),
    case("sub", lambda a, b: a - b, R(3, 4), R(3, 1)),
    case("sub-scalar", lambda a: 1 - a - 2, R(3)),
    case("mul", lambda a, b: a * b, R(3, 4), R(4)),
    case("mul-both-broadcast", lambda a, b: a * b, R(2, 1, 3), R(4, 1)),
    case("mul-same-tensor", lambda a: a * a, R(3, 2)),
    case("mul-scalar", lambda a: 3 * a * 0.5, R(3)),
    case("div", lambda a, b: a / b, R(3, 4), A(4)),
    case("div-both-broadcast", lambda a, b: a / b, A(3, 1), A(1, 4)),
    case("div-scalar", lambda a: 1 / a + a / 2, A(5)),
    case("pow-tensor-exponent", lambda a, b: a**b, P(3, 4), R(4)),
    case("pow-both-broadcast", lambda a, b: a**b, P(2, 1), R(1, 3)),
    case("pow-square-negative-base", lambda a: a**2, R(6)),
    case("pow-cube-negative-base", lambda a: a**3, R(6)),
    case("pow-sqrt", lambda a: a**0.5, P(6)),
    case("pow-negative-exponent", lambda a: a**-1.5, P(6)),
    case("rpow", lambda a: 2**a, R(6)),
    case("maximum", lambda a, b: a.maximum(b), R(3, 4), R(4)),
    case("maximum-function", lambda a, b: maximum(a, b), R(3, 1), R(1, 4)),
    case("maximum-scalar", lambda a: a.maximum(0.0), R(8)),
    case("minimum", lambda a, b: a.minimum(b), R(3, 4), R(4)),
    case("minimum-function", lambda a, b: minimum(a, b), R(3, 1), R(1, 4)),
    case("neg", lambda a: -a, R(3, 4)),
    case("exp", lambda a: a.exp(), R(3, 4)),
    case("log", lambda a: a.log(), P(3, 4)),
    case("sqrt", lambda a: a.sqrt(), P(3, 4)),
    case("abs", lambda a: a.abs(), A(3, 4)),
    case("clip", lambda a: a.clip(-1.0, 1.0), np.array([-1.7, -0.6, 0.2, 0.9, 1.3, -1.2])),
    case("clip-min-only", lambda a: a.clip(min=0.0), A(6)),
    case("clamp-max-only", lambda a: a.clamp(max=0.5), np.array([-1.0, 0.2, 0.7, 1.5])),
    case("astype-float64", lambda a: a.astype(np.float64) * a, R(3)),
    case("where-compare", lambda a, b: where(a > b, a, b), R(3, 4), R(4)),
    case("where-constant-mask", lambda a, b: where(CONDITION, a, b * 2), R(3, 4), R(4)),
    case("where-scalar-branch", lambda a: where(a > 0, a, 0.0), R(8)),
]

MATMUL = [
    case("dot-1d-1d", lambda a, b: a @ b, R(4), R(4)),
    case("vector-matrix", lambda a, b: a @ b, R(4), R(4, 3)),
    case("matrix-vector", lambda a, b: a @ b, R(3, 4), R(4)),
    case("matrix-matrix", lambda a, b: a @ b, R(3, 4), R(4, 5)),
    case("batched-matrix", lambda a, b: a @ b, R(2, 3, 4), R(4, 5)),
    case("matrix-batched", lambda a, b: a @ b, R(3, 4), R(2, 4, 5)),
    case("batched-broadcast", lambda a, b: a @ b, R(2, 1, 3, 4), R(5, 4, 2)),
    case("vector-batched", lambda a, b: a @ b, R(4), R(2, 4, 3)),
    case("batched-vector", lambda a, b: a @ b, R(2, 3, 4), R(4)),
    case("matmul-transposed", lambda a: a @ a.T, R(3, 4)),
]


def reduction(name: str, dim: Any, keepdim: bool) -> Expression:
    """``lambda a: a.<name>(dim, keepdim)``, e.g. ``a.sum((0, 2), True)``."""
    return lambda a: getattr(a, name)(dim, keepdim)


REDUCTIONS = [
    case(f"{name}-dim={dim}-keepdim={keepdim}", reduction(name, dim, keepdim), R(2, 3, 4))
    for name, dim, keepdim in itertools.product(
        ["sum", "mean", "amax", "amin", "var"], [None, 1, -1, (0, 2), (-1, 0)], [False, True]
    )
] + [
    case("var-correction-0", lambda a: a.var(dim=1, correction=0), R(3, 4)),
    case("var-correction-2", lambda a: a.var(correction=2), R(3, 4)),
    case("std", lambda a: a.std(dim=0, keepdim=True), R(3, 4)),
    case("sum-0d", lambda a: a.sum(), R()),
    case("max-1d", lambda a: a.max(), R(7)),
]

SHAPES = [
    case("reshape", lambda a: a.reshape(6, 4), R(2, 3, 4)),
    case("reshape-minus-one", lambda a: a.reshape((4, -1)), R(2, 3, 4)),
    case("reshape-of-transposed", lambda a: a.T.reshape(-1), R(2, 3, 4)),
    case("view", lambda a: a.view(3, 8), R(2, 3, 4)),
    case("permute", lambda a: a.permute(2, 0, 1), R(2, 3, 4)),
    case("permute-negative", lambda a: a.permute(-1, 0, -2), R(2, 3, 4)),
    case("transpose", lambda a: a.transpose(0, 2), R(2, 3, 4)),
    case("transpose-default", lambda a: a.transpose(), R(2, 3, 4)),
    case("T", lambda a: a.T, R(2, 3, 4)),
    case("squeeze-all", lambda a: a.squeeze(), R(2, 1, 3, 1)),
    case("squeeze-dim", lambda a: a.squeeze(1), R(2, 1, 3, 1)),
    case("squeeze-negative", lambda a: a.squeeze(-1), R(2, 1, 3, 1)),
    case("unsqueeze", lambda a: a.unsqueeze(0), R(2, 3)),
    case("unsqueeze-negative", lambda a: a.unsqueeze(-1), R(2, 3)),
    case("flatten", lambda a: a.flatten(), R(2, 3, 4)),
    case("flatten-from-1", lambda a: a.flatten(1), R(2, 3, 4)),
    case("flatten-0-1", lambda a: a.flatten(0, 1), R(2, 3, 4)),
    case("expand", lambda a: a.expand(5, 3, 4), R(3, 1)),
    case("expand-keep", lambda a: a.expand(-1, 4), R(3, 1)),
    case("contiguous", lambda a: a.T.contiguous() * 2, R(3, 4)),
    case("chain-of-views", lambda a: a.permute(2, 0, 1).reshape(4, -1).T[1:, ::2], R(2, 3, 4)),
]

MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
INDEXING = [
    case("int", lambda a: a[1], R(3, 4)),
    case("negative-ints", lambda a: a[-1, -2], R(3, 4)),
    case("slice", lambda a: a[:, 1:3], R(3, 4)),
    case("step-and-reverse", lambda a: a[::2, ::-1], R(3, 4)),
    case("ellipsis", lambda a: a[..., 0], R(2, 3, 4)),
    case("newaxis", lambda a: a[None, 1:], R(3, 4)),
    case("int-array-duplicates", lambda a: a[np.array([0, 0, 2])], R(3, 4)),
    case("list-duplicates", lambda a: a[[2, 0, 2, 2]], R(3, 4)),
    case("tensor-index-duplicates", lambda a: a[Tensor(np.array([1, 1]))], R(3, 4)),
    case("two-int-arrays", lambda a: a[np.array([0, 1, 0]), np.array([2, 2, 2])], R(3, 4)),
    case("slice-and-int-array", lambda a: a[1:, np.array([0, 0, 3])], R(3, 4)),
    case("bool-mask", lambda a: a[MASK], R(3, 4)),
    case("bool-mask-tensor", lambda a: a[Tensor(MASK)], R(3, 4)),
    case("bool-mask-from-values", lambda a: a[a.data > 0], R(3, 4)),
    case("iterate-rows", lambda a: stack(list(a)) * stack([row for row in a][::-1]), R(3, 4)),
]

JOINING = [
    case("cat-dim0", lambda a, b: cat([a, b], 0), R(2, 3), R(4, 3)),
    case("cat-three-same-twice", lambda a, b: cat([a, b, a], 1), R(2, 3), R(2, 1)),
    case("cat-negative-dim", lambda a, b: cat([a, b], dim=-1), R(2, 3), R(2, 2)),
    case("stack", lambda a, b: stack([a, b]), R(2, 3), R(2, 3)),
    case("stack-negative-dim", lambda a, b: stack([a, b], dim=-1), R(2, 3), R(2, 3)),
    case("stack-same-twice", lambda a, b: stack([a, a, b], 1), R(2, 3), R(2, 3)),
]

COMPOSED = [
    case(
        "broadcast-chain",
        lambda a, b: ((a * b + a / b - b**2) ** 2 + 1).exp().log().sqrt(),
        P(3, 1, 4),
        P(2, 1),
    ),
    case(
        "reductions-together",
        lambda a: a.sum(dim=1, keepdim=True) * a.mean(dim=(0, 1)) + a.var(dim=0) + a.amax(-1, True),
        R(3, 4, 5),
    ),
    case(
        "softmax-by-hand",
        lambda a: (a - a.amax(-1, True)).exp() / (a - a.amax(-1, True)).exp().sum(-1, True),
        R(3, 5),
    ),
    case(
        "mlp-by-hand",
        lambda x, w1, w2: ((x @ w1).maximum(0.0) @ w2).mean(),
        R(4, 3),
        R(3, 5),
        R(5, 2),
    ),
]


@pytest.mark.parametrize(("f", "arrays"), ELEMENTWISE)
def test_elementwise_rules(f: Expression, arrays: tuple[np.ndarray, ...]) -> None:
    check_grad(f, *arrays)


@pytest.mark.parametrize(("f", "arrays"), MATMUL)
def test_matmul_rule(f: Expression, arrays: tuple[np.ndarray, ...]) -> None:
    check_grad(f, *arrays)


@pytest.mark.parametrize(("f", "arrays"), REDUCTIONS)
def test_reduction_rules(f: Expression, arrays: tuple[np.ndarray, ...]) -> None:
    check_grad(f, *arrays)


@pytest.mark.parametrize(("f", "arrays"), SHAPES)
def test_shape_rules(f: Expression, arrays: tuple[np.ndarray, ...]) -> None:
    check_grad(f, *arrays)


@pytest.mark.parametrize(("f", "arrays"), INDEXING)
def test_indexing_rules(f: Expression, arrays: tuple[np.ndarray, ...]) -> None:
    check_grad(f, *arrays)


@pytest.mark.parametrize(("f", "arrays"), JOINING)
def test_concatenate_and_stack_rules(f: Expression, arrays: tuple[np.ndarray, ...]) -> None:
    check_grad(f, *arrays)


@pytest.mark.parametrize(("f", "arrays"), COMPOSED)
def test_composed_expressions(f: Expression, arrays: tuple[np.ndarray, ...]) -> None:
    check_grad(f, *arrays)


def test_check_grad_catches_a_wrong_rule() -> None:
    """The helper is not vacuous: a rule with a wrong factor fails it."""

    class Cube(Op):
        def forward(self, x: np.ndarray) -> np.ndarray:
            self.save_for_backward(x)
            return x**3

        def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
            (x,) = self.saved
            return (grad * 2 * x**2,)  # should be 3 x^2

    with pytest.raises(AssertionError, match="gradcheck failed"):
        check_grad(lambda a: apply(Cube(), a), R(4))


# --------------------------------------------------------------------- exact values
def grads_of(f: Expression, *values: Any, grad: Any = None) -> list[np.ndarray]:
    """Backward of ``f`` on float32 leaves made from ``values``; the leaves' gradients."""
    leaves = [Tensor(v, requires_grad=True) for v in values]
    out = f(*leaves)
    out.backward(grad)
    return [leaf.grad.data for leaf in leaves]  # type: ignore[union-attr]


def test_amax_and_max_without_dim_split_ties_equally() -> None:
    x = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]
    (g,) = grads_of(lambda t: t.amax(dim=1).sum(), x)
    assert_close(g, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    (g,) = grads_of(lambda t: t.max(), x)
    assert_close(g, [[0, 0.5, 0.5], [0, 0, 0]])
    (g,) = grads_of(lambda t: t.amax(dim=0, keepdim=True), x, grad=[[4.0, 6.0, 8.0]])
    assert_close(g, [[0, 6, 8], [4, 0, 0]])


def test_max_over_a_dim_sends_the_gradient_to_the_returned_index_as_pytorch() -> None:
    x = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]
    (g,) = grads_of(lambda t: t.max(dim=1).values.sum(), x)
    assert_close(g, [[0, 1, 0], [1, 0, 0]])  # the first maximum, the one `indices` names
    (g,) = grads_of(lambda t: t.max(0, keepdim=True)[0], x, grad=[[4.0, 6.0, 8.0]])
    assert_close(g, [[0, 6, 8], [4, 0, 0]])


def test_amin_and_min_without_dim_split_ties_equally() -> None:
    x = [[1.0, 1.0, 3.0, 1.0], [0.0, 5.0, 0.0, 2.0]]
    (g,) = grads_of(lambda t: t.amin(dim=-1).sum(), x)
    assert_close(g, [[1 / 3, 1 / 3, 0, 1 / 3], [0.5, 0, 0.5, 0]])
    (g,) = grads_of(lambda t: t.min(), x)
    assert_close(g, [[0, 0, 0, 0], [0.5, 0, 0.5, 0]])
    (g,) = grads_of(lambda t: t.min(dim=-1).values.sum(), x)
    assert_close(g, [[1, 0, 0, 0], [1, 0, 0, 0]])


def test_maximum_and_minimum_split_ties_between_the_two_inputs() -> None:
    a, b = [1.0, 2.0, 3.0], [1.0, 0.0, 5.0]
    assert_close(
        np.array(grads_of(lambda s, t: s.maximum(t).sum(), a, b)), [[0.5, 1, 0], [0.5, 0, 1]]
    )
    assert_close(
        np.array(grads_of(lambda s, t: s.minimum(t).sum(), a, b)), [[0.5, 0, 1], [0.5, 1, 0]]
    )


def test_maximum_tie_with_a_broadcast_scalar_sums_its_shares() -> None:
    ga, gb = grads_of(lambda s, t: maximum(s, t).sum(), [0.0, 1.0, 0.0, -1.0], 0.0)
    assert_close(ga, [0.5, 1, 0.5, 0])
    assert_close(gb, np.float32(2.0))  # 0.5 + 0 + 0.5 + 1


def test_duplicate_indices_accumulate() -> None:
    (g,) = grads_of(lambda t: t[[0, 0, 0, 1]].sum(), [10.0, 20.0, 30.0])
    assert_close(g, [3, 1, 0])
    (g,) = grads_of(
        lambda t: t[np.array([2, 2]), np.array([1, 1])], np.zeros((3, 2)), grad=[5.0, 7.0]
    )
    assert_close(g, [[0, 0], [0, 0], [0, 12]])


def test_bool_mask_routes_gradient_to_the_selected_elements() -> None:
    mask = np.array([True, False, True, False])
    (g,) = grads_of(lambda t: t[mask] * Tensor([2.0, 3.0]), [1.0, 2.0, 3.0, 4.0], grad=[1.0, 1.0])
    assert_close(g, [2, 0, 3, 0])


def test_abs_has_zero_gradient_at_zero() -> None:
    (g,) = grads_of(lambda t: t.abs().sum(), [-2.0, 0.0, 3.0])
    assert_close(g, [-1, 0, 1])


def test_clip_passes_gradient_inside_and_on_the_bounds() -> None:
    (g,) = grads_of(lambda t: t.clip(0.5, 1.0).sum(), [0.0, 0.5, 0.7, 1.0, 2.0])
    assert_close(g, [0, 1, 1, 1, 0])


def test_where_sends_each_element_to_the_chosen_branch_only() -> None:
    cond = np.array([True, False, True])
    ga, gb = grads_of(
        lambda s, t: where(cond, s, t), [1.0, 2.0, 3.0], [4.0, 5.0, 6.0], grad=[7.0, 8.0, 9.0]
    )
    assert_close(ga, [7, 0, 9])
    assert_close(gb, [0, 8, 0])


def test_pow_gradients_at_a_zero_or_negative_base_follow_pytorch() -> None:
    """d(a^b)/db = a^b log(a): NaN for a < 0 (as PyTorch), 0 at a == 0 when b >= 0 and -inf
    when b < 0; no warning either way (pytest turns RuntimeWarnings into errors)."""
    ga, gb = grads_of(lambda s, t: s**t, [-2.0, 0.0, 3.0], [2.0, 2.0, 2.0], grad=[1.0, 1.0, 1.0])
    assert_close(ga, [-4, 0, 6])
    assert np.isnan(gb[0]) and gb[1] == 0
    assert_close(gb[2], np.float32(9 * np.log(3.0)), rtol=1e-6)
    (g,) = grads_of(lambda s: (s**0.0).sum(), [0.0, 2.0])
    assert_close(g, [0, 0])  # b * a^(b-1) = 0 * 0^-1: PyTorch gives 0, not NaN
    _, gb = grads_of(lambda s, t: s**t, [0.0, 0.0], [-1.0, 0.0], grad=[1.0, 1.0])
    assert gb[0] == -np.inf and gb[1] == 0


def test_astype_gradient_comes_back_in_the_input_dtype() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad is not None and x.grad.dtype == np.float32
    assert_close(x.grad, [2, 4])


def test_integer_operands_need_no_gradient() -> None:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    k = Tensor(np.array([2, 3, 4]))
    (x * k + x[k - 2]).sum().backward()
    assert k.grad is None and x.grad is not None
    assert_close(x.grad, [3, 4, 5])


# --------------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    ("grad_shape", "shape", "expected"),
    [
        ((2, 3), (2, 3), np.ones((2, 3))),
        ((2, 3), (3,), np.full(3, 2.0)),
        ((2, 3), (1, 3), np.full((1, 3), 2.0)),
        ((2, 3), (2, 1), np.full((2, 1), 3.0)),
        ((2, 3), (), np.array(6.0)),
        ((4, 2, 3), (2, 1), np.full((2, 1), 12.0)),
        ((4, 2, 3), (1, 1, 1), np.full((1, 1, 1), 24.0)),
    ],
)
def test_unbroadcast_sums_over_broadcast_dims(
    grad_shape: tuple[int, ...], shape: tuple[int, ...], expected: np.ndarray
) -> None:
    result = unbroadcast(np.ones(grad_shape), shape)
    assert result.shape == shape
    assert_close(result, expected)


def test_an_op_without_a_backward_names_itself() -> None:
    class Mystery(Op):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return x + 1

    with pytest.raises(NotImplementedError, match=r"mystery: no derivative; Mystery.backward"):
        apply(Mystery(), Tensor([1.0], requires_grad=True)).sum().backward()


def test_a_new_op_with_forward_and_backward_is_differentiable() -> None:
    class Square(Op):
        def forward(self, x: np.ndarray) -> np.ndarray:
            self.save_for_backward(x)
            return x * x

        def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
            (x,) = self.saved
            return (2 * x * grad,)

    check_grad(lambda a: apply(Square(), a) * a, R(3, 2))
