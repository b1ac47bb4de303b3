"""encode_batch / pad_batch: truncation and padding on either side, masks, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.tokenization import BatchEncoding, BPETokenizer, TokenIdError, pad_batch

FAST = settings(max_examples=80, deadline=None, database=None)
ROWS = [[1, 2, 3, 4, 5], [6, 7], []]


def test_pad_right_to_longest() -> None:
    batch = pad_batch(ROWS, pad_id=0)
    assert isinstance(batch, BatchEncoding) and batch.shape == (3, 5)
    assert batch.input_ids.tolist() == [[1, 2, 3, 4, 5], [6, 7, 0, 0, 0], [0, 0, 0, 0, 0]]
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]]
    assert batch.input_ids.dtype == batch.attention_mask.dtype == np.int64
    assert batch.lengths.tolist() == [5, 2, 0]
    assert batch["input_ids"] is batch.input_ids and dict(batch).keys() == {
        "input_ids",
        "attention_mask",
    }


def test_pad_left_and_truncate_left() -> None:
    batch = pad_batch(
        ROWS, pad_id=9, padding_side="left", truncation=True, max_length=3, truncation_side="left"
    )
    assert batch.input_ids.tolist() == [[3, 4, 5], [9, 6, 7], [9, 9, 9]]
    assert batch.attention_mask.tolist() == [[1, 1, 1], [0, 1, 1], [0, 0, 0]]


def test_max_length_padding_and_right_truncation() -> None:
    batch = pad_batch(
        ROWS, pad_id=0, padding="max_length", truncation=True, max_length=4, dtype=np.int32
    )
    assert batch.input_ids.tolist() == [[1, 2, 3, 4], [6, 7, 0, 0], [0, 0, 0, 0]]
    assert batch.input_ids.dtype == np.int32
    wide = pad_batch([[1]], pad_id=0, padding="max_length", max_length=3)
    assert wide.input_ids.tolist() == [[1, 0, 0]]
    assert pad_batch([], pad_id=0, padding="max_length", max_length=2).shape == (0, 2)


def test_no_padding_needs_equal_lengths() -> None:
    assert pad_batch([[1, 2], [3, 4]], padding=False).input_ids.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match=r"same length, got lengths \[0, 2, 5\]"):
        pad_batch(ROWS, padding=False)
    cut = pad_batch(ROWS[:2], padding=False, truncation=True, max_length=2)
    assert cut.input_ids.tolist() == [[1, 2], [6, 7]]


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match="needs a pad id"):
        pad_batch(ROWS)
    with pytest.raises(ValueError, match="truncation=True needs max_length"):
        pad_batch(ROWS, pad_id=0, truncation=True)
    with pytest.raises(ValueError, match="padding='max_length' needs max_length"):
        pad_batch(ROWS, pad_id=0, padding="max_length")
    with pytest.raises(ValueError, match="padding_side must be 'right' or 'left'"):
        pad_batch(ROWS, pad_id=0, padding_side="middle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="padding must be"):
        pad_batch(ROWS, pad_id=0, padding="shortest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_length must be"):
        pad_batch(ROWS, pad_id=0, max_length=-1)


@FAST
@given(
    st.lists(st.lists(st.integers(1, 50), max_size=12), max_size=6),
    st.sampled_from(["right", "left"]),
    st.sampled_from(["right", "left"]),
    st.none() | st.integers(0, 8),
)
def test_mask_selects_the_kept_tokens(rows, padding_side, truncation_side, max_length) -> None:
    batch = pad_batch(
        rows,
        pad_id=0,
        padding_side=padding_side,
        truncation=max_length is not None,
        max_length=max_length,
        truncation_side=truncation_side,
    )
    for row, ids, mask in zip(rows, batch.input_ids, batch.attention_mask, strict=True):
        kept = (
            row
            if max_length is None
            else (
                row[:max_length]
                if truncation_side == "right"
                else row[max(0, len(row) - max_length) :]
            )
        )
        assert ids[mask == 1].tolist() == kept
        assert (ids[mask == 0] == 0).all()
        real = np.flatnonzero(mask)
        if len(real):  # the real tokens are contiguous, at the chosen side
            assert real[-1] - real[0] + 1 == len(real)
            assert (real[0] == 0) if padding_side == "right" else (real[-1] == mask.size - 1)


def test_bpe_encode_batch(corpus: str) -> None:
    tok = BPETokenizer(special_tokens=["<|endoftext|>", "<pad>"]).train(corpus, 400, progress=False)
    texts = ["the king", "thou art the queen of the night<|endoftext|>", ""]
    batch = tok.encode_batch(texts, allowed_special="all")
    pad = tok.special_tokens["<pad>"]
    for text, ids, mask in zip(texts, batch.input_ids, batch.attention_mask, strict=True):
        assert ids[mask == 1].tolist() == tok.encode(text, allowed_special="all")
        assert (ids[mask == 0] == pad).all()
    eot = tok.encode_batch(
        texts[:2], pad_token="<|endoftext|>", allowed_special="all", padding_side="left"
    )
    assert eot.input_ids[0, 0] == tok.special_tokens["<|endoftext|>"]
    assert (
        tok.encode_batch(texts, pad_id=0, allowed_special="all").input_ids[2].tolist()
        == [0] * batch.shape[1]
    )
    with pytest.raises(TokenIdError, match="pad_id"):
        tok.encode_batch(texts, pad_id=tok.vocab_size, allowed_special="all")
    with pytest.raises(ValueError, match="pad_token='<eos>' is not a token"):
        tok.encode_batch(texts, pad_token="<eos>", allowed_special="all")
    with pytest.raises(TypeError, match="list of texts"):
        tok.encode_batch("one text")  # type: ignore[arg-type]
    ids = tok.encode_batch(["a b c d e f"] * 2, truncation=True, max_length=3).input_ids
    assert ids.shape == (2, 3) and ids[0].tolist() == tok.encode("a b c d e f")[:3]
