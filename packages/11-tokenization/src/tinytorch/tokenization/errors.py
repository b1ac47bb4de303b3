"""The errors of tokenization. Each names the operation, the values involved and the fix.

All of them are ``ValueError`` subclasses (``TokenIdError`` is an ``IndexError`` too), so code
that already catches ``ValueError`` keeps working, and a test can ask for the precise class.
"""

from __future__ import annotations

__all__ = [
    "DisallowedSpecialTokenError",
    "TokenIdError",
    "TokenizerError",
    "UnknownCharacterError",
    "VocabSizeError",
    "VocabularyFileError",
]


class TokenizerError(ValueError):
    """Base class of every error raised by ``tinytorch.tokenization``."""


class UnknownCharacterError(TokenizerError):
    """``CharTokenizer.encode`` met a character outside its vocabulary (and has no unk token)."""

    def __init__(self, char: str, position: int, vocab_size: int) -> None:
        self.char = char
        self.position = position
        super().__init__(
            f"CharTokenizer.encode: character {char!r} (U+{ord(char):04X}) at position "
            f"{position} is not in the vocabulary of {vocab_size} tokens; build the vocabulary "
            f"from text that contains it (CharTokenizer.from_text), or pass unk_token='<unk>' "
            f"to map unknown characters to one id"
        )


class DisallowedSpecialTokenError(TokenizerError):
    """A special token appears in text where special tokens are not allowed (as tiktoken)."""

    def __init__(self, token: str, position: int, token_id: int) -> None:
        self.token = token
        self.position = position
        super().__init__(
            f"encode: the text contains the special token {token!r} at character {position}, "
            f"and special tokens are disallowed by default; pass allowed_special={{{token!r}}} "
            f'(or allowed_special="all") to encode it as its id {token_id}, or '
            f'allowed_special="none" (or disallowed_special=()) to encode it as ordinary text'
        )


class VocabSizeError(TokenizerError):
    """A vocabulary size too small for the tokenizer (byte-level BPE needs 256 + specials)."""


class VocabularyFileError(TokenizerError):
    """A vocabulary file that is corrupt, truncated, or in another format than the one expected."""


class TokenIdError(TokenizerError, IndexError):
    """A token id outside the tokenizer's vocabulary (decode, or an id given as pad_id)."""

    def __init__(self, operation: str, token_id: int, position: int | None, vocab_size: int):
        self.token_id = token_id
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__(
            f"{operation}: token id {token_id}{where} is out of range: this tokenizer has "
            f"{vocab_size} ids (0..{vocab_size - 1}); were the ids made by another tokenizer, "
            f"or by a model whose output layer is larger than the vocabulary?"
        )
