"""Conv1d: the height-1 Conv2d against the loop oracle, its backward against finite
differences, the Module's manual backward against autograd, and 1-d shapes and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.autograd import held_activation_bytes
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.spatial import Conv1d, Conv2d, conv1d, conv1d_naive, conv2d
from tinytorch.spatial.functional import make_conv1d_op
from tinytorch.spatial.ops import Conv1dOp
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# (in, out, kernel, stride, padding, dilation, groups, L)
CONFIGS: dict[str, tuple[Any, ...]] = {
    "plain": (3, 4, 3, 1, 0, 1, 1, 9),
    "padding": (3, 4, 3, 1, 2, 1, 1, 6),
    "stride2_odd_length": (2, 3, 3, 2, 1, 1, 1, 10),
    "dilation3": (2, 3, 2, 1, 1, 3, 1, 8),
    "groups2": (4, 6, 3, 1, 1, 1, 2, 7),
    "depthwise": (3, 3, 5, 2, 2, 1, 3, 11),
    "kernel_as_long_as_input": (2, 2, 5, 1, 0, 1, 1, 5),
    "one_tap": (5, 2, 1, 1, 0, 1, 1, 4),
}


def case(name: str, seed: int = 0) -> tuple[Any, ...]:
    c_in, c_out, k, stride, padding, dilation, groups, length = CONFIGS[name]
    generator = rng(seed)
    x = generator.standard_normal((2, c_in, length))
    weight = generator.standard_normal((c_out, c_in // groups, k))
    bias = generator.standard_normal(c_out)
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return x, weight, bias, options


def make_op(weight: np.ndarray, options: dict[str, Any]) -> Conv1dOp:
    return make_conv1d_op(weight.shape[2], **options)


@pytest.mark.parametrize("name", CONFIGS)
def test_forward_matches_the_loop_oracle(name: str) -> None:
    x, weight, bias, options = case(name)
    out = make_op(weight, options).forward(x, weight, bias)
    assert_close(out, conv1d_naive(x, weight, bias, **options), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["plain", "stride2_odd_length", "groups2"])
def test_forward_is_a_height_one_conv2d(name: str) -> None:
    x, weight, _, options = case(name)
    one_d = conv1d(Tensor(x, dtype=np.float64), Tensor(weight, dtype=np.float64), **options)
    options_2d = {
        "stride": (1, options["stride"]),
        "padding": (0, options["padding"]),
        "dilation": (1, options["dilation"]),
        "groups": options["groups"],
    }
    x2, weight2 = (Tensor(a[:, :, None, :], dtype=np.float64) for a in (x, weight))
    two_d = conv2d(x2, weight2, **options_2d)
    assert one_d.shape == (x.shape[0], weight.shape[0], two_d.shape[-1])
    assert_close(one_d, two_d.data[:, :, 0, :], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CONFIGS)
def test_backward_matches_finite_differences(name: str) -> None:
    x, weight, bias, options = case(name)

    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        return make_op(w, options).forward(x, w, b)

    def backward(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> list:
        op = make_op(w, options)
        op.forward(x, w, b)
        grads = op.backward(g, (True, True, True))
        assert [gr.shape for gr in grads] == [x.shape, w.shape, b.shape]  # type: ignore[union-attr]
        return list(grads)

    gradcheck(forward, [x, weight, bias], backward, rtol=1e-5, atol=1e-7)


def test_padding_same_and_valid() -> None:
    x = rng(1).standard_normal((2, 3, 10)).astype(np.float32)
    for kernel, dilation in [(3, 1), (4, 1), (3, 3)]:
        layer = Conv1d(3, 2, kernel, padding="same", dilation=dilation, rng=rng(2))
        out = layer(Tensor(x))
        assert out.shape == (2, 2, 10)
        total = dilation * (kernel - 1)
        padded = np.pad(x, ((0, 0), (0, 0), (total // 2, total - total // 2)))
        expected = conv1d_naive(padded, layer.weight.data, layer.bias.data, dilation=dilation)  # type: ignore[union-attr]
        assert_close(out, expected, rtol=1e-5, atol=1e-5)
    assert Conv1d(3, 2, 3, padding="valid")(Tensor(x)).shape == (2, 2, 8)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", ["padding", "stride2_odd_length", "depthwise"])
def test_module_manual_backward_equals_autograd(name: str, bias: bool) -> None:
    c_in, c_out, k, stride, padding, dilation, groups, length = CONFIGS[name]
    layer = Conv1d(c_in, c_out, k, stride, padding, dilation, groups, bias, rng=rng(5))
    x = Tensor(rng(6).standard_normal((2, c_in, length)).astype(np.float32), requires_grad=True)
    out = layer(x)
    assert held_activation_bytes(layer) > 0  # the Op keeps the column matrix
    grad = rng(7).standard_normal(out.shape).astype(np.float32)
    out.backward(grad, retain_graph=True)
    automatic = {"input": x.grad.data} | {n: p.grad.data for n, p in layer.named_parameters()}  # type: ignore[union-attr]
    layer.zero_grad()
    manual = {"input": layer.backward(Tensor(grad)).data}
    manual |= {n: p.grad.data for n, p in layer.named_parameters()}  # type: ignore[union-attr]
    assert set(manual) == ({"input", "weight", "bias"} if bias else {"input", "weight"})
    for key in manual:
        assert manual[key].dtype == np.float32, key
        assert_close(manual[key], automatic[key], rtol=1e-6, atol=1e-6, msg=key)
    assert layer._ctx is None


def test_the_op_checks_the_weight_it_saved_for_in_place_changes() -> None:
    """The 1-d Op runs the 2-d code on views, but saves the caller's weight: the version
    check sees an in-place change to it."""
    weight = Tensor(rng(0).standard_normal((2, 3, 3)))
    x = Tensor(rng(1).standard_normal((1, 3, 6)), requires_grad=True)
    out = conv1d(x, weight)
    weight.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.sum().backward()


def test_module_attributes_init_and_repr() -> None:
    layer = Conv1d(4, 6, 5, stride=2, padding=1, groups=2, rng=rng(0))
    assert layer.kernel_size == (5,) and layer.stride == (2,) and layer.padding == (1,)
    assert layer.dilation == (1,) and layer.weight.shape == (6, 2, 5)
    bound = 1 / np.sqrt(2 * 5)
    assert 0.8 * bound < np.abs(layer.weight.data).max() <= bound
    assert repr(layer) == "Conv1d(4, 6, kernel_size=(5,), stride=(2,), padding=(1,), groups=2)"
    assert (
        repr(Conv1d(2, 2, 3, bias=False))
        == "Conv1d(2, 2, kernel_size=(3,), stride=(1,), bias=False)"
    )
    assert repr(Conv1d(2, 2, 3, padding="same", dilation=2)) == (
        "Conv1d(2, 2, kernel_size=(3,), stride=(1,), padding=same, dilation=(2,))"
    )
    assert Conv1d(2, 3, (3,), stride=(2,)).kernel_size == (3,)
    assert Conv2d(2, 3, 3).num_parameters() == 2 * 3 * 9 + 3


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Conv1d(3, 4, (3, 3)), TypeError, "1-tuple of ints"),
        (lambda: Conv1d(3, 4, 0), ValueError, "kernel_size must be >= 1"),
        (lambda: Conv1d(3, 4, 3, stride=2, padding="same"), ValueError, "needs stride 1"),
        (lambda: Conv1d(3, 4, 3, groups=2), ValueError, "divisible by groups"),
    ],
)
def test_bad_arguments_raise(make: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_bad_inputs_raise_naming_the_fix() -> None:
    layer = Conv1d(3, 4, 3, rng=rng(0))
    with pytest.raises(ValueError, match=r"conv1d: expected input \(N, C, L\).*unsqueeze"):
        layer(Tensor(np.ones((3, 8))))
    with pytest.raises(ValueError, match="conv1d: input with 5 channels"):
        layer(Tensor(np.ones((1, 5, 8))))
    with pytest.raises(ValueError, match=r"conv1d: .*no output pixel"):
        layer(Tensor(np.ones((1, 3, 2))))
    with pytest.raises(ValueError, match=r"weight must be \(O, C/groups, K\)"):
        conv1d(Tensor(np.ones((1, 3, 8))), Tensor(np.ones((4, 3, 3, 3))))
