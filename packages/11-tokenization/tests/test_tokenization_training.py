"""Training: the incremental trainer learns exactly the naive oracle's merges, by the
documented rule (count, then HF's tie order), and the errors and edge cases."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.tokenization import (
    CL100K_SPLIT_PATTERN,
    GPT2_SPLIT_PATTERN,
    HF_BYTE_ORDER,
    BPETokenizer,
    VocabSizeError,
    count_chunks,
    pair_order,
    train_bpe,
    train_bpe_naive,
)

FAST = settings(max_examples=200, deadline=None, database=None)
PATTERNS = st.sampled_from([GPT2_SPLIT_PATTERN, CL100K_SPLIT_PATTERN, None])
# few distinct characters, so that pairs repeat, runs form, and ties are common
repetitive = st.text(alphabet=st.sampled_from(list("aaaabbc d\n.'é🙂")), max_size=300)


@FAST
@given(
    st.lists(repetitive | st.text(max_size=60), min_size=1, max_size=5),
    PATTERNS,
    st.integers(0, 80),
)
def test_incremental_equals_naive_on_random_texts(texts, pattern, merges) -> None:
    chunks = count_chunks(texts, pattern)
    learned = train_bpe(chunks, merges)
    assert learned == train_bpe_naive(chunks, merges)
    vocab = [bytes([b]) for b in range(256)]
    for left, right in learned:
        vocab.append(vocab[left] + vocab[right])
    assert len(set(vocab)) == len(vocab)  # every merge made a new token


def test_incremental_equals_naive_on_realistic_text(corpus: str) -> None:
    chunks = count_chunks(corpus, GPT2_SPLIT_PATTERN)
    fast = train_bpe(chunks, 400)
    assert len(fast) == 400
    assert fast == train_bpe_naive(chunks, 400)
    naive = BPETokenizer().train(corpus[:5000], 400, algorithm="naive", progress=False)
    incremental = BPETokenizer().train(corpus[:5000], 400, progress=False)
    assert naive.merges == incremental.merges


def test_first_merge_is_the_most_frequent_pair() -> None:
    tok = BPETokenizer(pattern=None).train(["hello", "yellow", "mellow", "hi"], 257)
    assert tok.merges == [(ord("e"), ord("l"))]  # "el" 3x, "ll" 3x, "lo" 3x: ties, see below
    assert tok.vocab[256] == b"el"


def test_ties_follow_hugging_face_id_order() -> None:
    # each pair occurs once: the order is (order(left), order(right)) ascending, where printable
    # bytes come first by value and the others (space, newline, ...) after every printable one
    assert HF_BYTE_ORDER[ord("!")] == 0 and HF_BYTE_ORDER[0] == 188
    assert HF_BYTE_ORDER[ord(" ")] == 188 + 32 and HF_BYTE_ORDER[255] == 187
    assert pair_order((ord("b"), ord("a"))) < pair_order((ord(" "), ord("a")))
    assert pair_order((300, 1)) > pair_order((255, 255))
    tok = BPETokenizer(pattern=None).train([" a", "ba", "ab", "\na"], 260, progress=False)
    assert [tok.vocab[256 + k] for k in range(4)] == [b"ab", b"ba", b"\na", b" a"]  # 10 < 32


def test_repeated_tokens_counted_without_overlap() -> None:
    # "aaa" holds ONE (a, a) merge, not two: 10 x "aaa" (10) loses to 15 x "bc" (15);
    # counting overlapping pairs (Hugging Face's trainer does) would give (a, a) 20
    tok = BPETokenizer(pattern=None).train(["aaa"] * 10 + ["bc"] * 15, 257, progress=False)
    assert tok.merges == [(ord("b"), ord("c"))]
    tok = BPETokenizer(pattern=None).train(["aaaa"] * 10 + ["bc"] * 15, 258, progress=False)
    assert tok.merges == [(ord("a"), ord("a")), (ord("b"), ord("c"))]  # 20 > 15
    assert tok.encode("aaaa") == [256, 256]
    assert tok.encode("aaaaa") == [256, 256, ord("a")]


def test_training_stops_when_nothing_is_left_to_merge() -> None:
    tok = BPETokenizer().train("ab ab ab", 1000, progress=False)
    assert tok.merges == [(ord("a"), ord("b")), (ord(" "), 256)]  # then each chunk is 1 token
    assert tok.vocab_size == 258
    assert tok.encode("ab ab") == [256, 257]


def test_special_tokens_are_cut_out_and_numbered_after_the_merges() -> None:
    tok = BPETokenizer(special_tokens=["<|endoftext|>", "<pad>"])
    tok.train("hello<|endoftext|>hello<|endoftext|>hello", 262, progress=False)
    assert tok.vocab_size == 262 and len(tok.merges) == 4
    assert tok.special_tokens == {"<|endoftext|>": 260, "<pad>": 261}
    assert all(
        b"<" not in token and b"|" not in token for token in tok.vocab.values() if len(token) > 1
    )
    assert Counter(count_chunks(["a<s>b<s>"], None, ["<s>"])) == {b"a": 1, b"b": 1}


def test_iterator_of_texts() -> None:
    lines = ["the cat sat\n", "on the mat\n"] * 20
    a = BPETokenizer().train(iter(lines), 280, progress=False)
    b = BPETokenizer().train("".join(lines), 280, progress=False)
    assert a.merges == b.merges  # GPT-2's pattern never crosses the line ends here anyway


def test_vocab_size_errors() -> None:
    with pytest.raises(VocabSizeError, match=r"vocab_size=200 is too small.*256 byte tokens"):
        BPETokenizer().train("abc", 200)
    tok = BPETokenizer(special_tokens=["<|endoftext|>"])
    with pytest.raises(VocabSizeError, match=r"1 special token\(s\).*vocab_size >= 257"):
        tok.train("abc", 256)
    assert tok.train("abc", 257, progress=False).vocab_size == 257  # zero merges is fine
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        BPETokenizer().train("abc", 300.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="algorithm"):
        BPETokenizer().train("abc", 300, algorithm="fast")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="iterable of str"):
        BPETokenizer().train([b"bytes"], 300)  # type: ignore[list-item]


def test_with_vocab_size_is_the_shorter_training(corpus: str) -> None:
    big = BPETokenizer(special_tokens=["<|endoftext|>"]).train(corpus, 600, progress=False)
    small = BPETokenizer(special_tokens=["<|endoftext|>"]).train(corpus, 400, progress=False)
    cut = big.with_vocab_size(400)
    assert cut.merges == small.merges and cut.special_tokens == small.special_tokens
    assert cut.encode(corpus[:3000]) == small.encode(corpus[:3000])
    with pytest.raises(VocabSizeError):
        big.with_vocab_size(601)
