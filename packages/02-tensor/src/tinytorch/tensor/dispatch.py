"""The single dispatch point: every Tensor operation is an `Op` run through `apply`.

An `Op` holds one operation's two halves side by side, like PyTorch's ``autograd.Function``:

- ``forward(*arrays) -> array`` computes the result from NumPy arrays, and keeps what the
  derivative will need with ``self.save_for_backward(...)`` (or as small attributes: shapes,
  options). Each `apply` call gets its own Op instance, so the Op *is* the ``ctx``.
- ``backward(grad, needs) -> tuple`` is the vector-Jacobian product: from dL/d(output) it returns
  one dL/d(input) per input (None where ``needs[i]`` is False). It never builds the Jacobian.

This is the *only* derivative protocol in TinyTorch. Module 06's engine calls `vjp` on each
recorded Op, and the hand-written ``backward`` of a layer (modules 03-05, 07) calls the very same
`vjp` on the Op its forward ran: the two agree by construction.

`apply` unwraps the input Tensors, calls ``forward``, wraps the result, and hands
``(op, inputs, output)`` to the *recorder* if one is installed (module 06 installs one that builds
the graph, and the backward engine `Tensor.backward` calls). Nothing else in TinyTorch is patched.

In-place safety: every Tensor carries a version counter, shared with its views, that in-place
writes increase. `apply` notes the version of each input or output that ``forward`` saved; `vjp`
refuses to differentiate if one changed since (the values it would use are not the ones the
forward saw), as PyTorch does.

    op = Mul()              # an operation, with its settings as attributes
    out = apply(op, a, b)   # out.data == a.data * b.data; op.saved == (a.data, b.data)
    vjp(op, grad, (True, True))  ->  (grad * b.data, grad * a.data)

Kernels (module 17): ``hooks.kernels`` maps an Op *type* to a `Kernel`, a faster implementation
of the same operation with the same ``forward``/``backward`` contract, taking the Op instance as
its first argument (it reads the Op's options and saves on the Op, which stays the ``ctx``).
The registry is empty by default: every Op runs its own, reference code, which stays the oracle
the kernels are tested against. When ``type(op)`` has a kernel, `apply` runs
``kernel.forward(op, *arrays)`` and notes the kernel on the instance (``op._kernel``), and `vjp`
runs ``op._kernel.backward(op, grad, needs)``: a backward always belongs to the implementation
whose forward ran, even if the registry changed in between. The lookup is exact (a subclass of
a registered Op type is not covered) and costs one dict lookup per op. Layers, autograd and the
profiler's observer see the same Op either way. ``tinytorch.kernels.use("fast")`` fills the
registry and ``use("reference")`` empties it; nothing else is patched.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from tinytorch.tensor.tensor import Tensor

Recorder = Callable[["Op", "tuple[Tensor, ...]", "Tensor"], None]
BackwardEngine = Callable[["Tensor", "Tensor | None", bool], None]
Grads = tuple["np.ndarray | None", ...]


class Kernel(Protocol):
    """A faster implementation of one Op type, plugged in through ``hooks.kernels`` (module 17).

    ``forward(op, *arrays)`` returns what ``op.forward(*arrays)`` would (same values to
    round-off, same dtype) and saves on ``op`` what its own ``backward(op, grad, needs)`` reads;
    that backward returns what ``op.backward(grad, needs)`` would after the reference forward.
    """

    def forward(self, op: Op, *arrays: Any) -> np.ndarray: ...

    def backward(self, op: Op, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads: ...


class Version:
    """A version counter: one per storage, shared by a tensor and its views."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class Op:
    """One tensor operation: ``forward`` on NumPy arrays and its derivative ``backward``.

    Subclasses set their options in ``__init__``, compute in ``forward`` (saving what the
    derivative reads with `save_for_backward`) and differentiate in ``backward``.
    """

    differentiable = True
    exact_dtype = False  # True when forward returns the very dtype asked for (Astype)
    saved: tuple[Any, ...] = ()
    released = False  # True once `release` ran: its backward can no longer be computed
    _kernel: Kernel | None = None  # the registered kernel whose forward ran (None: the Op's own)
    _saved_versions: tuple[tuple[Version, int, int, np.ndarray], ...] = ()

    def forward(self, *arrays: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/d(output) ``grad`` -> one dL/d(input) per input (None where not ``needs[i]``)."""
        raise NotImplementedError(
            f"{self.name}: no derivative; {type(self).__name__}.backward is not implemented"
        )

    def save_for_backward(self, *values: Any) -> None:
        """Keep ``values`` (arrays, usually inputs or the output) for ``backward``."""
        self.saved = values

    def release(self) -> None:
        """Drop what forward saved (after backward, or when nobody will differentiate)."""
        self.saved = ()
        self._saved_versions = ()
        self.released = True

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def __repr__(self) -> str:
        options = ", ".join(
            f"{k}={v!r}"
            for k, v in vars(self).items()
            if not k.startswith("_") and k != "saved" and not isinstance(v, np.ndarray)
        )
        return f"{type(self).__name__}({options})"


class Observer(Protocol):
    """What module 16's profiler plugs in to see every op: each forward and each backward, with
    the seconds it took (perf_counter). Nothing is observed while ``hooks.observer`` is None."""

    def forward(
        self, op: Op, inputs: tuple[Tensor, ...], output: Tensor, seconds: float
    ) -> None: ...

    def backward(self, op: Op, grad: np.ndarray, grads: Grads, seconds: float) -> None: ...


class _Hooks:
    """What later modules plug in: module 06's ``recorder`` and ``backward`` (None until
    ``import tinytorch.autograd``), module 16's ``observer`` (None unless a profiler runs) and
    module 17's ``kernels`` (Op type -> `Kernel`; empty unless kernels are switched on)."""

    recorder: Recorder | None = None
    backward: BackwardEngine | None = None
    observer: Observer | None = None

    def __init__(self) -> None:
        self.kernels: dict[type[Op], Kernel] = {}


