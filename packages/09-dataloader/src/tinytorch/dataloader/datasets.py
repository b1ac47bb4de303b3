"""MNIST, Fashion-MNIST and CIFAR-10: find the files, read them, wrap them as datasets.

Where the files are looked for, in order, inside the data directory ``data_dir(root)`` (the
``root`` argument, else ``$TINYTORCH_DATA``, else ``~/.cache/tinytorch/data``):

- MNIST: ``mnist/``, then the data directory itself;
- Fashion-MNIST: ``fashion-mnist/``, then the data directory itself;
- CIFAR-10: ``cifar-10-batches-py/``, ``cifar-10-subset/cifar-10-batches-py/``, then the data
  directory itself.

IDX files may be gzip-compressed (``<name>.gz``, preferred) or raw. The arrays stay uint8 in
memory (4x smaller than float32); convert batches with `ToFloat` in the loader.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from tinytorch.dataloader.dataset import BatchTransform, TensorDataset
from tinytorch.dataloader.errors import CorruptDataError, DatasetNotFoundError, where_to_put
from tinytorch.dataloader.formats import read_cifar_batch, read_idx
from tinytorch.dataloader.remote import RESOURCES
from tinytorch.dataloader.remote import download as download_dataset
from tinytorch.setup.paths import DATASETS, data_dir

__all__ = [
    "CIFAR10",
    "CIFAR10_CLASSES",
    "FASHION_MNIST_CLASSES",
    "MNIST",
    "MNIST_CLASSES",
    "FashionMNIST",
    "ImageDataset",
    "dataset_folders",
    "find_file",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
]

MNIST_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
_IDX_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_CIFAR_FILES = {True: tuple(f"data_batch_{i}" for i in range(1, 6)), False: ("test_batch",)}
Root = str | os.PathLike[str] | None
T = TypeVar("T")


def dataset_folders(name: str, root: Root = None) -> list[Path]:
    """The folders searched for dataset ``name`` ("mnist", "fashion-mnist", "cifar-10")."""
    base = data_dir(root)
    return [base / folder for folder in DATASETS[name].folders] + [base]


def _known_sha256(name: str, filename: str) -> str:
    """The table's checksum for a downloaded file, as advice for an error message."""
    for remote in RESOURCES[name].files:
        if remote.name == filename:
            return f"A good {filename} from the home page has sha256 {remote.sha256}. "
    if name == "cifar-10":
        tarball = RESOURCES[name].files[0]
        return f"{filename} comes from {tarball.name} (sha256 {tarball.sha256}). "
    return ""


def find_file(name: str, filename: str, root: Root = None, gzip_ok: bool = False) -> Path:
    """The path of ``filename`` of dataset ``name``: the first folder that holds it.

    With ``gzip_ok``, ``<filename>.gz`` is looked for first in each folder. Raises
    `DatasetNotFoundError` naming the file, the folders searched, the expected checksum and
    where to put the data.
    """
    folders = dataset_folders(name, root)
    names = [f"{filename}.gz", filename] if gzip_ok else [filename]
    for folder in folders:
        for candidate in names:
            if (folder / candidate).is_file():
                return folder / candidate
    shown = names[0]
    raise DatasetNotFoundError(
        f"{name}: {shown} not found in {', '.join(str(f) for f in folders)}. "
        f"{_known_sha256(name, shown)}To fix: {where_to_put(DATASETS[name].folders[0], root)}, "
        f"or run download({name!r}) on a machine that reaches the internet."
    )


def _read(name: str, path: Path, reader: Callable[[Path], T], root: Root) -> T:
    """``reader(path)``; a corrupt file's error also gets the checksum and where to put data."""
    try:
        return reader(path)
    except CorruptDataError as error:
        raise CorruptDataError(
            f"{error}. {_known_sha256(name, path.name)}To fix: replace the file; "
            f"{where_to_put(DATASETS[name].folders[0], root)}."
        ) from error


