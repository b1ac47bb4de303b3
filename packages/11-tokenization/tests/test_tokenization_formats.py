"""Files: our JSON, GPT-2's vocab.json + merges.txt, tiktoken's ranks and .tiktoken file;
round trips, and clear errors for corrupt or foreign files."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.tokenization import (
    BPETokenizer,
    VocabularyFileError,
    bytes_to_unicode,
    merges_from_ranks,
    read_tiktoken_file,
    token_to_unicode,
    unicode_to_bytes,
)

SPECIALS = ["<|endoftext|>", "<pad>"]
repetitive = st.text(alphabet=st.sampled_from(list("aaaabbc d\n.'é🙂")), max_size=300)


@pytest.fixture(scope="module")
def tok(corpus: str) -> BPETokenizer:
    return BPETokenizer(special_tokens=SPECIALS).train(corpus, 700, progress=False)


def test_bytes_to_unicode_is_gpt2s_map() -> None:
    table = bytes_to_unicode()
    assert len(table) == 256 and len(set(table.values())) == 256
    assert table[ord("!")] == "!" and table[ord("A")] == "A" and table[255] == "ÿ"
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[0] == "Ā"
    assert table[127] == "ġ" and table[173] == "Ń"  # DEL and the soft hyphen: the last ones
    assert all(char.isprintable() and not char.isspace() for char in table.values())
    assert unicode_to_bytes()["Ġ"] == 32
    assert token_to_unicode(b" the\n") == "ĠtheĊ"


def test_json_save_load(tok: BPETokenizer, heldout: str, tmp_path) -> None:
    path = tok.save(tmp_path / "tok.json")
    text = path.read_text("utf-8")
    assert '"format": "tinytorch.BPETokenizer"' in text
    assert text.count("\n") > len(tok.merges)  # one merge per line: readable
    first = json.loads(text)["merges"][0]
    assert first[:3] == [*tok.merges[0], 256] and first[3] == tok.vocab[256].decode()
    back = BPETokenizer.load(path)
    assert back.merges == tok.merges and back.special_tokens == tok.special_tokens
    assert back.pattern == tok.pattern
    assert back.encode(heldout, allowed_special="all") == tok.encode(heldout, allowed_special="all")
    empty = BPETokenizer(pattern=None).save(tmp_path / "empty.json")
    assert BPETokenizer.load(empty).vocab_size == 256 and BPETokenizer.load(empty).pattern is None


def test_json_load_errors(tok: BPETokenizer, tmp_path) -> None:
    path = tmp_path / "bad.json"
    good = tok.to_dict()
    path.write_text(json.dumps(good)[:500], "utf-8")  # truncated
    with pytest.raises(VocabularyFileError, match=r"not a JSON file.*truncated"):
        BPETokenizer.load(path)
    path.write_text(json.dumps({"version": "1.0", "model": {"type": "BPE"}}), "utf-8")
    with pytest.raises(VocabularyFileError, match=r"Hugging Face tokenizer.json.*from_gpt2"):
        BPETokenizer.load(path)
    path.write_text(json.dumps({"format": "tinytorch.CharTokenizer", "version": 1}), "utf-8")
    with pytest.raises(VocabularyFileError, match=r"CharTokenizer.load"):
        BPETokenizer.load(path)
    path.write_text(json.dumps({**good, "version": 2}), "utf-8")
    with pytest.raises(VocabularyFileError, match="version 2"):
        BPETokenizer.load(path)
    path.write_text(json.dumps({**good, "merges": [[1, 2]]}), "utf-8")
    with pytest.raises(VocabularyFileError, match="corrupt"):
        BPETokenizer.load(path)
    path.write_text(json.dumps({**good, "merges": [[1, 2, 256], [256, 999, 257]]}), "utf-8")
    with pytest.raises(VocabularyFileError, match="uses an id that no byte or earlier merge"):
        BPETokenizer.load(path)
    path.write_text(json.dumps({**good, "merges": [[1, 2, 256], [1, 2, 257]]}), "utf-8")
    with pytest.raises(VocabularyFileError, match="merged twice"):
        BPETokenizer.load(path)
    path.write_text(json.dumps({**good, "special_tokens": {"<a>": 3}}), "utf-8")
    with pytest.raises(VocabularyFileError, match="already the token"):
        BPETokenizer.load(path)


def test_gpt2_files_round_trip(tok: BPETokenizer, heldout: str, tmp_path) -> None:
    vocab_path, merges_path = tok.save_gpt2(tmp_path)
    vocab = json.loads(vocab_path.read_text("utf-8"))
    lines = merges_path.read_text("utf-8").splitlines()
    assert lines[0] == "#version: 0.2" and len(lines) == 1 + len(tok.merges)
    left, right = tok.merges[0]
    assert lines[1] == f"{token_to_unicode(tok.vocab[left])} {token_to_unicode(tok.vocab[right])}"
    assert vocab["Ġ"] == 32 and vocab["<|endoftext|>"] == tok.special_tokens["<|endoftext|>"]
    assert len(vocab) == tok.vocab_size
    back = BPETokenizer.from_gpt2(vocab_path, merges_path)
    assert back.merges == tok.merges and back.special_tokens == tok.special_tokens
    assert back.encode(heldout) == tok.encode(heldout)
    only = BPETokenizer.from_gpt2(vocab_path, merges_path, special_tokens=["<pad>"])
    assert only.special_tokens == {"<pad>": tok.special_tokens["<pad>"]}


def test_gpt2_files_with_permuted_byte_ids(tmp_path) -> None:
    """OpenAI's GPT-2 files number the bytes in byte-to-unicode order ('!' = 0): still fine."""
    table = bytes_to_unicode()
    order = sorted(range(256), key=lambda b: table[b])
    vocab = {table[b]: i for i, b in enumerate(order)}
    vocab.update({"Ġt": 256, "he": 257, "Ġthe": 258, "<|endoftext|>": 259})
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), "utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\nĠ t\nh e\nĠt he\n", "utf-8")
    tok = BPETokenizer.from_gpt2(tmp_path / "vocab.json", tmp_path / "merges.txt")
    assert tok.encode(" the!") == [258, 0] and tok.decode([258, 0]) == " the!"
    assert tok.special_tokens == {"<|endoftext|>": 259}
    assert BPETokenizer.load(tok.save(tmp_path / "t.json")).encode(" the!") == [258, 0]
    ranks = tok.mergeable_ranks()
    assert ranks[b"!"] == 0 and ranks[b" the"] == 258
    assert BPETokenizer.from_mergeable_ranks(ranks).merges == tok.merges


