"""Text in, text out: prompts through a tokenizer, streamed pieces, multi-byte characters."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.generation import generate_text, stream_text
from tinytorch.tokenization import BPETokenizer, CharTokenizer


def test_stream_text_with_characters(models: Any) -> None:
    tok = CharTokenizer(list("abcd"))
    model = models.Successor(4)  # a -> b -> c -> d -> a
    pieces = list(stream_text(model, tok, "ab", 5, temperature=0))
    assert pieces == ["c", "d", "a", "b", "c"]
    assert generate_text(model, tok, "d", 3, temperature=0) == "dabc"
    assert generate_text(model, tok, "a", 10, temperature=0, stop=tok.encode("c")) == "abc"


def test_stream_text_never_splits_a_utf8_character(models: Any) -> None:
    tok = BPETokenizer()  # no merges: one token per byte, so "é" is two tokens
    text = "hé!"
    data = list(text.encode("utf-8"))  # 68 C3 A9 21
    table = np.arange(256)
    table[data[:-1]] = data[1:]
    model = models.Successor(256, table=table)
    pieces = list(stream_text(model, tok, "h", 3, temperature=0))
    assert pieces == ["é", "!"]  # C3 alone prints nothing: it waits for A9
    assert generate_text(model, tok, "h", 3, temperature=0) == text
    cut = list(stream_text(model, tok, "h", 1, temperature=0))
    assert cut == ["\ufffd"]  # a stream ending mid-character flushes a replacement character


def test_empty_prompt_is_refused(models: Any) -> None:
    with pytest.raises(ValueError, match="at least one character"):
        generate_text(models.Successor(4), CharTokenizer(list("abcd")), "", 3)
