"""The single dispatch point: every Tensor operation is an `Op` run through `apply`.

An `Op` knows how to compute its result from NumPy arrays (`forward`). `apply` unwraps the input
Tensors, calls `forward`, wraps the result, and then hands ``(op, inputs, output)`` to the
*recorder*, if one is installed. Module 06 (``tinytorch.autograd``) installs a recorder that builds
the computational graph, and a *backward engine* that `Tensor.backward` calls; both are plain
functions set here with `install_autograd`. Nothing else in TinyTorch is patched.

    op = Add()              # an operation, with its settings as attributes
    out = apply(op, a, b)   # out.data == a.data + b.data; the recorder sees (op, (a, b), out)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tinytorch.tensor.tensor import Tensor

Recorder = Callable[["Op", "tuple[Tensor, ...]", "Tensor"], None]
BackwardEngine = Callable[["Tensor", "Tensor | None", bool], None]


class Op:
    """One tensor operation. Subclasses set their options in ``__init__`` and define `forward`.

    ``forward`` receives NumPy arrays and returns one NumPy array. It may keep what a derivative
    rule will need (an argmax, a mask) as attributes of ``self``: each `apply` call gets its own
    Op instance, like PyTorch's ``ctx``.
    """

    differentiable = True
    exact_dtype = False  # True when forward returns the very dtype asked for (Astype)

    def forward(self, *arrays: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({options})"


class _Hooks:
    """What module 06 plugs in. Both are None until ``import tinytorch.autograd``."""

    recorder: Recorder | None = None
    backward: BackwardEngine | None = None


hooks = _Hooks()


def install_autograd(recorder: Recorder, backward: BackwardEngine) -> None:
    """Install graph recording and the backward engine (called once by tinytorch.autograd)."""
    hooks.recorder = recorder
    hooks.backward = backward


def apply(op: Op, *inputs: Any) -> Tensor:
    """Run ``op`` on Tensors (or array-likes, converted); record it if autograd is installed.

    The result is float32 unless an input was float64 (or the op sets ``exact_dtype``, as
    ``astype(np.float64)`` does): NumPy would silently promote ``int / int`` or ``exp(int)`` to
    float64, doubling memory; TinyTorch's default is float32.
    """
    from tinytorch.tensor.tensor import Tensor

    tensors = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
    result = op.forward(*(t.data for t in tensors))
    result = np.asarray(result)
    keep_float64 = op.exact_dtype or any(t.dtype == np.float64 for t in tensors)
    if result.dtype == np.float64 and not keep_float64:
        result = result.astype(np.float32)
    out = Tensor._wrap(result)
    if hooks.recorder is not None and op.differentiable:
        hooks.recorder(op, tensors, out)
    return out
