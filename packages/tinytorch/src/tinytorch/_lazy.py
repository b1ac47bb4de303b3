"""Lazy re-export from an explicit table: each public name maps to the module that owns it.

``tinytorch``, ``tinytorch.nn``, ``tinytorch.nn.functional``, ``tinytorch.optim`` and
``tinytorch.utils.data`` are PyTorch-shaped views of the module packages. Each is a table
(``name -> "tinytorch.<package>"``) read by `lazy_exports`: a name is imported on first use only,
so ``import tinytorch.nn`` imports no module package until one of its names is touched, and no
name can silently resolve to another package that happens to export the same spelling.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    module_name: str,
    table: dict[str, str],
    namespace: dict[str, Any],
    submodules: tuple[str, ...] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for a module whose public names are the keys of ``table``
    (and whose ``submodules``, such as ``nn.functional``, import on first attribute access)."""

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{module_name}.{name}")
        owner = table.get(name)
        if owner is None:
            raise AttributeError(
                f"module {module_name!r} has no attribute {name!r}; TinyTorch exports "
                f"{len(table)} names here (dir({module_name}) lists them)"
            )
        try:
            package = importlib.import_module(owner)
        except ImportError as error:
            distribution = "tinytorch-" + owner.split(".")[1]
            raise AttributeError(
                f"{module_name}.{name} lives in {owner}, which is not installed ({error}); "
                f"install {distribution} (pip install ./packages/NN-{owner.split('.')[1]})"
            ) from None
        value = getattr(package, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table) | set(submodules))

    return __getattr__, __dir__
