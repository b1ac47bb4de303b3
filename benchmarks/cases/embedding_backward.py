"""Embedding lookup and its backward (the scatter-add of the output gradient into the table),
at a character model's size and at GPT-2's.

TinyTorch's forward is one ``np.take``; its backward sums the rows of dL/d(out) into the rows
of the table their ids came from, with one vectorised call. Three ways are timed alone on the
same gradient (the note): ``sort`` (argsort the ids + one ``np.add.reduceat``; the default),
``add_at`` (``np.add.at``, unbuffered; the test oracle) and ``bincount`` (one ``np.bincount``
over the flat (id, column) index). The backward rows time ``y.backward(grad,
retain_graph=True)`` on one recorded lookup on both sides (PyTorch's ``EmbeddingBackward0``,
dense gradient), each accumulating into ``weight.grad`` as in training. No FLOPs: a lookup and
a scatter move memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (switches autograd on)
from harness import Bench, Report, Row
from tinytorch.embeddings import Embedding
from tinytorch.embeddings.ops import SCATTERS
from tinytorch.setup import format_seconds
from tinytorch.tensor import Tensor

TITLE = "Embedding lookup and backward (scatter-add), char-level and GPT-2 sizes"
# (num_embeddings, embedding_dim, batch, tokens per sequence)
SIZES = ((65, 128, 32, 64), (50257, 768, 8, 1024))
QUICK_SIZES = ((65, 128, 8, 64), (50257, 128, 4, 128))


def size_rows(
    bench: Bench, vocab: int, dim: int, batch: int, length: int, rng: np.random.Generator
) -> tuple[list[Row], dict[str, float]]:
    """Forward and backward rows of one table size, and each scatter method's time alone."""
    ids = rng.integers(0, vocab, (batch, length))
    grad = rng.standard_normal((batch, length, dim), dtype=np.float32)
    layer = Embedding(vocab, dim, rng=np.random.default_rng(0))
    out = layer(ids)
    rows_grad, flat_ids = grad.reshape(-1, dim), ids.ravel()
    methods = {
        name: bench.time(lambda scatter=scatter: scatter(flat_ids, rows_grad, vocab)).median_s
        for name, scatter in SCATTERS.items()
    }
    note = "scatter alone: " + ", ".join(f"{m} {format_seconds(s)}" for m, s in methods.items())
    torch = bench.torch
    torch_forward = torch_backward = None
    if torch is not None:
        twin = torch.nn.Embedding(vocab, dim)
        with torch.no_grad():
            twin.weight.copy_(torch.from_numpy(layer.weight.data))
        tids, tgrad = torch.from_numpy(ids), torch.from_numpy(grad)
        tout = twin(tids)
        out.backward(Tensor(grad), retain_graph=True)
        tout.backward(tgrad, retain_graph=True)
        gap = np.abs(layer.weight.grad.data - twin.weight.grad.numpy()).max()
        note += f"; |dW - PyTorch's| <= {gap:.0e}"

        def torch_forward() -> Any:
            return twin(tids)

        def torch_backward() -> None:
            tout.backward(tgrad, retain_graph=True)

    tgrad_tt = Tensor(grad)
    shape = f"{vocab:,} x {dim}, {batch}x{length} ids"
    rows = [
        bench.compare(f"{shape} forward", lambda: layer(ids), torch_forward),
        bench.compare(
            f"{shape} backward",
            lambda: out.backward(tgrad_tt, retain_graph=True),
            torch_backward,
            note=note,
        ),
    ]
    return rows, methods


def run(bench: Bench) -> Report:
    rng = np.random.default_rng(0)
    rows: list[Row] = []
    scatter: dict[str, dict[str, float]] = {}
    for vocab, dim, batch, length in QUICK_SIZES if bench.quick else SIZES:
        size_rows_, methods = size_rows(bench, vocab, dim, batch, length, rng)
        rows += size_rows_
        scatter[f"{vocab}x{dim}, {batch * length} ids"] = methods
    return Report(rows, {"scatter_s": scatter})
