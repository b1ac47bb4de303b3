"""Byte-level BPE on Tiny Shakespeare (1.1 MB): training to 4,096 ids and encoding, beside the
libraries people use, on the same text and the same vocabulary.

* **train**: ``BPETokenizer().train(text, 4096)`` (GPT-2's split pattern; pure Python, one
  thread: counts chunks once, then per merge recounts only the chunks holding the pair, heap
  with lazy deletion) beside Hugging Face tokenizers' ``BpeTrainer`` (Rust, ``ByteLevel``
  pre-tokenizer and alphabet, ``RAYON_NUM_THREADS`` = the benchmark's threads). The note says
  how many of the 3,840 merges are identical, in the same order (same tie rule).
* **encode**: the whole text, with a cold chunk cache (every distinct chunk merged once) and a
  warm one (a regex pass and a dict lookup per chunk), beside tiktoken built from our ranks
  (``tiktoken.Encoding(pat_str=..., mergeable_ranks=tok.mergeable_ranks())``, Rust, one
  thread) and HF's ``BPE`` model loaded from our ``vocab.json`` + ``merges.txt``; the ids must
  be identical.
* **naive oracle**: the first 100 KB to 512 ids with ``algorithm="naive"`` (all pairs
  recounted after each merge) against the incremental trainer on the same input.

The text comes from the data directory: ``$TINYTORCH_DATA``, else ``../shared/data`` next to the
repository, else the per-user cache (``tinyshakespeare/input.txt``); without it the case reports
one row saying where it looked. Targets (issue 11): training <= 10 s on 2 cores, encoding >= 1 MB/s.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from harness import Bench, Report, Row, TextTable
from tinytorch.setup import TimingResult, format_seconds, time_function
from tinytorch.setup.paths import DATA_ENV_VAR, data_dir
from tinytorch.tokenization import BPETokenizer, token_to_unicode

TITLE = "BPE tokenizer, Tiny Shakespeare: train to 4,096 ids, encode (vs HF tokenizers, tiktoken)"
VOCAB, QUICK_VOCAB = 4096, 1024
QUICK_BYTES = 200_000
NAIVE_BYTES, NAIVE_VOCAB = 100_000, 512
QUICK_NAIVE_BYTES, QUICK_NAIVE_VOCAB = 20_000, 300
REPO = Path(__file__).resolve().parents[2]


def data_folders() -> list[Path]:
    """Where Tiny Shakespeare is looked for, in order."""
    folders = []
    if os.environ.get(DATA_ENV_VAR):
        folders.append(data_dir())
    folders += [REPO.parent / "shared" / "data", data_dir()]
    return folders


def find_text() -> Path | None:
    for folder in data_folders():
        path = folder / "tinyshakespeare" / "input.txt"
        if path.is_file():
            return path
    return None


def slow_time(bench: Bench, fn: Callable[[], Any], repeats: int, warmup: int = 1) -> TimingResult:
    """For calls of a second or more: a few samples of one call each (quick mode: one)."""
    if bench.quick:
        return time_function(fn, warmup=0, repeats=1)
    return time_function(fn, warmup=warmup, repeats=repeats)


def mb_per_s(size: int, timing: TimingResult | None) -> str:
    return "-" if timing is None else f"{size / timing.median_s / 1e6:.2f} MB/s"


def ratio(ours: TimingResult, reference: TimingResult | None) -> str:
    return "-" if reference is None else f"{ours.median_s / reference.median_s:.2f}x"


def import_reference(name: str) -> tuple[Any, str]:
    """The module ``name``, or None and the note saying how to install it."""
    try:
        return __import__(name), ""
    except ImportError:
        return None, f"{name} not installed: pip install {name}"


def hf_train(tokenizers: Any, text: str, vocab_size: int) -> Any:
    hf = tokenizers.Tokenizer(tokenizers.models.BPE())
    hf.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size,
        show_progress=False,
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
    )
    hf.train_from_iterator([text], trainer=trainer)
    return hf


def same_merges(tok: BPETokenizer, hf: Any) -> tuple[int, int]:
    """(merges identical to HF's at the same rank, our merge count)."""
    merges = json.loads(hf.to_str())["model"]["merges"]
    theirs = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]
    vocab = tok.vocab
    ours = [(token_to_unicode(vocab[a]), token_to_unicode(vocab[b])) for a, b in tok.merges]
    return sum(a == b for a, b in zip(ours, theirs, strict=False)), len(ours)


def hf_from_files(tokenizers: Any, tok: BPETokenizer, folder: str) -> Any:
    vocab, merges = tok.save_gpt2(folder)
    hf = tokenizers.Tokenizer(tokenizers.models.BPE.from_file(str(vocab), str(merges)))
    hf.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return hf


