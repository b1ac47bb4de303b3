"""The educational kernels compute what they claim: a tiled matmul equals ``a @ b`` for any
tile size and awkward shapes; the loop and vectorised ReLU agree."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.kernels as kernels
from tinytorch.setup.testing import assert_close


@pytest.mark.parametrize("tile", [1, 3, 16, 64, 1000])
@pytest.mark.parametrize("shape", [(1, 1, 1), (5, 7, 3), (33, 17, 65)])
def test_tiled_matmul_equals_matmul(shape, tile) -> None:
    m, k, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    out = kernels.tiled_matmul(a, b, tile)
    assert out.shape == (m, n) and out.dtype == np.float64
    assert_close(out, a @ b, rtol=1e-12, atol=1e-12)


def test_tiled_matmul_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"\(M, K\) @ \(K, N\)"):
        kernels.tiled_matmul(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="tile must be >= 1"):
        kernels.tiled_matmul(np.ones((2, 2)), np.ones((2, 2)), 0)


def test_matmul_flops() -> None:
    assert kernels.matmul_flops(2, 3, 4) == 48


def test_tile_sweep_reports_every_tile_and_blas() -> None:
    rows = kernels.tile_sweep(size=32, tiles=(8, 32), repeats=1)
    assert [row["tile"] for row in rows] == [8, 32, None]
    assert rows[-1]["vs_blas"] == 1.0
    for row in rows:
        assert row["seconds"] > 0 and row["gflops"] > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_relu_loop_equals_vectorised(dtype) -> None:
    x = (np.random.default_rng(0).standard_normal((3, 5)) * 4).astype(dtype)
    expected = np.where(x > 0, x, 0).astype(dtype)
    for function in (kernels.relu_loop, kernels.relu_vectorised):
        out = function(x)
        assert out.dtype == x.dtype and out.shape == x.shape
        np.testing.assert_array_equal(out, expected)
