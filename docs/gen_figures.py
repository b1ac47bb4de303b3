"""Draw the systems-lesson figures of the documentation site from the lessons' own functions.

    python docs/gen_figures.py                 every figure, into build/docs-figures/
    python docs/gen_figures.py --only attention_memory --out /tmp/figs

Each figure calls the functions a module exposes for its systems lesson (``graph_stats`` and
``checkpoint_memory`` of module 06, ``conv2d_flops`` of module 07, ``measure_attention_memory``
and ``attention_score_memory`` of module 13, ``compression_curve`` of module 11, ...) and writes
``NAME.png`` beside ``NAME.json``: the title, the module, a caption computed from the same numbers,
and the numbers themselves. Nothing is typed in by hand. A figure whose module is not installed
writes only its JSON, with ``"skipped"`` saying why, and the site shows that note instead.

Needs matplotlib (the docs session installs it; no package depends on it). The whole set takes a
few seconds. `docs/hooks.py` calls `ensure` at build time to draw any figure that is missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Where figures go (and where docs/hooks.py looks for them): $TINYTORCH_DOCS_FIGURES if set.
DEFAULT_OUT = Path(os.environ.get("TINYTORCH_DOCS_FIGURES") or ROOT / "build" / "docs-figures")
MiB = 2**20


class Skip(Exception):
    """The figure cannot be drawn here (its module is not installed); the message says why."""


@dataclass(frozen=True)
class FigureSpec:
    name: str
    module: str  # "06-autograd": the module page that shows it
    title: str
    draw: Callable[[], tuple[Any, str, dict[str, Any]]]  # -> (matplotlib figure, caption, data)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 110, "font.size": 10})
    return plt


def _need(module: str, number: str) -> Any:
    if importlib.util.find_spec(module) is None:
        raise Skip(f"module {number} (`{module}`) is not installed in this build")
    return importlib.import_module(module)


# ------------------------------------------------------------------------------------ figures


def memory_vs_depth() -> tuple[Any, str, dict[str, Any]]:
    """Module 06: what a forward keeps for backward grows with depth; checkpointing trades it."""
    autograd = _need("tinytorch.autograd", "06")
    import numpy as np

    from tinytorch.tensor import Tensor

    width, batch = 256, 128
    depths = [2, 4, 8, 16, 32]
    saved = []
    for depth in depths:
        model = autograd.deep_mlp(depth, width)
        x = Tensor(np.random.default_rng(0).standard_normal((batch, width), dtype=np.float32))
        saved.append(autograd.graph_stats(model(x).sum())["saved_bytes"])
    ck_depths = [4, 8, 16, 32]
    ck = [autograd.checkpoint_memory(depth=d, width=width, batch=batch) for d in ck_depths]
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.plot(depths, [b / MiB for b in saved], "o-")
    left.set(
        xlabel="depth (Linear + ReLU blocks)",
        ylabel="MiB saved for backward",
        title=f"graph_stats: batch {batch}, width {width}",
    )
    right.plot(ck_depths, [r["plain_peak_bytes"] / MiB for r in ck], "o-", label="plain")
    right.plot(
        ck_depths,
        [r["checkpointed_peak_bytes"] / MiB for r in ck],
        "s-",
        label="checkpointed (4 segments)",
    )
    right.plot(ck_depths, [r["parameter_bytes"] / MiB for r in ck], ":", label="parameters")
    right.set(xlabel="depth", ylabel="peak MiB of one step", title="checkpoint_memory")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    per_block = (saved[-1] - saved[0]) / (depths[-1] - depths[0])
    caption = (
        f"Each Linear + ReLU block keeps {per_block / 1024:.0f} KiB for its backward "
        f"(batch {batch} x width {width}): saved memory grows linearly with depth "
        f"({saved[0] / MiB:.2f} MiB at depth {depths[0]}, {saved[-1] / MiB:.2f} MiB at "
        f"{depths[-1]}). Checkpointing keeps only segment boundaries and recomputes the rest: "
        f"at depth {ck_depths[-1]} the step's peak falls from "
        f"{ck[-1]['plain_peak_bytes'] / MiB:.1f} to {ck[-1]['checkpointed_peak_bytes'] / MiB:.1f}"
        " MiB, for one extra forward."
    )
    data = {
        "graph_stats": [{"depth": d, "saved_bytes": b} for d, b in zip(depths, saved, strict=True)],
        "checkpoint_memory": [{"depth": d, **r} for d, r in zip(ck_depths, ck, strict=True)],
    }
    return fig, caption, data


def conv_flops_vs_channels() -> tuple[Any, str, dict[str, Any]]:
    """Module 07: a 3x3 convolution's FLOPs grow with the square of its channels."""
    spatial = _need("tinytorch.spatial", "07")
    batch, size = 128, 32
    channels = [8, 16, 32, 64, 128, 256]
    rows = []
    for c in channels:
        shape = (batch, c, size, size)
        rows.append(
            {
                "channels": c,
                "forward_flops": spatial.conv2d_flops(shape, c, 3, padding=1, bias=False),
                "training_flops": spatial.conv2d_flops(
                    shape, c, 3, padding=1, bias=False, backward=True
                ),
                "output_bytes": batch * c * size * size * 4,
            }
        )
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.loglog(channels, [r["forward_flops"] / 1e9 for r in rows], "o-", base=2, label="forward")
    ax.loglog(
        channels,
        [r["training_flops"] / 1e9 for r in rows],
        "s-",
        base=2,
        label="forward + backward",
    )
    ax.set(
        xlabel="channels in = channels out",
        ylabel="GFLOPs",
        title=f"conv2d_flops: batch {batch}, {size}x{size}, 3x3, padding 1",
    )
    twin = ax.twinx()
    twin.loglog(
        channels, [r["output_bytes"] / MiB for r in rows], "^:", color="grey", base=2, label="out"
    )
    twin.set_ylabel("output MiB (grey)")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    first, last = rows[0], rows[-1]
    growth = last["forward_flops"] / first["forward_flops"]
    caption = (
        f"Going from {first['channels']} to {last['channels']} channels "
        f"({last['channels'] // first['channels']}x) multiplies a convolution's forward FLOPs by "
        f"{growth:,.0f} (the square) but its output memory only by "
        f"{last['output_bytes'] / first['output_bytes']:.0f}: at {last['channels']} channels one "
        f"layer is {last['forward_flops'] / 1e9:.0f} GFLOPs forward and "
        f"{last['training_flops'] / 1e9:.0f} with its backward "
        f"({last['training_flops'] / last['forward_flops']:.0f}x)."
    )
    return fig, caption, {"conv2d_flops": rows}


