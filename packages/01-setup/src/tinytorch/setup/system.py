"""Facts about the machine that decide how fast TinyTorch runs (used by ``tinytorch doctor``).

Every function returns plain data and never raises: a missing fact is reported as ``None``.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CpuInfo", "MemoryInfo", "blas_info", "cpu_info", "memory_info", "python_info"]


def python_info() -> dict[str, str]:
    """Python version, implementation, executable and platform."""
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
    }


def blas_info() -> dict[str, str]:
    """Name and version of the BLAS library NumPy calls for matmul (``"unknown"`` if unsure).

    Matrix multiplication speed depends almost entirely on this library (OpenBLAS, MKL,
    Accelerate), not on NumPy itself.
    """
    try:
        config: Any = np.show_config(mode="dicts")  # NumPy >= 1.26
        blas = config["Build Dependencies"]["blas"]
        info = {"name": str(blas.get("name", "unknown")), "version": str(blas.get("version", ""))}
        openblas = blas.get("openblas configuration")
        if openblas:
            info["configuration"] = str(openblas)
        return info
    except Exception:  # older NumPy: show_config only prints
        return {"name": "unknown", "version": ""}


@dataclass(frozen=True)
class CpuInfo:
    """CPU cores: in the machine, and usable by this process (containers and taskset limit it)."""

    machine: str
    logical_cores: int | None
    usable_cores: int | None


def cpu_info() -> CpuInfo:
    """Architecture and core counts (``os.cpu_count`` and ``os.sched_getaffinity``)."""
    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))  # Linux only
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return CpuInfo(platform.machine() or "unknown", os.cpu_count(), usable)


@dataclass(frozen=True)
class MemoryInfo:
    """Physical memory in bytes; ``None`` where the platform does not tell us."""

    total_bytes: int | None
    available_bytes: int | None


def memory_info(meminfo: str | os.PathLike[str] = "/proc/meminfo") -> MemoryInfo:
    """Total and available memory, from ``/proc/meminfo`` on Linux, ``sysconf`` elsewhere."""
    fields: dict[str, int] = {}
    try:
        for line in Path(meminfo).read_text().splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                fields[key.strip()] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    except OSError:
        pass
    total = fields.get("MemTotal")
    if total is None:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):
            total = None
    return MemoryInfo(total, fields.get("MemAvailable"))
