"""The embedding Ops: each holds its forward and its backward side by side.

**Lookup is a gather.** An embedding table ``weight`` (num_embeddings, dim) turns integer ids of
any shape ``(*)`` into vectors ``(*, dim)``: ``out[i] = weight[ids[i]]``, one row copied per id
(`EmbeddingOp`). That is exactly what multiplying a one-hot matrix by the table computes, but
without the ``2 * tokens * num_embeddings * dim`` FLOPs of the matmul and without building the
one-hot matrix: a lookup moves ``tokens * dim`` numbers and does no arithmetic.

**Its backward is a scatter-add.** Each output row came from one table row, so dL/dweight[r] is
the *sum* of the output gradients of every position whose id is r; rows no id touched get 0.
The same id appears many times in a batch (every "the", every space), so the sum must add up
duplicates, which ``dW[ids] += grad`` does not (NumPy's buffered fancy assignment keeps only the
last write of a repeated index). Three vectorised ways to do it, none a Python loop over tokens:

- ``add_at``: ``np.add.at(dW, ids, grad)``, unbuffered: duplicates add up. The simplest; the test
  oracle (`scatter_rows_add_at`).
- ``sort``: sort the ids, sum each run of equal ids with one ``np.add.reduceat``, write the sums
  to their rows (`scatter_rows_sorted`). The default: fastest on the shapes measured
  (`tinytorch.embeddings.scatter_timing` and the ``embedding_backward`` benchmark).
- ``bincount``: flatten (row, column) pairs to one index ``id * dim + column`` and let
  ``np.bincount`` with weights sum them (`scatter_rows_bincount`); it works in float64.

``padding_idx`` is a row that always reads as given and gets no gradient: its rows of dL/dW are
zeroed, as PyTorch does.

**Positions.** `AddPositionsOp` adds a slice of a position table to token vectors in one Op
(``x + table[offset:offset+T]``; backward: dx = g, d(table) rows = g summed over the batch).
`RotaryOp` rotates pairs of features by position-dependent angles (RoPE); its backward is the
inverse rotation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.tensor import Op
from tinytorch.tensor.dispatch import Grads

Scatter = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


# --------------------------------------------------------------------- checks
def check_ids(function: str, ids: np.ndarray, num_embeddings: int) -> None:
    """Raise a clear error for float (or bool) ids, and for ids outside [0, num_embeddings):
    the message names the first bad id, its position in ``ids`` and ``num_embeddings``."""
    if ids.dtype.kind not in "iu":
        raise TypeError(
            f"{function}: expected integer ids (int64 or another integer dtype), got dtype "
            f"{ids.dtype}; token ids index rows of the table, convert them first with "
            f"ids.long() or np.asarray(ids, dtype=np.int64)"
        )
    if ids.size == 0:
        return
    bad = (ids < 0) | (ids >= num_embeddings)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        value = int(ids[position])
        raise IndexError(
            f"{function}: id {value} at position {position} is out of range for a table with "
            f"num_embeddings={num_embeddings} (valid ids are 0..{num_embeddings - 1}); "
            f"{int(bad.sum())} of {ids.size} ids are out of range. Build the Embedding with a "
            f"larger num_embeddings (the tokenizer's vocab_size) or fix the ids"
        )


def check_table(function: str, weight: np.ndarray) -> None:
    if weight.ndim != 2:
        raise ValueError(
            f"{function}: the weight must be a 2-d table (num_embeddings, embedding_dim), got "
            f"shape {weight.shape}"
        )
    if weight.dtype.kind != "f":
        raise TypeError(f"{function}: the weight must be floating point, got dtype {weight.dtype}")


def normalize_padding_idx(
    function: str, padding_idx: int | None, num_embeddings: int
) -> int | None:
    """``padding_idx`` in [0, num_embeddings) (a negative one counts from the end, as PyTorch)."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(
            f"{function}: padding_idx must be within num_embeddings ({num_embeddings}), got "
            f"{padding_idx}"
        )
    return padding_idx % num_embeddings


