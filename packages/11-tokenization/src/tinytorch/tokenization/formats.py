"""Vocabulary files other tools read: GPT-2's ``vocab.json`` + ``merges.txt`` and tiktoken's ranks.

**GPT-2 files** (what Hugging Face tokenizers' ``models.BPE`` loads, with a ``ByteLevel``
pre-tokenizer and decoder): tokens are written as text with GPT-2's byte-to-unicode map, which
gives each of the 256 bytes a printable character (``b" "`` is ``"Ġ"``, ``b"\\n"`` is ``"Ċ"``),
so a token is a plain string without spaces. ``vocab.json`` maps token string -> id (special
tokens as themselves); ``merges.txt`` has a ``#version: 0.2`` line, then one merge per line,
``left right``, in rank order.

**tiktoken's mergeable ranks**: a dict ``bytes -> rank`` where the rank is the token id, and
the ``.tiktoken`` file: one line per token, ``base64(bytes) rank``, in rank order. A rank file
holds no merge list: ``merges_from_ranks`` recovers it (each token splits into the two tokens
that byte-level merging by rank, restricted to lower ranks, leaves).

Every reader checks what it reads and raises ``VocabularyFileError`` naming the file, the line
and what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tinytorch.tokenization.errors import VocabularyFileError

__all__ = [
    "bytes_to_unicode",
    "merges_from_ranks",
    "read_gpt2_files",
    "read_tiktoken_file",
    "token_to_unicode",
    "unicode_to_bytes",
    "write_gpt2_files",
    "write_tiktoken_file",
]

PathLike = str | os.PathLike[str]
MERGES_HEADER = "#version: 0.2"


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from each byte to a printable character (256 entries, all distinct).

    Bytes that are printable Latin-1 characters map to themselves (``!``..``~``, ``¡``..``¬``,
    ``®``..``ÿ``: 188 bytes); the other 68 (control characters, space, DEL, NBSP, soft hyphen)
    map, in byte order, to U+0100, U+0101, ... So ``b" "`` (32) -> ``"Ġ"`` (U+0120).
    """
    # HINT: start with the printable bytes mapped to chr(b); give every other byte, in increasing
    # HINT: order, the next unused character chr(256 + n), n = 0, 1, 2, ...
    # BEGIN SOLUTION
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    mapping = {b: chr(b) for b in printable}
    n = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + n)
            n += 1
    # END SOLUTION
    return mapping


def unicode_to_bytes() -> dict[str, int]:
    """The inverse of ``bytes_to_unicode``."""
    return {char: b for b, char in bytes_to_unicode().items()}


def token_to_unicode(token: bytes, table: Mapping[int, str] | None = None) -> str:
    """A token's bytes written with GPT-2's characters: ``token_to_unicode(b" the") == "Ġthe"``."""
    table = bytes_to_unicode() if table is None else table
    return "".join(table[b] for b in token)


def _unicode_to_token(text: str, table: Mapping[str, int], where: str) -> bytes:
    try:
        return bytes(table[char] for char in text)
    except KeyError as error:
        raise VocabularyFileError(
            f"{where}: {text!r} is not a byte-level token: the character {error.args[0]!r} is "
            f"not one of GPT-2's 256 byte characters; is this a byte-level BPE (GPT-2 style) "
            f"vocabulary? (WordPiece/SentencePiece files are not)"
        ) from None


def write_gpt2_files(
    folder: PathLike,
    vocab: Mapping[int, bytes],
    merges: list[tuple[int, int, int]],
    special_tokens: Mapping[str, int],
    prefix: str = "",
) -> tuple[Path, Path]:
    """Write ``{prefix}vocab.json`` and ``{prefix}merges.txt`` into ``folder``; return both paths.

    ``vocab`` maps every non-special id to its bytes; ``merges`` is ``(left, right, new)`` ids
    in rank order.
    """
    table = bytes_to_unicode()
    entries: dict[str, int] = {}
    for token_id, token in sorted(vocab.items()):
        entries[token_to_unicode(token, table)] = token_id
    for name, token_id in special_tokens.items():
        if name in entries:
            raise ValueError(
                f"save_gpt2: the special token {name!r} (id {token_id}) is spelled like the "
                f"ordinary token with id {entries[name]}, and vocab.json maps each string to "
                f"one id; rename the special token (e.g. '<|{name.strip('<|>')}|>')"
            )
        entries[name] = token_id
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_path, merges_path = folder / f"{prefix}vocab.json", folder / f"{prefix}merges.txt"
    vocab_path.write_text(json.dumps(entries, ensure_ascii=False, indent=0) + "\n", "utf-8")
    lines = [MERGES_HEADER]
    lines += [
        f"{token_to_unicode(vocab[left], table)} {token_to_unicode(vocab[right], table)}"
        for left, right, _ in merges
    ]
    merges_path.write_text("\n".join(lines) + "\n", "utf-8")
    return vocab_path, merges_path


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VocabularyFileError(
            f"{what}: {path} is not a JSON file ({error}); is it truncated, or the wrong file?"
        ) from None


