"""The activation Ops: each holds its forward and its local derivative side by side.

``forward(x)`` computes ``y`` on NumPy arrays and saves what the derivative reads;
``backward(grad, needs)`` turns dL/dy into dL/dx. The functions and Modules run the Op through
the dispatch point ``tinytorch.tensor.apply`` (where module 06 records it); a Module's
hand-written ``backward`` calls the Op's ``backward``, and so does autograd: both paths run the
same lines, so they agree by construction.

A derivative reads only what it needs: ReLU, Sigmoid, Tanh, Softmax and LogSoftmax save the
output ``y``, LeakyReLU and GELU the input ``x``. Which one stays alive between forward and
backward is a memory decision (see `tinytorch.activations.lessons.activation_cost`).

Shapes: every activation maps any shape to the same shape and keeps the float dtype; Softmax and
LogSoftmax normalise along ``dim``. Costs are per element of the input.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.activations.special import erf
from tinytorch.tensor import Op
from tinytorch.tensor.dispatch import Grads
from tinytorch.tensor.ops import normalize_dim

GELU_APPROXIMATIONS = ("none", "tanh")
_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_CUBIC = 0.044715


def require_float(function: str, x: np.ndarray) -> None:
    """Raise a TypeError naming ``function``, the dtype and the fix unless ``x`` is float."""
    if x.dtype.kind != "f":
        raise TypeError(
            f"{function}: expected a floating-point tensor, got dtype {x.dtype}; {function} is "
            f"not defined for integer or bool tensors (as in PyTorch); convert first with "
            f"x.astype(np.float32)"
        )


class ActivationOp(Op):
    """Base of the activation Ops: ``name`` is the function's name (``"log_softmax"``)."""

    function = "activation"

    @property
    def name(self) -> str:
        return self.function


# --------------------------------------------------------------------- ReLU
class ReLUOp(ActivationOp):
    """``y = max(x, 0)``. Float or integer input (the dtype is kept); bool is refused.

    Cost: 1 comparison per element, no exp: the cheapest nonlinearity there is.
    """

    function = "relu"

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind not in "iuf":
            raise TypeError(
                f"relu: expected a numeric tensor, got dtype {x.dtype}; convert first with "
                f"x.astype(np.float32)"
            )
        # BEGIN SOLUTION
        y = np.maximum(x, 0)
        # END SOLUTION
        self.save_for_backward(y)
        return y

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = dL/dy where y > 0, else 0 (the derivative at 0 is taken as 0, as in PyTorch).

        Reads only the output: y > 0 exactly where x > 0, so an in-place ReLU (which overwrites
        x with y) can still be differentiated.
        """
        (y,) = self.saved
        # HINT: the mask y > 0 is where the gradient passes through
        # BEGIN SOLUTION
        return (grad * (y > 0),)
        # END SOLUTION


# --------------------------------------------------------------------- LeakyReLU
class LeakyReLUOp(ActivationOp):
    """``y = x`` where x > 0, else ``negative_slope * x``: negative inputs keep a small gradient,
    so a unit never "dies" as a ReLU unit can. Cost: ~3 ops per element."""

    function = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = float(negative_slope)

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        self.save_for_backward(x)
        # BEGIN SOLUTION
        return np.where(x > 0, x, x * self.negative_slope)
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = dL/dy where x > 0, else ``negative_slope * dL/dy``. Reads only the input."""
        (x,) = self.saved
        # BEGIN SOLUTION
        return (np.where(x > 0, grad, grad * self.negative_slope),)
        # END SOLUTION


# --------------------------------------------------------------------- Sigmoid
class SigmoidOp(ActivationOp):
    """``y = 1 / (1 + exp(-x))``, in (0, 1).

    Stable form: ``exp(-x)`` overflows float32 for x < -88, so both branches use
    ``z = exp(-|x|)``, which lies in (0, 1]: ``1 / (1 + z)`` for x >= 0 and ``z / (1 + z)``
    (the same value, multiplied through by exp(x)) for x < 0. Cost: ~7 ops, one exp.
    """

    function = "sigmoid"

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        # HINT: z = exp(-|x|) never overflows; sigmoid(x) = 1/(1+z) if x >= 0 else z/(1+z)
        # BEGIN SOLUTION
        z = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1.0, z) / (1.0 + z)
        # END SOLUTION
        self.save_for_backward(y)
        return y

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = dL/dy * y * (1 - y). Reads only the output; at most 0.25 (at x = 0)."""
        (y,) = self.saved
        # BEGIN SOLUTION
        return (grad * y * (1.0 - y),)
        # END SOLUTION


# --------------------------------------------------------------------- Tanh
class TanhOp(ActivationOp):
    """``y = tanh(x)``, in (-1, 1); ``np.tanh`` is stable for every input. Cost: one tanh."""

    function = "tanh"

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        # BEGIN SOLUTION
        y = np.tanh(x)
        # END SOLUTION
        self.save_for_backward(y)
        return y

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = dL/dy * (1 - y^2). Reads only the output; at most 1 (at x = 0)."""
        (y,) = self.saved
        # BEGIN SOLUTION
        return (grad * (1.0 - y * y),)
        # END SOLUTION


