"""`Linear` and `Dropout`, each an Op with a hand-written backward, run by a Module.

The backward of a layer answers: given dL/d(output), what are dL/d(input) and dL/d(parameters)?
We write it by hand here, as the ``backward`` of the layer's Op (`LinearOp`, `DropoutOp`); the
Module's ``backward`` calls it and adds the parameter gradients to ``.grad``. Module 06 computes
the same thing automatically, by calling the very same Op backward for every recorded op. The
cost shows here: a Linear's backward does two matmuls of the forward's size, so training costs
~3x inference.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.layers.module import Module, Parameter
from tinytorch.tensor import Op, Tensor, accumulate_grad, apply
from tinytorch.tensor.dispatch import Grads


class LinearOp(Op):
    """``y = x @ W.T + b`` as one Op: x ``(*, in)``, W ``(out, in)``, b ``(out,)`` -> ``(*, out)``.

    Saves x and W for the backward. Cost: 2*N*in*out FLOPs forward for N rows; backward two
    matmuls of the same size (dx and dW), so a training step costs ~3x inference.
    """

    def forward(
        self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None
    ) -> np.ndarray:
        self.save_for_backward(x, weight)
        rows = x.reshape(-1, x.shape[-1])  # (N, in): one big matmul, not one per leading index
        # HINT: y = x W^T + b: one matmul of the (N, in) rows with the transposed (out, in) weight
        # HINT: gives (N, out); add the bias (broadcast over the rows) in place when there is one
        # BEGIN SOLUTION
        out = rows @ weight.T
        if bias is not None:
            out += bias
        # END SOLUTION
        return out.reshape(*x.shape[:-1], weight.shape[0])

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dy ``(*, out)`` -> (dL/dx ``(*, in)``, dL/dW ``(out, in)``, dL/db ``(out,)``)."""
        x, weight = self.saved
        rows = grad.reshape(-1, weight.shape[0])  # every leading dim is a batch dim
        grad_x = grad_w = grad_b = None
        # HINT: y = x W^T + b, so dx = g W, dW = g^T x (summed over all rows), db = sum of g
        # BEGIN SOLUTION
        if needs[0]:
            grad_x = (rows @ weight).reshape(x.shape)
        if needs[1]:
            grad_w = rows.T @ x.reshape(-1, weight.shape[1])
        if len(needs) > 2 and needs[2]:
            grad_b = rows.sum(axis=0)
        # END SOLUTION
        return (grad_x, grad_w, grad_b)[: len(needs)]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` (PyTorch's ``F.linear``): x ``(*, in)``, weight ``(out, in)``,
    bias ``(out,)`` -> ``(*, out)``. One recorded op."""
    if bias is None:
        return apply(LinearOp(), x, weight)
    return apply(LinearOp(), x, weight, bias)


def dropout(
    x: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None
) -> Tensor:
    """Inverted dropout (PyTorch's ``F.dropout``): the identity unless ``training``; ``p = 1``
    zeroes everything. Pass ``rng`` to repeat the mask."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    return apply(DropoutOp(p, rng if rng is not None else np.random.default_rng()), x)


class Linear(Module):
    """``y = x @ W.T + b``.

    Shapes: x ``(*, in_features)`` float32 -> y ``(*, out_features)``; ``weight`` is
    ``(out_features, in_features)`` and ``bias`` ``(out_features,)``, as in PyTorch, both
    initialised from U(-1/sqrt(in_features), 1/sqrt(in_features)) (PyTorch's default).
    Cost: forward 2*N*in*out FLOPs for N rows; backward twice that.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"Linear: in_features and out_features must be positive, got "
                f"{in_features} and {out_features}"
            )
        generator = rng if rng is not None else np.random.default_rng()
        bound = 1.0 / math.sqrt(in_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(generator.uniform(-bound, bound, (out_features, in_features)))
        self.bias = Parameter(generator.uniform(-bound, bound, out_features)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(
                f"Linear: expected input (*, {self.in_features}), got shape "
                f"{x.shape}; the layer was built with in_features="
                f"{self.in_features}"
            )
        if self.bias is None:
            return self.run_op(LinearOp(), x, self.weight)
        return self.run_op(LinearOp(), x, self.weight, self.bias)

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy ``(*, out)`` -> dL/dx ``(*, in)``; adds dL/dW and dL/db to the grads."""
        needs = (True, True) if self.bias is None else (True, True, True)
        grad_input, grad_weight, *grad_bias = self.op_backward(grad_output, needs)
        # HINT: the Op's backward gave the weight's and bias's gradients: add them to the
        # HINT: parameters' .grad with accumulate_grad (grads accumulate across backward calls until
        # HINT: zero_grad)
        # BEGIN SOLUTION
        accumulate_grad(self.weight, grad_weight)
        if self.bias is not None:
            accumulate_grad(self.bias, grad_bias[0])
        # END SOLUTION
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class DropoutOp(Op):
    """Inverted dropout of x (any shape, float) with the keep-mask drawn from ``rng``.

    Each element is zeroed with probability ``p`` and the rest scaled by ``1/(1-p)``, so the
    expected value is unchanged; ``p = 1`` zeroes everything (as PyTorch). Memory: the scale
    array (one value per element) is kept for the backward, which multiplies by it.
    """

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        self.p, self.rng = p, rng

    def forward(self, x: np.ndarray) -> np.ndarray:
        # HINT: draw a keep mask (each element kept with probability 1 - p) and scale the kept ones
        # HINT: by 1 / (1 - p), so the expected output equals the input (inverted dropout); p == 1
        # HINT: keeps none. The scale array (mask times factor, in x's dtype) is what backward needs
        # BEGIN SOLUTION
        keep = self.rng.random(x.shape) >= self.p
        scale = keep * (1.0 / (1.0 - self.p)) if self.p < 1.0 else np.zeros(x.shape)
        scale = scale.astype(x.dtype)
        # END SOLUTION
        self.save_for_backward(scale)
        return x * scale

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        (scale,) = self.saved
        # HINT: y = x * scale elementwise, so dL/dx = dL/dy * scale (dropped elements get no
        # HINT: gradient)
        # BEGIN SOLUTION
        return (grad * scale,)
        # END SOLUTION


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the rest
    by ``1/(1-p)`` so the expected value is unchanged; in eval, the identity.

    x: any shape -> same shape. ``p`` in [0, 1]; ``p = 1`` zeroes everything, as in PyTorch.
    Memory: the mask (one value per element) is kept by the Op for backward.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng()

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            self._ctx = None
            return x
        return self.run_op(DropoutOp(self.p, self.rng), x)

    def backward(self, grad_output: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return grad_output
        (grad_input,) = self.op_backward(grad_output, (True,))
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return f"p={self.p}"
