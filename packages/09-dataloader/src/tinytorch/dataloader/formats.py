"""Readers (and an IDX writer) for the canonical dataset file formats.

**IDX** (MNIST, Fashion-MNIST): a 4-byte magic number ``00 00 <type> <ndim>``, then ``ndim``
big-endian uint32 sizes, then the values in row-major order, big-endian. Usually gzip-compressed
(``.gz``). ``train-images-idx3-ubyte``: type 0x08 (uint8), 3 dims (60000, 28, 28).

**CIFAR-10 python batches**: each file is a pickled dict; ``b'data'`` is an ``(N, 3072)`` uint8
array whose rows are one image each, channel-major (1024 red values, row by row, then 1024 green,
then 1024 blue), so a reshape to ``(N, 3, 32, 32)`` is already NCHW; ``b'labels'`` a list of N
ints. The pickles are read with an unpickler that only builds NumPy arrays: unpickling a file
from the internet must never run arbitrary code.
"""

from __future__ import annotations

import codecs
import gzip
import os
import pickle
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.dataloader.errors import CorruptDataError

__all__ = ["IDX_DTYPES", "parse_idx", "read_cifar_batch", "read_idx", "write_idx"]

# IDX type code -> big-endian dtype of the values.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """The array in the (uncompressed) IDX bytes ``raw``, in native byte order.

    Raises `CorruptDataError` naming ``name`` for a bad magic number or a length that does not
    match the header. Cost: one copy of the data (big-endian -> native, writable).
    """
    # HINT: raw[0] and raw[1] must be 0, raw[2] a key of IDX_DTYPES, raw[3] the number of dims;
    # HINT: struct.unpack(f">{ndim}I", ...) reads the sizes; check the total length, then
    # HINT: np.frombuffer(raw, dtype, offset=...).reshape(dims).astype(native byte order)
    # BEGIN SOLUTION
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        codes = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)
        raise CorruptDataError(
            f"read_idx: {name}: bad magic number 0x{raw[:4].hex()}; an IDX file starts with two "
            f"zero bytes, a type code ({codes}) and the number of dimensions"
        )
    dtype, ndim = IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptDataError(
            f"read_idx: {name}: the header announces {ndim} dimensions but the file ends after "
            f"{len(raw)} bytes; the file is truncated"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise CorruptDataError(
            f"read_idx: {name}: the header promises shape {dims} of {dtype.newbyteorder('=')} "
            f"({expected} bytes with the header) but the file holds {len(raw)} bytes; it is "
            f"truncated or corrupt"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return values.astype(dtype.newbyteorder("="))
    # END SOLUTION


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw (recognised by its first bytes, not its name).

    ``train-images-idx3-ubyte.gz`` -> ``(60000, 28, 28) uint8``; dims and dtype come from the
    header. Raises `CorruptDataError` naming the file when it is not valid gzip or not IDX.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise CorruptDataError(
                f"read_idx: {path}: broken gzip data ({error}); the file is truncated or corrupt"
            ) from error
    return parse_idx(raw, str(path))


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``).

    The inverse of `read_idx`: ``read_idx(write_idx(p, a))`` equals ``a``.
    """
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise TypeError(
            f"write_idx: IDX has no type code for {array.dtype}; convert to one of "
            f"{sorted(str(d) for d in codes)}"
        )
    header = bytes([0, 0, codes[native], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(native.newbyteorder(">")).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(raw, mtime=0) if path.suffix == ".gz" else raw)
    return path


_RECONSTRUCT = np.empty(0).__reduce__()[0]  # numpy's array-unpickling helper, in any version
_SCALAR = np.int64(0).__reduce__()[0]
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # how protocol-2 pickles spell a bytes object
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and NumPy arrays; refuses every other class or function."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR-10 batch holds only NumPy arrays, "
                f"lists and strings"
            ) from None


def _load_pickle(path: Path) -> Any:
    with open(path, "rb") as file:
        try:
            return _ArrayUnpickler(file, encoding="bytes").load()
        except Exception as error:
            raise CorruptDataError(
                f"read_cifar_batch: {path}: not a readable CIFAR-10 python batch ({error})"
            ) from error


def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch file -> ``(images: (N, 3, 32, 32) uint8, labels: (N,) int64)``.

    Any number of rows N (the full dataset has 10,000 per file). Keys are byte strings
    (``b'data'``, ``b'labels'``), as in the files from the CIFAR-10 home page.
    """
    path = Path(path)
    batch = _load_pickle(path)
    if not isinstance(batch, dict):
        raise CorruptDataError(
            f"read_cifar_batch: {path}: holds a {type(batch).__name__}, a CIFAR-10 batch is a dict"
        )
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise CorruptDataError(
            f"read_cifar_batch: {path}: a CIFAR-10 batch has keys b'data' and b'labels', this "
            f"one has {sorted(map(repr, batch))}"
        )
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise CorruptDataError(
            f"read_cifar_batch: {path}: b'data' must be (N, 3072) uint8 (one 3x32x32 image per "
            f"row), got {data.shape} {data.dtype}"
        )
    # HINT: each row is already channel-major: a reshape gives NCHW; labels become int64
    # BEGIN SOLUTION
    images = data.reshape(-1, 3, 32, 32)
    labels = np.asarray(labels, dtype=np.int64)
    # END SOLUTION
    if labels.shape != (images.shape[0],):
        raise CorruptDataError(
            f"read_cifar_batch: {path}: {images.shape[0]} images but labels of shape {labels.shape}"
        )
    return images, labels
