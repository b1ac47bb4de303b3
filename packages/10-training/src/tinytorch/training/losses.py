"""Losses: how wrong the model is, as one number that training differentiates.

Each loss is a function (PyTorch's ``torch.nn.functional`` names, argument orders and defaults)
and a Module (``torch.nn`` names) taking ``(input, target)``, with ``reduction`` ``"mean"`` (the
default), ``"sum"`` or ``"none"`` (one loss per element or prediction, no reduction):

- `mse_loss` / `MSELoss`: ``(input - target) ** 2`` (optionally times ``weight``). Composed from
  Tensor ops: autograd already differentiates every piece, nothing new is needed.
- `cross_entropy` / `CrossEntropyLoss`: ``-log softmax(input)[target]`` from scores with the
  classes in dim 1 -- ``(N, C)``, ``(N, C, d1, ...)`` (one prediction per pixel or token) or
  unbatched ``(C,)`` -- and integer class indices ``(N,)`` / ``(N, d1, ...)`` / ``()``, or
  class *probabilities* of the input's shape (float). Options: per-class ``weight``,
  ``ignore_index``, ``label_smoothing``. One dedicated Op (`CrossEntropyOp`) with a *fused*
  backward: the gradient of the whole chain log-softmax -> pick the label -> mean is simply
  ``(softmax(input) - onehot(target)) / N``. Composing it from Tensor ops
  (`cross_entropy_composed`, kept as the test oracle) records several graph nodes and walks as
  many backwards; the fused Op records one, and never builds the one-hot matrix. Probability
  targets have their own fused Op (`CrossEntropyProbsOp`); ``(N, C, d1, ...)`` input is moved to
  ``(N*d1*..., C)`` (permute + reshape, two cheap recorded ops) around the same Ops.
- `nll_loss` / `NLLLoss`: ``-input[target]`` from log-probabilities (the second half of
  cross-entropy: ``cross_entropy(x, y) == nll_loss(log_softmax(x, dim=1), y)``), `NLLLossOp`.
- `binary_cross_entropy` / `BCELoss`: ``-(y log p + (1 - y) log(1 - p))`` from probabilities,
  each log clamped at -100 as PyTorch does (`BCEOp`).
- `binary_cross_entropy_with_logits` / `BCEWithLogitsLoss`: the same from logits, in the
  stable form ``max(x, 0) - x * y + log(1 + exp(-|x|))`` (its backward is ``sigmoid(x) - y``),
  with ``weight`` and ``pos_weight`` (`BCEWithLogitsOp`).

Weighted means are PyTorch's: cross-entropy and NLL with class indices divide by the sum of the
weights of the targets that count (``sum_i w[y_i]``, ignored ones excluded), not by N; with
probability targets, BCE and MSE-without-weight they divide by the number of predictions.

Stability: a loss from *logits* never computes a probability and then its log. ``log(softmax)``
rounds tiny probabilities to 0 and returns ``-inf``; ``log(sigmoid(x))`` does the same for
x < -104 in float32. The log-sum-exp forms here are finite for every finite input; prefer them
to `binary_cross_entropy` after a sigmoid, whose logs need the -100 clamp.

PyTorch's deprecated ``size_average`` and ``reduce`` keep their places in the argument lists (so
positional calls line up), but only None is accepted: pass ``reduction`` instead.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from tinytorch.activations import log_softmax
from tinytorch.layers import Module
from tinytorch.tensor import Op, Tensor, apply, is_grad_enabled
from tinytorch.tensor.dispatch import Grads

__all__ = [
    "REDUCTIONS",
    "BCELoss",
    "BCEOp",
    "BCEWithLogitsLoss",
    "BCEWithLogitsOp",
    "CrossEntropyLoss",
    "CrossEntropyOp",
    "CrossEntropyProbsOp",
    "MSELoss",
    "NLLLoss",
    "NLLLossOp",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "cross_entropy_composed",
    "mse_loss",
    "nll_loss",
]

REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------- shared plumbing
def check_reduction(owner: str, reduction: str) -> None:
    """Raise a ValueError naming ``owner`` unless ``reduction`` is 'mean', 'sum' or 'none'."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"{owner}: reduction must be one of {REDUCTIONS}, got {reduction!r}; 'mean' averages "
            f"over the samples, 'sum' adds them, 'none' returns one loss per sample"
        )


def check_legacy(owner: str, size_average: Any, reduce: Any) -> None:
    """Refuse PyTorch's deprecated ``size_average`` / ``reduce`` (they keep their positions in
    the signatures only so that positional arguments line up with PyTorch's)."""
    if size_average is not None or reduce is not None:
        raise ValueError(
            f"{owner}: size_average and reduce are deprecated in PyTorch and not supported by "
            f"TinyTorch, got size_average={size_average!r}, reduce={reduce!r}; pass "
            f"reduction='mean' (the default), 'sum' or 'none' instead, by keyword"
        )


