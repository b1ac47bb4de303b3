"""Every milestone runs in quick mode and passes, with no dataset present (the labelled
synthetic stand-in) -- what a fresh machine without data sees. Real-data accuracies are the
full runs' job (their figures are in the README)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MILESTONES = Path(__file__).resolve().parents[1] / "milestones"
NAMES = sorted(p.stem for p in MILESTONES.glob("m[0-9][0-9]_*.py"))


@pytest.mark.skipif(not NAMES, reason="no milestones/ folder beside the tests")
@pytest.mark.parametrize("name", NAMES)
def test_milestone_quick_mode_passes_without_data(name: str, tmp_path: Path) -> None:
    summary_file = tmp_path / "summary.json"
    env = {**os.environ, "TINYTORCH_DATA": str(tmp_path / "no-data-here"), "CI": "1"}
    result = subprocess.run(
        [sys.executable, str(MILESTONES / "run.py"), "--only", name, "--json", str(summary_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(summary_file.read_text())[name]
    assert summary["status"] == "passed"
    assert summary["quick"] is True
    if "data" in summary:
        assert summary["data"].startswith("SYNTHETIC stand-in")
