"""The errors of data loading, and the advice they carry (where the data goes, which checksum).

Every error about a file names the file, what is wrong with it, the checksum a good copy has
(when the download table knows it) and where to put the data: the data directory is the ``root``
argument, else ``$TINYTORCH_DATA``, else the per-user cache folder.
"""

from __future__ import annotations

import os

from tinytorch.setup.paths import DATA_ENV_VAR, data_dir

__all__ = ["CorruptDataError", "DatasetNotFoundError", "DownloadError", "where_to_put"]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file is in none of the folders searched."""


class CorruptDataError(ValueError):
    """A file exists but is not what its format promises (bad magic, truncated, wrong shape)."""


class DownloadError(OSError):
    """No mirror delivered a file with the expected checksum."""


def where_to_put(folder: str, root: str | os.PathLike[str] | None = None) -> str:
    """Advice naming the data directory in use, how it is chosen, and the dataset's folder."""
    base = data_dir(root)
    return (
        f"put the files in {base / folder} (the data directory is the root argument, else "
        f"${DATA_ENV_VAR}, else ~/.cache/tinytorch/data; here it is {base})"
    )
