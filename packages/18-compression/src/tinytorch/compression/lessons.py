"""Systems lessons as code: what compression saves (bytes on disk, FLOPs) and what it costs
(accuracy), measured, not estimated.

- `file_bytes(model)`: the model saved with ``tinytorch.networks.save`` and measured on disk.
- `state_bytes(model)`: the bytes of every array in its state_dict (what memory holds).
- `layer_flops(model, input_shape)`: multiply-adds x 2 of each Conv2d / Linear for one input.
- `pruning_curve(model, evaluate, sparsities)`: accuracy, nonzeros and CSR bytes against
  global magnitude sparsity (no fine-tuning: the raw damage curve).
- `bit_width_curve(model, evaluate, bits)`: accuracy and measured file size against the weight
  bit width (per-channel symmetric, stored in int8 up to 8 bits, int16 above).
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.autograd import no_grad
from tinytorch.compression.pruning import global_unstructured, sparse_bytes
from tinytorch.compression.quantization import (
    QuantizedConv2d,
    QuantizedLinear,
    _set_child,
    quantize_dynamic,
)
from tinytorch.layers import Linear, Module
from tinytorch.networks import save
from tinytorch.spatial import Conv2d
from tinytorch.tensor import Tensor

__all__ = [
    "bit_width_curve",
    "file_bytes",
    "layer_flops",
    "pruning_curve",
    "state_bytes",
    "total_flops",
]


def state_bytes(model: Module) -> int:
    """Bytes of every parameter and buffer (int8 weights count 1 byte each)."""
    return int(sum(array.nbytes for array in model.state_dict().values()))


def file_bytes(model: Module, path: str | os.PathLike[str] | None = None) -> int:
    """The size on disk of ``tinytorch.networks.save(model, path)`` (a temporary file when no
    path is given): arrays plus the .npz's zip and .npy headers (~250 bytes per array)."""
    if path is not None:
        return save(model, path).stat().st_size
    with tempfile.TemporaryDirectory() as folder:
        return save(model, Path(folder) / "model.npz").stat().st_size


class _ShapeProbe(Module):
    """Runs ``module`` and writes its output shape into ``shapes[name]``."""

    def __init__(self, module: Module, name: str, shapes: dict[str, tuple[int, ...]]) -> None:
        self.module, self.name, self.shapes = module, name, shapes

    def forward(self, x: Tensor) -> Tensor:
        out = self.module(x)
        self.shapes[self.name] = tuple(out.shape)
        return out


def layer_flops(model: Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """FLOPs (2 x multiply-adds) of every Conv2d / Linear (float or quantized) for ONE input
    of ``input_shape`` (without the batch dim), found by running a zero input through the
    model under ``no_grad`` and reading each layer's output shape."""
    shapes: dict[str, tuple[int, ...]] = {}
    targets = (Conv2d, Linear, QuantizedConv2d, QuantizedLinear)
    probe = copy.deepcopy(model)  # the copy's layers are wrapped, the model is untouched
    for name, module in list(probe.named_modules()):
        if name and isinstance(module, targets):
            _set_child(probe, name, _ShapeProbe(module, name, shapes))
    probe.eval()
    with no_grad():
        probe(Tensor(np.zeros((1, *input_shape), dtype=np.float32)))
    flops: dict[str, int] = {}
    modules: dict[str, Any] = dict(model.named_modules())
    for name, module in modules.items():
        if name not in shapes:
            continue
        out = shapes[name]
        weight = module.weight
        per_output = int(np.prod(weight.shape[1:]))
        flops[name] = 2 * int(np.prod(out[1:])) * per_output
    return flops


def total_flops(model: Module, input_shape: tuple[int, ...], kind: type | None = None) -> int:
    """Sum of `layer_flops` (only layers of type ``kind`` when given, e.g. Conv2d)."""
    modules = dict(model.named_modules())
    return sum(
        value
        for name, value in layer_flops(model, input_shape).items()
        if kind is None or isinstance(modules[name], kind)
    )


def pruning_curve(
    model: Module,
    evaluate: Callable[[Module], float],
    sparsities: Iterable[float] = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95),
) -> list[dict[str, float]]:
    """For each sparsity: a copy of ``model`` with that global fraction of its Linear / Conv2d
    weights pruned by magnitude, and ``{"sparsity", "accuracy": evaluate(copy), "nonzero",
    "dense_bytes", "csr_bytes"}`` (bytes of the pruned weights, dense float32 and CSR)."""
    rows = []
    for sparsity in sparsities:
        pruned = copy.deepcopy(model)
        layers = [m for m in pruned.modules() if isinstance(m, (Linear, Conv2d))]
        if sparsity > 0:
            global_unstructured([(m, "weight") for m in layers], amount=float(sparsity))
        weights = [m.weight.data for m in layers]
        rows.append(
            {
                "sparsity": float(sparsity),
                "accuracy": float(evaluate(pruned)),
                "nonzero": int(sum(np.count_nonzero(w) for w in weights)),
                "dense_bytes": int(sum(w.nbytes for w in weights)),
                "csr_bytes": int(sum(sparse_bytes(w.reshape(w.shape[0], -1)) for w in weights)),
            }
        )
    return rows


def bit_width_curve(
    model: Module,
    evaluate: Callable[[Module], float],
    bits: Iterable[int] = (16, 8, 6, 4, 3, 2),
    qconfig_spec: Iterable[type] | None = None,
) -> list[dict[str, float]]:
    """For each weight bit width: ``quantize_dynamic`` (per-channel symmetric weights of that
    many bits, in int8 storage up to 8 bits and int16 above; 8-bit activations) and
    ``{"bits", "accuracy", "file_bytes" (measured), "ideal_bytes" (bits/8 per weight),
    "float_file_bytes"}``. Below 8 bits the file does not shrink further: NumPy has no 4-bit
    dtype, so packing two weights per byte is what a real 4-bit format adds."""
    float_bytes = file_bytes(model)
    specs = tuple(qconfig_spec) if qconfig_spec is not None else (Linear,)
    chosen: list[Any] = [m for m in model.modules() if type(m) in specs]
    count = sum(m.weight.numel() for m in chosen)
    rows = []
    for width in bits:
        dtype = np.int8 if width <= 8 else np.int16
        quantized = quantize_dynamic(model, specs, dtype, bits=int(width))
        rows.append(
            {
                "bits": int(width),
                "accuracy": float(evaluate(quantized)),
                "file_bytes": file_bytes(quantized),
                "ideal_bytes": int(count * width / 8),
                "float_file_bytes": float_bytes,
            }
        )
    return rows
