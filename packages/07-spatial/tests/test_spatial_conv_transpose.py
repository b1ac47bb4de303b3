"""ConvTranspose2d: against the scatter-loop oracle; as the adjoint (input gradient) of
Conv2d; its backward against finite differences; the Module's manual backward against
autograd; output sizes (output_padding, output_size) and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.autograd import held_activation_bytes
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.spatial import (
    Conv2d,
    ConvTranspose2d,
    conv2d,
    conv_output_size,
    conv_transpose2d,
    conv_transpose2d_naive,
    conv_transpose_output_size,
)
from tinytorch.spatial.functional import make_conv2d_op, make_conv_transpose2d_op
from tinytorch.spatial.ops import ConvTranspose2dOp
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# (in, out, kernel, stride, padding, output_padding, groups, dilation, H, W)
CONFIGS: dict[str, tuple[Any, ...]] = {
    "plain": (3, 2, 3, 1, 0, 0, 1, 1, 4, 5),
    "stride2": (2, 3, 3, 2, 0, 0, 1, 1, 3, 4),
    "stride2_padding1_output_padding1": (2, 3, 3, 2, 1, 1, 1, 1, 4, 3),
    "upsample_k4_s2_p1": (3, 2, 4, 2, 1, 0, 1, 1, 3, 3),
    "dilation2": (2, 2, 3, 1, 1, 0, 1, 2, 4, 4),
    "output_padding_below_dilation": (2, 2, 3, 1, 0, 1, 1, 2, 3, 4),
    "groups2": (4, 6, 3, 2, 1, 1, 2, 1, 3, 4),
    "depthwise": (3, 3, 3, 1, 1, 0, 3, 1, 4, 4),
    "all_combined": (4, 2, (3, 2), (2, 3), (1, 0), (1, 2), 2, (1, 2), 3, 4),
    "padding_larger_than_kernel_reach": (2, 2, 2, 3, 2, 0, 1, 1, 4, 4),
    "one_by_one": (5, 2, 1, 1, 0, 0, 1, 1, 3, 3),
}


def case(name: str, seed: int = 0) -> tuple[Any, ...]:
    c_in, c_out, kernel, stride, padding, output_padding, groups, dilation, h, w = CONFIGS[name]
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    generator = rng(seed)
    x = generator.standard_normal((2, c_in, h, w))
    weight = generator.standard_normal((c_in, c_out // groups, kh, kw))
    bias = generator.standard_normal(c_out)
    options = {
        "stride": stride,
        "padding": padding,
        "output_padding": output_padding,
        "groups": groups,
        "dilation": dilation,
    }
    return x, weight, bias, options


def make_op(options: dict[str, Any]) -> ConvTranspose2dOp:
    return make_conv_transpose2d_op(**options)


@pytest.mark.parametrize("name", CONFIGS)
def test_forward_matches_the_scatter_loop_oracle(name: str) -> None:
    x, weight, bias, options = case(name)
    out = make_op(options).forward(x, weight, bias)
    expected = conv_transpose2d_naive(x, weight, bias, **options)
    assert out.shape == expected.shape
    assert_close(out, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CONFIGS)
def test_backward_matches_finite_differences(name: str) -> None:
    x, weight, bias, options = case(name)

    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        return make_op(options).forward(x, w, b)

    def backward(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> list:
        op = make_op(options)
        op.forward(x, w, b)
        return list(op.backward(g, (True, True, True)))

    gradcheck(forward, [x, weight, bias], backward, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["stride2_padding1_output_padding1", "groups2", "all_combined"])
def test_forward_is_the_input_gradient_of_conv2d(name: str) -> None:
    """conv_transpose2d(g, W) == dL/dx of conv2d(x, W) for dL/dy = g, with the same settings
    (x of the transposed convolution's output size)."""
    g, weight, _, options = case(name)
    out = make_op(options).forward(g, weight)
    conv = make_conv2d_op(
        weight.shape[2:], options["stride"], options["padding"], options["dilation"],
        options["groups"],
    )  # fmt: skip
    conv.forward(np.zeros(out.shape), weight)
    (grad_input, _) = conv.backward(g, (True, False))
    assert_close(out, grad_input, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    groups=st.sampled_from([1, 2]),
    per_group=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    size=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    seed=st.integers(0, 2**16),
)
def test_random_shapes_oracle_and_adjoint_of_conv2d(
    groups: int,
    per_group: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    size: tuple[int, int],
    seed: int,
) -> None:
    """Equal to the oracle, and the transpose of conv2d: <conv2d(x, W), y> ==
    <x, conv_transpose2d(y, W)>; the backward is the forward's adjoint as well."""
    generator = rng(seed)
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    h, w = (max(s, 2 * p + 1) + e for s, p, e in zip(span, padding, size, strict=True))
    c, o = groups * per_group[0], groups * per_group[1]
    x = generator.standard_normal((2, c, h, w))
    weight = generator.standard_normal((o, per_group[0], *kernel))  # a Conv2d's weight
    conv_options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    y_shape = conv2d(Tensor(x, dtype=np.float64), Tensor(weight), **conv_options).shape
    y = generator.standard_normal(y_shape)
    settings_ = zip((h, w), y_shape[2:], kernel, stride, padding, dilation, strict=True)
    output_padding = tuple(
        size_ - conv_transpose_output_size(n, k, s, p, 0, d) for size_, n, k, s, p, d in settings_
    )  # what makes the transposed output H x W again
    options = {**conv_options, "output_padding": output_padding}
    op = make_op(options)
    back = op.forward(y, weight)
    assert back.shape == x.shape
    assert_close(back, conv_transpose2d_naive(y, weight, None, **options), rtol=1e-9, atol=1e-9)
    conv = conv2d(Tensor(x, dtype=np.float64), Tensor(weight, dtype=np.float64), **conv_options)
    assert np.isclose(np.sum(conv.data * y), np.sum(x * back), rtol=1e-9, atol=1e-9)
    grad_y, grad_w = op.backward(x, (True, True))
    assert np.isclose(np.sum(y * grad_y), np.sum(back * x), rtol=1e-9, atol=1e-9)
    assert np.isclose(np.sum(weight * grad_w), np.sum(back * x), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", ["stride2_padding1_output_padding1", "groups2", "all_combined"])
def test_module_manual_backward_equals_autograd(name: str, bias: bool) -> None:
    c_in, c_out, kernel, stride, padding, output_padding, groups, dilation, h, w = CONFIGS[name]
    layer = ConvTranspose2d(
        c_in, c_out, kernel, stride, padding, output_padding, groups, bias, dilation, rng=rng(1)
    )
    x = Tensor(rng(2).standard_normal((2, c_in, h, w)).astype(np.float32), requires_grad=True)
    out = layer(x)
    assert held_activation_bytes(layer) == x.nbytes  # the Op keeps x, no column matrix
    grad = rng(3).standard_normal(out.shape).astype(np.float32)
    out.backward(grad, retain_graph=True)
    automatic = {"input": x.grad.data} | {n: p.grad.data for n, p in layer.named_parameters()}  # type: ignore[union-attr]
    layer.zero_grad()
    manual = {"input": layer.backward(Tensor(grad)).data}
    manual |= {n: p.grad.data for n, p in layer.named_parameters()}  # type: ignore[union-attr]
    assert set(manual) == ({"input", "weight", "bias"} if bias else {"input", "weight"})
    for key in manual:
        assert manual[key].dtype == np.float32, key
        assert_close(manual[key], automatic[key], rtol=1e-5, atol=1e-6, msg=key)
    assert layer._ctx is None and held_activation_bytes(layer) == 0


def test_backward_skips_what_nobody_needs() -> None:
    x, weight, bias, options = case("stride2")
    op = make_op(options)
    out = op.forward(x, weight, bias)
    grad = np.ones_like(out)
    grad_input, grad_weight, grad_bias = op.backward(grad, (False, False, True))
    assert grad_input is None and grad_weight is None
    assert_close(grad_bias, np.full(3, 2 * out.shape[2] * out.shape[3], dtype=np.float64))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((16, 4, 2, 1), 32),  # the usual 2x upsampling
        ((16, 3, 2, 1), 31),
        ((16, 3, 2, 1, 1), 32),
        ((5, 3, 1, 0, 0, 2), 9),
        ((5, 3, 1, 0, 1, 2), 10),  # output_padding < dilation is allowed with stride 1
        ((7, 1, 1), 7),
    ],
)
def test_conv_transpose_output_size(args: tuple[int, ...], expected: int) -> None:
    assert conv_transpose_output_size(*args) == expected