def attention_memory_vs_t() -> tuple[Any, str, dict[str, Any]]:
    """Module 13: the attention weights one layer keeps are quadratic in the sequence length."""
    attention = _need("tinytorch.attention", "13")
    seq_lens = (64, 128, 256, 512, 1024)
    batch, heads, head_dim = 2, 4, 16
    measured = attention.measure_attention_memory(
        seq_lens=seq_lens, batch=batch, num_heads=heads, head_dim=head_dim
    )
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.loglog(seq_lens, [r["formula_bytes"] / MiB for r in measured], "-", base=2, label="formula")
    ax.loglog(
        seq_lens,
        [r["retained_bytes"] / MiB for r in measured],
        "o",
        base=2,
        label="measured: kept after forward",
    )
    ax.loglog(
        seq_lens,
        [r["peak_bytes"] / MiB for r in measured],
        "x",
        base=2,
        label="measured: peak",
    )
    ax.loglog(
        seq_lens,
        [r["output_bytes"] / MiB for r in measured],
        "s:",
        base=2,
        label="output (B, H, T, D)",
    )
    ax.set(
        xlabel="sequence length T",
        ylabel="MiB",
        title=f"attention_score_memory: B={batch}, H={heads}, D={head_dim}, float32",
    )
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    first, last = measured[0], measured[-1]
    caption = (
        f"The (B, H, T, T) attention weights that the forward keeps for backward: "
        f"{first['formula_bytes'] / 1024:.0f} KiB at T={first['seq_len']:.0f}, "
        f"{last['formula_bytes'] / MiB:.0f} MiB at T={last['seq_len']:.0f} "
        f"({last['formula_bytes'] / first['formula_bytes']:.0f}x for "
        f"{last['seq_len'] / first['seq_len']:.0f}x the tokens), while the output grows "
        f"linearly. Measured under tracemalloc, the peak is within "
        f"{(last['peak_over_formula'] - 1) * 100:.0f}% of the formula at T={last['seq_len']:.0f}."
    )
    return fig, caption, {"measure_attention_memory": measured}


