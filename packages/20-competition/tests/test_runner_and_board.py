"""`run` measures in fresh processes under limits; the board ranks, marks fronts, survives
concurrent writers and records nothing for a rejected submission."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tinytorch.autograd import no_grad
from tinytorch.competition import (
    EVENTS,
    Leaderboard,
    Rejected,
    pack,
    render_table,
    run,
    standings,
    write_html,
)
from tinytorch.competition.measure import cifar_test_data, shakespeare_data
from tinytorch.generation import StridedWindows, lm_loss
from tinytorch.layers import Module
from tinytorch.tensor import Tensor
from tinytorch.transformers import TinyGPT


def _row(event: str, name: str, digest: str, **metrics: float) -> dict:
    return {
        "event": event, "name": name, "sha256": digest, "optimizations": {},
        "metrics": metrics, "machine": "test", "versions": {},
    }  # fmt: skip


def test_run_measures_accuracy_flops_and_size_itself(
    data_dir: Path, tmp_path: Path, small_cnn: Callable[[], Module], test_images: int
) -> None:
    model = small_cnn()
    folder = pack(model, tmp_path / "sub", "cifar10-latency", "tiny")
    row = run("cifar10-latency", folder, tmp_path / "board.sqlite")
    metrics = row["metrics"]
    x, y = cifar_test_data()
    with no_grad():
        expected = float((model.eval()(Tensor(x)).data.argmax(axis=1) == y).mean())
    assert metrics["test_images"] == test_images
    assert metrics["accuracy"] == pytest.approx(expected)
    conv = 2 * 4 * 32 * 32 * 3 * 3 * 3  # 2 * C_out * H * W * C_in * K * K
    assert metrics["flops"] == conv + 2 * 4 * 10
    assert metrics["size_bytes"] == sum(p.stat().st_size for p in folder.iterdir())
    assert metrics["latency_1t_ms"] > 0 and metrics["latency_p90_ms"] >= metrics["latency_ms"]
    assert metrics["peak_memory_bytes"] > sum(a.nbytes for a in model.state_dict().values())
    assert Leaderboard(tmp_path / "board.sqlite").runs()[0]["sha256"] == row["sha256"]


def test_limits_are_enforced_and_a_rejection_records_nothing(
    data_dir: Path, tmp_path: Path, small_cnn: Callable[[], Module]
) -> None:
    folder = pack(small_cnn(), tmp_path / "sub", "cifar10-size", "tiny")
    board = tmp_path / "board.sqlite"
    slow = dataclasses.replace(EVENTS["cifar10-size"], time_limit_s=0.2)
    with pytest.raises(Rejected, match=r"time limit: measuring took over 0.2 s"):
        run(slow, folder, board)
    small = dataclasses.replace(EVENTS["cifar10-size"], memory_limit_mb=100)
    with pytest.raises(Rejected, match="memory limit: over 100 MB"):
        run(small, folder, board, single_thread=False)
    assert Leaderboard(board).runs() == []


def test_the_text_event_measures_validation_loss(data_dir: Path, tmp_path: Path) -> None:
    tokenizer, ids = shakespeare_data()
    model = TinyGPT(tokenizer.vocab_size, 20, 1, 2, 16, rng=np.random.default_rng(0))
    folder = pack(model, tmp_path / "gpt", "tinygpt-throughput", "gpt")
    event = EVENTS["tinygpt-throughput"]
    metrics = run(event, folder, single_thread=False)["metrics"]
    windows = StridedWindows(ids[: event.val_tokens + 1], 20, batch_size=32)
    with no_grad():
        model.eval()
        total = sum(lm_loss(model(x), y).item() * y.numel() for x, y in windows)
    assert metrics["val_loss"] == pytest.approx(total / windows.tokens_covered, rel=1e-6)
    assert metrics["val_tokens"] == windows.tokens_covered
    assert metrics["tokens_per_s"] > 0 and metrics["new_tokens"] == 20 - event.prompt_tokens
    assert metrics["batch"] == event.batch == 32 and metrics["tokens_per_s_batch1"] > 0


def test_standings_rank_best_runs_and_leave_missed_floors_unranked(tmp_path: Path) -> None:
    board = Leaderboard(tmp_path / "b.sqlite")
    event = "cifar10-size"
    board.record(_row(event, "big", "a" * 64, accuracy=0.80, size_bytes=4000))
    board.record(_row(event, "small", "b" * 64, accuracy=0.75, size_bytes=1000))
    board.record(_row(event, "small", "b" * 64, accuracy=0.75, size_bytes=900))  # a rerun
    board.record(_row(event, "mid", "c" * 64, accuracy=0.74, size_bytes=2000))
    board.record(_row(event, "<b>tiny</b>", "d" * 64, accuracy=0.30, size_bytes=10))
    rows = standings(board, event)
    assert [(s.name, s.rank) for s in rows] == [
        ("small", 1), ("mid", 2), ("big", 3), ("<b>tiny</b>", None)
    ]  # fmt: skip
    assert rows[0].objective == 900
    assert [s.on_front for s in rows] == [True, False, True, True]
    page = write_html(board, event, tmp_path / "board.html").read_text()
    assert "&lt;b&gt;tiny&lt;/b&gt;" in page and "<b>tiny</b>" not in page
    assert render_table(board, event).row_count == 4


def test_the_allround_score_needs_and_uses_the_baseline_run(tmp_path: Path) -> None:
    board = Leaderboard(tmp_path / "b.sqlite")
    event = "cifar10-allround"
    base = {"accuracy": 0.77, "latency_1t_ms": 10.0, "peak_memory_bytes": 1e6, "size_bytes": 4e5}
    board.record(_row(event, "int8", "e" * 64, **{**base, "size_bytes": 1e5}))
    with pytest.raises(ValueError, match="no run named 'baseline'"):
        standings(board, event)
    board.record(_row(event, "baseline", "f" * 64, **base))
    rows = standings(board, event)
    assert [s.name for s in rows] == ["int8", "baseline"]
    assert rows[1].objective == pytest.approx(1.0)
    assert rows[0].objective == pytest.approx(4.0**0.2)


WRITER = """
import sys
from tinytorch.competition import Leaderboard

path, writer = sys.argv[1], int(sys.argv[2])
board = Leaderboard(path)
for i in range(40):
    board.record({
        "event": "cifar10-size", "name": f"w{writer}-{i}", "sha256": f"{writer}{i:063d}",
        "optimizations": {}, "metrics": {"accuracy": 0.8, "size_bytes": float(i + 1)},
        "machine": "test", "versions": {},
    })
"""


def test_two_processes_recording_at_once_lose_and_corrupt_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    Leaderboard(path)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, path, str(w)], stderr=subprocess.PIPE)
        for w in (1, 2)
    ]
    for process in writers:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors.decode()
    runs = Leaderboard(path).runs()
    assert len(runs) == 80 and len({r["id"] for r in runs}) == 80
    assert {r["name"] for r in runs} == {f"w{w}-{i}" for w in (1, 2) for i in range(40)}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
