"""Conv2d: the im2col Op against the loop oracle, its backward against finite differences, the
Module's manual backward against autograd, and the column matrix itself."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.autograd import held_activation_bytes, no_grad
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.spatial import Conv2d, col2im, conv2d, conv2d_naive, im2col
from tinytorch.spatial.functional import make_conv2d_op
from tinytorch.spatial.ops import Conv2dOp, pad2d
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# (in, out, kernel, stride, padding, dilation, groups, H, W)
CONFIGS: dict[str, tuple[Any, ...]] = {
    "plain": (3, 4, 3, 1, 0, 1, 1, 6, 7),
    "padding": (3, 4, 3, 1, 1, 1, 1, 5, 5),
    "stride2": (2, 3, 3, 2, 0, 1, 1, 7, 8),
    "stride2_padding": (2, 3, 3, 2, 1, 1, 1, 6, 7),
    "dilation2": (2, 3, 3, 1, 0, 2, 1, 7, 7),
    "dilation2_padding2": (2, 3, 3, 1, 2, 2, 1, 5, 6),
    "groups2": (4, 6, 3, 1, 1, 1, 2, 5, 5),
    "depthwise": (3, 3, 3, 1, 1, 1, 3, 5, 4),
    "all_combined": (4, 6, (3, 2), (2, 1), (1, 2), (2, 1), 2, 8, 6),
    "one_by_one": (5, 2, 1, 1, 0, 1, 1, 4, 4),
    "kernel_as_big_as_input": (2, 2, 4, 1, 0, 1, 1, 4, 4),
}


def conv_case(name: str, dtype: Any = np.float64, seed: int = 0) -> tuple[Any, ...]:
    c_in, c_out, kernel, stride, padding, dilation, groups, h, w = CONFIGS[name]
    generator = rng(seed)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = generator.standard_normal((2, c_in, h, w)).astype(dtype)
    weight = generator.standard_normal((c_out, c_in // groups, kh, kw)).astype(dtype)
    bias = generator.standard_normal(c_out).astype(dtype)
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return x, weight, bias, options


def make_op(weight: np.ndarray, options: dict[str, Any]) -> Conv2dOp:
    return make_conv2d_op(weight.shape[2:], **options)


# --------------------------------------------------------------------- forward
@pytest.mark.parametrize("name", CONFIGS)
def test_forward_matches_the_loop_oracle(name: str) -> None:
    x, weight, bias, options = conv_case(name)
    out = make_op(weight, options).forward(x, weight, bias)
    assert_close(out, conv2d_naive(x, weight, bias, **options), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["plain", "all_combined", "groups2"])
def test_forward_without_bias(name: str) -> None:
    x, weight, _, options = conv_case(name)
    out = conv2d(Tensor(x, dtype=np.float64), Tensor(weight, dtype=np.float64), **options)
    assert_close(out, conv2d_naive(x, weight, None, **options), rtol=1e-10, atol=1e-12)


def test_known_values_by_hand() -> None:
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    weight = np.array([[[[1, 0], [0, -1]]]], dtype=np.float32)  # x[i, j] - x[i+1, j+1]
    out = conv2d(Tensor(x), Tensor(weight), Tensor(np.array([0.5], dtype=np.float32)), stride=2)
    assert out.shape == (1, 1, 2, 2)
    assert_close(out, np.full((1, 1, 2, 2), -5 + 0.5, dtype=np.float32))


def test_float32_stays_float32_and_float64_stays_float64() -> None:
    x, weight, bias, options = conv_case("groups2", dtype=np.float32)
    out = conv2d(Tensor(x), Tensor(weight), Tensor(bias), **options)
    assert out.dtype == np.float32
    x64 = Tensor(x.astype(np.float64), dtype=np.float64)
    assert conv2d(x64, Tensor(weight), Tensor(bias), **options).dtype == np.float64


def test_padding_same_and_valid() -> None:
    generator = rng(3)
    x = generator.standard_normal((1, 2, 6, 5)).astype(np.float32)
    for kernel, dilation in [((3, 3), 1), ((2, 4), 1), ((3, 2), 2)]:
        layer = Conv2d(2, 3, kernel, padding="same", dilation=dilation, rng=generator)
        out = layer(Tensor(x))
        assert out.shape == (1, 3, 6, 5)
        op = layer._ctx
        assert isinstance(op, Conv2dOp)
        (top, bottom), (left, right) = op.padding
        padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        expected = conv2d_naive(padded, layer.weight.data, layer.bias.data, dilation=dilation)  # type: ignore[union-attr]
        assert_close(out, expected, rtol=1e-5, atol=1e-5)
    valid = Conv2d(2, 3, 3, padding="valid", rng=generator)
    assert valid(Tensor(x)).shape == (1, 3, 4, 3)


def test_non_contiguous_input() -> None:
    x, weight, bias, options = conv_case("stride2_padding")
    transposed = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    assert not transposed.flags.c_contiguous
    out = make_op(weight, options).forward(transposed, weight, bias)
    assert_close(out, conv2d_naive(x, weight, bias, **options), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------- im2col / col2im
def test_im2col_follows_its_index_formula() -> None:
    generator = rng(1)
    x = generator.standard_normal((2, 4, 7, 6))
    kernel, stride, dilation, groups = (2, 3), (2, 1), (2, 1), 2
    ho, wo = (7 - 2 * 1 - 1) // 2 + 1, (6 - 1 * 2 - 1) // 1 + 1
    cols = im2col(x, kernel, stride, dilation, groups, (ho, wo))
    assert cols.shape == (2, 2, 2 * 3 * 2, ho * wo) and cols.flags.c_contiguous
    for n, g, i, j, c, p, q in [
        (0, 0, 0, 0, 0, 0, 0),
        (1, 1, 1, 2, 1, 2, 3),
        (0, 1, 1, 0, 0, 1, 2),
    ]:
        row, column = (i * 3 + j) * 2 + c, p * wo + q
        assert cols[n, g, row, column] == x[n, g * 2 + c, p * 2 + i * 2, q * 1 + j * 1]


def test_col2im_is_the_adjoint_of_im2col() -> None:
    """<im2col(x), c> == <x, col2im(c)> for every x and c: col2im is im2col's transpose."""
    generator = rng(2)
    x = generator.standard_normal((2, 4, 8, 7))
    kernel, stride, dilation, groups = (3, 2), (2, 2), (1, 2), 2
    ho, wo = (8 - 2 - 1) // 2 + 1, (7 - 2 - 1) // 2 + 1
    cols = im2col(x, kernel, stride, dilation, groups, (ho, wo))
    c = generator.standard_normal(cols.shape)
    back = col2im(c, x.shape, kernel, stride, dilation)
    assert back.shape == x.shape
    assert np.isclose(np.sum(cols * c), np.sum(x * back))