@pytest.mark.parametrize("size", [5, 6, 7, 8])
@pytest.mark.parametrize(("kernel", "stride", "padding"), [(3, 2, 1), (4, 2, 1), (3, 3, 0)])
def test_conv_transpose_output_size_inverts_conv_output_size(
    size: int, kernel: int, stride: int, padding: int
) -> None:
    """Going back from a conv's output size gives its input size for one output_padding."""
    small = conv_output_size(size, kernel, stride, padding)
    back = [
        conv_transpose_output_size(small, kernel, stride, padding, extra) for extra in range(stride)
    ]
    assert size in back and all(conv_output_size(b, kernel, stride, padding) == small for b in back)


def test_output_size_argument_chooses_the_output_padding() -> None:
    layer = ConvTranspose2d(2, 3, 3, stride=2, padding=1, rng=rng(0))
    x = Tensor(rng(1).standard_normal((1, 2, 4, 4)).astype(np.float32))
    assert layer(x).shape == (1, 3, 7, 7)
    out = layer(x, output_size=(8, 7))
    assert out.shape == (1, 3, 8, 7)
    expected = conv_transpose2d(x, layer.weight, layer.bias, 2, 1, (1, 0))
    assert_close(out, expected, rtol=0, atol=0)
    assert layer(x, output_size=(1, 3, 8, 8)).shape == (1, 3, 8, 8)
    with pytest.raises(ValueError, match=r"must be in \[7, 8\]"):
        layer(x, output_size=(9, 7))