def test_gpt2_file_errors(tok: BPETokenizer, tmp_path) -> None:
    vocab_path, merges_path = tok.save_gpt2(tmp_path)
    bad = tmp_path / "bad.txt"
    bad.write_text("#version: 0.2\nĠ t\nthis line has three\n", "utf-8")
    with pytest.raises(VocabularyFileError, match="line 3: expected two tokens"):
        BPETokenizer.from_gpt2(vocab_path, bad)
    bad.write_text("#version: 0.2\nĠ t\nĠqqq zzz\n", "utf-8")
    with pytest.raises(VocabularyFileError, match=r"'Ġqqq' is not in vocab.json"):
        BPETokenizer.from_gpt2(vocab_path, bad)
    foreign = tmp_path / "wordpiece.json"
    foreign.write_text(json.dumps({"[PAD]": 0, "the": 1, "##s": 2}), "utf-8")
    with pytest.raises(VocabularyFileError, match="not a byte-level vocabulary"):
        BPETokenizer.from_gpt2(foreign, merges_path)
    foreign.write_text(json.dumps(["a", "b"]), "utf-8")
    with pytest.raises(VocabularyFileError, match=r"not a GPT-2 vocab.json"):
        BPETokenizer.from_gpt2(foreign, merges_path)
    foreign.write_text("{not json", "utf-8")
    with pytest.raises(VocabularyFileError, match="not a JSON file"):
        BPETokenizer.from_gpt2(foreign, merges_path)
    with pytest.raises(VocabularyFileError, match=r"\['<eos>'\] are not in"):
        BPETokenizer.from_gpt2(vocab_path, merges_path, special_tokens=["<eos>"])


