"""The benchmark runner runs, and writes the JSON it promises (TinyTorch side only, tiny sizes).

Timings are never asserted here: they belong to ``benchmarks/`` (``nox -s bench``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "benchmarks" / "run.py"


def test_quick_overhead_case_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    command = [sys.executable, str(RUNNER), "--only", "overhead", "--quick", "--no-torch"]
    done = subprocess.run(
        [*command, "--threads", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())["overhead"]
    assert result["status"] == "ok"
    assert result["quick"] is True
    assert result["machine"]["threads"] == 1
    assert result["machine"]["torch"] is None
    assert result["torch_note"] == "PyTorch not used (--no-torch)"
    assert result["peak"]["gflops"] > 0
    labels = [row["label"] for row in result["rows"]]
    assert labels == [
        "add 8x8 forward",
        "add 8x8 forward+backward",
        "matmul 8x8 forward",
        "matmul 8x8 forward+backward",
    ]
    for row in result["rows"]:
        timing = row["tinytorch"]
        assert 0 < timing["min_s"] <= timing["median_s"] <= timing["max_s"]
        assert timing["repeats"] == 3 and timing["number"] >= 1
        assert row["pytorch"] is None and row["ratio"] is None
    matmul = result["rows"][2]
    assert matmul["flops"] == 2 * 8**3
    rate = matmul["flops"] / matmul["tinytorch"]["median_s"] / 1e9
    assert matmul["tinytorch"]["gflops"] == pytest.approx(rate)
