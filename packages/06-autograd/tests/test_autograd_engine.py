"""The engine: recording, accumulation, grad modes, errors, freeing the graph, scale, leaks."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from tinytorch.autograd import (
    Node,
    enable_grad,
    graph_stats,
    is_grad_enabled,
    live_node_count,
    no_grad,
    set_grad_enabled,
    topological_order,
)
from tinytorch.layers import Linear
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor, stack


def leaf(values: object) -> Tensor:
    return Tensor(values, requires_grad=True)


# --------------------------------------------------------------------- recording
def test_backward_fills_grad_of_a_simple_expression() -> None:
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    assert x.grad is not None and x.grad.dtype == np.float32
    assert_close(x.grad, [2, 4, 6])


def test_requires_grad_propagates_from_any_input() -> None:
    x, c = leaf([1.0, 2.0]), Tensor([3.0, 4.0])
    assert (x * c).requires_grad and (c + x).requires_grad
    assert not (c * c).requires_grad
    y = x * c
    assert not y.is_leaf and x.is_leaf and c.is_leaf
    assert isinstance(y._node, Node) and y._node.next == (x, None)  # c needs no gradient
    z = y + x
    assert z._node is not None and z._node.next == (y._node, x)  # y's Node, not y itself


def test_only_leaves_that_require_grad_receive_grad() -> None:
    x, c = leaf([1.0, 2.0]), Tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None
    assert_close(x.grad, [3, 4])


def test_non_leaf_tensors_do_not_retain_grad() -> None:
    x = leaf([1.0, 2.0])
    h = x * 2
    (h * h).sum().backward()
    assert h.grad is None
    assert_close(x.grad, [8, 16])  # d/dx (2x)^2 = 8x


def test_backward_of_a_leaf_itself() -> None:
    x = leaf([1.0, 2.0])
    x.backward([3.0, 4.0])
    assert_close(x.grad, [3, 4])


def test_zero_dim_leaf() -> None:
    x = leaf(3.0)
    (x * x * x).backward()
    assert x.grad is not None and x.grad.shape == ()
    assert_close(x.grad, np.float32(27.0))


def test_comparisons_and_argmax_record_no_graph() -> None:
    x = leaf([1.0, -2.0, 3.0])
    for result in (x > 0, x == 1.0, x <= x, x.argmax(), x.argmax(dim=0, keepdim=True)):
        assert not result.requires_grad and result._node is None and result.is_leaf


def test_backward_through_a_mask_built_from_a_comparison() -> None:
    x = leaf([1.0, -2.0, 3.0])
    (x * (x > 0)).sum().backward()
    assert_close(x.grad, [1, 0, 1])


# --------------------------------------------------------------------- accumulation
def test_gradients_of_every_use_are_summed() -> None:
    x = leaf([1.0, 2.0])
    (x * x + x + x.exp()).sum().backward()  # 2x + 1 + e^x
    assert_close(x.grad, 2 * np.array([1.0, 2.0]) + 1 + np.exp([1.0, 2.0]), rtol=1e-6)


def test_diamond_graph_counts_each_path_once() -> None:
    x = leaf(2.0)
    a = x * 3
    b, c = a + 1, a * a  # both use a
    (b * c).backward()  # (3x + 1) * 9x^2 -> 81x^2 + 18x
    assert_close(x.grad, np.float32(81 * 4 + 18 * 2))


def test_grad_accumulates_across_backward_calls() -> None:
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    first = x.grad
    (x * 3).sum().backward()
    assert_close(x.grad, [6, 6])
    assert first is not None
    assert_close(first, [3, 3])  # the earlier .grad object was not mutated


def test_grad_dtype_is_the_leaf_dtype() -> None:
    x = leaf([1.0, 2.0])
    (x.astype(np.float64) * Tensor([1.0, 2.0], dtype=np.float64)).sum().backward()
    assert x.grad is not None and x.grad.dtype == np.float32


# --------------------------------------------------------------------- detach and grad modes
def test_detach_cuts_the_graph_and_shares_data() -> None:
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d.data, x.data)
    (d * x).sum().backward()  # only the x path counts: gradient d = x
    assert_close(x.grad, [1, 2])


def test_no_grad_context_records_nothing_and_restores() -> None:
    x = leaf([1.0, 2.0])
    before = live_node_count()
    with no_grad():
        assert not is_grad_enabled()
        y = x * 2 + 1
    assert is_grad_enabled()
    assert not y.requires_grad and y._node is None and y.is_leaf
    assert live_node_count() == before
    assert (x * 2).requires_grad


def test_no_grad_as_decorator() -> None:
    @no_grad()
    def evaluate(t: Tensor) -> Tensor:
        """Doc."""
        assert not is_grad_enabled()
        return t * 2

    y = evaluate(leaf([1.0]))
    assert not y.requires_grad and is_grad_enabled()
    assert evaluate.__name__ == "evaluate" and evaluate.__doc__ == "Doc."


def test_enable_grad_inside_no_grad() -> None:
    x = leaf([1.0, 2.0])
    with no_grad():
        with enable_grad():
            y = x * x
        z = x * x
    assert y.requires_grad and not z.requires_grad
    y.sum().backward()
    assert_close(x.grad, [2, 4])


def test_set_grad_enabled_nests_and_survives_exceptions() -> None:
    with set_grad_enabled(False):
        with set_grad_enabled(True):
            assert is_grad_enabled()
        assert not is_grad_enabled()
        with pytest.raises(ZeroDivisionError), no_grad():
            _ = 1 / 0
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_enable_grad_as_decorator_inside_no_grad() -> None:
    @enable_grad()
    def record(t: Tensor) -> Tensor:
        return t * 3

    x = leaf([1.0])
    with no_grad():
        y = record(x)
    assert y.requires_grad


# --------------------------------------------------------------------- errors
def test_backward_of_a_non_scalar_needs_grad() -> None:
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"scalar.*\(2,\)"):
        (x * 2).backward()
    (x * 2).backward([1.0, 10.0])
    assert_close(x.grad, [2, 20])


def test_backward_with_a_grad_of_the_wrong_shape() -> None:
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward([1.0, 1.0, 1.0])


def test_backward_of_a_tensor_that_does_not_require_grad() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0, 2.0]).sum().backward()
    x = leaf([1.0])
    with no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


def test_second_backward_without_retain_graph_raises_clearly() -> None:
    x = leaf([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        loss.backward()


def test_backward_through_an_intermediate_of_a_freed_graph_raises() -> None:
    x = leaf([1.0, 2.0])
    h = x.exp()
    h.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        (h * 2).sum().backward()


def test_retain_graph_allows_a_second_backward() -> None:
    x = leaf([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert_close(x.grad, [4, 8])


# --------------------------------------------------------------------- freeing memory
def test_graph_is_freed_after_backward() -> None:
    x = leaf(np.ones((4, 4)))
    loss = ((x @ x).exp() * x).mean()
    assert graph_stats(loss)["nodes"] == 4
    loss.backward()
    assert graph_stats(loss)["nodes"] == 0 and graph_stats(loss)["saved_bytes"] == 0
    assert loss._node is not None and loss._node.freed


def test_graph_is_kept_with_retain_graph() -> None:
    x = leaf(np.ones(3))
    loss = (x * 2).sum()
    loss.backward(retain_graph=True)
    assert graph_stats(loss)["nodes"] == 2


def test_the_graph_keeps_only_what_ops_saved_and_frees_it_after_backward() -> None:
    x = leaf(np.ones((8, 8)))
    hidden = (x @ x).exp()
    alive = weakref.ref(hidden)
    loss = (hidden * 2).sum()
    assert loss._node is not None and isinstance(loss._node.next[0], Node)
    mul = loss._node.next[0].op
    assert mul is not None and any(value is hidden.data for value in mul.saved)
    del hidden
    gc.collect()
    assert alive() is None  # the graph holds no Tensor, only the arrays the Mul saved
    loss.backward()
    assert mul.saved == () and mul.released  # freed, although `loss` is still referenced
    assert x.grad is not None


def test_ops_that_need_nothing_save_nothing() -> None:
    a, b = leaf(np.ones((4, 4))), leaf(np.ones(4))
    for y in (a + b, a - b, a.sum(dim=0), a.reshape(16), a.T, a[1:]):
        assert y._node is not None and y._node.op is not None and y._node.op.saved == ()


def test_no_grad_keeps_no_intermediates() -> None:
    x = leaf(np.ones((8, 8)))
    with no_grad():
        hidden = x.exp()
        alive = weakref.ref(hidden)
        out = (hidden * 2).sum()
        del hidden
    assert alive() is None and out._node is None


# --------------------------------------------------------------------- scale
def test_ten_thousand_op_chain_backpropagates_without_recursion() -> None:
    x = Tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    assert_close(x.grad, np.full(2, 1.0001**10_000), rtol=1e-9)


def test_topological_order_puts_every_node_after_the_nodes_it_reads() -> None:
    x = leaf([1.0])
    y = x
    for _ in range(2000):
        y = y * 0.5 + y * 0.5  # two paths from every tensor to the next: listed once
    order = topological_order(y)
    assert len(order) == 6000 and order[-1] is y._node
    position = {id(node): i for i, node in enumerate(order)}
    for node in order:
        assert node.next is not None
        earlier = [edge for edge in node.next if isinstance(edge, Node)]
        assert all(position[id(edge)] < position[id(node)] for edge in earlier)
    assert order[0].next is not None and order[0].next[0] is x  # the first reads the leaf


def test_a_tensor_used_a_thousand_times_gets_gradient_1000() -> None:
    x = leaf([1.0, 2.0])
    total = x * 0
    for _ in range(1000):
        total = total + x
    total.sum().backward()
    assert_close(x.grad, [1000, 1000])


def test_a_tensor_used_a_thousand_times_in_one_op() -> None:
    x = leaf([1.0, 2.0])
    stack([x] * 1000).sum().backward()
    assert_close(x.grad, [1000, 1000])


def test_training_loop_does_not_leak_graph_nodes() -> None:
    rng = np.random.default_rng(0)
    layer = Linear(4, 3, rng=rng)
    x = Tensor(rng.standard_normal((16, 4), dtype=np.float32))
    target = Tensor(rng.standard_normal((16, 3), dtype=np.float32))
    counts, losses = {}, []
    for step in range(1, 101):
        loss = ((layer(x) - target) ** 2).mean()
        loss.backward()
        for param in layer.parameters():
            param.data -= 0.05 * param.grad.data  # type: ignore[union-attr]
        layer.zero_grad()
        losses.append(loss.item())
        if step in (10, 100):
            gc.collect()
            counts[step] = live_node_count()
    assert counts[100] == counts[10]
    assert losses[-1] < losses[0]  # and it trained
    assert all(p.grad is None for p in layer.parameters())