def test_tiktoken_ranks_round_trip(tok: BPETokenizer, heldout: str, tmp_path) -> None:
    ranks = tok.mergeable_ranks()
    assert len(ranks) == tok.vocab_size - len(SPECIALS)
    assert all(ranks[bytes([b])] == b for b in range(256))
    assert ranks[tok.vocab[300]] == 300
    byte_ids, merges = merges_from_ranks(ranks)
    assert byte_ids == list(range(256)) and [m[:2] for m in merges] == tok.merges
    path = tok.save_tiktoken(tmp_path / "tok.tiktoken")
    first = path.read_text("ascii").splitlines()[0]
    assert first == f"{base64.b64encode(bytes([0])).decode()} 0"
    assert read_tiktoken_file(path) == ranks
    back = BPETokenizer.from_tiktoken_file(path, tok.pattern, tok.special_tokens)
    assert back.merges == tok.merges and back.special_tokens == tok.special_tokens
    assert back.encode(heldout, allowed_special="all") == tok.encode(heldout, allowed_special="all")


def test_tiktoken_file_errors(tok: BPETokenizer, tmp_path) -> None:
    path = tok.save_tiktoken(tmp_path / "tok.tiktoken")
    lines = path.read_text("ascii").splitlines()
    bad = tmp_path / "bad.tiktoken"
    bad.write_text("\n".join([*lines[:5], "IQ== x"]), "ascii")
    with pytest.raises(VocabularyFileError, match="line 6: expected 'base64 rank'"):
        BPETokenizer.from_tiktoken_file(bad)
    bad.write_text("\n".join([*lines[:5], "***notbase64 5"]), "ascii")
    with pytest.raises(VocabularyFileError, match=r"line 6.*not base64"):
        BPETokenizer.from_tiktoken_file(bad)
    bad.write_text("\n".join(lines[:5]), "ascii")  # truncated: most bytes missing
    with pytest.raises(VocabularyFileError, match="251 single bytes have no rank"):
        BPETokenizer.from_tiktoken_file(bad)
    bad.write_bytes(b"\xff\xfe binary")
    with pytest.raises(VocabularyFileError, match=r"not a .tiktoken file"):
        BPETokenizer.from_tiktoken_file(bad)
    ranks = tok.mergeable_ranks()
    ranks[b"\x00\x01\x02"] = len(ranks) + 5  # no lower-ranked pair builds it
    with pytest.raises(VocabularyFileError, match="is not the merge of two tokens of lower rank"):
        BPETokenizer.from_mergeable_ranks(ranks)


def test_gpt2_export_refuses_a_special_token_spelled_like_a_token(tmp_path) -> None:
    ranks = {bytes([b]): b for b in range(256)}
    tok = BPETokenizer.from_mergeable_ranks(ranks, special_tokens={"!": 256})
    assert tok.encode("!!", allowed_special="all") == [256, 256]
    with pytest.raises(ValueError, match=r"special token '!' .* spelled like the ordinary token"):
        tok.save_gpt2(tmp_path)


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(repetitive | st.text(max_size=60), min_size=1, max_size=5), st.integers(0, 80))
def test_merges_recovered_from_ranks_of_any_training(texts: list[str], merges: int) -> None:
    """A rank table holds no merge list: splitting each token with the lower ranks must find
    the merge training made (runs of equal tokens included)."""
    tok = BPETokenizer(pattern=None).train(texts, 256 + merges, progress=False)
    back = BPETokenizer.from_mergeable_ranks(tok.mergeable_ranks(), pattern=None)
    assert back.merges == tok.merges
