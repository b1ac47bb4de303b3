"""The systems lessons return the numbers they promise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytorch.generation import positions_processed, temperature_entropy


def test_positions_processed_without_and_with_a_cache() -> None:
    cost = positions_processed(prompt_len=3, new_tokens=5, block_size=4)
    assert cost == {"recompute": 3 + 4 + 4 + 4 + 4, "kv_cache": 7, "ratio": 2}
    long = positions_processed(1, 500, 64)
    assert (
        long["recompute"] == sum(min(1 + i, 64) for i in range(500))
        and long["ratio"] == 29984 // 500
    )
    with pytest.raises(ValueError, match=">= 1"):
        positions_processed(0, 5, 4)


def test_temperature_entropy_grows_from_zero_to_uniform() -> None:
    logits = np.array([3.0, 1.0, 0.0, -1.0, -2.0, 0.5, 2.0, -0.5])
    h = temperature_entropy(logits, [0, 0.5, 1, 2, 1000])
    assert h[0.0] == 0.0
    assert h[0.5] < h[1.0] < h[2.0] < h[1000.0] < math.log2(8)
    assert h[1000.0] == pytest.approx(3.0, abs=1e-3)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    assert h[1.0] == pytest.approx(float(-(p * np.log2(p)).sum()))
