"""Pruning: zero the weights that matter least (unstructured), or remove whole channels
(structured) so that the model really gets smaller and faster.

**Unstructured magnitude pruning** (PyTorch's ``torch.nn.utils.prune.l1_unstructured``): the
``amount`` fraction of a weight's entries with the smallest ``|w|`` are set to 0 and a mask
buffer ``<name>_mask`` (float32, 1 = kept) remembers which. ``global_unstructured`` ranks the
entries of several layers together, so layers with many small weights lose more. Masking
saves nothing by itself: the array keeps its shape (``sparsity_report`` counts the zeros,
``sparse_bytes`` what a compressed format would need).

**Masks that survive training.** After pruning, the optimizer must not bring pruned weights
back. Masking the *gradient* is not enough: momentum (SGD's buffer, Adam's moments) built up
before pruning, or any optimizer state, still moves a weight whose gradient is 0. So
`MaskedOptimizer` (and `apply_masks`) re-applies every mask *after* each ``optimizer.step()``:
whatever the optimizer did, the pruned entries are exactly 0 before the next forward. (The
pruned entries' momentum keeps decaying in the optimizer's state, harmlessly.)

**Structured pruning** removes whole output channels: filters of a Conv2d (and the matching
rows of a following BatchNorm2d) or units of a Linear, and the matching *input* channels of the
next Conv2d or Linear. The result is a smaller dense model: fewer FLOPs and bytes, a real
speed-up without sparse kernels. `channel_importance` ranks a filter by the L1 norm of its
weights (Li et al., 2017), multiplied by BatchNorm's ``|gamma| / sqrt(var + eps)`` when one
follows (the scale the channel actually has after normalisation). `mask_channels` zeros those
channels in place (the *masked* model: the same outputs as the smaller one) and `shrink` builds
the smaller model.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinytorch.layers import Dropout, Linear, Module, Parameter
from tinytorch.spatial import BatchNorm1d, BatchNorm2d, Conv2d
from tinytorch.tensor import Tensor

__all__ = [
    "ChannelPlan",
    "MaskedOptimizer",
    "SparsityRow",
    "apply_masks",
    "channel_importance",
    "global_unstructured",
    "is_pruned",
    "l1_unstructured",
    "magnitude_mask",
    "mask_channels",
    "plan_channel_pruning",
    "prune_channels",
    "recalibrate_batchnorm",
    "remove",
    "shrink",
    "sparse_bytes",
    "sparsity_report",
]


# --------------------------------------------------------------------- unstructured
def _count(amount: float | int, n: int, where: str) -> int:
    """PyTorch's rule: a float in [0, 1] is a fraction (rounded), an int a number of entries."""
    if isinstance(amount, bool) or not isinstance(amount, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: amount must be a float fraction or an int count, got {amount!r}")
    if isinstance(amount, (float, np.floating)):
        if not 0.0 <= amount <= 1.0:
            raise ValueError(f"{where}: a fractional amount must be in [0, 1], got {amount}")
        return round(float(amount) * n)
    if not 0 <= amount <= n:
        raise ValueError(f"{where}: amount={amount} entries, but there are {n} to prune")
    return int(amount)


def magnitude_mask(weight: np.ndarray, amount: float | int) -> np.ndarray:
    """A float32 mask of ``weight``'s shape: 0 at the ``amount`` smallest-magnitude entries
    (a fraction, rounded: ``round(amount * size)``, or a count), 1 elsewhere.

    Exactly that many zeros, ties broken by position (as ``torch.topk``). Cost: O(size) with
    ``np.argpartition`` (a full sort would be O(size log size)).
    """
    k = _count(amount, weight.size, "magnitude_mask")
    mask = np.ones(weight.size, dtype=np.float32)
    # HINT: np.argpartition(values, k - 1)[:k] gives the positions of the k smallest values,
    # HINT: in O(n); rank by the absolute value of the flattened weight; k = 0 prunes nothing
    # BEGIN SOLUTION
    if k > 0:
        smallest = np.argpartition(np.abs(weight).ravel(), k - 1)[:k]
        mask[smallest] = 0.0
    # END SOLUTION
    return mask.reshape(weight.shape)


def _mask_name(name: str) -> str:
    return f"{name}_mask"


def _param(module: Module, name: str, where: str) -> Parameter:
    param = getattr(module, name, None)
    if not isinstance(param, Parameter):
        raise AttributeError(
            f"{where}: {type(module).__name__} has no parameter {name!r}; parameters: "
            f"{[n for n, _ in module.named_parameters()]}"
        )
    return param


def _set_mask(module: Module, name: str, mask: np.ndarray) -> None:
    param = _param(module, name, "prune")
    module.register_buffer(_mask_name(name), Tensor._wrap(mask.astype(np.float32)))
    np.multiply(param.data, mask, out=param.data, casting="unsafe")


def is_pruned(module: Module) -> bool:
    """Whether any submodule holds a pruning mask (PyTorch's ``prune.is_pruned``)."""
    return any(n.endswith("_mask") for n, _ in module.named_buffers())


def l1_unstructured(module: Module, name: str = "weight", amount: float | int = 0.5) -> Module:
    """Zero the ``amount`` smallest-|w| entries of ``module.<name>`` still unpruned, and keep
    the mask as the buffer ``<name>_mask`` (PyTorch's ``prune.l1_unstructured``).

    Pruning again prunes ``amount`` of the *remaining* entries (PyTorch's iterative rule: 0.5
    twice leaves 25%). Returns ``module``.
    """
    param = _param(module, name, "l1_unstructured")
    old = getattr(module, _mask_name(name), None)
    old_mask = old.data if isinstance(old, Tensor) else np.ones(param.shape, dtype=np.float32)
    alive = np.flatnonzero(old_mask.ravel())
    k = _count(amount, alive.size, "l1_unstructured")
    within = magnitude_mask(param.data.ravel()[alive], k)
    mask = old_mask.ravel().copy()
    mask[alive] = within
    _set_mask(module, name, mask.reshape(param.shape))
    return module


def global_unstructured(
    parameters: Iterable[tuple[Module, str]], amount: float | int = 0.5
) -> None:
    """Rank the unpruned entries of every ``(module, name)`` together by |w| and zero the
    ``amount`` smallest (PyTorch's ``prune.global_unstructured`` with L1): one global
    threshold, so each layer loses a different fraction. Each gets a ``<name>_mask``."""
    pairs = list(parameters)
    if not pairs:
        raise ValueError("global_unstructured: no parameters given")
    masks, values = [], []
    for module, name in pairs:
        param = _param(module, name, "global_unstructured")
        old = getattr(module, _mask_name(name), None)
        mask = old.data.copy() if isinstance(old, Tensor) else np.ones(param.shape, np.float32)
        masks.append(mask)
        values.append(np.where(mask.ravel() > 0, np.abs(param.data.ravel()), np.inf))
    flat = np.concatenate(values)
    alive = int(np.isfinite(flat).sum())
    k = _count(amount, alive, "global_unstructured")
    global_mask = magnitude_mask(flat, k)  # already-pruned entries rank last (inf): untouched
    start = 0
    for (module, name), mask in zip(pairs, masks, strict=True):
        size = mask.size
        new = mask.ravel() * global_mask[start : start + size]
        _set_mask(module, name, new.reshape(mask.shape))
        start += size


def remove(module: Module, name: str = "weight") -> Module:
    """Make the pruning permanent (PyTorch's ``prune.remove``): the zeros stay in the weight,
    the mask buffer goes (so the state_dict has the original keys again)."""
    key = _mask_name(name)
    names = module.__dict__.get("_buffer_names", [])
    if key not in names:
        raise ValueError(f"remove: {type(module).__name__}.{name} is not pruned (no {key})")
    names.remove(key)
    delattr(module, key)
    return module


def _masked(model: Module) -> Iterator[tuple[Parameter, np.ndarray]]:
    for module in model.modules():
        for key in module.__dict__.get("_buffer_names", []):
            if key.endswith("_mask"):
                param = getattr(module, key[: -len("_mask")], None)
                if isinstance(param, Parameter):
                    yield param, getattr(module, key).data


def apply_masks(model: Module) -> None:
    """Multiply every pruned parameter by its mask, in place (after an optimizer step)."""
    for param, mask in _masked(model):
        np.multiply(param.data, mask, out=param.data, casting="unsafe")


class MaskedOptimizer:
    """An optimizer whose ``step()`` re-applies the model's pruning masks afterwards, so pruned
    weights stay exactly 0 through training whatever the optimizer's state (momentum, Adam
    moments, weight decay). Everything else (``zero_grad``, ``param_groups``, ``state_dict``,
    schedulers) is the wrapped optimizer's. Usable wherever an optimizer is: ``Trainer(model,
    MaskedOptimizer(SGD(...), model), loss)``."""

    def __init__(self, optimizer: Any, model: Module) -> None:
        self.optimizer, self.model = optimizer, model

    def step(self, closure: Any = None) -> Any:
        result = self.optimizer.step(closure) if closure is not None else self.optimizer.step()
        apply_masks(self.model)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["optimizer"], name)


