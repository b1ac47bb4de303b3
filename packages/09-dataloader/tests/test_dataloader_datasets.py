"""Dataset loaders: where files are looked for, what they return, what their errors say."""

from __future__ import annotations

import gzip
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tinytorch.dataloader import (
    CIFAR10,
    CIFAR10_CLASSES,
    MNIST,
    CorruptDataError,
    DataLoader,
    DatasetNotFoundError,
    FashionMNIST,
    ToFloat,
    dataset_folders,
    find_file,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
)


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_from_its_folder(tmp_path: Path, files: SimpleNamespace, gz: bool) -> None:
    written = files.mnist(tmp_path / "mnist", n_train=12, n_test=5, gz=gz)
    for train in (True, False):
        images, labels = load_mnist(tmp_path, train=train)
        assert images.dtype == np.uint8 and images.shape == (12 if train else 5, 28, 28)
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(images, written[train][0])
        np.testing.assert_array_equal(labels, written[train][1])


def test_fashion_mnist_and_the_data_directory_itself(tmp_path: Path, files: SimpleNamespace):
    written = files.mnist(tmp_path / "fashion-mnist", seed=5)
    np.testing.assert_array_equal(load_fashion_mnist(tmp_path)[0], written[True][0])
    flat = tmp_path / "flat"  # the files directly in the data directory also work
    written_flat = files.mnist(flat, seed=9)
    np.testing.assert_array_equal(load_mnist(flat, train=False)[0], written_flat[False][0])


def test_data_directory_order(
    tmp_path: Path, files: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, no_data_env: Path
) -> None:
    by_env = files.mnist(tmp_path / "env" / "mnist", n_train=3, seed=1)
    by_arg = files.mnist(tmp_path / "arg" / "mnist", n_train=4, seed=2)
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path / "env"))
    assert len(load_mnist()[0]) == 3  # $TINYTORCH_DATA
    np.testing.assert_array_equal(load_mnist()[0], by_env[True][0])
    assert len(load_mnist(tmp_path / "arg")[0]) == 4  # the argument wins
    np.testing.assert_array_equal(load_mnist(tmp_path / "arg")[0], by_arg[True][0])
    monkeypatch.delenv("TINYTORCH_DATA")
    cache = Path(no_data_env / "home" / ".cache" / "tinytorch" / "data")
    files.mnist(cache / "mnist", n_train=2)
    assert len(load_mnist()[0]) == 2  # the per-user cache folder
    assert dataset_folders("mnist")[0] == cache / "mnist"


def test_missing_files_error_says_what_and_where(no_data_env: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(no_data_env / "nowhere")
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz not found" in message
    assert str(no_data_env / "nowhere" / "mnist") in message
    assert "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609" in message
    assert "$TINYTORCH_DATA" in message and "download('mnist')" in message
    with pytest.raises(DatasetNotFoundError, match=r"data_batch_1 not found.*cifar-10-python"):
        load_cifar10(no_data_env / "nowhere")
    with pytest.raises(FileNotFoundError):  # DatasetNotFoundError is a FileNotFoundError
        MNIST(no_data_env / "nowhere")


def test_corrupt_file_error_names_file_checksum_and_where(
    tmp_path: Path, files: SimpleNamespace
) -> None:
    files.mnist(tmp_path / "mnist")
    broken = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    broken.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x09abc"))
    with pytest.raises(CorruptDataError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert str(broken) in message and "holds 11 bytes" in message
    assert "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c" in message
    assert "$TINYTORCH_DATA" in message and str(tmp_path / "mnist") in message


def test_mismatched_mnist_files(tmp_path: Path, files: SimpleNamespace) -> None:
    files.mnist(tmp_path / "mnist", n_train=6)
    other = tmp_path / "other"
    files.mnist(other, n_train=7)
    (other / "train-labels-idx1-ubyte.gz").replace(
        tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    )
    with pytest.raises(CorruptDataError, match=r"labels of shape \(7,\) for 6 images"):
        load_mnist(tmp_path)
    images = np.zeros((2, 3), dtype=np.uint8)  # 2-d "images"
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(files.idx_bytes(images))
    )
    with pytest.raises(CorruptDataError, match=r"expected \(N, 28, 28\) uint8"):
        load_mnist(tmp_path)


@pytest.mark.parametrize(
    "layout", ["cifar-10-batches-py", "cifar-10-subset/cifar-10-batches-py", "."]
)
def test_load_cifar10_layouts_and_any_rows(
    tmp_path: Path, files: SimpleNamespace, layout: str
) -> None:
    written = files.cifar(tmp_path / layout, rows=(3, 2, 4, 1, 2), test_rows=3)
    images, labels = load_cifar10(tmp_path)
    assert images.shape == (12, 3, 32, 32) and images.dtype == np.uint8
    assert labels.shape == (12,) and labels.dtype == np.int64
    np.testing.assert_array_equal(images, written[True][0])
    np.testing.assert_array_equal(labels, written[True][1])
    test_images, test_labels = load_cifar10(tmp_path, train=False)
    np.testing.assert_array_equal(test_images, written[False][0])
    np.testing.assert_array_equal(test_labels, written[False][1])


def test_cifar_missing_batch_and_corrupt_batch(tmp_path: Path, files: SimpleNamespace) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    files.cifar(folder)
    (folder / "data_batch_4").unlink()
    with pytest.raises(DatasetNotFoundError, match="data_batch_4 not found"):
        load_cifar10(tmp_path)
    (folder / "data_batch_4").write_bytes(b"garbage")
    with pytest.raises(CorruptDataError, match=r"data_batch_4.*6d958be0.*TINYTORCH_DATA"):
        load_cifar10(tmp_path)


def test_find_file_prefers_gzip(tmp_path: Path, files: SimpleNamespace) -> None:
    files.mnist(tmp_path / "mnist", gz=True)
    files.mnist(tmp_path / "mnist", gz=False)
    found = find_file("mnist", "t10k-labels-idx1-ubyte", tmp_path, gzip_ok=True)
    assert found == tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"


def test_dataset_classes(tmp_path: Path, files: SimpleNamespace) -> None:
    written = files.mnist(tmp_path / "mnist", n_train=10, n_test=4)
    data = MNIST(tmp_path, transform=ToFloat())
    assert len(data) == 10 and data.train and data.classes[3] == "3"
    image, label = data[4]
    assert image.dtype == np.float32 and image.shape == (28, 28)
    np.testing.assert_allclose(image, written[True][0][4] / 255.0, rtol=1e-6)
    assert label == written[True][1][4]
    assert data.images.dtype == np.uint8  # stored as uint8, converted per batch
    x, y = next(iter(DataLoader(data, batch_size=8, shuffle=True, seed=0)))
    assert x.shape == (8, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert len(MNIST(tmp_path, train=False)) == 4
    files.mnist(tmp_path / "fashion-mnist", n_train=3)
    fashion = FashionMNIST(tmp_path)
    assert len(fashion) == 3 and fashion.classes[9] == "Ankle boot"
    files.cifar(tmp_path / "cifar-10-batches-py", rows=(1, 1, 1, 1, 1))
    cifar = CIFAR10(tmp_path)
    assert len(cifar) == 5 and cifar[0][0].shape == (3, 32, 32)
    assert cifar.classes == CIFAR10_CLASSES
