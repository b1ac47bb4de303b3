"""`Linear` and `Dropout`, each with a hand-written backward.

The backward of a layer answers: given dL/d(output), what are dL/d(input) and dL/d(parameters)?
Module 06 computes the same thing automatically; here we write it out once to see the cost:
a Linear's backward does two matmuls of the forward's size, so training costs ~3x inference.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.layers.module import Module, Parameter
from tinytorch.tensor import Tensor


def accumulate_grad(param: Parameter, grad: np.ndarray) -> None:
    """``param.grad += grad`` (gradients from several uses or batches add up).

    ``grad`` must have the parameter's shape; the stored gradient has the parameter's dtype and
    never aliases ``grad`` (a later in-place change to ``grad`` cannot corrupt it).
    """
    if np.shape(grad) != param.shape:
        raise ValueError(
            f"accumulate_grad: gradient of shape {np.shape(grad)} for a parameter "
            f"of shape {param.shape}; a backward must return one gradient element "
            f"per parameter element (sum over the batch dims)"
        )
    if param.grad is None:
        param.grad = Tensor(np.array(grad), dtype=param.dtype)  # a copy: never aliases grad
    else:
        param.grad = Tensor(param.grad.data + grad, dtype=param.dtype)


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
        self._input: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(
                f"Linear: expected input (*, {self.in_features}), got shape "
                f"{x.shape}; the layer was built with in_features="
                f"{self.in_features}"
            )
        self._input = x
        # BEGIN SOLUTION
        out = x @ self.weight.T
        return out + self.bias if self.bias is not None else out
        # END SOLUTION

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy ``(*, out)`` -> dL/dx ``(*, in)``; adds dL/dW and dL/db to the grads."""
        if self._input is None:
            raise RuntimeError("Linear.backward: call forward first (backward needs its input)")
        expected = (*self._input.shape[:-1], self.out_features)
        if grad_output.shape != expected:
            raise ValueError(
                f"Linear.backward: grad_output must have the output's shape "
                f"{expected}, got {grad_output.shape}"
            )
        x = self._input.data.reshape(-1, self.in_features)
        g = np.asarray(grad_output.data).reshape(-1, self.out_features)
        # HINT: y = x W^T + b, so dW = g^T x, db = sum of g over rows, dx = g W
        # BEGIN SOLUTION
        accumulate_grad(self.weight, g.T @ x)
        if self.bias is not None:
            accumulate_grad(self.bias, g.sum(axis=0))
        grad_input = g @ self.weight.data
        # END SOLUTION
        return Tensor(grad_input.reshape(self._input.shape), dtype=grad_input.dtype)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the rest
    by ``1/(1-p)`` so the expected value is unchanged; in eval, the identity.

    x: any shape -> same shape. Memory: the mask (one value per element) is kept for backward.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng()
        self._scale: np.ndarray | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            self._scale = None
            return x
        # BEGIN SOLUTION
        keep = self.rng.random(x.shape) >= self.p
        self._scale = (keep / (1.0 - self.p)).astype(x.dtype)
        return x * Tensor(self._scale)
        # END SOLUTION

    def backward(self, grad_output: Tensor) -> Tensor:
        if self._scale is None:
            return grad_output
        # BEGIN SOLUTION
        return Tensor(grad_output.data * self._scale, dtype=grad_output.dtype)
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"p={self.p}"
