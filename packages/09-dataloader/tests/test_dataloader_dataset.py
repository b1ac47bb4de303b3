"""Dataset protocol, TensorDataset and the default collate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinytorch.dataloader import Dataset, TensorDataset, default_collate, stack_samples, to_tensors
from tinytorch.tensor import Tensor


def test_dataset_is_abstract() -> None:
    with pytest.raises(TypeError):
        Dataset()  # type: ignore[abstract]

    class Squares(Dataset):
        def __len__(self) -> int:
            return 4

        def __getitem__(self, index: int) -> tuple[float, int]:
            return float(index**2), index

    assert len(Squares()) == 4 and Squares()[3] == (9.0, 3)


def test_tensor_dataset_rows_and_get_batch() -> None:
    x = np.arange(24, dtype=np.float32).reshape(6, 2, 2)
    y = np.array([5, 4, 3, 2, 1, 0])
    data = TensorDataset(x, Tensor(y))  # Tensors are stored as their arrays
    assert len(data) == 6
    xi, yi = data[2]
    np.testing.assert_array_equal(xi, x[2])
    assert yi == 3
    assert data[-1][1] == 0
    indices = np.array([4, 0, 4])
    bx, by = data.get_batch(indices)
    np.testing.assert_array_equal(bx, x[indices])
    np.testing.assert_array_equal(by, y[indices])
    assert "6 samples" in repr(data)


def test_tensor_dataset_transform_applies_to_the_first_array_only() -> None:
    x = np.ones((3, 2), dtype=np.float32)
    y = np.array([1, 2, 3])
    data = TensorDataset(x, y, transform=lambda batch: batch * 10)
    bx, by = data.get_batch(np.array([0, 2]))
    np.testing.assert_array_equal(bx, np.full((2, 2), 10.0))
    np.testing.assert_array_equal(by, [1, 3])
    np.testing.assert_array_equal(data[1][0], [10.0, 10.0])  # a sample is a batch of one


def test_tensor_dataset_errors_name_the_sizes() -> None:
    with pytest.raises(ValueError, match=r"same first dimension.*\[3, 4\]"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(np.float32(1.0))
    with pytest.raises(IndexError, match="index 3 is out of range for 3"):
        TensorDataset(np.zeros(3))[3]


def test_default_collate_stacks_fields_and_makes_labels_int64() -> None:
    samples = [(np.full((2, 2), i, dtype=np.uint8), i) for i in range(3)]
    images, labels = default_collate(samples)
    assert isinstance(images, Tensor) and images.shape == (3, 2, 2)
    assert images.dtype == np.uint8  # inputs keep their dtype
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels.data, [0, 1, 2])
    np.testing.assert_array_equal(images.data[:, 0, 0], [0, 1, 2])


def test_collate_of_single_values_and_tensors() -> None:
    batch = default_collate([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])])
    assert isinstance(batch, Tensor) and batch.shape == (2, 2) and batch.dtype == np.float32
    floats = default_collate([0.5, 1.5])  # Python floats: float64 -> the framework's float32
    assert floats.dtype == np.float32
    labels = to_tensors(np.array([1, 2], dtype=np.uint8))
    assert labels.dtype == np.int64  # one integer per sample: a label


def test_collate_errors() -> None:
    with pytest.raises(ValueError, match=r"field 0 of the samples have different shapes"):
        stack_samples([(np.zeros(2), 0), (np.zeros(3), 1)])
    with pytest.raises(ValueError, match="empty"):
        stack_samples([])


@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 9)), min_size=1, max_size=20))
def test_collate_matches_numpy_stack(pairs: list[tuple[int, int]]) -> None:
    samples = [(np.full((3,), a, dtype=np.uint8), b) for a, b in pairs]
    x, y = stack_samples(samples)
    np.testing.assert_array_equal(x, np.stack([s[0] for s in samples]))
    np.testing.assert_array_equal(y, [b for _, b in pairs])