def read_gpt2_files(
    vocab_path: PathLike, merges_path: PathLike
) -> tuple[list[int], list[tuple[int, int, int]], dict[int, bytes], dict[str, int]]:
    """Read GPT-2 style files: ``(byte_ids, merges, vocab, others)``.

    ``byte_ids[b]`` is the id of byte ``b``; ``merges`` is ``(left, right, new)`` ids in rank
    order; ``vocab`` maps the ids of bytes and merge results to their bytes; ``others`` holds
    the vocab.json entries that are neither (special tokens such as ``<|endoftext|>``).
    """
    vocab_path, merges_path = Path(vocab_path), Path(merges_path)
    data = _read_json(vocab_path, "from_gpt2")
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in data.items()
    ):
        raise VocabularyFileError(
            f"from_gpt2: {vocab_path} is not a GPT-2 vocab.json (an object mapping token strings "
            f"to non-negative integer ids); a Hugging Face tokenizer.json holds one under "
            f"['model']['vocab']"
        )
    if len(set(data.values())) != len(data):
        raise VocabularyFileError(f"from_gpt2: {vocab_path} gives the same id to several tokens")
    table = bytes_to_unicode()
    inverse = {char: b for b, char in table.items()}
    missing = [b for b in range(256) if table[b] not in data]
    if missing:
        raise VocabularyFileError(
            f"from_gpt2: {vocab_path} is not a byte-level vocabulary: {len(missing)} of the 256 "
            f"byte tokens are missing (first: byte {missing[0]}, written {table[missing[0]]!r})"
        )
    byte_ids = [data[table[b]] for b in range(256)]
    vocab = {data[table[b]]: bytes([b]) for b in range(256)}
    merges: list[tuple[int, int, int]] = []
    try:
        lines = merges_path.read_text("utf-8").splitlines()
    except UnicodeDecodeError:
        raise VocabularyFileError(f"from_gpt2: {merges_path} is not UTF-8 text") from None
    for number, line in enumerate(lines, start=1):
        if (number == 1 and line.startswith("#version")) or not line.strip():
            continue
        parts = line.split(" ")
        where = f"from_gpt2: {merges_path}, line {number}"
        if len(parts) != 2 or not all(parts):
            raise VocabularyFileError(
                f"{where}: expected two tokens separated by one space, got {line!r}"
            )
        left, right = parts
        for part in (left, right, left + right):
            if part not in data:
                raise VocabularyFileError(
                    f"{where}: the token {part!r} is not in {vocab_path.name}; are the two files "
                    f"from the same tokenizer?"
                )
        ids = (data[left], data[right], data[left + right])
        if ids[0] not in vocab or ids[1] not in vocab:
            raise VocabularyFileError(
                f"{where}: merge {line!r} uses a token that no earlier merge creates; the merges "
                f"must be in rank order"
            )
        vocab[ids[2]] = _unicode_to_token(left + right, inverse, where)
        merges.append(ids)
    others = {token: i for token, i in data.items() if i not in vocab}
    return byte_ids, merges, vocab, others


def write_tiktoken_file(path: PathLike, ranks: Mapping[bytes, int]) -> Path:
    """Write tiktoken's format: ``base64(token) rank`` per line, in rank order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{base64.b64encode(token).decode('ascii')} {rank}"
        for token, rank in sorted(ranks.items(), key=lambda item: item[1])
    ]
    path.write_text("\n".join(lines) + "\n", "ascii")
    return path


def read_tiktoken_file(path: PathLike) -> dict[bytes, int]:
    """Read a ``.tiktoken`` file into ``{token bytes: rank}`` (what ``tiktoken.load`` returns)."""
    path = Path(path)
    ranks: dict[bytes, int] = {}
    try:
        lines = path.read_bytes().decode("ascii").splitlines()
    except UnicodeDecodeError:
        raise VocabularyFileError(
            f"from_tiktoken_file: {path} is not a .tiktoken file (base64 and ranks are ASCII)"
        ) from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split()
        where = f"from_tiktoken_file: {path}, line {number}"
        if len(parts) != 2 or not parts[1].isdigit():
            raise VocabularyFileError(f"{where}: expected 'base64 rank', got {line[:60]!r}")
        try:
            token = base64.b64decode(parts[0], validate=True)
        except (binascii.Error, ValueError):
            raise VocabularyFileError(f"{where}: {parts[0][:40]!r} is not base64") from None
        if token in ranks:
            raise VocabularyFileError(f"{where}: the token {token!r} appears twice")
        ranks[token] = int(parts[1])
    if len(set(ranks.values())) != len(ranks):
        raise VocabularyFileError(f"from_tiktoken_file: {path} gives one rank to several tokens")
    return ranks


def merges_from_ranks(ranks: Mapping[bytes, int]) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Recover ``(byte_ids, merges)`` from tiktoken's ``bytes -> rank`` (rank = id).

    Each token longer than one byte is split by merging its bytes by rank, using only ranks
    below its own (tiktoken's algorithm): a consistent rank table leaves exactly two parts,
    the merge that made the token. Cost: O(length^2) per token.
    """
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise VocabularyFileError(
            f"from_mergeable_ranks: not a byte-level rank table: {len(missing)} single bytes "
            f"have no rank (first: byte {missing[0]}); every byte must be a token"
        )
    byte_ids = [ranks[bytes([b])] for b in range(256)]
    merges: list[tuple[int, int, int]] = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) < 2:
            continue
        parts = [token[i : i + 1] for i in range(len(token))]
        while len(parts) > 2:
            best, best_rank = -1, rank
            for i in range(len(parts) - 1):
                pair_rank = ranks.get(parts[i] + parts[i + 1])
                if pair_rank is not None and pair_rank < best_rank:
                    best, best_rank = i, pair_rank
            if best < 0:
                break
            parts[best : best + 2] = [parts[best] + parts[best + 1]]
        if len(parts) != 2:
            raise VocabularyFileError(
                f"from_mergeable_ranks: the token {token!r} (rank {rank}) is not the merge of "
                f"two tokens of lower rank; the rank table is not a BPE vocabulary"
            )
        merges.append((ranks[parts[0]], ranks[parts[1]], rank))
    return byte_ids, merges
