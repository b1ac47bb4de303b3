"""Pruning: magnitude masks vs NumPy, iterative and global pruning, masks that survive
optimizer steps with momentum, the sparsity report, and structured pruning that builds a
smaller model equal to the masked one."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.activations import ReLU
from tinytorch.compression import (
    MaskedOptimizer,
    channel_importance,
    global_unstructured,
    is_pruned,
    l1_unstructured,
    magnitude_mask,
    mask_channels,
    plan_channel_pruning,
    prune_channels,
    remove,
    shrink,
    sparse_bytes,
    sparsity_report,
    total_flops,
)
from tinytorch.layers import Dropout, Linear
from tinytorch.networks import MLP, Sequential
from tinytorch.optimizers import SGD, Adam
from tinytorch.setup.testing import assert_close
from tinytorch.spatial import BatchNorm2d, Conv2d, Flatten, GlobalAvgPool2d, MaxPool2d
from tinytorch.tensor import Tensor
from tinytorch.training import cross_entropy


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_magnitude_mask_zeroes_exactly_the_smallest() -> None:
    w = rng().normal(0, 1, (20, 30))
    mask = magnitude_mask(w, 0.3)
    assert mask.dtype == np.float32 and mask.shape == w.shape
    assert int((mask == 0).sum()) == round(0.3 * 600)
    threshold = np.sort(np.abs(w).ravel())[180]
    np.testing.assert_array_equal(mask, (np.abs(w) >= threshold).astype(np.float32))
    assert magnitude_mask(w, 0).min() == 1.0 and magnitude_mask(w, 1.0).max() == 0.0
    assert int((magnitude_mask(w, 7) == 0).sum()) == 7
    with pytest.raises(ValueError, match=r"fractional amount must be in \[0, 1\]"):
        magnitude_mask(w, 1.5)


def test_l1_unstructured_masks_the_weight_and_prunes_iteratively() -> None:
    layer = Linear(10, 10, rng=rng(1))
    original = layer.weight.data.copy()
    l1_unstructured(layer, "weight", amount=0.5)
    assert is_pruned(layer) and layer.weight_mask.shape == (10, 10)
    np.testing.assert_array_equal(layer.weight.data, original * layer.weight_mask.data)
    assert int((layer.weight.data == 0).sum()) == 50
    l1_unstructured(layer, "weight", amount=0.5)  # half of the remaining half
    assert int((layer.weight.data == 0).sum()) == 75
    assert "weight_mask" in layer.state_dict()
    remove(layer, "weight")
    assert not is_pruned(layer) and "weight_mask" not in layer.state_dict()
    assert int((layer.weight.data == 0).sum()) == 75
    with pytest.raises(ValueError, match="is not pruned"):
        remove(layer, "weight")


def test_global_pruning_uses_one_threshold_across_layers() -> None:
    net = MLP([8, 16, 4], rng=rng(2))
    net[2].weight.data *= 10  # the second layer's weights are all large
    global_unstructured([(net[0], "weight"), (net[2], "weight")], amount=0.5)
    report = {row.name: row for row in sparsity_report(net)}
    total = report["total"]
    assert total.zeros == round(0.5 * (8 * 16 + 16 * 4))
    assert report["0.weight"].sparsity > 0.5 > report["2.weight"].sparsity
    survivors = np.concatenate(
        [np.abs(net[0].weight.data).ravel(), np.abs(net[2].weight.data).ravel()]
    )
    pruned_max = max(
        np.abs(w[m == 0]).max(initial=0)
        for w, m in (
            (net[0].weight.data, net[0].weight_mask.data),
            (net[2].weight.data, net[2].weight_mask.data),
        )
    )
    assert pruned_max == 0.0 and np.sort(survivors[survivors > 0]).size == total.numel - total.zeros


@pytest.mark.parametrize(
    "make", [lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: Adam(p, lr=0.01)]
)
def test_masks_survive_optimizer_steps_with_momentum(make) -> None:  # type: ignore[no-untyped-def]
    net = MLP([6, 12, 3], rng=rng(3))
    x = Tensor(rng(4).normal(0, 1, (32, 6)).astype(np.float32))
    y = Tensor(rng(5).integers(0, 3, 32))
    optimizer = make(net.parameters())
    for _ in range(3):  # build up momentum / moments BEFORE pruning
        optimizer.zero_grad()
        cross_entropy(net(x), y).backward()
        optimizer.step()
    l1_unstructured(net[0], amount=0.6)
    zeros = net[0].weight_mask.data == 0
    # without the mask, the momentum alone moves pruned weights off zero
    bare = [p.data.copy() for p in net.parameters()]
    optimizer.zero_grad()
    cross_entropy(net(x), y).backward()
    optimizer.step()
    assert np.abs(net[0].weight.data[zeros]).max() > 0
    for p, data in zip(net.parameters(), bare, strict=True):
        p.data[...] = data
    masked = MaskedOptimizer(optimizer, net)
    assert masked.param_groups is optimizer.param_groups
    for _ in range(5):
        masked.zero_grad()
        cross_entropy(net(x), y).backward()
        masked.step()
    assert np.all(net[0].weight.data[zeros] == 0)
    assert np.all(net[0].weight.data[~zeros] != 0)


def test_sparse_bytes_lesson() -> None:
    w = np.zeros((100, 100), dtype=np.float32)
    w[:, :10] = 1.0  # 90% sparse
    assert sparse_bytes(w) == 1000 * 8 + 101 * 4
    assert sparse_bytes(w) < w.nbytes
    assert sparse_bytes(np.ones((100, 100), np.float32)) > 2 * w.nbytes - 1  # dense: 2x worse


# --------------------------------------------------------------------- structured
def cnn(seed: int = 0, flatten: bool = False) -> Sequential:
    g = rng(seed)
    head: list = (
        [Flatten(), Linear(12 * 2 * 2, 5, rng=g)]
        if flatten
        else [GlobalAvgPool2d(), Linear(12, 5, rng=g)]
    )
    model = Sequential(
        Conv2d(3, 8, 3, padding=1, rng=g), BatchNorm2d(8), ReLU(), MaxPool2d(2),
        Conv2d(8, 12, 3, padding=1, bias=False, rng=g), BatchNorm2d(12), ReLU(), MaxPool2d(2),
        *head,
    )  # fmt: skip
    for layer in model:
        if isinstance(layer, BatchNorm2d):
            c = layer.num_features
            layer.running_mean.data[...] = g.normal(0, 0.3, c)
            layer.running_var.data[...] = g.uniform(0.5, 2, c)
            layer.weight.data[...] = g.uniform(0.2, 1.5, c)
            layer.bias.data[...] = g.normal(0, 0.3, c)
    return model.eval()


def test_channel_importance_is_the_filter_l1_norm_scaled_by_batchnorm() -> None:
    model = cnn()
    conv, bn = model[0], model[1]
    expected = np.abs(conv.weight.data).reshape(8, -1).sum(1)
    np.testing.assert_allclose(channel_importance(conv), expected, rtol=1e-6)
    scaled = expected * np.abs(bn.weight.data) / np.sqrt(bn.running_var.data + bn.eps)
    np.testing.assert_allclose(channel_importance(conv, bn), scaled, rtol=1e-6)


@pytest.mark.parametrize("flatten", [False, True])
def test_shrunk_model_equals_the_masked_model(flatten: bool) -> None:
    model = cnn(flatten=flatten)
    plans = plan_channel_pruning(model, 0.5)
    assert [p.index for p in plans] == [0, 4]
    assert [p.keep.size for p in plans] == [4, 6]
    smaller = shrink(model, plans)
    masked = mask_channels(Sequential(*[__import__("copy").deepcopy(m) for m in model]), plans)
    assert smaller[0].weight.shape == (4, 3, 3, 3) and smaller[1].running_mean.shape == (4,)
    assert smaller[4].weight.shape == (6, 4, 3, 3) and smaller[5].num_features == 6
    assert smaller[-1].weight.shape == ((5, 24) if flatten else (5, 6))
    assert smaller.num_parameters() < 0.45 * model.num_parameters()
    x = Tensor(rng(6).normal(0, 1, (4, 3, 8, 8)).astype(np.float32))
    assert_close(smaller(x), masked(x), rtol=1e-5, atol=1e-6)
    assert np.abs(masked(x).data - model(x).data).max() > 1e-3  # pruning changed something


def test_shrunk_model_is_bitwise_equal_when_arithmetic_is_exact() -> None:
    """Integer weights and inputs, BN with variance 1 and eps 0: every sum is an exact float,
    so the removed channels' zeros change nothing, in any summation order."""
    g = rng(7)
    model = Sequential(
        Conv2d(2, 6, 3, padding=1, rng=g), BatchNorm2d(6, eps=0.0), ReLU(),
        Conv2d(6, 4, 3, padding=1, rng=g), ReLU(), GlobalAvgPool2d(), Linear(4, 3, rng=g),
    )  # fmt: skip
    for p in model.parameters():
        p.data[...] = g.integers(-3, 4, p.shape)
    model[1].running_var.data[...] = 1.0
    model[1].running_mean.data[...] = g.integers(-2, 3, 6)
    model.eval()
    plans = plan_channel_pruning(model, {0: 0.5, 3: 0.5})
    smaller = shrink(model, plans)
    masked = mask_channels(__import__("copy").deepcopy(model), plans)
    x = Tensor(g.integers(-4, 5, (3, 2, 4, 4)).astype(np.float32))
    np.testing.assert_array_equal(smaller(x).data, masked(x).data)


