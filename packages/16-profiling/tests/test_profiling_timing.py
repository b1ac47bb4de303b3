"""benchmark (samples, min_time calibration, GC handling, thread settings) and the scaling fit."""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest

from tinytorch.profiling import benchmark, fit_exponent, scaling, thread_info


def test_benchmark_samples_and_summary() -> None:
    calls = []
    result = benchmark(calls.append, 1, warmup=3, repeats=7)
    assert len(result.samples) == 7 and result.number == 1 and len(calls) == 3 + 7
    assert result.median == pytest.approx(float(np.median(result.samples)))
    q25, q75 = np.percentile(result.samples, [25, 75])
    assert result.iqr == pytest.approx(q75 - q25)
    assert result.threads["usable_cpus"] >= 1 and "OMP_NUM_THREADS" in result.threads
    assert "CPUs" in str(result)


def test_min_time_raises_calls_per_sample() -> None:
    result = benchmark(sum, range(10), warmup=0, repeats=3, min_time=1e-3)
    assert result.number > 1 and result.number & (result.number - 1) == 0  # a power of two
    assert result.number >= 64  # sum(range(10)) takes well under 1 µs: 1 ms needs > 1000 calls


def test_gc_is_off_during_samples_and_restored() -> None:
    states = []
    benchmark(lambda: states.append(gc.isenabled()), warmup=0, repeats=4)
    assert states == [False] * 4 and gc.isenabled()


def test_benchmark_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="repeats"):
        benchmark(sum, [], repeats=0)


def test_thread_info_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert thread_info()["OPENBLAS_NUM_THREADS"] == "3"


@pytest.mark.parametrize("k", [0.5, 1.0, 2.0, 3.0])
def test_fit_exponent_recovers_power_laws(k: float) -> None:
    sizes = [16, 64, 256, 1024, 4096]
    exponent, c = fit_exponent(sizes, [2.5e-7 * n**k for n in sizes])
    assert exponent == pytest.approx(k) and c == pytest.approx(2.5e-7)


def test_fit_exponent_is_least_squares_with_noise() -> None:
    sizes = np.array([10.0, 20, 40, 80, 160])
    noise = np.array([1.1, 0.9, 1.05, 0.95, 1.0])
    exponent, c = fit_exponent(sizes, 1e-6 * sizes**2 * noise)
    slope, intercept = np.polyfit(np.log(sizes), np.log(1e-6 * sizes**2 * noise), 1)
    assert exponent == pytest.approx(slope) and math.log(c) == pytest.approx(intercept)


def test_fit_exponent_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="positive"):
        fit_exponent([1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match="at least two"):
        fit_exponent([1], [1.0])


def test_scaling_with_a_deterministic_cost_model() -> None:
    # the "time" is an operation count: n log n for a sort-like cost, 2 n^3 for a matmul
    def matmul_cost(n: int) -> tuple[int, int]:
        return (2 * n**3, n)

    result = scaling(lambda n: lambda: matmul_cost(n), [8, 16, 32, 64], measure=lambda f: f()[0])
    assert result.exponent == pytest.approx(3.0) and result.times[0] == 2 * 8**3
    assert "size^3.00" in str(result)
