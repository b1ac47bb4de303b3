"""What every tokenizer offers: encode, decode, a vocabulary size, and batches for a model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tinytorch.tokenization.batch import BatchEncoding, Padding, Side, pad_batch
from tinytorch.tokenization.errors import TokenIdError

__all__ = ["Tokenizer", "as_id_list", "check_id"]


def as_id_list(ids: Iterable[int] | np.ndarray, operation: str) -> list[int]:
    """``ids`` as a list of Python ints (a 1-D integer array, a list, any iterable of ints)."""
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(
                f"{operation}: expected a 1-D integer array of ids, got shape {ids.shape} and "
                f"dtype {ids.dtype}; decode one row at a time (batch.input_ids[i])"
            )
        return [int(i) for i in ids.tolist()]
    return list(ids)


def check_id(token_id: Any, position: int, operation: str) -> None:
    """Raise ``TypeError`` naming the position when ``token_id`` is not an integer."""
    if isinstance(token_id, bool) or not isinstance(token_id, (int, np.integer)):
        raise TypeError(
            f"{operation}: ids must be integers, got {token_id!r} at position {position}; "
            f"convert model outputs with argmax(...).astype(int) or int(...)"
        )


class Tokenizer(ABC):
    """The interface: ``encode(text) -> list[int]``, ``decode(ids) -> str``, ``vocab_size``,
    ``encode_batch(texts) -> BatchEncoding`` of ``(B, T)`` arrays for an Embedding."""

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of ids: every id is in ``0..vocab_size - 1``."""

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """The token ids of ``text``."""

    @abstractmethod
    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """The text of ``ids``."""

    @abstractmethod
    def token_to_id(self, token: str) -> int | None:
        """The id of a whole token written as text (a special token, a character), or None."""

    @property
    def pad_id(self) -> int | None:
        """The id ``encode_batch`` pads with by default (the ``<pad>`` token), or None."""
        return None

    def __len__(self) -> int:
        return self.vocab_size

    def _resolve_pad_id(self, pad_id: int | None, pad_token: str | None) -> int | None:
        if pad_id is not None:
            if isinstance(pad_id, bool) or not 0 <= int(pad_id) < self.vocab_size:
                raise TokenIdError("encode_batch (pad_id)", int(pad_id), None, self.vocab_size)
            return int(pad_id)
        if pad_token is not None:
            found = self.token_to_id(pad_token)
            if found is None:
                raise ValueError(
                    f"encode_batch: pad_token={pad_token!r} is not a token of this tokenizer; "
                    f"pass one of its special tokens, or pad_id=..."
                )
            return found
        return self.pad_id

    def encode_batch(
        self,
        texts: Sequence[str],
        *,
        padding: Padding = True,
        truncation: bool = False,
        max_length: int | None = None,
        padding_side: Side = "right",
        truncation_side: Side = "right",
        pad_id: int | None = None,
        pad_token: str | None = None,
        dtype: Any = np.int64,
        **encode_options: Any,
    ) -> BatchEncoding:
        """Encode ``texts`` and return ``(B, T)`` ``input_ids`` and ``attention_mask`` arrays.

        The pad id is ``pad_id``, else the id of ``pad_token``, else the tokenizer's ``<pad>``
        token; ``encode_options`` go to ``encode`` (e.g. ``allowed_special="all"``). See
        ``pad_batch`` for ``padding``, ``truncation`` and the sides. Cost: encoding, plus one
        ``(B, T)`` array of ``dtype`` (8 bytes per entry for int64) twice.
        """
        if isinstance(texts, str):
            raise TypeError(
                "encode_batch: expected a list of texts, got one str; use encode(text), or "
                "encode_batch([text])"
            )
        return pad_batch(
            [self.encode(text, **encode_options) for text in texts],
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            padding_side=padding_side,
            truncation_side=truncation_side,
            pad_id=self._resolve_pad_id(pad_id, pad_token),
            dtype=dtype,
        )
