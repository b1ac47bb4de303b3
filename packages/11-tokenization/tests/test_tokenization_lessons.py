"""The systems lessons return the numbers they promise (no timing thresholds)."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from tinytorch.tokenization import (
    BPETokenizer,
    CharTokenizer,
    compression_curve,
    embedding_memory,
    encode_throughput,
    token_array_memory,
    tokens_per_byte,
)


def test_tokens_per_byte() -> None:
    assert tokens_per_byte(BPETokenizer(), "héllo") == 1.0  # bytes only: 6 tokens, 6 bytes
    assert tokens_per_byte(CharTokenizer.from_text("héllo"), "héllo") == 5 / 6
    assert tokens_per_byte(BPETokenizer(), "") == 0.0


def test_compression_improves_with_vocab_size(corpus: str, heldout: str) -> None:
    rows = compression_curve(corpus, (256, 300, 500, 800))
    assert [row["vocab_size"] for row in rows] == [256, 300, 500, 800]
    assert rows[0]["tokens_per_byte"] == 1.0 and rows[0]["bytes"] == len(corpus.encode())
    ratios = [row["tokens_per_byte"] for row in rows]
    assert all(a > b for a, b in pairwise(ratios))
    assert ratios[-1] < 0.45
    tok = BPETokenizer().train(corpus, 800, progress=False)
    for row in rows:
        smaller = tok.with_vocab_size(row["vocab_size"])
        assert row["tokens"] == len(smaller.encode(corpus))
        assert math.isclose(row["bytes_per_token"], 1 / row["tokens_per_byte"])
    held = compression_curve(heldout, (256, 800), tokenizer=tok)
    assert held[1]["tokens"] == len(tok.encode(heldout))
    assert held[1]["tokens_per_byte"] > ratios[-1] * 0.9  # held-out text compresses a bit less


def test_embedding_memory() -> None:
    rows = embedding_memory([256, 4096, 50_257], dim=768)
    assert [row["parameters"] for row in rows] == [196_608, 3_145_728, 38_597_376]
    assert rows[2]["bytes"] == 154_389_504  # GPT-2's token embedding in float32
    assert rows[1]["bytes"] == np.zeros((4096, 768), np.float32).nbytes
    assert embedding_memory([1000], dim=64, bytes_per_value=2)[0]["bytes"] == 128_000


def test_token_array_memory() -> None:
    report = token_array_memory(1_000_000, 4096)
    assert report["int64_bytes"] == np.zeros(1_000_000, np.int64).nbytes == 8_000_000
    assert report["int32_bytes"] == 4_000_000 and report["int64_over_int32"] == 2.0
    assert report["smallest_dtype"] == "uint16" and report["smallest_bytes"] == 2_000_000
    assert token_array_memory(10, 256)["smallest_dtype"] == "uint8"
    assert token_array_memory(10, 257)["smallest_dtype"] == "uint16"
    assert token_array_memory(10, 65_536)["smallest_dtype"] == "uint16"
    assert token_array_memory(10, 100_277)["smallest_dtype"] == "uint32"


def test_encode_throughput(corpus: str) -> None:
    tok = BPETokenizer().train(corpus, 500, progress=False)
    report = encode_throughput(tok, corpus, repeats=2)
    assert report["bytes"] == len(corpus.encode()) and report["tokens"] == len(tok.encode(corpus))
    assert report["cold_bytes_per_s"] > 0 and report["warm_bytes_per_s"] > 0
    assert math.isclose(report["warm_bytes_per_s"], report["bytes"] / report["warm_s"])
    assert 0 < report["cached_chunks"] <= len(set(tok._split.findall(corpus)))
