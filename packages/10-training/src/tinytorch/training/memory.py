"""Peak memory of a stretch of code (one epoch): resident set size, or traced allocations.

Two ways to measure, with different costs (``memory_tracking_overhead`` in the lessons times
them):

- **Peak RSS** (resident set size: the pages of this process in RAM, NumPy's buffers included).
  The kernel keeps the high-water mark for free. On Linux it can be *reset* (writing ``5`` to
  ``/proc/self/clear_refs``) and read back from ``/proc/self/status`` (``VmHWM``), which gives
  a true per-epoch peak at the cost of two small file operations. The reset also resets what
  ``getrusage().ru_maxrss`` reports for this process, so the peak of the whole run is kept here
  across resets: `lifetime_peak_rss_bytes`. Elsewhere the only number is
  ``getrusage().ru_maxrss``, the peak of the whole process so far: it can only grow, so an epoch
  that peaks lower than an earlier one reports the earlier peak (``resettable`` says which).
- **Traced peak** (``tracemalloc``): the bytes allocated through Python's allocators since the
  start of the epoch, NumPy arrays included, exact and independent of what else the process
  holds. It hooks every allocation: 1.5x slower training steps for a 784-256-10 MLP and 4.5x for
  a tiny one (many small arrays) when measured, so the Trainer uses it only when asked
  (``track_memory=True``).
"""

from __future__ import annotations

import re
import resource
import sys
import tracemalloc
from pathlib import Path

__all__ = ["PeakMemory", "lifetime_peak_rss_bytes", "peak_rss_bytes", "reset_peak_rss"]

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


class _Lifetime:
    peak = 0  # the largest peak RSS seen before any reset


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS; False where that is not possible.

    The peak so far is remembered first, for `lifetime_peak_rss_bytes`.
    """
    _Lifetime.peak = max(_Lifetime.peak, peak_rss_bytes())
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def lifetime_peak_rss_bytes() -> int:
    """The peak RSS of the whole process so far, including the peaks before any reset."""
    return max(_Lifetime.peak, peak_rss_bytes())


def peak_rss_bytes() -> int:
    """The peak resident set size in bytes: since the last reset (Linux), else of the process.

    ``ru_maxrss`` is in kilobytes on Linux and in bytes on macOS.
    """
    try:
        match = re.search(r"VmHWM:\s+(\d+) kB", _STATUS.read_text())
    except OSError:
        match = None
    if match:
        return int(match.group(1)) * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


class PeakMemory:
    """``with PeakMemory(trace=False) as m: ...`` then ``m.rss_bytes`` (and ``m.traced_bytes``).

    ``rss_bytes``: the peak RSS inside the block (of the whole process so far where
    ``m.resettable`` is False). ``traced_bytes``: with ``trace=True``, the peak of the bytes
    allocated inside the block (tracemalloc), else None.
    """

    def __init__(self, trace: bool = False) -> None:
        self.trace = trace
        self.resettable = False
        self.rss_bytes = 0
        self.traced_bytes: int | None = None
        self._started_tracing = False
        self._baseline = 0

    def __enter__(self) -> PeakMemory:
        self.resettable = reset_peak_rss()
        if self.trace:
            self._started_tracing = not tracemalloc.is_tracing()
            if self._started_tracing:
                tracemalloc.start()
            tracemalloc.reset_peak()
            self._baseline = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *exc: object) -> None:
        self.rss_bytes = peak_rss_bytes()
        if self.trace:
            self.traced_bytes = tracemalloc.get_traced_memory()[1] - self._baseline
            if self._started_tracing:
                tracemalloc.stop()
