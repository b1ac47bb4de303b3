"""`Sequential`: layers run one after another, and `MLP`, the builder for stacks of Linear layers.

A network is a function composition f_n(...f_2(f_1(x))). Its forward pass runs the layers in
order; by the chain rule its backward pass runs each layer's ``backward`` in *reverse* order,
handing each one the gradient of the loss with respect to its output. Nothing else is needed to
train a deep network by hand: every layer already knows its own local backward (modules 03-04).

Memory lesson: every layer keeps its input for its backward, so a forward pass made for
training holds one activation per layer alive until ``backward`` has run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import overload

import numpy as np

import tinytorch.activations as activations
from tinytorch.layers import Linear, Module
from tinytorch.tensor import Tensor

ActivationSpec = str | type[Module] | None


class Sequential(Module):
    """``Sequential(*modules)``: ``forward`` runs them in order, ``backward`` in reverse.

    Behaves like a list of layers: ``len(net)``, ``net[0]``, ``net[1:]`` (a new Sequential that
    shares the layers), ``for layer in net``, ``net.append(layer)``. Parameters are named by
    position, as in PyTorch: ``"0.weight"``, ``"2.bias"``, ``"1.0.weight"`` for nested ones.

    Shapes: x ``(N, *)`` -> whatever the last layer returns. Cost: the sum of the layers' costs.
    """

    def __init__(self, *modules: Module) -> None:
        for position, module in enumerate(modules):
            _check_module(module, f"Sequential: argument {position}")
        self.layers: list[Module] = list(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``("0", first_layer), ("1", second_layer), ...`` (so names read ``"0.weight"``)."""
        for position, layer in enumerate(self.layers):
            yield str(position), layer

    def forward(self, x: Tensor) -> Tensor:
        """Feed ``x`` through every layer in order; return the last layer's output."""
        # HINT: each layer's output is the next layer's input; the last output is the result
        # BEGIN SOLUTION
        for layer in self.layers:
            x = layer(x)
        return x
        # END SOLUTION

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/d(output) -> dL/d(input); each layer adds its parameters' gradients on the way.

        Call ``forward`` first: every layer's backward uses what its forward stored.
        """
        # HINT: the chain rule runs backwards: the last layer's input gradient is the
        # HINT: previous layer's output gradient.
        # BEGIN SOLUTION
        grad = grad_output
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad
        # END SOLUTION

    # ----------------------------------------------------------------- list behaviour
    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        """``net[i]`` is a layer; ``net[a:b]`` a new Sequential sharing those layers."""
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        if not -len(self) <= index < len(self):
            raise IndexError(
                f"Sequential: index {index} is out of range for {len(self)} layers "
                f"(valid: {-len(self)} to {len(self) - 1})"
            )
        return self.layers[index]

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (it is named ``str(len(self))``); returns ``self``."""
        _check_module(module, "Sequential.append")
        self.layers.append(module)
        return self


def _check_module(module: object, where: str) -> None:
    if not isinstance(module, Module):
        raise TypeError(
            f"{where}: expected a Module (a layer such as Linear(2, 4) or ReLU()), got "
            f"{type(module).__name__}; did you pass the class instead of an instance?"
        )


def activation_class(spec: str | type[Module]) -> type[Module]:
    """An activation Module class from a name (``"relu"``, ``"tanh"``, ...) or a class.

    Names are matched, ignoring case and underscores, against the Module classes exported by
    ``tinytorch.activations`` (``"leaky_relu"`` finds ``LeakyReLU`` if that module has it).
    """
    if isinstance(spec, type) and issubclass(spec, Module):
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"MLP: activation must be a name such as 'relu' or a Module class such as ReLU, "
            f"got {spec!r}"
        )
    classes = {
        name.lower(): value
        for name, value in vars(activations).items()
        if isinstance(value, type) and issubclass(value, Module) and value is not Module
    }
    key = spec.lower().replace("_", "")
    if key not in classes:
        raise ValueError(
            f"MLP: unknown activation {spec!r}; choose one of {sorted(classes)} "
            f"or pass a Module class"
        )
    return classes[key]


class MLP(Sequential):
    """A multi-layer perceptron: ``Linear(sizes[0], sizes[1])``, activation, ..., ``Linear``.

    ``MLP([2, 8, 8, 1], activation="tanh", final_activation="sigmoid")`` builds
    ``Linear(2,8), Tanh, Linear(8,8), Tanh, Linear(8,1), Sigmoid``. The activation goes between
    Linear layers, not after the last one unless ``final_activation`` is given (classification
    heads usually output raw scores; the loss applies the softmax). ``activation=None`` builds
    a purely linear network (which collapses to a single matrix -- a lesson in itself).

    Parameters: sum over layers of ``in*out + out``. ``rng`` seeds every Linear's init.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: ActivationSpec = "relu",
        final_activation: ActivationSpec = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        sizes = list(sizes)
        if len(sizes) < 2 or any(not isinstance(s, (int, np.integer)) or s <= 0 for s in sizes):
            raise ValueError(
                f"MLP: sizes must be at least two positive integers (input, ..., output), "
                f"got {sizes}; e.g. MLP([784, 128, 10])"
            )
        hidden = activation_class(activation) if activation is not None else None
        final = activation_class(final_activation) if final_activation is not None else None
        generator = rng if rng is not None else np.random.default_rng()
        layers: list[Module] = []
        # HINT: one Linear per consecutive pair of sizes (itertools.pairwise), with the hidden
        # HINT: activation after every Linear but the last; the final activation, if any, goes at
        # HINT: the very end
        # BEGIN SOLUTION
        for i, (fan_in, fan_out) in enumerate(pairwise(sizes)):
            layers.append(Linear(int(fan_in), int(fan_out), rng=generator))
            is_last = i == len(sizes) - 2
            if not is_last and hidden is not None:
                layers.append(hidden())
        if final is not None:
            layers.append(final())
        # END SOLUTION
        super().__init__(*layers)
        self.sizes = sizes
