"""TinyTorch module 05: networks -- `Sequential`, `MLP`, init schemes, summaries, save/load.

>>> import numpy as np
>>> from tinytorch.networks import MLP, summary
>>> net = MLP([2, 8, 1], activation="tanh", rng=np.random.default_rng(0))
>>> [name for name, _ in net.named_parameters()]
['0.weight', '0.bias', '2.weight', '2.bias']
>>> [row.output_shape for row in summary(net, (5, 2))]
[(5, 8), (5, 8), (5, 1)]
"""

from tinytorch.networks import init
from tinytorch.networks.__about__ import __version__
from tinytorch.networks.init import (
    calculate_gain,
    constant_,
    fan_in_and_fan_out,
    init_model,
    kaiming_normal_,
    kaiming_uniform_,
    normal_,
    ones_,
    uniform_,
    xavier_normal_,
    xavier_uniform_,
    zeros_,
)
from tinytorch.networks.lessons import activation_scale_by_depth, mlp_costs
from tinytorch.networks.sequential import MLP, Sequential, activation_class
from tinytorch.networks.serialization import (
    StateDictMismatchError,
    load,
    load_pretrained,
    read_state,
    save,
)
from tinytorch.networks.summary import (
    LayerSummary,
    print_summary,
    summary,
    summary_table,
    summary_totals,
)
from tinytorch.networks.training import (
    XORResult,
    binary_accuracy,
    mse_loss,
    mse_loss_grad,
    sgd_step,
    train_manual,
    train_xor,
    xor_data,
    xor_model,
)

__all__ = [
    "MLP",
    "LayerSummary",
    "Sequential",
    "StateDictMismatchError",
    "XORResult",
    "__version__",
    "activation_class",
    "activation_scale_by_depth",
    "binary_accuracy",
    "calculate_gain",
    "constant_",
    "fan_in_and_fan_out",
    "init",
    "init_model",
    "kaiming_normal_",
    "kaiming_uniform_",
    "load",
    "load_pretrained",
    "mlp_costs",
    "mse_loss",
    "mse_loss_grad",
    "normal_",
    "ones_",
    "print_summary",
    "read_state",
    "save",
    "sgd_step",
    "summary",
    "summary_table",
    "summary_totals",
    "train_manual",
    "train_xor",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "xor_data",
    "xor_model",
    "zeros_",
]