@dataclass(frozen=True)
class SparsityRow:
    """One parameter: its name, shape, element count, zeros and sparsity (zeros / numel)."""

    name: str
    shape: tuple[int, ...]
    numel: int
    zeros: int

    @property
    def sparsity(self) -> float:
        return self.zeros / self.numel if self.numel else 0.0


def sparsity_report(model: Module, weights_only: bool = True) -> list[SparsityRow]:
    """Per parameter (weights of 2 or more dims when ``weights_only``): exact zeros counted,
    and a final ``"total"`` row. ``row.sparsity`` is the fraction that is 0."""
    rows = [
        SparsityRow(name, p.shape, p.numel(), int(p.numel() - np.count_nonzero(p.data)))
        for name, p in model.named_parameters()
        if p.ndim >= 2 or not weights_only
    ]
    total = SparsityRow("total", (), sum(r.numel for r in rows), sum(r.zeros for r in rows))
    return [*rows, total]


def sparse_bytes(weight: np.ndarray, value_bytes: int = 4, index_bytes: int = 4) -> int:
    """Bytes of ``weight`` in a compressed sparse row format (values and column indices of the
    nonzeros, one row pointer per row): below the dense ``weight.nbytes`` only past ~50%
    sparsity with 4-byte indices, the lesson why unstructured pruning rarely saves memory."""
    rows = weight.shape[0] if weight.ndim else 1
    nonzero = int(np.count_nonzero(weight))
    return nonzero * (value_bytes + index_bytes) + (rows + 1) * index_bytes