def _load_idx_pair(name: str, root: Root, train: bool) -> tuple[np.ndarray, np.ndarray]:
    image_file, label_file = _IDX_FILES[train]
    image_path = find_file(name, image_file, root, gzip_ok=True)
    label_path = find_file(name, label_file, root, gzip_ok=True)
    images = _read(name, image_path, read_idx, root)
    labels = _read(name, label_path, read_idx, root)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise CorruptDataError(
            f"{name}: {image_path} holds {images.shape} {images.dtype}, expected (N, 28, 28) "
            f"uint8 images"
        )
    if labels.shape != (images.shape[0],):
        raise CorruptDataError(
            f"{name}: {label_path} holds labels of shape {labels.shape} for "
            f"{images.shape[0]} images in {image_path}; the files do not belong together"
        )
    return images, labels.astype(np.int64)


def load_mnist(root: Root = None, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits: ``(images: (N, 28, 28) uint8, labels: (N,) int64)``; N = 60000 or 10000."""
    return _load_idx_pair("mnist", root, train)


def load_fashion_mnist(root: Root = None, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST: ``(images: (N, 28, 28) uint8, labels: (N,) int64)``, same layout as MNIST."""
    return _load_idx_pair("fashion-mnist", root, train)


def load_cifar10(root: Root = None, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10: ``(images: (N, 3, 32, 32) uint8, labels: (N,) int64)``.

    Train: ``data_batch_1`` .. ``data_batch_5`` concatenated (50,000 rows in the full dataset,
    however many rows the files hold); test: ``test_batch``. Memory: 3,072 bytes per image.
    """
    images, labels = [], []
    for filename in _CIFAR_FILES[train]:
        path = find_file("cifar-10", filename, root)
        batch_images, batch_labels = _read("cifar-10", path, read_cifar_batch, root)
        images.append(batch_images)
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels)


class ImageDataset(TensorDataset):
    """A dataset read from files: ``dataset[i] = (image uint8, label int64)``.

    Subclasses set ``name`` (the key of the data directory layout and of `RESOURCES`),
    ``classes`` and ``load_arrays(root, train) -> (images, labels)``. ``transform`` is a batch
    transform of the images (e.g. ``ToFloat()``); ``download=True`` fetches the files first when
    they are missing. The images stay uint8 in memory.
    """

    name: str
    classes: tuple[str, ...]
    load_arrays: Callable[[Root, bool], tuple[np.ndarray, np.ndarray]]

    def __init__(
        self,
        root: Root = None,
        train: bool = True,
        transform: BatchTransform | None = None,
        download: bool = False,
    ) -> None:
        try:
            images, labels = self.load_arrays(root, train)
        except DatasetNotFoundError:
            if not download:
                raise
            download_dataset(self.name, root)
            images, labels = self.load_arrays(root, train)
        super().__init__(images, labels, transform=transform)
        self.train = train

    @property
    def images(self) -> np.ndarray:
        """All images, uint8, as stored (no transform)."""
        return self.arrays[0]

    @property
    def labels(self) -> np.ndarray:
        """All labels, int64."""
        return self.arrays[1]


class MNIST(ImageDataset):
    """MNIST digits: ``(image: (28, 28) uint8, label)``; 60,000 train / 10,000 test."""

    name = "mnist"
    classes = MNIST_CLASSES
    load_arrays = staticmethod(load_mnist)


class FashionMNIST(ImageDataset):
    """Fashion-MNIST: ``(image: (28, 28) uint8, label)``, ten kinds of clothing."""

    name = "fashion-mnist"
    classes = FASHION_MNIST_CLASSES
    load_arrays = staticmethod(load_fashion_mnist)


class CIFAR10(ImageDataset):
    """CIFAR-10: ``(image: (3, 32, 32) uint8, label)``; works on the full set or any subset."""

    name = "cifar-10"
    classes = CIFAR10_CLASSES
    load_arrays = staticmethod(load_cifar10)
