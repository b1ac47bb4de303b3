"""Where the compiled kernels come from: numba when installed (``tinytorch-kernels[numba]``),
else NumPy, with the same results.

NumPy runs one whole-array operation at a time, so a chain such as "normalise, scale, shift,
ReLU" reads and writes the activation four times; numba compiles a Python loop into machine code
that does the chain in one pass. Every numba kernel here has a NumPy twin that computes the same
thing (to round-off; the summation order differs); `use_numba` picks one:

- numba is used when it can be imported and the environment variable ``TINYTORCH_NUMBA`` is not
  ``0``; ``with use_numba(False):`` forces the NumPy path (the tests run both);
- compiled code is cached on disk (``cache=True``), so only the very first call on a machine
  compiles (seconds); `warm_up` compiles every kernel up front, outside any timing;
- the kernels' outer loops are ``prange`` loops (over channels or image planes): with
  `num_threads` 1 (the default) they compile serial, with more (`set_num_threads`, or the
  environment variable ``TINYTORCH_KERNEL_THREADS``) as ``parallel=True`` code on that many
  threads. BLAS (the matmuls) keeps its own count (``OMP_NUM_THREADS``).
"""

from __future__ import annotations

import importlib
import os
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

numba: Any
try:  # optional: pip install tinytorch-kernels[numba] (imported by name: typed the same either way)
    numba = importlib.import_module("numba")
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised in environments without numba
    numba = None
    HAVE_NUMBA = False


class _State:
    enabled = HAVE_NUMBA and os.environ.get("TINYTORCH_NUMBA", "1") != "0"
    threads = 1


def numba_enabled() -> bool:
    """True when the numba kernels run (numba installed, not switched off)."""
    return _State.enabled


@contextmanager
def use_numba(enabled: bool) -> Iterator[None]:
    """``with use_numba(False):`` runs the NumPy twins of the compiled kernels (``True`` asks
    for numba and raises ImportError when it is not installed)."""
    if enabled and not HAVE_NUMBA:
        raise ImportError(
            "use_numba(True): numba is not installed; pip install tinytorch-kernels[numba]"
        )
    previous, _State.enabled = _State.enabled, enabled
    try:
        yield
    finally:
        _State.enabled = previous


# Floating-point reassociation lets LLVM vectorise sums (8 float32 lanes instead of one
# add at a time: ~10x on a per-channel sum); NaN and infinity keep their IEEE meaning.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


class Compiled:
    """A numba kernel compiled on first use in two variants from one Python function: serial,
    and ``parallel=True`` (its ``prange`` loops split over `num_threads` threads), chosen per
    call by the thread setting. Both are cached on disk under their own names."""

    def __init__(self, function: Callable[..., Any], fastmath: bool, parallel: bool) -> None:
        self.function = function
        self.fastmath = fastmath
        self.parallel = parallel  # False: a serial loop by nature (e.g. a scatter-add)
        self._variants: dict[bool, Any] = {}

    def _compile(self, parallel: bool) -> Any:
        function = self.function
        if parallel:  # a copy with its own name, so the two variants' caches differ
            function = types.FunctionType(
                function.__code__, function.__globals__, function.__name__ + "_parallel",
                function.__defaults__, function.__closure__,
            )  # fmt: skip
            function.__qualname__ = self.function.__qualname__ + "_parallel"
            function.__module__ = self.function.__module__
        options: dict[str, Any] = {"cache": True, "parallel": parallel}
        if self.fastmath:
            options["fastmath"] = FASTMATH
        return numba.njit(**options)(function)

    def __call__(self, *args: Any) -> Any:
        parallel = self.parallel and _State.threads > 1
        variant = self._variants.get(parallel)
        if variant is None:
            variant = self._variants[parallel] = self._compile(parallel)
        return variant(*args)


def jit(fastmath: bool = False, parallel: bool = True) -> Callable[[Callable[..., Any]], Any]:
    """Compile with numba (see `Compiled`); without numba the plain function, never called (the
    NumPy twin runs instead). ``fastmath`` allows reassociation (vectorised sums);
    ``parallel=False`` for a loop that must stay serial (no parallel variant)."""

    def wrap(function: Callable[..., Any]) -> Any:
        if not HAVE_NUMBA:
            return function
        return Compiled(function, fastmath, parallel)

    return wrap


# numba's parallel range inside a ``parallel=True`` kernel (numba recognises it only as the
# object itself), ``range`` without numba
prange = numba.prange if HAVE_NUMBA else range


def num_threads() -> int:
    """Threads the numba kernels use: 1 (serial, the default) unless `set_num_threads` or the
    environment variable ``TINYTORCH_KERNEL_THREADS`` asked for more."""
    return _State.threads


def set_num_threads(threads: int) -> None:
    """Run the numba kernels' ``prange`` loops on ``threads`` threads (1: serial code).

    Serial is the default: BLAS already spreads the matmuls over the cores, and a second pool
    of spinning threads competing with BLAS's (and with other programs on a shared machine)
    can cost more than it saves on the small per-channel loops here. Capped at numba's
    ``NUMBA_NUM_THREADS`` (the cores).
    """
    if threads < 1:
        raise ValueError(f"set_num_threads: threads must be >= 1, got {threads}")
    if HAVE_NUMBA:
        threads = min(threads, int(numba.config.NUMBA_NUM_THREADS))
        numba.set_num_threads(threads)
    _State.threads = threads if HAVE_NUMBA else 1


_requested = os.environ.get("TINYTORCH_KERNEL_THREADS", "")
if _requested.isdigit() and int(_requested) > 0:
    set_num_threads(int(_requested))


def mark_fast(op: Any, fast: bool) -> None:
    """Note on ``op`` whether a kernel's forward took its fast path (False: it ran the
    reference forward, so the reference backward must run too)."""
    op._kernel_fast = fast


def ran_fast(op: Any) -> bool:
    """What `mark_fast` noted (False when nothing was)."""
    return bool(getattr(op, "_kernel_fast", False))
