"""The activation Ops: each holds its forward and its local derivative side by side.

``forward(x)`` computes ``y`` on NumPy arrays and saves what the derivative reads;
``backward(grad, needs)`` turns dL/dy into dL/dx. The functions and Modules run the Op through
the dispatch point ``tinytorch.tensor.apply`` (where module 06 records it); a Module's
hand-written ``backward`` calls the Op's ``backward``, and so does autograd: both paths run the
same lines, so they agree by construction.

A derivative reads only what it needs. Where the derivative can be written in terms of the output
``y`` the Op saves ``y`` (ReLU, Sigmoid, Tanh, Softmax, LogSoftmax, ELU, SELU, Hardtanh, ReLU6,
LogSigmoid); otherwise it saves the input ``x`` (LeakyReLU, GELU, SiLU, Softplus, Hardswish,
Hardsigmoid, Mish). Which one stays alive between forward and backward is a memory decision
(see `tinytorch.activations.lessons.activation_cost`), and an output-saving Op can also be
differentiated after an in-place forward (``ReLU(inplace=True)``), which overwrites ``x``.

Shapes: every activation maps any shape to the same shape and keeps the float dtype; Softmax and
LogSoftmax normalise along ``dim``. Costs are per element of the input.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.tensor import Op
from tinytorch.tensor.dispatch import Grads
from tinytorch.tensor.ops import normalize_dim
from tinytorch.tensor.special import erf

GELU_APPROXIMATIONS = ("none", "tanh")
_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_CUBIC = 0.044715


def require_numeric(function: str, x: np.ndarray) -> None:
    """Raise a TypeError naming ``function``, the dtype and the fix unless ``x`` is int or float."""
    if x.dtype.kind not in "iuf":
        raise TypeError(
            f"{function}: expected a numeric tensor, got dtype {x.dtype}; convert first with "
            f"x.astype(np.float32)"
        )


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
        require_numeric(self.function, x)
        # HINT: max(x, 0) elementwise (keep the dtype: no float64 from a Python 0.0)
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
        # HINT: x where x > 0, else negative_slope * x (np.where picks elementwise)
        # BEGIN SOLUTION
        return np.where(x > 0, x, x * self.negative_slope)
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = dL/dy where x > 0, else ``negative_slope * dL/dy``. Reads only the input."""
        (x,) = self.saved
        # HINT: the slope is 1 where x > 0 and negative_slope elsewhere: multiply grad by it
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
        # HINT: sigmoid' = y (1 - y), written with the saved output y: no exp needed
        # BEGIN SOLUTION
        return (grad * y * (1.0 - y),)
        # END SOLUTION


# --------------------------------------------------------------------- Tanh
class TanhOp(ActivationOp):
    """``y = tanh(x)``, in (-1, 1); ``np.tanh`` is stable for every input. Cost: one tanh."""

    function = "tanh"

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        # HINT: NumPy's tanh is stable for any x (it never overflows); the output is what backward
        # HINT: saves
        # BEGIN SOLUTION
        y = np.tanh(x)
        # END SOLUTION
        self.save_for_backward(y)
        return y

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = dL/dy * (1 - y^2). Reads only the output; at most 1 (at x = 0)."""
        (y,) = self.saved
        # HINT: tanh' = 1 - tanh^2 = 1 - y^2, from the saved output y
        # BEGIN SOLUTION
        return (grad * (1.0 - y * y),)
        # END SOLUTION


# --------------------------------------------------------------------- GELU
class GELUOp(ActivationOp):
    """``y = x * Phi(x)``, Phi the standard normal CDF: the activation of BERT and GPT.

    ``approximate="none"``: ``Phi(x) = (1 + erf(x / sqrt(2))) / 2``
    (`tinytorch.tensor.special.erf`).
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
        # HINT: exact: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); approximate='tanh': 0.5 x (1 +
        # HINT: tanh( sqrt(2/pi) (x + 0.044715 x^3))) -- clip x to [-10, 10] inside the cube so it
        # HINT: cannot overflow
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
        # HINT: exact: d/dx [x Phi(x)] = Phi(x) + x phi(x) with phi the normal density
        # HINT: exp(-x^2/2)/sqrt(2 pi); tanh form: the product rule on 0.5 x (1 + t), with dt/dx =
        # HINT: (1 - t^2) sqrt(2/pi) (1 + 3 c x^2)
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
        # HINT: exp(x - max) / sum(exp(x - max)) over the dims: subtracting the max (keepdims)
        # HINT: changes nothing mathematically and keeps exp from overflowing
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
        # HINT: the Jacobian is diag(y) - y y^T; its vector product is y * (g - sum(g * y)) with the
        # HINT: sum over the softmax dims (keepdims): O(n), never the n x n matrix
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
        # HINT: log_softmax(x) = (x - m) - log(sum(exp(x - m))) with m the max over the dims
        # HINT: (stable: never takes log of a softmax that underflowed to 0)
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
        # HINT: d log_softmax: g - softmax * sum(g) over the dims; softmax = exp(y) from the saved
        # HINT: output
        # BEGIN SOLUTION
        return (grad - np.exp(y) * grad.sum(axis=axes, keepdims=True),)
        # END SOLUTION


