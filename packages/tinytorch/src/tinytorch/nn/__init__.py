"""``tinytorch.nn``: PyTorch's ``torch.nn`` layout of the TinyTorch layers and losses.

    import tinytorch.nn as nn
    import tinytorch.nn.functional as F
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    loss = F.cross_entropy(model(x), y)

Each name is the very object of the module package that owns it (``nn.Linear is
tinytorch.layers.Linear``), imported on first use (`tinytorch._lazy`).
"""

from __future__ import annotations

from tinytorch._lazy import lazy_exports

_LAYERS = "tinytorch.layers"
_ACTIVATIONS = "tinytorch.activations"
_SPATIAL = "tinytorch.spatial"
_TRAINING = "tinytorch.training"

EXPORTS: dict[str, str] = {
    # module 03
    "Module": _LAYERS,
    "Parameter": _LAYERS,
    "Linear": _LAYERS,
    "Dropout": _LAYERS,
    # module 04
    "ReLU": _ACTIVATIONS,
    "LeakyReLU": _ACTIVATIONS,
    "Sigmoid": _ACTIVATIONS,
    "Tanh": _ACTIVATIONS,
    "GELU": _ACTIVATIONS,
    "Softmax": _ACTIVATIONS,
    "LogSoftmax": _ACTIVATIONS,
    "SiLU": _ACTIVATIONS,
    "ELU": _ACTIVATIONS,
    "SELU": _ACTIVATIONS,
    "Softplus": _ACTIVATIONS,
    "ReLU6": _ACTIVATIONS,
    "Hardtanh": _ACTIVATIONS,
    "Hardswish": _ACTIVATIONS,
    "Hardsigmoid": _ACTIVATIONS,
    "LogSigmoid": _ACTIVATIONS,
    "Mish": _ACTIVATIONS,
    # module 05
    "Sequential": "tinytorch.networks",
    # module 07
    "Conv1d": _SPATIAL,
    "Conv2d": _SPATIAL,
    "ConvTranspose2d": _SPATIAL,
    "MaxPool2d": _SPATIAL,
    "AvgPool2d": _SPATIAL,
    "BatchNorm1d": _SPATIAL,
    "BatchNorm2d": _SPATIAL,
    "GroupNorm": _SPATIAL,
    "Flatten": _SPATIAL,
    "GlobalAvgPool2d": _SPATIAL,
    # modules 12-14
    "Embedding": "tinytorch.embeddings",
    "MultiheadAttention": "tinytorch.attention",
    "LayerNorm": "tinytorch.transformers",
    "RMSNorm": "tinytorch.transformers",
    # module 17 (torch.nn.Identity: what kernels.fuse leaves where a fused ReLU was)
    "Identity": "tinytorch.kernels",
    # module 10
    "MSELoss": _TRAINING,
    "CrossEntropyLoss": _TRAINING,
    "NLLLoss": _TRAINING,
    "BCELoss": _TRAINING,
    "BCEWithLogitsLoss": _TRAINING,
}

__getattr__, __dir__ = lazy_exports(
    __name__, EXPORTS, globals(), submodules=("functional", "init", "utils")
)
