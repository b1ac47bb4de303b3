"""Reverse-mode automatic differentiation: record a graph in the forward pass, walk it backwards.

Forward: the dispatch point hands every op to `record`. When grad mode is on and an input
requires grad, the output gets a `Node` (the op and its input Tensors) and requires grad too.

Backward: `backward(root)` orders the graph topologically with an explicit stack (no recursion,
so a 10,000-op chain is fine), then visits each tensor once, root first, calling its op's own
derivative (``op.backward`` through `tinytorch.tensor.vjp`, which first checks that nothing the
op saved was modified in place) to turn the gradient of the output into gradients of the inputs,
summing the contributions of every use. Leaves that require grad receive the sum in ``.grad``
(accumulating across backward calls). Cost: one derivative call per node, O(nodes + edges).

Memory: the graph keeps the recorded ops alive, and each op what its forward saved (inputs, the
output, masks, column matrices). After backward the graph is freed (``retain_graph=False``):
every op releases what it saved, so memory returns to what the caller holds, and a layer that
kept its op for a hand-written backward holds no activation either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from tinytorch.tensor import Op, Tensor, accumulate_grad, vjp
from tinytorch.tensor.dispatch import set_grad_mode

F = TypeVar("F", bound=Callable[..., Any])


class Node:
    """How a tensor was made: ``op`` and, for each of its inputs, the ``next`` place its gradient
    goes: the input's own Node (an intermediate result), the input itself (a leaf that requires
    grad: its ``.grad`` receives the sum), or None (no gradient needed).

    The graph holds no intermediate tensor, only Ops and what each Op saved for its backward:
    an Add keeps nothing but shapes, a Mul its two inputs. Freed (emptied) after backward.
    """

    __slots__ = ("next", "op")
    live = 0  # Nodes alive and not yet freed: a leak check for training loops

    def __init__(self, op: Op, next_edges: tuple[Node | Tensor | None, ...]) -> None:
        self.op: Op | None = op
        self.next: tuple[Node | Tensor | None, ...] | None = next_edges
        Node.live += 1

    def __del__(self) -> None:
        if self.next is not None:
            Node.live -= 1

    @property
    def freed(self) -> bool:
        return self.next is None

    def free(self) -> None:
        """Release what the op saved and forget the edges (the graph's memory)."""
        if self.next is None:
            return
        assert self.op is not None
        self.op.release()
        self.op, self.next = None, None
        Node.live -= 1

    def __repr__(self) -> str:
        return f"Node({self.op!r})" if not self.freed else "Node(<freed>)"


def live_node_count() -> int:
    """How many graph nodes are live (recorded, not yet freed by a backward) right now; it
    should not grow across training steps."""
    return Node.live


# --------------------------------------------------------------------- grad mode
class set_grad_enabled:
    """Context manager and decorator that turns graph recording on or off inside it."""

    def __init__(self, mode: bool) -> None:
        self.mode = mode
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(set_grad_mode(self.mode))

    def __exit__(self, *exc: object) -> None:
        set_grad_mode(self.previous.pop())

    def __call__(self, fn: F) -> F:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(self.mode):
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper  # type: ignore[return-value]


class no_grad(set_grad_enabled):
    """``with no_grad():`` (or ``@no_grad()``): record nothing, e.g. for evaluation; saves the
    memory of the graph."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Record the graph again inside a ``no_grad`` region."""

    def __init__(self) -> None:
        super().__init__(True)


# --------------------------------------------------------------------- recording
def edge_to(t: Tensor) -> Node | Tensor | None:
    """Where the gradient of input ``t`` goes: its Node, itself (a leaf), or nowhere."""
    if not t.requires_grad:
        return None
    return t._node if t._node is not None else t


def record(op: Op, inputs: tuple[Tensor, ...], output: Tensor) -> None:
    """The recorder installed at the dispatch point (called only while grad mode is on): give
    ``output`` a Node linking ``op`` to its inputs' edges when an input requires grad."""
    # HINT: only when some input requires grad: mark the output as requiring grad and give it a Node
    # HINT: holding op and one edge per input (edge_to: the input's Node, the leaf itself, or None)
    # BEGIN SOLUTION
    if any(t.requires_grad for t in inputs):
        output.requires_grad = True
        output._node = Node(op, tuple(edge_to(t) for t in inputs))
    # END SOLUTION


# --------------------------------------------------------------------- backward
def topological_order(root: Tensor) -> list[Node]:
    """Every Node ``root`` depends on, each after all the Nodes its inputs came from.

    Iterative depth-first search: a (node, expanded) stack replaces recursion, so depth is
    limited by memory, not by Python's recursion limit.
    """
    order: list[Node] = []
    if root._node is None:
        return order
    visited: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root._node, False)]
    # HINT: iterative depth-first search (no recursion limit): push (node, False); on pop, if it is
    # HINT: expanded append it (post-order), else mark visited, push (node, True) and its Node
    # HINT: edges. A node whose .next is None was released by an earlier backward: raise, naming
    # HINT: retain_graph
    # BEGIN SOLUTION
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        if node.next is None:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time (or through "
                "part of it that was already freed); what its ops saved was released after "
                "the first backward. Pass retain_graph=True to the first backward() call if "
                "you need to backward twice"
            )
        stack.append((node, True))
        stack.extend((edge, False) for edge in node.next if isinstance(edge, Node))
    # END SOLUTION
    return order


def backward(root: Tensor, grad: Tensor | None = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) * grad into ``leaf.grad`` for every leaf requiring grad."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no graph; "
            "set requires_grad=True on the inputs (parameters do) and make sure "
            "it was not computed under no_grad()"
        )
    if grad is None:
        if root.numel() != 1:
            raise RuntimeError(
                f"backward: grad can be implied only for a scalar output, this "
                f"one has shape {root.shape}; pass grad= of that shape, or "
                f"reduce first (loss.sum() or loss.mean())"
            )
        seed = np.ones(root.shape, dtype=root.dtype)
    else:
        if grad.shape != root.shape:
            raise ValueError(
                f"backward: grad has shape {grad.shape} but the output has shape {root.shape}"
            )
        seed = grad.data
    if root._node is None:  # a leaf: d(root)/d(root) = 1
        accumulate_grad(root, seed)
        return
    order = topological_order(root)
    grads: dict[int, np.ndarray] = {id(root._node): seed}  # keyed by Node or leaf Tensor
    leaves: dict[int, Tensor] = {}
    # HINT: walk the nodes from the output back (reversed topological order); for each, pop its
    # HINT: summed gradient, ask vjp for its inputs' gradients (needs = which edges exist), and add
    # HINT: each into grads[id(edge)] (a value used twice gets the sum); finally accumulate_grad
    # HINT: into each leaf
    # BEGIN SOLUTION
    for node in reversed(order):
        g = grads.pop(id(node), None)
        if g is None:
            continue  # only reachable through ops that gave no gradient
        assert node.op is not None and node.next is not None
        needs = tuple(edge is not None for edge in node.next)
        input_grads = vjp(node.op, g, needs)
        for edge, gi in zip(node.next, input_grads, strict=True):
            if edge is None or gi is None:
                continue
            if isinstance(edge, Tensor):
                leaves[id(edge)] = edge
            previous = grads.get(id(edge))
            grads[id(edge)] = gi if previous is None else previous + gi
    for key, leaf in leaves.items():
        accumulate_grad(leaf, grads[key])
    # END SOLUTION
    if not retain_graph:
        for node in order:
            node.free()
