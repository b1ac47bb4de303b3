"""Batch transforms against per-image loop oracles and NumPy references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.dataloader import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToFloat,
    Transform,
)
from tinytorch.tensor import Tensor


def batch(n: int = 6, shape: tuple[int, ...] = (3, 8, 8), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def crop_loop(padded: np.ndarray, top: np.ndarray, left: np.ndarray, h: int, w: int) -> np.ndarray:
    """The oracle: one image at a time."""
    return np.stack(
        [padded[n, ..., top[n] : top[n] + h, left[n] : left[n] + w] for n in range(len(padded))]
    )


def test_to_float_scales_uint8_to_unit_interval() -> None:
    x = np.array([[0, 1, 128, 255]], dtype=np.uint8)
    out = ToFloat()(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x.astype(np.float32) / np.float32(255))
    assert out.min() == 0.0 and out.max() == 1.0
    np.testing.assert_array_equal(ToFloat(divisor=2)(x), x / 2)
    with pytest.raises(ValueError, match="non-zero"):
        ToFloat(0)


def test_normalize_per_channel_nchw() -> None:
    x = ToFloat()(batch())
    out = Normalize(CIFAR10_MEAN, CIFAR10_STD)(x)
    for c in range(3):
        expected = (x[:, c] - np.float32(CIFAR10_MEAN[c])) / np.float32(CIFAR10_STD[c])
        np.testing.assert_allclose(out[:, c], expected, rtol=1e-6)
    assert out.dtype == np.float32 and out.shape == x.shape
    grey = ToFloat()(batch(4, (5, 5)))  # (N, H, W): one value for all
    np.testing.assert_allclose(Normalize(0.5, 0.25)(grey), (grey - 0.5) / 0.25, rtol=1e-6)
    np.testing.assert_allclose(Normalize([0.5], [0.25])(grey), (grey - 0.5) / 0.25, rtol=1e-6)


def test_normalize_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"3 channel values.*\(4, 5, 5\)"):
        Normalize(CIFAR10_MEAN, CIFAR10_STD)(np.zeros((4, 5, 5), dtype=np.float32))
    with pytest.raises(TypeError, match="ToFloat"):
        Normalize(0.5, 0.5)(batch())
    with pytest.raises(ValueError, match="positive"):
        Normalize(0.0, 0.0)
    with pytest.raises(ValueError, match="one value per channel"):
        Normalize([0.1, 0.2], [0.3])


@settings(deadline=None, max_examples=30)
@given(
    n=st.integers(1, 5),
    channels=st.sampled_from([None, 1, 3]),
    size=st.integers(2, 9),
    crop=st.integers(1, 9),
    seed=st.integers(0, 1000),
)
def test_crop_matches_the_loop_oracle(
    n: int, channels: int | None, size: int, crop: int, seed: int
) -> None:
    shape = (size, size + 1) if channels is None else (channels, size, size + 1)
    x = batch(n, shape, seed)
    crop = min(crop, size)
    rng = np.random.default_rng(seed)
    top = rng.integers(0, size - crop + 1, size=n)
    left = rng.integers(0, size + 1 - crop + 1, size=n)
    out = RandomCrop(crop).crop(x, top, left)
    np.testing.assert_array_equal(out, crop_loop(x, top, left, crop, crop))
    assert out.flags.c_contiguous


def test_random_crop_pads_and_draws_offsets_per_image() -> None:
    x = batch(64, (3, 8, 8))
    crop = RandomCrop(8, padding=2, rng=0)
    out = crop(x)
    assert out.shape == x.shape and out.dtype == np.uint8
    # Reproduce the documented draws (top, then left) and compare with the loop oracle.
    rng = np.random.default_rng(0)
    top, left = rng.integers(0, 5, size=64), rng.integers(0, 5, size=64)
    padded = np.pad(x, [(0, 0), (0, 0), (2, 2), (2, 2)])
    np.testing.assert_array_equal(out, crop_loop(padded, top, left, 8, 8))
    assert len({(t, lf) for t, lf in zip(top, left, strict=True)}) > 10  # offsets differ
    again = RandomCrop(8, padding=2, rng=0)(x)
    np.testing.assert_array_equal(out, again)  # same seed, same crops
    rect = RandomCrop((4, 6), rng=1)(x)
    assert rect.shape == (64, 3, 4, 6)


def test_random_crop_without_padding_and_errors() -> None:
    x = batch(3, (5, 5))
    np.testing.assert_array_equal(RandomCrop(5)(x), x)  # full-size crop: the identity
    with pytest.raises(ValueError, match=r"larger than the padded images"):
        RandomCrop(7, padding=0)(x)
    with pytest.raises(ValueError, match="padding"):
        RandomCrop(3, padding=-1)
    with pytest.raises(ValueError, match="size"):
        RandomCrop(0)
    with pytest.raises(ValueError, match="batch"):
        RandomCrop(2)(np.zeros((4, 4)))


def test_horizontal_flip_per_image() -> None:
    x = batch(200, (3, 4, 5))
    out = RandomHorizontalFlip(p=0.5, rng=11)(x)
    flip = np.random.default_rng(11).random(200) < 0.5  # the documented draw
    for n in range(200):
        expected = x[n, :, :, ::-1] if flip[n] else x[n]
        np.testing.assert_array_equal(out[n], expected)
    assert 60 < flip.sum() < 140
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x), x)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    assert RandomHorizontalFlip(p=1.0)(x[:, 0]).shape == (200, 4, 5)  # (N, H, W) works too
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        RandomHorizontalFlip(p=1.5)


def test_compose_and_tensors() -> None:
    x = batch(4)
    pipeline = Compose([ToFloat(), Normalize(0.5, 0.5)])
    np.testing.assert_allclose(pipeline(x), (x / 255.0 - 0.5) / 0.5, rtol=1e-5, atol=1e-6)
    out = pipeline(Tensor(x))
    assert isinstance(out, Tensor) and out.dtype == np.float32
    assert "ToFloat" in repr(pipeline) and "Normalize" in repr(pipeline)
    with pytest.raises(NotImplementedError, match="forward"):
        Transform()(x)