def _corpus() -> tuple[str, str]:
    """Tiny Shakespeare from the data directory when present, else the repository's READMEs."""
    candidates = []
    if os.environ.get("TINYTORCH_DATA"):
        candidates.append(Path(os.environ["TINYTORCH_DATA"]))
    candidates += [ROOT.parent / "shared" / "data", Path.home() / ".cache" / "tinytorch" / "data"]
    for folder in candidates:
        path = folder / "tinyshakespeare" / "input.txt"
        if path.is_file():
            return path.read_text(encoding="utf-8")[:300_000], "Tiny Shakespeare (first 300 KB)"
    readmes = [*sorted(ROOT.glob("packages/*/README.md")), ROOT / "README.md"]
    text = "\n".join(p.read_text(encoding="utf-8") for p in readmes)
    return text[:300_000], f"this repository's {len(readmes)} READMEs (Tiny Shakespeare absent)"


def tokens_per_byte_vs_vocab() -> tuple[Any, str, dict[str, Any]]:
    """Module 11: a larger BPE vocabulary spends fewer tokens per byte, with diminishing returns."""
    tokenization = _need("tinytorch.tokenization", "11")
    text, source = _corpus()
    cut = int(len(text) * 0.9)
    train, held_out = text[:cut], text[cut:]
    sizes = (256, 512, 1024, 2048, 4096)
    tokenizer = tokenization.BPETokenizer().train(train, max(sizes), progress=False)
    on_train = tokenization.compression_curve(train, sizes, tokenizer=tokenizer)
    on_held = tokenization.compression_curve(held_out, sizes, tokenizer=tokenizer)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.semilogx(sizes, [r["tokens_per_byte"] for r in on_train], "o-", base=2, label="training")
    ax.semilogx(sizes, [r["tokens_per_byte"] for r in on_held], "s--", base=2, label="held out")
    ax.set(
        xlabel="vocabulary size (byte-level BPE)",
        ylabel="tokens per byte",
        title="compression_curve",
        ylim=(0, 1.05),
    )
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    first = on_held[0]["tokens_per_byte"] - on_held[1]["tokens_per_byte"]
    last = on_held[-2]["tokens_per_byte"] - on_held[-1]["tokens_per_byte"]
    caption = (
        f"Trained on the first 90% of {source}, measured on it and on the last 10%. "
        f"256 ids are raw bytes (1 token per byte); {sizes[-1]:,} ids spend "
        f"{on_held[-1]['tokens_per_byte']:.3f} tokens per held-out byte "
        f"({on_held[-1]['bytes_per_token']:.2f} bytes per token). Doubling the vocabulary from "
        f"{sizes[0]} to {sizes[1]} saves {first:.3f} tokens per byte, from {sizes[-2]:,} to "
        f"{sizes[-1]:,} {last:.3f}: the sequences get shorter while the embedding table "
        "(vocabulary x width) keeps doubling."
    )
    return fig, caption, {"source": source, "training": on_train, "held_out": on_held}