# --------------------------------------------------------------------- structured
_PASS_THROUGH = ("ReLU", "LeakyReLU", "GELU", "Tanh", "Sigmoid", "SiLU", "ReLU6", "ELU")
_POOLS = ("MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "AdaptiveAvgPool2d")


@dataclass
class ChannelPlan:
    """Which output channels of layer ``index`` (a Conv2d or Linear of a Sequential) to keep,
    the BatchNorm that normalises them (``norm``, or None), and the layer that consumes them
    (``consumer``, a Conv2d or Linear) with ``block`` input columns per channel (H*W after a
    Flatten, else 1)."""

    index: int
    keep: np.ndarray
    norm: int | None
    consumer: int
    block: int


def _consumer(layers: list[Any], index: int) -> tuple[int | None, int, int] | None:
    """For layer ``index``: (BatchNorm index or None, consumer index, block), or None when its
    outputs cannot be followed to one consumer (the last layer, or an unknown layer between)."""
    producer: Any = layers[index]
    channels = producer.out_channels if isinstance(producer, Conv2d) else producer.out_features
    norm = None
    for j in range(index + 1, len(layers)):
        layer, kind = layers[j], type(layers[j]).__name__
        if isinstance(layer, (BatchNorm2d, BatchNorm1d)) and layer.num_features == channels:
            if norm is not None:
                return None
            norm = j
        elif (
            isinstance(layer, Dropout)
            or kind in _PASS_THROUGH
            or kind in _POOLS
            or kind == "Flatten"
        ):
            continue
        elif isinstance(layer, Conv2d):
            ok = layer.groups == 1 and layer.in_channels == channels
            return (norm, j, 1) if ok else None
        elif isinstance(layer, Linear):
            if layer.in_features % channels:
                return None
            return norm, j, layer.in_features // channels
        else:
            return None
    return None


def channel_importance(layer: Any, norm: Any = None) -> np.ndarray:
    """One score per output channel: the L1 norm of its weights (a Conv2d filter or a Linear
    row), times ``|gamma| / sqrt(running_var + eps)`` of the BatchNorm that follows, if any."""
    weight = _param(layer, "weight", "channel_importance").data
    score = np.abs(weight.reshape(weight.shape[0], -1)).sum(axis=1).astype(np.float64)
    if norm is not None and getattr(norm, "running_var", None) is not None:
        gamma = norm.weight.data if norm.weight is not None else 1.0
        score = score * np.abs(gamma) / np.sqrt(norm.running_var.data + norm.eps)
    return score


def _layers(model: Module) -> list[Any]:
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list):
        raise TypeError(
            f"structured pruning works on a Sequential (a list of layers), got "
            f"{type(model).__name__}; prune the Sequential parts of your model"
        )
    return layers


def plan_channel_pruning(
    model: Module, amount: float | dict[int, float], min_channels: int = 1
) -> list[ChannelPlan]:
    """Which channels to keep in each prunable layer of a Sequential: the ``amount`` fraction
    with the lowest `channel_importance` goes (``amount`` one fraction for every prunable
    layer, or ``{layer index: fraction}``), at least ``min_channels`` stay. A layer is
    prunable when its outputs reach exactly one Conv2d or Linear through activations, pools,
    dropout, Flatten and at most one BatchNorm."""
    layers = _layers(model)
    plans = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, (Conv2d, Linear)):
            continue
        if isinstance(layer, Conv2d) and layer.groups != 1:
            continue
        fraction = amount.get(index) if isinstance(amount, dict) else amount
        found = _consumer(layers, index)
        if fraction is None or found is None:
            continue
        norm, consumer, block = found
        score = channel_importance(layer, layers[norm] if norm is not None else None)
        n = score.size
        keep_count = max(min_channels, n - _count(float(fraction), n, "plan_channel_pruning"))
        keep = np.sort(np.argsort(-score, kind="stable")[:keep_count])
        plans.append(ChannelPlan(index, keep, norm, consumer, block))
    return plans


