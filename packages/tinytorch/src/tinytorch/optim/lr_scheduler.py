"""``tinytorch.optim.lr_scheduler``: PyTorch's learning-rate schedulers (module 08)."""

from __future__ import annotations

from tinytorch._lazy import lazy_exports

EXPORTS: dict[str, str] = {
    name: "tinytorch.optimizers"
    for name in ("LRScheduler", "StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR")
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, globals())
