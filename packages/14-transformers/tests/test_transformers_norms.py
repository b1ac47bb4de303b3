"""LayerNorm and RMSNorm: the fused Ops against the Tensor-op references (forward and autograd
backward, float64), finite differences, manual backward equal to autograd, stability for large
offsets, options, errors, nothing held after a backward."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.autograd import held_activation_bytes, no_grad
from tinytorch.setup.testing import assert_close, gradcheck
from tinytorch.tensor import Tensor
from tinytorch.transformers import (
    LayerNorm,
    LayerNormOp,
    RMSNorm,
    RMSNormOp,
    layer_norm,
    layer_norm_reference,
    rms_norm,
    rms_norm_reference,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def t64(array: np.ndarray, grad: bool = True) -> Tensor:
    return Tensor(array, dtype=np.float64, requires_grad=grad)


def randomize(layer: Any, seed: int = 5) -> Any:
    for param in layer.parameters():
        param.data = rng(seed).standard_normal(param.shape)
    return layer


@pytest.mark.parametrize(
    ("shape", "normalized", "options"),
    [
        ((2, 5, 8), 8, {}),
        ((2, 5, 8), (5, 8), {}),
        ((3, 6), 6, {"bias": False}),
        ((3, 6), [6], {"elementwise_affine": False}),
        ((4, 7), 7, {"eps": 1e-2}),
    ],
)
def test_layer_norm_equals_the_reference(shape: tuple, normalized: Any, options: dict) -> None:
    layer = randomize(LayerNorm(normalized, **options))
    x = rng(1).standard_normal(shape) * 3 + 1
    fused, composed = t64(x), t64(x)
    out = layer(fused)
    ref = layer_norm_reference(
        composed, layer.normalized_shape, layer.weight, layer.bias, layer.eps
    )
    assert_close(out.data, ref.data, rtol=1e-12, atol=1e-12)
    grad = rng(2).standard_normal(shape)
    out.backward(grad)
    params = {name: p.grad.data.copy() for name, p in layer.named_parameters()}
    layer.zero_grad()
    ref.backward(grad)
    assert_close(fused.grad.data, composed.grad.data, rtol=1e-10, atol=1e-12)
    for name, param in layer.named_parameters():
        assert_close(params[name], param.grad.data, rtol=1e-10, atol=1e-12, msg=name)


def test_layer_norm_normalizes_each_token() -> None:
    layer = LayerNorm(16)
    out = layer(Tensor(rng(3).standard_normal((4, 9, 16)) * 5 - 2)).data
    assert_close(out.mean(-1), np.zeros((4, 9)), atol=1e-5)
    assert_close(out.var(-1), np.ones((4, 9)), rtol=1e-3)


def test_layer_norm_is_stable_for_a_large_offset() -> None:
    x = rng(4).standard_normal((8, 32)).astype(np.float32)
    shifted = LayerNorm(32)(Tensor(x + 1e4)).data
    plain = LayerNorm(32)(Tensor(x)).data
    assert_close(shifted, plain, atol=2e-3)  # a one-pass E[x^2] - E[x]^2 would lose it all


def gradcheck_op(make_op: Any, arrays: list[np.ndarray]) -> None:
    def fn(*xs: np.ndarray) -> np.ndarray:
        return make_op().forward(*xs)

    def grad_fn(*args: np.ndarray) -> list[np.ndarray]:
        *xs, grad = args
        op = make_op()
        op.forward(*xs)
        return list(op.backward(grad, (True,) * len(xs)))

    gradcheck(fn, arrays, grad_fn)


def test_layer_norm_gradcheck() -> None:
    arrays = [rng(6).standard_normal(s) for s in ((3, 4, 5), (5,), (5,))]
    gradcheck_op(lambda: LayerNormOp((5,), 1e-5), arrays)
    gradcheck_op(lambda: LayerNormOp((4, 5), 1e-5), [rng(7).standard_normal((2, 4, 5))])


def test_rms_norm_gradcheck() -> None:
    arrays = [rng(8).standard_normal(s) for s in ((3, 4, 5), (5,))]
    gradcheck_op(lambda: RMSNormOp((5,), 1e-6), arrays)
    gradcheck_op(lambda: RMSNormOp((4, 5), None), [rng(9).standard_normal((2, 4, 5))])


@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_equals_the_reference(eps: float | None) -> None:
    layer = randomize(RMSNorm(6, eps=eps))
    x = rng(10).standard_normal((3, 4, 6))
    fused, composed = t64(x), t64(x)
    out = layer(fused)
    ref_eps = eps if eps is not None else float(np.finfo(np.float64).eps)
    ref = rms_norm_reference(composed, (6,), layer.weight, ref_eps)
    assert_close(out.data, ref.data, rtol=1e-12, atol=1e-12)
    grad = rng(11).standard_normal(x.shape)
    out.backward(grad)
    weight_grad = layer.weight.grad.data.copy()
    layer.zero_grad()
    ref.backward(grad)
    assert_close(fused.grad.data, composed.grad.data, rtol=1e-10, atol=1e-12)
    assert_close(weight_grad, layer.weight.grad.data, rtol=1e-10, atol=1e-12)
    mean_square = (x * x).mean(-1)
    normalized = ((out.data / layer.weight.data) ** 2).mean(-1)
    assert_close(normalized, mean_square / (mean_square + ref_eps), rtol=1e-10)


@pytest.mark.parametrize("layer", [LayerNorm(5), LayerNorm(5, bias=False), RMSNorm(5)])
def test_manual_backward_equals_autograd(layer: Any) -> None:
    randomize(layer)
    x = rng(12).standard_normal((2, 3, 5))
    grad = rng(13).standard_normal((2, 3, 5))
    auto_x = t64(x)
    layer(auto_x).backward(grad)
    auto = {name: p.grad.data.copy() for name, p in layer.named_parameters()}
    layer.zero_grad()
    layer(t64(x, grad=False))
    manual_x = layer.backward(Tensor(grad, dtype=np.float64))
    assert_close(manual_x.data, auto_x.grad.data, rtol=1e-12, atol=1e-12)
    for name, param in layer.named_parameters():
        assert_close(param.grad.data, auto[name], rtol=1e-12, atol=1e-12, msg=name)


def test_parameters_and_options() -> None:
    assert [n for n, _ in LayerNorm(4).named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    assert LayerNorm(4, elementwise_affine=False).num_parameters() == 0
    assert LayerNorm((3, 4)).weight.shape == (3, 4)
    assert np.all(LayerNorm(4).weight.data == 1) and np.all(LayerNorm(4).bias.data == 0)
    assert RMSNorm(4, elementwise_affine=False).num_parameters() == 0
    out = RMSNorm(4, elementwise_affine=False)(Tensor(np.full((2, 4), 3.0)))
    assert_close(out.data, np.ones((2, 4)), rtol=1e-6)
    assert repr(LayerNorm(8)) == "LayerNorm((8,), eps=1e-05, elementwise_affine=True)"


def test_functional_forms_equal_the_modules() -> None:
    x = Tensor(rng(15).standard_normal((2, 3, 6)))
    layer, rms = randomize(LayerNorm(6)), randomize(RMSNorm(6, eps=1e-4), seed=6)
    assert_close(layer_norm(x, 6, layer.weight, layer.bias).data, layer(x).data)
    assert_close(layer_norm(x, (3, 6)).data, LayerNorm((3, 6))(x).data)
    assert_close(rms_norm(x, [6], rms.weight, eps=1e-4).data, rms(x).data)
    shifted = layer_norm(x, 6, None, layer.bias).data
    assert_close(shifted, LayerNorm(6, elementwise_affine=False)(x).data + layer.bias.data)


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"expected an input \(\*, 8\)"):
        LayerNorm(8)(Tensor(np.zeros((2, 7))))
    with pytest.raises(TypeError, match="floating-point"):
        LayerNorm(2)(Tensor(np.zeros((2, 2), dtype=np.int64)))
    with pytest.raises(TypeError, match="normalized_shape"):
        LayerNorm("8")
    with pytest.raises(ValueError, match="positive"):
        RMSNorm(0)
    with pytest.raises(RuntimeError, match="call forward first"):
        LayerNorm(3).backward(Tensor(np.zeros(3)))


def test_nothing_held_after_backward_or_under_no_grad() -> None:
    layer = LayerNorm(8)
    x = Tensor(rng(14).standard_normal((4, 8)), requires_grad=True)
    layer(x).sum().backward()
    assert held_activation_bytes(layer) == 0
    with no_grad():
        layer(x)
    assert held_activation_bytes(layer) == 0