def test_pruning_an_mlp_removes_units_and_the_next_layers_columns() -> None:
    net = Sequential(
        Linear(10, 20, rng=rng(8)), ReLU(), Dropout(0.1), Linear(20, 3, rng=rng(9))
    ).eval()
    smaller, plans = prune_channels(net, 0.75)
    assert smaller[0].weight.shape == (5, 10) and smaller[3].weight.shape == (3, 5)
    assert net[0].weight.shape == (20, 10)  # the original is untouched
    keep = plans[0].keep
    np.testing.assert_array_equal(smaller[3].weight.data, net[3].weight.data[:, keep])
    x = Tensor(rng(10).normal(0, 1, (6, 10)).astype(np.float32))
    masked = mask_channels(__import__("copy").deepcopy(net), plans)
    assert_close(smaller(x), masked(x), rtol=1e-5, atol=1e-6)


def test_structured_pruning_cuts_conv_flops() -> None:
    model = cnn()
    before = total_flops(model, (3, 8, 8), Conv2d)
    assert before == 2 * (8 * 8 * 8 * 27 + 12 * 4 * 4 * 72)
    smaller, _ = prune_channels(model, 0.5)
    after = total_flops(smaller, (3, 8, 8), Conv2d)
    assert after == 2 * (4 * 8 * 8 * 27 + 6 * 4 * 4 * 36)
    assert after < 0.5 * before


