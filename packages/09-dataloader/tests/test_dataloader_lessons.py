"""The systems lessons return the numbers they promise (no timing assertions)."""

from __future__ import annotations

import math

import numpy as np

from tinytorch.dataloader import (
    Compose,
    augmentation,
    dataset_memory,
    loader_throughput,
    prefetch_speedup,
)


def test_dataset_memory_cifar10() -> None:
    report = dataset_memory((50_000, 3, 32, 32), batch_size=128)
    assert report["uint8_bytes"] == 153_600_000
    assert report["float32_bytes"] == 614_400_000
    assert report["ratio"] == 4.0
    assert report["batch_float32_bytes"] == 128 * 3 * 32 * 32 * 4 == 1_572_864


def test_dataset_memory_matches_real_arrays() -> None:
    shape = (7, 28, 28)
    report = dataset_memory(shape, batch_size=3)
    images = np.zeros(shape, dtype=np.uint8)
    assert report["uint8_bytes"] == images.nbytes
    assert report["float32_bytes"] == images.astype(np.float32).nbytes
    assert report["batch_float32_bytes"] == images[:3].astype(np.float32).nbytes


def test_loader_throughput_reports_rates() -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(256, 3, 16, 16), dtype=np.uint8)
    report = loader_throughput(images, np.arange(256) % 10, batch_size=32)
    for key in ("per_sample", "array", "augmented", "batching_speedup", "augmentation_cost"):
        assert math.isfinite(report[key]) and report[key] > 0
    assert math.isclose(report["batching_speedup"], report["array"] / report["per_sample"])
    assert math.isclose(report["augmentation_cost"], report["array"] / report["augmented"])


def test_augmentation_pipeline_shapes() -> None:
    colour = np.zeros((4, 3, 32, 32), dtype=np.uint8)
    grey = np.zeros((4, 28, 28), dtype=np.uint8)
    assert isinstance(augmentation(colour), Compose)
    out = augmentation(colour)(colour)
    assert out.shape == colour.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[out != -2.0], 0.0)  # zeros normalise to (0 - 0.5) / 0.25
    assert augmentation(grey)(grey).shape == grey.shape


def test_prefetch_speedup_reports_numbers() -> None:
    report = prefetch_speedup(batches=6, batch_size=4, transform_ms=2.0, step_ms=2.0, prefetch=2)
    assert report["batches"] == 6
    assert report["ideal_speedup"] == 2.0
    assert report["serial_s"] > 0 and report["prefetch_s"] > 0
    assert math.isclose(report["speedup"], report["serial_s"] / report["prefetch_s"])
    assert prefetch_speedup(batches=2, transform_ms=0.0, step_ms=0.0)["ideal_speedup"] == 1.0
