"""Saving and loading weights: a model's ``state_dict`` in a NumPy ``.npz`` archive.

A ``.npz`` file is a zip of ``.npy`` arrays, one per name (``"0.weight"``, ``"0.bias"``, ...):
no pickled Python objects, so loading a file cannot run code. The file holds only numbers; the
architecture is code, so loading means: build the same model, then copy the arrays in. The
names and shapes are checked (`Module.load_state_dict`), so weights of a different architecture
fail loudly instead of being silently mis-assigned.

Size lesson: the file is the parameter memory (``num_parameters * 4`` bytes in float32) plus a
few hundred bytes of zip headers per array.

Integer arrays are kept as they are: a quantized model (module 18) stores its weights as
``int8`` buffers, and ``save`` writes them as ``int8`` (one byte each, no float copy); ``load``
copies them back without a cast and refuses a file whose array has another integer or a float
dtype for an integer buffer (casting float weights into ``int8`` would silently truncate them).
Float arrays load into float tensors of any width (a float16 file into a float32 model).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.layers import Module

PathLike = str | os.PathLike[str]


class StateDictMismatchError(KeyError):
    """The names, shapes or dtypes of a weights file do not fit the model (a KeyError, as
    ``load_state_dict`` raises, printed as plain text rather than a quoted repr)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def save(model: Module, path: PathLike) -> Path:
    """Write ``model.state_dict()`` to ``path`` (exactly that name, ``.npz`` format).

    Every array keeps its dtype (float32, or the ``int8`` / ``int32`` buffers of a quantized
    model); arrays that are not numbers (object arrays, which only pickle could store) are
    refused. Creates the parent folder if needed; returns the path written.
    """
    target = Path(path)
    state: dict[str, Any] = model.state_dict()
    for name, array in state.items():
        if np.asarray(array).dtype.kind not in "biuf":
            raise TypeError(
                f"save: {name!r} has dtype {np.asarray(array).dtype}, which a weights file "
                f"cannot hold (only bool, integer and float arrays; no pickled objects)"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
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
            f"load: {source} is not a .npz weights archive ({_why_unreadable(error)}); weights "
            f"files are written by tinytorch.networks.save"
        ) from error


def _why_unreadable(error: BaseException) -> str:
    """What NumPy's error says about a file, in our words: NumPy's own message for pickled
    content ends with advice to pass ``allow_pickle=True``, which would let the file run code
    when loaded; a weights file never needs it, so that advice is not passed on."""
    text = str(error)
    if "pickle" in text.lower():
        return (
            "it holds pickled Python objects (for example a torch.save or pickle file), which "
            "TinyTorch never loads: unpickling can run arbitrary code"
        )
    return text


def _mismatch(model: Module, state: dict[str, np.ndarray], strict: bool) -> str | None:
    """What keeps ``state`` from loading into ``model`` (None when it fits): the names missing
    from the file, the names the model does not have (both only when ``strict``), and the names
    with another shape or an incompatible dtype. Only the non-empty lists are named."""
    own = dict([*model.named_parameters(), *model.named_buffers()])
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    misshaped = [
        f"{k}: expected {own[k].shape}, got {tuple(state[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != own[k].shape
    ]
    mistyped = [
        f"{k}: the model holds {own[k].dtype}, the file {state[k].dtype}"
        for k in own
        if k in state
        and tuple(state[k].shape) == own[k].shape
        and own[k].dtype.kind in "biu"
        and state[k].dtype != own[k].dtype
    ]
    problems = []
    if strict and missing:
        problems.append(f"missing keys {missing} (in the model, not in the file)")
    if strict and unexpected:
        problems.append(f"unexpected keys {unexpected} (in the file, not in the model)")
    if misshaped:
        problems.append(f"mis-shaped keys {misshaped}")
    if mistyped:
        problems.append(f"integer keys of another dtype {mistyped}")
    if not problems:
        return None
    return (
        f"the weights do not fit this {type(model).__name__}: {'; '.join(problems)}. They were "
        f"saved from a different architecture: build the model that saved them (for a "
        f"quantized model, quantize it the same way before loading)"
    )


def load(model: Module, path: PathLike, strict: bool = True) -> Module:
    """Copy the arrays saved at ``path`` into ``model``'s parameters and buffers, in place.

    Raises FileNotFoundError (no such file), ValueError (not a .npz archive) or
    `StateDictMismatchError` (a KeyError) naming the missing, unexpected, mis-shaped and
    wrongly typed names, whichever occur (a different architecture). ``strict=False``
    tolerates missing and unexpected names, never wrong shapes, nor a float or other-width
    array for an integer buffer (a quantized weight). Integer arrays are copied bit for bit.
    Returns ``model``.
    """
    state = read_state(path)
    problem = _mismatch(model, state, strict)
    if problem is not None:
        raise StateDictMismatchError(f"load from {path}: {problem}")
    model.load_state_dict(state, strict=strict)
    return model


def load_pretrained(model: Module, path: PathLike) -> Module:
    """Load weights (strictly) and switch to eval mode: the model is ready for inference."""
    load(model, path, strict=True)
    model.eval()
    return model
