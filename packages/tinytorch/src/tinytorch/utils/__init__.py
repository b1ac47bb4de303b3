"""``tinytorch.utils``: PyTorch's ``torch.utils`` layout (``tinytorch.utils.data``)."""

from __future__ import annotations

from tinytorch._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {}, globals(), submodules=("data",))
