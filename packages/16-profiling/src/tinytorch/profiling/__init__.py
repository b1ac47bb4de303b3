"""TinyTorch module 16: profiling -- where the time, FLOPs and memory go, and whether it changed.

    >>> import numpy as np
    >>> from tinytorch.profiling import profile
    >>> from tinytorch.tensor import Tensor
    >>> with profile() as prof:
    ...     _ = Tensor(np.ones((8, 4))) @ Tensor(np.ones((4, 2)))
    >>> prof.key_averages()[0].flops  # 2 * 8 * 2 * 4
    128

- `profile` / `Profiler`: per-op time (forward and backward), FLOPs, allocated bytes, live
  memory, Chrome traces, per-module totals; through ``tinytorch.tensor``'s observer hook.
- `benchmark`: median and IQR of GC-quiet samples, with the thread settings.
- `fit_exponent` / `scaling`: how time grows with size.
- `mann_whitney_u` / `compare` / `save_baseline` / `load_baseline`: regression detection, and
  ``python -m tinytorch.profiling compare BASELINE.json NEW.json``.
"""

import tinytorch.autograd  # noqa: F401  (switches autograd on, as every package from 06 does)
from tinytorch.profiling.__about__ import __version__
from tinytorch.profiling.flops import COUNTED_OPS, backward_flops, forward_flops
from tinytorch.profiling.profiler import (
    NO_PARAMS,
    Event,
    KeyAverages,
    ModuleStats,
    OpStats,
    Profiler,
    new_bytes,
    profile,
)
from tinytorch.profiling.regression import (
    Comparison,
    compare,
    load_baseline,
    mann_whitney_u,
    rankdata,
    save_baseline,
)
from tinytorch.profiling.timing import (
    BenchmarkResult,
    ScalingResult,
    benchmark,
    fit_exponent,
    scaling,
    thread_info,
)

__all__ = [
    "COUNTED_OPS",
    "NO_PARAMS",
    "BenchmarkResult",
    "Comparison",
    "Event",
    "KeyAverages",
    "ModuleStats",
    "OpStats",
    "Profiler",
    "ScalingResult",
    "__version__",
    "backward_flops",
    "benchmark",
    "compare",
    "fit_exponent",
    "forward_flops",
    "load_baseline",
    "mann_whitney_u",
    "new_bytes",
    "profile",
    "rankdata",
    "save_baseline",
    "scaling",
    "thread_info",
]
