"""Small dataset files in the canonical formats, written by the tests themselves."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

IDX_NAMES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """IDX written by hand (independently of write_idx): magic, big-endian dims, big-endian data."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def make_images(n: int, seed: int, shape: tuple[int, ...] = (28, 28)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def write_mnist_files(
    folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = True, seed: int = 0
) -> dict[bool, tuple[np.ndarray, np.ndarray]]:
    """Write the four MNIST IDX files into ``folder``; return {train: (images, labels)}."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for train, n in ((True, n_train), (False, n_test)):
        images = make_images(n, seed + int(train))
        labels = np.arange(n, dtype=np.uint8) % 10
        for name, array in zip(IDX_NAMES[train], (images, labels), strict=True):
            raw = idx_bytes(array)
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
            else:
                (folder / name).write_bytes(raw)
        written[train] = (images, labels)
    return written


def cifar_batch_bytes(images: np.ndarray, labels: np.ndarray, label: str = "batch") -> bytes:
    """A CIFAR-10 python batch: a pickled dict with byte-string keys, rows channel-major."""
    batch = {
        b"batch_label": label.encode(),
        b"labels": [int(v) for v in labels],
        b"data": images.reshape(len(images), -1),
    }
    return pickle.dumps(batch, protocol=2)


def write_cifar_files(
    folder: Path, rows: tuple[int, ...] = (3, 2, 4, 1, 2), test_rows: int = 3, seed: int = 0
) -> dict[bool, tuple[np.ndarray, np.ndarray]]:
    """data_batch_1..5 with ``rows`` rows each and test_batch; return {train: (images, labels)}."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for i, n in enumerate(rows, start=1):
        images = make_images(n, seed + i, (3, 32, 32))
        labels = (np.arange(n) + i) % 10
        (folder / f"data_batch_{i}").write_bytes(cifar_batch_bytes(images, labels))
        parts.append((images, labels))
    test_images = make_images(test_rows, seed + 99, (3, 32, 32))
    test_labels = np.arange(test_rows) % 10
    (folder / "test_batch").write_bytes(cifar_batch_bytes(test_images, test_labels))
    meta = {b"label_names": [b"airplane", b"automobile"], b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return {True: train, False: (test_images, test_labels)}


@pytest.fixture
def no_data_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No $TINYTORCH_DATA and an empty home: nothing is found unless a test writes it."""
    monkeypatch.delenv("TINYTORCH_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def files() -> SimpleNamespace:
    """The writers above, for tests: files.mnist(folder), files.cifar(folder), ..."""
    return SimpleNamespace(
        mnist=write_mnist_files,
        cifar=write_cifar_files,
        idx_bytes=idx_bytes,
        cifar_batch_bytes=cifar_batch_bytes,
        images=make_images,
    )
