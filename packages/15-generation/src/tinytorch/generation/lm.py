"""Training a language model with module 10's `Trainer`, and files that sampling can read.

Nothing here is a second training loop. A language-model run is a Trainer run in which:

- the training "loader" is `RandomWindows`: one epoch = ``eval_every`` optimizer steps on
  random windows from a seeded generator, after which the Trainer evaluates;
- the validation loader is `StridedWindows` over the last 10% of the text;
- the loss is `lm_loss`: cross-entropy over all ``B * T`` positions;
- the optimizer is AdamW with weight decay on the matrices only (`weight_decay_groups`), the
  schedule a linear warm-up then a cosine decay (`warmup_cosine`, module 08's `LinearWarmup`
  and `CosineAnnealingLR`), gradients clipped by global norm (the Trainer's ``grad_clip``);
- checkpoints are the Trainer's (atomic, every epoch, exact resume: the windows' generator is
  found and restored like a DataLoader's), plus what sampling needs: `LMTrainer` adds the
  model's configuration and the tokenizer to every checkpoint it writes.

`load_language_model(path)` rebuilds model and tokenizer from such a file (or from the smaller
inference file `save_language_model` writes).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.generation.data import RandomWindows, StridedWindows
from tinytorch.layers import Module
from tinytorch.optimizers import AdamW, CosineAnnealingLR, LinearWarmup
from tinytorch.tensor import Tensor
from tinytorch.tokenization import BPETokenizer, CharTokenizer
from tinytorch.training import (
    CheckpointError,
    Trainer,
    cross_entropy,
    read_checkpoint,
    save_checkpoint,
)
from tinytorch.transformers import TinyGPT

__all__ = [
    "BEST_CHECKPOINT",
    "LAST_CHECKPOINT",
    "GPTConfig",
    "LMTrainer",
    "LanguageModel",
    "TrainConfig",
    "bits_per_character",
    "build_model",
    "generation_meta",
    "lm_loss",
    "load_language_model",
    "save_language_model",
    "tokenizer_from_json",
    "tokenizer_to_json",
    "train_language_model",
    "warmup_cosine",
    "weight_decay_groups",
]

LAST_CHECKPOINT, BEST_CHECKPOINT = "last.npz", "best.npz"  # what the Trainer writes
META = "generation"  # the key of the checkpoint's extra entry this module adds
PathLike = str | os.PathLike[str]


# --------------------------------------------------------------------- configurations
@dataclass
class GPTConfig:
    """The arguments of ``TinyGPT`` (module 14): stored in checkpoints to rebuild the model.

    The defaults are nanoGPT's small character-level setting scaled to a laptop CPU: 4 layers,
    4 heads, 128 features, a 64-token context (about 0.8M parameters with 65 characters).
    ``gelu_approximate``: ``"none"`` (exact, erf) or ``"tanh"`` (GPT-2's approximation).
    ``pos_encoding``: ``"learned"`` (GPT-2), ``"sinusoidal"`` or ``"rotary"`` (RoPE).
    """

    vocab_size: int
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    tie_weights: bool = True
    gelu_approximate: str = "none"
    pos_encoding: str = "learned"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GPTConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"GPTConfig: unknown fields {unknown} (known: {sorted(known)}); the file was "
                f"written by a newer tinytorch-generation"
            )
        return cls(**data)


def build_model(config: GPTConfig, seed: int | None = 0) -> TinyGPT:
    """``TinyGPT(**config, rng=np.random.default_rng(seed))`` (module 14)."""
    return TinyGPT(**asdict(config), rng=np.random.default_rng(seed))


@dataclass
class TrainConfig:
    """How to train: batches, steps, the optimizer and its schedule.

    ``steps`` optimizer steps in all, the validation loss every ``eval_every`` steps (over
    ``eval_batches`` batches of validation windows, None: all of them); AdamW (``lr``,
    ``betas``, ``weight_decay`` on matrices only), a linear warm-up over ``warmup_steps`` from
    ``lr / warmup_steps`` to ``lr``, then a cosine decay to ``lr * min_lr_ratio`` at the last
    step; the gradients' global norm clipped to ``grad_clip`` (None: off). ``seed`` seeds the
    training windows (the model has its own seed).
    """

    batch_size: int = 32
    steps: int = 2000
    eval_every: int = 200
    eval_batches: int | None = None
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.1
    betas: tuple[float, float] = field(default=(0.9, 0.99))
    grad_clip: float | None = 1.0
    seed: int = 0

    @property
    def epochs(self) -> int:
        """Trainer epochs of ``eval_every`` steps (the last one may run past ``steps``)."""
        return -(-self.steps // self.eval_every)


# --------------------------------------------------------------------- loss, optimizer
def lm_loss(output: Any, targets: Any) -> Tensor:
    """Mean cross-entropy of next-token prediction over all ``B * T`` positions.

    ``output``: logits ``(B, T, V)`` (or a ``(logits, ...)`` tuple); ``targets``: int ids
    ``(B, T)``. The logits are viewed as ``B * T`` rows of ``V`` scores and module 10's fused
    `cross_entropy` does the rest. A uniform guess scores ``ln V`` (4.17 for 65 characters).
    """
    logits = output[0] if isinstance(output, tuple) else output
    target = targets if isinstance(targets, Tensor) else Tensor(np.asarray(targets))
    if logits.ndim != 3 or tuple(target.shape) != tuple(logits.shape[:2]):
        raise ValueError(
            f"lm_loss: expected logits (B, T, V) and targets (B, T), got {tuple(logits.shape)} "
            f"and {tuple(target.shape)}"
        )
    # HINT: reshape the logits to (B * T, V) rows and the targets to (B * T,), then
    # HINT: cross_entropy (mean over the rows)
    # BEGIN SOLUTION
    b, t, v = logits.shape
    return cross_entropy(logits.reshape(b * t, v), target.reshape(b * t))
    # END SOLUTION


def bits_per_character(loss_per_token: float, n_tokens: int, n_chars: int) -> float:
    """A per-token loss (nats) as bits per character: ``loss * tokens / characters / ln 2``.

    Compares models whose tokens differ: a BPE token covers ~2 characters, so its loss per
    token is higher for the same quality. A character model's bpc is ``loss / ln 2``.
    """
    if n_chars <= 0 or n_tokens <= 0:
        raise ValueError(
            f"bits_per_character: n_tokens and n_chars must be positive, got {n_tokens} and "
            f"{n_chars}"
        )
    # HINT: the total loss in nats is loss_per_token * n_tokens; spread it over the characters
    # HINT: and turn nats into bits (divide by ln 2)
    # BEGIN SOLUTION
    return loss_per_token * n_tokens / n_chars / math.log(2)
    # END SOLUTION


def weight_decay_groups(model: Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two AdamW parameter groups: matrices (embeddings and Linear weights, ``ndim >= 2``)
    with ``weight_decay``, and vectors (biases, LayerNorm gains and shifts) without: decaying
    a gain towards 0 fights the normalisation (nanoGPT's ``configure_optimizers``). A
    parameter shared by two modules (tied embeddings) is listed once."""
    decay: list[Tensor] = []
    no_decay: list[Tensor] = []
    seen: set[int] = set()
    for param in model.parameters():
        if id(param) in seen or not param.requires_grad:
            continue
        seen.add(id(param))
        (decay if param.ndim >= 2 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def warmup_cosine(
    optimizer: Any, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.1
) -> LinearWarmup:
    """Linear warm-up over ``warmup_steps`` (from ``lr / warmup_steps``), then half a cosine
    down to ``lr * min_lr_ratio`` at step ``total_steps``: module 08's ``LinearWarmup(opt,
    warmup, CosineAnnealingLR(opt, total - warmup, eta_min))``. Step it once per batch."""
    if not 0 < warmup_steps < total_steps:
        raise ValueError(
            f"warmup_cosine: need 0 < warmup_steps < total_steps, got {warmup_steps} and "
            f"{total_steps}"
        )
    base = float(optimizer.param_groups[0]["lr"])
    cosine = CosineAnnealingLR(optimizer, total_steps - warmup_steps, eta_min=base * min_lr_ratio)
    return LinearWarmup(optimizer, warmup_steps, cosine, start_factor=1.0 / warmup_steps)


# --------------------------------------------------------------------- tokenizers in files
def tokenizer_to_json(tokenizer: Any) -> str:
    """A `CharTokenizer` or `BPETokenizer` as one JSON string (their ``to_dict``)."""
    if not isinstance(tokenizer, (CharTokenizer, BPETokenizer)):
        raise TypeError(
            f"tokenizer_to_json: expected a CharTokenizer or BPETokenizer, got "
            f"{type(tokenizer).__name__}"
        )
    return json.dumps(tokenizer.to_dict(), ensure_ascii=False)


def tokenizer_from_json(text: str) -> CharTokenizer | BPETokenizer:
    """Inverse of `tokenizer_to_json`."""
    data = json.loads(text)
    if isinstance(data, dict) and data.get("format") == "tinytorch.CharTokenizer":
        return CharTokenizer(
            data["chars"], unk_token=data.get("unk_token"), pad_token=data.get("pad_token")
        )
    return BPETokenizer.from_dict(data, "checkpoint")


# --------------------------------------------------------------------- the run
class LMTrainer(Trainer):
    """A `Trainer` whose checkpoints also hold ``meta`` (the model configuration and the
    tokenizer, under ``extra["generation"]``), so that a checkpoint is enough to sample."""

    def __init__(self, *args: Any, meta: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.meta = dict(meta or {})

    def checkpoint_extra(self) -> dict[str, Any]:
        return {META: self.meta}


def _progress_line(
    config: TrainConfig, block_size: int, optimizer: Any, log: Callable[[str], None]
) -> Callable[[dict[str, Any]], None]:
    """One line per evaluation: step, losses, the learning rate now, tokens/s, elapsed."""
    start = time.perf_counter()

    def report(record: dict[str, Any]) -> None:
        step = record["epoch"] * config.eval_every
        tokens_per_s = record["samples_per_s"] * block_size
        val = record["val_loss"]
        lr = optimizer.param_groups[0]["lr"]
        log(
            f"step {step:>6}/{config.steps} | train loss {record['train_loss']:.4f} | val loss "
            f"{val:.4f} | lr {lr:.2e} | {tokens_per_s:,.0f} tokens/s | "
            f"{time.perf_counter() - start:,.0f} s"
        )

    return report


def train_language_model(
    model: Module,
    train_tokens: Any,
    val_tokens: Any,
    config: TrainConfig,
    block_size: int,
    out_dir: PathLike | None = None,
    resume: bool = False,
    meta: dict[str, Any] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
) -> LMTrainer:
    """Train ``model`` on windows of ``train_tokens``; return the `LMTrainer` (its
    ``history`` has a record per evaluation: train and validation loss, lr, time, tokens/s).

    ``block_size``: the window length (at most the model's). ``out_dir``: checkpoints
    ``last.npz`` (and ``best.npz``, lowest validation loss) after every evaluation, with
    ``meta`` (e.g. ``{"model_config": ..., "tokenizer": ...}``); ``resume=True`` continues
    from ``out_dir/last.npz`` bit for bit. ``log``: where the progress lines go (None: silent).
    """
    train_loader = RandomWindows(
        train_tokens, block_size, config.batch_size, config.eval_every, seed=config.seed
    )
    val_loader = StridedWindows(
        val_tokens, block_size, config.batch_size, max_batches=config.eval_batches
    )
    optimizer = AdamW(
        weight_decay_groups(model, config.weight_decay), lr=config.lr, betas=config.betas
    )
    total = config.epochs * config.eval_every
    scheduler = warmup_cosine(optimizer, config.warmup_steps, total, config.min_lr_ratio)
    callbacks = [f for f in (on_epoch_end,) if f is not None]
    if log is not None:
        callbacks.insert(0, _progress_line(config, block_size, optimizer, log))
    trainer = LMTrainer(
        model,
        optimizer,
        lm_loss,
        scheduler=scheduler,
        grad_clip=config.grad_clip,
        metrics=None,
        checkpoint_dir=out_dir,
        progress=progress,
        on_epoch_end=(lambda record: [f(record) for f in callbacks]) if callbacks else None,
        meta=meta,
    )
    trainer.fit(train_loader, config.epochs, val_loader=val_loader, resume=resume)
    return trainer


# --------------------------------------------------------------------- files for sampling
class _Weights(Module):
    """A state dict dressed as a Module, for `save_checkpoint`."""

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        super().__init__()
        self._state = state

    def state_dict(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        return self._state


@dataclass
class LanguageModel:
    """What `load_language_model` returns: the model (eval mode), its tokenizer and config."""

    model: Module
    tokenizer: CharTokenizer | BPETokenizer
    config: GPTConfig
    extra: dict[str, Any]


def generation_meta(config: GPTConfig, tokenizer: Any, **more: Any) -> dict[str, Any]:
    """The ``meta`` a checkpoint needs for sampling: the model configuration and tokenizer."""
    return {"model_config": asdict(config), "tokenizer": tokenizer_to_json(tokenizer), **more}


def save_language_model(
    path: PathLike,
    model: Module,
    config: GPTConfig,
    tokenizer: Any,
    dtype: Any = np.float32,
    **more: Any,
) -> Path:
    """An inference file: the model's weights (as ``dtype``; ``np.float16`` halves the size),
    its configuration and tokenizer, and ``more`` (e.g. the validation loss), with no optimizer
    state. Same format as a training checkpoint (`load_language_model` reads both)."""

    state = {k: v.astype(dtype) for k, v in model.state_dict().items()}
    return save_checkpoint(
        path, _Weights(state), extra={META: generation_meta(config, tokenizer, **more)}
    )


def load_language_model(path: PathLike, seed: int | None = 0) -> LanguageModel:
    """Rebuild the model (eval mode, float32 weights) and tokenizer from a checkpoint written
    by `train_language_model` (``out_dir/last.npz`` or ``best.npz``) or `save_language_model`.
    """
    checkpoint = read_checkpoint(path)
    extra = checkpoint.extra if isinstance(checkpoint.extra, dict) else {}
    meta = extra.get(META)
    if not isinstance(meta, dict) or "model_config" not in meta or "tokenizer" not in meta:
        raise CheckpointError(
            f"load_language_model: {path} holds no model configuration and tokenizer (no "
            f"extra[{META!r}] entry); it was not written by tinytorch.generation (train with "
            f"`python -m tinytorch.generation train`, or save_language_model)"
        )
    config = GPTConfig.from_dict(dict(meta["model_config"]))
    model = build_model(config, seed)
    try:
        model.load_state_dict(checkpoint.model_state)
    except (KeyError, ValueError) as error:
        raise CheckpointError(
            f"load_language_model: the weights in {path} do not fit the model built from its "
            f"configuration {config}: {error}"
        ) from error
    model.eval()
    return LanguageModel(model, tokenizer_from_json(meta["tokenizer"]), config, meta)
