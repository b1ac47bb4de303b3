"""TinyTorch module 01: setup.

The tools every later module uses: the course syllabus (``MODULES``), the data directory,
progress bars, time and memory measurement, and test helpers (``assert_close``, ``gradcheck``).
The ``tinytorch`` command (``tinytorch.setup.cli``) and the hypothesis strategies
(``tinytorch.setup.strategies``, needs the ``test`` extra) are imported from their modules.
"""

from tinytorch.setup.__about__ import __version__
from tinytorch.setup.measure import (
    MemoryResult,
    Timer,
    TimingResult,
    array_bytes,
    format_bytes,
    format_seconds,
    measure_memory,
    time_function,
)
from tinytorch.setup.modules import (
    MODULES,
    InstalledPackage,
    ModuleInfo,
    find_module,
    installed_packages,
)
from tinytorch.setup.paths import DatasetInfo, data_dir, find_datasets
from tinytorch.setup.progress import progress_enabled, track
from tinytorch.setup.testing import (
    GradcheckResult,
    InputGradcheck,
    assert_close,
    gradcheck,
    numerical_gradient,
    to_numpy,
)

__all__ = [
    "MODULES",
    "DatasetInfo",
    "GradcheckResult",
    "InputGradcheck",
    "InstalledPackage",
    "MemoryResult",
    "ModuleInfo",
    "Timer",
    "TimingResult",
    "__version__",
    "array_bytes",
    "assert_close",
    "data_dir",
    "find_datasets",
    "find_module",
    "format_bytes",
    "format_seconds",
    "gradcheck",
    "installed_packages",
    "measure_memory",
    "numerical_gradient",
    "progress_enabled",
    "time_function",
    "to_numpy",
    "track",
]
