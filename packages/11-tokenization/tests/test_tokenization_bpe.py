"""BPETokenizer: byte-level round trips, encoding by rank, special tokens, decode errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.tokenization import (
    CL100K_SPLIT_PATTERN,
    GPT2_SPLIT_PATTERN,
    BPETokenizer,
    DisallowedSpecialTokenError,
    TokenIdError,
    merge_pair,
    split_text,
)

FAST = settings(max_examples=80, deadline=None, database=None)
SPECIALS = ["<|endoftext|>", "<pad>"]


@pytest.fixture(scope="module")
def trained(corpus: str) -> dict[str, BPETokenizer]:
    """One tokenizer per pattern, trained on the realistic corpus to 600 ids.

    Without a pre-split each line is a chunk, and a merge costs the length of the lines it
    touches (one 20 KB chunk would cost 20 KB per merge): that one learns from 30 lines.
    """
    lines = corpus.splitlines(keepends=True)[:30]
    return {
        "gpt2": BPETokenizer(GPT2_SPLIT_PATTERN, SPECIALS).train(corpus, 600, progress=False),
        "cl100k": BPETokenizer("cl100k", SPECIALS).train(corpus, 600, progress=False),
        "none": BPETokenizer(None, SPECIALS).train(lines, 600, progress=False),
    }


@FAST
@given(st.text(), st.sampled_from(["gpt2", "cl100k", "none"]))
def test_round_trip_any_unicode(trained, text: str, name: str) -> None:
    tok = trained[name]
    ids = tok.encode(text, allowed_special="none")
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text
    assert tok.decode_bytes(ids) == text.encode("utf-8")


def test_round_trip_emoji_and_scripts(trained) -> None:
    text = "Zürich 東京 🙂👍🏽🇫🇷 x² ﬁ \u0301e\u200d \x00\x7f\r\n\t end"
    for tok in trained.values():
        assert tok.decode(tok.encode(text)) == text


def test_encoding_is_deterministic_and_compresses(trained, corpus: str, heldout: str) -> None:
    tok = trained["gpt2"]
    ids = tok.encode(heldout)
    assert ids == tok.encode(heldout) == BPETokenizer.from_dict(tok.to_dict()).encode(heldout)
    assert len(ids) < 0.5 * len(heldout.encode("utf-8"))  # merges learned on similar text
    assert len(tok.encode(corpus)) < len(trained["gpt2"].with_vocab_size(300).encode(corpus))


def test_encoding_a_training_chunk_gives_its_training_segmentation() -> None:
    tok = BPETokenizer(pattern=None).train(["aaaaaaa", "abab", "ba"], 262, progress=False)
    vocab = tok.vocab
    assert [vocab[i] for i in range(256, 262)] == [b"aa", b"ab", b"ba", b"aaa", b"aaaa", b"abab"]
    assert [vocab[i] for i in tok.encode("aaaaaaa")] == [b"aaaa", b"aaa"]  # as in training


@FAST
@given(
    st.lists(st.text(alphabet="aaab c", min_size=1, max_size=40), min_size=1, max_size=6),
    st.integers(0, 40),
)
def test_encode_replays_training(texts: list[str], merges: int) -> None:
    """Training applies merge k to every chunk in turn; encoding by rank must give the same."""
    tok = BPETokenizer(pattern=None).train(texts, 256 + merges, progress=False)
    for text in texts:
        ids = list(text.encode("utf-8"))
        for rank, pair in enumerate(tok.merges):
            ids = merge_pair(ids, pair, 256 + rank)
        assert tok.encode(text) == ids


def test_first_256_ids_are_the_bytes(trained) -> None:
    tok = trained["gpt2"]
    assert all(tok.token_bytes(b) == bytes([b]) for b in range(256))
    assert BPETokenizer().encode("é🙂") == list("é🙂".encode())  # untrained: bytes only
    assert tok.token_bytes(tok.special_tokens["<pad>"]) == b"<pad>"
    assert tok.token_to_id("<pad>") == tok.pad_id == 599
    assert tok.token_to_id("a") == ord("a") and tok.token_to_id("zzzz-not-a-token") is None


def test_special_tokens_are_disallowed_by_default(trained) -> None:
    tok = trained["gpt2"]
    with pytest.raises(DisallowedSpecialTokenError) as info:
        tok.encode("hello <|endoftext|> world")
    message = str(info.value)
    assert "'<|endoftext|>'" in message and "character 6" in message
    assert "allowed_special" in message and "598" in message
    assert info.value.token == "<|endoftext|>" and isinstance(info.value, ValueError)


def test_allowed_special_policies(trained) -> None:
    tok = trained["gpt2"]
    eot, pad = tok.special_tokens["<|endoftext|>"], tok.special_tokens["<pad>"]
    text = "a<|endoftext|>b<pad>"
    plain = tok.encode_ordinary(text)
    assert eot not in plain and pad not in plain
    assert tok.encode(text, allowed_special="all") == [*tok.encode("a"), eot, *tok.encode("b"), pad]
    assert tok.encode(text, allowed_special="none") == plain
    assert tok.encode(text, disallowed_special=()) == plain
    assert tok.encode(text, allowed_special={"<|endoftext|>"}, disallowed_special=()) == [
        *tok.encode("a"),
        eot,
        *tok.encode_ordinary("b<pad>"),
    ]
    with pytest.raises(DisallowedSpecialTokenError, match="'<pad>'"):
        tok.encode(text, allowed_special={"<|endoftext|>"})
    with pytest.raises(DisallowedSpecialTokenError, match=r"'<\|endoftext\|>'"):
        tok.encode(text, allowed_special="none_raise")
    with pytest.raises(ValueError, match=r"\['<eos>'\].*not special tokens"):
        tok.encode(text, allowed_special={"<eos>"})
    with pytest.raises(ValueError, match="is not a policy"):
        tok.encode(text, allowed_special="<pad>")  # type: ignore[arg-type]
    assert tok.decode(tok.encode(text, allowed_special="all")) == text


def test_text_without_special_tokens_is_unaffected(trained, heldout: str) -> None:
    tok = trained["gpt2"]
    assert tok.encode(heldout, allowed_special="all") == tok.encode_ordinary(heldout)


def test_decode_errors(trained) -> None:
    tok = trained["gpt2"]
    with pytest.raises(TokenIdError, match=r"token id 600 at position 2 is out of range.*600 ids"):
        tok.decode([104, 105, 600])
    with pytest.raises(TokenIdError, match="token id -3 at position 0"):
        tok.decode([-3, 104])
    with pytest.raises(IndexError):
        tok.decode([10**9])
    assert tok.decode(np.array([104, 105], dtype=np.int32)) == "hi"
    assert tok.decode([]) == ""
    with pytest.raises(TypeError, match=r"integers, got 1\.5 at position 1"):
        tok.decode([104, 1.5])  # type: ignore[list-item]
    assert tok.decode([0xE6]) == "\ufffd"  # a cut UTF-8 character
    with pytest.raises(UnicodeDecodeError):
        tok.decode([0xE6], errors="strict")


def test_the_chunk_cache_changes_nothing_but_speed(trained, heldout: str) -> None:
    tok = BPETokenizer.from_dict(trained["gpt2"].to_dict())
    tok.cache_size = 50  # forces the cache to be emptied again and again
    first = tok.encode(heldout)
    assert 0 < len(tok._cache) <= 50
    tok.clear_cache()
    assert tok._cache == {} and tok.encode(heldout) == first == trained["gpt2"].encode(heldout)


def test_long_chunks_without_pre_split(trained, corpus: str) -> None:
    tok = trained["none"]
    text = corpus[:20_000]  # one chunk of 20,000 bytes: the heap merge, not O(n^2) passes
    ids = tok.encode(text)
    assert tok.decode(ids) == text and len(ids) < len(text.encode("utf-8")) / 2


def test_split_patterns() -> None:
    text = "I'll say HELLO'S 12345 world!!  \n\n  ok"
    assert split_text(text, GPT2_SPLIT_PATTERN) == [
        "I",
        "'ll",
        " say",
        " HELLO",
        "'",
        "S",
        " 12345",
        " world",
        "!!",
        "  \n\n ",
        " ok",
    ]
    assert split_text(text, CL100K_SPLIT_PATTERN) == [  # "'S" (any case), digits by 3
        "I",
        "'ll",
        " say",
        " HELLO",
        "'S",
        " ",
        "123",
        "45",
        " world",
        "!!",
        "  \n\n",
        " ",
        " ok",
    ]
    assert split_text(text, None) == [text] and split_text("", None) == []
    assert "".join(split_text(text, "cl100k")) == text
    with pytest.raises(ValueError, match="not a valid regular expression"):
        BPETokenizer(pattern="(unclosed")


def test_constructor_errors() -> None:
    with pytest.raises(TypeError, match="special_tokens=\\['<pad>'\\]"):
        BPETokenizer(special_tokens="<pad>")
    with pytest.raises(ValueError, match="duplicates"):
        BPETokenizer(special_tokens=["<a>", "<a>"])
    with pytest.raises(ValueError, match="already the token"):
        BPETokenizer(special_tokens={"<a>": 65})
    with pytest.raises(TypeError, match="expected a str"):
        BPETokenizer().encode(b"bytes")  # type: ignore[arg-type]
    assert "vocab_size=257" in repr(BPETokenizer(special_tokens=["<a>"]))
