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
- thread-parallel kernels (``parallel=True``, ``prange`` over channels or images) use
  `num_threads` threads: the BLAS thread count when ``OMP_NUM_THREADS`` (or
  ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS``) is set, so both sides of a benchmark use the
  same count, else numba's default (every core); `set_num_threads` changes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

numba: Any
try:  # optional: pip install tinytorch-kernels[numba]
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised in environments without numba
    numba = None
    HAVE_NUMBA = False

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class _State:
    enabled = HAVE_NUMBA and os.environ.get("TINYTORCH_NUMBA", "1") != "0"


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


def jit(**options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``numba.njit(cache=True, **options)``, or the plain Python function without numba (it is
    then never called: the NumPy twin runs instead)."""

    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        if not HAVE_NUMBA:
            return function
        return numba.njit(cache=True, **options)(function)  # type: ignore[no-any-return,unused-ignore]

    return wrap


# numba's parallel range inside a ``parallel=True`` kernel (numba recognises it only as the
# object itself), ``range`` without numba
prange = numba.prange if HAVE_NUMBA else range


def _blas_threads() -> int | None:
    for variable in THREAD_VARIABLES:
        value = os.environ.get(variable, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def num_threads() -> int:
    """Threads the parallel numba kernels use (1 without numba: the NumPy twins are serial,
    apart from BLAS calls, which use BLAS's own count)."""
    if not HAVE_NUMBA:
        return 1
    return int(numba.get_num_threads())


def set_num_threads(threads: int) -> None:
    """Run the parallel kernels on ``threads`` threads (at most numba's NUMBA_NUM_THREADS)."""
    if threads < 1:
        raise ValueError(f"set_num_threads: threads must be >= 1, got {threads}")
    if HAVE_NUMBA:
        numba.set_num_threads(min(threads, int(numba.config.NUMBA_NUM_THREADS)))


if HAVE_NUMBA:  # follow the BLAS thread count when one is set
    _threads = _blas_threads()
    if _threads is not None:
        set_num_threads(_threads)


def mark_fast(op: Any, fast: bool) -> None:
    """Note on ``op`` whether a kernel's forward took its fast path (False: it ran the
    reference forward, so the reference backward must run too)."""
    op._kernel_fast = fast


def ran_fast(op: Any) -> bool:
    """What `mark_fast` noted (False when nothing was)."""
    return bool(getattr(op, "_kernel_fast", False))