def run(bench: Bench) -> Report:
    path = find_text()
    if path is None:
        where = ", ".join(str(folder) for folder in data_folders())
        note = f"skipped: tinyshakespeare/input.txt not found in {where} (set {DATA_ENV_VAR})"
        return Report([Row("Tiny Shakespeare not found", None, note=note)], {"skipped": note})
    os.environ.setdefault("RAYON_NUM_THREADS", str(bench.threads))  # before tokenizers loads
    tiktoken, tiktoken_note = import_reference("tiktoken")
    tokenizers, tokenizers_note = import_reference("tokenizers")
    text = path.read_text("utf-8")
    vocab_size = VOCAB
    if bench.quick:
        text, vocab_size = text[:QUICK_BYTES], QUICK_VOCAB
    size = len(text.encode("utf-8"))
    label = f"{size / 1e6:.2f} MB"
    rows: list[Row] = []
    table: list[list[str]] = []
    summary: dict[str, Any] = {"data": str(path), "bytes": size, "vocab_size": vocab_size}

    # ---- training
    def train() -> BPETokenizer:
        return BPETokenizer().train(text, vocab_size, progress=False)

    ours = slow_time(bench, train, repeats=5)
    tok = train()
    summary["train_s"] = ours.median_s
    hf_time, hf, note = None, None, tokenizers_note
    if tokenizers is not None:
        hf_time = slow_time(bench, lambda: hf_train(tokenizers, text, vocab_size), repeats=5)
        hf = hf_train(tokenizers, text, vocab_size)
        equal, count = same_merges(tok, hf)
        summary.update(hf_train_s=hf_time.median_s, merges_equal_to_hf=equal, merges=count)
        note = (
            f"HF BpeTrainer {format_seconds(hf_time.median_s)} (TT/HF {ratio(ours, hf_time)}); "
            f"{equal:,} of {count:,} merges identical to HF's, in the same order"
        )
    rows.append(Row(f"train to {vocab_size:,} ids, {label}", ours, note=note))
    table.append(
        [
            "train",
            format_seconds(ours.median_s),
            "HF BpeTrainer",
            format_seconds(hf_time.median_s) if hf_time else "-",
            ratio(ours, hf_time),
        ]
    )

    # ---- encoding
    ids = tok.encode(text)
    summary["tokens_per_byte"] = len(ids) / size

    def cold() -> list[int]:
        tok.clear_cache()
        return tok.encode(text)

    cold_time = bench.time(cold)
    warm_time = bench.time(lambda: tok.encode(text))
    summary.update(
        encode_cold_mb_s=size / cold_time.median_s / 1e6,
        encode_warm_mb_s=size / warm_time.median_s / 1e6,
    )
    tik_time, note = None, tiktoken_note
    if tiktoken is not None:
        encoding = tiktoken.Encoding(
            name="tinytorch-shakespeare",
            pat_str=tok.pattern,
            mergeable_ranks=tok.mergeable_ranks(),
            special_tokens={},
        )
        identical = encoding.encode_ordinary(text) == ids
        tik_time = bench.time(lambda: encoding.encode_ordinary(text))
        summary.update(tiktoken_mb_s=size / tik_time.median_s / 1e6, tiktoken_identical=identical)
        note = (
            f"tiktoken (our ranks) {mb_per_s(size, tik_time)}: warm {ratio(warm_time, tik_time)}"
            f" its time; ids {'identical' if identical else 'DIFFERENT'}"
        )
    rows.append(Row(f"encode {label}, cold cache", cold_time, note=f"{mb_per_s(size, cold_time)}"))
    rows.append(
        Row(
            f"encode {label}, warm cache",
            warm_time,
            note=f"{mb_per_s(size, warm_time)}; {len(ids):,} tokens; {note}",
        )
    )
    table.append(
        [
            "encode (warm)",
            mb_per_s(size, warm_time),
            "tiktoken, same ranks",
            mb_per_s(size, tik_time),
            ratio(warm_time, tik_time),
        ]
    )
    table.append(
        [
            "encode (cold)",
            mb_per_s(size, cold_time),
            "tiktoken, same ranks",
            mb_per_s(size, tik_time),
            ratio(cold_time, tik_time),
        ]
    )
    if tokenizers is not None:
        with tempfile.TemporaryDirectory() as folder:
            hf_bpe = hf_from_files(tokenizers, tok, folder)
        identical = hf_bpe.encode(text).ids == ids
        hf_encode = bench.time(lambda: hf_bpe.encode(text))
        summary.update(hf_encode_mb_s=size / hf_encode.median_s / 1e6, hf_identical=identical)
        table.append(
            [
                "encode (warm)",
                mb_per_s(size, warm_time),
                "HF BPE from our vocab/merges" + ("" if identical else " (ids DIFFER)"),
                mb_per_s(size, hf_encode),
                ratio(warm_time, hf_encode),
            ]
        )

    # ---- the naive oracle
    naive_bytes, naive_vocab = (
        (QUICK_NAIVE_BYTES, QUICK_NAIVE_VOCAB) if bench.quick else (NAIVE_BYTES, NAIVE_VOCAB)
    )
    piece = text[:naive_bytes]
    learned: dict[str, list[tuple[int, int]]] = {}

    def train_piece(algorithm: Literal["incremental", "naive"]) -> None:
        tokenizer = BPETokenizer().train(piece, naive_vocab, algorithm=algorithm, progress=False)
        learned[algorithm] = tokenizer.merges

    fast = slow_time(bench, lambda: train_piece("incremental"), repeats=5)
    naive = slow_time(bench, lambda: train_piece("naive"), repeats=2, warmup=0)
    equal = learned["naive"] == learned["incremental"]
    speedup = naive.median_s / fast.median_s
    summary.update(
        naive_s=naive.median_s,
        incremental_s=fast.median_s,
        naive_speedup=speedup,
        naive_equal=equal,
    )
    small = f"{naive_bytes // 1000} KB to {naive_vocab} ids"
    rows.append(Row(f"train {small}, naive (recount all)", naive))
    rows.append(
        Row(
            f"train {small}, incremental",
            fast,
            note=f"{speedup:.0f}x faster than naive; merges {'identical' if equal else 'DIFFER'}",
        )
    )
    table.append(
        [
            f"train {small}",
            format_seconds(fast.median_s),
            "our naive oracle",
            format_seconds(naive.median_s),
            f"{fast.median_s / naive.median_s:.3f}x",
        ]
    )
    tables = [
        TextTable(
            "tokenizer: TinyTorch (pure Python) beside the references (Rust)",
            ["task", "reference", "TinyTorch", "reference's", "TT/ref time"],
            [[row[0], row[2], row[1], row[3], row[4]] for row in table],
            text_columns=2,
        )
    ]
    return Report(rows, summary, tables)
