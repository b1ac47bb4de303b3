"""`Dataset` (the protocol: a length and one sample per index) and `TensorDataset` (arrays).

A dataset answers two questions: how many samples (``len``) and what is sample ``i``
(``dataset[i]``). Samples are NumPy values; the `DataLoader` turns batches of them into Tensors.

`TensorDataset` is *array-backed*: all its samples live in a few arrays with one row per sample,
so a whole batch is one fancy-indexing call per array (``images[indices]``), never a Python loop
over samples. The loader uses that fast path through ``get_batch``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.tensor import Tensor

__all__ = ["Dataset", "TensorDataset"]

BatchTransform = Callable[[np.ndarray], np.ndarray]


class Dataset(ABC):
    """Abstract dataset: subclasses define ``__len__`` and ``__getitem__(index) -> sample``.

    A sample is usually a tuple ``(input, label)`` of NumPy arrays or numbers.
    """

    @abstractmethod
    def __len__(self) -> int:
        """Number of samples."""

    @abstractmethod
    def __getitem__(self, index: int) -> Any:
        """Sample ``index``, for ``0 <= index < len(self)``."""


class TensorDataset(Dataset):
    """Samples are the rows of arrays with the same first dimension: ``(a[i], b[i], ...)``.

    ``TensorDataset(images, labels)`` with ``images: (N, C, H, W)``, ``labels: (N,)``; Tensors
    are accepted and stored as their NumPy arrays (shared, not copied). ``transform``, if given,
    is a *batch* transform applied to the first array (the inputs) of every batch or sample.
    """

    def __init__(self, *arrays: Any, transform: BatchTransform | None = None) -> None:
        if not arrays:
            raise ValueError("TensorDataset: give at least one array, e.g. TensorDataset(x, y)")
        self.arrays: tuple[np.ndarray, ...] = tuple(
            a.data if isinstance(a, Tensor) else np.asarray(a) for a in arrays
        )
        if any(a.ndim == 0 for a in self.arrays):
            raise ValueError(
                "TensorDataset: a 0-d array has no rows; every array needs a first dimension "
                "with one row per sample"
            )
        sizes = [a.shape[0] for a in self.arrays]
        if len(set(sizes)) != 1:
            raise ValueError(
                f"TensorDataset: every array needs the same first dimension (one row per "
                f"sample), got sizes {sizes} for shapes {[a.shape for a in self.arrays]}"
            )
        self.transform = transform

    def __len__(self) -> int:
        return int(self.arrays[0].shape[0])

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        """The rows ``indices: (B,) int`` of every array, transform applied to the first.

        Cost: one fancy-indexing copy per array (B rows), no per-sample Python work.
        """
        # HINT: index each array with the whole index array at once: a[indices]
        # BEGIN SOLUTION
        fields = tuple(a[indices] for a in self.arrays)
        # END SOLUTION
        if self.transform is not None:
            fields = (self.transform(fields[0]), *fields[1:])
        return fields

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        """``(a[index], b[index], ...)``: a batch of one, without its batch dimension."""
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"TensorDataset: index {index} is out of range for {n} samples")
        return tuple(field[0] for field in self.get_batch(np.array([index])))

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"{type(self).__name__}({len(self)} samples: {shapes})"
