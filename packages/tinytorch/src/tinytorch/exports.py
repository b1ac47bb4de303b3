"""The names ``tinytorch`` re-exports, by the package that owns each one."""

from __future__ import annotations

EXPORTS: dict[str, tuple[str, ...]] = {
    "tensor": ("Tensor",),
}
