"""Data directory resolution and dataset detection."""

from pathlib import Path

import pytest

from tinytorch.setup import data_dir, find_datasets
from tinytorch.setup.paths import DATASETS


def test_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TINYTORCH_DATA", raising=False)
    assert data_dir() == tmp_path / "home" / ".cache" / "tinytorch" / "data"

    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    assert data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert data_dir(str(tmp_path / "explicit")) == tmp_path / "explicit"

    monkeypatch.setenv("TINYTORCH_DATA", "")  # empty means unset
    assert data_dir() == tmp_path / "home" / ".cache" / "tinytorch" / "data"


def test_data_dir_expands_user(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir("~/data") == tmp_path / "data"


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def test_find_datasets(tmp_path):
    for name in DATASETS["mnist"].files:
        _touch(tmp_path / "mnist" / f"{name}.gz")
    for name in DATASETS["fashion-mnist"].files[:3]:  # uncompressed, one file missing
        _touch(tmp_path / "fashion-mnist" / name)
    for name in DATASETS["cifar-10"].files:
        _touch(tmp_path / "cifar-10-subset" / "cifar-10-batches-py" / name)

    found = find_datasets(tmp_path)
    assert set(found) == {"mnist", "fashion-mnist", "cifar-10", "tinyshakespeare"}
    assert found["mnist"].present and found["mnist"].folder == tmp_path / "mnist"
    assert not found["fashion-mnist"].present
    assert found["fashion-mnist"].missing == ("t10k-labels-idx1-ubyte",)
    assert found["cifar-10"].present
    assert found["cifar-10"].folder == tmp_path / "cifar-10-subset" / "cifar-10-batches-py"
    assert found["tinyshakespeare"].folder is None and not found["tinyshakespeare"].present

    _touch(tmp_path / "tinyshakespeare" / "input.txt")
    assert find_datasets(tmp_path)["tinyshakespeare"].present


def test_find_datasets_prefers_the_complete_cifar_folder(tmp_path):
    _touch(tmp_path / "cifar-10-batches-py" / "data_batch_1")  # incomplete full copy
    for name in DATASETS["cifar-10"].files:
        _touch(tmp_path / "cifar-10-subset" / "cifar-10-batches-py" / name)
    info = find_datasets(tmp_path)["cifar-10"]
    assert info.present and "cifar-10-subset" in str(info.folder)


SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/data next to the repository")
def test_find_datasets_on_the_shared_copies():
    assert all(info.present for info in find_datasets(SHARED).values())
