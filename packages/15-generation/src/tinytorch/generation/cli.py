"""``python -m tinytorch.generation``: train a TinyGPT on a text file, sample from a checkpoint.

    python -m tinytorch.generation train --data input.txt --tokenizer char --out runs/shakespeare
    python -m tinytorch.generation sample --checkpoint runs/shakespeare/best.npz --prompt "ROMEO:"

``sample`` generates with the KV cache (``--no-cache``: a full forward per token, the same
text, slower).

``train`` splits the text by position (first 90% train, last 10% validation), builds the
tokenizer (``char``: the text's characters; ``bpe``: byte-level BPE of ``--vocab-size`` ids
trained on the training part only), trains with the Trainer and writes ``last.npz`` and
``best.npz`` into ``--out`` after every evaluation (``--resume`` continues a stopped run
exactly). Every checkpoint holds the model configuration and the tokenizer: ``sample`` needs
nothing else, and prints the text as it is generated.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from tinytorch.generation.data import split_text
from tinytorch.generation.lm import (
    LAST_CHECKPOINT,
    GPTConfig,
    TrainConfig,
    bits_per_character,
    build_model,
    generation_meta,
    load_language_model,
    tokenizer_from_json,
    train_language_model,
)
from tinytorch.generation.sampling import stream_text
from tinytorch.tokenization import BPETokenizer, CharTokenizer
from tinytorch.training import read_checkpoint

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    """The ``train`` and ``sample`` subcommands and their options."""
    top = argparse.ArgumentParser(
        prog="python -m tinytorch.generation", description=__doc__.splitlines()[0]
    )
    commands = top.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a TinyGPT on a text file")
    train.add_argument("--data", type=Path, required=True, help="a UTF-8 text file")
    train.add_argument("--tokenizer", choices=("char", "bpe"), default="char")
    train.add_argument("--vocab-size", type=int, default=512, help="BPE vocabulary size")
    train.add_argument("--out", type=Path, required=True, help="folder for the checkpoints")
    model = train.add_argument_group("model (TinyGPT)")
    defaults = GPTConfig(vocab_size=1)
    model.add_argument("--block-size", type=int, default=defaults.block_size)
    model.add_argument("--n-layer", type=int, default=defaults.n_layer)
    model.add_argument("--n-head", type=int, default=defaults.n_head)
    model.add_argument("--n-embd", type=int, default=defaults.n_embd)
    model.add_argument("--dropout", type=float, default=defaults.dropout)
    model.add_argument("--no-bias", action="store_true", help="Linear and LayerNorm without bias")
    model.add_argument("--untied", action="store_true", help="separate output and input tables")
    model.add_argument("--model-seed", type=int, default=0, help="seed of the initial weights")
    model.add_argument(
        "--pos-encoding", choices=("learned", "sinusoidal", "rotary"), default="learned"
    )
    optim = train.add_argument_group("optimisation")
    t = TrainConfig()
    optim.add_argument("--batch-size", type=int, default=t.batch_size)
    optim.add_argument("--steps", type=int, default=t.steps)
    optim.add_argument("--eval-every", type=int, default=t.eval_every)
    optim.add_argument("--eval-batches", type=int, default=t.eval_batches)
    optim.add_argument("--lr", type=float, default=t.lr)
    optim.add_argument("--min-lr-ratio", type=float, default=t.min_lr_ratio)
    optim.add_argument("--warmup-steps", type=int, default=t.warmup_steps)
    optim.add_argument("--weight-decay", type=float, default=t.weight_decay)
    optim.add_argument("--grad-clip", type=float, default=t.grad_clip, help="0: off")
    optim.add_argument("--seed", type=int, default=t.seed, help="seed of the training windows")
    train.add_argument("--resume", action="store_true", help="continue from --out/last.npz")
    train.add_argument("--sample-tokens", type=int, default=200, help="sample printed at the end")
    train.add_argument("--quiet", action="store_true", help="no progress lines")

    sample = commands.add_parser("sample", help="generate text from a checkpoint")
    sample.add_argument("--checkpoint", type=Path, required=True)
    sample.add_argument("--prompt", default="\n")
    sample.add_argument("--max-new-tokens", type=int, default=500)
    sample.add_argument("--temperature", type=float, default=0.8)
    sample.add_argument("--top-k", type=int, default=None)
    sample.add_argument("--top-p", type=float, default=None)
    sample.add_argument("--seed", type=int, default=None)
    sample.add_argument(
        "--no-cache",
        action="store_true",
        help="a full forward per token instead of the KV cache (same text, slower)",
    )
    return top


def _build_tokenizer(args: argparse.Namespace, text: str, train_text: str) -> object:
    if args.resume and (args.out / LAST_CHECKPOINT).is_file():
        meta = read_checkpoint(args.out / LAST_CHECKPOINT).extra["generation"]
        return tokenizer_from_json(meta["tokenizer"])
    if args.tokenizer == "char":
        return CharTokenizer.from_text(text)  # the alphabet only: every character encodes
    return BPETokenizer().train(train_text, vocab_size=args.vocab_size, progress=not args.quiet)


def _train(args: argparse.Namespace) -> int:
    text = args.data.read_text(encoding="utf-8")
    train_text, val_text = split_text(text)
    tokenizer = _build_tokenizer(args, text, train_text)
    dtype = np.uint16 if tokenizer.vocab_size <= 65536 else np.int32  # type: ignore[attr-defined]
    train_ids = np.asarray(tokenizer.encode(train_text), dtype=dtype)  # type: ignore[attr-defined]
    val_ids = np.asarray(tokenizer.encode(val_text), dtype=dtype)  # type: ignore[attr-defined]
    config = GPTConfig(
        vocab_size=tokenizer.vocab_size,  # type: ignore[attr-defined]
        block_size=args.block_size,
        n_layer=args.n_layer,
        n_head=args.n_head,
        n_embd=args.n_embd,
        dropout=args.dropout,
        bias=not args.no_bias,
        tie_weights=not args.untied,
        pos_encoding=args.pos_encoding,
    )
    schedule = TrainConfig(
        batch_size=args.batch_size,
        steps=args.steps,
        eval_every=args.eval_every,
        eval_batches=args.eval_batches,
        lr=args.lr,
        min_lr_ratio=args.min_lr_ratio,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        grad_clip=args.grad_clip or None,
        seed=args.seed,
    )
    model = build_model(config, args.model_seed)
    log = None if args.quiet else print
    if log:
        n_params = sum(p.numel() for p in model.parameters())
        log(
            f"{args.data}: {len(text):,} characters -> {len(train_ids):,} train / "
            f"{len(val_ids):,} validation tokens ({args.tokenizer}, vocabulary "
            f"{config.vocab_size}); TinyGPT {n_params:,} parameters {asdict(config)}"
        )
    meta = generation_meta(
        config, tokenizer, train_config=asdict(schedule), val_chars=len(val_text)
    )
    trainer = train_language_model(
        model,
        train_ids,
        val_ids,
        schedule,
        config.block_size,
        out_dir=args.out,
        resume=args.resume,
        meta=meta,
        progress=not args.quiet,
        log=log,
    )
    val_loss = float(trainer.history.records[-1]["val_loss"])
    bpc = bits_per_character(val_loss, len(val_ids), len(val_text))
    print(
        f"validation loss {val_loss:.4f} per token = {bpc:.3f} bits per character; checkpoints "
        f"in {args.out} (sample: python -m tinytorch.generation sample --checkpoint "
        f"{args.out / 'best.npz'})"
    )
    if args.sample_tokens > 0:
        pieces = stream_text(
            model, tokenizer, "\n", args.sample_tokens, temperature=0.8, seed=args.seed
        )
        print("".join(pieces))
    return 0 if math.isfinite(val_loss) else 1


def _sample(args: argparse.Namespace) -> int:
    loaded = load_language_model(args.checkpoint)
    sys.stdout.write(args.prompt)
    sys.stdout.flush()
    for piece in stream_text(
        loaded.model,
        loaded.tokenizer,
        args.prompt,
        args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        use_cache=not args.no_cache,
    ):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return _train(args) if args.command == "train" else _sample(args)
