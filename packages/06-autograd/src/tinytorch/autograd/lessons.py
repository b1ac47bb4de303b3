"""Systems lessons of module 06, as functions that return numbers.

- The graph is memory: every recorded op keeps its inputs alive until backward.
- Checkpointing trades a second forward pass for most of that memory.
- Reverse mode gets the gradient of one scalar w.r.t. n inputs in one backward pass (about 2-3x a
  forward); forward mode would need n passes, one per input direction.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np

from tinytorch.activations import ReLU
from tinytorch.autograd.checkpoint import checkpoint
from tinytorch.layers import Linear
from tinytorch.networks import Sequential
from tinytorch.tensor import Tensor


def graph_stats(root: Tensor) -> dict[str, int]:
    """Nodes in ``root``'s graph and the bytes of arrays it keeps alive (each array once)."""
    nodes, arrays, stack, seen = 0, {}, [root], set()
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen or tensor._node is None or tensor._node.freed:
            continue
        seen.add(id(tensor))
        nodes += 1
        for t in tensor._node.inputs:
            arrays[id(t.data)] = t.data.nbytes
            stack.append(t)
    return {"nodes": nodes, "saved_bytes": int(sum(arrays.values()))}


def deep_mlp(depth: int, width: int, seed: int = 0) -> Sequential:
    """``depth`` blocks of Linear(width, width) + ReLU."""
    rng = np.random.default_rng(seed)
    layers: list[Any] = []
    for _ in range(depth):
        layers += [Linear(width, width, rng=rng), ReLU()]
    return Sequential(*layers)


def checkpoint_memory(
    depth: int = 16, width: int = 256, batch: int = 512, segments: int = 4
) -> dict[str, int]:
    """Peak traced bytes of one training step of a deep MLP, with and without checkpointing.

    Returns ``{"plain_peak_bytes", "checkpointed_peak_bytes", "parameter_bytes"}``.
    """
    model = deep_mlp(depth, width)
    x = Tensor(np.random.default_rng(1).standard_normal((batch, width), dtype=np.float32))
    per_segment = len(model) // segments

    def plain() -> None:
        model(x).mean().backward()

    def checkpointed() -> None:
        h = x
        for s in range(segments):
            h = checkpoint(model[s * per_segment : (s + 1) * per_segment], h)
        h.mean().backward()

    peaks = {}
    for name, step in (("plain", plain), ("checkpointed", checkpointed)):
        model.zero_grad()
        tracemalloc.start()
        step()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {
        "plain_peak_bytes": peaks["plain"],
        "checkpointed_peak_bytes": peaks["checkpointed"],
        "parameter_bytes": sum(p.nbytes for p in model.parameters()),
    }
