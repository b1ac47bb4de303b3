"""Texts the tests generate themselves: English-like prose with the things tokenizers trip on."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "that",
    "is",
    "was",
    "he",
    "for",
    "it",
    "with",
    "as",
    "his",
    "on",
    "be",
    "at",
    "by",
    "I",
    "had",
    "not",
    "are",
    "but",
    "from",
    "or",
    "have",
    "an",
    "they",
    "which",
    "one",
    "you",
    "were",
    "her",
    "all",
    "she",
    "there",
    "would",
    "their",
    "we",
    "him",
    "been",
    "has",
    "when",
    "who",
    "will",
    "more",
    "no",
    "if",
    "out",
    "so",
    "said",
    "what",
    "up",
    "its",
    "about",
    "into",
    "than",
    "them",
    "can",
    "only",
    "other",
    "new",
    "some",
    "could",
    "time",
    "these",
    "two",
    "may",
    "then",
    "do",
    "first",
    "any",
    "my",
    "now",
    "such",
    "like",
    "our",
    "over",
    "man",
    "me",
    "even",
    "most",
    "made",
    "after",
    "also",
    "did",
    "many",
    "before",
    "must",
    "through",
    "back",
    "years",
    "where",
    "much",
    "your",
    "way",
    "well",
    "down",
    "should",
    "because",
    "each",
    "just",
    "those",
    "people",
    "how",
    "too",
    "little",
    "state",
    "good",
    "very",
    "make",
    "world",
    "still",
    "own",
    "see",
    "men",
    "work",
    "long",
    "get",
    "here",
    "between",
    "both",
    "life",
    "being",
    "under",
    "never",
    "day",
    "same",
    "another",
    "know",
    "while",
    "last",
    "might",
    "us",
    "great",
    "old",
    "year",
    "off",
    "come",
    "since",
    "against",
    "go",
    "came",
    "right",
    "used",
    "take",
    "three",
    "king",
    "queen",
    "lord",
    "thee",
    "thou",
    "thy",
    "hath",
    "doth",
    "speak",
    "love",
    "night",
    "sweet",
    "death",
    "fair",
    "noble",
]
EXOTIC = ["café", "naïve", "Zürich", "東京", "Ελλάδα", "🙂", "👍🏽", "🇫🇷", "ｆｕｌｌ", "x²"]
RUNS = ["aaaa", "...", "!!!", "hahaha", "zzzzzz", "----", "ooo", "   "]
CONTRACTIONS = ["'s", "'ll", "'ve", "'re", "'d", "'t", "'m", "'S", "'LL"]


def realistic_text(seed: int = 0, n_words: int = 2000) -> str:
    """Prose with Zipf-like word frequencies, capitals, contractions, numbers, punctuation,
    runs of repeated characters, multiple spaces, blank lines, tabs, CRLF and non-ASCII words."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    out: list[str] = []
    sentence_start = True
    for _ in range(n_words):
        roll = rng.random()
        if roll < 0.02:
            word = rng.choice(EXOTIC)
        elif roll < 0.035:
            word = rng.choice(RUNS)
        elif roll < 0.06:
            word = str(rng.randint(0, 10 ** rng.randint(1, 7)))
        else:
            word = rng.choices(WORDS, weights)[0]
            if rng.random() < 0.05:
                word += rng.choice(CONTRACTIONS)
        if sentence_start or rng.random() < 0.03:
            word = word[:1].upper() + word[1:]
        if rng.random() < 0.02:
            word = word.upper()
        out.append(word)
        sentence_start = False
        roll = rng.random()
        if roll < 0.08:
            out.append(rng.choice([". ", ", ", "; ", "? ", "! ", ": ", " -- "]))
            sentence_start = out[-1][0] in ".?!"
        elif roll < 0.10:
            out.append(rng.choice(["\n", "\n\n", ".\n", "\r\n", "\t", "  ", "   \n"]))
            sentence_start = True
        else:
            out.append(" ")
    return "".join(out)


def distinct_letter_text(seed: int = 0, n_words: int = 3000) -> str:
    """Words whose letters are all different, separated by single spaces: no chunk (GPT-2
    pattern) ever holds two equal tokens side by side, so overlapping and non-overlapping pair
    counts agree and HF's BpeTrainer must learn exactly our merges."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    lexicon = ["".join(rng.sample(letters, rng.randint(1, 7))) for _ in range(300)]
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(lexicon))]
    return " ".join(rng.choices(lexicon, weights, k=n_words))


@pytest.fixture
def texts() -> SimpleNamespace:
    """The generators above, for tests: texts.realistic(seed, n_words), texts.distinct(...)."""
    return SimpleNamespace(realistic=realistic_text, distinct=distinct_letter_text)


@pytest.fixture(scope="session")
def corpus() -> str:
    """About 20 KB of realistic text to train on."""
    return realistic_text(seed=0, n_words=4000)


@pytest.fixture(scope="session")
def heldout() -> str:
    """Different text of the same kind, never trained on."""
    return realistic_text(seed=1, n_words=1000)
