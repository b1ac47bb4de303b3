"""Where TinyTorch keeps its data, and which datasets are already there.

The data directory is chosen in this order: an explicit argument, the ``TINYTORCH_DATA``
environment variable, then ``~/.cache/tinytorch/data``. Inside it each dataset has its canonical
file layout, for example ``mnist/train-images-idx3-ubyte.gz``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATASETS", "DATA_ENV_VAR", "DatasetInfo", "DatasetSpec", "data_dir", "find_datasets"]

DATA_ENV_VAR = "TINYTORCH_DATA"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``explicit`` > ``$TINYTORCH_DATA`` > ``~/.cache/tinytorch/data``.

    The folder is not created; callers that write into it create it when they need it.
    """
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    from_env = os.environ.get(DATA_ENV_VAR, "")
    if from_env:
        return Path(from_env).expanduser()
    return Path.home() / ".cache" / "tinytorch" / "data"


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset may live inside the data directory and which files it needs."""

    folders: tuple[str, ...]  # candidate folders relative to the data directory, preferred first
    files: tuple[str, ...]  # files that must all be present in the folder
    gzip_ok: bool = False  # each file may also be present as ``<name>.gz``
    how_to_get: str = ""  # one line: how to fetch it (``tinytorch doctor`` prints it when missing)


_IDX = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_CIFAR = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")


def _download(name: str) -> str:
    return (
        f"python -c \"from tinytorch.dataloader import download; download('{name}')\" "
        f"(module 09; checksummed)"
    )


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(("mnist",), _IDX, gzip_ok=True, how_to_get=_download("mnist")),
    "fashion-mnist": DatasetSpec(
        ("fashion-mnist",), _IDX, gzip_ok=True, how_to_get=_download("fashion-mnist")
    ),
    "cifar-10": DatasetSpec(
        ("cifar-10-batches-py", "cifar-10-subset/cifar-10-batches-py"),
        _CIFAR,
        how_to_get=_download("cifar-10"),
    ),
    "tinyshakespeare": DatasetSpec(
        ("tinyshakespeare",),
        ("input.txt",),
        how_to_get="save https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
        "tinyshakespeare/input.txt as tinyshakespeare/input.txt",
    ),
}


@dataclass(frozen=True)
class DatasetInfo:
    """What ``find_datasets`` found for one dataset."""

    name: str
    folder: Path | None  # the best matching folder, or None when no candidate folder exists
    missing: tuple[str, ...]  # required files not found in ``folder``

    @property
    def present(self) -> bool:
        """True when the folder exists and holds every required file."""
        return self.folder is not None and not self.missing


def _missing_files(folder: Path, spec: DatasetSpec) -> tuple[str, ...]:
    def found(name: str) -> bool:
        return (folder / name).is_file() or (spec.gzip_ok and (folder / f"{name}.gz").is_file())

    return tuple(name for name in spec.files if not found(name))


def find_datasets(root: str | os.PathLike[str] | None = None) -> dict[str, DatasetInfo]:
    """Check the data directory (``data_dir(root)``) for every dataset in ``DATASETS``."""
    base = data_dir(root)
    result: dict[str, DatasetInfo] = {}
    for name, spec in DATASETS.items():
        best = DatasetInfo(name, None, spec.files)
        for rel in spec.folders:
            folder = base / rel
            if not folder.is_dir():
                continue
            candidate = DatasetInfo(name, folder, _missing_files(folder, spec))
            if best.folder is None or len(candidate.missing) < len(best.missing):
                best = candidate
        result[name] = best
    return result
