"""Checkpoints: round trips of every part, atomic replacement (a crash mid-write leaves the old
file intact and no temporary file), clear errors for truncated and foreign files, generators."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import IO

import numpy as np
import pytest

from tinytorch.layers import Dropout, Linear
from tinytorch.networks import Sequential, save
from tinytorch.optimizers import Adam, OneCycleLR
from tinytorch.tensor import Tensor
from tinytorch.training import (
    Checkpoint,
    CheckpointError,
    History,
    atomic_write,
    cross_entropy,
    find_generators,
    get_rng_state,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from tinytorch.training import checkpoint as checkpoint_module


def make_run(seed: int = 0) -> tuple[Sequential, Adam, OneCycleLR]:
    """A 4-8-3 network with Dropout (its own generator), Adam and a one-cycle schedule."""
    rng = np.random.default_rng(seed)
    model = Sequential(
        Linear(4, 8, rng=rng),
        Dropout(0.5, rng=np.random.default_rng(seed + 1)),
        Linear(8, 3, rng=rng),
    )
    optimizer = Adam(model.parameters(), lr=0.01)
    return model, optimizer, OneCycleLR(optimizer, max_lr=0.1, total_steps=20)


def train_steps(model: Sequential, optimizer: Adam, scheduler: OneCycleLR, steps: int) -> None:
    data = np.random.default_rng(99)
    for _ in range(steps):
        x = Tensor(data.standard_normal((6, 4), dtype=np.float32))
        optimizer.zero_grad()
        cross_entropy(model(x), data.integers(0, 3, 6)).backward()
        optimizer.step()
        scheduler.step()


def weights(model: Sequential) -> list[np.ndarray]:
    return [p.data.copy() for p in model.parameters()]


def test_round_trip_restores_every_part_and_training_continues_identically(tmp_path: Path) -> None:
    model, optimizer, scheduler = make_run(0)
    train_steps(model, optimizer, scheduler, 5)
    history = History([{"epoch": 1, "train_loss": 1.5, "val_loss": None}])
    rng_state = get_rng_state(model=model)
    path = save_checkpoint(
        tmp_path / "run.npz",
        model,
        optimizer,
        scheduler,
        epoch=3,
        rng_state=rng_state,
        history=history,
        extra={"note": "hello", "ints": (1, 2), 7: np.float32(0.5)},
    )
    other_model, other_optimizer, other_scheduler = make_run(1)
    checkpoint = load_checkpoint(path, other_model, other_optimizer, other_scheduler)
    set_rng_state(checkpoint.rng_state, model=other_model)

    assert isinstance(checkpoint, Checkpoint) and checkpoint.epoch == 3 and checkpoint.version == 1
    assert History.from_dict(checkpoint.history).records == history.records
    assert checkpoint.extra == {"note": "hello", "ints": (1, 2), 7: np.float32(0.5)}
    assert type(checkpoint.extra[7]) is np.float32
    for a, b in zip(weights(model), weights(other_model), strict=True):
        np.testing.assert_array_equal(a, b)
    saved, loaded = optimizer.state_dict(), other_optimizer.state_dict()
    assert saved["param_groups"] == loaded["param_groups"]  # betas stay a tuple
    assert isinstance(loaded["param_groups"][0]["betas"], tuple)
    for index, state in saved["state"].items():
        assert state["step"] == loaded["state"][index]["step"]
        np.testing.assert_array_equal(state["exp_avg_sq"], loaded["state"][index]["exp_avg_sq"])
    assert other_scheduler.state_dict() == scheduler.state_dict()

    train_steps(model, optimizer, scheduler, 4)
    train_steps(other_model, other_optimizer, other_scheduler, 4)
    for a, b in zip(weights(model), weights(other_model), strict=True):
        np.testing.assert_array_equal(a, b)  # bitwise: dropout masks and Adam state restored


def test_model_only_checkpoint_and_missing_parts_raise(tmp_path: Path) -> None:
    model, optimizer, _ = make_run(0)
    path = save_checkpoint(tmp_path / "weights.npz", model)
    checkpoint = read_checkpoint(path)
    assert checkpoint.optimizer_state is None and checkpoint.history is None
    assert sorted(checkpoint.model_state) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    with pytest.raises(CheckpointError, match=r"holds no optimizer state"):
        load_checkpoint(path, model, optimizer)


def test_a_different_architecture_is_named(tmp_path: Path) -> None:
    model, _, _ = make_run(0)
    path = save_checkpoint(tmp_path / "a.npz", model)
    other = Sequential(Linear(4, 5), Linear(5, 3))
    with pytest.raises(CheckpointError, match=r"model state in .*a\.npz does not fit.*0\.weight"):
        load_checkpoint(path, other)


# --------------------------------------------------------------------- random generators
def test_find_generators_by_path_once_each() -> None:
    shared = np.random.default_rng(0)
    model = Sequential(Linear(2, 2), Dropout(0.1, rng=shared), Dropout(0.2, rng=shared))

    class Loader:
        def __init__(self) -> None:
            self.generator = np.random.default_rng(1)
            self.transforms = [None, {"flip": np.random.default_rng(2)}]
            self.samples = [np.random.default_rng(3)] * 1000  # too long: not searched

    found = find_generators({"model": model, "loader": Loader()})
    assert list(found) == ["model.layers.1.rng", "loader.generator", "loader.transforms.1.flip"]
    assert found["model.layers.1.rng"] is shared


def test_set_rng_state_rewinds_and_refuses_a_different_set_of_generators() -> None:
    model = Sequential(Linear(2, 2), Dropout(0.5, rng=np.random.default_rng(0)))
    state = get_rng_state(model=model)
    first = model.layers[1].rng.random(4)
    set_rng_state(state, model=model)
    np.testing.assert_array_equal(model.layers[1].rng.random(4), first)
    with pytest.raises(CheckpointError, match=r"not saved \['net.layers.1.rng'\].*\['model"):
        set_rng_state(state, net=model)


# --------------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "f.bin"
    atomic_write(path, lambda f: f.write(b"one"))
    atomic_write(path, lambda f: f.write(b"two"))
    assert path.read_bytes() == b"two"
    assert os.listdir(path.parent) == ["f.bin"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_crash_while_writing_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, optimizer, scheduler = make_run(0)
    path = save_checkpoint(tmp_path / "last.npz", model, optimizer, scheduler, epoch=1)
    before = path.read_bytes()

    def crash(file: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
        file.write(b"PK\x03\x04 half of a zip")
        raise OSError("No space left on device")

    monkeypatch.setattr(checkpoint_module, "_write_npz", crash)
    train_steps(model, optimizer, scheduler, 2)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, model, optimizer, scheduler, epoch=2)
    assert path.read_bytes() == before
    assert read_checkpoint(path).epoch == 1
    assert os.listdir(tmp_path) == ["last.npz"]  # no temporary file left behind


# --------------------------------------------------------------------- damaged and foreign files
def test_truncated_checkpoint_raises_naming_the_path(tmp_path: Path) -> None:
    model, optimizer, _ = make_run(0)
    path = save_checkpoint(tmp_path / "cut.npz", model, optimizer)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.npz is truncated or corrupt.*earlier"):
        load_checkpoint(path, model)


def test_a_flipped_byte_is_caught_by_the_zip_checksum(tmp_path: Path) -> None:
    model, _, _ = make_run(0)
    path = save_checkpoint(tmp_path / "flip.npz", model)
    data = bytearray(path.read_bytes())
    weight = bytes(model.layers[0].weight.data.tobytes()[:16])
    at = data.find(weight)
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"flip\.npz is truncated or corrupt.*CRC"):
        read_checkpoint(path)


def test_foreign_files_raise_saying_what_they_are(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a checkpoint")
    with pytest.raises(CheckpointError, match=r"notes\.txt is not a TinyTorch checkpoint: it "):
        read_checkpoint(text)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty\.npz .* is empty \(0 bytes\)"):
        read_checkpoint(empty)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(2), b=np.ones(3))
    with pytest.raises(CheckpointError, match=r"no '__tinytorch_checkpoint__' entry.*a, b"):
        read_checkpoint(other)
    model, _, _ = make_run(0)
    weights_file = save(model, tmp_path / "weights.npz")
    with pytest.raises(CheckpointError, match=r"read with tinytorch\.networks\.load"):
        load_checkpoint(weights_file, model)
    with pytest.raises(FileNotFoundError, match=r"no checkpoint file at .*missing\.npz"):
        read_checkpoint(tmp_path / "missing.npz")


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"format": "someone-else"}, r"format marker 'someone-else', expected"),
        ({"format": "tinytorch-checkpoint", "version": 99}, r"version 99.*reads versions up to 1"),
    ],
)
def test_wrong_marker_or_future_version(tmp_path: Path, meta: dict, message: str) -> None:
    path = tmp_path / "odd.npz"
    encoded = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **{"__tinytorch_checkpoint__": encoded})
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(path)


def test_values_a_checkpoint_cannot_hold_are_named(tmp_path: Path) -> None:
    model, _, _ = make_run(0)
    with pytest.raises(TypeError, match=r"cannot store object at extra/when"):
        save_checkpoint(tmp_path / "x.npz", model, extra={"when": object()})
    assert not list(tmp_path.iterdir())


def test_errors_are_labelled_with_the_function_called(tmp_path: Path) -> None:
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(2))
    for function in (read_checkpoint, load_checkpoint):
        name = function.__name__
        with pytest.raises(CheckpointError, match=rf"^{name}: .*other\.npz is an \.npz archive"):
            function(other)
        with pytest.raises(FileNotFoundError, match=rf"^{name}: no checkpoint file"):
            function(tmp_path / "missing.npz")
    pickled = tmp_path / "objects.npz"
    np.savez(pickled, **{"__tinytorch_checkpoint__": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(CheckpointError, match=r"^read_checkpoint: .*pickled Python objects") as e:
        read_checkpoint(pickled)
    assert "allow_pickle" not in str(e.value)
