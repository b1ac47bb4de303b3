"""``tinytorch.nn.functional``: PyTorch's ``torch.nn.functional`` layout (``import ... as F``).

Each name is the very function of the module package that owns it, imported on first use.
"""

from __future__ import annotations

from tinytorch._lazy import lazy_exports

_TENSOR = "tinytorch.tensor"
_LAYERS = "tinytorch.layers"
_ACTIVATIONS = "tinytorch.activations"
_SPATIAL = "tinytorch.spatial"
_TRAINING = "tinytorch.training"

EXPORTS: dict[str, str] = {
    "pad": _TENSOR,
    "one_hot": _TENSOR,
    "linear": _LAYERS,
    "dropout": _LAYERS,
    "relu": _ACTIVATIONS,
    "relu_": _ACTIVATIONS,
    "leaky_relu": _ACTIVATIONS,
    "sigmoid": _ACTIVATIONS,
    "tanh": _ACTIVATIONS,
    "gelu": _ACTIVATIONS,
    "softmax": _ACTIVATIONS,
    "log_softmax": _ACTIVATIONS,
    "silu": _ACTIVATIONS,
    "elu": _ACTIVATIONS,
    "selu": _ACTIVATIONS,
    "softplus": _ACTIVATIONS,
    "relu6": _ACTIVATIONS,
    "hardtanh": _ACTIVATIONS,
    "hardswish": _ACTIVATIONS,
    "hardsigmoid": _ACTIVATIONS,
    "logsigmoid": _ACTIVATIONS,
    "mish": _ACTIVATIONS,
    "conv1d": _SPATIAL,
    "conv2d": _SPATIAL,
    "conv_transpose2d": _SPATIAL,
    "max_pool2d": _SPATIAL,
    "avg_pool2d": _SPATIAL,
    "batch_norm": _SPATIAL,
    "group_norm": _SPATIAL,
    "embedding": "tinytorch.embeddings",
    "scaled_dot_product_attention": "tinytorch.attention",
    "layer_norm": "tinytorch.transformers",
    "rms_norm": "tinytorch.transformers",
    "mse_loss": _TRAINING,
    "cross_entropy": _TRAINING,
    "nll_loss": _TRAINING,
    "binary_cross_entropy": _TRAINING,
    "binary_cross_entropy_with_logits": _TRAINING,
}

__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, globals())
