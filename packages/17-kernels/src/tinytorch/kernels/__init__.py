"""TinyTorch module 17: kernels -- faster implementations plugged in at the dispatch point.

    import tinytorch.kernels as kernels
    kernels.use("fast")              # conv, max-pool, LayerNorm, embedding, attention softmax
    model = kernels.fuse(model)      # BatchNorm2d + ReLU pairs -> one fused layer
    with kernels.using("reference"): # the reference Ops again, inside the block
        ...
    print(kernels.describe())        # what is on, for a run's summary

The reference Ops (modules 02-14) stay the default and the oracle: every kernel here is tested
against its reference Op, forward and backward. Compiled kernels use numba when it is installed
(``pip install tinytorch-kernels[numba]``) and NumPy otherwise (`use_numba`). The educational
part: `tiled_matmul` (the cache effect of the tile size, and the distance to BLAS) and
`relu_loop` vs `relu_vectorised`.
"""

from __future__ import annotations

from typing import Any

from tinytorch.kernels import attention, conv, embedding, mlp, norm, pool
from tinytorch.kernels.__about__ import __version__
from tinytorch.kernels.backend import (
    HAVE_NUMBA,
    num_threads,
    numba_enabled,
    set_num_threads,
    use_numba,
)
from tinytorch.kernels.buffers import BufferPool
from tinytorch.kernels.fused import (
    BatchNormReLU2d,
    BatchNormReLUOp,
    Identity,
    fuse,
    fused_count,
)
from tinytorch.kernels.lessons import (
    matmul_flops,
    relu_loop,
    relu_vectorised,
    tile_sweep,
    tiled_matmul,
)
from tinytorch.kernels.registry import (
    active,
    available,
    describe,
    kernel_for,
    register_set,
    table,
    use,
    using,
)

FAST: dict[Any, Any] = {
    **conv.KERNELS,
    **pool.KERNELS,
    **norm.KERNELS,
    **embedding.KERNELS,
    **attention.KERNELS,
}
register_set("fast", FAST)
# The fused bias+GELU loses to NumPy where numba cannot vectorise erf/exp (no Intel SVML): it
# is measured in the kernels benchmark and kept out of "fast"; ``use("fast+gelu")`` tries it.
FAST_GELU: dict[Any, Any] = {**FAST, **mlp.KERNELS}
register_set("fast+gelu", FAST_GELU)


def warm_up() -> None:
    """Compile (or load from numba's on-disk cache) every numba kernel for float32 and
    float64, so that no timing includes a compilation. A no-op without numba."""
    import numpy as np

    from tinytorch.autograd import no_grad  # noqa: F401  (autograd on for the layers below)
    from tinytorch.spatial.ops import MaxPool2dOp
    from tinytorch.tensor import apply

    if not numba_enabled():
        return
    for dtype in (np.float32, np.float64):
        x = np.ones((2, 2, 4, 4), dtype=dtype)
        with using("fast"):
            op = MaxPool2dOp((2, 2), (2, 2), (0, 0))
            apply(op, x)
            op._kernel.backward(op, np.ones((2, 2, 2, 2), dtype=dtype), (True,))  # type: ignore[union-attr]
        bn = BatchNormReLUOp(True, 1e-5)
        bn.forward(x, np.ones(2, dtype=dtype), np.zeros(2, dtype=dtype))
        bn.backward(x, (True, True, True))
        rows = np.ones((2, 4), dtype)
        xhat, invstd = np.empty_like(rows), np.empty((2, 1), dtype)
        norm._layer_norm_forward(rows, rows[0], rows[0], 1e-5, xhat, invstd, np.empty_like(rows))
        norm._layer_norm_backward(
            rows, xhat, invstd, rows[0], np.empty_like(rows), np.zeros(4), np.zeros(4)
        )
        for tanh_form in (False, True):
            mlp._bias_gelu(rows, rows[0], tanh_form, np.empty_like(rows), np.empty_like(rows))
        embedding._scatter_rows(
            np.zeros(1, np.int64), np.ones((1, 2), dtype), np.zeros((1, 2), dtype)
        )
        scores = np.ones((1, 2, 2), dtype)
        for causal in (False, True):
            attention._shift_rows(scores, 1.0, causal)
        attention._normalize_rows(np.ones((1, 2, 2), dtype))
        attention._softmax_vjp_rows(np.ones((1, 2, 2), dtype), np.ones((1, 2, 2), dtype))
        cl = np.ones((2, 2, 2, 2), dtype).transpose(0, 3, 1, 2)  # channels-last kernels
        with using("fast"):
            op = MaxPool2dOp((2, 2), (2, 2), (0, 0))
            apply(op, cl)
            op._kernel.backward(op, cl[:, :, :1, :1], (True,))  # type: ignore[union-attr]
        bn = BatchNormReLUOp(True, 1e-5)
        bn.forward(cl, np.ones(2, dtype=dtype), np.zeros(2, dtype=dtype))
        bn.backward(cl, (True, True, True))


def optimize(model: Any = None) -> Any:
    """Switch the "fast" kernel set on process-wide, fuse ``model``'s BatchNorm2d+ReLU pairs
    (when a model is given; in place) and compile the numba kernels now (`warm_up`), as
    ``intel_extension_for_pytorch.optimize(model)`` does; returns ``model``. What a milestone
    calls before training; `describe` then says what is on. Undo with ``use("reference")``
    (a fused model stays fused: it computes the same function with either set)."""
    use("fast")
    warm_up()
    if model is not None:
        fuse(model)
    return model


__all__ = [
    "FAST",
    "HAVE_NUMBA",
    "BatchNormReLU2d",
    "BatchNormReLUOp",
    "BufferPool",
    "Identity",
    "__version__",
    "active",
    "available",
    "describe",
    "fuse",
    "fused_count",
    "kernel_for",
    "matmul_flops",
    "num_threads",
    "numba_enabled",
    "optimize",
    "register_set",
    "relu_loop",
    "relu_vectorised",
    "set_num_threads",
    "table",
    "tile_sweep",
    "tiled_matmul",
    "use",
    "use_numba",
    "using",
    "warm_up",
]