def _mnist_mlp() -> tuple[Any, Any, Any, str]:
    """Milestone 03's shipped MNIST MLP, the first 2,000 MNIST test images and their labels."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "milestones"))
    if "TINYTORCH_DATA" not in os.environ and (ROOT.parent / "shared" / "data").is_dir():
        os.environ["TINYTORCH_DATA"] = str(ROOT.parent / "shared" / "data")
    try:
        import m03_mnist_mlp
        from vision_kit import LOADERS, WEIGHTS
    except ImportError as error:
        raise Skip(f"milestone 03 cannot be imported here ({error})") from None
    from tinytorch.dataloader import DatasetNotFoundError
    from tinytorch.networks import load_pretrained

    try:
        images, labels = LOADERS["mnist"](train=False)
    except DatasetNotFoundError as error:
        raise Skip(f"MNIST is not in the data directory ({error})") from None
    model = load_pretrained(m03_mnist_mlp.build_model(), WEIGHTS / "mnist_mlp.npz")
    model.eval()
    count = 2000
    x = m03_mnist_mlp.prepare(images[:count])
    return model, x, np.asarray(labels[:count]), f"the first {count:,} MNIST test images"


def accuracy_vs_bits() -> tuple[Any, str, dict[str, Any]]:
    """Module 18: accuracy of the shipped MNIST MLP against the bit width of its weights."""
    compression = _need("tinytorch.compression", "18")
    curve = getattr(compression, "bit_width_curve", None)
    if curve is None:
        raise Skip(
            "module 18 is incomplete in this build: `tinytorch.compression` has no "
            "`bit_width_curve`"
        )
    model, x, labels, what = _mnist_mlp()
    from tinytorch.autograd import no_grad
    from tinytorch.tensor import Tensor

    def accuracy(candidate: Any) -> float:
        with no_grad():
            logits = candidate(Tensor(x)).data
        return float((logits.argmax(axis=1) == labels).mean())

    rows = curve(model, accuracy, bits=(16, 8, 6, 4, 3, 2))
    float_accuracy = accuracy(model)
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    bits = [r["bits"] for r in rows]
    left.plot(bits, [100 * r["accuracy"] for r in rows], "o-", label="quantized weights")
    left.axhline(100 * float_accuracy, color="grey", ls=":", label="float32")
    left.set(xlabel="bits per weight", ylabel="accuracy (%)", title="bit_width_curve: MNIST MLP")
    left.invert_xaxis()
    left.legend()
    right.plot(bits, [r["file_bytes"] / MiB for r in rows], "o-", label="file (measured)")
    right.plot(bits, [r["ideal_bytes"] / MiB for r in rows], "s--", label="bits/8 per weight")
    right.axhline(rows[0]["float_file_bytes"] / MiB, color="grey", ls=":", label="float32 file")
    right.set(xlabel="bits per weight", ylabel="MiB", title="size", ylim=(0, None))
    right.invert_xaxis()
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    low = min(rows, key=lambda r: r["bits"])
    caption = (
        f"Milestone 03's MLP on {what}: {100 * float_accuracy:.2f}% in float32; "
        + ", ".join(f"{100 * r['accuracy']:.2f}% at {r['bits']} bits" for r in rows)
        + ". Per-channel symmetric weights, 8-bit activations (`quantize_dynamic`). "
        f"The float32 file is {rows[0]['float_file_bytes'] / MiB:.2f} MiB; at {low['bits']} bits "
        f"the file is {low['file_bytes'] / MiB:.2f} MiB against the ideal "
        f"{low['ideal_bytes'] / MiB:.2f} MiB: storage below 8 bits is int8 unless weights are "
        "packed several to a byte."
    )
    return fig, caption, {"source": what, "float_accuracy": float_accuracy, "bit_width_curve": rows}


FIGURES = [
    FigureSpec("memory_vs_depth", "06-autograd", "Memory vs depth", memory_vs_depth),
    FigureSpec(
        "conv_flops_vs_channels", "07-spatial", "Conv FLOPs vs channels", conv_flops_vs_channels
    ),
    FigureSpec(
        "attention_memory_vs_t", "13-attention", "Attention memory vs T", attention_memory_vs_t
    ),
    FigureSpec(
        "tokens_per_byte_vs_vocab",
        "11-tokenization",
        "Tokens per byte vs vocabulary",
        tokens_per_byte_vs_vocab,
    ),
    FigureSpec("accuracy_vs_bits", "18-compression", "Accuracy vs bit width", accuracy_vs_bits),
]


# ------------------------------------------------------------------------------------ driver


def draw(spec: FigureSpec, out: Path) -> dict[str, Any]:
    """Draw one figure into ``out``: ``NAME.png`` (unless skipped) and ``NAME.json``."""
    out.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {"name": spec.name, "module": spec.module, "title": spec.title}
    start = time.perf_counter()
    png = out / f"{spec.name}.png"
    try:
        fig, caption, data = spec.draw()
    except Skip as reason:
        png.unlink(missing_ok=True)
        record["skipped"] = str(reason)
    else:
        fig.savefig(png)
        _pyplot().close(fig)
        record.update(caption=caption, data=data, image=png.name)
    record["seconds"] = round(time.perf_counter() - start, 2)
    (out / f"{spec.name}.json").write_text(json.dumps(record, indent=1, default=float) + "\n")
    return record


def ensure(out: Path = DEFAULT_OUT, force: bool = False) -> list[dict[str, Any]]:
    """Every figure's record; draw those whose JSON is missing (all of them with ``force``).

    A skipped figure is retried each time, so it appears as soon as its module is installed."""
    records = []
    for spec in FIGURES:
        path = out / f"{spec.name}.json"
        record = json.loads(path.read_text()) if path.is_file() and not force else None
        if record is None or "skipped" in record or not (out / f"{spec.name}.png").is_file():
            record = draw(spec, out)
        records.append(record)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--only", action="append", default=[], help="a figure name (repeatable)")
    args = parser.parse_args(argv)
    names = {spec.name for spec in FIGURES}
    unknown = set(args.only) - names
    if unknown:
        parser.error(f"unknown figure {sorted(unknown)}; known: {sorted(names)}")
    for spec in FIGURES:
        if args.only and spec.name not in args.only:
            continue
        record = draw(spec, args.out)
        what = f"skipped: {record['skipped']}" if "skipped" in record else record["image"]
        print(f"{spec.name:28s} {record['seconds']:6.2f} s  {what}")
    print(f"figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
