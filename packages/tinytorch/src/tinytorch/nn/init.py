"""``tinytorch.nn.init``: PyTorch's ``torch.nn.init`` (the in-place initialisers of module 05)."""

from __future__ import annotations

from tinytorch._lazy import lazy_exports

EXPORTS: dict[str, str] = {
    name: "tinytorch.networks"
    for name in (
        "calculate_gain",
        "uniform_",
        "normal_",
        "constant_",
        "ones_",
        "zeros_",
        "xavier_uniform_",
        "xavier_normal_",
        "kaiming_uniform_",
        "kaiming_normal_",
    )
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, globals())
