"""``tinytorch.utils.data``: PyTorch's ``torch.utils.data`` layout of module 09."""

from __future__ import annotations

from tinytorch._lazy import lazy_exports

EXPORTS: dict[str, str] = {
    name: "tinytorch.dataloader"
    for name in ("Dataset", "TensorDataset", "DataLoader", "default_collate")
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, globals())
