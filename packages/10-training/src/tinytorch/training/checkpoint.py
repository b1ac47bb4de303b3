"""Checkpoints: everything needed to continue training exactly where it stopped, in one file.

A checkpoint is a single ``.npz`` (a zip of ``.npy`` arrays) holding:

- the model's ``state_dict`` (parameters and buffers, e.g. BatchNorm's running statistics),
- the optimizer's ``state_dict`` (momentum buffers, Adam's moments and step counts, the groups'
  learning rates) and the scheduler's,
- the epoch, the training history, and the state of every random generator that shapes the
  run: the DataLoader's shuffling generator, augmentation transforms' and Dropout's ``rng``,
- a metadata entry ``__tinytorch_checkpoint__``: UTF-8 JSON with a format marker and version,
  describing the nested structure; each array in it is a reference to an ``.npy`` entry.

No pickle: loading a checkpoint never runs code (``np.load(..., allow_pickle=False)``).

**Atomic writes.** Writing over the previous checkpoint in place would leave a half-written
file if the process died midway (power cut, out of memory, Ctrl-C), destroying the only copy.
`atomic_write` writes a temporary file in the same folder, flushes it to disk (``fsync``), and
then renames it over the old file with ``os.replace``: a rename within one file system is
atomic, so the path always holds either the old complete checkpoint or the new one.

**Exact resume.** Restoring weights alone is not enough for training resumed at epoch k to
match uninterrupted training bit for bit: the next epoch's shuffling order, augmentation and
dropout masks come from generators whose state must be restored too (`get_rng_state`,
`set_rng_state`), as must the optimizer's buffers and the scheduler's step count.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
import types
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from tinytorch.layers import Module
from tinytorch.tensor import Tensor

__all__ = [
    "FORMAT",
    "META_KEY",
    "VERSION",
    "Checkpoint",
    "CheckpointError",
    "atomic_write",
    "find_generators",
    "get_rng_state",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
    "set_rng_state",
]

FORMAT = "tinytorch-checkpoint"
VERSION = 1
META_KEY = "__tinytorch_checkpoint__"
_ZIP_MAGIC = b"PK\x03\x04"
_MAX_SEQUENCE = 256  # longer lists (e.g. a dataset's samples) are not searched for generators


class CheckpointError(ValueError):
    """A file that is not a readable TinyTorch checkpoint, or one that does not fit the model."""


# --------------------------------------------------------------------- random generators
def _children(obj: Any) -> list[tuple[str, Any]]:
    """The attributes / items of ``obj`` that may hold a generator, in a stable order."""
    leaf_types = (np.ndarray, np.generic, Tensor, str, bytes, int, float, type, types.ModuleType)
    if obj is None or isinstance(obj, leaf_types):
        return []
    if isinstance(obj, dict):
        return [(str(k), v) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        return list(enumerate(obj)) if len(obj) <= _MAX_SEQUENCE else []  # type: ignore[arg-type]
    attributes = getattr(obj, "__dict__", None)
    return list(attributes.items()) if isinstance(attributes, dict) else []


def find_generators(root: Any, name: str = "") -> dict[str, np.random.Generator]:
    """Every ``np.random.Generator`` reachable from ``root`` through attributes, lists and
    dicts, by dotted path: ``{"loader.generator": ..., "model.2.rng": ...}``.

    A generator reachable by two paths is listed once, under the first. Arrays and Tensors are
    not searched, nor lists longer than 256 items. Cost: one visit per reachable object.
    """
    found: dict[str, np.random.Generator] = {}
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [(name, root)]
    while stack:
        path, obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.random.Generator):
            found[path] = obj
            continue
        children = [(f"{path}.{key}" if path else str(key), value) for key, value in _children(obj)]
        stack.extend(reversed(children))
    return found


def get_rng_state(**roots: Any) -> dict[str, Any]:
    """The state of every generator found under the named roots, by path.

    ``get_rng_state(model=model, train_loader=loader)`` -> ``{"train_loader.generator": {...},
    "model.3.rng": {...}}`` (each a copy of ``generator.bit_generator.state``).
    """
    state: dict[str, Any] = {}
    for name, root in roots.items():
        for path, generator in find_generators(root, name).items():
            state.setdefault(path, copy.deepcopy(generator.bit_generator.state))
    return state


def set_rng_state(state: dict[str, Any], **roots: Any) -> None:
    """Put back states saved by `get_rng_state` under the same root names.

    The generators found now must be exactly those saved (same paths), else the run could not
    repeat: raises a CheckpointError naming the missing and unexpected paths.
    """
    live: dict[str, np.random.Generator] = {}
    for name, root in roots.items():
        for path, generator in find_generators(root, name).items():
            live.setdefault(path, generator)
    missing = sorted(set(live) - set(state))
    unexpected = sorted(set(state) - set(live))
    if missing or unexpected:
        raise CheckpointError(
            f"set_rng_state: the saved random generators do not match the ones found now: "
            f"not saved {missing}, saved but not found {unexpected}; resume with the same "
            f"model, data loaders and transforms (and the same root names) as the saved run"
        )
    for path, generator in live.items():
        try:
            generator.bit_generator.state = copy.deepcopy(state[path])
        except (TypeError, ValueError, KeyError) as error:
            raise CheckpointError(
                f"set_rng_state: cannot restore generator {path!r} ({error}); it was saved "
                f"from a different kind of bit generator"
            ) from error


# --------------------------------------------------------------------- nested values <-> JSON
def _array_name(key: str, arrays: dict[str, np.ndarray]) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-/]", "_", key)
    unique, i = name, 1
    while unique in arrays or unique == META_KEY:
        unique, i = f"{name}~{i}", i + 1
    return unique


def _pack(value: Any, arrays: dict[str, np.ndarray], key: str) -> Any:
    """``value`` as JSON-able data; its arrays are moved into ``arrays`` (tagged references)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError(
                f"save_checkpoint: {key} is an object array, which only pickle could store; "
                f"store numbers, strings and numeric arrays"
            )
        name = _array_name(key, arrays)
        arrays[name] = array
        return {"__array__": name, "scalar": isinstance(value, np.generic)}
    if isinstance(value, tuple):
        return {"__tuple__": [_pack(v, arrays, f"{key}/{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_pack(v, arrays, f"{key}/{i}") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _pack(v, arrays, f"{key}/{k}") for k, v in value.items()}
        return {
            "__items__": [
                [_pack(k, arrays, f"{key}/key{i}"), _pack(v, arrays, f"{key}/{k}")]
                for i, (k, v) in enumerate(value.items())
            ]
        }
    raise TypeError(
        f"save_checkpoint: cannot store {type(value).__name__} at {key}; a checkpoint holds "
        f"numbers, strings, None, lists, tuples, dicts and numeric arrays"
    )


def _unpack(data: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Inverse of `_pack`."""
    if isinstance(data, list):
        return [_unpack(v, arrays) for v in data]
    if not isinstance(data, dict):
        return data
    if "__array__" in data:
        array = arrays[data["__array__"]]
        return array[()] if data["scalar"] else array
    if "__tuple__" in data:
        return tuple(_unpack(v, arrays) for v in data["__tuple__"])
    if "__items__" in data:
        return {_unpack(k, arrays): _unpack(v, arrays) for k, v in data["__items__"]}
    return {k: _unpack(v, arrays) for k, v in data.items()}


# --------------------------------------------------------------------- writing
def _write_npz(file: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an uncompressed .npz into the open binary ``file``."""
    np.savez(file, **arrays)  # type: ignore[arg-type]


def _fsync_dir(folder: Path) -> None:
    """Flush the folder entry (the rename) to disk where the OS allows opening folders."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Create or replace ``path`` so that it is always either the old or the complete new file.

    ``write(file)`` writes the content into an open binary file. If it raises (or the process
    dies) the old file is untouched and the temporary file is removed (a kill leaves a hidden
    ``.<name>.*.tmp`` behind, never a damaged ``path``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # HINT: with os.fdopen(fd, "wb") as file: write, flush Python's buffer, os.fsync the
        # HINT: file to disk; then (closed) make it readable (0o644) and os.replace it onto path
        # BEGIN SOLUTION
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
        # END SOLUTION
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def save_checkpoint(
    path: str | os.PathLike[str],
    model: Module,
    optimizer: Any = None,
    scheduler: Any = None,
    epoch: int = 0,
    rng_state: dict[str, Any] | None = None,
    history: Any = None,
    extra: Any = None,
) -> Path:
    """Write a checkpoint atomically; returns its path.

    ``optimizer`` / ``scheduler``: anything with ``state_dict()`` (optional); ``rng_state``:
    from `get_rng_state`; ``history``: a `History` (or any nested numbers/arrays); ``extra``:
    anything else the caller wants back (nested numbers, strings, arrays).
    Size: the parameters and buffers, plus the optimizer's state (2x the parameters for Adam).
    """
    arrays: dict[str, np.ndarray] = {}
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": int(epoch),
        "model": _pack(dict(model.state_dict()), arrays, "model"),
        "optimizer": _pack(
            optimizer.state_dict() if optimizer is not None else None, arrays, "optimizer"
        ),
        "scheduler": _pack(
            scheduler.state_dict() if scheduler is not None else None, arrays, "scheduler"
        ),
        "rng": _pack(rng_state, arrays, "rng"),
        "history": _pack(
            history.to_dict() if hasattr(history, "to_dict") else history, arrays, "history"
        ),
        "extra": _pack(extra, arrays, "extra"),
    }
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    return atomic_write(path, lambda file: _write_npz(file, arrays))


# --------------------------------------------------------------------- reading
@dataclass
class Checkpoint:
    """What `read_checkpoint` found in a file (states as saved; None where nothing was saved)."""

    path: Path
    epoch: int
    model_state: dict[str, np.ndarray]
    optimizer_state: dict[str, Any] | None
    scheduler_state: dict[str, Any] | None
    rng_state: dict[str, Any] | None
    history: Any
    extra: Any
    version: int


def _read_arrays(path: Path, caller: str) -> dict[str, np.ndarray]:
    """Every array of the .npz at ``path``; CheckpointError for a foreign or damaged file,
    labelled with the public function the user called (``caller``)."""
    with path.open("rb") as file:
        head = file.read(8)
    if not head.startswith(_ZIP_MAGIC):
        what = "is empty (0 bytes)" if not head else f"starts with {head!r}"
        raise CheckpointError(
            f"{caller}: {path} is not a TinyTorch checkpoint: it {what}, not the zip "
            f"signature {_ZIP_MAGIC!r} of an .npz archive; pass a file written by "
            f"save_checkpoint (or Trainer(checkpoint_dir=...))"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            if META_KEY not in npz.files:
                shown = ", ".join(npz.files[:8]) + (", ..." if len(npz.files) > 8 else "")
                raise CheckpointError(
                    f"{caller}: {path} is an .npz archive but not a TinyTorch checkpoint:"
                    f" it has no {META_KEY!r} entry (its entries: {shown}); a weights file "
                    f"saved with tinytorch.networks.save is read with tinytorch.networks.load"
                )
            return {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as error:
        if isinstance(error, CheckpointError):
            raise
        if "pickle" in str(error).lower():  # NumPy's advice (allow_pickle=True) is not passed on
            raise CheckpointError(
                f"{caller}: {path} holds pickled Python objects, which a TinyTorch checkpoint "
                f"never contains and TinyTorch never loads (unpickling can run code)"
            ) from error
        raise CheckpointError(
            f"{caller}: {path} is truncated or corrupt ({type(error).__name__}: {error});"
            f" it was probably not written completely; use an earlier checkpoint"
        ) from error


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and validate a checkpoint file without loading it into anything.

    Raises FileNotFoundError or CheckpointError, labelled ``read_checkpoint:``.
    """
    return _read_checkpoint(Path(path), "read_checkpoint")


def _read_checkpoint(path: Path, caller: str) -> Checkpoint:
    """`read_checkpoint`, its errors labelled with ``caller`` (the function the user called)."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{caller}: no checkpoint file at {path}; check the path (Trainer writes "
            f"<checkpoint_dir>/last.npz and best.npz)"
        )
    arrays = _read_arrays(path, caller)
    try:
        meta = json.loads(arrays.pop(META_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(
            f"{caller}: {path} has an unreadable {META_KEY!r} entry ({error}); the file is corrupt"
        ) from error
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(
            f"{caller}: {path} has format marker {found!r}, expected {FORMAT!r}; it was "
            f"not written by save_checkpoint"
        )
    version = meta.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"{caller}: {path} has format version {version!r}, but this "
            f"tinytorch-training reads versions up to {VERSION}; upgrade tinytorch-training"
        )
    try:
        fields = {k: _unpack(meta[k], arrays) for k in ("model", "optimizer", "scheduler", "rng")}
        history, extra = _unpack(meta["history"], arrays), _unpack(meta["extra"], arrays)
    except KeyError as error:
        raise CheckpointError(
            f"{caller}: {path} is corrupt: its metadata refers to {error}, which is "
            f"missing from the file"
        ) from error
    return Checkpoint(
        path=path,
        epoch=int(meta["epoch"]),
        model_state=fields["model"],
        optimizer_state=fields["optimizer"],
        scheduler_state=fields["scheduler"],
        rng_state=fields["rng"],
        history=history,
        extra=extra,
        version=version,
    )


def load_checkpoint(
    path: str | os.PathLike[str],
    model: Module | None = None,
    optimizer: Any = None,
    scheduler: Any = None,
    strict: bool = True,
) -> Checkpoint:
    """Read a checkpoint and load its states into ``model``, ``optimizer``, ``scheduler``
    (those given); returns the `Checkpoint` (epoch, history, rng_state, extra).

    Raises FileNotFoundError for a missing file, CheckpointError for a file that is not a
    checkpoint, is truncated or corrupt, or does not fit the model / optimizer given.
    """
    checkpoint = _read_checkpoint(Path(path), "load_checkpoint")
    parts: list[tuple[str, Any, Any]] = [
        ("model", model, checkpoint.model_state),
        ("optimizer", optimizer, checkpoint.optimizer_state),
        ("scheduler", scheduler, checkpoint.scheduler_state),
    ]
    for what, target, state in parts:
        if target is None:
            continue
        if state is None:
            raise CheckpointError(
                f"load_checkpoint: {checkpoint.path} holds no {what} state; it was saved "
                f"without a {what}"
            )
        try:
            if what == "model":
                target.load_state_dict(state, strict=strict)
            else:
                target.load_state_dict(state)
        except (KeyError, ValueError, TypeError) as error:
            raise CheckpointError(
                f"load_checkpoint: the {what} state in {checkpoint.path} does not fit the "
                f"{type(target).__name__} given: {error}"
            ) from error
    return checkpoint