# --------------------------------------------------------------------- GELU
class GELUOp(ActivationOp):
    """``y = x * Phi(x)``, Phi the standard normal CDF: the activation of BERT and GPT.

    ``approximate="none"``: ``Phi(x) = (1 + erf(x / sqrt(2))) / 2`` (`special.erf`).
    ``approximate="tanh"``: ``Phi(x) ~ (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) / 2``
    (GPT-2's form; max |difference| from the exact GELU ~5e-4). tanh is exactly +-1 once
    |x| > 10, so x is clipped there before it is cubed: no overflow for any input.
    Cost: exact ~5 ops plus one erf (itself ~20-65 ops); tanh form ~10 ops, one tanh.
    """

    function = "gelu"

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in GELU_APPROXIMATIONS:
            raise ValueError(
                f"gelu: approximate must be one of {GELU_APPROXIMATIONS}, got {approximate!r}"
            )
        self.approximate = approximate

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        self.save_for_backward(x)
        # BEGIN SOLUTION
        if self.approximate == "tanh":
            u = np.clip(x, -10.0, 10.0)
            return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (u + _GELU_CUBIC * u * u * u)))
        return 0.5 * x * (1.0 + erf(x / _SQRT_2))
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = dL/dy * GELU'(x). Reads only the input.

        Exact: ``GELU'(x) = Phi(x) + x * phi(x)``, phi the normal density
        ``exp(-x^2/2)/sqrt(2 pi)``. Tanh form, with ``t = tanh(k (x + c x^3))``:
        ``(1 + t)/2 + x/2 (1 - t^2) k (1 + 3 c x^2)``.
        """
        (x,) = self.saved
        # BEGIN SOLUTION
        if self.approximate == "tanh":
            u = np.clip(x, -10.0, 10.0)  # where |x| > 10, 1 - t^2 == 0 exactly: no term
            t = np.tanh(_SQRT_2_OVER_PI * (u + _GELU_CUBIC * u * u * u))
            slope = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * u * u)
            return (grad * (0.5 * (1.0 + t) + 0.5 * u * (1.0 - t * t) * slope),)
        cdf = 0.5 * (1.0 + erf(x / _SQRT_2))
        # phi(x) underflows to 0 beyond |x| = 40: clipping changes nothing, x^2 stays finite
        u = np.clip(x, -40.0, 40.0)
        pdf = _INV_SQRT_2PI * np.exp(-0.5 * u * u)
        return (grad * (cdf + u * pdf),)
        # END SOLUTION


# --------------------------------------------------------------------- Softmax
class SoftmaxOp(ActivationOp):
    """``y = exp(x) / sum(exp(x))`` along ``dim``: each slice becomes a probability vector.

    Stable form: softmax(x) = softmax(x - c) for any constant c; with c = max(x) every exponent
    is <= 0, so exp never overflows and the largest term is exactly 1 (the sum is >= 1).
    Cost: ~5 ops per element (max, subtract, exp, sum, divide), one exp.
    """

    function = "softmax"

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        axes = normalize_dim(self.dim, x.ndim, self.function)
        if x.size == 0:
            self.save_for_backward(x)
            return x.copy()
        # BEGIN SOLUTION
        e = np.exp(x - x.max(axis=axes, keepdims=True))
        y = e / e.sum(axis=axes, keepdims=True)
        # END SOLUTION
        self.save_for_backward(y)
        return y

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = y * (g - sum(g * y, dim)) with g = dL/dy. Reads only the output.

        The Jacobian of a softmax over n values is the n x n matrix ``diag(y) - y y^T``; this
        product with it costs O(n) per slice instead of O(n^2), and never builds the matrix.
        """
        (y,) = self.saved
        axes = normalize_dim(self.dim, y.ndim, self.function)
        # BEGIN SOLUTION
        return (y * (grad - (grad * y).sum(axis=axes, keepdims=True)),)
        # END SOLUTION


# --------------------------------------------------------------------- LogSoftmax
class LogSoftmaxOp(ActivationOp):
    """``y = x - log(sum(exp(x)))`` along ``dim`` (log-sum-exp with the max subtracted).

    ``log(softmax(x))`` would round tiny probabilities to 0 and return -inf; here the result is
    ``(x - m) - log(sum(exp(x - m)))`` with m = max(x): finite for every finite input.
    Cost: ~5 ops per element, one exp (and one log per slice).
    """

    function = "log_softmax"

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        axes = normalize_dim(self.dim, x.ndim, self.function)
        if x.size == 0:
            self.save_for_backward(x)
            return x.copy()
        # BEGIN SOLUTION
        shifted = x - x.max(axis=axes, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=axes, keepdims=True))
        # END SOLUTION
        self.save_for_backward(y)
        return y

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = g - softmax(x) * sum(g, dim) with g = dL/dy and softmax(x) = exp(y) (y <= 0,
        so exp never overflows). Reads only the output."""
        (y,) = self.saved
        axes = normalize_dim(self.dim, y.ndim, self.function)
        # BEGIN SOLUTION
        return (grad - np.exp(y) * grad.sum(axis=axes, keepdims=True),)
        # END SOLUTION


ACTIVATION_OPS: tuple[type[ActivationOp], ...] = (
    ReLUOp,
    LeakyReLUOp,
    SigmoidOp,
    TanhOp,
    GELUOp,
    SoftmaxOp,
    LogSoftmaxOp,
)
