"""FLOP counts of the ops whose cost dominates a network: the matrix products.

Counted (one multiply-add = 2 FLOPs):

=============================  ==========================================  =================
op                              forward                                     backward
=============================  ==========================================  =================
``matmul`` (a @ b)              2 * prod(out.shape) * K                     forward x (grads
``linearop`` (F.linear)         2 * prod(out.shape) * in_features            asked for among
``conv2d`` / ``conv1d``         2 * N*O*Ho*Wo * (C/groups)*kH*kW             the two operands)
``scaled_dot_product_attention`` 2*B*H*L*S*E (q k^T) + 2*B*H*L*S*Ev (P v)   2 x forward
=============================  ==========================================  =================

Everything else (elementwise ops, reductions, softmax, reshapes) is **not** counted: those ops are
limited by memory traffic, not arithmetic, and their FLOPs would be a rounding error next to the
products. The table's footer says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tinytorch.layers.linear import LinearOp
from tinytorch.tensor.dispatch import Op
from tinytorch.tensor.ops import MatMul

__all__ = ["COUNTED_OPS", "backward_flops", "forward_flops"]

Shape = tuple[int, ...]

#: The op names whose FLOPs are counted (everything else counts 0).
COUNTED_OPS = ("matmul", "linearop", "conv2d", "conv1d", "scaled_dot_product_attention")


def forward_flops(op: Op, input_shapes: Sequence[Shape], output_shape: Shape) -> int:
    """FLOPs of one forward of ``op`` from its input and output shapes (0 if not counted).

    >>> from tinytorch.tensor.ops import MatMul
    >>> forward_flops(MatMul(), [(32, 784), (784, 256)], (32, 256))  # 2 * 32 * 256 * 784
    12845056
    """
    out = math.prod(output_shape)
    if isinstance(op, LinearOp):
        # HINT: every output element is a dot product of length in_features (x's last dim):
        # HINT: in_features multiplies and as many adds
        # BEGIN SOLUTION
        return 2 * out * input_shapes[0][-1]
        # END SOLUTION
    if isinstance(op, MatMul):
        a = input_shapes[0]
        return 2 * out * a[-1]
    name = op.name
    if name in ("conv2d", "conv1d"):
        weight = input_shapes[1]  # (O, C/groups, kH[, kW]): each output sums C/groups*kH*kW
        return 2 * out * math.prod(weight[1:])
    if name == "scaled_dot_product_attention":
        q, k = input_shapes[0], input_shapes[1]
        rows = math.prod(output_shape[:-1])  # B*H*L
        keys, embed, embed_v = k[-2], q[-1], output_shape[-1]
        return 2 * rows * keys * embed + 2 * rows * keys * embed_v
    return 0


def backward_flops(op: Op, forward: int, grads: Sequence[object]) -> int:
    """FLOPs of one backward, from the forward's count and which gradients were computed.

    For a product each operand's gradient is itself a product as large as the forward
    (dA = dC B^T, dB = A^T dC), so a Linear's backward with dx and dW costs 2 x its forward.
    """
    if forward == 0:
        return 0
    if op.name == "scaled_dot_product_attention":
        return 2 * forward if any(g is not None for g in grads) else 0
    return forward * sum(g is not None for g in grads[:2])
