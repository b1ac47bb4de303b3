"""TinyTorch module 04: activations, as functions and as Modules with a hand-written backward.

    >>> from tinytorch.activations import Sigmoid, softmax
    >>> from tinytorch.tensor import Tensor
    >>> softmax(Tensor([[1.0, 2.0, 3.0]])).sum(dim=-1)
    Tensor([1.], dtype=float32)
    >>> layer = Sigmoid()
    >>> y = layer(Tensor([0.0, 1e4, -1e4]))  # stable: no overflow
    >>> layer.backward(Tensor([1.0, 1.0, 1.0]))
    Tensor([0.25, 0.  , 0.  ], dtype=float32)

Activations: ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax, SiLU, ELU, SELU,
Softplus, ReLU6, Hardtanh, Hardswish, Hardsigmoid, LogSigmoid, Mish (PyTorch's names). The Op
classes (forward math and its derivative side by side, the one autograd also calls) are in
`tinytorch.activations.ops`; the functions and their in-place variants in `.functional`.
"""

from tinytorch.activations import ops
from tinytorch.activations.__about__ import __version__
from tinytorch.activations.functional import (
    elu,
    elu_,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    leaky_relu,
    leaky_relu_,
    log_softmax,
    logsigmoid,
    mish,
    relu,
    relu6,
    relu_,
    selu,
    selu_,
    sigmoid,
    sigmoid_,
    silu,
    softmax,
    softplus,
    tanh,
    tanh_,
)
from tinytorch.activations.lessons import (
    ActivationCost,
    SaturationReport,
    activation_cost,
    saturation_report,
)
from tinytorch.activations.modules import (
    ELU,
    GELU,
    SELU,
    Activation,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from tinytorch.activations.ops import ACTIVATION_OPS
from tinytorch.tensor.special import erf

__all__ = [
    "ACTIVATION_OPS",
    "ELU",
    "GELU",
    "SELU",
    "Activation",
    "ActivationCost",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "LogSoftmax",
    "Mish",
    "ReLU",
    "ReLU6",
    "SaturationReport",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "__version__",
    "activation_cost",
    "elu",
    "elu_",
    "erf",
    "gelu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "log_softmax",
    "logsigmoid",
    "mish",
    "ops",
    "relu",
    "relu6",
    "relu_",
    "saturation_report",
    "selu",
    "selu_",
    "sigmoid",
    "sigmoid_",
    "silu",
    "softmax",
    "softplus",
    "tanh",
    "tanh_",
]
