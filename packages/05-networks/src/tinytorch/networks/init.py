"""Weight initialisation: fill a Parameter in place with values of a chosen scale.

Why scale matters: a Linear layer with ``fan_in`` inputs sums ``fan_in`` products, so the
variance of its output is ``fan_in * Var(w) * Var(x)``. Choose ``Var(w) = 1 / fan_in`` and the
signal keeps its size from layer to layer; too small and it vanishes, too large and it explodes,
exponentially in depth. Xavier/Glorot (for tanh/sigmoid) averages fan_in and fan_out; Kaiming/He
(for ReLU, which zeroes half its inputs) doubles the variance: ``Var(w) = 2 / fan_in``.

Every function writes into ``tensor.data`` in place (an optimizer holding the Parameter sees the
new values), takes a seeded ``rng`` (``np.random.default_rng(seed)``) and returns the tensor. The
names and formulas follow ``torch.nn.init``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import numpy as np

from tinytorch.layers import Module, Parameter
from tinytorch.tensor import Tensor

Scheme = Callable[..., Tensor]
ModuleT = TypeVar("ModuleT", bound=Module)


def _generator(rng: np.random.Generator | None) -> np.random.Generator:
    return rng if rng is not None else np.random.default_rng()


def _fill(tensor: Tensor, values: np.ndarray | float) -> Tensor:
    """Write ``values`` into ``tensor.data`` in place (cast to the tensor's dtype)."""
    tensor.data[...] = values
    return tensor


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight: ``(in, out)`` for a Linear ``(out, in)`` weight.

    For a convolution weight ``(out, in, kh, kw)`` each input and output connection is repeated
    over the ``kh * kw`` receptive field: ``(in * kh * kw, out * kh * kw)``.
    """
    if tensor.ndim < 2:
        raise ValueError(
            f"init: fan_in and fan_out need a weight with at least 2 dims, got shape "
            f"{tensor.shape}; initialise biases with zeros_ or constant_"
        )
    receptive_field = int(np.prod(tensor.shape[2:], dtype=np.int64))
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def calculate_gain(nonlinearity: str = "linear", param: float | None = None) -> float:
    """The factor that keeps the variance of ``nonlinearity(x)`` equal to that of ``x``.

    linear/sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu with slope ``param`` (0.01):
    sqrt(2 / (1 + param**2)).
    """
    gains = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0)}
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity not in gains:
        raise ValueError(
            f"calculate_gain: unknown nonlinearity {nonlinearity!r}; choose one of "
            f"{[*sorted(gains), 'leaky_relu']}"
        )
    return gains[nonlinearity]


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, rng: np.random.Generator | None = None
) -> Tensor:
    """Fill with samples of U(a, b)."""
    return _fill(tensor, _generator(rng).uniform(a, b, tensor.shape))


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, rng: np.random.Generator | None = None
) -> Tensor:
    """Fill with samples of N(mean, std**2)."""
    return _fill(tensor, _generator(rng).normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, value: float) -> Tensor:
    """Fill with ``value``."""
    return _fill(tensor, value)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0 (the usual bias init; for weights it makes every hidden unit identical)."""
    return _fill(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _fill(tensor, 1.0)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, rng: np.random.Generator | None = None
) -> Tensor:
    """Glorot uniform: U(-bound, bound) with ``bound = gain * sqrt(6 / (fan_in + fan_out))``.

    That bound gives ``std = gain * sqrt(2 / (fan_in + fan_out))`` (a uniform's variance is
    bound**2 / 3).
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    # HINT: U(-a, a) has variance a^2 / 3; Glorot wants variance gain^2 * 2 / (fan_in + fan_out):
    # HINT: solve for the bound a
    # BEGIN SOLUTION
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    # END SOLUTION
    return uniform_(tensor, -bound, bound, rng)


def xavier_normal_(
    tensor: Tensor, gain: float = 1.0, rng: np.random.Generator | None = None
) -> Tensor:
    """Glorot normal: N(0, std**2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    # HINT: std = gain * sqrt(2 / (fan_in + fan_out)): keeps the activations' variance steady
    # HINT: forward and the gradients' backward
    # BEGIN SOLUTION
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    # END SOLUTION
    return normal_(tensor, 0.0, std, rng)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    """``gain / sqrt(fan)`` where fan is fan_in (keeps forward variance) or fan_out (backward)."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    # HINT: calculate_gain(nonlinearity, a) gives sqrt(2) for relu
    # BEGIN SOLUTION
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)
    # END SOLUTION


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "relu",
    rng: np.random.Generator | None = None,
) -> Tensor:
    """He uniform: U(-bound, bound) with ``bound = sqrt(3) * gain / sqrt(fan)``.

    For relu and mode fan_in: ``bound = sqrt(6 / fan_in)``, std ``sqrt(2 / fan_in)``.
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, rng)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "relu",
    rng: np.random.Generator | None = None,
) -> Tensor:
    """He normal: N(0, std**2) with ``std = gain / sqrt(fan)`` (``sqrt(2 / fan_in)`` for relu)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), rng)


SCHEMES: dict[str, Scheme] = {
    "xavier_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "kaiming_uniform": kaiming_uniform_,
    "kaiming_normal": kaiming_normal_,
    "normal": partial(normal_, mean=0.0, std=0.01),
    "zeros": lambda tensor, rng=None: zeros_(tensor),
}


def init_model(
    model: ModuleT, scheme: str | Scheme = "kaiming_normal", rng: np.random.Generator | None = None
) -> ModuleT:
    """Re-initialise every weight of 2+ dims (Linear, and later Conv2d) and zero its bias.

    ``scheme`` is a name from ``SCHEMES`` (``"xavier_uniform"``, ``"kaiming_normal"``,
    ``"normal"`` = N(0, 0.01**2), ``"zeros"``) or a function ``f(tensor, rng=rng)``. Layers are
    filled in ``named_modules`` order from the one ``rng``, so a seed reproduces the model.
    Returns ``model``.
    """
    if isinstance(scheme, str):
        name = scheme.rstrip("_")
        if name not in SCHEMES:
            raise ValueError(f"init_model: unknown scheme {scheme!r}; choose one of {[*SCHEMES]}")
        fill = SCHEMES[name]
    else:
        fill = scheme
    generator = _generator(rng)
    for module in model.modules():
        weight = vars(module).get("weight")
        if isinstance(weight, Parameter) and weight.ndim >= 2:
            fill(weight, rng=generator)
            bias = vars(module).get("bias")
            if isinstance(bias, Parameter):
                zeros_(bias)
    return model