def _as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor; a float array-like target takes the float dtype of ``like``."""
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    if like is not None and array.dtype.kind == "f" and like.dtype.kind == "f":
        return Tensor(array, dtype=like.dtype)
    return Tensor(array)


def constant_weight(
    owner: str, name: str, weight: Any, input: Tensor, shape: tuple[int, ...] | None = None
) -> np.ndarray | None:
    """``weight`` as a NumPy array of the input's float dtype, for a loss that does not
    differentiate it (PyTorch refuses a ``weight`` that requires grad there, and so does this).

    ``shape``: the exact shape it must have (``(C,)`` for class weights); None: it must
    broadcast to the input's shape without enlarging it."""
    if weight is None:
        return None
    if isinstance(weight, Tensor) and weight.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{owner}: {name} requires grad, but the loss is not differentiable with respect to "
            f"{name} (as in PyTorch); pass {name}.detach(), or compute the loss under no_grad()"
        )
    array = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: {name} must be numeric, got dtype {array.dtype}")
    if shape is not None and array.shape != shape:
        raise ValueError(
            f"{owner}: {name} must hold one value per class, shape {shape} for input of shape "
            f"{input.shape} (the classes are dim 1), got shape {array.shape}"
        )
    if shape is None:
        try:
            fits = np.broadcast_shapes(array.shape, input.shape) == input.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{owner}: {name} of shape {array.shape} does not broadcast to the input's shape "
                f"{input.shape}; give one value per element, or per class of the last dim "
                f"(shape ({input.shape[-1] if input.shape else 1},))"
            )
    return array.astype(input.dtype, copy=False)


