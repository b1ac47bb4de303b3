"""Batch transforms and augmentation: NumPy programs over a whole batch, no per-image loop.

Every transform maps a batch ``(N, C, H, W)`` (or ``(N, H, W)`` for grey images) to a batch.
A Python loop over 128 images costs ~128 interpreter round trips per batch; one NumPy call costs
one, and its inner loop runs in C. Random transforms draw all their random numbers for the batch
at once from their own generator (``rng``: a seed or a ``np.random.Generator``), so a run is
reproducible: same seeds, same augmented batches.

Transforms accept a NumPy array or a Tensor and return the same kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinytorch.tensor import Tensor

__all__ = [
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "FASHION_MNIST_MEAN",
    "FASHION_MNIST_STD",
    "MNIST_MEAN",
    "MNIST_STD",
    "Compose",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "ToFloat",
    "Transform",
]

# Per-channel statistics of the training sets after ToFloat (pixel values in [0, 1]).
MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
FASHION_MNIST_MEAN, FASHION_MNIST_STD = (0.2860,), (0.3530,)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)

RandomSource = np.random.Generator | int | None


class Transform:
    """Base class: ``transform(batch)`` runs ``forward`` on the batch's NumPy array.

    A Tensor batch gives a Tensor back (the data is transformed, no graph is recorded: data
    preparation happens before the model).
    """

    def __call__(self, batch: Any) -> Any:
        if isinstance(batch, Tensor):
            return Tensor(self.forward(batch.data))
        return self.forward(np.asarray(batch))

    def forward(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define forward(batch)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Compose(Transform):
    """Apply ``transforms`` one after the other: ``Compose([ToFloat(), Normalize(m, s)])``."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def forward(self, batch: np.ndarray) -> np.ndarray:
        for transform in self.transforms:
            batch = transform(batch)
        return batch

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class ToFloat(Transform):
    """``uint8 [0, 255] -> float32 [0, 1]``: ``batch / divisor`` in float32.

    Memory: the float32 batch is 4x the uint8 batch. Keep the dataset in uint8 and convert one
    batch at a time (``dataset_memory`` has the numbers).
    """

    def __init__(self, divisor: float = 255.0) -> None:
        if divisor == 0:
            raise ValueError("ToFloat: divisor must be non-zero (255 maps uint8 to [0, 1])")
        self.divisor = divisor

    def forward(self, batch: np.ndarray) -> np.ndarray:
        # HINT: convert to float32 (one new array) and divide by the divisor in place (no second
        # HINT: copy)
        # BEGIN SOLUTION
        out = batch.astype(np.float32)
        out /= np.float32(self.divisor)
        return out
        # END SOLUTION

    def __repr__(self) -> str:
        return f"ToFloat(divisor={self.divisor})"