hooks = _Hooks()


class _GradMode:
    """Whether ops are recorded and layers keep what their backward needs (``no_grad`` clears
    it; the context managers are module 06's)."""

    enabled = True


def is_grad_enabled() -> bool:
    return _GradMode.enabled


def set_grad_mode(enabled: bool) -> bool:
    """Switch grad mode; return the previous mode (module 06's ``no_grad`` restores it)."""
    previous, _GradMode.enabled = _GradMode.enabled, enabled
    return previous


def install_autograd(recorder: Recorder, backward: BackwardEngine) -> None:
    """Install graph recording and the backward engine (called once by tinytorch.autograd)."""
    hooks.recorder = recorder
    hooks.backward = backward


def apply(op: Op, *inputs: Any) -> Tensor:
    """Run ``op`` on Tensors (or array-likes, converted); record it if autograd is installed.

    The result is float32 unless an input was float64 (or the op sets ``exact_dtype``, as
    ``astype(np.float64)`` does): NumPy would silently promote ``int / int`` or ``exp(int)`` to
    float64, doubling memory; TinyTorch's default is float32. A result that is a view of an
    input shares that input's version counter.
    """
    from tinytorch.tensor.tensor import Tensor

    tensors = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
    observer = hooks.observer
    start = perf_counter() if observer is not None else 0.0
    kernel = hooks.kernels.get(type(op)) if hooks.kernels else None
    if kernel is None:
        result = np.asarray(op.forward(*(t.data for t in tensors)))
    else:  # a registered kernel (module 17) computes it; its backward will be used too
        op._kernel = kernel
        result = np.asarray(kernel.forward(op, *(t.data for t in tensors)))
    # HINT: NumPy gives float64 for int / int, exp(int) or sqrt(int) (and for float64 inputs).
    # HINT: Keep a float64 result only when an input tensor is float64 or op.exact_dtype is set;
    # HINT: otherwise cast it to float32 (half the memory). Leave every other dtype alone.
    # BEGIN SOLUTION
    keep_float64 = op.exact_dtype or any(t.dtype == np.float64 for t in tensors)
    if result.dtype == np.float64 and not keep_float64:
        result = result.astype(np.float32)
    # END SOLUTION
    out = Tensor._wrap(result)
    if result.base is not None:  # maybe a view (reshape, slice, transpose, expand)
        for t in tensors:
            if np.may_share_memory(result, t.data):
                out._version_counter = t._version_counter
                break
    if op.saved:
        note_saved_versions(op, tensors, out)
    if hooks.recorder is not None and op.differentiable and _GradMode.enabled:
        hooks.recorder(op, tensors, out)
    if observer is not None:
        observer.forward(op, tensors, out, perf_counter() - start)
    return out


def note_saved_versions(op: Op, inputs: tuple[Tensor, ...], out: Tensor) -> None:
    """Remember the version of each input (by position) or output (-1) whose array ``op`` saved.

    Only counters, numbers and the array are kept: the message naming the tensor is written if a
    check fails, not for every op (formatting a dtype costs more than the op itself).
    """
    notes = []
    for value in op.saved:
        if not isinstance(value, np.ndarray):
            continue
        if value is out.data:
            notes.append((out._version_counter, out._version_counter.value, -1, value))
            continue
        for i, t in enumerate(inputs):
            if value is t.data:
                notes.append((t._version_counter, t._version_counter.value, i, value))
                break
    op._saved_versions = tuple(notes)


def vjp(op: Op, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
    """``op.backward(grad, needs)``, after checking that nothing it saved was modified in place.

    The one entry point to a derivative: the autograd engine and every hand-written layer
    backward call it. Returns one gradient (or None) per input of ``op``. When a kernel ran
    the forward (``op._kernel``), that kernel's backward computes it.
    """
    if op.released:
        raise RuntimeError(
            f"backward: {op.name} already released what its forward saved (after a backward "
            f"through it); run the forward again, or pass retain_graph=True to the first "
            f"backward() if you need to backward twice"
        )
    for counter, version, position, value in op._saved_versions:
        if counter.value != version:
            label = (
                "its output"
                if position < 0
                else f"input {position} (shape {value.shape}, {value.dtype})"
            )
            raise RuntimeError(
                f"backward: {label} of {op.name} was modified by an in-place operation after "
                f"{op.name} saved it for backward (its version is now {counter.value}, it was "
                f"{version}); the gradient would use the new values. Use an out-of-place op "
                f"(x = x + 1 instead of x.add_(1) or x[...] = v), or clone() before modifying"
            )
    observer = hooks.observer
    start = perf_counter() if observer is not None else 0.0
    kernel = op._kernel
    grads = op.backward(grad, needs) if kernel is None else kernel.backward(op, grad, needs)
    if observer is not None:
        observer.backward(op, grad, grads, perf_counter() - start)
    if len(grads) != len(needs):
        raise RuntimeError(
            f"backward of {op.name} returned {len(grads)} gradients for {len(needs)} inputs; "
            f"{type(op).__name__}.backward must return one per input (None where not needed)"
        )
    return grads
