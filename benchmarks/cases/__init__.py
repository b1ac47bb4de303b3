"""The benchmark cases, in the order they run. Each is a file here, ``cases/<name>.py``, with:

    TITLE = "one line for the table"
    def run(bench: Bench) -> Report:      # times TinyTorch (and PyTorch, when bench.torch)

To add a case, write its file and add its name to `CASES`. A case that imports a TinyTorch
package which is not installed is reported as locked, not as failed, so a case may land before
its module.
"""

from __future__ import annotations

import importlib
from types import ModuleType

CASES = (
    "overhead",
    "matmul",
    "mlp_step",
    "autograd_chain",
    "autograd_scaling",
    "conv2d",
    "cifar_cnn_step",
    "dataloader",
    "tokenizer",
    "embedding_backward",
    "attention",
    "layernorm",
    "tinygpt_step",
    "kvcache",
    "kernels",
)


class Locked(Exception):
    """A case needs a TinyTorch package that is not installed (its module is not built yet)."""


def load(name: str) -> ModuleType:
    """Import ``cases.<name>``; raise `Locked` naming the missing TinyTorch package."""
    if name not in CASES:
        raise KeyError(f"unknown benchmark case {name!r}; choose from {', '.join(CASES)}")
    try:
        return importlib.import_module(f"cases.{name}")
    except ModuleNotFoundError as error:
        if (error.name or "").startswith("tinytorch"):
            raise Locked(f"needs {error.name}") from error
        raise
