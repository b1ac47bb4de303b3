"""The errors of data loading, and the advice they carry (where the data goes, which checksum).

Every error about a file names the file, what is wrong with it, the checksum a good copy has
(when the download table knows it) and where to put the data: the data directory is the ``root``
argument, else ``$TINYTORCH_DATA``, else the per-user cache folder.
"""

from __future__ import annotations

import os

from tinytorch.setup.paths import DATA_ENV_VAR, data_dir

__all__ = [
    "CorruptDataError",
    "DatasetNotFoundError",
    "DownloadError",
    "data_dir_note",
    "where_to_put",
]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file is in none of the folders searched."""


class CorruptDataError(ValueError):
    """A file exists but is not what its format promises (bad magic, truncated, wrong shape)."""


class DownloadError(OSError):
    """No mirror delivered a file with the expected checksum."""


def data_dir_note(root: str | os.PathLike[str] | None = None) -> str:
    """How the data directory is chosen, and which one that gives now."""
    return (
        f"the data directory is the root argument, else ${DATA_ENV_VAR}, else "
        f"~/.cache/tinytorch/data; here it is {data_dir(root)}"
    )


def where_to_put(folder: str, root: str | os.PathLike[str] | None = None) -> str:
    """Advice naming the dataset's folder in the data directory and how that is chosen."""
    return f"put the files in {data_dir(root) / folder} ({data_dir_note(root)})"
