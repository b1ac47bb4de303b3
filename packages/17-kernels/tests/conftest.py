"""Shared fixtures: the registry is restored after every test; a fixture runs a test on both
engines (numba, and the NumPy twins) where numba is installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tinytorch.autograd  # noqa: F401  (autograd on)
import tinytorch.kernels as kernels
from tinytorch.tensor.dispatch import hooks

ENGINES = ["numpy", "numba"] if kernels.HAVE_NUMBA else ["numpy"]


@pytest.fixture(autouse=True)
def reference_after() -> Iterator[None]:
    yield
    kernels.use("reference")
    assert hooks.kernels == {}


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with numba's kernels and with their NumPy twins."""
    with kernels.use_numba(request.param == "numba"):
        yield request.param