def test_module_init_attributes_and_repr() -> None:
    layer = ConvTranspose2d(8, 6, 3, stride=2, groups=2, rng=rng(0))
    assert layer.weight.shape == (8, 3, 3, 3) and layer.bias is not None
    assert layer.bias.shape == (6,)
    bound = 1 / np.sqrt(3 * 9)  # PyTorch's fan_in: weight.shape[1] * kH * kW
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound
    assert np.abs(layer.bias.data).max() <= bound
    assert repr(layer) == "ConvTranspose2d(8, 6, kernel_size=(3, 3), stride=(2, 2), groups=2)"
    text = repr(ConvTranspose2d(2, 2, 3, 2, 1, 1, bias=False, dilation=2))
    assert text == (
        "ConvTranspose2d(2, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "dilation=(2, 2), output_padding=(1, 1), bias=False)"
    )
    assert ConvTranspose2d(2, 4, 2, stride=2)(Tensor(np.ones((1, 2, 5, 5)))).shape == (1, 4, 10, 10)
    assert Conv2d(4, 2, 2, stride=2)(Tensor(np.ones((1, 4, 10, 10)))).shape == (1, 2, 5, 5)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: ConvTranspose2d(2, 2, 3, stride=2, output_padding=2), ValueError, "smaller than"),
        (lambda: ConvTranspose2d(3, 4, 3, groups=2), ValueError, "divisible by groups"),
        (lambda: ConvTranspose2d(2, 2, 3, padding="same"), TypeError, "padding must be an int"),
        (lambda: ConvTranspose2d(2, 2, 3, padding=-1), ValueError, "padding must be >= 0"),
        (lambda: conv_transpose_output_size(4, 3, 2, output_padding=2), ValueError, "smaller"),
        (lambda: conv_transpose_output_size(1, 1, 1, padding=1), ValueError, "removes more"),
    ],
)
def test_bad_arguments_raise(make: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_bad_inputs_raise_naming_the_fix() -> None:
    layer = ConvTranspose2d(3, 2, 3, rng=rng(0))
    with pytest.raises(ValueError, match=r"x\.unsqueeze"):
        layer(Tensor(np.ones((3, 4, 4))))
    with pytest.raises(ValueError, match=r"input with 2 channels.*C_in == weight.shape\[0\]"):
        layer(Tensor(np.ones((1, 2, 4, 4))))
    with pytest.raises(ValueError, match="bias must have shape"):
        conv_transpose2d(Tensor(np.ones((1, 3, 4, 4))), layer.weight, Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="use less padding"):
        ConvTranspose2d(3, 2, 1, padding=1)(Tensor(np.ones((1, 3, 1, 1))))
