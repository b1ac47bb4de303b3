"""The kernel registry: which faster implementations replace which reference Ops.

The dispatch point (``tinytorch.tensor.dispatch``) looks every Op's type up in
``hooks.kernels`` and, when a kernel is registered, runs the kernel's forward (and later its
backward) for that Op instance; the registry is empty by default, so the reference Ops run and
stay the oracle. This module fills and empties it:

    tinytorch.kernels.use("fast")          # every kernel of the "fast" set, process-wide
    tinytorch.kernels.use("reference")     # none: the reference Ops again
    with tinytorch.kernels.using("fast"):  # only inside the block (restored on exit)
        loss = model(x) ...

An Op whose forward ran with a kernel keeps that kernel for its backward (``op.kernel``), so
switching in between never mixes two implementations. Sets are named lists of
``{Op type: kernel}`` tables (`register_set` adds one); `active` says what is on, `describe`
says it in one line per kernel.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tinytorch.tensor.dispatch import Kernel, Op, hooks

KernelTable = dict[type[Op], Kernel]
_SETS: dict[str, KernelTable] = {"reference": {}}


class _Active:
    name = "reference"


def register_set(name: str, table: KernelTable) -> None:
    """Make ``use(name)`` switch on ``table`` ({Op type: kernel}); a known name is replaced."""
    if name == "reference":
        raise ValueError("register_set: 'reference' is the empty set and cannot be changed")
    _SETS[name] = dict(table)


def available() -> list[str]:
    """The names `use` accepts."""
    return sorted(_SETS)


def active() -> str:
    """The name of the set now on ("reference" when none)."""
    return _Active.name


def use(name: str) -> str:
    """Switch the kernel set ``name`` on, process-wide; returns the previous set's name.

    ``use("reference")`` switches every kernel off. Raises ValueError for an unknown name.
    """
    if name not in _SETS:
        raise ValueError(f"kernels.use: unknown kernel set {name!r}; choose from {available()}")
    previous = _Active.name
    # HINT: the dispatch point reads hooks.kernels (a dict Op type -> kernel): empty it, then
    # HINT: copy in the chosen set's table, and remember which set is active
    # BEGIN SOLUTION
    hooks.kernels.clear()
    hooks.kernels.update(_SETS[name])
    _Active.name = name
    # END SOLUTION
    return previous


@contextmanager
def using(name: str) -> Iterator[None]:
    """``with using("fast"):`` switches the set on for the block and restores the previous
    one on exit (also after an exception)."""
    previous = use(name)
    try:
        yield
    finally:
        use(previous)


def kernel_for(op_type: type[Op]) -> Kernel | None:
    """The kernel that will run ``op_type`` now, or None (its reference code)."""
    return hooks.kernels.get(op_type)


def describe(name: str | None = None) -> str:
    """One line saying what a set (by default the active one) switches on, for summaries:
    ``"kernels: fast (conv, max_pool2d, ...; compiled with numba, 1 thread)"``."""
    from tinytorch.kernels.backend import num_threads, numba_enabled

    name = _Active.name if name is None else name
    table = _SETS.get(name, {})
    if not table:
        return f"kernels: {name} (the reference Ops)"
    parts: list[str] = []
    for kernel in table.values():
        text = str(getattr(kernel, "description", type(kernel).__name__)).split(":")[0]
        if text not in parts:
            parts.append(text)
    threads = num_threads()
    engine = (
        f"compiled with numba, {threads} thread{'s' if threads > 1 else ''}"
        if numba_enabled()
        else "NumPy twins of the compiled kernels"
    )
    return f"kernels: {name} ({', '.join(parts)}; {engine})"


def table(name: str) -> dict[Any, Any]:
    """A copy of set ``name``'s table ({Op type: kernel})."""
    if name not in _SETS:
        raise ValueError(f"kernels.table: unknown kernel set {name!r}; choose from {available()}")
    return dict(_SETS[name])