def _reduce(per_sample: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    return per_sample


def _reduce_array(loss: np.ndarray, reduction: str) -> np.ndarray:
    """Reduce an elementwise loss array: mean over every element (NaN when there is none)."""
    if reduction == "none":
        return loss
    total = loss.sum(dtype=loss.dtype)
    if reduction == "sum":
        return np.asarray(total)
    return np.asarray(total / loss.size if loss.size else np.nan, dtype=loss.dtype)


def _mean(total: Any, denominator: float, dtype: np.dtype) -> np.ndarray:
    """``total / denominator`` in ``dtype``; NaN when nothing was counted (PyTorch's 0 / 0)."""
    return np.asarray(total / dtype.type(denominator) if denominator else np.nan, dtype=dtype)


def _mean_scale(grad: np.ndarray, reduction: str, denominator: float) -> np.ndarray:
    """What multiplies d(loss_i)/d(input): dL/dloss, divided by the mean's denominator."""
    if reduction != "mean":
        return grad
    return grad / denominator if denominator else np.full_like(grad, np.nan)


# --------------------------------------------------------------------- MSE
def mse_loss(
    input: Tensor,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Tensor:
    """Squared error ``(input - target) ** 2``, averaged (``"mean"``), summed or per element.

    input: any shape, float; target: the same shape. ``weight`` (optional, the input's shape)
    multiplies each squared error, and the mean becomes ``sum(w * e) / sum(w)`` (PyTorch's).
    Cost: 3 FLOPs per element (4 with a weight). Shapes must match exactly: ``(N, 1)`` against
    ``(N,)`` would broadcast to ``(N, N)`` and average N² wrong differences (PyTorch only warns;
    this raises).
    """
    check_legacy("mse_loss", size_average, reduce)
    check_reduction("mse_loss", reduction)
    input = _as_tensor(input)
    target = _as_tensor(target, like=input)
    if input.shape != target.shape:
        raise ValueError(
            f"mse_loss: input has shape {input.shape} but target has shape {target.shape}; "
            f"they must be equal (broadcasting them would compare every output with every "
            f"target); reshape the target, e.g. target.reshape({list(input.shape)})"
        )
    # HINT: the elementwise squared error with Tensor ops (so autograd differentiates it); the
    # HINT: reduction below averages or sums it
    # BEGIN SOLUTION
    diff = input - target
    squared = diff * diff
    # END SOLUTION
    if weight is None:
        return _reduce(squared, reduction)
    weight = _as_tensor(weight, like=input)
    if weight.shape != input.shape:
        raise ValueError(
            f"mse_loss: weight has shape {weight.shape} but input has shape {input.shape}; "
            f"give one weight per element (as PyTorch requires)"
        )
    weighted = squared * weight
    if reduction == "mean":
        return weighted.sum() / weight.sum()
    return _reduce(weighted, reduction)


class MSELoss(Module):
    """``MSELoss(size_average=None, reduce=None, reduction="mean")``:
    ``loss = MSELoss()(input, target)``; see `mse_loss`."""

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean"):
        check_legacy("MSELoss", size_average, reduce)
        check_reduction("MSELoss", reduction)
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


# --------------------------------------------------------------------- class-index targets
def prediction_shape(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The target shape for scores with the classes in dim 1: ``(N, C, d1, ...) -> (N, d1,
    ...)``; unbatched ``(C,) -> ()``."""
    return input_shape[:1] + input_shape[2:] if len(input_shape) > 1 else ()


def num_classes(input_shape: tuple[int, ...]) -> int:
    return input_shape[1] if len(input_shape) > 1 else input_shape[0]


def check_labels(function: str, logits: np.ndarray, labels: np.ndarray, ignore_index: int) -> None:
    """Raise naming the shapes, dtypes or out-of-range values unless ``logits`` is float with the
    classes in dim 1 -- ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)`` -- and ``labels``
    holds integer class indices in ``[0, C)`` (or ``ignore_index``) with the shape of ``logits``
    without dim 1: ``(N,)``, ``(N, d1, ...)`` or ``()``. Cost: O(number of labels)."""
    if logits.ndim == 0 or logits.dtype.kind != "f":
        raise ValueError(
            f"{function}: input must be float scores with the classes in dim 1, shape (N, C), "
            f"(N, C, d1, ...) or unbatched (C,), got shape {logits.shape} dtype {logits.dtype}; "
            f"convert integer input with input.float()"
        )
    expected = prediction_shape(logits.shape)
    c = num_classes(logits.shape)
    if labels.dtype.kind not in "iu":
        hint = (
            "one-hot rows? take target.argmax(dim=1)"
            if labels.shape == logits.shape
            else "convert them with target.astype(np.int64)"
        )
        if function == "cross_entropy":
            hint += f" (or give float class probabilities of the input's shape {logits.shape})"
        raise TypeError(
            f"{function}: target must hold integer class indices of shape {expected} for input "
            f"of shape {logits.shape}, got dtype {labels.dtype} with shape {labels.shape}; {hint}"
        )
    if labels.shape != expected:
        if labels.shape == logits.shape:
            hint = "one-hot rows? take target.argmax(dim=1)"
        elif logits.ndim > 2 and labels.shape == logits.shape[:-1]:
            order = ", ".join(map(str, (0, logits.ndim - 1, *range(1, logits.ndim - 1))))
            hint = (
                f"the classes must be dim 1, as in PyTorch: move them from the last dim of "
                f"channels-last scores with input.permute({order})"
            )
        elif labels.size == int(np.prod(expected)):
            hint = f"reshape it with target.reshape({', '.join(map(str, expected)) or '()'})"
            if len(expected) == 1:
                hint = "flatten it with target.reshape(-1)"
        elif len(expected) == 1:
            hint = f"give one class index per row of the input ({expected[0]} rows)"
        else:
            hint = "give one class index per prediction: the input's shape without its dim 1"
        raise ValueError(
            f"{function}: target must have shape {expected} for input of shape {logits.shape} "
            f"(the classes are dim 1), got {labels.shape}; {hint}"
        )
    if labels.size == 0 or (labels.min() >= 0 and labels.max() < c):
        return  # the common case: two reductions, no temporary arrays
    bad = np.flatnonzero(((labels < 0) | (labels >= c)) & (labels != ignore_index))
    if bad.size:
        flat = labels.reshape(-1)

        def at(i: int) -> str:
            if labels.ndim == 1:
                return f"index {i}"
            return f"index {tuple(int(k) for k in np.unravel_index(i, labels.shape))}"

        shown = ", ".join(f"{flat[i]} at {at(int(i))}" for i in bad[:5])
        raise IndexError(
            f"{function}: target must hold class indices in [0, {c}) for {c} classes (or "
            f"ignore_index={ignore_index}), got {shown} ({bad.size} of {labels.size} labels out "
            f"of range); check the number of classes of the model's last layer and the "
            f"dataset's labels"
        )


def classes_last(x: Tensor) -> Tensor:
    """``(N, C, d1, ..., dk) -> (N*d1*...*dk, C)``, one row per prediction (a permute and a
    reshape, both recorded: the gradient flows back through them); ``(C,) -> (1, C)``;
    ``(N, C)`` unchanged. Cost: one copy of the input when it has extra dims."""
    if x.ndim == 2:
        return x
    if x.ndim == 1:
        return x.reshape(1, -1)
    return x.permute(0, *range(2, x.ndim), 1).reshape(-1, x.shape[1])


def _check_rows(function: str, logits: np.ndarray) -> None:
    if logits.ndim != 2:
        raise ValueError(
            f"{function}: the Op works on (M, C) rows of scores, got shape {logits.shape}; "
            f"call {function}(), which moves the classes of (N, C, d1, ...) input last"
        )


class NLLLossOp(Op):
    """Negative log-likelihood ``-w[y_i] * logp[i, y_i]`` from log-probabilities ``(M, C)`` and
    integer labels ``(M,)``, with PyTorch's ``weight`` (per class, ``(C,)``), ``ignore_index``
    and weighted mean (divided by ``sum_i w[y_i]`` over the rows that count).

    Forward: one gather of M values. Backward: a zero (M, C) array with ``-w[y_i] * scale`` at
    each ``(i, y_i)``; the forward saves only the labels, not the input.
    """

    def __init__(
        self,
        weight: np.ndarray | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        check_reduction("nll_loss", reduction)
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, logp: np.ndarray, labels: np.ndarray) -> np.ndarray:
        check_labels("nll_loss", logp, labels, self.ignore_index)
        _check_rows("nll_loss", logp)
        rows = np.arange(logp.shape[0])
        valid = labels != self.ignore_index
        safe = np.where(valid, labels, 0)  # any class index: the ignored rows are zeroed below
        w_y = None if self.weight is None else np.where(valid, self.weight[safe], 0)
        # HINT: the loss of row i is -logp[i, label_i], times weight[label_i] when there is a
        # HINT: weight (w_y holds those, 0 on ignored rows); pick them all with one fancy index
        # BEGIN SOLUTION
        per_sample = -logp[rows, safe]
        if w_y is not None:
            per_sample = per_sample * w_y
        # END SOLUTION
        per_sample = np.where(valid, per_sample, 0).astype(logp.dtype, copy=False)
        self.shape, self.dtype = logp.shape, logp.dtype
        self.save_for_backward(safe, valid, w_y)
        self.denominator = float(valid.sum() if w_y is None else w_y.sum())
        if self.reduction == "none":
            return per_sample
        total = per_sample.sum(dtype=logp.dtype)
        if self.reduction == "sum":
            return total
        return _mean(total, self.denominator, logp.dtype)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dlogp[i, y_i] = -w[y_i] * dL/dloss (/ the weight total for "mean"), 0 elsewhere;
        the labels get no gradient."""
        labels, valid, w_y = self.saved
        scale = _mean_scale(grad, self.reduction, self.denominator)
        rows = np.arange(self.shape[0])
        # HINT: a zero array of the input's shape and dtype; at (i, label_i) put -scale
        # HINT: (times w_y when there is a weight); then zero the ignored rows
        # BEGIN SOLUTION
        grad_logp = np.zeros(self.shape, dtype=self.dtype)
        picked = -scale if w_y is None else -scale * w_y
        grad_logp[rows, labels] = picked
        grad_logp[~valid] = 0
        # END SOLUTION
        return grad_logp, None


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood: ``-weight[target] * input[target]`` per prediction.

    input: float log-probabilities with the classes in dim 1, ``(N, C)``, ``(N, C, d1, ...)`` or
    unbatched ``(C,)`` (the output of ``log_softmax(x, dim=1)``); target: int class indices
    ``(N,)``, ``(N, d1, ...)`` or ``()``, in ``[0, C)`` or ``ignore_index`` (skipped, not
    counted). ``weight``: ``(C,)`` per-class weights; the mean divides by the sum of the weights
    of the counted targets. Returns a 0-d tensor, or the target's shape for ``"none"``.
    ``cross_entropy`` is ``nll_loss(log_softmax(input, dim=1), target)`` in one fused Op.
    """
    check_legacy("nll_loss", size_average, reduce)
    input, target = _as_tensor(input), _as_tensor(target)
    weights = class_weights("nll_loss", weight, input, target, ignore_index)
    op = NLLLossOp(weights, ignore_index, reduction)
    return _class_index_loss("nll_loss", op, input, target, ignore_index, reduction)


def class_weights(
    function: str, weight: Any, input: Tensor, target: Tensor, ignore_index: int
) -> np.ndarray | None:
    """The per-class ``weight`` ``(C,)`` as an array of the input's dtype (None without one)."""
    if weight is None:
        return None
    if input.ndim == 0:
        check_labels(function, input.data, target.data, ignore_index)  # raises, naming the shape
    return constant_weight(function, "weight", weight, input, (num_classes(input.shape),))


def _class_index_loss(
    function: str, op: Op, input: Tensor, target: Tensor, ignore_index: int, reduction: str
) -> Tensor:
    """Run a (M, C)-rows Op on input with the classes in dim 1 (any batch layout)."""
    if input.ndim == 2:
        return apply(op, input, target)  # the common case: the Op checks everything itself
    check_labels(function, input.data, target.data, ignore_index)
    rows = Tensor._wrap(target.data.reshape(-1))
    loss = apply(op, classes_last(input), rows)
    return loss.reshape(target.shape) if reduction == "none" else loss


class NLLLoss(Module):
    """``NLLLoss(weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction="mean")``: ``loss = NLLLoss()(log_probs, labels)``; see `nll_loss`. ``weight`` is
    kept as a buffer (saved in ``state_dict``)."""

    weight: Tensor | None

    def __init__(
        self,
        weight: Any = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        check_legacy("NLLLoss", size_average, reduce)
        check_reduction("NLLLoss", reduction)
        _keep_weight(self, "weight", weight)
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )

    def extra_repr(self) -> str:
        return _options_repr(self, ("weight", "ignore_index", "reduction"))


def _keep_weight(module: Module, name: str, weight: Any) -> None:
    """``module.<name> = weight`` as a buffer (PyTorch registers loss weights as buffers)."""
    if weight is None:
        setattr(module, name, None)
    else:
        module.register_buffer(name, weight if isinstance(weight, Tensor) else Tensor(weight))


_DEFAULTS: dict[str, Any] = {
    "weight": None,
    "pos_weight": None,
    "ignore_index": -100,
    "label_smoothing": 0.0,
}


def _options_repr(module: Module, names: tuple[str, ...]) -> str:
    """``reduction`` always, the other options where they differ from PyTorch's defaults."""
    parts = []
    for name in names:
        value = getattr(module, name)
        if isinstance(value, Tensor):
            parts.append(f"{name}=<{value.shape} {value.dtype}>")
        elif name == "reduction" or value != _DEFAULTS[name]:
            parts.append(f"{name}={value!r}")
    return ", ".join(parts)


# --------------------------------------------------------------------- cross-entropy
class CrossEntropyOp(Op):
    """Cross-entropy from scores ``(M, C)`` and integer labels ``(M,)``, with a fused backward.

    Per row ``i`` with ``logp = log_softmax(logits[i])``, label ``y``, smoothing ``eps`` and
    class weights ``w`` (all 1 without ``weight``)::

        loss_i = (1 - eps) * w[y] * -logp[y] + eps / C * sum_c(w[c] * -logp[c])

    which, without weights, is the cross-entropy against the target distribution ``q = (1 -
    eps) * onehot + eps / C`` (PyTorch's ``label_smoothing``). Rows whose label is
    ``ignore_index`` contribute nothing and are not counted by the mean, which divides by
    ``sum_i w[y_i]`` over the counted rows (their number without weights), as PyTorch does.
    The forward keeps ``softmax(logits)`` (M x C) for the backward, computed from the same exp
    as the log-sum-exp (never materialising ``logp``). Cost: ~5 FLOPs and one exp per score (a
    matrix-vector product more with weights and smoothing).
    """

    def __init__(
        self,
        weight: np.ndarray | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        check_reduction("cross_entropy", reduction)
        check_smoothing(label_smoothing)
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
        check_labels("cross_entropy", logits, labels, self.ignore_index)
        _check_rows("cross_entropy", logits)
        n, c = logits.shape
        rows = np.arange(n)
        valid = labels != self.ignore_index
        safe = np.where(valid, labels, 0)  # any class index: the ignored rows are zeroed below
        eps, w = self.label_smoothing, cast(Any, self.weight)
        w_y = None if w is None else np.where(valid, w[safe], 0)  # each row's class weight
        # HINT: subtract each row's max (shifted), probs = exp(shifted), sums = its row sums;
        # HINT: then probs /= sums is the softmax (keep it for the backward) and
        # HINT: logp = shifted - log(sums), so nll_i = log(sums_i) - shifted[i, label_i];
        # HINT: without weights, smoothing adds eps * mean_c(-logp) = eps * (log(sums_i) -
        # HINT: mean_c(shifted)) and scales nll by (1 - eps); with weights w, nll is scaled by
        # HINT: w_y (each row's w[label]) and the smoothing term is eps / c * sum_c(-w_c logp_c)
        # BEGIN SOLUTION
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        sums = probs.sum(axis=1, keepdims=True)
        probs /= sums  # the softmax, for the backward: no second exp
        log_sums = np.log(sums[:, 0])
        per_sample = log_sums - shifted[rows, safe]  # -logp[label]
        if w_y is None:
            if eps > 0:
                per_sample = (1 - eps) * per_sample + eps * (log_sums - shifted.mean(axis=1))
        else:
            per_sample = per_sample * w_y
            if eps > 0:
                smooth = log_sums * w.sum() - shifted @ w  # sum_c -w_c * logp_c
                per_sample = (1 - eps) * per_sample + (eps / c) * smooth
        # END SOLUTION
        per_sample = np.where(valid, per_sample, 0).astype(logits.dtype, copy=False)
        self.save_for_backward(probs, safe, valid, w_y)
        self.count = float(valid.sum() if w_y is None else w_y.sum())  # the mean's denominator
        if self.reduction == "none":
            return per_sample
        total = per_sample.sum(dtype=logits.dtype)
        if self.reduction == "sum":
            return total
        return _mean(total, self.count, logits.dtype)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dlogits = (softmax - q) * dL/dloss (/ count for "mean"), q the target
        distribution; with weights, row i is ``(1 - eps) * w[y] * (p - onehot) + eps / C *
        (sum(w) * p - w)``. The labels get no gradient. One pass over M x C, no one-hot
        matrix."""
        probs, labels, valid, w_y = self.saved
        n, c = probs.shape
        eps, w = self.label_smoothing, cast(Any, self.weight)
        scale = _mean_scale(grad, self.reduction, self.count)
        if self.reduction == "none":
            scale = grad[:, None]
        # HINT: start from a new array probs - eps / c, subtract (1 - eps) at (row, label),
        # HINT: multiply by scale, then zero the ignored rows (valid is False there); with
        # HINT: weights start from probs * ((1 - eps) * w_y + eps / c * w.sum()) - eps / c * w
        # HINT: and subtract (1 - eps) * w_y at (row, label)
        # BEGIN SOLUTION
        rows = np.arange(n)
        if w_y is None:
            grad_logits = probs - np.asarray(eps / c, dtype=probs.dtype)
            grad_logits[rows, labels] -= np.asarray(1 - eps, dtype=probs.dtype)
        else:
            row_total = (1 - eps) * w_y + (eps / c) * w.sum()
            grad_logits = probs * row_total[:, None] - (eps / c) * w
            grad_logits[rows, labels] -= (1 - eps) * w_y
        grad_logits *= scale
        grad_logits[~valid] = 0
        # END SOLUTION
        return grad_logits, None


def check_smoothing(label_smoothing: float) -> None:
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}; "
            f"0.1 is a common choice"
        )


class CrossEntropyProbsOp(Op):
    """Cross-entropy from scores ``(M, C)`` against class *probabilities* ``q`` ``(M, C)``
    (soft labels, mixup, distillation), with an optional class weight ``w`` ``(C,)`` as a
    third input (it gets a gradient, as in PyTorch where this case is composed)::

        q' = (1 - eps) * q + eps / C          (label smoothing, when eps > 0)
        loss_i = -sum_c(w[c] * q'[i, c] * logp[i, c])

    The mean divides by M, the number of predictions (not by a weight total: PyTorch's rule for
    probability targets). Backward: ``dL/dlogits = p * sum_c(w q') - w q'``, ``dL/dq = -(1 -
    eps) * w * logp``, ``dL/dw = -sum_i(q' * logp)``. The forward keeps ``log_softmax``
    (M x C). Cost: ~8 FLOPs and one exp per score, one more exp per score in the backward.
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        check_reduction("cross_entropy", reduction)
        check_smoothing(label_smoothing)
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def forward(
        self, logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None
    ) -> np.ndarray:
        _check_rows("cross_entropy", logits)
        n, c = logits.shape
        eps = self.label_smoothing
        # HINT: logp = log_softmax of each row (max subtracted); q = target, smoothed to
        # HINT: (1 - eps) * target + eps / c when eps > 0; loss_i = -sum_c of w * q * logp
        # BEGIN SOLUTION
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        q = (1 - eps) * target + eps / c if eps > 0 else target
        wq = q if weight is None else q * weight
        per_sample = -(wq * logp).sum(axis=1)
        # END SOLUTION
        self.save_for_backward(logp, target, weight)
        self.rows = n
        per_sample = per_sample.astype(logits.dtype, copy=False)
        if self.reduction == "none":
            return per_sample
        total = per_sample.sum(dtype=logits.dtype)
        if self.reduction == "sum":
            return total
        return _mean(total, n, logits.dtype)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        logp, target, weight = self.saved
        c = logp.shape[1]
        eps = self.label_smoothing
        scale = _mean_scale(grad, self.reduction, self.rows)
        if self.reduction == "none":
            scale = grad[:, None]
        q = (1 - eps) * target + eps / c if eps > 0 else target
        wq = q if weight is None else q * weight
        grad_logits = grad_target = grad_weight = None
        # HINT: dlogits = (softmax * (row sum of w * q) - w * q) * scale, softmax = exp(logp);
        # HINT: dtarget = -(1 - eps) * w * logp * scale; dweight = column sums of -q * logp * scale
        # BEGIN SOLUTION
        if needs[0]:
            grad_logits = (np.exp(logp) * wq.sum(axis=1, keepdims=True) - wq) * scale
        if needs[1]:
            grad_target = -(1 - eps) * logp * scale
            if weight is not None:
                grad_target = grad_target * weight
        if len(needs) > 2 and needs[2]:
            grad_weight = -(q * logp * scale).sum(axis=0)
        # END SOLUTION
        return (grad_logits, grad_target, grad_weight)[: len(needs)]


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between ``softmax(input)`` (over dim 1) and ``target``.

    input: float scores (logits: unnormalised, *not* probabilities) with the classes in dim 1:
    ``(N, C)``, ``(N, C, d1, ...)`` (a prediction per pixel or token) or unbatched ``(C,)``.
    target, either

    - int class indices of the input's shape without dim 1 (``(N,)``, ``(N, d1, ...)``, ``()``)
      in ``[0, C)``, or ``ignore_index`` (that prediction is skipped and not counted);
    - or float class probabilities of the input's shape (each row a distribution; ignore_index
      must stay negative, as in PyTorch).

    ``weight`` ``(C,)`` weights each class; with class indices the mean divides by the sum of
    the weights of the counted targets, with probabilities by the number of predictions.
    ``label_smoothing`` eps mixes the target with the uniform distribution: ``(1 - eps) * q +
    eps / C``. Returns a 0-d tensor (``"mean"``, ``"sum"``) or one loss per prediction
    (``"none"``: ``(N,)``, ``(N, d1, ...)``, ``()``). PyTorch's semantics throughout. Errors
    name wrong shapes, dtypes and out-of-range labels, and the fix.

    Cost: the (N, C) integer-label case is one fused Op (`CrossEntropyOp`), about 6 FLOPs and one
    exp per score; extra dims add a permute + reshape (one copy of the input and of its
    gradient).
    """
    check_legacy("cross_entropy", size_average, reduce)
    input = _as_tensor(input)
    target = _as_tensor(target, like=input)
    if target.shape != input.shape or input.ndim == 0:
        weights = class_weights("cross_entropy", weight, input, target, ignore_index)
        op = CrossEntropyOp(weights, ignore_index, reduction, label_smoothing)
        return _class_index_loss("cross_entropy", op, input, target, ignore_index, reduction)
    return _cross_entropy_probs(input, target, weight, ignore_index, reduction, label_smoothing)


def _cross_entropy_probs(
    input: Tensor,
    target: Tensor,
    weight: Any,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
) -> Tensor:
    """Class-probability targets (``target.shape == input.shape``)."""
    op = CrossEntropyProbsOp(reduction, label_smoothing)
    if input.dtype.kind != "f" or target.dtype.kind != "f":
        hint = (
            "one-hot rows? take target.argmax(dim=1) for class indices, or convert to "
            "probabilities with target.float()"
            if target.dtype.kind in "iub"
            else "convert with .float()"
        )
        raise TypeError(
            f"cross_entropy: a target of the input's shape {input.shape} holds class "
            f"probabilities and must be float, like the input; got input {input.dtype}, target "
            f"{target.dtype}; {hint}"
        )
    if ignore_index >= 0:
        raise ValueError(
            f"cross_entropy: ignore_index={ignore_index} only applies to class-index targets; "
            f"with class probabilities (target of the input's shape {input.shape}) leave it at "
            f"-100 and give the predictions to skip a zero row of probabilities instead"
        )
    inputs = [classes_last(input), classes_last(target)]
    if weight is not None:
        c = num_classes(input.shape)
        weight = _as_tensor(weight, like=input)
        if weight.shape != (c,):
            raise ValueError(
                f"cross_entropy: weight must hold one value per class, shape ({c},) for input "
                f"of shape {input.shape} (the classes are dim 1), got shape {weight.shape}"
            )
        inputs.append(weight if weight.dtype == input.dtype else weight.astype(input.dtype))
    loss = apply(op, *inputs)
    return loss.reshape(prediction_shape(input.shape)) if reduction == "none" else loss


def cross_entropy_composed(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """The same loss for ``(N, C)`` input and int labels, composed from log_softmax, indexing,
    products and sums: the test oracle of the fused `CrossEntropyOp` (autograd differentiates
    it through every recorded op)."""
    check_reduction("cross_entropy", reduction)
    check_smoothing(label_smoothing)
    input, target = _as_tensor(input), _as_tensor(target)
    check_labels("cross_entropy", input.data, target.data, ignore_index)
    n, c = input.shape
    valid = target.data != ignore_index
    safe = np.where(valid, target.data, 0)
    logp = log_softmax(input, dim=1)
    per_sample = -logp[np.arange(n), safe]
    count: Any = int(valid.sum())
    w: Any = None
    if weight is not None:
        w = constant_weight("cross_entropy", "weight", weight, input, (c,))
        w_y = np.where(valid, w[safe], 0).astype(input.dtype)
        per_sample = per_sample * Tensor(w_y, dtype=input.dtype)
        count = w_y.sum()
    if label_smoothing > 0:
        smooth = (
            -logp.sum(dim=1) if w is None else -(logp * Tensor(w, dtype=input.dtype)).sum(dim=1)
        )
        per_sample = per_sample * (1 - label_smoothing) + smooth * (label_smoothing / c)
    per_sample = per_sample * Tensor(valid, dtype=input.dtype)
    if reduction == "mean":
        return per_sample.sum() / count
    return _reduce(per_sample, reduction)


class CrossEntropyLoss(Module):
    """``CrossEntropyLoss(weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction="mean", label_smoothing=0.0)``: ``loss = CrossEntropyLoss()(logits, target)``;
    see `cross_entropy`. ``weight`` is kept as a buffer (saved in ``state_dict``)."""

    weight: Tensor | None

    def __init__(
        self,
        weight: Any = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        check_legacy("CrossEntropyLoss", size_average, reduce)
        CrossEntropyOp(None, ignore_index, reduction, label_smoothing)  # validates the options
        _keep_weight(self, "weight", weight)
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )

    def extra_repr(self) -> str:
        return _options_repr(self, ("weight", "ignore_index", "reduction", "label_smoothing"))


# --------------------------------------------------------------------- binary cross-entropy
def check_binary(function: str, x: np.ndarray, y: np.ndarray) -> None:
    """Raise unless input and target are float arrays of one shape."""
    if x.shape != y.shape:
        raise ValueError(
            f"{function}: input has shape {x.shape} but target has shape {y.shape}; they must "
            f"be equal (one target per prediction), e.g. target.reshape({list(x.shape)})"
        )
    if x.dtype.kind != "f" or y.dtype.kind != "f":
        raise TypeError(
            f"{function}: input and target must be float, got {x.dtype} and {y.dtype}; "
            f"convert the 0/1 targets with target.astype(np.float32)"
        )


def _check_unit_interval(function: str, name: str, values: np.ndarray, fix: str) -> None:
    bad = np.flatnonzero(~((values >= 0) & (values <= 1)))  # NaN is caught too
    if bad.size:
        flat = values.reshape(-1)
        shown = ", ".join(f"{flat[i]:g} at flat index {i}" for i in bad[:3])
        raise ValueError(
            f"{function}: every element of {name} must be in [0, 1], got {shown} ({bad.size} of "
            f"{values.size} outside); {fix}"
        )


class BCEOp(Op):
    """Binary cross-entropy from probabilities ``p`` (input) and targets ``y``, both in [0, 1]::

        loss = -w * (y * max(log p, -100) + (1 - y) * max(log(1 - p), -100))

    The clamp at -100 is PyTorch's: ``log 0 = -inf`` would make the loss infinite (and ``0 *
    -inf`` NaN) for a saturated probability. The backward is PyTorch's too, ``dL/dp = w * (p -
    y) / max(p * (1 - p), 1e-12)`` (finite at 0 and 1), and ``dL/dy = -w * logit(p)``.
    ``weight`` (broadcast to the input's shape) is a constant. Cost: two logs per element;
    prefer `BCEWithLogitsOp` (from logits), which needs no clamp.
    """

    EPSILON = float(np.float32(1e-12))  # PyTorch's constant is a C float: 9.9999999600e-13

    def __init__(self, weight: np.ndarray | None = None, reduction: str = "mean") -> None:
        check_reduction("binary_cross_entropy", reduction)
        self.weight = weight
        self.reduction = reduction

    def forward(self, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        function = "binary_cross_entropy"
        check_binary(function, p, y)
        _check_unit_interval(
            function,
            "input",
            p,
            "it must hold probabilities: apply sigmoid first, or better pass the logits to "
            "binary_cross_entropy_with_logits (stable, no clamp)",
        )
        _check_unit_interval(function, "target", y, "targets are 0/1 labels or probabilities")
        self.save_for_backward(p, y)
        # HINT: log p and log(1 - p) (np.log1p(-p)), each clamped below at -100 with np.maximum;
        # HINT: loss = -(y * log_p + (1 - y) * log_1mp), times the weight when there is one
        # BEGIN SOLUTION
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 just below
            log_p = np.maximum(np.log(p), -100)
            log_1mp = np.maximum(np.log1p(-p), -100)
        loss = (y - 1) * log_1mp - y * log_p
        if self.weight is not None:
            loss = loss * self.weight
        # END SOLUTION
        return _reduce_array(loss.astype(p.dtype, copy=False), self.reduction)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dp = (p - y) / max(p (1 - p), 1e-12); dL/dy = log(1 - p) - log p = -logit(p);
        both times w and dL/dloss (/ size for "mean")."""
        p, y = self.saved
        scale = grad / p.size if self.reduction == "mean" else grad
        if self.weight is not None:
            scale = scale * self.weight
        grad_p = grad_y = None
        # HINT: dp = (p - y) / max(p * (1 - p), EPSILON) * scale (PyTorch clamps the denominator)
        # HINT: dy = -log(p / (1 - p)) * scale
        # BEGIN SOLUTION
        if needs[0]:
            grad_p = (p - y) / np.maximum(p * (1 - p), self.EPSILON) * scale
        if needs[1]:
            with np.errstate(divide="ignore"):  # p = 0 or 1: an infinite slope, as PyTorch's
                grad_y = -np.log(p / (1 - p)) * scale
        # END SOLUTION
        return grad_p, grad_y


def binary_cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy from probabilities: input and target of one shape (any), float,
    values in [0, 1] (the input is usually ``sigmoid(logits)``). ``weight`` (broadcast to the
    input's shape) rescales each element's loss; the mean divides by the number of elements.
    Logs are clamped at -100 (PyTorch's rule): see `BCEOp`. From logits, use
    `binary_cross_entropy_with_logits`: stabler, and one Op instead of two."""
    check_legacy("binary_cross_entropy", size_average, reduce)
    input = _as_tensor(input)
    weights = constant_weight("binary_cross_entropy", "weight", weight, input)
    return apply(BCEOp(weights, reduction), input, _as_tensor(target, like=input))


class BCELoss(Module):
    """``BCELoss(weight=None, size_average=None, reduce=None, reduction="mean")``:
    ``loss = BCELoss()(probabilities, targets)``; see `binary_cross_entropy`."""

    weight: Tensor | None

    def __init__(
        self,
        weight: Any = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        check_legacy("BCELoss", size_average, reduce)
        check_reduction("BCELoss", reduction)
        _keep_weight(self, "weight", weight)
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)

    def extra_repr(self) -> str:
        return _options_repr(self, ("weight", "reduction"))


class BCEWithLogitsOp(Op):
    """Binary cross-entropy of ``sigmoid(x)`` against targets ``y`` in [0, 1], from logits.

    ``-(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))`` simplifies to the stable
    ``max(x, 0) - x * y + log(1 + exp(-|x|))``: the exponent is never positive, so nothing
    overflows, and ``log1p`` keeps the small tail accurate. With ``pos_weight`` (the weight of
    the positive term, broadcast along the input, usually one per class of the last dim) it is
    PyTorch's ``(1 - y) * x - (1 + (pos_weight - 1) * y) * log_sigmoid(x)``, with
    ``log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))``. ``weight`` multiplies each element's
    loss. Both are constants. Cost: ~7 FLOPs and one exp per element; the backward recomputes
    ``sigmoid(x)`` from the saved input.
    """

    def __init__(
        self,
        weight: np.ndarray | None = None,
        reduction: str = "mean",
        pos_weight: np.ndarray | None = None,
    ) -> None:
        check_reduction("binary_cross_entropy_with_logits", reduction)
        self.weight = weight
        self.reduction = reduction
        self.pos_weight = pos_weight

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        check_binary("binary_cross_entropy_with_logits", x, y)
        self.save_for_backward(x, y)
        pw = self.pos_weight
        # HINT: without pos_weight: max(x, 0) - x * y + log1p(exp(-|x|));
        # HINT: with it: (1 - y) * x - (1 + (pw - 1) * y) * log_sigmoid(x); times the weight
        # BEGIN SOLUTION
        if pw is None:
            loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        else:
            loss = (1 - y) * x - (1 + (pw - 1) * y) * log_sigmoid(x)
        if self.weight is not None:
            loss = loss * self.weight
        # END SOLUTION
        return _reduce_array(loss.astype(x.dtype, copy=False), self.reduction)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        """dL/dx = (sigmoid(x) - y) * dL/dloss; dL/dy = -x * dL/dloss (/ size for "mean").
        With pos_weight: dL/dx = (1 + (pw - 1) y) sigmoid(x) - pw y, dL/dy = log_sigmoid(-x)
        - pw log_sigmoid(x); both times the weight."""
        x, y = self.saved
        scale = grad / x.size if self.reduction == "mean" else grad
        if self.weight is not None:
            scale = scale * self.weight
        pw = self.pos_weight
        grad_x = grad_y = None
        # HINT: without pos_weight: d/dx = sigmoid(x) - y and d/dy = -x; with pos_weight p: d/dx =
        # HINT: (1 + (p - 1) y) sigmoid(x) - p y, d/dy = (1 - p) log_sigmoid(x) - x; all times scale
        # BEGIN SOLUTION
        if pw is None:
            grad_x = (stable_sigmoid(x) - y) * scale if needs[0] else None
            grad_y = -x * scale if needs[1] else None
        else:
            if needs[0]:
                grad_x = ((1 + (pw - 1) * y) * stable_sigmoid(x) - pw * y) * scale
            if needs[1]:
                log_sig = log_sigmoid(x)
                grad_y = (log_sig - x - pw * log_sig) * scale  # log_sigmoid(-x) = ls(x) - x
        # END SOLUTION
        return grad_x, grad_y


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` without overflow: ``e / (1 + e)`` with ``e = exp(x)`` for x < 0."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))``: finite for every finite x."""
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Binary cross-entropy from logits: input and target of one shape (any), float; target
    values in [0, 1] (labels 0/1, or soft labels). ``weight`` (broadcast to the input's shape)
    rescales each element's loss; ``pos_weight`` (broadcast too, typically ``(C,)`` for the last
    dim) weights the positive term (``pos_weight = negatives / positives`` balances a rare
    class). The mean divides by the number of elements. See `BCEWithLogitsOp` for the stable
    form."""
    check_legacy("binary_cross_entropy_with_logits", size_average, reduce)
    function = "binary_cross_entropy_with_logits"
    input = _as_tensor(input)
    weights = constant_weight(function, "weight", weight, input)
    positive = constant_weight(function, "pos_weight", pos_weight, input)
    op = BCEWithLogitsOp(weights, reduction, positive)
    return apply(op, input, _as_tensor(target, like=input))


class BCEWithLogitsLoss(Module):
    """``BCEWithLogitsLoss(weight=None, size_average=None, reduce=None, reduction="mean",
    pos_weight=None)``: ``loss = BCEWithLogitsLoss()(logits, targets)``; see
    `binary_cross_entropy_with_logits`. ``weight`` and ``pos_weight`` are buffers."""

    weight: Tensor | None
    pos_weight: Tensor | None

    def __init__(
        self,
        weight: Any = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
        pos_weight: Any = None,
    ) -> None:
        check_legacy("BCEWithLogitsLoss", size_average, reduce)
        check_reduction("BCEWithLogitsLoss", reduction)
        _keep_weight(self, "weight", weight)
        _keep_weight(self, "pos_weight", pos_weight)
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )

    def extra_repr(self) -> str:
        return _options_repr(self, ("weight", "reduction", "pos_weight"))
