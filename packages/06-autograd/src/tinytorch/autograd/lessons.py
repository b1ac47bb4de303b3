"""Systems lessons of module 06, as functions that return numbers.

- The graph is memory: every recorded op keeps what its backward reads alive until backward.
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
from tinytorch.autograd.engine import topological_order
from tinytorch.layers import Linear
from tinytorch.networks import Sequential
from tinytorch.tensor import Op, Tensor


def graph_stats(root: Tensor) -> dict[str, int]:
    """Nodes in ``root``'s graph and the bytes of the arrays its ops saved for backward (each
    array once): the memory that a forward made for training holds until backward."""
    arrays: dict[int, int] = {}
    order = topological_order(root) if root._node is not None and not root._node.freed else []
    for node in order:
        assert node.op is not None
        for value in node.op.saved:
            if isinstance(value, np.ndarray):
                arrays[id(value)] = value.nbytes
    return {"nodes": len(order), "saved_bytes": int(sum(arrays.values()))}


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


def held_activation_bytes(model: Any) -> int:
    """Bytes of arrays reachable from ``model`` that are neither parameters, gradients nor
    buffers: the activations a model keeps alive between calls (each array once).

    Walks attributes of Modules, Ops (what their forward saved), Tensors, lists, tuples and
    dicts. After ``loss.backward()``, or after a forward under ``no_grad()``, it should be 0:
    the Ops hold what the backward reads, and the graph releases them.
    """
    own: set[int] = set()
    for module in model.modules():
        for tensor in [*vars(module).values(), *(t for _, t in module.named_buffers())]:
            if isinstance(tensor, Tensor):
                own.add(id(tensor.data))
                if tensor.grad is not None:
                    own.add(id(tensor.grad.data))
    found: dict[int, int] = {}
    seen: set[int] = set()
    stack: list[Any] = [model]
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, np.ndarray):
            if id(value) not in own:
                found[id(value)] = value.nbytes
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (Tensor, Op)) or hasattr(value, "modules"):
            stack.extend(vars(value).values())
            stack.extend(getattr(value, "saved", ()))
    return int(sum(found.values()))
