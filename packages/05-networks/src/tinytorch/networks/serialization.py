"""Saving and loading weights: a model's ``state_dict`` in a NumPy ``.npz`` archive.

A ``.npz`` file is a zip of ``.npy`` arrays, one per name (``"0.weight"``, ``"0.bias"``, ...):
no pickled Python objects, so loading a file cannot run code. The file holds only numbers; the
architecture is code, so loading means: build the same model, then copy the arrays in. The
names and shapes are checked (`Module.load_state_dict`), so weights of a different architecture
fail loudly instead of being silently mis-assigned.

Size lesson: the file is the parameter memory (``num_parameters * 4`` bytes in float32) plus a
few hundred bytes of zip headers per array.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.layers import Module

PathLike = str | os.PathLike[str]


def save(model: Module, path: PathLike) -> Path:
    """Write ``model.state_dict()`` to ``path`` (exactly that name, ``.npz`` format).

    Creates the parent folder if needed; returns the path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = model.state_dict()
    with target.open("wb") as file:
        np.savez(file, **state)
    return target


def read_state(path: PathLike) -> dict[str, np.ndarray]:
    """The arrays of a ``.npz`` weights file, by name (without touching any model)."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(
            f"load: no weights file at {source}; check the path, or create it with "
            f"tinytorch.networks.save(model, {str(source)!r})"
        )
    try:
        archive = np.load(source, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array (.npy), not named arrays")
        with archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"load: {source} is not a .npz weights archive ({error}); weights files are "
            f"written by tinytorch.networks.save"
        ) from error


def load(model: Module, path: PathLike, strict: bool = True) -> Module:
    """Copy the arrays saved at ``path`` into ``model``'s parameters and buffers, in place.

    Raises FileNotFoundError (no such file), ValueError (not a .npz archive) or KeyError listing
    the missing, unexpected and mis-shaped names (a different architecture). ``strict=False``
    tolerates missing and unexpected names, never wrong shapes. Returns ``model``.
    """
    state = read_state(path)
    try:
        model.load_state_dict(state, strict=strict)
    except KeyError as error:
        raise KeyError(f"load from {path}: {error.args[0]}") from error
    return model


def load_pretrained(model: Module, path: PathLike) -> Module:
    """Load weights (strictly) and switch to eval mode: the model is ready for inference."""
    load(model, path, strict=True)
    model.eval()
    return model
