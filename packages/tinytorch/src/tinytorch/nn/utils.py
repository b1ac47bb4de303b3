"""``tinytorch.nn.utils``: PyTorch's ``torch.nn.utils.clip_grad_norm_``."""

from __future__ import annotations

from tinytorch._lazy import lazy_exports

EXPORTS: dict[str, str] = {"clip_grad_norm_": "tinytorch.training"}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, globals())
