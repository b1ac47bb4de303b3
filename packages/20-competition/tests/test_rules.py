"""Every rule of `check`: each test breaks one and expects a rejection that names it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tinytorch.competition import EVENTS, Rejected, check, load_model, pack, sha256
from tinytorch.layers import Module

EVENT = EVENTS["cifar10-size"]


def _check(folder: Path, event: str = EVENT.name, max_bytes: int = EVENT.max_bytes) -> object:
    return check(folder, event, set(EVENT.allowed_packages), max_bytes)


def _edit(folder: Path, **changes: object) -> None:
    path = folder / "submission.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


@pytest.fixture
def folder(tmp_path: Path, small_cnn: Callable[[], Module]) -> Path:
    return pack(small_cnn(), tmp_path / "sub", EVENT.name, "tiny")


def test_a_packed_submission_passes_and_loads_the_same_weights(
    folder: Path, small_cnn: Callable[[], Module]
) -> None:
    submission = _check(folder)
    model = load_model(submission)  # type: ignore[arg-type]
    for name, array in small_cnn().state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], array)


def test_self_reported_metrics_are_rejected_not_believed(folder: Path) -> None:
    _edit(folder, accuracy=0.99, latency_ms=0.01)
    with pytest.raises(Rejected, match=r"unknown keys \['accuracy', 'latency_ms'\].*measured"):
        _check(folder)


def test_tampered_weights_fail_the_sha256(folder: Path) -> None:
    state = dict(np.load(folder / "weights.npz"))
    state["5.bias"] = state["5.bias"] + 1.0
    np.savez(folder / "weights.npz", **state)
    with pytest.raises(Rejected, match="integrity: sha256"):
        _check(folder)


def test_pickled_objects_in_the_weights_are_rejected(folder: Path) -> None:
    np.savez(folder / "weights.npz", payload=np.array([{"a": 1}], dtype=object))
    _edit(folder, sha256=sha256(folder / "weights.npz"))
    with pytest.raises(Rejected, match=r"weights: weights\.npz is not a plain \.npz"):
        _check(folder)


def test_extra_files_and_missing_keys_break_the_schema(folder: Path) -> None:
    (folder / "run_me.py").write_text("print('hi')")
    with pytest.raises(Rejected, match="schema: a submission holds exactly"):
        _check(folder)
    (folder / "run_me.py").unlink()
    manifest = json.loads((folder / "submission.json").read_text())
    del manifest["sha256"]
    (folder / "submission.json").write_text(json.dumps(manifest))
    with pytest.raises(Rejected, match=r"missing keys \['sha256'\]"):
        _check(folder)


def test_the_file_size_limit(folder: Path) -> None:
    size = sum(p.stat().st_size for p in folder.iterdir())
    with pytest.raises(Rejected, match=f"file size: {size:,} bytes is over the limit of 1,000"):
        _check(folder, max_bytes=1000)


def test_another_events_submission_is_refused(folder: Path) -> None:
    with pytest.raises(Rejected, match="event: submitted to 'cifar10-size'"):
        _check(folder, event="cifar10-latency")


def test_packages_outside_the_event_or_not_installed_are_refused(folder: Path) -> None:
    _edit(folder, optimizations={"kernels": "reference", "packages": ["tinytorch.setup"]})
    with pytest.raises(Rejected, match=r"packages: \['tinytorch.setup'\] are not allowed"):
        _check(folder)
    _edit(folder, optimizations={"kernels": "turbo"})
    with pytest.raises(Rejected, match="kernels must be one of"):
        _check(folder)


def test_an_architecture_outside_the_allow_list_is_refused(folder: Path) -> None:
    _edit(folder, architecture={"type": "Sequential", "children": [{"type": "eval", "args": {}}]})
    with pytest.raises(
        Rejected, match="architecture: build_from_spec: layer type 'eval' is not allowed"
    ):
        _check(folder)


def test_weights_that_do_not_fit_the_architecture(folder: Path) -> None:
    np.savez(folder / "weights.npz", **{"0.weight": np.zeros((2, 2), np.float32)})
    _edit(folder, sha256=sha256(folder / "weights.npz"))
    submission = _check(folder)
    with pytest.raises(Rejected, match="weights: they do not fit the architecture"):
        load_model(submission)  # type: ignore[arg-type]


def test_the_compete_command_rejects_and_records_nothing(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tinytorch.competition import Leaderboard
    from tinytorch.setup.cli import main

    _edit(folder, accuracy=0.99)
    board = tmp_path / "board.sqlite"
    assert main(["compete", "run", EVENT.name, str(folder), "--board", str(board)]) == 1
    assert "rejected" in capsys.readouterr().out
    assert not board.exists() or Leaderboard(board).runs() == []
    assert main(["compete", "events"]) == 0
    assert "tinygpt-throughput" in capsys.readouterr().out


def test_same_weights_with_other_optimisations_are_another_submission(
    folder: Path, tmp_path: Path, small_cnn: Callable[[], Module]
) -> None:
    other = pack(small_cnn(), tmp_path / "other", EVENT.name, "tiny", kernels="fast")
    first, second = _check(folder), _check(other)
    assert (folder / "weights.npz").read_bytes() == (other / "weights.npz").read_bytes()
    assert first.digest != second.digest  # type: ignore[attr-defined]
