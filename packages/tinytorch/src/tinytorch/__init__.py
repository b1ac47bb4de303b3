"""TinyTorch: a deep-learning framework built from scratch on NumPy, one package per module.

This meta-package keeps ``tinytorch`` an open namespace (every module package installs its own
``tinytorch.<name>`` into it) and re-exports their public names through one explicit table,
`tinytorch.exports.EXPORTS` (package -> names): ``tinytorch.Linear`` is
``tinytorch.layers.Linear``, ``tinytorch.mse_loss`` is training's loss (not module 05's
float-returning lesson helper), ``tinytorch.Checkpoint`` is training's checkpoint. Each name has
one owner (a test checks it) and is imported on first use only (PEP 562): ``import
tinytorch.tensor`` imports one package.

PyTorch's layout is here too: ``tinytorch.nn``, ``tinytorch.nn.functional``, ``tinytorch.optim``,
``tinytorch.utils.data``, so a PyTorch script ports by changing its imports.
"""

from __future__ import annotations

import importlib.util

from tinytorch.__about__ import __version__ as __version__
from tinytorch._lazy import lazy_exports
from tinytorch.exports import EXPORTS

# An open namespace: every module package installs its own ``tinytorch.<name>``. The one-line
# pkgutil spelling is the one static tools (griffe, for the docs' API pages) recognise.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)

OWNERS: dict[str, str] = {
    name: f"tinytorch.{package}" for package, names in EXPORTS.items() for name in names
}


def installed_modules() -> list[str]:
    """Names of the module packages importable in this environment, in course order."""
    from tinytorch.setup.modules import MODULES

    return [m.name for m in MODULES if importlib.util.find_spec(m.import_name) is not None]


# tinytorch.<package> is always the package (never a function of the same name, such as
# tinytorch.tensor.tensor), and the PyTorch-shaped views import on first access.
PACKAGES = (
    "setup", "tensor", "layers", "activations", "networks", "autograd", "spatial", "optimizers",
    "dataloader", "training", "tokenization", "embeddings", "attention", "transformers",
    "generation", "profiling", "kernels", "compression", "kvcache", "competition",
)  # fmt: skip
__getattr__, __dir__ = lazy_exports(
    __name__, OWNERS, globals(), submodules=(*PACKAGES, "nn", "optim", "utils")
)
