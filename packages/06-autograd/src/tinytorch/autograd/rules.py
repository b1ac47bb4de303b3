"""Derivative rules: for each Op class, how the output's gradient becomes the inputs' gradients.

A rule is ``rule(op, grad, inputs, output, needs) -> tuple of input gradients`` where ``grad``,
``inputs`` and ``output`` are NumPy arrays and ``needs[i]`` says whether input i wants a
gradient (a rule may return None for the others, and must, where computing it could fail, as
``log(a)`` for the exponent of ``a ** b`` with negative ``a``). Each rule is the vector-Jacobian
product of its op: it never builds the Jacobian (an (n x n) matrix for an elementwise op).

Broadcasting: an input that was broadcast in the forward pass was used many times, so its
gradient is the sum over the broadcast dims (`unbroadcast`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.tensor import Op, ops

Grads = tuple[np.ndarray | None, ...]
Rule = Callable[[Any, np.ndarray, tuple[np.ndarray, ...], np.ndarray, tuple[bool, ...]], Grads]
RULES: dict[type[Op], Rule] = {}


def register_rule(op_class: type[Op]) -> Callable[[Rule], Rule]:
    """Decorator: ``@register_rule(MyOp)`` makes the function the derivative rule of MyOp."""

    def decorate(rule: Rule) -> Rule:
        RULES[op_class] = rule
        return rule

    return decorate


def rule_for(op: Op) -> Rule:
    """The rule of ``op``'s class (or of the nearest base class that has one)."""
    for cls in type(op).__mro__:
        if cls in RULES:
            return RULES[cls]
    raise NotImplementedError(
        f"backward: no derivative rule for op {type(op).__name__}; register one with "
        f"@tinytorch.autograd.register_rule({type(op).__name__})"
    )


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the dims that broadcasting added or stretched, back to ``shape``."""
    # BEGIN SOLUTION
    lead = grad.ndim - len(shape)
    stretched = tuple(lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1)
    axes = tuple(range(lead)) + stretched
    return (grad.sum(axis=axes, keepdims=True) if axes else grad).reshape(shape)
    # END SOLUTION


def _expand_reduced(grad: np.ndarray, op: Any, x: np.ndarray) -> np.ndarray:
    """Broadcast the gradient of a reduction over ``op.axes(x)`` back to ``x``'s shape."""
    axes = op.axes(x)
    if not op.keepdim:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, x.shape)