class Normalize(Transform):
    """``(batch - mean[c]) / std[c]`` per channel ``c`` (axis 1 of NCHW).

    ``mean``, ``std``: one value per channel, or a single value for every element (the only
    choice for a batch without a channel axis, such as MNIST's ``(N, 28, 28)``). The batch must
    be floating point: scale uint8 images with `ToFloat` first. Cost: 2 passes over the batch,
    one new array.
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float32))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float32))
        if self.mean.ndim != 1 or self.mean.shape != self.std.shape:
            raise ValueError(
                f"Normalize: mean and std need one value per channel each, got mean "
                f"{self.mean.tolist()} and std {self.std.tolist()}"
            )
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {self.std.tolist()}")

    def _per_channel(self, values: np.ndarray, batch: np.ndarray) -> np.ndarray:
        """``values`` shaped to broadcast along the channel axis of ``batch``."""
        if values.size == 1:
            return values.reshape(())
        if batch.ndim != 4 or batch.shape[1] != values.size:
            raise ValueError(
                f"Normalize: {values.size} channel values, but the batch has shape "
                f"{batch.shape}; it must be (N, {values.size}, H, W) (NCHW), or give one "
                f"value for every element"
            )
        return values.reshape(1, -1, 1, 1)

    def forward(self, batch: np.ndarray) -> np.ndarray:
        if batch.dtype.kind != "f":
            raise TypeError(
                f"Normalize: the batch is {batch.dtype}; scale it to float first, e.g. "
                f"Compose([ToFloat(), Normalize(mean, std)])"
            )
        mean, std = self._per_channel(self.mean, batch), self._per_channel(self.std, batch)
        # HINT: (batch - mean) / std per channel, both already shaped to broadcast; cast them to the
        # HINT: batch's dtype so float32 stays float32, and divide in place
        # BEGIN SOLUTION
        out = batch - mean.astype(batch.dtype)
        out /= std.astype(batch.dtype)
        return out
        # END SOLUTION

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop(Transform):
    """Pad each image by ``padding`` zeros, then cut a ``size`` crop at a random offset per image.

    ``size``: int (square) or ``(height, width)``. With ``padding=4`` on 32x32 CIFAR images,
    each image moves by up to 4 pixels in each direction: the network sees shifted copies.
    Cost: one padded copy of the batch, one gather of the crops (no loop over images).
    """

    def __init__(
        self,
        size: int | tuple[int, int],
        padding: int = 0,
        fill: float = 0,
        rng: RandomSource = None,
    ) -> None:
        self.size = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"RandomCrop: size must be a positive int or (h, w), got {size!r}")
        if padding < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.padding = padding
        self.fill = fill
        self.rng = np.random.default_rng(rng)

    def pad(self, batch: np.ndarray) -> np.ndarray:
        """``batch`` with ``padding`` rows/columns of ``fill`` on each side of H and W.

        One allocation and one copy (``np.pad`` does the same work ~3x slower: it is general).
        """
        p = self.padding
        if p == 0:
            return batch
        *lead, height, width = batch.shape
        out = np.full((*lead, height + 2 * p, width + 2 * p), self.fill, dtype=batch.dtype)
        out[..., p : p + height, p : p + width] = batch
        return out

    def crop(self, batch: np.ndarray, top: np.ndarray, left: np.ndarray) -> np.ndarray:
        """``out[n] = batch[n, ..., top[n]:top[n]+h, left[n]:left[n]+w]`` for every image n.

        ``sliding_window_view`` gives every (h, w) window of every image as a view (no copy):
        shape ``(N, [C,] H-h+1, W-w+1, h, w)``; indexing it with ``(n, top[n], left[n])``
        gathers one window per image into ``(N, [C,] h, w)``.
        """
        height, width = self.size
        # HINT: windows = sliding_window_view(batch, (height, width), axis=(-2, -1)), then one
        # HINT: fancy index: windows[np.arange(N), ..., top, left] (the ... keeps the channels)
        # BEGIN SOLUTION
        windows = sliding_window_view(batch, (height, width), axis=(-2, -1))
        return np.ascontiguousarray(windows[np.arange(batch.shape[0]), ..., top, left, :, :])
        # END SOLUTION

    def forward(self, batch: np.ndarray) -> np.ndarray:
        if batch.ndim < 3:
            raise ValueError(
                f"RandomCrop: expects a batch (N, C, H, W) or (N, H, W), got shape {batch.shape}"
            )
        padded = self.pad(batch)
        height, width = self.size
        free_h, free_w = padded.shape[-2] - height, padded.shape[-1] - width
        if free_h < 0 or free_w < 0:
            raise ValueError(
                f"RandomCrop: crop {self.size} is larger than the padded images "
                f"{padded.shape[-2:]} (images {batch.shape[-2:]}, padding {self.padding})"
            )
        top = self.rng.integers(0, free_h + 1, size=batch.shape[0])
        left = self.rng.integers(0, free_w + 1, size=batch.shape[0])
        return self.crop(padded, top, left)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p`` (independently per image)."""

    def __init__(self, p: float = 0.5, rng: RandomSource = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p
        self.rng = np.random.default_rng(rng)

    def forward(self, batch: np.ndarray) -> np.ndarray:
        # HINT: one random draw per image; flipped images are batch[mask, ..., ::-1]
        # BEGIN SOLUTION
        flip = self.rng.random(batch.shape[0]) < self.p
        out = batch.copy()
        out[flip] = batch[flip, ..., ::-1]
        return out
        # END SOLUTION

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
