"""Every milestone runs in quick mode and passes, with no dataset present (the labelled
synthetic stand-in) -- what a fresh machine without data sees. Real-data accuracies are the
full runs' job (their figures are in the README, taken from milestones/results/).

The data policy: a full run, or a TINYTORCH_DATA naming a folder that does not exist, never
falls back to the stand-in; it stops with an error naming the folder and the files."""

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
    (tmp_path / "no-data-here").mkdir()
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
        assert summary["stand_in"] is True
        assert summary["headline"].startswith("STAND-IN CHECK")
    # the stages' times (and the named overheads) add up to no more than the run's time
    staged = sum(s["wall_s"] for s in summary.get("stages", {}).values())
    staged += sum(summary.get("overheads", {}).values())
    assert staged <= summary["wall_s"] + 1e-6


def _run(args: list[str], data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TINYTORCH_DATA": str(data), "CI": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.skipif("m03_mnist_mlp" not in NAMES, reason="no MNIST milestone")
@pytest.mark.parametrize("mode", [["--full"], []], ids=["full", "quick"])
def test_a_named_data_folder_that_does_not_exist_is_an_error(mode, tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    result = _run([str(MILESTONES / "m03_mnist_mlp.py"), *mode], missing)
    assert result.returncode == 2, result.stdout[-2000:]
    message = " ".join(result.stderr.split())
    assert f"{missing}/mnist" in message and "train-images-idx3-ubyte.gz" in message
    assert "passed" not in result.stdout


@pytest.mark.skipif("m03_mnist_mlp" not in NAMES, reason="no MNIST milestone")
def test_a_full_run_never_falls_back_to_the_stand_in(tmp_path: Path) -> None:
    result = _run([str(MILESTONES / "m03_mnist_mlp.py"), "--full"], tmp_path)  # exists, empty
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "full run needs the real dataset" in message and f"{tmp_path}/mnist" in message


@pytest.mark.skipif("m03_mnist_mlp" not in NAMES, reason="no MNIST milestone")
def test_run_py_reports_no_data_and_stand_in_checks(tmp_path: Path) -> None:
    summary_file = tmp_path / "summary.json"
    args = [str(MILESTONES / "run.py"), "--only", "m03", "--json", str(summary_file)]
    failed = _run([*args, "--full"], tmp_path / "nonexistent")
    assert failed.returncode == 1
    assert json.loads(summary_file.read_text())["m03_mnist_mlp"]["status"] == "no data"
    quick = _run(args, tmp_path)
    assert quick.returncode == 0
    assert "passed (stand-in check)" in quick.stdout


def test_readme_quotes_the_recorded_mnist_run() -> None:
    """The README's MNIST figures are those of milestones/results/m03_mnist_mlp.full.json."""
    results = MILESTONES / "results" / "m03_mnist_mlp.full.json"
    readme = MILESTONES.parent / "README.md"
    if not results.is_file() or not readme.is_file():
        pytest.skip("no recorded full MNIST run beside the README")
    run = json.loads(results.read_text())
    row = next(line for line in readme.read_text().splitlines() if "`m03_mnist_mlp`" in line)
    assert f"{run['stages']['test']['accuracy']:.2%}" in row
    assert f"{run['wall_s']:.0f} s" in row
    assert run["quick"] is False and not run["stand_in"]