# --------------------------------------------------------------------- elementwise
@register_rule(ops.Add)
def _add(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    a, b = inputs
    # BEGIN SOLUTION
    return unbroadcast(g, a.shape), unbroadcast(g, b.shape)
    # END SOLUTION


@register_rule(ops.Sub)
def _sub(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    a, b = inputs
    # BEGIN SOLUTION
    return unbroadcast(g, a.shape), unbroadcast(-g, b.shape)
    # END SOLUTION


@register_rule(ops.Mul)
def _mul(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    a, b = inputs
    # BEGIN SOLUTION
    return (
        unbroadcast(g * b, a.shape) if needs[0] else None,
        unbroadcast(g * a, b.shape) if needs[1] else None,
    )
    # END SOLUTION


@register_rule(ops.Div)
def _div(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    a, b = inputs
    # BEGIN SOLUTION
    return (
        unbroadcast(g / b, a.shape) if needs[0] else None,
        unbroadcast(-g * a / (b * b), b.shape) if needs[1] else None,
    )
    # END SOLUTION


@register_rule(ops.Pow)
def _pow(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    a, b = inputs
    # HINT: d(a^b)/da = b * a^(b-1); d(a^b)/db = a^b * log(a) (defined for a > 0)
    # BEGIN SOLUTION
    grad_a = unbroadcast(g * b * np.power(a, b - 1), a.shape) if needs[0] else None
    grad_b = None
    if needs[1]:
        log_a = np.log(np.where(a > 0, a, 1))
        grad_b = unbroadcast(g * out * log_a, b.shape)
    return grad_a, grad_b
    # END SOLUTION


def _tie_split(a: np.ndarray, b: np.ndarray, g: np.ndarray, a_wins: np.ndarray) -> Grads:
    """Route ``g`` to the winner; on a tie each side gets half (as torch.maximum does)."""
    tie = a == b
    share_a = np.where(tie, 0.5, a_wins.astype(g.dtype))
    return unbroadcast(g * share_a, a.shape), unbroadcast(g * (1 - share_a), b.shape)


@register_rule(ops.Maximum)
def _maximum(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    a, b = inputs
    return _tie_split(a, b, g, a > b)


@register_rule(ops.Minimum)
def _minimum(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    a, b = inputs
    return _tie_split(a, b, g, a < b)


@register_rule(ops.MatMul)
def _matmul(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    a, b = inputs
    # 1-d operands were promoted to (1, K) and (K, 1); undo that around the 2-d rule.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g
    if b.ndim == 1:  # restore the trailing dim first: for 1-d @ 1-d, g is 0-d
        g2 = np.expand_dims(g2, -1)
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    grad_a = grad_b = None  # each costs a matmul as large as the forward: skip unneeded ones
    # HINT: C = A @ B  =>  dA = dC @ B^T and dB = A^T @ dC (then sum over broadcast batch dims)
    # BEGIN SOLUTION
    if needs[0]:
        grad_a = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
    if needs[1]:
        grad_b = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
    # END SOLUTION
    return grad_a, grad_b


@register_rule(ops.Neg)
def _neg(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    return (-g,)


@register_rule(ops.Exp)
def _exp(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    # BEGIN SOLUTION
    return (g * out,)
    # END SOLUTION


@register_rule(ops.Log)
def _log(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    # BEGIN SOLUTION
    return (g / inputs[0],)
    # END SOLUTION


@register_rule(ops.Sqrt)
def _sqrt(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    # BEGIN SOLUTION
    return (g / (2 * out),)
    # END SOLUTION


@register_rule(ops.Abs)
def _abs(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    return (g * np.sign(inputs[0]),)  # 0 at x = 0, as in PyTorch


@register_rule(ops.Clip)
def _clip(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    x = inputs[0]
    inside = np.ones(x.shape, dtype=bool)
    if op.low is not None:
        inside &= x >= op.low
    if op.high is not None:
        inside &= x <= op.high
    return (g * inside,)


@register_rule(ops.Astype)
def _astype(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    return (g.astype(inputs[0].dtype),)


@register_rule(ops.Where)
def _where(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    condition, a, b = inputs
    chosen = condition.astype(bool)
    return (
        None,
        unbroadcast(np.where(chosen, g, 0), a.shape),
        unbroadcast(np.where(chosen, 0, g), b.shape),
    )


# --------------------------------------------------------------------- reductions
@register_rule(ops.Sum)
def _sum(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    # BEGIN SOLUTION
    return (_expand_reduced(g, op, inputs[0]),)
    # END SOLUTION


@register_rule(ops.Mean)
def _mean(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    x = inputs[0]
    count = int(np.prod([x.shape[a] for a in op.axes(x)]))
    # BEGIN SOLUTION
    return (_expand_reduced(g, op, x) / count,)
    # END SOLUTION


def _extreme(op: Any, g: np.ndarray, x: np.ndarray, out: np.ndarray) -> Grads:
    """Max/min: the gradient goes to the extreme elements; ties share it equally (as
    torch.amax does), so the gradient is the same whichever tied element NumPy picked."""
    axes = op.axes(x)
    kept = out if op.keepdim else np.expand_dims(out, axes)
    # BEGIN SOLUTION
    winners = (x == kept).astype(g.dtype)
    share = winners / winners.sum(axis=axes, keepdims=True)
    return (_expand_reduced(g, op, x) * share,)
    # END SOLUTION


@register_rule(ops.Max)
def _max(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    return _extreme(op, g, inputs[0], out)


@register_rule(ops.Min)
def _min(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    return _extreme(op, g, inputs[0], out)


@register_rule(ops.Var)
def _var(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    x = inputs[0]
    axes = op.axes(x)
    count = int(np.prod([x.shape[a] for a in axes]))
    centered = x - x.mean(axis=axes, keepdims=True)
    # BEGIN SOLUTION
    return (_expand_reduced(g, op, x) * 2 * centered / (count - op.correction),)
    # END SOLUTION


# --------------------------------------------------------------------- shapes
@register_rule(ops.Reshape)
def _reshape(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    return (g.reshape(inputs[0].shape),)


@register_rule(ops.Permute)
def _permute(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    # BEGIN SOLUTION
    return (np.transpose(g, np.argsort([d % g.ndim for d in op.dims])),)
    # END SOLUTION


@register_rule(ops.Expand)
def _expand(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    return (unbroadcast(g, inputs[0].shape),)


@register_rule(ops.Contiguous)
def _contiguous(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    return (g,)


def _is_advanced(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


@register_rule(ops.GetItem)
def _getitem(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    x = inputs[0]
    grad = np.zeros(x.shape, dtype=g.dtype)
    # HINT: with integer-array indices an element can be picked twice; its gradient is the sum
    # BEGIN SOLUTION
    if _is_advanced(op.index):
        np.add.at(grad, op.index, g)  # accumulates repeated indices (grad[i] += g does not)
    else:
        grad[op.index] = g
    # END SOLUTION
    return (grad,)


@register_rule(ops.Concatenate)
def _concatenate(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    axis = op.dim % g.ndim
    boundaries = np.cumsum([x.shape[axis] for x in inputs])[:-1]
    return tuple(np.split(g, boundaries, axis=axis))


@register_rule(ops.Stack)
def _stack(op: Any, g: np.ndarray, inputs: Any, out: np.ndarray, needs: Any) -> Grads:
    axis = op.dim % g.ndim
    return tuple(np.take(g, i, axis=axis) for i in range(len(inputs)))
