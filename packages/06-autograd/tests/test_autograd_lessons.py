"""The systems lessons of module 06 return the right numbers."""

from __future__ import annotations

import itertools

import numpy as np

from tinytorch.activations import ReLU
from tinytorch.autograd import checkpoint_memory, deep_mlp, graph_stats
from tinytorch.layers import Linear
from tinytorch.tensor import Tensor


def test_graph_stats_of_a_small_known_graph() -> None:
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)  # 12 bytes
    w = Tensor(np.ones(3), dtype=np.float64, requires_grad=True)  # 24 bytes
    y = x * w  # node 1 (Mul) saves x and w for its backward
    loss = y.exp().sum()  # node 2 (Exp) saves its float64 output: 24 bytes; node 3 (Sum) nothing
    assert graph_stats(loss) == {"nodes": 3, "saved_bytes": 12 + 24 + 24}
    assert graph_stats(y) == {"nodes": 1, "saved_bytes": 12 + 24}
    assert graph_stats(y.sum()) == {"nodes": 2, "saved_bytes": 12 + 24}  # a sum saves no array


def test_graph_stats_counts_a_shared_array_once() -> None:
    x = Tensor(np.ones((4, 5), dtype=np.float32), requires_grad=True)  # 80 bytes
    h = x * x * x  # the first Mul saves x twice (counted once), the second x*x and x
    assert graph_stats(h) == {"nodes": 2, "saved_bytes": 80 + 80}


def test_graph_stats_of_a_leaf_and_after_backward() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    assert graph_stats(x) == {"nodes": 0, "saved_bytes": 0}
    loss = (x.exp() * 2).sum()
    assert graph_stats(loss)["nodes"] == 3
    loss.backward()
    assert graph_stats(loss) == {"nodes": 0, "saved_bytes": 0}


def test_graph_grows_linearly_with_depth() -> None:
    x = Tensor(np.ones((2, 8), dtype=np.float32))
    sizes = []
    for depth in (2, 4, 8):
        model = deep_mlp(depth, 8, seed=0)
        sizes.append(graph_stats(model(x).sum()))
    assert [s["nodes"] for s in sizes] == [2 * 2 + 1, 4 * 2 + 1, 8 * 2 + 1]  # Linear, ReLU; sum
    growth = [b["saved_bytes"] - a["saved_bytes"] for a, b in itertools.pairwise(sizes)]
    assert growth[1] == 2 * growth[0] > 0


def test_deep_mlp_structure() -> None:
    model = deep_mlp(depth=3, width=5, seed=0)
    assert len(model) == 6
    assert all(isinstance(model[i], Linear) for i in (0, 2, 4))
    assert all(isinstance(model[i], ReLU) for i in (1, 3, 5))
    assert model.num_parameters() == 3 * (5 * 5 + 5)
    again = deep_mlp(depth=3, width=5, seed=0)
    assert all(
        np.array_equal(a.data, b.data)
        for a, b in zip(model.parameters(), again.parameters(), strict=True)
    )


def test_checkpointing_lowers_the_peak_memory_of_a_training_step() -> None:
    report = checkpoint_memory()
    assert set(report) == {"plain_peak_bytes", "checkpointed_peak_bytes", "parameter_bytes"}
    assert report["parameter_bytes"] == 16 * (256 * 256 + 256) * 4
    assert 0 < report["checkpointed_peak_bytes"] < report["plain_peak_bytes"]


def test_checkpoint_memory_saving_grows_with_depth() -> None:
    shallow = checkpoint_memory(depth=8, width=64, batch=256, segments=2)
    deep = checkpoint_memory(depth=16, width=64, batch=256, segments=4)
    saved_shallow = shallow["plain_peak_bytes"] - shallow["checkpointed_peak_bytes"]
    saved_deep = deep["plain_peak_bytes"] - deep["checkpointed_peak_bytes"]
    assert 0 < saved_shallow < saved_deep