# ===================================================================== more activations
# The activations below are built from the same few pieces: the stable sigmoid above, and the
# stable log(1 + exp(x)) below. Each saves the output where its derivative can be written in
# terms of the output, and the input otherwise.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    """The stable sigmoid of an array (`SigmoidOp`'s forward): SiLU, Softplus and Mish use it."""
    return SigmoidOp().forward(x)


def log1pexp(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))`` elementwise, for every finite x: float -> same shape and dtype.

    ``exp(x)`` overflows float32 beyond x = 88 and ``log(1 + tiny)`` rounds to 0, so the form is
    ``max(x, 0) + log1p(exp(-|x|))``: the exponent is never positive, and ``log1p`` keeps full
    accuracy where ``exp(-|x|)`` is tiny. Softplus, LogSigmoid and Mish use it.
    Cost: ~5 ops per element, one exp and one log1p.
    """
    # HINT: log(1 + e^x) = max(x, 0) + log(1 + e^(-|x|)); np.log1p(z) computes log(1 + z)
    # BEGIN SOLUTION
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
    # END SOLUTION


# --------------------------------------------------------------------- SiLU
class SiLUOp(ActivationOp):
    """``y = x * sigmoid(x)`` (SiLU, also called swish): smooth, slightly negative for x < 0
    (minimum -0.278 at x = -1.278), ~x for large x. Stable through the two-branch sigmoid.
    Cost: ~8 ops per element, one exp.
    """

    function = "silu"

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        self.save_for_backward(x)
        # HINT: silu(x) = x * sigmoid(x); use the module's stable sigmoid_array
        # BEGIN SOLUTION
        return x * sigmoid_array(x)
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = g * s * (1 + x (1 - s)) with s = sigmoid(x). Reads only the input: y does not
        determine x (SiLU is not monotonic), so the output could not replace it."""
        (x,) = self.saved
        # HINT: (x s)' = s + x s' and s' = s (1 - s)
        # BEGIN SOLUTION
        s = sigmoid_array(x)
        return (grad * s * (1.0 + x * (1.0 - s)),)
        # END SOLUTION


