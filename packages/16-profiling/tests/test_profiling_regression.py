"""Regression detection: ranks with ties, the Mann-Whitney U test against hand-computed values
of scipy's asymptotic formula, compare's verdicts, baseline files and the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinytorch.profiling import (
    benchmark,
    compare,
    load_baseline,
    mann_whitney_u,
    rankdata,
    save_baseline,
)


def test_rankdata_averages_ties() -> None:
    assert rankdata([3.0, 1.0, 2.0]).tolist() == [3.0, 1.0, 2.0]
    assert rankdata([2, 1, 2, 2, 5, 1]).tolist() == [4.0, 1.5, 4.0, 4.0, 6.0, 1.5]
    values = np.random.default_rng(0).integers(0, 5, 40)
    ranks = rankdata(values)
    assert ranks.sum() == 40 * 41 / 2
    for v in np.unique(values):  # ties share one rank; smaller values rank lower
        assert len(set(ranks[values == v])) == 1
        assert ranks[values == v][0] > (ranks[values < v].max() if (values < v).any() else 0)


def test_mann_whitney_u_separated_samples() -> None:
    # x ranks 1, 2, 3: U1 = 6 - 6 = 0, U2 = 9; mean 4.5, sigma = sqrt(9/12 * 7);
    # z = (9 - 4.5 - 0.5) / sigma = 1.7457, p = erfc(z / sqrt 2) = 0.080856 (scipy's asymptotic)
    u, p = mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert u == 0.0
    assert p == pytest.approx(math.erfc(4.0 / math.sqrt(9 / 12 * 7) / math.sqrt(2)))
    assert p == pytest.approx(0.080856, abs=1e-6)


def test_mann_whitney_u_with_ties() -> None:
    # pooled 1 2 2 2 3 3 4 5 -> ranks 1, 3, 3, 3, 5.5, 5.5, 7, 8; x = (1, 2, 2, 3): R1 = 12.5,
    # U1 = 2.5, U2 = 13.5; ties (3 twos, 2 threes): sum t^3 - t = 24 + 6 = 30, n = 8;
    # sigma^2 = 16/12 * (9 - 30/56); z = (13.5 - 8 - 0.5) / sigma
    u, p = mann_whitney_u([1, 2, 2, 3], [2, 3, 4, 5])
    assert u == 2.5
    sigma = math.sqrt(16 / 12 * (9 - 30 / 56))
    assert p == pytest.approx(math.erfc(5.0 / sigma / math.sqrt(2)))
    assert p == pytest.approx(0.136658, abs=1e-6)
    u_swapped, p_swapped = mann_whitney_u([2, 3, 4, 5], [1, 2, 2, 3])
    assert u_swapped == 16 - 2.5 and p_swapped == pytest.approx(p)  # two-sided: symmetric


def test_mann_whitney_u_identical_and_overlapping() -> None:
    assert mann_whitney_u([1.0, 1.0], [1.0, 1.0]) == (2.0, 1.0)
    _, p = mann_whitney_u([1, 3, 5, 7], [2, 4, 6, 8])  # interleaved: no evidence
    assert p > 0.5
    with pytest.raises(ValueError, match="non-empty"):
        mann_whitney_u([], [1.0])


def test_compare_verdicts() -> None:
    rng = np.random.default_rng(0)
    base = list(1e-3 * (1 + 0.01 * rng.standard_normal(30)))
    slower = [t * 1.2 for t in base]
    assert compare(base, slower).verdict == "slower"
    assert compare(slower, base).verdict == "faster"
    noise = list(1e-3 * (1 + 0.01 * rng.standard_normal(30)))
    assert compare(base, noise).verdict == "same"
    tiny = [t * 1.02 for t in base]  # significant with 30 samples, but under min_effect
    result = compare(base, tiny)
    assert result.p_value < 0.01 and result.verdict == "same"
    assert compare(base, tiny, min_effect=0.01).verdict == "slower"
    assert result.ratio == pytest.approx(1.02) and "same" in str(result)


def test_baseline_round_trip(tmp_path: Path) -> None:
    result = benchmark(sum, range(100), warmup=0, repeats=5)
    path = tmp_path / "base.json"
    save_baseline(path, {"sum": result, "raw": [1.0, 2.0]})
    loaded = load_baseline(path)
    assert loaded == {"sum": result.samples, "raw": [1.0, 2.0]}
    assert "usable_cpus" in json.loads(path.read_text())["threads"]
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="save_baseline"):
        load_baseline(tmp_path / "bad.json")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tinytorch.profiling", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_exits_1_on_a_regression(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base = list(1e-3 * (1 + 0.01 * rng.standard_normal(20)))
    save_baseline(tmp_path / "base.json", {"step": base, "other": base})
    save_baseline(tmp_path / "same.json", {"step": base, "other": base})
    save_baseline(tmp_path / "slow.json", {"step": [t * 1.3 for t in base], "other": base})
    same = run_cli("compare", str(tmp_path / "base.json"), str(tmp_path / "same.json"))
    assert same.returncode == 0, same.stderr
    assert "step: same" in same.stdout
    slow = run_cli("compare", str(tmp_path / "base.json"), str(tmp_path / "slow.json"))
    assert slow.returncode == 1
    assert "step: slower" in slow.stdout and "other: same" in slow.stdout
    assert "1 regression" in slow.stderr
