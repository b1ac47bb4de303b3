"""Download datasets from their home pages, checking every file's SHA-256.

`RESOURCES` is the table: for each dataset the folder it goes to inside the data directory, its
files with their known SHA-256, and the mirrors (base URLs) to try in order. A download streams
into ``<file>.part`` with a progress bar, checks the checksum, and only then renames the file
into place, so a broken transfer never leaves a file that looks complete. A file already present
with the right checksum is not downloaded again. The CIFAR-10 tarball is unpacked after download
(into ``cifar-10-batches-py/``), refusing members that would land outside the data directory.

Without internet access, put the files in the data directory by hand (see `where_to_put`).
"""

from __future__ import annotations

import hashlib
import math
import os
import tarfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinytorch.dataloader.errors import DownloadError, data_dir_note
from tinytorch.setup.paths import data_dir
from tinytorch.setup.progress import track

__all__ = ["RESOURCES", "RemoteFile", "Resource", "download", "download_file", "sha256_file"]

CHUNK = 1 << 20  # 1 MiB: the unit of reading, hashing and the progress bar
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name (the last part of its URL) and SHA-256, if known."""

    name: str
    sha256: str | None = None


@dataclass(frozen=True)
class Resource:
    """A downloadable dataset: ``folder`` inside the data directory, files, mirrors to try."""

    name: str
    folder: str  # relative to the data directory; "" for the data directory itself
    files: tuple[RemoteFile, ...]
    mirrors: tuple[str, ...]  # base URLs ending in "/": a file's URL is mirror + file name
    extract: bool = False  # unpack each file (a tar archive) into the folder after download
    title: str = ""


_MNIST = (
    RemoteFile(
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    RemoteFile(
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    RemoteFile(
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    RemoteFile(
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
)
_FASHION_MNIST = (
    RemoteFile(
        "train-images-idx3-ubyte.gz",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    ),
    RemoteFile(
        "train-labels-idx1-ubyte.gz",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    ),
    RemoteFile(
        "t10k-images-idx3-ubyte.gz",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    ),
    RemoteFile(
        "t10k-labels-idx1-ubyte.gz",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    ),
)

RESOURCES: dict[str, Resource] = {
    "mnist": Resource(
        "mnist",
        "mnist",
        _MNIST,
        (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        title="MNIST",
    ),
    "fashion-mnist": Resource(
        "fashion-mnist",
        "fashion-mnist",
        _FASHION_MNIST,
        (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        title="Fashion-MNIST",
    ),
    "cifar-10": Resource(
        "cifar-10",
        "",
        (
            RemoteFile(
                "cifar-10-python.tar.gz",
                "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            ),
        ),
        ("https://www.cs.toronto.edu/~kriz/",),
        extract=True,
        title="CIFAR-10 (python version)",
    ),
}


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (constant memory for any file size)."""
    # HINT: hashlib.sha256(); update it with each chunk of the file; hexdigest()
    # BEGIN SOLUTION
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
    # END SOLUTION


def _stream(url: str, target: Path, description: str) -> None:
    """Copy ``url`` into ``target`` in 1 MiB chunks, with a progress bar on a terminal."""
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(target, "wb") as out:
        length = response.headers.get("Content-Length")
        total = math.ceil(int(length) / CHUNK) if length else None
        chunks = iter(lambda: response.read(CHUNK), b"")
        for chunk in track(chunks, total=total, description=description, unit="MiB"):
            out.write(chunk)


def download_file(urls: Sequence[str], target: str | os.PathLike[str], sha256: str | None) -> Path:
    """Fetch ``target`` from the first of ``urls`` that delivers it with checksum ``sha256``.

    Each attempt streams into ``<target>.part``, which becomes ``target`` only when its SHA-256
    matches (any content is accepted when ``sha256`` is None). Raises `DownloadError` listing
    every URL tried and why it failed (network error or checksum mismatch).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    failures = []
    for url in urls:
        try:
            _stream(url, partial, target.name)
        except OSError as error:  # urllib's URLError and HTTPError are OSErrors
            partial.unlink(missing_ok=True)
            failures.append(f"{url}: {error}")
            continue
        actual = sha256_file(partial)
        if sha256 is not None and actual != sha256:
            partial.unlink()
            failures.append(f"{url}: checksum mismatch, sha256 {actual} (corrupt or changed)")
            continue
        partial.replace(target)
        return target
    expected = f"expected sha256 {sha256}" if sha256 else "no checksum known"
    raise DownloadError(
        f"download: could not fetch {target.name} ({expected}) into {target.parent}:\n  "
        + "\n  ".join(failures or ["no URL given"])
        + f"\nCopy a good {target.name} into {target.parent} by hand."
    )


def _extract(archive: Path, folder: Path) -> None:
    """Unpack a tar archive into ``folder``, refusing links and paths that leave the folder."""
    base = folder.resolve()
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            inside = (base / member.name).resolve()
            if member.issym() or member.islnk() or not inside.is_relative_to(base):
                raise DownloadError(
                    f"download: {archive} holds {member.name!r}, a link or a path outside "
                    f"{base}; refusing to extract it"
                )
        options: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(base, **options)


def download(
    name: str | Resource,
    root: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    force: bool = False,
) -> Path:
    """Download dataset ``name`` (a key of `RESOURCES`, or a `Resource`) into the data directory.

    Files already present with the right SHA-256 are kept (``force=True`` fetches them anyway);
    ``mirrors`` replaces the table's base URLs (a local mirror, a ``file://`` folder). Returns
    the dataset's folder. Raises `DownloadError` when no mirror delivers a file.
    """
    if isinstance(name, str):
        if name not in RESOURCES:
            raise KeyError(f"download: unknown dataset {name!r}; known: {sorted(RESOURCES)}")
        resource = RESOURCES[name]
    else:
        resource = name
    folder = data_dir(root) / resource.folder
    folder.mkdir(parents=True, exist_ok=True)
    bases = tuple(mirrors) if mirrors is not None else resource.mirrors
    for remote in resource.files:
        target = folder / remote.name
        present = target.is_file() and (
            remote.sha256 is None or sha256_file(target) == remote.sha256
        )
        if force or not present:
            urls = [base if base.endswith("/") else base + "/" for base in bases]
            try:
                download_file([base + remote.name for base in urls], target, remote.sha256)
            except DownloadError as error:
                raise DownloadError(f"{error}\n({data_dir_note(root)})") from None
        if resource.extract:
            _extract(target, folder)
    return folder