# --------------------------------------------------------------------- ELU and SELU
class ELUOp(ActivationOp):
    """``y = x`` where x > 0, else ``alpha * (exp(x) - 1)``: negative outputs, down to -alpha,
    push the mean activation toward 0. Cost: ~6 ops per element, one exp.

    Stable form: ``expm1(min(x, 0))``. ``exp`` never sees a positive argument (``np.where``
    evaluates both branches, so ``exp(1e4)`` would overflow even where it is not selected), and
    ``expm1`` is accurate near 0, where ``exp(x) - 1`` cancels.

    What it saves: for x <= 0, ``alpha * exp(x) = y + alpha``, and with alpha >= 0 the sign of y
    is the sign of x, so the derivative needs only the output: the Op saves y (PyTorch's
    in-place ELU does the same). With alpha < 0 (y > 0 for x < 0) it saves the input.
    """

    function = "elu"
    scale = 1.0  # SELU multiplies both branches by its scale

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = float(alpha)

    @property
    def saves_output(self) -> bool:
        """True when the derivative is read from the output (alpha >= 0)."""
        return self.alpha >= 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        # HINT: exp(x) - 1 is np.expm1(x); feed it min(x, 0) so it never overflows
        # BEGIN SOLUTION
        negative = (self.scale * self.alpha) * np.expm1(np.minimum(x, 0))
        y = np.where(x > 0, self.scale * x, negative)
        # END SOLUTION
        self.save_for_backward(y if self.saves_output else x)
        return y

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = g where x > 0, else ``g * alpha * exp(x)``, which is ``g * (y + alpha)``
        (times SELU's scale). At x = 0 the derivative is ``alpha``, as in PyTorch."""
        (saved,) = self.saved
        negative_scale = self.scale * self.alpha
        # HINT: slope = scale for x > 0, else scale * alpha * exp(x); from a saved output y (<= 0
        # HINT: side) the same slope is y + scale * alpha. Clamp x at 0 inside exp so the unused
        # HINT: branch cannot overflow
        # BEGIN SOLUTION
        if self.saves_output:
            y = saved
            return (np.where(y > 0, grad * self.scale, grad * (y + negative_scale)),)
        x = saved
        return (
            np.where(x > 0, grad * self.scale, grad * negative_scale * np.exp(np.minimum(x, 0))),
        )
        # END SOLUTION


class SELUOp(ELUOp):
    """``y = scale * elu(x, alpha)`` with PyTorch's constants alpha = 1.6733, scale = 1.0507:
    chosen so that activations of a deep MLP keep mean 0 and variance 1 ("self-normalising").
    Saves the output. Cost: as ELU, ~6 ops per element, one exp.
    """

    function = "selu"
    scale = _SELU_SCALE

    def __init__(self) -> None:
        super().__init__(_SELU_ALPHA)

    def __repr__(self) -> str:
        return "SELUOp()"


# --------------------------------------------------------------------- Softplus
class SoftplusOp(ActivationOp):
    """``y = log(1 + exp(beta x)) / beta``: a smooth ReLU, always > 0; its derivative is
    ``sigmoid(beta x)``. Where ``beta x > threshold`` it returns x itself, as PyTorch does (there
    the two differ by less than ``exp(-threshold) / beta``). Saves the input.
    Cost: ~10 ops per element, one exp and one log1p.
    """

    function = "softplus"

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        if beta == 0:
            raise ValueError(
                "softplus: beta must be nonzero, got 0 (log(1 + exp(beta x)) / beta divides by "
                "it); use beta=1.0 for the standard softplus"
            )
        self.beta = float(beta)
        self.threshold = float(threshold)

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        self.save_for_backward(x)
        # HINT: softplus = log(1 + exp(beta x)) / beta, computed with log1pexp (stable); where beta
        # HINT: x > threshold return x itself (PyTorch's linear regime)
        # BEGIN SOLUTION
        z = x * self.beta
        return np.where(z > self.threshold, x, log1pexp(z) / self.beta)
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = g * sigmoid(beta x), and g itself where ``beta x > threshold``."""
        (x,) = self.saved
        # HINT: d softplus / dx = sigmoid(beta x); in the linear regime (beta x > threshold) it is 1
        # BEGIN SOLUTION
        z = x * self.beta
        return (np.where(z > self.threshold, grad, grad * sigmoid_array(z)),)
        # END SOLUTION


# --------------------------------------------------------------------- Hardtanh and ReLU6
class HardtanhOp(ActivationOp):
    """``y = clip(x, min_val, max_val)``. Float or integer input (the dtype is kept, as in
    PyTorch); bool is refused. Saves the output. Cost: one clip per element, no exp.

    The derivative is 1 strictly between the bounds and 0 elsewhere, *at the bounds too*
    (PyTorch's choice). Since y is x clipped, ``min_val < y < max_val`` exactly where
    ``min_val < x < max_val``: the output tells the backward everything it needs.
    """

    function = "hardtanh"

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        if min_val > max_val:
            raise ValueError(
                f"{self.function}: min_val ({min_val}) cannot be greater than max_val "
                f"({max_val}); swap them"
            )
        self.min_val = min_val
        self.max_val = max_val

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_numeric(self.function, x)
        # HINT: clamp x into [min_val, max_val]
        # BEGIN SOLUTION
        y = np.clip(x, self.min_val, self.max_val)
        # END SOLUTION
        y = y.astype(x.dtype, copy=False)  # float bounds on int input: truncated, as in PyTorch
        self.save_for_backward(y)
        return y

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = g where ``min_val < y < max_val``, else 0. Reads only the output."""
        (y,) = self.saved
        # HINT: gradient passes (slope 1) only strictly inside (min_val, max_val), else 0
        # BEGIN SOLUTION
        return (grad * ((y > self.min_val) & (y < self.max_val)),)
        # END SOLUTION


class ReLU6Op(HardtanhOp):
    """``y = min(max(x, 0), 6)`` = ``hardtanh(x, 0, 6)``: a ReLU whose output fits a small
    fixed-point range (MobileNet). Derivative 0 at 0 and at 6. Saves the output."""

    function = "relu6"

    def __init__(self) -> None:
        super().__init__(0.0, 6.0)

    def __repr__(self) -> str:
        return "ReLU6Op()"


# --------------------------------------------------------------------- Hardsigmoid, Hardswish
class HardsigmoidOp(ActivationOp):
    """``y = clip(x + 3, 0, 6) / 6``: sigmoid's S-shape from straight lines, 0 for x <= -3 and
    1 for x >= 3, no exp (MobileNetV3). Saves the input. Cost: ~3 ops per element.
    """

    function = "hardsigmoid"

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        self.save_for_backward(x)
        # HINT: a piecewise-linear sigmoid: clamp(x + 3, 0, 6) / 6
        # BEGIN SOLUTION
        return np.clip(x + 3.0, 0.0, 6.0) / 6.0
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = g / 6 where -3 < x < 3, else 0 (0 at -3 and at 3, as in PyTorch)."""
        (x,) = self.saved
        # HINT: slope 1/6 strictly between -3 and 3, 0 elsewhere (also at the kinks, as PyTorch)
        # BEGIN SOLUTION
        return (grad * ((x > -3.0) & (x < 3.0)) / 6.0,)
        # END SOLUTION


class HardswishOp(ActivationOp):
    """``y = x * hardsigmoid(x) = x * clip(x + 3, 0, 6) / 6``: SiLU's shape without exp
    (MobileNetV3). Saves the input (y does not determine x). Cost: ~4 ops per element.
    """

    function = "hardswish"

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        self.save_for_backward(x)
        # HINT: x * hardsigmoid(x) = x * clamp(x + 3, 0, 6) / 6
        # BEGIN SOLUTION
        return x * (np.clip(x + 3.0, 0.0, 6.0) / 6.0)
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = 0 for x <= -3, ``g (x / 3 + 1/2)`` for -3 < x < 3, g for x >= 3 (PyTorch's
        values at the kinks: 0 at -3, 1 at 3)."""
        (x,) = self.saved
        # HINT: three pieces: 0 for x <= -3, x/3 + 1/2 between, 1 for x >= 3 (nested np.where)
        # BEGIN SOLUTION
        slope = np.where(x <= -3.0, 0.0, np.where(x < 3.0, x / 3.0 + 0.5, 1.0))
        return (grad * slope,)
        # END SOLUTION


# --------------------------------------------------------------------- LogSigmoid
class LogSigmoidOp(ActivationOp):
    """``y = log(sigmoid(x)) = -log(1 + exp(-x))``, always < 0. ``np.log(sigmoid(x))`` is -inf
    once sigmoid underflows (x < -104 in float32); ``-log1pexp(-x)`` is finite everywhere
    (``logsigmoid(-1e4) = -1e4``). Saves the output. Cost: ~8 ops per element, exp and log1p.
    """

    function = "logsigmoid"

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        # HINT: log sigmoid(x) = -log(1 + exp(-x)) = -log1pexp(-x): stable for large |x|
        # BEGIN SOLUTION
        y = -log1pexp(-x)
        # END SOLUTION
        self.save_for_backward(y)
        return y

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = g * (1 - sigmoid(x)) = g * (1 - exp(y)) = ``-g * expm1(y)``. Reads only the
        output (y <= 0: exp(y) never overflows; expm1 stays accurate where y is ~0)."""
        (y,) = self.saved
        # HINT: d/dx log sigmoid(x) = 1 - sigmoid(x) = 1 - exp(y) = -expm1(y) with y the saved
        # HINT: output
        # BEGIN SOLUTION
        return (-grad * np.expm1(y),)
        # END SOLUTION


# --------------------------------------------------------------------- Mish
class MishOp(ActivationOp):
    """``y = x * tanh(softplus(x))``: a smooth, non-monotonic ReLU-like curve (YOLOv4).
    Stable through `log1pexp`. Saves the input. Cost: ~8 ops per element, exp, log1p, tanh.
    """

    function = "mish"

    def forward(self, x: np.ndarray) -> np.ndarray:
        require_float(self.function, x)
        self.save_for_backward(x)
        # HINT: mish(x) = x * tanh(softplus(x)), softplus computed stably with log1pexp
        # BEGIN SOLUTION
        return x * np.tanh(log1pexp(x))
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = g * (t + x sigmoid(x) (1 - t^2)) with t = tanh(softplus(x)), since
        softplus'(x) = sigmoid(x). Reads only the input."""
        (x,) = self.saved
        # HINT: product rule with t = tanh(softplus(x)): t + x (1 - t^2) softplus'(x), and
        # HINT: softplus'(x) = sigmoid(x)
        # BEGIN SOLUTION
        t = np.tanh(log1pexp(x))
        return (grad * (t + x * sigmoid_array(x) * (1.0 - t * t)),)
        # END SOLUTION


ACTIVATION_OPS: tuple[type[ActivationOp], ...] = (
    ReLUOp,
    LeakyReLUOp,
    SigmoidOp,
    TanhOp,
    GELUOp,
    SoftmaxOp,
    LogSoftmaxOp,
    SiLUOp,
    ELUOp,
    SELUOp,
    SoftplusOp,
    ReLU6Op,
    HardtanhOp,
    HardswishOp,
    HardsigmoidOp,
    LogSigmoidOp,
    MishOp,
)
