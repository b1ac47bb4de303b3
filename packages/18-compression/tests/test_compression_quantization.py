"""Quantization: the formulas vs NumPy, error bounds, integer dtypes really stored, the exact
integer matmul, quantized layers vs their float reference, quantize_dynamic / static, the
save/load round trip with int8 arrays intact, and BatchNorm folding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinytorch.activations import ReLU
from tinytorch.compression import (
    MinMaxObserver,
    PerChannelMinMaxObserver,
    QuantizedConv2d,
    QuantizedLinear,
    calculate_qparams,
    dequantize,
    file_bytes,
    fuse_conv_bn,
    integer_matmul,
    quant_range,
    quantize_dynamic,
    quantize_per_channel,
    quantize_per_tensor,
    quantize_static,
    quantize_weight_only,
    state_bytes,
)
from tinytorch.layers import Linear
from tinytorch.networks import MLP, Sequential, load, read_state, save
from tinytorch.setup.testing import assert_close
from tinytorch.spatial import BatchNorm2d, Conv2d, GlobalAvgPool2d, MaxPool2d
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def small_cnn(seed: int = 0) -> Sequential:
    g = rng(seed)
    return Sequential(
        Conv2d(3, 8, 3, padding=1, bias=False, rng=g), BatchNorm2d(8), ReLU(), MaxPool2d(2),
        Conv2d(8, 16, 3, padding=1, rng=g), BatchNorm2d(16), ReLU(),
        GlobalAvgPool2d(), Linear(16, 5, rng=g),
    )  # fmt: skip


def trained_bn(model: Sequential, seed: int = 1) -> Sequential:
    """Give every BatchNorm non-trivial running statistics and affine parameters."""
    g = rng(seed)
    for layer in model:
        if isinstance(layer, BatchNorm2d):
            c = layer.num_features
            layer.running_mean.data[...] = g.normal(0, 0.3, c)
            layer.running_var.data[...] = g.uniform(0.5, 2.0, c)
            layer.weight.data[...] = g.uniform(0.5, 1.5, c)
            layer.bias.data[...] = g.normal(0, 0.2, c)
    return model.eval()


# --------------------------------------------------------------------- formulas
def test_quant_ranges() -> None:
    assert quant_range(np.int8) == (-128, 127)
    assert quant_range(np.uint8) == (0, 255)
    assert quant_range(np.int16) == (-32768, 32767)
    assert quant_range(np.int8, bits=4) == (-8, 7)
    with pytest.raises(ValueError, match=r"bits must be in 2\.\.8"):
        quant_range(np.int8, bits=9)


def test_quantize_per_tensor_is_the_numpy_formula_and_stores_integers() -> None:
    x = rng().normal(0, 2, (50, 7)).astype(np.float32)
    scale, zero_point = 0.037, 5
    q = quantize_per_tensor(x, scale, zero_point, np.int8)
    expected = np.clip(np.round(x / np.float32(scale)) + zero_point, -128, 127)
    assert q.dtype == np.int8
    np.testing.assert_array_equal(q, expected.astype(np.int8))
    back = dequantize(q, scale, zero_point)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, (expected - zero_point) * scale, rtol=1e-6)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_round_trip_error_is_at_most_half_a_step(symmetric: bool, dtype: type) -> None:
    x = rng(1).normal(0.3, 1.0, 4000).astype(np.float32)
    low, high = quant_range(dtype)
    scale, point = calculate_qparams(x.min(), x.max(), low, high, symmetric)
    q = quantize_per_tensor(x, float(scale), int(point), dtype)
    assert q.dtype == dtype
    error = np.abs(dequantize(q, scale, point) - x)
    rounding = 4 * np.finfo(np.float32).eps * np.abs(x)  # float32 arithmetic on x itself
    assert np.all(error <= float(scale) / 2 + rounding)
    if dtype == np.int16:  # 256x finer steps than 8 bits
        assert error.max() < 1e-3


def test_affine_range_uses_every_step_and_keeps_zero_exact() -> None:
    x = np.array([0.5, 1.0, 3.0], dtype=np.float32)  # range widened to [0, 3]
    scale, point = calculate_qparams(x.min(), x.max(), 0, 255, symmetric=False)
    assert float(scale) == pytest.approx(3.0 / 255)
    assert int(point) == 0
    assert (
        dequantize(
            quantize_per_tensor(np.zeros(1), float(scale), int(point), np.uint8), scale, point
        )[0]
        == 0.0
    )
    scale, point = calculate_qparams(-1.0, 3.0, -128, 127, symmetric=False)
    assert int(point) == -128 + round(1.0 / float(scale))
    scale, point = calculate_qparams(-1.0, 3.0, -128, 127, symmetric=True)
    assert int(point) == 0 and float(scale) == pytest.approx(3.0 / 127.5)


def test_per_channel_gives_each_row_its_own_scale() -> None:
    w = rng(2).normal(0, 1, (4, 30)).astype(np.float32) * np.array([[0.01], [0.1], [1], [10]])
    observer = PerChannelMinMaxObserver(0, np.int8)
    observer(w)
    scales, points = observer.calculate_qparams()
    np.testing.assert_allclose(scales, np.abs(w).max(axis=1) / 127.5, rtol=1e-6)
    q = quantize_per_channel(w, scales, points, 0, np.int8)
    back = dequantize(q, scales, points, axis=0)
    per_row = np.abs(back - w).max(axis=1)
    assert np.all(per_row <= scales / 2 * (1 + 1e-5))
    # one shared scale would wipe out the small rows entirely
    s, z = calculate_qparams(w.min(), w.max(), -128, 127)
    shared = dequantize(quantize_per_tensor(w, float(s), int(z)), s, z)
    assert np.all(shared[0] == 0) and not np.all(back[0] == 0)


def test_min_max_observer_tracks_ranges_over_batches() -> None:
    observer = MinMaxObserver()
    with pytest.raises(RuntimeError, match="no data observed"):
        observer.calculate_qparams()
    observer(np.array([0.5, 2.0]))
    observer(Tensor(np.array([-1.0, 1.0])))
    assert (observer.min_val, observer.max_val) == (-1.0, 2.0)
    scale, point = observer.calculate_qparams()
    assert scale == pytest.approx(3.0 / 255) and point == round(1.0 / (3.0 / 255))


# --------------------------------------------------------------------- integer matmul
@pytest.mark.parametrize("k", [16, 514, 515, 3000])
def test_integer_matmul_equals_int32_accumulation(k: int) -> None:
    g = rng(k)
    a = g.integers(-255, 256, (9, k))
    b = g.integers(-128, 128, (k, 6))
    bound = k * 255 * 128
    exact = a.astype(np.int64) @ b.astype(np.int64)
    fast = integer_matmul(a, b, bound)
    assert fast.dtype == (np.float32 if bound < 2**24 else np.float64)
    np.testing.assert_array_equal(fast, exact)
    np.testing.assert_array_equal(integer_matmul(a, b, bound, accumulate="int32"), exact)


def test_float32_would_round_above_two_to_the_24() -> None:
    """Why the bound matters: a sum beyond 2**24 is not exact in float32."""
    a = np.full((1, 1100), 127.0)
    b = np.full((1100, 1), 127.0)  # 1100 * 127 * 127 = 17,741,900 > 2**24
    b[0, 0] = 128.0  # makes the exact sum odd
    exact = int((a.astype(np.int64) @ b.astype(np.int64))[0, 0])
    assert exact % 2 == 1 and exact > 2**24
    assert int(np.float32(exact)) != exact  # float32 cannot even hold the answer
    assert int(integer_matmul(a, b, 1100 * 127 * 128)[0, 0]) == exact


# --------------------------------------------------------------------- layers
def test_quantized_linear_stores_int8_and_matches_the_float_layer() -> None:
    layer = Linear(40, 12, rng=rng(3))
    q = QuantizedLinear.from_float(layer)
    assert q.weight.dtype == np.int8 and q.weight.shape == (12, 40)
    assert q.scale.dtype == np.float32 and q.scale.shape == (12,)
    assert not list(q.parameters())  # nothing trainable, nothing float for the weights
    x = rng(4).normal(0, 1, (32, 40)).astype(np.float32)
    out = q(Tensor(x)).data
    reference = layer(Tensor(x)).data
    # error bound: |x|_1 * s_w / 2 (weight rounding) + |w|_1 * s_x / 2 (input rounding),
    # per output; both quantizations are at most half a step per element.
    w = layer.weight.data
    s_x = (x.max() - min(x.min(), 0)) / 255
    bound = (
        np.abs(x).sum(1, keepdims=True) * q.scale.data / 2
        + np.abs(w).sum(1) * s_x / 2
        + 40 * q.scale.data * s_x / 4
    )
    assert np.all(np.abs(out - reference) <= bound * 1.01)
    assert np.abs(out - reference).max() > 0  # really quantized
    # and it IS the dequantized-weight, dequantized-input float product (up to float rounding)
    qx = np.clip(np.round(x / s_x) + np.round(-x.min() / s_x), 0, 255)
    xd = (qx - np.round(-x.min() / s_x)) * s_x
    ideal = xd @ q.dequantized_weight().T.astype(np.float64) + layer.bias.data
    assert_close(out, ideal, rtol=1e-5, atol=1e-5)


def test_affine_weights_store_their_zero_points_and_match_the_reference() -> None:
    layer = Linear(30, 6, rng=rng(19))
    layer.weight.data[...] += 0.2  # off-centre weights: affine uses the whole range
    q = QuantizedLinear.from_float(layer, symmetric=False)
    assert q.zero_point is not None and q.zero_point.dtype == np.int8
    assert q.zero_point.shape == (6,) and np.any(q.zero_point.data != 0)
    symmetric = QuantizedLinear.from_float(layer)
    w = layer.weight.data
    affine_error = np.abs(q.dequantized_weight() - w).max()
    assert affine_error < np.abs(symmetric.dequantized_weight() - w).max()
    assert affine_error <= q.scale.data.max() / 2 * (1 + 1e-5)
    x = rng(20).normal(0, 1, (8, 30)).astype(np.float32)
    out = q(Tensor(x)).data
    q.accumulate = "int32"
    np.testing.assert_array_equal(q(Tensor(x)).data, out)
    assert_close(out, layer(Tensor(x)).data, rtol=0.05, atol=0.05)


def test_quantized_linear_exact_path_equals_int32_oracle() -> None:
    layer = Linear(600, 8, rng=rng(5))  # K = 600 > 514: beyond the worst-case float32 bound
    q = QuantizedLinear.from_float(layer)
    x = Tensor(rng(6).normal(0, 1, (5, 600)).astype(np.float32))
    fast = q(x).data
    q.accumulate = "int32"
    np.testing.assert_array_equal(q(x).data, fast)


def test_the_packed_weight_picks_its_gemm_dtype_from_the_weights_own_bound() -> None:
    x = Tensor(rng(9).uniform(-1, 1, (3, 600)).astype(np.float32))
    typical = QuantizedLinear.from_float(Linear(600, 8, rng=rng(5)))
    saturated = QuantizedLinear.from_float(Linear(600, 8, rng=rng(5)))
    saturated.weight.data[...] = 127  # every |w| at its maximum: 600 * 127 * 255 > 2**24
    for layer, dtype in ((typical, np.float32), (saturated, np.float64)):
        fast = layer(x).data
        matrix, bound = layer._packing[1]
        weights = layer.weight.data.astype(np.int64)
        assert bound == 255 * np.abs(weights).sum(axis=1).max()
        assert matrix.dtype == dtype and matrix.shape == (600, 8)
        layer.accumulate = "int32"  # the oracle: NumPy's int32 matmul, nothing packed
        np.testing.assert_array_equal(layer(x).data, fast)


def test_the_packed_weight_follows_writes_and_loads() -> None:
    q = QuantizedLinear.from_float(Linear(16, 4, rng=rng(1)))
    other = QuantizedLinear.from_float(Linear(16, 4, rng=rng(2)))
    x = Tensor(rng(3).normal(0, 1, (5, 16)).astype(np.float32))
    first = q(x).data
    q.load_state_dict(other.state_dict())  # in place, into the same arrays
    np.testing.assert_array_equal(q(x).data, other(x).data)
    assert not np.array_equal(q(x).data, first)
    q.weight.copy_(np.zeros((4, 16), dtype=np.int8))  # an in-place op bumps the version too
    np.testing.assert_array_equal(q(x).data, np.broadcast_to(q.bias.data, (5, 4)))


def test_dynamic_activation_qparams_equal_calculate_qparams() -> None:
    from tinytorch.compression.quantization import _unsigned_qparams

    ranges = [(0.0, 0.0), (-1.0, 2.0), (0.5, 3.0), (-4.0, -0.25), (-2.5e-8, 1e-9)]
    ranges += [tuple(sorted(rng(i).normal(0, 10, 2))) for i in range(200)]
    for low, high in ranges:
        scale, point = calculate_qparams(low, high, 0, 255, symmetric=False)
        assert _unsigned_qparams(low, high, 255) == (float(scale), int(point))
    with pytest.raises(ValueError, match="not finite"):
        _unsigned_qparams(float("nan"), 1.0, 255)


def test_quantized_conv2d_matches_the_float_conv() -> None:
    conv = Conv2d(4, 6, 3, stride=2, padding=1, rng=rng(7))
    q = QuantizedConv2d.from_float(conv)
    assert q.weight.dtype == np.int8 and q.scale.shape == (6,)
    x = rng(8).normal(0, 1, (2, 4, 9, 9)).astype(np.float32)
    out = q(Tensor(x)).data
    reference = conv(Tensor(x)).data
    assert out.shape == reference.shape == (2, 6, 5, 5)
    s_x = (x.max() - x.min()) / 255
    per_window = 4 * 9
    bound = per_window * (
        np.abs(x).max() * q.scale.data.max() + np.abs(conv.weight.data).max() * s_x
    )
    assert np.abs(out - reference).max() <= bound / 2
    assert np.abs(out - reference).max() < 0.05 * np.abs(reference).max()
    q.accumulate = "int32"
    np.testing.assert_array_equal(q(Tensor(x)).data, out)


def test_padding_uses_the_zero_point_so_zero_stays_exact() -> None:
    """An input in [-1, 2] has zero point 85: the padded border must contribute exactly 0, so
    the quantized conv equals a float conv of the dequantized input and weight (zero padded)."""
    conv = Conv2d(1, 2, 3, padding=1, bias=False, rng=rng(16))
    q = QuantizedConv2d.from_float(conv)
    x = rng(17).uniform(-1, 2, (1, 1, 5, 5)).astype(np.float32)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = -1.0, 2.0
    scale, point = calculate_qparams(-1.0, 2.0, 0, 255, symmetric=False)
    assert int(point) == 85
    xd = dequantize(quantize_per_tensor(x, float(scale), int(point), np.uint8), scale, point)
    ideal = Conv2d(1, 2, 3, padding=1, bias=False)
    ideal.weight.data[...] = q.dequantized_weight()
    assert_close(q(Tensor(x)).data, ideal(Tensor(xd)).data, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------- models
def test_quantize_dynamic_replaces_linears_and_keeps_the_original() -> None:
    net = MLP([20, 16, 4], rng=rng(9))
    quantized = quantize_dynamic(net)
    assert isinstance(quantized[0], QuantizedLinear) and isinstance(quantized[2], QuantizedLinear)
    assert isinstance(net[0], Linear)  # a copy, as PyTorch's inplace=False
    x = Tensor(rng(10).normal(0, 1, (64, 20)).astype(np.float32))
    assert_close(quantized(x), net(x), rtol=0.05, atol=0.05)
    # int8 weights, and per output a float32 scale and a float32 bias (symmetric weights:
    # the zero point is 0 by definition and not stored)
    assert "0.zero_point" not in quantized.state_dict()
    assert state_bytes(quantized) == (20 * 16 + 16 * 4) + 8 * (16 + 4)
    assert state_bytes(net) == 4 * (20 * 16 + 16 * 4 + 16 + 4)
    sixteen = quantize_dynamic(net, dtype=np.int16)
    assert sixteen[0].weight.dtype == np.int16
    with pytest.raises(ValueError, match=r"np\.int8 or np\.int16"):
        quantize_dynamic(net, dtype=np.int32)


def test_quantize_dynamic_of_a_transformer_uses_the_unfused_path() -> None:
    transformers = pytest.importorskip("tinytorch.transformers", reason="module 14 not installed")
    model = transformers.TinyGPT(11, 8, 2, 2, 16, rng=rng(11)).eval()
    ids = Tensor(rng(12).integers(0, 11, (3, 8)))
    quantized = quantize_dynamic(model)
    assert isinstance(quantized.h[0].mlp.c_fc, QuantizedLinear)
    assert quantized.h[0].mlp.fused is False and model.h[0].mlp.fused is True
    assert isinstance(quantized.lm_head, QuantizedLinear)
    reference, out = model(ids).data, quantized(ids).data
    assert np.abs(out - reference).max() < 0.05 * np.abs(reference).max() + 1e-3


def test_static_quantization_fixes_the_activation_range() -> None:
    model = trained_bn(small_cnn())
    batches = [rng(i).normal(0, 1, (8, 3, 8, 8)).astype(np.float32) for i in range(3)]
    fused = fuse_conv_bn(model)
    quantized = quantize_static(fused, batches, qconfig_spec={Linear, Conv2d})
    layers = [m for m in quantized.modules() if isinstance(m, (QuantizedConv2d, QuantizedLinear))]
    assert len(layers) == 3 and all(m.input_qparams is not None for m in layers)
    x = Tensor(batches[0])
    assert_close(quantized(x), model(x), rtol=0.1, atol=0.05)
    with pytest.raises(ValueError, match="no calibration batches"):
        quantize_static(fused, [])


def test_convert_fuses_the_relu_after_a_quantized_conv() -> None:
    model = Sequential(
        Conv2d(3, 4, 3, padding=1, rng=rng(1)), ReLU(), Conv2d(4, 2, 3, rng=rng(2)), ReLU()
    ).eval()
    x = Tensor(rng(3).normal(0, 1, (2, 3, 6, 6)).astype(np.float32))
    q = quantize_static(model, [x], qconfig_spec={Conv2d})
    assert [type(layer).__name__ for layer in q.layers] == ["QuantizedConv2d"] * 2
    assert q.layers[0].relu and q.layers[1].relu and "relu=True" in repr(q)
    fused = q(x).data
    assert fused.min() == 0.0  # some outputs were negative before the ReLU
    q.layers[1].relu = False
    np.testing.assert_array_equal(fused, ReLU()(q(x)).data)  # the same as a separate ReLU


def test_weight_only_runs_the_float_ops_on_the_dequantized_weights(tmp_path: Path) -> None:
    model = Sequential(
        Conv2d(3, 4, 3, padding=1, rng=rng(1)), ReLU(), GlobalAvgPool2d(), Linear(4, 5, rng=rng(2))
    ).eval()
    q = quantize_weight_only(model)
    conv, linear = q.layers[0], q.layers[3]
    assert isinstance(conv, QuantizedConv2d) and isinstance(linear, QuantizedLinear)
    assert conv.weight.dtype == np.int8 and "weight_only" in repr(q) and len(q.layers) == 4
    x = Tensor(rng(3).normal(0, 1, (2, 3, 6, 6)).astype(np.float32))
    twin = Sequential(Conv2d(3, 4, 3, padding=1), ReLU(), GlobalAvgPool2d(), Linear(4, 5)).eval()
    twin.layers[0].weight.data[...] = conv.dequantized_weight()
    twin.layers[0].bias.data[...] = conv.bias.data
    twin.layers[3].weight.data[...] = linear.dequantized_weight()
    twin.layers[3].bias.data[...] = linear.bias.data
    np.testing.assert_array_equal(q(x).data, twin(x).data)  # the float Ops, no activation step
    assert_close(q(x).data, model(x).data, rtol=0.05, atol=0.02)
    save(q, tmp_path / "w8.npz")
    assert read_state(tmp_path / "w8.npz")["0.weight"].dtype == np.int8
    with pytest.raises(ValueError, match="quantize_weight_only: dtype"):
        quantize_weight_only(model, dtype=np.float16)


def test_fuse_conv_bn_keeps_the_eval_outputs() -> None:
    model = trained_bn(small_cnn())
    fused = fuse_conv_bn(model)
    assert not any(isinstance(m, BatchNorm2d) for m in fused.modules())
    assert len(fused) == len(model) - 2
    x = Tensor(rng(13).normal(0, 1, (4, 3, 8, 8)).astype(np.float32))
    assert_close(fused(x), model(x), rtol=1e-4, atol=1e-5)


def test_save_load_round_trip_keeps_int8_arrays_and_no_float_weights(tmp_path: Path) -> None:
    net = MLP([64, 48, 10], rng=rng(14))
    quantized = quantize_dynamic(net)
    path = save(quantized, tmp_path / "q.npz")
    state = read_state(path)
    assert state["0.weight"].dtype == np.int8 and state["2.weight"].dtype == np.int8
    floats = {k: v.shape for k, v in state.items() if v.dtype.kind == "f"}
    assert all(len(shape) <= 1 for shape in floats.values()), floats  # scales, biases only
    fresh = quantize_dynamic(MLP([64, 48, 10], rng=rng(99)))
    load(fresh, path)
    for (name, a), (_, b) in zip(
        quantized.state_dict().items(), fresh.state_dict().items(), strict=True
    ):
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b)
    x = Tensor(rng(15).normal(0, 1, (5, 64)).astype(np.float32))
    np.testing.assert_array_equal(fresh(x).data, quantized(x).data)
    big = MLP([512, 256, 10], rng=rng(18))
    ratio = file_bytes(big) / file_bytes(quantize_dynamic(big))
    assert 3.85 < ratio < 4.0  # measured on disk, zip headers included
    with pytest.raises(KeyError, match="the model holds int8"):
        save(net, tmp_path / "float.npz")
        load(fresh, tmp_path / "float.npz")


def test_int16_weights_are_256_times_finer() -> None:
    net = MLP([32, 16, 4], rng=rng(21))
    x = Tensor(rng(22).normal(0, 1, (10, 32)).astype(np.float32))
    eight, sixteen = quantize_dynamic(net), quantize_dynamic(net, dtype=np.int16)
    assert sixteen[0].weight.dtype == np.int16 and sixteen[0].weight.data.nbytes == 2 * 16 * 32
    weight_error = [
        np.abs(q[0].dequantized_weight() - net[0].weight.data).max() for q in (eight, sixteen)
    ]
    assert weight_error[1] < weight_error[0] / 100
    q = sixteen[0]
    assert np.abs(q.weight.data).max() > 30000  # the whole int16 range is used
    out = sixteen(x).data
    sixteen[0].accumulate = sixteen[2].accumulate = "int32"
    np.testing.assert_array_equal(sixteen(x).data, out)  # K * 255 * 32768 needs float64: exact


def test_a_static_quantized_cnn_round_trips_through_save_and_load(tmp_path: Path) -> None:
    model = trained_bn(small_cnn())
    batches = [rng(30 + i).normal(0, 1, (8, 3, 8, 8)).astype(np.float32) for i in range(2)]
    spec = {Linear, Conv2d}
    quantized = quantize_static(fuse_conv_bn(model), batches, qconfig_spec=spec)
    path = save(quantized, tmp_path / "cnn_int8.npz")
    state = read_state(path)
    assert state["0.weight"].dtype == np.int8 and state["0.input_qparams"].shape == (2,)
    # the same structure, built the same way from other float weights, then loaded
    fresh = quantize_static(fuse_conv_bn(trained_bn(small_cnn(seed=5), seed=6)), batches, spec)
    load(fresh, path)
    x = Tensor(batches[0])
    np.testing.assert_array_equal(fresh(x).data, quantized(x).data)


@pytest.mark.parametrize("dtype", ["qint8", np.float32, np.uint8])
def test_quantize_dynamic_names_the_dtypes_it_takes(dtype: object) -> None:
    model = Sequential(Linear(3, 4), ReLU())
    with pytest.raises(ValueError, match=r"np\.int8 or np\.int16 \(PyTorch's torch\.qint8"):
        quantize_dynamic(model, dtype=dtype)
