"""The ops added in 0.2.0, beyond the derivative table: edge cases, dtypes, copies vs views,
PyTorch's semantics where NumPy's differ, and the errors (each names the op and the fix).

Forward and backward of every differentiable op against NumPy, finite differences and PyTorch
are in test_tensor_derivatives.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor, apply, ops, ops_extra, special, vjp
from tinytorch.tensor.dispatch import hooks


def grads(op, inputs, grad, needs=None):
    """Run ``op`` on ``inputs`` through `apply`, then its backward on ``grad``."""
    out = apply(op, *inputs)
    needs = needs or tuple(np.asarray(x).dtype.kind == "f" for x in inputs)
    return out, vjp(op, np.asarray(grad, dtype=out.dtype), needs)


# --------------------------------------------------------------------- pow at a zero base
def test_pow_of_a_zero_base_is_silent_and_its_gradient_follows_pytorch():
    a = Tensor(np.zeros(4), dtype=np.float64)
    b = Tensor(np.array([-1.0, 0.0, 2.0, 0.5]), dtype=np.float64)
    with np.errstate(all="raise"):  # no 'divide by zero encountered in power'
        out, (grad_a, grad_b) = grads(ops.Pow(), (a, b), np.ones(4))
    assert out.data.tolist() == [np.inf, 1.0, 0.0, 0.0]
    # d/da = b a^(b-1): -inf at b=-1, 0 where b == 0 (not 0 * inf), 0 at b=2, inf at b=0.5
    assert grad_a.tolist() == [-np.inf, 0.0, 0.0, np.inf]
    # d/db = a^b log(a): 0 where a == 0 and b >= 0; -inf where b < 0
    assert grad_b.tolist() == [-np.inf, 0.0, 0.0, 0.0]
    assert (Tensor([0.0, 0.0]) ** Tensor([-1.0, 2.0])).data.tolist() == [np.inf, 0.0]


def test_pow_of_a_negative_base_gives_nan_for_the_exponent_gradient():
    a, b = Tensor(np.array([-2.0]), dtype=np.float64), Tensor(np.array([2.0]), dtype=np.float64)
    out, (grad_a, grad_b) = grads(ops.Pow(), (a, b), [1.0])
    assert out.item() == 4.0 and grad_a.tolist() == [-4.0]
    assert np.isnan(grad_b).all()  # log(-2) is NaN in PyTorch too


@pytest.mark.parity
def test_pow_zero_base_gradients_match_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity needs torch")
    base, exponent = np.zeros(4), np.array([-1.0, 0.0, 2.0, 0.5])
    a = torch.tensor(base, requires_grad=True)
    b = torch.tensor(exponent, requires_grad=True)
    (a**b).sum().backward()
    _, (grad_a, grad_b) = grads(
        ops.Pow(), (Tensor(base, dtype=np.float64), Tensor(exponent, dtype=np.float64)), np.ones(4)
    )
    assert_close(grad_a, a.grad.numpy())
    assert_close(grad_b, b.grad.numpy())


# --------------------------------------------------------------------- elementwise math
def test_rsqrt_and_log2_give_inf_and_nan_silently_as_pytorch_does():
    x = Tensor(np.array([0.0, -1.0, 4.0]), dtype=np.float64)
    with np.errstate(all="raise"):
        assert x.rsqrt().data.tolist()[::2] == [np.inf, 0.5] and np.isnan(x.rsqrt().data[1])
        assert x.log2().data.tolist()[::2] == [-np.inf, 2.0] and np.isnan(x.log2().data[1])
        _, (grad,) = grads(ops_extra.Log2(), (x,), np.ones(3))
    assert grad[0] == np.inf and grad[2] == pytest.approx(1 / (4 * math.log(2)))


def test_integer_inputs_give_float32_except_sign():
    ints = Tensor([-2, 0, 3])
    for method in ("sin", "cos", "exp2", "log2", "rsqrt", "erf"):
        with np.errstate(divide="ignore", invalid="ignore"):
            assert getattr(ints, method)().dtype == np.float32, method
    assert ints.sign().dtype == np.int64 and ints.sign().tolist() == [-1, 0, 1]
    assert tt.exp2(Tensor([1, 2])).tolist() == [2.0, 4.0]


def test_sign_has_a_zero_gradient_and_is_recorded():
    op = ops_extra.Sign()
    assert op.differentiable
    _, (grad,) = grads(op, (Tensor([-2.0, 0.0, 3.0]),), [1.0, 1.0, 1.0])
    assert grad.tolist() == [0.0, 0.0, 0.0] and grad.dtype == np.float32


def test_erf_moved_here_from_module_04_with_its_accuracy():
    x = np.linspace(-7, 7, 2001)
    reference = np.vectorize(math.erf, otypes=[np.float64])(x)
    assert_close(special.erf(x), reference, rtol=0, atol=2e-15)
    assert_close(special.erf(x.astype(np.float32)), reference, rtol=0, atol=6e-7)
    assert special.erf(np.array(0.0)) == 0.0 and special.erf(np.array(30.0)) == 1.0
    assert_close(special.erf(-x), -special.erf(x), rtol=0, atol=0)  # odd
    with pytest.raises(TypeError, match=r"erf: .*int64.*astype\(np.float32\)"):
        special.erf(np.arange(3))
    assert Tensor([0, 1]).erf().dtype == np.float32  # the Tensor method converts integers
    assert_close(tt.erf(Tensor([1.0])), [math.erf(1.0)], rtol=1e-6)


# --------------------------------------------------------------------- masking and triangles
def test_masked_fill_keeps_the_dtype_and_casts_the_value():
    ints = Tensor([1, 2, 3])
    out = ints.masked_fill(Tensor([True, False, True]), 2.7)
    assert out.dtype == np.int64 and out.tolist() == [2, 2, 2]  # as PyTorch: cast, truncated
    x = tt.zeros(2, 3)
    filled = x.masked_fill(Tensor([[True], [False]]), -np.inf)  # (2, 1) mask broadcasts
    assert filled.tolist() == [[-np.inf] * 3, [0.0] * 3] and x.tolist() == [[0.0] * 3] * 2


def test_masked_fill_errors():
    x = tt.zeros(2, 3)
    with pytest.raises(TypeError, match=r"masked_fill: the mask must be a bool tensor.*int64"):
        x.masked_fill(Tensor([1, 0, 1]), 1.0)
    with pytest.raises(ValueError, match=r"masked_fill: shapes \(3, 1\) and \(2, 3\) cannot be"):
        x.masked_fill(Tensor(np.ones((3, 1), dtype=bool)), 1.0)
    with pytest.raises(ValueError, match=r"masked_fill: a mask of shape \(2, 2, 3\) does not"):
        x.masked_fill(Tensor(np.ones((2, 2, 3), dtype=bool)), 1.0)
    with pytest.raises(ValueError, match=r"value must be a number or a 0-d tensor.*where"):
        x.masked_fill(Tensor([True, False, True]), Tensor([1.0, 2.0]))


def test_tril_and_triu_need_a_matrix():
    x = tt.ones(3, 3)
    assert x.tril().tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    assert x.triu(1).tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    with pytest.raises(ValueError, match=r"tril: the tensor needs at least 2 dims.*\(3,\)"):
        tt.ones(3).tril()
    with pytest.raises(ValueError, match="triu: "):
        tt.tensor(1.0).triu()


# --------------------------------------------------------------------- split and chunk
@pytest.mark.parametrize(
    ("length", "arg", "sizes"),
    [
        (6, 4, [4, 2]),
        (6, 2, [2, 2, 2]),
        (6, 6, [6]),
        (6, 10, [6]),
        (6, [1, 0, 5], [1, 0, 5]),
        (0, 2, [0]),
    ],
)
def test_split_sizes(length, arg, sizes):
    x = tt.arange(length * 2).reshape(length, 2)
    parts = x.split(arg)
    assert isinstance(parts, tuple) and [p.shape[0] for p in parts] == sizes
    assert tt.cat(list(parts)).tolist() == x.tolist()


@pytest.mark.parametrize(
    ("length", "chunks", "sizes"),
    [
        (6, 4, [2, 2, 2]),  # ceil(6 / 4) = 2: only 3 chunks, as in PyTorch
        (6, 5, [2, 2, 2]),
        (6, 6, [1] * 6),
        (6, 7, [1] * 6),
        (5, 3, [2, 2, 1]),
        (5, 1, [5]),
        (0, 3, [0, 0, 0]),
    ],
)
def test_chunk_sizes(length, chunks, sizes):
    parts = tt.chunk(tt.arange(length), chunks)
    assert [p.shape[0] for p in parts] == sizes


def test_split_and_chunk_give_views_along_any_dim():
    x = tt.arange(24).reshape(2, 3, 4)
    a, b = x.split([1, 3], dim=-1)
    assert a.shape == (2, 3, 1) and b.shape == (2, 3, 3)
    assert np.shares_memory(a.data, x.data) and np.shares_memory(b.data, x.data)
    assert [p.shape for p in x.chunk(2, dim=1)] == [(2, 2, 4), (2, 1, 4)]


def test_split_and_chunk_errors():
    x = tt.arange(6)
    with pytest.raises(ValueError, match=r"split: sizes \[2, 2\] must .* add up to 6"):
        x.split([2, 2])
    with pytest.raises(ValueError, match=r"split: split_size must be positive.*got 0"):
        x.split(0)
    with pytest.raises(ValueError, match=r"chunk: chunks must be positive, got 0"):
        x.chunk(0)
    with pytest.raises(IndexError, match=r"split: dim 1 is out of range"):
        x.split(2, dim=1)
    with pytest.raises(ValueError, match=r"split: a 0-d tensor"):
        tt.tensor(1.0).split(1)


@pytest.mark.parity
def test_split_and_chunk_match_pytorch_on_a_grid():
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity needs torch")
    for length in range(8):
        x, t = tt.arange(length), torch.arange(length)
        for n in range(1, 9):
            assert [p.shape for p in x.chunk(n)] == [tuple(p.shape) for p in t.chunk(n)]
            assert [p.shape for p in x.split(n)] == [tuple(p.shape) for p in t.split(n)]


# --------------------------------------------------------------------- gather, scatter, select
def test_gather_with_an_index_shorter_than_the_input_follows_pytorch():
    x = tt.arange(12.0).reshape(3, 4)
    out = x.gather(0, Tensor([[2, 0]]))  # index (1, 2): only columns 0 and 1 are read
    assert out.shape == (1, 2) and out.tolist() == [[8.0, 1.0]]
    assert x.gather(1, Tensor([[3], [0], [1]])).tolist() == [[3.0], [4.0], [9.0]]


def test_gather_errors():
    x = tt.zeros(3, 4)
    with pytest.raises(ValueError, match=r"gather: index of shape \(4, 2\) is longer"):
        x.gather(1, Tensor(np.zeros((4, 2), dtype=np.int64)))
    with pytest.raises(IndexError, match=r"gather: index holds values from -1 to 0.*size 4"):
        x.gather(1, Tensor([[-1, 0]]))
    with pytest.raises(ValueError, match=r"gather: index must be an integer tensor"):
        x.gather(1, Tensor([[0.0]]))


def test_scatter_add_accumulates_repeats_and_uses_only_the_indexed_part_of_src():
    x = tt.zeros(3, 4)
    out = x.scatter_add(1, Tensor([[0, 0], [1, 3]]), tt.ones(2, 5))
    assert out.tolist() == [[2, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0]]
    assert x.tolist() == [[0.0] * 4] * 3  # a copy: x is unchanged


def test_scatter_add_errors():
    x = tt.zeros(3, 4)
    index = Tensor([[0, 1]])
    with pytest.raises(TypeError, match=r"scatter_add: src has dtype float64 .*float32"):
        x.scatter_add(0, index, Tensor(np.ones((1, 2)), dtype=np.float64))
    with pytest.raises(ValueError, match=r"scatter_add: index of shape \(1, 2\) does not fit"):
        x.scatter_add(0, index, tt.ones(1, 1))
    with pytest.raises(IndexError, match=r"scatter_add: index holds values from 0 to 3"):
        x.scatter_add(0, Tensor([[0, 3]]), tt.ones(1, 2))
    with pytest.raises(TypeError, match=r"scatter_add: index must be an integer tensor"):
        x.scatter_add(0, Tensor([[0.0]]), tt.ones(1, 1))


def test_index_select_of_a_0d_index_keeps_the_dim_and_errors():
    x = tt.arange(12.0).reshape(3, 4)
    assert x.index_select(0, Tensor(1)).shape == (1, 4)  # as PyTorch
    with pytest.raises(ValueError, match=r"index_select: index must be 1-d"):
        x.index_select(0, Tensor([[0]]))
    with pytest.raises(IndexError, match=r"index_select: index holds values from 0 to 4"):
        x.index_select(1, Tensor([0, 4]))
    with pytest.raises(TypeError, match=r"index_select: index must be an integer tensor"):
        x.index_select(1, Tensor([0.0]))


@pytest.mark.parity
def test_gather_and_scatter_add_with_short_indices_match_pytorch_forward():
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity needs torch")
    rng = np.random.default_rng(3)
    x, src = rng.standard_normal((4, 5)), rng.standard_normal((3, 6))
    for dim in (0, 1, -1):
        index = rng.integers(0, 4, size=(2, 3))
        theirs = torch.gather(torch.tensor(x), dim, torch.tensor(index)).numpy()
        assert_close(tt.gather(Tensor(x, dtype=np.float64), dim, Tensor(index)), theirs)
        theirs = torch.tensor(x).scatter_add(dim, torch.tensor(index), torch.tensor(src))
        ours = Tensor(x, dtype=np.float64).scatter_add(
            dim, Tensor(index), Tensor(src, dtype=np.float64)
        )
        assert_close(ours, theirs.numpy())


# --------------------------------------------------------------------- one_hot, any, all
def test_one_hot_is_int64_and_not_differentiable():
    out = tt.one_hot(Tensor([[0, 2], [1, 0]]))
    assert out.dtype == np.int64 and out.shape == (2, 2, 3)
    assert out.tolist() == [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [1, 0, 0]]]
    assert tt.one_hot(Tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    assert not ops_extra.OneHot.differentiable


def test_one_hot_errors():
    with pytest.raises(ValueError, match=r"one_hot: labels range from 0 to 5.*num_classes=3"):
        tt.one_hot(Tensor([0, 5]), 3)
    with pytest.raises(ValueError, match=r"one_hot: labels range from -1"):
        tt.one_hot(Tensor([-1, 1]))
    with pytest.raises(TypeError, match=r"one_hot: labels must be an integer tensor.*\.long\(\)"):
        tt.one_hot(Tensor([0.0]))
    with pytest.raises(ValueError, match=r"one_hot: cannot infer .* empty tensor"):
        tt.one_hot(Tensor(np.zeros(0, dtype=np.int64)))
    assert tt.one_hot(Tensor(np.zeros(0, dtype=np.int64)), 2).shape == (0, 2)


@pytest.mark.parametrize("name", ["any", "all"])
def test_any_and_all_match_numpy_and_are_not_recorded(name):
    a = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    x = Tensor(a)
    saved = hooks.recorder
    seen = []
    hooks.recorder = lambda op, inputs, out: seen.append(op)
    try:
        for dim, keepdim in [(None, False), (0, False), (-1, True), ((0, 1), False)]:
            out = getattr(x, name)(dim, keepdim=keepdim)
            expected = getattr(np, name)(a, axis=dim, keepdims=keepdim)
            assert out.dtype == np.bool_ and out.shape == expected.shape
            np.testing.assert_array_equal(out.data, expected)
            np.testing.assert_array_equal(getattr(tt, name)(x, dim).data, getattr(np, name)(a, dim))
    finally:
        hooks.recorder = saved
    assert seen == []


def test_argmin_and_the_builtins_any_all_are_unharmed():
    assert tt.tensor([[3.0, 1.0], [0.0, 5.0]]).argmin(dim=1).tolist() == [1, 0]
    namespace: dict[str, object] = {}
    exec("from tinytorch.tensor import *", namespace)
    assert "any" not in namespace and "all" not in namespace  # Python's builtins stay


@pytest.mark.parity
def test_one_hot_any_all_match_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity needs torch")
    labels = np.array([[0, 3], [2, 2]])
    theirs = torch.nn.functional.one_hot(torch.tensor(labels))
    assert tt.one_hot(Tensor(labels)).tolist() == theirs.tolist()
    a = np.array([[0.0, 1.0], [0.0, 0.0]])
    for dim in (0, 1, (0, 1)):
        assert tt.any(Tensor(a), dim).tolist() == torch.any(torch.tensor(a), dim).tolist()
        assert tt.all(Tensor(a), dim).tolist() == torch.all(torch.tensor(a), dim).tolist()


# --------------------------------------------------------------------- reductions and scans
def test_prod_gradient_with_zeros_is_exact():
    x = Tensor(np.array([[2.0, 3.0, 4.0], [0.0, 3.0, 4.0], [0.0, 3.0, 0.0]]), dtype=np.float64)
    out, (grad,) = grads(ops_extra.Prod(1), (x,), np.ones(3))
    assert out.tolist() == [24.0, 0.0, 0.0]
    assert grad.tolist() == [[12.0, 8.0, 6.0], [12.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert Tensor([[1, 2], [3, 4]]).prod().item() == 24  # integers stay integers


def test_cumsum_backward_is_a_reversed_cumsum():
    x = Tensor(np.array([1.0, 2.0, 3.0]), dtype=np.float64)
    out, (grad,) = grads(ops_extra.CumSum(0), (x,), [1.0, 10.0, 100.0])
    assert out.tolist() == [1.0, 3.0, 6.0] and grad.tolist() == [111.0, 110.0, 100.0]
    assert tt.tensor(5.0).cumsum(0).item() == 5.0  # a 0-d tensor, as in PyTorch
    assert Tensor([True, True]).cumsum(0).dtype == np.int64


def test_logsumexp_is_stable():
    x = Tensor([[1000.0, 1000.0], [-1000.0, -1000.0]])  # float32: exp overflows above 88
    with np.errstate(all="raise"):
        out = x.logsumexp(1)
    assert out.dtype == np.float32
    assert_close(out, [1000.0 + math.log(2), -1000.0 + math.log(2)], rtol=1e-6)


def test_logsumexp_of_infinities_follows_pytorch():
    x = Tensor(np.array([[-np.inf, -np.inf], [np.inf, 1.0]]), dtype=np.float64)
    with np.errstate(all="raise"):
        out, (grad,) = grads(ops_extra.LogSumExp(1), (x,), [1.0, 1.0])
    assert out.tolist() == [-np.inf, np.inf]
    assert np.isnan(grad[0]).all() and np.isnan(grad[1, 0]) and grad[1, 1] == 0.0
    assert tt.logsumexp(tt.zeros(0, 3), 0).tolist() == [-np.inf] * 3  # an empty sum


# --------------------------------------------------------------------- rearranging
def test_flip_roll_repeat_copy_as_pytorch_does():
    x = tt.arange(6.0).reshape(2, 3)
    for out in (x.flip(0), x.roll(1), x.repeat(1, 1), tt.pad(x, (0, 0))):
        assert not np.shares_memory(out.data, x.data)
    assert x.flip((0, 1)).tolist() == [[5, 4, 3], [2, 1, 0]]
    assert x.flip(-1).tolist() == tt.flip(x, [1]).tolist() == [[2, 1, 0], [5, 4, 3]]
    assert x.roll(1).tolist() == [[5, 0, 1], [2, 3, 4]]
    assert x.roll((1, 1), (0, 1)).tolist() == [[5, 3, 4], [2, 0, 1]]
    assert x.repeat(2, 1, 2).shape == (2, 2, 6)


def test_flip_roll_repeat_errors():
    x = tt.zeros(2, 3)
    with pytest.raises(ValueError, match=r"repeat: sizes \(2,\) must be .* at least as many"):
        x.repeat(2)
    with pytest.raises(ValueError, match=r"roll: shifts \(1, 2\) and dims \(0,\) differ"):
        x.roll((1, 2), 0)
    with pytest.raises(ValueError, match=r"roll: 2 shifts need as many dims"):
        x.roll((1, 2))
    with pytest.raises(ValueError, match=r"flip: dims \(0, -2\) name a dim twice"):
        x.flip(0, -2)
    with pytest.raises(IndexError, match=r"flip: dim 2 is out of range"):
        x.flip(2)


def test_pad_modes():
    x = tt.arange(4.0).reshape(1, 4)
    assert tt.pad(x, (2, 1), mode="reflect").tolist() == [[2, 1, 0, 1, 2, 3, 2]]
    assert tt.pad(x, (2, 1), mode="replicate").tolist() == [[0, 0, 0, 1, 2, 3, 3]]
    assert tt.pad(x, (2, 1), mode="circular").tolist() == [[2, 3, 0, 1, 2, 3, 0]]
    assert tt.pad(x, (1, 1, 1, 0), value=9).tolist() == [[9] * 6, [9, 0, 1, 2, 3, 9]]
    assert tt.pad(x, (-1, -2)).tolist() == [[1.0]]
    assert tt.pad(x, (6, 0), mode="replicate").shape == (1, 10)  # replicate: any amount
    assert tt.pad(Tensor([[1, 2]]), (1, 0), value=7).tolist() == [[7, 1, 2]]  # keeps int64


def test_pad_errors():
    x = tt.zeros(2, 3)
    with pytest.raises(ValueError, match=r"pad: \(1,\) must hold \(before, after\) pairs"):
        tt.pad(x, (1,))
    with pytest.raises(ValueError, match=r"at most one pair per dim"):
        tt.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: reflect padding of \(3, 0\) needs dim 1 \(size 3"):
        tt.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match=r"pad: circular padding of \(0, 4\)"):
        tt.pad(x, (0, 4), mode="circular")
    with pytest.raises(ValueError, match=r"pad: mode 'wrap' is not one of"):
        tt.pad(x, (1, 1), mode="wrap")
    with pytest.raises(ValueError, match=r"pad: value is only used with mode='constant'"):
        tt.pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(ValueError, match=r"pad: \(-2, -2\) crops dim 1 .* below 0"):
        tt.pad(x, (-2, -2))


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_pytorch(mode):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity needs torch")
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    pads = [(2, 0, 1, 3), (1, 1, 2, 2, 1, 0), (0, -1, 2, 1)]  # torch: 4 or 6 for 4-d
    for pad in pads + ([(1, 2), (0, 0, 0, 0, 0, 0, 1, 1)] if mode == "constant" else []):
        theirs = torch.nn.functional.pad(torch.tensor(x), pad, mode=mode)
        assert_close(tt.pad(Tensor(x, dtype=np.float64), pad, mode=mode), theirs.numpy())


# --------------------------------------------------------------------- einsum
def test_einsum_errors():
    a = tt.ones(2, 3)
    with pytest.raises(ValueError, match=r"einsum: 'ij,jk' names 2 operands, but 1 were given"):
        tt.einsum("ij,jk", a)
    with pytest.raises(ValueError, match=r"einsum: operand subscripts 'ijk' name 3 dims.*\(2, 3\)"):
        tt.einsum("ijk->i", a)
    with pytest.raises(ValueError, match=r"einsum: subscripts must be letters"):
        tt.einsum("i1->i", a)
    with pytest.raises(ValueError, match=r"einsum: 'ij,ij->i' on shapes \(2, 3\), \(3, 2\)"):
        tt.einsum("ij,ij->i", a, tt.ones(3, 2))
    with pytest.raises(TypeError, match=r"einsum: the first argument must be the equation"):
        tt.einsum(a, [0, 1])


@pytest.mark.parametrize(
    "equation", ["ij", "ji", "Ba,aC", "i,i", "...a,ab", "b...a", "ab,Ab", "iij", "ij->"]
)
def test_einsum_matches_numpy_including_implicit_outputs(equation):
    rng = np.random.default_rng(0)
    sizes = {"i": 3, "j": 4, "a": 2, "b": 3, "B": 4, "C": 5, "A": 2}
    operands = []
    for subscripts in equation.split("->")[0].split(","):
        shape = [2, 3] if "..." in subscripts else []
        shape += [sizes[c] for c in subscripts.replace("...", "")]
        operands.append(rng.standard_normal(shape))
    expected = np.einsum(equation, *operands)
    out = tt.einsum(equation, *(Tensor(a, dtype=np.float64) for a in operands))
    assert out.shape == expected.shape
    assert_close(out, expected, rtol=1e-12, atol=1e-12)