def test_one_by_one_conv_columns_are_a_view_of_the_input() -> None:
    x = rng(4).standard_normal((3, 5, 4, 4)).astype(np.float32)
    cols = im2col(x, (1, 1), (1, 1), (1, 1), 1, (4, 4))
    assert np.shares_memory(cols, x)  # no copy: the "column matrix" is the input itself


def test_pad2d() -> None:
    x = np.ones((1, 1, 2, 3), dtype=np.float32)
    padded = pad2d(x, ((1, 0), (2, 1)), value=-1.0)
    assert padded.shape == (1, 1, 3, 6) and padded.dtype == np.float32
    assert padded.sum() == 6 - (18 - 6)
    assert pad2d(x, ((0, 0), (0, 0))) is x


# --------------------------------------------------------------------- backward
@pytest.mark.parametrize("name", CONFIGS)
def test_backward_matches_finite_differences(name: str) -> None:
    x, weight, bias, options = conv_case(name)

    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        return make_op(w, options).forward(x, w, b)

    def backward(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> list:
        op = make_op(w, options)
        op.forward(x, w, b)
        return list(op.backward(g, (True, True, True)))

    gradcheck(forward, [x, weight, bias], backward, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["stride2_padding", "groups2", "all_combined"])
def test_autograd_matches_finite_differences(name: str) -> None:
    x, weight, bias, options = conv_case(name)

    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        return make_op(w, options).forward(x, w, b)

    def backward(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> list:
        tensors = [Tensor(a, dtype=np.float64, requires_grad=True) for a in (x, w, b)]
        conv2d(*tensors, **options).backward(g)
        return [t.grad.data for t in tensors]  # type: ignore[union-attr]

    gradcheck(forward, [x, weight, bias], backward, rtol=1e-5, atol=1e-7)


def test_backward_skips_the_gradients_nobody_needs() -> None:
    x, weight, bias, options = conv_case("padding", dtype=np.float32)
    frozen = Tensor(weight)  # requires_grad False
    inputs = Tensor(x, requires_grad=True)
    conv2d(inputs, frozen, **options).sum().backward()
    assert inputs.grad is not None and frozen.grad is None
    op = make_op(weight, options)
    op.forward(x, weight, bias)
    grad = np.ones((2, 4, 5, 5), dtype=np.float32)
    grad_input, grad_weight, grad_bias = op.backward(grad, (False, True, False))
    assert grad_input is None and grad_bias is None and grad_weight is not None
    assert len(op.backward(grad, (True, False))) == 2  # two inputs (no bias): two gradients


@pytest.mark.parametrize("name", ["plain", "stride2_padding", "dilation2", "all_combined"])
@pytest.mark.parametrize("bias", [True, False])
def test_module_manual_backward_equals_autograd(name: str, bias: bool) -> None:
    c_in, c_out, kernel, stride, padding, dilation, groups, h, w = CONFIGS[name]
    layer = Conv2d(c_in, c_out, kernel, stride, padding, dilation, groups, bias=bias, rng=rng(5))
    x = Tensor(rng(6).standard_normal((2, c_in, h, w)).astype(np.float32), requires_grad=True)
    out = layer(x)
    grad = rng(7).standard_normal(out.shape).astype(np.float32)
    out.backward(grad, retain_graph=True)  # autograd differentiates the layer's own Op...
    automatic = {"input": x.grad.data} | {n: p.grad.data for n, p in layer.named_parameters()}  # type: ignore[union-attr]
    layer.zero_grad()
    grad_input = layer.backward(Tensor(grad))  # ...and so does the hand-written backward
    manual = {"input": grad_input.data} | {n: p.grad.data for n, p in layer.named_parameters()}  # type: ignore[union-attr]
    assert set(manual) == ({"input", "weight", "bias"} if bias else {"input", "weight"})
    for key in manual:
        assert manual[key].dtype == np.float32, key
        assert_close(manual[key], automatic[key], rtol=1e-6, atol=1e-6, msg=key)


def test_manual_backward_accumulates_parameter_grads() -> None:
    layer = Conv2d(2, 3, 3, padding=1, rng=rng(0))
    x = Tensor(rng(1).standard_normal((2, 2, 5, 5)).astype(np.float32))
    grad = Tensor(np.ones((2, 3, 5, 5), dtype=np.float32))
    layer(x)
    layer.backward(grad)
    first = layer.weight.grad.data.copy()  # type: ignore[union-attr]
    layer(x)
    layer.backward(grad)
    assert_close(layer.weight.grad, 2 * first, rtol=1e-6)  # type: ignore[arg-type]
    assert_close(layer.bias.grad, np.full(3, 2 * 2 * 25, dtype=np.float32))  # type: ignore[union-attr, arg-type]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 2),
    groups=st.sampled_from([1, 2]),
    per_group_in=st.integers(1, 2),
    per_group_out=st.integers(1, 2),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    extra=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    seed=st.integers(0, 2**16),
)
def test_random_shapes_forward_and_adjoint(
    n: int,
    groups: int,
    per_group_in: int,
    per_group_out: int,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    extra: tuple[int, int],
    seed: int,
) -> None:
    """Forward equals the loop oracle; the backward is the forward's adjoint (conv is linear in
    x and in w): <conv(x, w), g> == <x, dL/dx> == <w, dL/dw>."""
    generator = rng(seed)
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    h, w = (max(1, s - 2 * p + e) for s, p, e in zip(span, padding, extra, strict=True))
    x = generator.standard_normal((n, groups * per_group_in, h, w))
    weight = generator.standard_normal((groups * per_group_out, per_group_in, *kernel))
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    op = make_op(weight, options)
    out = op.forward(x, weight)
    assert_close(out, conv2d_naive(x, weight, None, **options), rtol=1e-9, atol=1e-9)
    grad = generator.standard_normal(out.shape)
    grad_input, grad_weight = op.backward(grad, (True, True))
    assert grad_input is not None and grad_weight is not None
    assert grad_input.shape == x.shape and grad_weight.shape == weight.shape
    total = np.sum(out * grad)
    assert np.isclose(np.sum(x * grad_input), total, rtol=1e-9, atol=1e-9)
    assert np.isclose(np.sum(weight * grad_weight), total, rtol=1e-9, atol=1e-9)


def test_weight_grad_both_strategies_agree() -> None:
    """Few pixels per image (L < O) takes the batch-folded path; compare with the oracle."""
    generator = rng(8)
    x = generator.standard_normal((3, 2, 2, 2))
    weight = generator.standard_normal((8, 2, 1, 1))  # L = 4 < O = 8
    op = make_conv2d_op(1)
    out = op.forward(x, weight)
    grad = generator.standard_normal(out.shape)
    _, grad_weight = op.backward(grad, (False, True))
    expected = np.einsum("nohw,nchw->oc", grad, x)[:, :, None, None]
    assert_close(grad_weight, expected, rtol=1e-10)


# --------------------------------------------------------------------- the Module
def test_default_init_is_pytorch_kaiming_uniform() -> None:
    layer = Conv2d(16, 32, 3, groups=2, rng=rng(0))
    assert layer.weight.shape == (32, 8, 3, 3) and layer.bias.shape == (32,)  # type: ignore[union-attr]
    assert layer.weight.dtype == np.float32
    bound = 1 / np.sqrt(8 * 9)
    for values in (layer.weight.data, layer.bias.data):  # type: ignore[union-attr]
        assert np.abs(values).max() <= bound
    weights = layer.weight.data.ravel()
    assert np.abs(weights).max() > 0.95 * bound
    # U(-b, b) has standard deviation b / sqrt(3); 2304 samples: within 5 standard errors
    assert abs(weights.std() - bound / np.sqrt(3)) < 5 * bound / np.sqrt(3) / np.sqrt(2 * 2304)


def test_same_rng_same_weights_and_no_bias() -> None:
    a, b = Conv2d(3, 4, 3, rng=rng(1)), Conv2d(3, 4, 3, rng=rng(1))
    assert np.array_equal(a.weight.data, b.weight.data)
    layer = Conv2d(3, 4, 3, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert layer.num_parameters() == 4 * 3 * 9


def test_repr() -> None:
    assert repr(Conv2d(3, 8, 3, padding=1)) == (
        "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    )
    text = repr(Conv2d(4, 8, (3, 5), stride=2, dilation=2, groups=4, bias=False))
    assert "dilation=(2, 2)" in text and "groups=4" in text and "bias=False" in text


def test_forward_under_no_grad_keeps_nothing() -> None:
    layer = Conv2d(2, 3, 3, rng=rng(0))
    with no_grad():
        out = layer(Tensor(np.ones((1, 2, 5, 5), dtype=np.float32)))
    assert out.shape == (1, 3, 3, 3) and not out.requires_grad
    with pytest.raises(RuntimeError, match="call forward first"):
        layer.backward(Tensor(np.ones((1, 3, 3, 3), dtype=np.float32)))


def test_the_layer_keeps_its_op_until_a_backward_then_nothing() -> None:
    """The memory lesson: between forward and backward the layer's Op holds the column matrix
    (kH*kW times the input); after any backward, manual or autograd's, the layer holds no
    activation, and under no_grad it never does."""
    layer = Conv2d(2, 3, 3, padding=1, rng=rng(0))
    x = np.ones((2, 2, 5, 5), dtype=np.float32)
    layer(Tensor(x))
    op = layer._ctx
    assert isinstance(op, Conv2dOp)
    cols, weight = op.saved
    assert cols.shape == (2, 1, 3 * 3 * 2, 5 * 5) and weight is layer.weight.data
    assert held_activation_bytes(layer) == cols.nbytes == 9 * x.nbytes
    grad = Tensor(np.ones((2, 3, 5, 5), dtype=np.float32))
    layer.backward(grad)
    assert layer._ctx is None and held_activation_bytes(layer) == 0
    with pytest.raises(RuntimeError, match="call forward first"):
        layer.backward(grad)
    out = layer(Tensor(x, requires_grad=True))
    assert held_activation_bytes(layer) == 9 * x.nbytes
    out.sum().backward()  # autograd releases every Op it ran through, the layer's included
    assert held_activation_bytes(layer) == 0
    with pytest.raises(RuntimeError, match="call forward first"):
        layer.backward(grad)
    with no_grad():
        layer(Tensor(x))
    assert layer._ctx is None and held_activation_bytes(layer) == 0


def test_backward_refuses_a_weight_modified_in_place_after_the_forward() -> None:
    layer = Conv2d(2, 3, 3, rng=rng(0))
    layer(Tensor(np.ones((1, 2, 4, 4), dtype=np.float32)))
    with no_grad():
        layer.weight.mul_(2.0)  # e.g. an optimizer step between forward and backward
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        layer.backward(Tensor(np.ones((1, 3, 2, 2), dtype=np.float32)))


# --------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Conv2d(3, 4, 0), ValueError, "kernel_size must be >= 1"),
        (lambda: Conv2d(3, 4, 3, stride=0), ValueError, "stride must be >= 1"),
        (lambda: Conv2d(3, 4, 3, padding=-1), ValueError, "padding must be >= 0"),
        (lambda: Conv2d(3, 4, 3, groups=2), ValueError, "divisible by groups"),
        (lambda: Conv2d(0, 4, 3), ValueError, "must be positive"),
        (lambda: Conv2d(3, 4, 3.5), TypeError, "kernel_size must be an int"),
        (lambda: Conv2d(3, 4, 3, stride=2, padding="same"), ValueError, "needs stride 1"),
        (lambda: Conv2d(3, 4, 3, padding="full"), ValueError, "'valid' or 'same'"),
    ],
)
def test_bad_arguments_raise(make: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_bad_inputs_raise_naming_the_fix() -> None:
    layer = Conv2d(3, 4, 3, rng=rng(0))
    with pytest.raises(ValueError, match=r"x\.unsqueeze"):
        layer(Tensor(np.ones((3, 8, 8))))
    with pytest.raises(ValueError, match="5 channels"):
        layer(Tensor(np.ones((1, 5, 8, 8))))
    with pytest.raises(ValueError, match="no output pixel"):
        layer(Tensor(np.ones((1, 3, 2, 2))))
    with pytest.raises(TypeError, match="floating-point"):
        layer(Tensor(np.ones((1, 3, 8, 8), dtype=np.int64)))
    with pytest.raises(ValueError, match="bias must have shape"):
        conv2d(Tensor(np.ones((1, 3, 4, 4))), layer.weight, Tensor(np.ones(3)))
    layer(Tensor(np.ones((1, 3, 8, 8))))
    with pytest.raises(ValueError, match="grad_output has shape"):
        layer.backward(Tensor(np.ones((1, 4, 5, 5))))
