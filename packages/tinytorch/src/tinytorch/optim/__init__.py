"""``tinytorch.optim``: PyTorch's ``torch.optim`` layout of module 08 (``optim.SGD``, ...;
schedulers in ``tinytorch.optim.lr_scheduler``)."""

from __future__ import annotations

from tinytorch._lazy import lazy_exports

EXPORTS: dict[str, str] = {
    name: "tinytorch.optimizers" for name in ("Optimizer", "SGD", "Adam", "AdamW", "RMSprop")
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, globals(), submodules=("lr_scheduler",))
