"""TinyTorch: a deep-learning framework built from scratch on NumPy, one package per module.

This meta-package keeps ``tinytorch`` an open namespace (every module package installs its own
``tinytorch.<name>`` into it) and re-exports their public names lazily (PEP 562): ``import
tinytorch.tensor`` imports one package, and ``tinytorch.Tensor`` imports ``tinytorch.tensor`` on
first use only.
"""

from __future__ import annotations

import importlib
import importlib.util
from pkgutil import extend_path
from typing import Any

from tinytorch.__about__ import __version__ as __version__

__path__ = extend_path(__path__, __name__)


def installed_modules() -> list[str]:
    """Names of the module packages importable in this environment, in course order (on a name
    exported by two packages, the earlier module wins)."""
    from tinytorch.setup.modules import MODULES

    return [m.name for m in MODULES if importlib.util.find_spec(m.import_name) is not None]


def _exporting_module(name: str) -> Any:
    for module_name in installed_modules():
        module = importlib.import_module(f"tinytorch.{module_name}")
        if name in getattr(module, "__all__", ()):
            return module
    return None


def __getattr__(name: str) -> Any:
    module = _exporting_module(name)
    if module is None:
        raise AttributeError(
            f"module 'tinytorch' has no attribute {name!r}: no installed TinyTorch package "
            f"exports it (installed: {', '.join(installed_modules()) or 'none'})"
        )
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    names = set(globals())
    for module_name in installed_modules():
        names.update(getattr(importlib.import_module(f"tinytorch.{module_name}"), "__all__", ()))
    return sorted(names)
