"""Timing and memory measurement."""

import time
import tracemalloc

import numpy as np
import pytest

from tinytorch.setup import (
    Timer,
    TimingResult,
    array_bytes,
    format_bytes,
    format_seconds,
    measure_memory,
    time_function,
)


def test_timer_measure_returns_sane_statistics():
    result = Timer(warmup=2, repeats=7).measure(np.dot, np.ones(100), np.ones(100))
    assert result.repeats == 7 and len(result.samples) == 7
    assert all(s > 0 for s in result.samples)
    assert 0 < result.min_s <= result.median_s <= result.max_s
    assert result.min_s <= result.mean_s <= result.max_s
    assert result.iqr_s >= 0 and result.stdev_s >= 0
    assert "median" in str(result)


def test_timer_calls_warmup_plus_repeats_times_number():
    calls: list[int] = []
    result = Timer(warmup=3, repeats=4, number=5).measure(calls.append, 1)
    assert len(calls) == 3 + 4 * 5
    assert result.number == 5


def test_time_function_passes_arguments():
    seen = []
    time_function(lambda a, b=0: seen.append((a, b)), 1, b=2, warmup=0, repeats=2)
    assert seen == [(1, 2), (1, 2)]


def test_timer_as_context_manager():
    with Timer() as t:
        time.sleep(0.002)
    assert t.elapsed >= 0.001


def test_timing_statistics_are_robust_to_an_outlier():
    result = TimingResult.from_samples([1.0, 2.0, 3.0, 4.0, 100.0])
    assert result.median_s == 3.0 and result.iqr_s == 2.0
    assert result.mean_s == 22.0 and (result.min_s, result.max_s) == (1.0, 100.0)
    assert TimingResult.from_samples([0.5]).stdev_s == 0.0
    with pytest.raises(ValueError):
        TimingResult.from_samples([])


@pytest.mark.parametrize("kwargs", [{"repeats": 0}, {"warmup": -1}, {"number": 0}])
def test_timer_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        Timer(**kwargs)


def test_measure_memory_sees_a_numpy_allocation():
    result = measure_memory(np.ones, 1_000_000)  # 1e6 float64 = 8e6 bytes
    assert result.peak_bytes >= 8_000_000
    assert result.retained_bytes >= 8_000_000
    assert result.array_bytes == 8_000_000
    assert result.value.shape == (1_000_000,)
    assert not tracemalloc.is_tracing()


def test_measure_memory_counts_temporaries_in_the_peak():
    def work():
        tmp = np.ones(1_000_000)  # 8 MB temporary, freed before returning
        return float(tmp.sum())

    result = measure_memory(work)
    assert result.peak_bytes >= 8_000_000
    assert result.retained_bytes < 1_000_000
    assert result.value == 1_000_000.0 and result.array_bytes == 0


def test_measure_memory_when_already_tracing():
    tracemalloc.start()
    try:
        result = measure_memory(np.zeros, (500, 500))
        assert result.peak_bytes >= 2_000_000
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


def test_array_bytes_recurses_and_counts_each_array_once():
    a, b = np.zeros(10), np.zeros((2, 3), dtype=np.float32)

    class TensorLike:
        data = np.zeros(4, dtype=np.int8)

    value = (a, [b, {"again": a, "t": TensorLike(), "x": 3}], "text")
    assert array_bytes(value) == 80 + 24 + 4
    assert array_bytes(None) == 0


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.50 KiB"),
        (1.5 * 2**20, "1.50 MiB"),
        (8e9, "7.45 GiB"),
        (3 * 2**40, "3.00 TiB"),
        (2**60, "1048576.00 TiB"),
    ],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text


def test_format_seconds():
    assert format_seconds(2.5) == "2.50 s"
    assert format_seconds(0.00123) == "1.23 ms"
    assert format_seconds(4.5e-6) == "4.50 µs"
    assert format_seconds(7e-9) == "7.00 ns"
