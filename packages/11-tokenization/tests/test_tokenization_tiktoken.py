"""Against tiktoken: an ``Encoding`` built from our mergeable ranks, pattern and special
tokens must encode exactly as we do, and apply the same special-token policy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.tokenization import CL100K_SPLIT_PATTERN, GPT2_SPLIT_PATTERN, BPETokenizer

tiktoken = pytest.importorskip(
    "tiktoken", reason="tiktoken is in the test extra: pip install tiktoken"
)

FAST = settings(max_examples=80, deadline=None, database=None)
SPECIALS = ["<|endoftext|>", "<pad>"]
# characters assigned in the Unicode version of this Python (3.11: 14.0), which every regex
# engine here knows: a newer character may be a letter for one engine and unassigned for another
assigned = st.characters(exclude_categories=("Cs", "Cn", "Co"))
english = st.text(alphabet=st.sampled_from(list("the quick brown fox  THE\n\t.,'!?0123 é🙂")))
random_texts = st.text(alphabet=assigned, max_size=80) | english


@pytest.fixture(scope="module")
def ours(corpus: str) -> dict[str, BPETokenizer]:
    return {
        "gpt2": BPETokenizer(GPT2_SPLIT_PATTERN, SPECIALS).train(corpus, 800, progress=False),
        "cl100k": BPETokenizer(CL100K_SPLIT_PATTERN, SPECIALS).train(corpus, 800, progress=False),
    }


@pytest.fixture(scope="module")
def tik(ours: dict[str, BPETokenizer]) -> dict[str, object]:
    return {
        name: tiktoken.Encoding(
            name=f"tinytorch-{name}",
            pat_str=tok.pattern,
            mergeable_ranks=tok.mergeable_ranks(),
            special_tokens=tok.special_tokens,
        )
        for name, tok in ours.items()
    }


@pytest.mark.parametrize("name", ["gpt2", "cl100k"])
def test_tiktoken_equal_on_realistic_text(ours, tik, heldout: str, corpus: str, name) -> None:
    for text in (heldout, corpus[:30_000]):
        assert ours[name].encode(text) == tik[name].encode(text)
    assert ours[name].decode(tik[name].encode(heldout)) == heldout


@FAST
@given(random_texts, st.sampled_from(["gpt2", "cl100k"]))
def test_tiktoken_equal_on_random_text(ours, tik, text: str, name: str) -> None:
    assert ours[name].encode(text, allowed_special="none") == tik[name].encode_ordinary(text)


def test_tiktoken_special_token_policy(ours, tik) -> None:
    tok, enc = ours["gpt2"], tik["gpt2"]
    text = "the end<|endoftext|>new <pad> start"
    assert tok.encode(text, allowed_special="all") == enc.encode(text, allowed_special="all")
    assert tok.encode(text, allowed_special={"<pad>"}, disallowed_special=()) == enc.encode(
        text, allowed_special={"<pad>"}, disallowed_special=()
    )
    assert tok.encode(text, disallowed_special=()) == enc.encode(text, disallowed_special=())
    with pytest.raises(ValueError):
        enc.encode(text)
    with pytest.raises(ValueError, match=r"<\|endoftext\|>.*allowed_special"):
        tok.encode(text)


def test_tiktoken_ranks_load_back(ours) -> None:
    """The ranks of a tiktoken Encoding (what a .tiktoken file holds) give our tokenizer back."""
    tok = ours["cl100k"]
    enc = tiktoken.Encoding(
        name="x", pat_str=tok.pattern, mergeable_ranks=tok.mergeable_ranks(), special_tokens={}
    )
    back = BPETokenizer.from_mergeable_ranks(enc._mergeable_ranks, pattern=CL100K_SPLIT_PATTERN)
    assert back.merges == tok.merges
