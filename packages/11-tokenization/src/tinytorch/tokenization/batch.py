"""From token lists to the rectangular arrays a model eats: truncation, padding, attention masks.

A batch of texts encodes to lists of different lengths; an ``Embedding`` needs one ``(B, T)``
integer array. ``pad_batch`` cuts lists longer than ``max_length`` (from the right, or from the
left to keep the end of a text) and fills shorter ones with a pad id (on the right, or on the
left, as decoder-only models want for generation), and records in ``attention_mask`` which
positions hold real tokens (1) and which hold padding (0).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["BatchEncoding", "Padding", "Side", "pad_batch"]

Padding = bool | Literal["longest", "max_length", "do_not_pad"]
Side = Literal["right", "left"]


@dataclass(frozen=True)
class BatchEncoding:
    """A padded batch: ``input_ids`` and ``attention_mask``, both ``(B, T)`` of one integer dtype.

    ``attention_mask[i, t]`` is 1 where ``input_ids[i, t]`` is a token of text ``i`` and 0 where
    it is padding. Also readable like a dict: ``batch["input_ids"]``, ``dict(batch)``.
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in ("input_ids", "attention_mask"):
            raise KeyError(f"BatchEncoding has 'input_ids' and 'attention_mask', not {key!r}")
        return getattr(self, key)

    def keys(self) -> tuple[str, str]:
        return ("input_ids", "attention_mask")

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return 2

    @property
    def shape(self) -> tuple[int, ...]:
        """``(B, T)``."""
        return tuple(self.input_ids.shape)

    @property
    def lengths(self) -> np.ndarray:
        """``(B,)`` number of real tokens per row."""
        return self.attention_mask.sum(axis=1)


def _check_side(name: str, side: Any) -> None:
    if side not in ("right", "left"):
        raise ValueError(f"encode_batch: {name} must be 'right' or 'left', got {side!r}")


def pad_batch(
    sequences: Sequence[Sequence[int]],
    *,
    padding: Padding = True,
    truncation: bool = False,
    max_length: int | None = None,
    padding_side: Side = "right",
    truncation_side: Side = "right",
    pad_id: int | None = None,
    dtype: Any = np.int64,
) -> BatchEncoding:
    """Truncate and pad ``sequences`` of token ids into a ``BatchEncoding``.

    ``padding``: True / ``"longest"`` pads to the longest sequence (after truncation);
    ``"max_length"`` pads to ``max_length`` (to the longest when a row is longer and not
    truncated); False / ``"do_not_pad"`` requires equal lengths.
    ``truncation=True`` cuts sequences to ``max_length`` tokens, keeping the start
    (``truncation_side="right"``) or the end (``"left"``). ``pad_id`` must be given whenever
    padding is asked for. Cost: O(B * T) memory and time; arrays are ``dtype`` (int64, as
    ``torch.long``; int32 halves the memory).
    """
    if padding not in (True, False, "longest", "max_length", "do_not_pad"):
        raise ValueError(
            f"encode_batch: padding must be True, False, 'longest', 'max_length' or "
            f"'do_not_pad', got {padding!r}"
        )
    _check_side("padding_side", padding_side)
    _check_side("truncation_side", truncation_side)
    if max_length is not None and (isinstance(max_length, bool) or max_length < 0):
        raise ValueError(f"encode_batch: max_length must be a count >= 0, got {max_length!r}")
    if truncation and max_length is None:
        raise ValueError(
            "encode_batch: truncation=True needs max_length (the number of tokens to keep); "
            "pass max_length=..., or truncation=False"
        )
    if padding == "max_length" and max_length is None:
        raise ValueError(
            "encode_batch: padding='max_length' needs max_length; pass max_length=..., or "
            "padding=True to pad to the longest text of the batch"
        )
    pads = padding not in (False, "do_not_pad")
    if pads and pad_id is None:
        raise ValueError(
            "encode_batch: padding needs a pad id, and this tokenizer has no pad token; pass "
            "pad_id=... (an id the attention mask will hide, e.g. an end-of-text token), "
            "pad_token='<|endoftext|>', or padding=False for texts of equal length"
        )
    rows: list[Sequence[int]] = list(sequences)
    # HINT: truncate each row to max_length (keep rows[:max_length], or the last max_length ids
    # HINT: for truncation_side="left"); then pick the width T and fill arrays of pad_id (ids)
    # HINT: and 0 (mask), copying each row to the right or the left end of its line
    # BEGIN SOLUTION
    if truncation and max_length is not None:
        keep = max_length
        rows = [
            row[:keep] if truncation_side == "right" else row[max(0, len(row) - keep) :]
            for row in rows
        ]
    lengths = [len(row) for row in rows]
    longest = max(lengths, default=0)
    if padding == "max_length" and max_length is not None:
        width = max(max_length, longest)
    else:
        width = longest
    if not pads and any(n != width for n in lengths):
        raise ValueError(
            f"encode_batch: with padding=False every text must encode to the same length, got "
            f"lengths {sorted(set(lengths))}; pass padding=True (and pad_id) or truncation=True "
            f"with max_length"
        )
    input_ids = np.full((len(rows), width), pad_id if pads else 0, dtype=dtype)
    mask = np.zeros((len(rows), width), dtype=dtype)
    for i, row in enumerate(rows):
        n = len(row)
        start = 0 if padding_side == "right" else width - n
        input_ids[i, start : start + n] = row
        mask[i, start : start + n] = 1
    # END SOLUTION
    return BatchEncoding(input_ids, mask)
