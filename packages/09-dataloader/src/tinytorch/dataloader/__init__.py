"""TinyTorch module 09: datasets, data loaders, transforms, dataset readers and downloads.

>>> import numpy as np
>>> from tinytorch.dataloader import DataLoader, TensorDataset
>>> data = TensorDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5))
>>> [y.data.tolist() for _, y in DataLoader(data, batch_size=2, shuffle=True, seed=0)]
[[2, 4], [3, 0], [1]]
"""

from tinytorch.dataloader.__about__ import __version__
from tinytorch.dataloader.dataset import Dataset, TensorDataset
from tinytorch.dataloader.datasets import (
    CIFAR10,
    CIFAR10_CLASSES,
    FASHION_MNIST_CLASSES,
    MNIST,
    MNIST_CLASSES,
    FashionMNIST,
    ImageDataset,
    dataset_folders,
    find_file,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
)
from tinytorch.dataloader.errors import (
    CorruptDataError,
    DatasetNotFoundError,
    DownloadError,
    data_dir_note,
    where_to_put,
)
from tinytorch.dataloader.formats import parse_idx, read_cifar_batch, read_idx, write_idx
from tinytorch.dataloader.lessons import (
    augmentation,
    dataset_memory,
    loader_throughput,
    prefetch_speedup,
)
from tinytorch.dataloader.loader import (
    DataLoader,
    default_collate,
    prefetch_iterator,
    stack_samples,
    to_tensors,
)
from tinytorch.dataloader.remote import (
    RESOURCES,
    RemoteFile,
    Resource,
    download,
    download_file,
    sha256_file,
)
from tinytorch.dataloader.transforms import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    MNIST_MEAN,
    MNIST_STD,
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToFloat,
    Transform,
)

__all__ = [
    "CIFAR10",
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_MEAN",
    "FASHION_MNIST_STD",
    "MNIST",
    "MNIST_CLASSES",
    "MNIST_MEAN",
    "MNIST_STD",
    "RESOURCES",
    "Compose",
    "CorruptDataError",
    "DataLoader",
    "Dataset",
    "DatasetNotFoundError",
    "DownloadError",
    "FashionMNIST",
    "ImageDataset",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RemoteFile",
    "Resource",
    "TensorDataset",
    "ToFloat",
    "Transform",
    "__version__",
    "augmentation",
    "data_dir_note",
    "dataset_folders",
    "dataset_memory",
    "default_collate",
    "download",
    "download_file",
    "find_file",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "loader_throughput",
    "parse_idx",
    "prefetch_iterator",
    "prefetch_speedup",
    "read_cifar_batch",
    "read_idx",
    "sha256_file",
    "stack_samples",
    "to_tensors",
    "where_to_put",
    "write_idx",
]
