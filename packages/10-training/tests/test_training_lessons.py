"""Systems lessons as numbers: fused vs composed cross-entropy, checkpoint sizes, the cost of
memory tracking; the peak-memory helpers and the accuracy metric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinytorch.layers import Linear
from tinytorch.networks import Sequential
from tinytorch.optimizers import SGD, Adam
from tinytorch.tensor import Tensor
from tinytorch.training import (
    PeakMemory,
    accuracy,
    checkpoint_bytes,
    cross_entropy,
    cross_entropy_costs,
    lifetime_peak_rss_bytes,
    memory_tracking_overhead,
    peak_rss_bytes,
    save_checkpoint,
)


def test_fused_cross_entropy_records_one_node_instead_of_six() -> None:
    costs = cross_entropy_costs(n=64, c=10, repeats=2)
    assert costs["fused_nodes"] == 1 and costs["composed_nodes"] == 6
    assert costs["fused_s"] > 0 and costs["composed_s"] > 0
    assert costs["speedup"] == costs["composed_s"] / costs["fused_s"]


def test_checkpoint_bytes_counts_parameters_buffers_and_optimizer_state(tmp_path: Path) -> None:
    model = Sequential(Linear(4, 3), Linear(3, 2))  # 15 + 8 = 23 float32 parameters
    adam = Adam(model.parameters(), lr=0.1)
    assert checkpoint_bytes(model, adam) == {"model": 92, "optimizer": 0, "total": 92}
    for p in model.parameters():
        p.grad = Tensor(np.ones_like(p.data))
    adam.step()  # two moment buffers per parameter
    assert checkpoint_bytes(model, adam) == {"model": 92, "optimizer": 184, "total": 276}
    sgd = SGD(model.parameters(), lr=0.1, momentum=0.9)
    sgd.step()
    assert checkpoint_bytes(model, sgd)["optimizer"] == 92
    assert checkpoint_bytes(model)["optimizer"] == 0
    size = save_checkpoint(tmp_path / "c.npz", model, adam).stat().st_size
    # 12 arrays and the metadata, each with a 128-byte .npy header and zip headers naming it
    assert 276 + 13 * 128 < size < 276 + 13 * 500


def test_memory_tracking_overhead_returns_timings() -> None:
    result = memory_tracking_overhead(sizes=(8, 8, 2), batch=16, steps=2)
    assert set(result) == {"plain_s", "rss_s", "traced_s", "rss_slowdown", "traced_slowdown"}
    assert all(v > 0 for v in result.values())
    assert result["traced_slowdown"] == result["traced_s"] / result["plain_s"]


def test_peak_memory_sees_a_large_temporary_array() -> None:
    size = 64 * 2**20
    with PeakMemory(trace=True) as memory:
        block = np.ones(size // 8)
        del block
    assert memory.traced_bytes is not None and memory.traced_bytes >= size
    assert memory.rss_bytes >= size
    assert peak_rss_bytes() > 0
    with PeakMemory() as quiet:
        pass
    assert quiet.traced_bytes is None and quiet.rss_bytes > 0
    if quiet.resettable:  # the block's peak excludes the 64 MiB, the lifetime peak does not
        assert quiet.rss_bytes < memory.rss_bytes
    assert lifetime_peak_rss_bytes() >= memory.rss_bytes


def test_accuracy_multiclass_and_binary() -> None:
    scores = Tensor([[0.1, 0.9], [2.0, -1.0], [0.0, 3.0]])
    assert accuracy(scores, Tensor([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(np.array([[2.0], [-1.0], [0.5]]), np.array([1.0, 0.0, 0.0])) == pytest.approx(
        2 / 3
    )
    assert accuracy(np.zeros((0, 3)), np.zeros(0, dtype=np.int64)) == 0.0
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\), got \(3, 1\)"):
        accuracy(scores, np.zeros((3, 1), dtype=np.int64))
    with pytest.raises(ValueError, match=r"need one 0/1 target each"):
        accuracy(np.zeros(3), np.zeros(4))


def test_fused_loss_trains_like_the_composed_one() -> None:
    gen = np.random.default_rng(0)
    x = Tensor(gen.standard_normal((32, 5), dtype=np.float32))
    y = gen.integers(0, 3, 32)
    model = Linear(5, 3, rng=np.random.default_rng(1))
    opt = SGD(model.parameters(), lr=0.5)
    for _ in range(20):
        opt.zero_grad()
        loss = cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 1.0
