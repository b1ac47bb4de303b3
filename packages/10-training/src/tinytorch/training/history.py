"""`History`: one record (a dict of numbers) per epoch of training.

Keys of a record written by `Trainer.fit` (``<metric>`` is each metric's name, ``accuracy`` by
default; the ``val_`` keys are None without a validation loader):

    epoch, lr, train_loss, train_<metric>, val_loss, val_<metric>, time_s (whole epoch),
    train_time_s, samples_per_s (training samples / train_time_s), peak_rss_bytes,
    peak_traced_bytes (None unless track_memory=True)

``history["val_loss"]`` is the list of one key over the epochs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from tinytorch.setup.measure import format_bytes

__all__ = ["History"]


class History:
    """Per-epoch records: ``history.records`` (list of dicts), ``history["key"]`` (a column)."""

    def __init__(self, records: list[dict[str, Any]] | None = None) -> None:
        self.records: list[dict[str, Any]] = [dict(r) for r in records or []]

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(dict(record))

    def __getitem__(self, key: str) -> list[Any]:
        if self.records and not any(key in r for r in self.records):
            raise KeyError(
                f"History: no column {key!r}; the columns are {sorted(self.records[-1])}"
            )
        return [r.get(key) for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def last(self) -> dict[str, Any]:
        if not self.records:
            raise IndexError("History.last: no epoch has been recorded yet")
        return self.records[-1]

    def best(self, key: str = "val_loss", mode: str = "min") -> dict[str, Any]:
        """The record with the smallest (``mode="min"``) or largest (``"max"``) ``key``."""
        if mode not in ("min", "max"):
            raise ValueError(f"History.best: mode must be 'min' or 'max', got {mode!r}")
        scored = [r for r in self.records if isinstance(r.get(key), (int, float))]
        scored = [r for r in scored if not math.isnan(r[key])]
        if not scored:
            raise ValueError(f"History.best: no epoch has a number for {key!r}")
        pick = min if mode == "min" else max
        return pick(scored, key=lambda r: r[key])

    def to_dict(self) -> dict[str, Any]:
        return {"records": [dict(r) for r in self.records]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        return cls(list(data.get("records", [])))

    def table(self) -> str:
        """A plain-text table: one line per epoch, the main columns."""
        lines = []
        for r in self.records:
            parts = [f"epoch {r.get('epoch')}"]
            for key, value in r.items():
                if key in ("epoch", "train_time_s", "peak_traced_bytes") or value is None:
                    continue
                if key.endswith("_bytes"):
                    parts.append(f"{key[:-6]} {format_bytes(value)}")
                elif key == "lr":
                    parts.append(f"lr {value:.3g}")
                elif key == "samples_per_s":
                    parts.append(f"{value:,.0f} samples/s")
                elif isinstance(value, float):
                    parts.append(f"{key} {value:.4f}")
            lines.append("  ".join(parts))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"History({len(self.records)} epochs)"
