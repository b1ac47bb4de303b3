"""Reused scratch arrays: a large temporary is allocated once per shape, not once per call.

A fresh NumPy array larger than a few MB comes from the operating system as new pages, and
touching each 4 KiB page for the first time costs a page fault: the 150 MB column matrix of a
32-channel 3x3 convolution on a batch of 128 CIFAR images is 37,000 faults (tens of
milliseconds) on every call. `BufferPool.take` hands back an array that already exists when one
of the right shape and dtype is free.

"Free" is decided by reference counting, so that it is always safe: a buffer is free when only
the pool refers to it. A buffer that an Op saved for its backward (or any view of it, whose
``.base`` refers to it) is busy until that Op lets it go, so two forwards before one backward
get two buffers. The contents of a taken buffer are whatever was there: callers overwrite it.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

# references to a free buffer while `take` inspects it: the pool's list, the loop variable and
# getrefcount's own argument
_FREE_REFERENCES = 3


class BufferPool:
    """Scratch arrays by (tag, shape, dtype); at most ``per_key`` kept for each."""

    def __init__(self, per_key: int = 4) -> None:
        self.per_key = per_key
        self._buffers: dict[tuple[Any, ...], list[np.ndarray]] = {}

    def take(self, tag: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A C-contiguous ``shape`` array of ``dtype`` that nobody else holds (uninitialised)."""
        key = (tag, tuple(shape), np.dtype(dtype))
        kept = self._buffers.setdefault(key, [])
        for buffer in kept:
            if sys.getrefcount(buffer) <= _FREE_REFERENCES:
                return buffer
        buffer = np.empty(shape, dtype=dtype)
        if len(kept) < self.per_key:
            kept.append(buffer)
        return buffer

    def nbytes(self) -> int:
        """Bytes held by the pool (busy and free buffers)."""
        return sum(b.nbytes for kept in self._buffers.values() for b in kept)

    def clear(self) -> None:
        """Let every buffer go (busy ones live on with whoever holds them)."""
        self._buffers.clear()


pool = BufferPool()
