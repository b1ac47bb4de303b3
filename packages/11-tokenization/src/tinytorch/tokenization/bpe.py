"""Byte-level BPE, as GPT-2 and tiktoken do it: every string encodes, nothing is unknown.

Text -> UTF-8 bytes -> ids 0..255 -> learned merges applied by rank -> ids. Ids ``0..255`` are
the 256 bytes, so any Unicode string (emoji, Chinese, a stray control character) encodes, and
``decode(encode(s)) == s`` always. Before merging, a split pattern cuts the text into chunks
(words with their leading space, numbers, punctuation runs, whitespace); merges never cross a
chunk boundary. Special tokens (``<|endoftext|>``, ``<pad>``) get ids after the merges and are
recognised in text only when ``encode`` is told to allow them (tiktoken's policy).

>>> tok = BPETokenizer(special_tokens=["<|endoftext|>"])
>>> tok = tok.train("low lower lowest " * 50, vocab_size=300, progress=False)
>>> tok.vocab_size  # training stopped early: every chunk became one token
264
>>> ids = tok.encode(" lowest<|endoftext|>", allowed_special="all")
>>> ids
[262, 263]
>>> [tok.token_bytes(i) for i in ids]
[b' lowest', b'<|endoftext|>']
>>> tok.decode(ids)
' lowest<|endoftext|>'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, Literal

import numpy as np
import regex

from tinytorch.tokenization.base import Tokenizer, as_id_list, check_id
from tinytorch.tokenization.errors import (
    DisallowedSpecialTokenError,
    TokenIdError,
    TokenizerError,
    VocabSizeError,
    VocabularyFileError,
)
from tinytorch.tokenization.formats import (
    merges_from_ranks,
    read_gpt2_files,
    read_tiktoken_file,
    write_gpt2_files,
    write_tiktoken_file,
)
from tinytorch.tokenization.merging import LONG_CHUNK, Pair, encode_chunk
from tinytorch.tokenization.patterns import GPT2_SPLIT_PATTERN, PATTERNS, compile_pattern
from tinytorch.tokenization.training import count_chunks, train_bpe, train_bpe_naive

__all__ = ["AllowedSpecial", "BPETokenizer", "DisallowedSpecial"]

FORMAT = "tinytorch.BPETokenizer"
AllowedSpecial = Literal["all", "none", "none_raise"] | AbstractSet[str]
DisallowedSpecial = Literal["all"] | AbstractSet[str] | tuple[str, ...] | list[str]
Merge = tuple[int, int, int]  # (left id, right id, new id)
PathLike = str | os.PathLike[str]


class BPETokenizer(Tokenizer):
    """Byte-level BPE tokenizer: ``train``, ``encode``, ``decode``, ``encode_batch``, files.

    ``pattern``: the split pattern (``GPT2_SPLIT_PATTERN``, ``CL100K_SPLIT_PATTERN``, their
    names ``"gpt2"``/``"cl100k"``, any regex, or None for no pre-split). ``special_tokens``: names
    (ids are given after the merges, in order) or a mapping name -> id. ``cache_size``: how many
    distinct chunks ``encode`` remembers (the cache is what makes encoding fast: real text
    repeats its words).
    """

    def __init__(
        self,
        pattern: str | None = GPT2_SPLIT_PATTERN,
        special_tokens: Iterable[str] | Mapping[str, int] = (),
        *,
        cache_size: int = 1 << 16,
    ) -> None:
        self.pattern = PATTERNS.get(pattern, pattern) if pattern is not None else None
        self._split = compile_pattern(self.pattern)
        self.cache_size = cache_size
        if isinstance(special_tokens, Mapping):
            special = dict(special_tokens)
        else:
            if isinstance(special_tokens, str):
                raise TypeError(
                    f"BPETokenizer: special_tokens must be a list of strings, got the string "
                    f"{special_tokens!r}; write special_tokens=[{special_tokens!r}]"
                )
            names = list(special_tokens)
            if len(set(names)) != len(names):
                raise ValueError(f"BPETokenizer: special_tokens has duplicates: {names}")
            special = {name: 256 + i for i, name in enumerate(names)}
        self._set_model(list(range(256)), [], special, TokenizerError, "BPETokenizer")

    # ------------------------------------------------------------------ the model
    def _set_model(
        self,
        byte_ids: list[int],
        merges: list[Merge],
        special: dict[str, int],
        error: type[TokenizerError],
        where: str,
    ) -> None:
        """Install a model (checked: ``error`` names ``where`` and the problem)."""
        if len(byte_ids) != 256 or len(set(byte_ids)) != 256 or min(byte_ids) < 0:
            raise error(f"{where}: byte_ids must be 256 distinct non-negative ids")
        vocab: dict[int, bytes] = {token_id: bytes([b]) for b, token_id in enumerate(byte_ids)}
        ranks: dict[Pair, int] = {}
        merged: dict[Pair, int] = {}
        for rank, (left, right, new) in enumerate(merges):
            if left not in vocab or right not in vocab:
                raise error(
                    f"{where}: merge {rank} ({left}, {right}) -> {new} uses an id that no byte "
                    f"or earlier merge defines; merges must be listed in the order learned"
                )
            if (left, right) in ranks:
                raise error(f"{where}: the pair ({left}, {right}) is merged twice")
            token = vocab[left] + vocab[right]
            if new in vocab and vocab[new] != token:
                raise error(
                    f"{where}: merge {rank} ({left}, {right}) -> {new} reuses id {new}, which is "
                    f"already the token {vocab[new]!r}"
                )
            vocab[new] = token
            ranks[left, right] = rank
            merged[left, right] = new
        if len(set(vocab.values())) != len(vocab):
            raise error(f"{where}: several ids have the same bytes; a BPE vocabulary is one to one")
        for name, token_id in special.items():
            if not isinstance(name, str) or not name:
                raise error(f"{where}: special tokens must be non-empty strings, got {name!r}")
            if isinstance(token_id, bool) or not isinstance(token_id, int) or token_id < 0:
                raise error(f"{where}: special token {name!r} has id {token_id!r}: not an id")
            if token_id in vocab:
                raise error(
                    f"{where}: special token {name!r} has id {token_id}, which is already the "
                    f"token {vocab[token_id]!r}"
                )
        if len(set(special.values())) != len(special):
            raise error(f"{where}: several special tokens share an id: {special}")
        self._byte_ids = list(byte_ids)
        self._identity = self._byte_ids == list(range(256))
        self._merges = list(merges)
        self._vocab = vocab
        self._ranks = ranks
        self._merged = merged
        self._special = dict(sorted(special.items(), key=lambda item: item[1]))
        size = max([*vocab, *special.values()]) + 1
        decoder: list[bytes | None] = [None] * size
        for token_id, token in vocab.items():
            decoder[token_id] = token
        for name, token_id in special.items():
            decoder[token_id] = name.encode("utf-8")
        self._decoder = decoder
        self._token_ids: dict[bytes, int] | None = None
        self._special_res: dict[frozenset[str], regex.Pattern[str]] = {}
        self.clear_cache()

    def clear_cache(self) -> None:
        """Forget the encoded chunks (the next ``encode`` runs the merges again: a cold start)."""
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        """Number of ids (bytes, merges and special tokens): ids are ``0..vocab_size - 1``."""
        return len(self._decoder)

    @property
    def merges(self) -> list[Pair]:
        """The learned merges ``(left id, right id)``, in the order learned (rank order)."""
        return [(left, right) for left, right, _ in self._merges]

    @property
    def merge_table(self) -> list[Merge]:
        """The merges with the id each creates: ``(left, right, new)``, in rank order."""
        return list(self._merges)

    @property
    def special_tokens(self) -> dict[str, int]:
        """Special token -> id."""
        return dict(self._special)

    @property
    def vocab(self) -> dict[int, bytes]:
        """Id -> bytes of every ordinary token (the bytes and the merges; not the specials)."""
        return dict(self._vocab)

    @property
    def pad_id(self) -> int | None:
        return self._special.get("<pad>")

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes of one id (a special token's are its UTF-8 text)."""
        if not 0 <= token_id < len(self._decoder) or self._decoder[token_id] is None:
            raise TokenIdError("token_bytes", token_id, None, self.vocab_size)
        return self._decoder[token_id]  # type: ignore[return-value]

    def token_to_id(self, token: str) -> int | None:
        """The id of a special token, or of the ordinary token whose bytes are ``token``'s."""
        if token in self._special:
            return self._special[token]
        if self._token_ids is None:
            self._token_ids = {token: i for i, token in self._vocab.items()}
        return self._token_ids.get(token.encode("utf-8"))

    # ------------------------------------------------------------------ training
    def train(
        self,
        text: str | Iterable[str],
        vocab_size: int = 4096,
        *,
        algorithm: Literal["incremental", "naive"] = "incremental",
        progress: bool = True,
    ) -> BPETokenizer:
        """Learn ``vocab_size - 256 - len(special_tokens)`` merges from ``text``; return self.

        ``text`` is a str or an iterable of str (each is split on its own). Special tokens in
        the text are cut out (never learned); their ids follow the merges. ``algorithm``:
        ``"incremental"`` (``train_bpe``) or ``"naive"`` (``train_bpe_naive``, the oracle): both
        learn the same merges. Training stops early when every chunk is a single token. The
        progress bar shows on a terminal only. Cost: one regex pass over the text, then
        O(length of the touched chunks) per merge.
        """
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
            raise TypeError(f"BPETokenizer.train: vocab_size must be an int, got {vocab_size!r}")
        specials = list(self._special)
        floor = 256 + len(specials)
        if vocab_size < floor:
            raise VocabSizeError(
                f"BPETokenizer.train: vocab_size={vocab_size} is too small: a byte-level BPE "
                f"vocabulary holds the 256 byte tokens"
                + (f" plus {len(specials)} special token(s) {specials}" if specials else "")
                + f", {floor} ids before any merge; pass vocab_size >= {floor} (real text wants "
                f"thousands: GPT-2 has 50,257)"
            )
        if algorithm not in ("incremental", "naive"):
            raise ValueError(
                f"BPETokenizer.train: algorithm must be 'incremental' or 'naive', got {algorithm!r}"
            )
        chunks = count_chunks(text, self.pattern, specials)
        trainer = train_bpe if algorithm == "incremental" else train_bpe_naive
        pairs = trainer(chunks, vocab_size - floor, progress=progress)
        merges = [(left, right, 256 + k) for k, (left, right) in enumerate(pairs)]
        special = {name: 256 + len(merges) + i for i, name in enumerate(specials)}
        self._set_model(list(range(256)), merges, special, TokenizerError, "BPETokenizer.train")
        return self

    def with_vocab_size(self, vocab_size: int) -> BPETokenizer:
        """A tokenizer with only the first merges: what training to ``vocab_size`` would give.

        BPE training is greedy, so training to a smaller size learns exactly the first merges of
        a larger training. Special tokens are renumbered after the kept merges.
        """
        specials = list(self._special)
        keep = vocab_size - 256 - len(specials)
        if keep < 0 or keep > len(self._merges):
            raise VocabSizeError(
                f"with_vocab_size: vocab_size={vocab_size} must be between "
                f"{256 + len(specials)} and {self.vocab_size} (this tokenizer's size)"
            )
        copy = BPETokenizer(self.pattern, cache_size=self.cache_size)
        merges = self._merges[:keep]
        top = max([*self._byte_ids, *(new for _, _, new in merges)]) + 1
        special = {name: top + i for i, name in enumerate(specials)}
        copy._set_model(self._byte_ids, merges, special, TokenizerError, "with_vocab_size")
        return copy

    # ------------------------------------------------------------------ encoding
    def _encode_chunk(self, chunk: str) -> list[int]:
        data = chunk.encode("utf-8")
        ids = list(data) if self._identity else [self._byte_ids[b] for b in data]
        if len(ids) < 2:
            return ids
        return encode_chunk(ids, self._ranks, self._merged)

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text`` ignoring special tokens (their text is encoded like any other).

        Split with the pattern, then each chunk is looked up in the cache or merged by rank.
        Cost: the regex pass (~6 MB/s) plus a dict lookup per chunk; about 4 MB/s with a
        warm cache.
        """
        if not isinstance(text, str):
            raise TypeError(
                f"encode: expected a str, got {type(text).__name__}; decode bytes first "
                f"(data.decode('utf-8')) or use encode_batch for a list of texts"
            )
        if self._split is None:
            if not text:
                return []
            return self._encode_chunk(text)
        cache = self._cache
        ids: list[int] = []
        extend = ids.extend
        for chunk in self._split.findall(text):
            found = cache.get(chunk)
            if found is None:
                found = self._encode_chunk(chunk)
                if len(chunk) <= LONG_CHUNK:
                    if len(cache) >= self.cache_size:
                        cache.clear()
                    cache[chunk] = found
            extend(found)
        return ids

    def _special_re(self, names: frozenset[str]) -> regex.Pattern[str]:
        compiled = self._special_res.get(names)
        if compiled is None:
            ordered = sorted(names, key=lambda name: (-len(name), name))  # longest first
            compiled = regex.compile("|".join(regex.escape(name) for name in ordered))
            self._special_res[names] = compiled
        return compiled

    def _policy(
        self, allowed_special: AllowedSpecial, disallowed_special: DisallowedSpecial
    ) -> tuple[frozenset[str], frozenset[str]]:
        names = frozenset(self._special)

        def known(given: Iterable[str], argument: str) -> frozenset[str]:
            if isinstance(given, str):
                raise ValueError(
                    f"encode: {argument}={given!r} is not a policy; pass 'all', 'none', "
                    f"'none_raise' (allowed_special only) or a set of special tokens such as "
                    f"{{{given!r}}}"
                )
            chosen = frozenset(given)
            unknown = sorted(chosen - names)
            if unknown:
                raise ValueError(
                    f"encode: {argument} names {unknown}, which are not special tokens of this "
                    f"tokenizer ({sorted(names) or 'it has none'})"
                )
            return chosen

        if allowed_special == "all":
            allowed = names
        elif allowed_special in ("none", "none_raise"):
            allowed = frozenset()
        else:
            allowed = known(allowed_special, "allowed_special")
        if disallowed_special == "all":
            disallowed = frozenset() if allowed_special == "none" else names - allowed
        else:
            disallowed = known(disallowed_special, "disallowed_special")
        return allowed, disallowed

    def encode(
        self,
        text: str,
        *,
        allowed_special: AllowedSpecial = "none_raise",
        disallowed_special: DisallowedSpecial = "all",
    ) -> list[int]:
        """The ids of ``text``; special tokens follow tiktoken's policy.

        ``allowed_special``: the special tokens encoded as their ids where they appear (a set,
        or ``"all"``); ``"none"`` encodes all of them as ordinary text; ``"none_raise"``
        (default) allows none. ``disallowed_special``: the special tokens whose appearance
        raises ``DisallowedSpecialTokenError`` (naming the token and where it is); ``"all"``
        (default) means every special token not allowed (none with ``allowed_special="none"``).
        """
        allowed, disallowed = self._policy(allowed_special, disallowed_special)
        if disallowed:
            found = self._special_re(disallowed).search(text)
            if found is not None:
                name = found.group()
                raise DisallowedSpecialTokenError(name, found.start(), self._special[name])
        if not allowed:
            return self.encode_ordinary(text)
        ids: list[int] = []
        start = 0
        for found in self._special_re(allowed).finditer(text):
            ids += self.encode_ordinary(text[start : found.start()])
            ids.append(self._special[found.group()])
            start = found.end()
        ids += self.encode_ordinary(text[start:])
        return ids

    # ------------------------------------------------------------------ decoding
    def decode_bytes(self, ids: Iterable[int] | np.ndarray) -> bytes:
        """The bytes of ``ids`` joined (a token may be part of a UTF-8 character)."""
        ids = as_id_list(ids, "decode")
        table = self._decoder
        # HINT: join table[i] for every id; an id that is negative, >= len(table), or whose entry
        # HINT: is None (an unused id) raises TokenIdError("decode", id, position, self.vocab_size)
        # BEGIN SOLUTION
        if ids and min(ids) >= 0:
            try:
                return b"".join([table[i] for i in ids])  # type: ignore[misc]
            except (IndexError, TypeError):
                pass  # find the culprit below
        for position, token_id in enumerate(ids):
            check_id(token_id, position, "decode")
            if not 0 <= token_id < len(table) or table[token_id] is None:
                raise TokenIdError("decode", token_id, position, self.vocab_size)
        return b"".join([table[i] for i in ids])  # type: ignore[misc]
        # END SOLUTION

    def decode(self, ids: Iterable[int] | np.ndarray, errors: str = "replace") -> str:
        """The text of ``ids``. Bytes that are not valid UTF-8 (a model cut a character in two)
        become U+FFFD with ``errors="replace"`` (``"strict"`` raises instead)."""
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-ready data (``save`` writes it)."""
        return {
            "format": FORMAT,
            "version": 1,
            "pattern": self.pattern,
            "special_tokens": self.special_tokens,
            "byte_ids": None if self._identity else self._byte_ids,
            "merges": [
                [left, right, new, self._vocab[new].decode("utf-8", "backslashreplace")]
                for left, right, new in self._merges
            ],
        }

    def save(self, path: PathLike) -> Path:
        """Write the tokenizer as readable JSON, one merge per line:
        ``[left id, right id, new id, "the new token's text"]`` (the text is for people;
        ``load`` ignores it)."""
        data = self.to_dict()
        merges = data.pop("merges")
        head = json.dumps(data, ensure_ascii=False, indent=1)
        rows = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in merges)
        body = head[:-2] + ',\n "merges": [\n' + rows + ("\n ]\n}\n" if rows else " ]\n}\n")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, "utf-8")
        return path

    @classmethod
    def from_dict(cls, data: Any, source: str = "from_dict") -> BPETokenizer:
        """The tokenizer described by ``to_dict``'s data; ``VocabularyFileError`` otherwise."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            hint = "it holds no tinytorch BPE tokenizer"
            if isinstance(data, dict) and "model" in data:
                hint = (
                    "it looks like a Hugging Face tokenizer.json: save its model's vocab.json "
                    "and merges.txt (tokenizer.model.save(folder)) and use from_gpt2"
                )
            elif isinstance(data, dict) and data.get("format") == "tinytorch.CharTokenizer":
                hint = "it is a CharTokenizer file: use CharTokenizer.load"
            raise VocabularyFileError(f"BPETokenizer.load: {source}: {hint}")
        if data.get("version") != 1:
            raise VocabularyFileError(
                f"BPETokenizer.load: {source} has version {data.get('version')!r}; this "
                f"tinytorch-tokenization reads version 1: upgrade the package"
            )
        try:
            pattern = data["pattern"]
            special = data["special_tokens"]
            byte_ids = data["byte_ids"] if data["byte_ids"] is not None else list(range(256))
            merges = [(int(m[0]), int(m[1]), int(m[2])) for m in data["merges"]]
            if pattern is not None and not isinstance(pattern, str):
                raise TypeError("pattern")
            if not isinstance(special, dict) or not isinstance(byte_ids, list):
                raise TypeError("special_tokens or byte_ids")
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise VocabularyFileError(
                f"BPETokenizer.load: {source} is corrupt: missing or malformed entry ({error}); "
                f"save the tokenizer again"
            ) from None
        tokenizer = cls(pattern)
        tokenizer._set_model(byte_ids, merges, special, VocabularyFileError, "BPETokenizer.load")
        return tokenizer

    @classmethod
    def load(cls, path: PathLike) -> BPETokenizer:
        """Read a file written by ``save``."""
        path = Path(path)
        try:
            data = json.loads(path.read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise VocabularyFileError(
                f"BPETokenizer.load: {path} is not a JSON file ({error}); is it truncated, or "
                f"the wrong file?"
            ) from None
        return cls.from_dict(data, str(path))

    def save_gpt2(self, folder: PathLike, prefix: str = "") -> tuple[Path, Path]:
        """Write GPT-2 style ``vocab.json`` and ``merges.txt`` into ``folder``.

        Hugging Face: ``tokenizers.models.BPE.from_file(vocab, merges)`` with
        ``pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)`` (GPT-2's pattern;
        ``use_regex=False`` for pattern=None) and ``decoders.ByteLevel()`` encodes as this does.
        """
        return write_gpt2_files(folder, self._vocab, self._merges, self._special, prefix)

    @classmethod
    def from_gpt2(
        cls,
        vocab_path: PathLike,
        merges_path: PathLike,
        pattern: str | None = GPT2_SPLIT_PATTERN,
        special_tokens: Iterable[str] | None = None,
    ) -> BPETokenizer:
        """Read GPT-2 style files (OpenAI's GPT-2 ``encoder.json`` + ``vocab.bpe`` too).

        Entries of vocab.json that are neither bytes nor merge results are the special tokens
        (or only those named in ``special_tokens``).
        """
        byte_ids, merges, _, others = read_gpt2_files(vocab_path, merges_path)
        if special_tokens is not None:
            names = list(special_tokens)
            missing = [name for name in names if name not in others]
            if missing:
                raise VocabularyFileError(
                    f"from_gpt2: the special tokens {missing} are not in {vocab_path} (its extra "
                    f"entries: {sorted(others)})"
                )
            others = {name: others[name] for name in names}
        tokenizer = cls(pattern)
        tokenizer._set_model(byte_ids, merges, others, VocabularyFileError, "from_gpt2")
        return tokenizer

    def mergeable_ranks(self) -> dict[bytes, int]:
        """tiktoken's ``mergeable_ranks``: token bytes -> id (= rank) for every ordinary token.

        ``tiktoken.Encoding(name, pat_str=tok.pattern, mergeable_ranks=tok.mergeable_ranks(),
        special_tokens=tok.special_tokens)`` encodes as this tokenizer does.
        """
        return {token: token_id for token_id, token in sorted(self._vocab.items())}

    @classmethod
    def from_mergeable_ranks(
        cls,
        ranks: Mapping[bytes, int],
        pattern: str | None = GPT2_SPLIT_PATTERN,
        special_tokens: Mapping[str, int] | None = None,
    ) -> BPETokenizer:
        """The tokenizer of tiktoken's ``bytes -> rank`` table (e.g. an ``Encoding``'s
        ``_mergeable_ranks``), with its ``special_tokens`` (name -> id)."""
        byte_ids, merges = merges_from_ranks(ranks)
        tokenizer = cls(pattern)
        tokenizer._set_model(
            byte_ids,
            merges,
            dict(special_tokens or {}),
            VocabularyFileError,
            "from_mergeable_ranks",
        )
        return tokenizer

    def save_tiktoken(self, path: PathLike) -> Path:
        """Write the ``.tiktoken`` file (``base64(token) rank`` lines) that
        ``tiktoken.load.load_tiktoken_bpe`` reads. The pattern and special tokens are not in
        that format: keep them with the file."""
        return write_tiktoken_file(path, self.mergeable_ranks())

    @classmethod
    def from_tiktoken_file(
        cls,
        path: PathLike,
        pattern: str | None = GPT2_SPLIT_PATTERN,
        special_tokens: Mapping[str, int] | None = None,
    ) -> BPETokenizer:
        """Read a ``.tiktoken`` file (with the pattern and special tokens it was made with)."""
        return cls.from_mergeable_ranks(read_tiktoken_file(path), pattern, special_tokens)

    def __repr__(self) -> str:
        name = next((key for key, value in PATTERNS.items() if value == self.pattern), None)
        pattern = name or ("None" if self.pattern is None else "custom")
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self._merges)}, "
            f"pattern={pattern}, special_tokens={list(self._special)})"
        )
