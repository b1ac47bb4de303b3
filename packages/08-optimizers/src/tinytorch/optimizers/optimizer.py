"""`Optimizer`: the base class that holds parameter groups and per-parameter state.

An optimizer turns gradients into parameter updates. It is given the parameters once, as an
iterable of Parameters or as a list of *parameter groups* (dicts with ``"params"`` and options
such as ``"lr"`` that override the defaults for those parameters)::

    opt = SGD(model.parameters(), lr=0.1)
    opt = SGD([{"params": body.parameters()}, {"params": head.parameters(), "lr": 1.0}], lr=0.1)

Every training step is ``opt.zero_grad(); loss.backward(); opt.step()``. ``step`` walks the
groups and calls the subclass's `Optimizer.update` once per parameter that has a gradient, with
NumPy arrays: the parameter's ``.data`` (updated in place, so the Parameter objects a model holds
stay the same objects), its gradient, its state dict (momentum buffers, moment estimates) and its
group's options. ``state_dict`` / ``load_state_dict`` save and restore that state by parameter
index, as PyTorch does, so training resumes exactly where it stopped.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinytorch.tensor import Tensor

ParamGroup = dict[str, Any]
Params = Iterable[Tensor] | Iterable[ParamGroup]


class Optimizer:
    """Base class: ``param_groups`` (list of dicts), ``state`` (parameter -> dict), ``step()``.

    Subclasses call ``super().__init__(params, defaults)`` with their hyperparameters as
    ``defaults`` and define `update`. ``defaults`` fills every option a group does not set.
    """

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Parameters or of "
                f"parameter-group dicts, got a single {type(params).__name__}; pass "
                f"[param] or model.parameters()"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{type(self).__name__}: params must be an ordered collection, got a set (its "
                f"order changes between runs, so saved state would go to the wrong parameters); "
                f"pass a list"
            )
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[ParamGroup] = []
        groups: list[Any] = list(params)
        if not groups:
            raise ValueError(
                f"{type(self).__name__}: got an empty parameter list; pass model.parameters() "
                f"of a model that has parameters"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----------------------------------------------------------------- groups
    def add_param_group(self, param_group: ParamGroup) -> None:
        """Add a group of parameters (``{"params": [...], "lr": ...}``) trained with its own
        options; options it leaves out take the optimizer's defaults (e.g. fine-tuning: a new
        head added with a larger lr)."""
        if not isinstance(param_group, dict):
            raise TypeError(
                f"add_param_group: a parameter group must be a dict with a 'params' key, got "
                f"{type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise KeyError("add_param_group: the parameter group has no 'params' key")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                "add_param_group: 'params' must be an ordered collection (a list), not a set"
            )
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for param in group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(
                    f"add_param_group: an optimizer can only optimize Tensors, but one of the "
                    f"params is {type(param).__name__}"
                )
            if not param.is_leaf:
                raise ValueError(
                    "add_param_group: can't optimize a non-leaf Tensor (one computed by an op); "
                    "optimize the Parameters it was computed from"
                )
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError(
                "add_param_group: some parameters appear in more than one parameter group; "
                "each parameter may be in one group only"
            )
        self.param_groups.append(group)

    # ----------------------------------------------------------------- training step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``grad = None`` (the default, frees memory) or fill with 0."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None
                elif param.grad is not None:
                    param.grad.data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient (``grad is None`` ones are skipped).

        ``closure`` (optional) recomputes and returns the loss before the update, as in
        PyTorch; its value is returned. Cost: O(number of parameter elements) per call.
        """
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = np.asarray(param.grad.data, dtype=param.dtype)
                if grad.shape != param.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step: gradient of shape {grad.shape} for a "
                        f"parameter of shape {param.shape}; a gradient must have its "
                        f"parameter's shape"
                    )
                self.update(param.data, grad, self.state.setdefault(param, {}), group)
                param._version_counter.value += 1  # an in-place write, as PyTorch counts it
        return loss

    def update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup
    ) -> None:
        """Update one parameter in place: ``param`` is its ``.data``, ``grad`` its gradient
        (same shape, never to be modified: it belongs to the caller), ``state`` its own dict
        (empty before its first step), ``group`` the options of its group."""
        raise NotImplementedError(f"{type(self).__name__} must define update()")

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are numbered 0, 1, 2, ... across the groups in order (they are not saved
        themselves); state arrays are copies, so later steps do not change a saved checkpoint.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(param)]: {k: _copy(v) for k, v in values.items()}
            for param, values in self.state.items()
            if id(param) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by `state_dict` into this optimizer's parameters.

        The saved groups must match this optimizer's groups in number and size; parameters are
        matched by position. Arrays are copied and cast to each parameter's dtype.
        """
        saved_groups = state_dict["param_groups"]
        name = type(self).__name__
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter "
                f"groups but this optimizer has {len(self.param_groups)}; build the optimizer "
                f"with the same groups as the one that was saved"
            )
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} has "
                    f"{len(saved['params'])} parameters in the saved state but "
                    f"{len(group['params'])} in this optimizer; the state was saved for a "
                    f"different model or grouping"
                )
        by_index = {
            saved_index: param
            for saved, group in zip(saved_groups, self.param_groups, strict=True)
            for saved_index, param in zip(saved["params"], group["params"], strict=True)
        }
        state: dict[Tensor, dict[str, Any]] = {}
        for saved_index, values in state_dict["state"].items():
            if saved_index not in by_index:
                continue
            param = by_index[saved_index]
            state[param] = {}
            for key, value in values.items():
                if isinstance(value, np.ndarray) and value.shape != param.shape:
                    raise ValueError(
                        f"{name}.load_state_dict: state {key!r} of parameter {saved_index} has "
                        f"shape {value.shape} but the parameter has shape {param.shape}; the "
                        f"state was saved for a different model"
                    )
                state[param][key] = _copy(value, param.dtype)
        groups = []
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            restored = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            restored["params"] = group["params"]
            groups.append(restored)
        self.state, self.param_groups = state, groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join([*lines, ")"])


def _copy(value: Any, dtype: Any = None) -> Any:
    """A copy of a state value: arrays copied (and cast to ``dtype``), numbers as they are."""
    if isinstance(value, np.ndarray):
        return np.array(value, dtype=dtype if dtype is not None else value.dtype)
    return copy.deepcopy(value)


def check_range(
    owner: str, name: str, value: float, low: float, high: float = math.inf, open_high: bool = False
) -> None:
    """Raise ValueError unless ``low <= value <= high`` (``< high`` with ``open_high``)."""
    inside = low <= value < high if open_high else low <= value <= high
    if not inside:
        bracket = ")" if open_high else "]"
        raise ValueError(
            f"{owner}: invalid {name} {value!r}; it must be in [{low}, {high}{bracket}"
        )