def mask_channels(model: Module, plans: list[ChannelPlan]) -> Module:
    """Zero, in place, every channel the plans remove: the producer's weight rows and bias,
    and the BatchNorm's gamma and beta (its output for that channel is then exactly 0, in
    training and eval alike). The model keeps its shape: the reference `shrink` must match."""
    layers = _layers(model)
    for plan in plans:
        layer = layers[plan.index]
        drop = np.setdiff1d(np.arange(layer.weight.shape[0]), plan.keep)
        layer.weight.data[drop] = 0.0
        if layer.bias is not None:
            layer.bias.data[drop] = 0.0
        if plan.norm is not None:
            norm = layers[plan.norm]
            for tensor in (norm.weight, norm.bias):
                if tensor is not None:
                    tensor.data[drop] = 0.0
    return model


def _columns(keep: np.ndarray, block: int) -> np.ndarray:
    return (keep[:, None] * block + np.arange(block)[None, :]).ravel()


def shrink(model: Module, plans: list[ChannelPlan]) -> Module:
    """A new, smaller Sequential: each planned layer keeps only ``plan.keep`` output channels,
    its BatchNorm those channels' parameters and running statistics, and its consumer only
    the matching input channels (blocks of columns after a Flatten). Other layers are copied.
    In eval mode its outputs equal `mask_channels`'s model's (the removed channels contributed
    exact zeros), to float rounding."""
    from tinytorch.networks import Sequential

    layers = [copy.deepcopy(layer) for layer in _layers(model)]
    for plan in plans:
        producer = layers[plan.index]
        keep = plan.keep
        producer.weight = Parameter(producer.weight.data[keep])
        if producer.bias is not None:
            producer.bias = Parameter(producer.bias.data[keep])
        if isinstance(producer, Conv2d):
            producer.out_channels = keep.size
        else:
            producer.out_features = keep.size
        if plan.norm is not None:
            norm = layers[plan.norm]
            norm.num_features = keep.size
            for attribute in ("weight", "bias"):
                value = getattr(norm, attribute)
                if value is not None:
                    setattr(norm, attribute, Parameter(value.data[keep]))
            for attribute in ("running_mean", "running_var"):
                value = getattr(norm, attribute)
                if value is not None:
                    norm.register_buffer(attribute, Tensor(value.data[keep]))
        consumer = layers[plan.consumer]
        if isinstance(consumer, Conv2d):
            consumer.weight = Parameter(np.ascontiguousarray(consumer.weight.data[:, keep]))
            consumer.in_channels = keep.size
        else:
            columns = _columns(keep, plan.block)
            consumer.weight = Parameter(np.ascontiguousarray(consumer.weight.data[:, columns]))
            consumer.in_features = columns.size
    smaller = Sequential(*layers)
    smaller.train(model.training)
    return smaller


def prune_channels(
    model: Module, amount: float | dict[int, float], min_channels: int = 1
) -> tuple[Module, list[ChannelPlan]]:
    """`plan_channel_pruning` then `shrink`: ``(smaller model, plans)``; ``model`` unchanged."""
    plans = plan_channel_pruning(model, amount, min_channels)
    return shrink(model, plans), plans


def recalibrate_batchnorm(model: Module, batches: Iterable[Any]) -> Module:
    """Recompute every BatchNorm's running mean and variance from ``batches`` (inputs, or
    (inputs, targets) pairs), in place, without touching a weight: after `shrink`, the layers
    after a pruned one see different inputs, so their stored statistics are stale (a pruned CNN
    can fall to chance accuracy until they are refreshed). Forward passes only, no graph; each
    BatchNorm temporarily averages all batches equally (``momentum=None``). Returns ``model``
    in the mode it had."""
    from tinytorch.autograd import no_grad

    norms = [m for m in model.modules() if isinstance(m, (BatchNorm1d, BatchNorm2d))]
    saved = [(norm, norm.momentum) for norm in norms]
    training = model.training
    for norm in norms:
        if norm.running_mean is None or norm.running_var is None:
            continue
        norm.running_mean.data[...] = 0.0
        norm.running_var.data[...] = 1.0
        if norm.num_batches_tracked is not None:
            norm.num_batches_tracked.data[...] = 0
        norm.momentum = None
    model.train()
    try:
        with no_grad():
            for batch in batches:
                inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
                model(inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs)))
    finally:
        for norm, momentum in saved:
            norm.momentum = momentum
        model.train(training)
    return model
