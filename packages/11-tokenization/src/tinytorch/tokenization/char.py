"""The simplest tokenizer: one token per character.

The vocabulary is the sorted set of characters of a text, so the same text always gives the same
ids (Tiny Shakespeare: 65 characters, ``"\\n"`` = 0, ``" "`` = 1, ...). Its cost shows in the
sequence length: one token per character, about 4x more positions than a BPE tokenizer needs
for English, and attention's cost grows with the square of that length. And anything outside
the vocabulary cannot be encoded: by default that is an error naming the character and its
position; with ``unk_token`` set, every unknown character becomes that one id (and is lost).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.tokenization.base import Tokenizer, as_id_list, check_id
from tinytorch.tokenization.errors import (
    TokenIdError,
    UnknownCharacterError,
    VocabularyFileError,
)

__all__ = ["CharTokenizer"]

FORMAT = "tinytorch.CharTokenizer"


class CharTokenizer(Tokenizer):
    """Characters <-> ids: ``chars`` sorted get ids ``0..n-1``; then ``unk_token``, ``pad_token``.

    >>> tok = CharTokenizer.from_text("hello world")
    >>> tok.encode("hold")
    [3, 5, 4, 1]
    >>> tok.decode([3, 5, 4, 1])
    'hold'
    """

    def __init__(
        self,
        chars: Iterable[str],
        *,
        unk_token: str | None = None,
        pad_token: str | None = None,
    ) -> None:
        chars = list(chars)
        for char in chars:
            if not isinstance(char, str) or len(char) != 1:
                raise ValueError(
                    f"CharTokenizer: the vocabulary must be single characters, got {char!r}; "
                    f"build it from text with CharTokenizer.from_text(text)"
                )
        # HINT: the vocabulary is the distinct characters, sorted (deterministic); char i of it
        # HINT: gets id i: build self.chars (list), self.stoi (char -> id), self.itos (id -> str)
        # BEGIN SOLUTION
        self.chars: list[str] = sorted(set(chars))
        self.stoi: dict[str, int] = {char: i for i, char in enumerate(self.chars)}
        self.itos: list[str] = list(self.chars)
        # END SOLUTION
        self.unk_token = unk_token
        self.pad_token = pad_token
        self.unk_id: int | None = None
        self._pad_id: int | None = None
        for name, token in (("unk_token", unk_token), ("pad_token", pad_token)):
            if token is None:
                continue
            if not isinstance(token, str) or not token or token in self.stoi:
                raise ValueError(
                    f"CharTokenizer: {name}={token!r} must be a non-empty string that is not a "
                    f"character of the vocabulary (e.g. '<unk>', '<pad>')"
                )
            if token in self.itos:
                raise ValueError(f"CharTokenizer: unk_token and pad_token are both {token!r}")
            if name == "unk_token":
                self.unk_id = len(self.itos)
            else:
                self._pad_id = len(self.itos)
            self.itos.append(token)

    @classmethod
    def from_text(
        cls,
        text: str | Iterable[str],
        *,
        unk_token: str | None = None,
        pad_token: str | None = None,
    ) -> CharTokenizer:
        """The tokenizer whose vocabulary is every character of ``text`` (a str or many)."""
        chars: set[str] = set()
        for piece in [text] if isinstance(text, str) else text:
            chars.update(piece)
        return cls(chars, unk_token=unk_token, pad_token=pad_token)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    @property
    def pad_id(self) -> int | None:
        return self._pad_id

    def token_to_id(self, token: str) -> int | None:
        if token in self.stoi:
            return self.stoi[token]
        if token in (self.unk_token, self.pad_token):
            return self.itos.index(token)
        return None

    def encode(self, text: str) -> list[int]:
        """One id per character of ``text``: ``len(encode(text)) == len(text)``.

        An unknown character raises ``UnknownCharacterError`` (naming it and its position), or
        becomes ``unk_id`` when the tokenizer has an ``unk_token``. Cost: one dict lookup per
        character (about 20 MB/s).
        """
        # HINT: look each character up in self.stoi; for a character that is missing, use
        # HINT: self.unk_id when it is not None, else raise UnknownCharacterError(char, position,
        # HINT: self.vocab_size)
        # BEGIN SOLUTION
        stoi = self.stoi
        try:
            return [stoi[char] for char in text]
        except KeyError:
            pass
        ids = []
        for position, char in enumerate(text):
            found = stoi.get(char, self.unk_id)
            if found is None:
                raise UnknownCharacterError(char, position, self.vocab_size)
            ids.append(found)
        return ids
        # END SOLUTION

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """The text of ``ids`` (the unk and pad ids decode to their token strings).

        An id outside ``0..vocab_size - 1`` raises ``TokenIdError`` naming it and its position.
        """
        ids = as_id_list(ids, "CharTokenizer.decode")
        # HINT: join self.itos[i] for every id; check each id is in 0..vocab_size - 1 first
        # HINT: (a negative index would silently pick from the end) and raise TokenIdError
        # BEGIN SOLUTION
        size = len(self.itos)
        for position, token_id in enumerate(ids):
            check_id(token_id, position, "CharTokenizer.decode")
            if not 0 <= token_id < size:
                raise TokenIdError("CharTokenizer.decode", token_id, position, size)
        return "".join([self.itos[i] for i in ids])
        # END SOLUTION

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": 1,
            "chars": self.chars,
            "unk_token": self.unk_token,
            "pad_token": self.pad_token,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the vocabulary as readable JSON; ``CharTokenizer.load(path)`` reads it back."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", "utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CharTokenizer:
        """Read a file written by ``save``; ``VocabularyFileError`` for anything else."""
        path = Path(path)
        try:
            data = json.loads(path.read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise VocabularyFileError(
                f"CharTokenizer.load: {path} is not a JSON file ({error}); is it truncated, or "
                f"the wrong file?"
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise VocabularyFileError(
                f"CharTokenizer.load: {path} is not a CharTokenizer file (format {found!r}, "
                f"expected {FORMAT!r}); a BPE tokenizer file loads with BPETokenizer.load"
            )
        if data.get("version") != 1:
            raise VocabularyFileError(
                f"CharTokenizer.load: {path} has version {data.get('version')!r}; this "
                f"tinytorch-tokenization reads version 1: upgrade the package"
            )
        chars = data.get("chars")
        if not isinstance(chars, list) or len(set(chars)) != len(chars):
            raise VocabularyFileError(
                f"CharTokenizer.load: {path}: 'chars' must be a list of distinct characters"
            )
        try:
            return cls(chars, unk_token=data.get("unk_token"), pad_token=data.get("pad_token"))
        except ValueError as error:
            raise VocabularyFileError(f"CharTokenizer.load: {path}: {error}") from None

    def __repr__(self) -> str:
        return (
            f"CharTokenizer(vocab_size={self.vocab_size}, unk_token={self.unk_token!r}, "
            f"pad_token={self.pad_token!r})"
        )
