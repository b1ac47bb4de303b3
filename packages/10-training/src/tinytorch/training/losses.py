"""Losses: how wrong the model is, as one number that training differentiates.

Each loss is a function (PyTorch's ``torch.nn.functional`` names) and a Module (``torch.nn``
names) taking ``(input, target)``, with ``reduction`` ``"mean"`` (the default), ``"sum"`` or
``"none"`` (one loss per element or sample, no reduction):

- `mse_loss` / `MSELoss`: ``(input - target) ** 2``. Composed from Tensor ops: autograd already
  differentiates every piece, nothing new is needed.
- `cross_entropy` / `CrossEntropyLoss`: ``-log softmax(logits)[label]`` from logits ``(N, C)``
  and integer labels ``(N,)``. One dedicated Op (`CrossEntropyOp`) with a *fused* backward:
  the gradient of the whole chain log-softmax -> pick the label -> mean is simply
  ``(softmax(logits) - onehot(labels)) / N``. Composing it from Tensor ops
  (`cross_entropy_composed`, kept as the test oracle) records three graph nodes and walks
  three rules; the fused Op records one, and never builds the one-hot matrix.
- `binary_cross_entropy_with_logits` / `BCEWithLogitsLoss`: the cross-entropy of a sigmoid,
  from logits, in the stable form ``max(x, 0) - x * y + log(1 + exp(-|x|))`` (its backward is
  ``sigmoid(x) - y``).

Stability: a loss from *logits* never computes a probability and then its log. ``log(softmax)``
rounds tiny probabilities to 0 and returns ``-inf``; ``log(sigmoid(x))`` does the same for
x < -104 in float32. The log-sum-exp forms here are finite for every finite input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.activations import log_softmax
from tinytorch.layers import Module
from tinytorch.tensor import Op, Tensor, apply
from tinytorch.tensor.dispatch import Grads

__all__ = [
    "REDUCTIONS",
    "BCEWithLogitsLoss",
    "BCEWithLogitsOp",
    "CrossEntropyLoss",
    "CrossEntropyOp",
    "MSELoss",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "cross_entropy_composed",
    "mse_loss",
]

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(owner: str, reduction: str) -> None:
    """Raise a ValueError naming ``owner`` unless ``reduction`` is 'mean', 'sum' or 'none'."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"{owner}: reduction must be one of {REDUCTIONS}, got {reduction!r}; 'mean' averages "
            f"over the samples, 'sum' adds them, 'none' returns one loss per sample"
        )


def _as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor; a float array-like target takes the float dtype of ``like``."""
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    if like is not None and array.dtype.kind == "f" and like.dtype.kind == "f":
        return Tensor(array, dtype=like.dtype)
    return Tensor(array)


def _reduce(per_sample: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    return per_sample


# --------------------------------------------------------------------- MSE
def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error ``(input - target) ** 2``, averaged (``"mean"``), summed or per element.

    input: any shape, float; target: the same shape. Cost: 3 FLOPs per element.
    Shapes must match exactly: ``(N, 1)`` against ``(N,)`` would broadcast to ``(N, N)`` and
    average N² wrong differences (PyTorch only warns; this raises).
    """
    check_reduction("mse_loss", reduction)
    input = _as_tensor(input)
    target = _as_tensor(target, like=input)
    if input.shape != target.shape:
        raise ValueError(
            f"mse_loss: input has shape {input.shape} but target has shape {target.shape}; "
            f"they must be equal (broadcasting them would compare every output with every "
            f"target); reshape the target, e.g. target.reshape({list(input.shape)})"
        )
    # BEGIN SOLUTION
    diff = input - target
    return _reduce(diff * diff, reduction)
    # END SOLUTION


