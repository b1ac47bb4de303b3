"""`Parameter` and `Module`: the building blocks every layer and model is made of.

A Module finds its parameters, buffers and sub-modules by looking at its own attributes (in the
order they were set): a `Parameter` attribute is a parameter, a `Module` attribute (or a list or
tuple of Modules) is a child, and tensors named with `register_buffer` are buffers (state that is
saved but not trained, like BatchNorm's running mean). No registration magic beyond that.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from tinytorch.tensor import Op, Tensor, apply, is_grad_enabled, vjp
from tinytorch.tensor.dispatch import set_grad_mode


class Parameter(Tensor):
    """A Tensor that a Module trains: ``requires_grad=True`` (float32 unless a dtype is given)."""

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = True) -> None:
        super().__init__(data, dtype=dtype, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: ``__call__`` runs ``forward``; ``backward`` is manual.

    Subclasses define ``forward(x)`` and, in modules 03-05, ``backward(grad_output)`` which
    returns the gradient with respect to the input and *accumulates* parameter gradients into
    ``param.grad`` (as autograd does). ``training`` switches layers like Dropout between modes.

    A layer whose forward is one Op runs it with `run_op`, which keeps the Op (its ``ctx``:
    what the forward saved) while grad mode is on; its ``backward`` calls `op_backward`, which
    runs that Op's derivative, the very one autograd calls, and then lets the Op go. The layer
    itself never stores activations: after a backward (manual or autograd's, which releases
    every recorded Op) or a forward under ``no_grad``, it holds only parameters and buffers.
    """

    training: bool = True
    _ctx: Op | None = None
    _ctx_shape: tuple[int, ...] = ()

    def run_op(self, op: Op, *inputs: Any) -> Tensor:
        """``apply(op, *inputs)``, keeping ``op`` for `op_backward` while grad mode is on."""
        self._ctx = None  # drop the last step's saved arrays before computing new ones
        out = apply(op, *inputs)
        if is_grad_enabled():
            self._ctx, self._ctx_shape = op, out.shape
        return out

    def op_backward(self, grad_output: Tensor, needs: tuple[bool, ...]) -> tuple[Any, ...]:
        """The gradients of the inputs of the Op the last forward ran, from dL/d(output).

        ``needs[i]`` says whether input i wants its gradient. The layer drops the Op afterwards
        (a second backward needs a new forward); without a recorded graph, that frees what the
        Op saved.
        """
        name = type(self).__name__
        if self._ctx is None or self._ctx.released:
            raise RuntimeError(
                f"{name}.backward: call forward first, with grad mode on (a forward under "
                f"no_grad() keeps nothing, and a backward, manual or autograd's, releases what "
                f"the forward saved)"
            )
        grad = np.asarray(grad_output.data)
        if grad.shape != self._ctx_shape:
            raise ValueError(
                f"{name}.backward: grad_output has shape {grad.shape}, but the forward output "
                f"had shape {self._ctx_shape}; pass dL/dy for the output of the last forward"
            )
        op, self._ctx = self._ctx, None  # the layer lets go; a recorded graph may still hold op
        grads = vjp(op, grad, needs)
        for i, (need, g) in enumerate(zip(needs, grads, strict=True)):
            if need and g is None:
                raise RuntimeError(
                    f"{name}.backward: {type(op).__name__}.backward gave no gradient for input "
                    f"{i}, which was asked for (needs[{i}] is True)"
                )
        return grads

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def backward(self, grad_output: Tensor) -> Tensor:
        raise NotImplementedError(
            f"{type(self).__name__} has no hand-written backward(); use "
            f"autograd (module 06): loss.backward()"
        )

    # ----------------------------------------------------------------- structure
    def register_buffer(self, name: str, value: Tensor) -> None:
        """Set ``self.<name> = value`` and save it in ``state_dict`` (not trained)."""
        if not isinstance(value, Tensor):
            raise TypeError(
                f"register_buffer: buffer {name!r} must be a Tensor, got "
                f"{type(value).__name__}; wrap it: Tensor(value)"
            )
        names = self.__dict__.setdefault("_buffer_names", [])
        if name not in names:
            names.append(name)
        setattr(self, name, value)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def children(self) -> Iterator[Module]:
        return (child for _, child in self.named_children())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, with dotted names ("" for self)."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        return (module for _, module in self.named_modules())

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Every parameter once (a shared one under its first name), e.g. ``"0.weight"``."""
        seen: set[int] = set()
        for prefix, module in self.named_modules():
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{prefix}.{name}" if prefix else name), value

    def parameters(self) -> Iterator[Parameter]:
        return (param for _, param in self.named_parameters())

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        for prefix, module in self.named_modules():
            for name in module.__dict__.get("_buffer_names", []):
                yield (f"{prefix}.{name}" if prefix else name), getattr(module, name)

    def num_parameters(self) -> int:
        """Total number of trainable scalars."""
        return sum(p.numel() for p in self.parameters())

    # ----------------------------------------------------------------- modes and grads
    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget accumulated gradients (``grad = None``, PyTorch's default)."""
        for param in self.parameters():
            param.grad = None

    # ----------------------------------------------------------------- state
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Name → a copy of the array, for every parameter and buffer."""
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, tensor in [*self.named_parameters(), *self.named_buffers()]:
            state[name] = tensor.data.copy()
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers, in place (optimizers keep references).

        Raises KeyError listing the missing, unexpected and mis-shaped keys; with
        ``strict=False`` only mis-shaped keys are an error.
        """
        own = dict([*self.named_parameters(), *self.named_buffers()])
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        misshaped = [
            f"{k}: expected {own[k].shape}, got {tuple(np.shape(state[k]))}"
            for k in own
            if k in state and tuple(np.shape(state[k])) != own[k].shape
        ]
        if misshaped or (strict and (missing or unexpected)):
            raise KeyError(
                f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}, mis-shaped keys {misshaped}; the weights were "
                f"saved from a different architecture"
            )
        previous = set_grad_mode(False)  # as PyTorch: ``copy_`` under no_grad, which bumps
        try:  # each tensor's version, so a cache keyed on it (a packed weight) sees the write
            for name, tensor in own.items():
                if name in state:
                    tensor.copy_(np.asarray(state[name], dtype=tensor.dtype))
        finally:
            set_grad_mode(previous)

    # ----------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join([*lines, ")"])