# --------------------------------------------------------------------- scatter-add of rows
def scatter_rows_add_at(ids: np.ndarray, rows: np.ndarray, num_rows: int) -> np.ndarray:
    """``out[r] = sum of rows[i] over every i with ids[i] == r``: ids (N,), rows (N, D) ->
    (num_rows, D), rows' dtype. ``np.add.at`` is unbuffered, so repeated ids add up.

    The simplest correct scatter-add: the test oracle of the other two.
    """
    out = np.zeros((num_rows, rows.shape[1]), dtype=rows.dtype)
    np.add.at(out, ids, rows)
    return out


def scatter_rows_sorted(ids: np.ndarray, rows: np.ndarray, num_rows: int) -> np.ndarray:
    """The same sum by sorting: ids (N,), rows (N, D) -> (num_rows, D), rows' dtype.

    Sort the ids (a stable argsort), find where each run of equal ids starts, sum every run
    with one ``np.add.reduceat`` over the reordered rows, and write each run's sum to its row.
    Cost: O(N log N) for the sort, one pass over the N*D gradient, one write per distinct id;
    plus zeroing the (num_rows, D) result, which dominates for a large vocabulary.
    """
    out = np.zeros((num_rows, rows.shape[1]), dtype=rows.dtype)
    if ids.size == 0:
        return out
    # HINT: order = np.argsort(ids, kind="stable"); a run of equal ids starts where the sorted
    # HINT: ids change; np.add.reduceat(rows[order], starts, axis=0) sums every run at once
    # BEGIN SOLUTION
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
    out[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    # END SOLUTION
    return out


def scatter_rows_bincount(ids: np.ndarray, rows: np.ndarray, num_rows: int) -> np.ndarray:
    """The same sum with one ``np.bincount``: ids (N,), rows (N, D) -> (num_rows, D).

    Element (i, c) of the gradient goes to flat position ``ids[i] * D + c`` of the result;
    bincount with ``weights`` adds every weight that lands on the same position. It computes in
    float64 (converted back to rows' dtype) and allocates a flat index as large as the gradient.
    """
    dim = rows.shape[1]
    flat = (ids[:, None] * dim + np.arange(dim)).ravel()
    sums = np.bincount(flat, weights=rows.ravel(), minlength=num_rows * dim)
    return sums.reshape(num_rows, dim).astype(rows.dtype, copy=False)


SCATTERS: dict[str, Scatter] = {
    "sort": scatter_rows_sorted,
    "add_at": scatter_rows_add_at,
    "bincount": scatter_rows_bincount,
}
DEFAULT_SCATTER = "sort"  # the fastest here: see scatter_timing and the embedding_backward case


# --------------------------------------------------------------------- Embedding
class EmbeddingOp(Op):
    """``out = weight[ids]``: ids (*) integer, weight (num_embeddings, dim) float -> (*, dim).

    Forward: one gather (``np.take`` along rows): copies ``ids.size * dim`` numbers, no FLOPs.
    Saves the ids (not the table) for the backward. Backward: dL/dweight by one vectorised
    scatter-add of the output gradient's rows (method ``scatter``: ``"sort"``, ``"add_at"``
    or ``"bincount"``, see the module docstring), the ``padding_idx`` row zeroed; the ids get
    no gradient (they are integers). The result is dense, (num_embeddings, dim), although only
    the rows of ids that occur are non-zero (`tinytorch.embeddings.gradient_density`).
    """

    def __init__(self, padding_idx: int | None = None, scatter: str = DEFAULT_SCATTER) -> None:
        if scatter not in SCATTERS:
            raise ValueError(
                f"embedding: scatter must be one of {sorted(SCATTERS)}, got {scatter!r}"
            )
        self.padding_idx, self.scatter = padding_idx, scatter

    @property
    def name(self) -> str:
        return "embedding"

    def forward(self, ids: np.ndarray, weight: np.ndarray) -> np.ndarray:
        check_table("embedding", weight)
        check_ids("embedding", ids, weight.shape[0])
        self.num_embeddings = weight.shape[0]
        self.save_for_backward(ids)
        # HINT: row ids[i] of the table for every position i: one gather, np.take(..., axis=0)
        # BEGIN SOLUTION
        return np.take(weight, ids, axis=0)
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/d(out) (*, dim) -> (None, dL/dweight (num_embeddings, dim))."""
        (ids,) = self.saved
        grad_weight = None
        if needs[1]:
            rows = grad.reshape(-1, grad.shape[-1])
            # HINT: every output row adds into the table row it was read from: scatter-add the
            # HINT: rows of grad by the flattened ids (SCATTERS[self.scatter]); padding gets 0
            # BEGIN SOLUTION
            grad_weight = SCATTERS[self.scatter](ids.ravel(), rows, self.num_embeddings)
            if self.padding_idx is not None:
                grad_weight[self.padding_idx] = 0
            # END SOLUTION
        return (None, grad_weight)


# --------------------------------------------------------------------- positions
def check_positions(function: str, length: int, offset: int, max_len: int) -> None:
    if offset < 0 or offset + length > max_len:
        raise ValueError(
            f"{function}: positions {offset}..{offset + length - 1} do not fit in a table of "
            f"max_len={max_len}; the sequence (length {length}, offset {offset}) is longer than "
            f"the model was built for: crop it to the last {max_len - offset} tokens or build "
            f"the table with a larger max_len"
        )


class AddPositionsOp(Op):
    """``out = x + table[offset : offset + T]``: x (*, T, dim), table (max_len, dim) -> (*, T, dim).

    A learned positional embedding in one Op (GPT-2's ``wte(idx) + wpe(arange(T))``), broadcast
    over every leading dim. Backward: dL/dx = g; dL/dtable is zero except rows offset..offset+T-1,
    which get g summed over the leading (batch) dims. Saves nothing but shapes.
    """

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset

    @property
    def name(self) -> str:
        return "add_positions"

    def forward(self, x: np.ndarray, table: np.ndarray) -> np.ndarray:
        if x.ndim < 2 or x.shape[-1] != table.shape[-1]:
            raise ValueError(
                f"add_positions: expected x (*, T, {table.shape[-1]}) for a table of shape "
                f"{table.shape}, got x of shape {x.shape}"
            )
        length = x.shape[-2]
        check_positions("add_positions", length, self.offset, table.shape[0])
        self.table_shape = table.shape
        return x + table[self.offset : self.offset + length]

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        grad_table = None
        if needs[1]:
            length, dim = grad.shape[-2:]
            grad_table = np.zeros(self.table_shape, dtype=grad.dtype)
            # HINT: position i's row was added to every sequence of the batch: its gradient is grad
            # HINT: summed over the batch, written into rows offset .. offset + length of the
            # HINT: table's gradient
            # BEGIN SOLUTION
            grad_table[self.offset : self.offset + length] = grad.reshape(-1, length, dim).sum(0)
            # END SOLUTION
        return (grad if needs[0] else None, grad_table)


def rotate_half(x: np.ndarray) -> np.ndarray:
    """``[x1, x2] -> [-x2, x1]`` on the last dim split in two halves (GPT-NeoX/LLaMA layout)."""
    half = x.shape[-1] // 2
    return np.concatenate((-x[..., half:], x[..., :half]), axis=-1)


class RotaryOp(Op):
    """Rotary position embedding (RoPE), rotate-half convention: x (..., T, d) -> (..., T, d).

    ``out = x * cos + rotate_half(x) * sin`` with ``cos``, ``sin`` (T, d) (or broadcastable to
    x), each the angles ``position * base**(-2i/d)`` of the d/2 frequencies written twice,
    ``[theta_0 .. theta_{d/2-1}, theta_0 .. theta_{d/2-1}]``. So feature i is paired with
    feature i + d/2 (not with its neighbour, as in the original RoFormer's interleaved layout),
    and the pair is rotated by theta_i: ``(a, b) -> (a cos - b sin, b cos + a sin)``.

    A rotation is orthogonal, so the backward is the inverse rotation (angle -theta):
    ``dx = g * cos - rotate_half(g) * sin``. Saves nothing but the two tables.
    Cost: ~4 passes over x forward and backward; no parameters.
    """

    def __init__(self, cos: np.ndarray, sin: np.ndarray) -> None:
        self.tables: tuple[np.ndarray, np.ndarray] | None = (cos, sin)

    @property
    def name(self) -> str:
        return "rotary"

    def __repr__(self) -> str:
        return "RotaryOp()"

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind != "f":
            raise TypeError(f"apply_rotary: expected a float tensor, got dtype {x.dtype}")
        if x.shape[-1] % 2:
            raise ValueError(
                f"apply_rotary: the last dim (head_dim) must be even to be split into pairs, "
                f"got shape {x.shape}"
            )
        assert self.tables is not None, "RotaryOp: each call needs a new Op"
        cos, sin = (table.astype(x.dtype, copy=False) for table in self.tables)
        self.tables = None  # from now on the tables live in `saved`, released after backward
        self.save_for_backward(cos, sin)
        # HINT: out = x * cos + rotate_half(x) * sin
        # BEGIN SOLUTION
        return x * cos + rotate_half(x) * sin
        # END SOLUTION

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = R(-theta) g: the same rotation with the sine negated."""
        cos, sin = self.saved
        # HINT: rotate_half is antisymmetric (its transpose is -rotate_half), cos and sin are
        # HINT: the same in both halves: the transpose of the forward is a rotation by -theta
        # BEGIN SOLUTION
        return (grad * cos - rotate_half(grad) * sin,)
        # END SOLUTION


def rotary_tables(
    positions: Any, head_dim: int, base: float = 10000.0, dtype: Any = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """``(cos, sin)``, each (*positions.shape, head_dim): the RoPE angles of every position.

    Frequencies ``inv_freq[i] = base ** (-2i / head_dim)`` for i < head_dim/2; angle
    ``positions[t] * inv_freq[i]``, written twice along the last dim (rotate-half layout).
    Computed in float64, returned in ``dtype``.
    """
    if head_dim <= 0 or head_dim % 2:
        raise ValueError(f"rotary: head_dim must be a positive even number, got {head_dim}")
    pos = np.asarray(positions, dtype=np.float64)
    # HINT: frequencies base^(-2i / head_dim) for i = 0 .. head_dim/2 - 1; angle = position *
    # HINT: frequency; repeat the angles twice along the last dim (the rotate-half layout)
    # BEGIN SOLUTION
    inv_freq = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = pos[..., None] * inv_freq
    angles = np.concatenate((angles, angles), axis=-1)
    # END SOLUTION
    return np.cos(angles).astype(dtype), np.sin(angles).astype(dtype)


def sinusoidal_table(length: int, dim: int, base: float = 10000.0) -> np.ndarray:
    """The fixed encodings of "Attention Is All You Need": (length, dim) float64 with
    ``pe[p, 2i] = sin(p / base**(2i/dim))`` and ``pe[p, 2i+1] = cos(p / base**(2i/dim))``.

    Each pair of columns is a clock of its own frequency, from one turn per 2*pi positions
    (column 0) down to one per ``2*pi*base`` positions: nearby positions get similar vectors,
    and ``pe[p + k]`` is a fixed rotation of ``pe[p]`` for every p. An odd ``dim`` has one more
    sine column than cosine columns.
    """
    if length < 0 or dim <= 0:
        raise ValueError(
            f"sinusoidal_positions: need length >= 0 and dim > 0, got length={length}, dim={dim}"
        )
    table = np.zeros((length, dim), dtype=np.float64)
    position = np.arange(length, dtype=np.float64)[:, None]
    # HINT: frequencies base**(-2i/dim) for the even columns 2i; sines there, cosines at 2i+1
    # BEGIN SOLUTION
    inv_freq = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
    table[:, 0::2] = np.sin(position * inv_freq)
    table[:, 1::2] = np.cos(position * inv_freq[: dim // 2])
    # END SOLUTION
    return table
