"""CharTokenizer: sorted vocabulary, round trips, the unknown-character policy, files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.tokenization import (
    CharTokenizer,
    TokenIdError,
    UnknownCharacterError,
    VocabularyFileError,
)

FAST = settings(max_examples=60, deadline=None, database=None)


def test_vocabulary_is_the_sorted_characters() -> None:
    tok = CharTokenizer.from_text("hello world")
    assert tok.chars == [" ", "d", "e", "h", "l", "o", "r", "w"]
    assert tok.vocab_size == len(tok) == 8
    assert tok.encode("hold") == [3, 5, 4, 1]
    assert tok.decode([3, 5, 4, 1]) == "hold"
    assert tok.stoi["w"] == 7 and tok.itos[0] == " "


def test_vocabulary_is_deterministic_whatever_the_order() -> None:
    a = CharTokenizer.from_text("zyx\nabc")
    b = CharTokenizer.from_text(["cba", "\n", "xyz", "aaa"])
    c = CharTokenizer("abcxyz\n")
    assert a.chars == b.chars == c.chars == ["\n", "a", "b", "c", "x", "y", "z"]
    assert a.encode("xa\n") == b.encode("xa\n") == [4, 1, 0]


@FAST
@given(st.text(max_size=200))
def test_round_trip_on_any_unicode(text: str) -> None:
    tok = CharTokenizer.from_text(text + "a")
    ids = tok.encode(text)
    assert len(ids) == len(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text
    assert tok.decode(np.array(ids, dtype=np.int64)) == text


def test_unknown_character_error_names_character_and_position() -> None:
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(UnknownCharacterError) as info:
        tok.encode("abba cab")
    message = str(info.value)
    assert "' '" in message and "position 4" in message and "unk_token" in message
    assert info.value.char == " " and info.value.position == 4
    assert isinstance(info.value, ValueError)
    with pytest.raises(UnknownCharacterError, match=r"'🙂'.*U\+1F642.*position 1"):
        tok.encode("a🙂")


def test_unknown_characters_map_to_unk_when_asked() -> None:
    tok = CharTokenizer.from_text("abc", unk_token="<unk>")
    assert tok.vocab_size == 4 and tok.unk_id == 3
    assert tok.encode("a?c!") == [0, 3, 2, 3]
    assert tok.decode(tok.encode("a?c")) == "a<unk>c"
    assert tok.token_to_id("<unk>") == 3 and tok.token_to_id("b") == 1
    assert tok.token_to_id("zz") is None


def test_special_tokens_may_not_be_characters_of_the_vocabulary() -> None:
    with pytest.raises(ValueError, match="unk_token='a'"):
        CharTokenizer.from_text("abc", unk_token="a")
    with pytest.raises(ValueError, match="both '<x>'"):
        CharTokenizer.from_text("abc", unk_token="<x>", pad_token="<x>")
    with pytest.raises(ValueError, match="single characters"):
        CharTokenizer(["ab", "c"])


def test_decode_rejects_out_of_range_ids() -> None:
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(TokenIdError, match=r"token id 3 at position 1 is out of range.*3 ids"):
        tok.decode([0, 3])
    with pytest.raises(TokenIdError, match="token id -1 at position 0"):
        tok.decode([-1])  # a negative index must not silently pick the last character
    with pytest.raises(IndexError):
        tok.decode([99])
    with pytest.raises(TypeError, match=r"integers, got 1\.0 at position 0"):
        tok.decode([1.0])  # type: ignore[list-item]
    assert tok.decode([np.int64(1), np.int32(2)]) == "bc"
    with pytest.raises(TypeError, match="1-D integer array"):
        tok.decode(np.zeros((2, 2), dtype=np.int64))


def test_save_and_load(tmp_path) -> None:
    tok = CharTokenizer.from_text("To be, or not to be", unk_token="<unk>", pad_token="<pad>")
    path = tok.save(tmp_path / "char.json")
    data = json.loads(path.read_text("utf-8"))
    assert data["format"] == "tinytorch.CharTokenizer" and data["chars"] == tok.chars
    back = CharTokenizer.load(path)
    assert back.itos == tok.itos and back.pad_id == tok.pad_id == tok.vocab_size - 1
    assert back.encode("not to be?") == tok.encode("not to be?")


def test_load_rejects_corrupt_and_foreign_files(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "tinytorch.CharTokenizer", "chars": ["a"', "utf-8")
    with pytest.raises(VocabularyFileError, match="not a JSON file"):
        CharTokenizer.load(bad)
    bad.write_text(json.dumps({"model": {"type": "BPE"}}), "utf-8")
    with pytest.raises(VocabularyFileError, match="not a CharTokenizer file"):
        CharTokenizer.load(bad)
    bad.write_text(json.dumps({"format": "tinytorch.CharTokenizer", "version": 7}), "utf-8")
    with pytest.raises(VocabularyFileError, match="version 7"):
        CharTokenizer.load(bad)
    bad.write_text(
        json.dumps({"format": "tinytorch.CharTokenizer", "version": 1, "chars": ["a", "a"]}),
        "utf-8",
    )
    with pytest.raises(VocabularyFileError, match="distinct"):
        CharTokenizer.load(bad)


def test_encode_batch_pads_with_the_pad_token() -> None:
    tok = CharTokenizer.from_text("abc", pad_token="<pad>")
    batch = tok.encode_batch(["abc", "a", ""])
    assert batch.input_ids.tolist() == [[0, 1, 2], [0, 3, 3], [3, 3, 3]]
    assert batch.attention_mask.tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert batch.input_ids.dtype == np.int64
    plain = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match="pad_id"):
        plain.encode_batch(["ab", "a"])
    assert plain.encode_batch(["ab", "ca"], padding=False).input_ids.tolist() == [[0, 1], [2, 0]]
