"""The events: each a task (data, split, metric) and the rules every submission runs under.

An event fixes what is measured and how; a submission only brings a model. The floors and
ceilings are the quality a faster or smaller model must keep; the baselines are the milestones'
models (milestone 05's CIFAR CNN, milestone 07's character TinyGPT), packed by ``m08_production``
and recorded on the same board, so every ratio compares runs on the same machine.

Tasks:

* ``cifar10``: the test split of the CIFAR-10 data found in the data directory (the real subset
  here: 1,017 images; the full 10,000 where present), images scaled to [0, 1] and normalised with
  the CIFAR-10 mean and std (milestone 05's preparation). Metric: top-1 accuracy.
* ``shakespeare``: the last 10% of Tiny Shakespeare (the milestones' validation split), character
  tokenizer of the first 90%. Metric: mean next-character cross entropy (nats) over the first
  ``val_tokens`` characters, in windows of the model's block size.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["EVENTS", "Event", "event_by_name"]

CORE_PACKAGES = frozenset(
    {
        "tinytorch.layers",
        "tinytorch.activations",
        "tinytorch.networks",
        "tinytorch.spatial",
        "tinytorch.transformers",
    }
)
OPTIMISATION_PACKAGES = frozenset({"tinytorch.kernels", "tinytorch.compression"})


@dataclass(frozen=True)
class Event:
    """One event's rules.

    ``objective``: the metric ranked (``latency_1t_ms``, ``size_bytes``, ``tokens_per_s`` or
    ``score``); ``lower_is_better`` its direction. ``floor``: the least accuracy (``cifar10``),
    ``ceiling``: the most validation loss (``shakespeare``); a run that misses it is recorded as
    measured but not ranked. Limits: ``max_bytes`` (submission on disk), ``time_limit_s`` (the
    whole measuring process), ``memory_limit_mb`` (its address space).
    """

    name: str
    task: str
    objective: str
    lower_is_better: bool
    description: str
    floor: float | None = None
    ceiling: float | None = None
    allowed_packages: frozenset[str] = field(default=CORE_PACKAGES | OPTIMISATION_PACKAGES)
    max_bytes: int = 64 * 2**20
    time_limit_s: float = 600.0
    memory_limit_mb: int = 4096
    latency_repeats: int = 50  # ``shakespeare``: ``prompt_tokens``, ``new_tokens`` (None: up to
    # the model's block size, the context a KV-cache holds), ``val_tokens`` characters scored,
    # ``batch`` prompts generated at once for ``tokens_per_s`` (a server's throughput; the
    # per-token latency is measured at batch 1)
    val_tokens: int = 16_384
    prompt_tokens: int = 16
    new_tokens: int | None = None  # None: continue the prompt up to the model's block size
    batch: int = 1

    def to_json(self) -> str:
        """The rules as JSON (what the measuring process receives)."""
        fields = asdict(self)
        fields["allowed_packages"] = sorted(self.allowed_packages)
        return json.dumps(fields)

    @classmethod
    def from_json(cls, text: str) -> Event:
        fields: dict[str, Any] = json.loads(text)
        fields["allowed_packages"] = frozenset(fields["allowed_packages"])
        return cls(**fields)


EVENTS: dict[str, Event] = {
    event.name: event
    for event in (
        Event(
            "cifar10-latency",
            "cifar10",
            "latency_1t_ms",
            True,
            "CIFAR-10: fastest single-image inference (median, one thread) at accuracy >= 70%",
            floor=0.70,
        ),
        Event(
            "cifar10-size",
            "cifar10",
            "size_bytes",
            True,
            "CIFAR-10: smallest submission on disk at accuracy >= 70%",
            floor=0.70,
        ),
        Event(
            "cifar10-allround",
            "cifar10",
            "score",
            False,
            "CIFAR-10: weighted geometric mean of accuracy, latency, memory and size against "
            "the baseline run (see scoring.allround_score), at accuracy >= 70%",
            floor=0.70,
        ),
        Event(
            "tinygpt-throughput",
            "shakespeare",
            "tokens_per_s",
            False,
            "TinyGPT on Tiny Shakespeare: most generated tokens per second (32 prompts of 16 "
            "validation characters at once, greedy, each continued to the model's block size) "
            "at validation loss <= 1.60 nats; the per-token latency is measured at batch 1",
            ceiling=1.60,
            batch=32,
        ),
    )
}


def event_by_name(name: str) -> Event:
    """The event called ``name``; a KeyError lists the events there are."""
    try:
        return EVENTS[name]
    except KeyError:
        raise KeyError(f"no event {name!r}; the events are {', '.join(EVENTS)}") from None
