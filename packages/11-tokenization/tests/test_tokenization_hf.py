"""Against Hugging Face tokenizers: its ``BPE`` model loaded from our vocab.json + merges.txt
(ByteLevel pre-tokenizer and decoder) encodes exactly as we do, and its ``BpeTrainer`` learns
exactly our merges where the two counting rules agree."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.tokenization import GPT2_SPLIT_PATTERN, BPETokenizer, token_to_unicode

tokenizers = pytest.importorskip(
    "tokenizers", reason="Hugging Face tokenizers is in the test extra: pip install tokenizers"
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
    return {"gpt2": BPETokenizer(GPT2_SPLIT_PATTERN, SPECIALS).train(corpus, 800, progress=False)}


def hf_tokenizer(tok: BPETokenizer, folder, use_regex: bool = True):
    vocab, merges = tok.save_gpt2(folder)
    model = tokenizers.models.BPE.from_file(str(vocab), str(merges))
    hf = tokenizers.Tokenizer(model)
    hf.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(
        add_prefix_space=False, use_regex=use_regex
    )
    hf.decoder = tokenizers.decoders.ByteLevel()
    return hf


@pytest.fixture(scope="module")
def hf(ours: dict[str, BPETokenizer], tmp_path_factory):
    return hf_tokenizer(ours["gpt2"], tmp_path_factory.mktemp("hf"))


def test_hf_bpe_equal_on_realistic_text(ours, hf, heldout: str, corpus: str) -> None:
    tok = ours["gpt2"]
    for text in (heldout, corpus[:30_000]):
        assert hf.encode(text).ids == tok.encode(text)
    assert hf.decode(tok.encode(heldout)) == heldout


@FAST
@given(random_texts)
def test_hf_bpe_equal_on_random_text(ours, hf, text: str) -> None:
    assert hf.encode(text).ids == ours["gpt2"].encode(text, allowed_special="none")


def test_hf_bpe_without_pre_split(corpus: str, heldout: str, tmp_path) -> None:
    lines = corpus.splitlines()[:30]  # pattern=None: each line is a chunk when training
    tok = BPETokenizer(pattern=None).train(lines, 600, progress=False)
    hf = hf_tokenizer(tok, tmp_path, use_regex=False)
    for line in heldout.splitlines()[:40]:
        assert hf.encode(line).ids == tok.encode(line)


def hf_train(text: str, vocab_size: int) -> list[list[str]]:
    hf = tokenizers.Tokenizer(tokenizers.models.BPE())
    hf.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size,
        show_progress=False,
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
    )
    hf.train_from_iterator([text], trainer=trainer)
    merges = json.loads(hf.to_str())["model"]["merges"]
    return [m.split(" ") if isinstance(m, str) else list(m) for m in merges]


def our_merges(tok: BPETokenizer) -> list[list[str]]:
    vocab = tok.vocab
    return [[token_to_unicode(vocab[a]), token_to_unicode(vocab[b])] for a, b in tok.merges]


def test_hf_bpe_trainer_learns_our_merges(texts) -> None:
    """Without runs of three equal tokens the pair counts of both trainers agree, and so must
    the tie-break: HF's BpeTrainer learns exactly our merges, in the same order."""
    text = texts.distinct(seed=3, n_words=4000)
    tok = BPETokenizer().train(text, 700, progress=False)
    assert len(tok.merges) > 300  # the lexicon is exhausted before 700
    assert our_merges(tok) == hf_train(text, 700)