def test_structured_pruning_needs_a_sequential() -> None:
    with pytest.raises(TypeError, match="works on a Sequential"):
        plan_channel_pruning(Linear(2, 2), 0.5)


def test_recalibrate_batchnorm_recomputes_the_running_statistics() -> None:
    from tinytorch.compression import recalibrate_batchnorm

    model = cnn()
    weights = {n: p.data.copy() for n, p in model.named_parameters()}
    batches = [rng(20 + i).normal(0, 1, (6, 3, 8, 8)).astype(np.float32) for i in range(3)]
    recalibrate_batchnorm(model, [(b, None) for b in batches])
    assert not model.training and model[1].momentum == 0.1  # mode and momentum restored
    outputs = [model[0](Tensor(b)).data for b in batches]  # the first BatchNorm's inputs
    means = np.mean([o.mean(axis=(0, 2, 3)) for o in outputs], axis=0)
    variances = np.mean([o.var(axis=(0, 2, 3), ddof=1) for o in outputs], axis=0)
    assert_close(model[1].running_mean.data, means, rtol=1e-4, atol=1e-5)
    assert_close(model[1].running_var.data, variances, rtol=1e-4, atol=1e-5)
    assert int(model[1].num_batches_tracked.item()) == 3
    for name, param in model.named_parameters():
        np.testing.assert_array_equal(param.data, weights[name])
