"""save / load / load_pretrained: round trips, in-place loading, and every error case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinytorch.layers import Dropout, Linear
from tinytorch.networks import MLP, Sequential, load, load_pretrained, read_state, save
from tinytorch.setup import assert_close
from tinytorch.tensor import Tensor


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_round_trip_restores_every_parameter_and_the_outputs(tmp_path: Path) -> None:
    source, target = MLP([3, 5, 2], rng=rng(1)), MLP([3, 5, 2], rng=rng(2))
    x = Tensor(rng(3).standard_normal((4, 3)))
    assert save(source, tmp_path / "mlp.npz") == tmp_path / "mlp.npz"
    assert load(target, tmp_path / "mlp.npz") is target
    for (name, a), (other, b) in zip(
        source.named_parameters(), target.named_parameters(), strict=True
    ):
        assert name == other
        np.testing.assert_array_equal(a.data, b.data)
    assert_close(target(x), source(x), rtol=0, atol=0)


def test_load_copies_in_place_so_references_stay_valid(tmp_path: Path) -> None:
    save(MLP([2, 2], rng=rng(1)), tmp_path / "w.npz")
    target = MLP([2, 2], rng=rng(2))
    weight, array = target[0].weight, target[0].weight.data
    load(target, tmp_path / "w.npz")
    assert target[0].weight is weight and weight.data is array


def test_save_writes_exactly_the_given_path_and_creates_folders(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "weights"
    save(MLP([2, 2]), path)
    assert path.is_file() and not path.with_suffix(".npz").exists()
    assert sorted(read_state(path)) == ["0.bias", "0.weight"]


def test_file_size_is_the_parameter_memory_plus_small_headers(tmp_path: Path) -> None:
    net = MLP([100, 50, 10], rng=rng())
    size = save(net, tmp_path / "w.npz").stat().st_size
    param_bytes = 4 * net.num_parameters()
    assert param_bytes < size < param_bytes + 400 * len(net.state_dict())


def test_wrong_shapes_raise_listing_the_misshaped_keys(tmp_path: Path) -> None:
    save(MLP([2, 4, 1], rng=rng()), tmp_path / "small.npz")
    with pytest.raises(KeyError, match=r"small.npz.*mis-shaped keys.*0.weight: expected \(5, 2\)"):
        load(MLP([2, 5, 1]), tmp_path / "small.npz")
    with pytest.raises(KeyError, match="mis-shaped"):
        load(MLP([2, 5, 1]), tmp_path / "small.npz", strict=False)


def test_missing_and_unexpected_names(tmp_path: Path) -> None:
    path = save(MLP([2, 3, 1], rng=rng()), tmp_path / "two.npz")
    wider = Sequential(Linear(2, 3), Dropout(), Linear(3, 1), Dropout(), Linear(1, 1))
    with pytest.raises(KeyError, match=r"missing keys \['4.weight', '4.bias'\]"):
        load(wider, path)
    with pytest.raises(KeyError, match=r"unexpected keys \['2.weight', '2.bias'\]"):
        load(MLP([2, 3]), path)
    untouched = wider[4].weight.data.copy()
    load(wider, path, strict=False)
    np.testing.assert_array_equal(wider[0].weight.data, read_state(path)["0.weight"])
    np.testing.assert_array_equal(wider[4].weight.data, untouched)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.npz"
    with pytest.raises(FileNotFoundError, match=r"no weights file at .*nowhere.npz"):
        load(MLP([2, 2]), missing)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"these are not weights", "not a .npz weights archive"),
        (b"PK\x03\x04 truncated zip", "not a .npz weights archive"),
    ],
)
def test_a_file_that_is_not_npz_names_the_path(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "weights.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"{path.name} is {why}"):
        load(MLP([2, 2]), path)


def test_a_single_npy_array_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "one.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match=r"one.npy is not a .npz weights archive .*single array"):
        load(MLP([2, 2]), path)


def test_load_pretrained_gives_an_eval_model(tmp_path: Path) -> None:
    trained = Sequential(
        Linear(3, 4, rng=rng(1)), Dropout(0.5, rng=rng()), Linear(4, 1, rng=rng(2))
    )
    save(trained, tmp_path / "net.npz")
    fresh = Sequential(Linear(3, 4), Dropout(0.5, rng=rng()), Linear(4, 1))
    model = load_pretrained(fresh, tmp_path / "net.npz")
    assert model is fresh
    assert all(not module.training for module in model.modules())
    x = Tensor(rng(3).standard_normal((6, 3)))
    assert_close(model(x), trained.eval()(x), rtol=0, atol=0)


def test_a_pickled_file_is_refused_without_numpy_allow_pickle_advice(tmp_path: Path) -> None:
    objects = tmp_path / "objects.npz"
    np.savez(objects, w=np.array([{"a": 1}], dtype=object))
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94.")  # pickle of {}
    for path in (objects, pickled):
        with pytest.raises(ValueError, match="pickled Python objects") as caught:
            load(MLP([2, 2]), path)
        assert "allow_pickle" not in str(caught.value)


def test_a_wrong_architecture_names_only_the_keys_that_differ(tmp_path: Path) -> None:
    path = save(MLP([4, 8, 3], rng=rng()), tmp_path / "a.npz")
    with pytest.raises(KeyError) as caught:
        load(MLP([4, 6, 3]), path)
    text = str(caught.value)
    assert "0.weight: expected (6, 4), got (8, 4)" in text
    assert "missing keys" not in text and "unexpected keys" not in text and "[]" not in text
    assert not text.startswith(("'", '"'))  # plain text, not a quoted KeyError repr
    with pytest.raises(KeyError) as caught:
        load(MLP([4, 8, 8, 3]), path)
    text = str(caught.value)
    assert "missing keys ['4.weight', '4.bias']" in text and "unexpected keys" not in text


def test_integer_buffers_round_trip_bit_for_bit_and_refuse_a_float_file(tmp_path: Path) -> None:
    from tinytorch.layers import Module

    class Int8Layer(Module):
        def __init__(self) -> None:
            self.register_buffer("weight", Tensor(np.zeros((3, 4), dtype=np.int8)))
            self.register_buffer("scale", Tensor(np.ones(3, dtype=np.float32)))

    source = Int8Layer()
    source.weight.data[...] = rng().integers(-128, 128, (3, 4), dtype=np.int8)
    path = save(source, tmp_path / "q.npz")
    assert read_state(path)["weight"].dtype == np.int8
    assert path.stat().st_size < 4 * 12 + 4 * 3 + 1000  # bytes, not float copies
    target = load(Int8Layer(), path)
    assert target.weight.dtype == np.int8
    np.testing.assert_array_equal(target.weight.data, source.weight.data)
    np.savez(tmp_path / "float.npz", weight=np.full((3, 4), 0.7), scale=np.ones(3))
    with pytest.raises(KeyError, match=r"weight: the model holds int8, the file float64"):
        load(Int8Layer(), tmp_path / "float.npz")
