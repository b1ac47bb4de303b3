"""Gradient checkpointing: trade compute for memory.

Normally the graph keeps every intermediate activation until backward. ``checkpoint(fn, *inputs)``
runs ``fn`` without recording (its intermediates are freed at once) and records one node instead;
backward runs ``fn`` again, this time recording, and backpropagates through that fresh graph.
For a network cut into k segments this keeps only the segment boundaries: activation memory
O(k + L/k) instead of O(L) for L layers, at the cost of one extra forward pass.

Randomness: the recomputation must draw the same random numbers as the forward (the same Dropout
mask), so the random generators of ``fn``'s Modules (their ``rng`` attribute) are rewound to
their state before the forward, and put back afterwards, as PyTorch's checkpoint does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.autograd.engine import backward, enable_grad, no_grad
from tinytorch.tensor import Op, Tensor, apply
from tinytorch.tensor.dispatch import Grads


class Checkpoint(Op):
    """Runs ``fn`` on the first ``n_inputs`` arrays; further inputs (the parameters ``fn`` uses)
    are passed only so the recorder sees that the output depends on trainable tensors."""

    def __init__(self, fn: Callable[..., Tensor], n_inputs: int) -> None:
        self.fn, self.n_inputs = fn, n_inputs
        self._generators = module_generators(fn)
        self._generator_states: list[Any] = []

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        self._generator_states = [g.bit_generator.state for g in self._generators]
        self.save_for_backward(*arrays[: self.n_inputs])  # the segment's inputs, nothing inside
        with no_grad():
            return self.fn(*(Tensor._wrap(a) for a in arrays[: self.n_inputs])).data

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """Run ``fn`` again with recording on, and backpropagate ``grad`` through that graph."""
        current = [generator.bit_generator.state for generator in self._generators]
        for generator, state in zip(self._generators, self._generator_states, strict=True):
            generator.bit_generator.state = state  # replay the forward's random draws
        # HINT: recompute instead of storing: wrap the saved inputs as fresh leaves (requires_grad
        # HINT: where needed and float), rerun fn under enable_grad, backward the recomputed output
        # HINT: with grad, and return the leaves' .grad arrays (None where a leaf got none)
        # BEGIN SOLUTION
        leaves = [
            Tensor._wrap(a).requires_grad_(need and a.dtype.kind == "f")
            for a, need in zip(self.saved, needs[: self.n_inputs], strict=True)
        ]
        with enable_grad():
            recomputed = self.fn(*leaves)
        backward(recomputed, Tensor._wrap(grad))  # parameters inside fn receive their .grad here
        input_grads = tuple(leaf.grad.data if leaf.grad is not None else None for leaf in leaves)
        # END SOLUTION
        for generator, state in zip(self._generators, current, strict=True):
            generator.bit_generator.state = state
        return input_grads + (None,) * (len(needs) - self.n_inputs)


def module_generators(fn: Any) -> list[np.random.Generator]:
    """The random generators (``rng`` attributes, as Dropout's) of the Modules inside ``fn``."""
    found: dict[int, np.random.Generator] = {}
    for module in fn.modules() if hasattr(fn, "modules") else []:
        generator = getattr(module, "rng", None)
        if isinstance(generator, np.random.Generator):
            found[id(generator)] = generator
    return list(found.values())


def checkpoint(fn: Callable[..., Tensor], *inputs: Tensor) -> Tensor:
    """``fn(*inputs)`` without storing its intermediate activations; recomputed in backward.

    ``fn`` may use parameters (a Module or a closure over one); those of a Module are found via
    ``fn.parameters()``, and its Modules' random generators are replayed in the recomputation.
    Returns the same values as ``fn(*inputs)`` and, after backward, the same gradients.
    """
    params = list(fn.parameters()) if hasattr(fn, "parameters") else []
    return apply(Checkpoint(fn, len(inputs)), *inputs, *params)