class MSELoss(Module):
    """``MSELoss(reduction="mean")``: ``loss = MSELoss()(input, target)``; see `mse_loss`."""

    def __init__(self, reduction: str = "mean") -> None:
        check_reduction("MSELoss", reduction)
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return mse_loss(input, target, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


# --------------------------------------------------------------------- cross-entropy
def check_labels(function: str, logits: np.ndarray, labels: np.ndarray, ignore_index: int) -> None:
    """Raise naming the shapes, dtypes or out-of-range values unless ``logits: (N, C)`` float and
    ``labels: (N,)`` integers in ``[0, C)`` (or equal to ``ignore_index``)."""
    if logits.ndim != 2 or logits.dtype.kind != "f":
        raise ValueError(
            f"{function}: logits must be a (N, C) float array (one row of C class scores per "
            f"sample), got shape {logits.shape} dtype {logits.dtype}; a single sample of shape "
            f"(C,) becomes (1, C) with logits.reshape(1, -1)"
        )
    n, c = logits.shape
    if labels.dtype.kind not in "iu":
        hint = (
            "one-hot rows? take labels.argmax(dim=1)"
            if labels.shape == logits.shape
            else "convert with labels.astype(np.int64)"
        )
        raise TypeError(
            f"{function}: labels must be integer class indices of shape ({n},), got dtype "
            f"{labels.dtype} with shape {labels.shape}; {hint}"
        )
    if labels.shape != (n,):
        hint = (
            "flatten them with labels.reshape(-1)"
            if labels.size == n
            else f"give one label per row of logits ({n} rows)"
        )
        raise ValueError(
            f"{function}: labels must have shape ({n},) for logits of shape {logits.shape}, got "
            f"{labels.shape}; {hint}"
        )
    bad = np.flatnonzero(((labels < 0) | (labels >= c)) & (labels != ignore_index))
    if bad.size:
        shown = ", ".join(f"{labels[i]} at index {i}" for i in bad[:5])
        raise IndexError(
            f"{function}: labels must be class indices in [0, {c}) for {c} classes, got {shown}"
            f" ({bad.size} of {n} labels out of range); check the number of classes of the "
            f"model's last layer and the dataset's labels"
        )


class CrossEntropyOp(Op):
    """Cross-entropy from logits ``(N, C)`` and integer labels ``(N,)``, with a fused backward.

    Per sample ``i`` with ``logp = log_softmax(logits[i])`` and smoothing ``eps``::

        loss_i = (1 - eps) * -logp[label_i] + eps * mean_c(-logp[c])

    which is the cross-entropy against the target distribution ``q = (1 - eps) * onehot +
    eps / C`` (PyTorch's ``label_smoothing``). Rows whose label is ``ignore_index`` contribute
    nothing and are not counted by the mean. The forward keeps ``softmax(logits)`` (N x C) for
    the backward. Cost: ~6 FLOPs and one exp per logit.
    """

    def __init__(
        self, label_smoothing: float = 0.0, reduction: str = "mean", ignore_index: int = -100
    ) -> None:
        check_reduction("cross_entropy", reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}; "
                f"0.1 is a common choice"
            )
        self.label_smoothing = label_smoothing
        self.reduction = reduction
        self.ignore_index = ignore_index

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
        check_labels("cross_entropy", logits, labels, self.ignore_index)
        n = logits.shape[0]
        valid = labels != self.ignore_index
        safe = np.where(valid, labels, 0)  # any class index: the ignored rows are zeroed below
        eps = self.label_smoothing
        # HINT: log-softmax with the row max subtracted; nll = -logp at (row, label);
        # HINT: smoothing adds eps * (mean over classes of -logp) and scales nll by (1 - eps)
        # BEGIN SOLUTION
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        per_sample = -logp[np.arange(n), safe]
        if eps > 0:
            per_sample = (1 - eps) * per_sample - eps * logp.mean(axis=1)
        # END SOLUTION
        per_sample = np.where(valid, per_sample, 0).astype(logits.dtype, copy=False)
        self.save_for_backward(np.exp(logp), safe, valid)
        self.count = int(valid.sum())
        if self.reduction == "none":
            return per_sample
        total = per_sample.sum(dtype=logits.dtype)
        if self.reduction == "sum":
            return total
        return total / self.count if self.count else np.array(np.nan, dtype=logits.dtype)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dlogits = (softmax - q) * dL/dloss (/ count for "mean"), q the target
        distribution; the labels get no gradient. One pass over N x C, no one-hot matrix."""
        probs, labels, valid = self.saved
        n, c = probs.shape
        eps = self.label_smoothing
        if self.reduction == "mean":
            scale = grad / self.count if self.count else np.zeros_like(grad)
        elif self.reduction == "sum":
            scale = grad
        else:
            scale = grad[:, None]
        # HINT: start from a new array probs - eps / c, subtract (1 - eps) at (row, label),
        # HINT: multiply by scale, then zero the ignored rows (valid is False there)
        # BEGIN SOLUTION
        grad_logits = probs - np.asarray(eps / c, dtype=probs.dtype)
        grad_logits[np.arange(n), labels] -= np.asarray(1 - eps, dtype=probs.dtype)
        grad_logits *= scale
        grad_logits[~valid] = 0
        # END SOLUTION
        return grad_logits, None


def cross_entropy(
    input: Tensor,
    target: Any,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> Tensor:
    """Cross-entropy between ``softmax(input)`` and the integer labels ``target``.

    input: (N, C) float logits (unnormalised scores, *not* probabilities); target: (N,) int
    class indices in ``[0, C)``, or ``ignore_index`` (the row is skipped). Returns a 0-d tensor
    (``"mean"``, ``"sum"``) or (N,) (``"none"``). PyTorch's semantics, including
    ``label_smoothing``. Errors name wrong shapes, dtypes and out-of-range labels.
    """
    op = CrossEntropyOp(label_smoothing, reduction, ignore_index)
    return apply(op, _as_tensor(input), _as_tensor(target))


def cross_entropy_composed(
    input: Tensor,
    target: Any,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> Tensor:
    """The same loss composed from log_softmax, indexing and means: the test oracle of the
    fused `CrossEntropyOp` (autograd differentiates it through three recorded ops)."""
    check_reduction("cross_entropy", reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    check_labels("cross_entropy", input.data, target.data, ignore_index)
    n = input.shape[0]
    valid = target.data != ignore_index
    logp = log_softmax(input, dim=1)
    per_sample = -logp[np.arange(n), np.where(valid, target.data, 0)]
    if label_smoothing > 0:
        per_sample = per_sample * (1 - label_smoothing) - logp.mean(dim=1) * label_smoothing
    per_sample = per_sample * Tensor(valid.astype(input.dtype))
    if reduction == "mean":
        return per_sample.sum() / int(valid.sum())
    return _reduce(per_sample, reduction)


class CrossEntropyLoss(Module):
    """``CrossEntropyLoss(label_smoothing=0.0, reduction="mean", ignore_index=-100)``:
    ``loss = CrossEntropyLoss()(logits, labels)``; see `cross_entropy`."""

    def __init__(
        self, label_smoothing: float = 0.0, reduction: str = "mean", ignore_index: int = -100
    ) -> None:
        CrossEntropyOp(label_smoothing, reduction, ignore_index)  # validates the options
        self.label_smoothing = label_smoothing
        self.reduction = reduction
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return cross_entropy(input, target, self.label_smoothing, self.reduction, self.ignore_index)

    def extra_repr(self) -> str:
        return f"label_smoothing={self.label_smoothing}, reduction={self.reduction!r}"


# --------------------------------------------------------------------- binary cross-entropy
class BCEWithLogitsOp(Op):
    """Binary cross-entropy of ``sigmoid(x)`` against targets ``y`` in [0, 1], from logits.

    ``-(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))`` simplifies to the stable
    ``max(x, 0) - x * y + log(1 + exp(-|x|))``: the exponent is never positive, so nothing
    overflows, and ``log1p`` keeps the small tail accurate. Cost: ~7 FLOPs and one exp per
    element; the backward recomputes ``sigmoid(x)`` from the saved input.
    """

    def __init__(self, reduction: str = "mean") -> None:
        check_reduction("binary_cross_entropy_with_logits", reduction)
        self.reduction = reduction

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.save_for_backward(x, y)
        if x.shape != y.shape:
            raise ValueError(
                f"binary_cross_entropy_with_logits: input has shape {x.shape} but target has "
                f"shape {y.shape}; they must be equal (one target per logit), e.g. "
                f"target.reshape({list(x.shape)})"
            )
        if x.dtype.kind != "f" or y.dtype.kind != "f":
            raise TypeError(
                f"binary_cross_entropy_with_logits: input and target must be float, got "
                f"{x.dtype} and {y.dtype}; convert the 0/1 targets with "
                f"target.astype(np.float32)"
            )
        # BEGIN SOLUTION
        loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        # END SOLUTION
        if self.reduction == "mean":
            return np.asarray(loss.mean(), dtype=loss.dtype)
        if self.reduction == "sum":
            return np.asarray(loss.sum(), dtype=loss.dtype)
        return loss

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = (sigmoid(x) - y) * dL/dloss; dL/dy = -x * dL/dloss (/ size for "mean")."""
        x, y = self.saved
        scale = grad / x.size if self.reduction == "mean" else grad
        # BEGIN SOLUTION
        grad_x = (stable_sigmoid(x) - y) * scale if needs[0] else None
        grad_y = -x * scale if needs[1] else None
        # END SOLUTION
        return grad_x, grad_y


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` without overflow: ``e / (1 + e)`` with ``e = exp(x)`` for x < 0."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def binary_cross_entropy_with_logits(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy from logits: input and target of one shape (any), float; target
    values in [0, 1] (labels 0/1, or soft labels). See `BCEWithLogitsOp` for the stable form."""
    input = _as_tensor(input)
    return apply(BCEWithLogitsOp(reduction), input, _as_tensor(target, like=input))


class BCEWithLogitsLoss(Module):
    """``BCEWithLogitsLoss(reduction="mean")``: ``loss = BCEWithLogitsLoss()(logits, targets)``;
    see `binary_cross_entropy_with_logits`."""

    def __init__(self, reduction: str = "mean") -> None:
        check_reduction("BCEWithLogitsLoss", reduction)
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
