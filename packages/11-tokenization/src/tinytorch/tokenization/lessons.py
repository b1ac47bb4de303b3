"""Systems lessons of module 11, as functions that return numbers.

- **Compression.** A bigger vocabulary means fewer tokens per byte: on Tiny Shakespeare
  (GPT-2 pattern) 256 ids (bytes) give 1.00 token per byte, 1,024 ids 0.41, 4,096 ids 0.31.
  Fewer tokens mean shorter sequences, and attention costs grow with the square of the length.
- **Embedding memory.** The price: the embedding table (and a tied output layer) is
  ``vocab_size x dim`` float32 values, 4 bytes each: 4,096 x 768 is 12.6 MB, GPT-2's 50,257 x
  768 is 154 MB, cl100k's 100,277 x 4,096 is 1.6 GB.
- **Throughput.** Encoding is a regex pass plus a dict lookup per chunk once the chunk cache is
  warm; the first pass over new text runs the merge loop for every distinct chunk (cold).
- **Token arrays.** A corpus stored as int64 ids takes 8 bytes per token; int32 takes 4, and
  uint16 (2) suffices for any vocabulary up to 65,536 ids, which is how nanoGPT stores data.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tinytorch.tokenization.bpe import BPETokenizer
from tinytorch.tokenization.patterns import GPT2_SPLIT_PATTERN

__all__ = [
    "compression_curve",
    "embedding_memory",
    "encode_throughput",
    "token_array_memory",
    "tokens_per_byte",
]


def tokens_per_byte(tokenizer: Any, text: str) -> float:
    """Tokens per UTF-8 byte of ``text`` (1.0 for a byte tokenizer; lower compresses more)."""
    # HINT: the number of token ids of text, over the number of bytes of its UTF-8 encoding
    # BEGIN SOLUTION
    size = len(text.encode("utf-8"))
    return len(tokenizer.encode(text)) / size if size else 0.0
    # END SOLUTION


def compression_curve(
    text: str,
    vocab_sizes: Sequence[int] = (256, 512, 1024, 2048, 4096),
    pattern: str | None = GPT2_SPLIT_PATTERN,
    tokenizer: BPETokenizer | None = None,
) -> list[dict[str, float]]:
    """Tokens per byte of ``text`` for each vocabulary size (one training, to the largest).

    Pass a trained ``tokenizer`` (without special tokens) to measure held-out text; otherwise
    one is trained on ``text`` itself. Each row: ``vocab_size``, ``tokens``, ``bytes``,
    ``tokens_per_byte``, ``bytes_per_token``. Cost: one training plus one encode per size.
    """
    if tokenizer is None:
        tokenizer = BPETokenizer(pattern).train(text, max(vocab_sizes), progress=False)
    size = len(text.encode("utf-8"))
    rows = []
    for vocab_size in vocab_sizes:
        smaller = tokenizer.with_vocab_size(min(vocab_size, tokenizer.vocab_size))
        ratio = tokens_per_byte(smaller, text)
        rows.append(
            {
                "vocab_size": vocab_size,
                "tokens": round(ratio * size),
                "bytes": size,
                "tokens_per_byte": ratio,
                "bytes_per_token": 1 / ratio if ratio else 0.0,
            }
        )
    return rows


def embedding_memory(
    vocab_sizes: Iterable[int] = (256, 4096, 50_257, 100_277),
    dim: int = 768,
    bytes_per_value: int = 4,
) -> list[dict[str, int]]:
    """Parameters and bytes of a ``(vocab_size, dim)`` embedding table, per vocabulary size.

    ``embedding_memory([50_257], 768)[0]["bytes"] == 154_389_504`` (GPT-2's token embedding,
    float32). A tied output projection shares this table; an untied one doubles it.
    """
    rows = []
    for vocab_size in vocab_sizes:
        # HINT: one row of dim values per token id; each value is bytes_per_value bytes
        # BEGIN SOLUTION
        parameters = vocab_size * dim
        size = parameters * bytes_per_value
        # END SOLUTION
        rows.append({"vocab_size": vocab_size, "parameters": parameters, "bytes": size})
    return rows


def encode_throughput(tokenizer: BPETokenizer, text: str, repeats: int = 3) -> dict[str, float]:
    """Encoding speed in bytes per second, cold (empty chunk cache) and warm (cache filled).

    Each figure is the best of ``repeats`` runs. Returns ``bytes``, ``tokens``, ``cold_s``,
    ``warm_s``, ``cold_bytes_per_s``, ``warm_bytes_per_s``, ``cached_chunks``.
    """
    size = len(text.encode("utf-8"))
    cold, warm = float("inf"), float("inf")
    tokens = 0
    for _ in range(max(1, repeats)):
        tokenizer.clear_cache()
        start = time.perf_counter()
        tokens = len(tokenizer.encode_ordinary(text))
        cold = min(cold, time.perf_counter() - start)
        start = time.perf_counter()
        tokenizer.encode_ordinary(text)
        warm = min(warm, time.perf_counter() - start)
    cold, warm = max(cold, 1e-9), max(warm, 1e-9)
    return {
        "bytes": size,
        "tokens": tokens,
        "cold_s": cold,
        "warm_s": warm,
        "cold_bytes_per_s": size / cold,
        "warm_bytes_per_s": size / warm,
        "cached_chunks": len(tokenizer._cache),
    }


def token_array_memory(num_tokens: int, vocab_size: int) -> dict[str, Any]:
    """Bytes of ``num_tokens`` ids stored as int64, int32, and the smallest unsigned dtype that
    holds every id of a ``vocab_size`` vocabulary (``uint8``, ``uint16``, ``uint32``).

    ``token_array_memory(1_000_000, 4096)``: int64 8 MB, int32 4 MB, uint16 2 MB.
    """
    # HINT: itemsize x count; the smallest dtype is the first of uint8/16/32 whose maximum is
    # HINT: at least vocab_size - 1 (np.iinfo(dtype).max)
    # BEGIN SOLUTION
    smallest = next(
        dtype for dtype in (np.uint8, np.uint16, np.uint32) if np.iinfo(dtype).max >= vocab_size - 1
    )
    int64_bytes = num_tokens * np.dtype(np.int64).itemsize
    int32_bytes = num_tokens * np.dtype(np.int32).itemsize
    smallest_bytes = num_tokens * np.dtype(smallest).itemsize
    # END SOLUTION
    return {
        "int64_bytes": int64_bytes,
        "int32_bytes": int32_bytes,
        "smallest_dtype": np.dtype(smallest).name,
        "smallest_bytes": smallest_bytes,
        "int64_over_int32": int64_bytes / int32_bytes if int32_bytes else 2.0,
    }
