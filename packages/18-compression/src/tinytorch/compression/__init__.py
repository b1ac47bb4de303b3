"""TinyTorch module 18: compression -- pruning, quantization with real integer storage, and
knowledge distillation.

>>> import numpy as np
>>> from tinytorch.compression import quantize_dynamic, state_bytes
>>> from tinytorch.networks import MLP
>>> net = MLP([64, 32, 10], rng=np.random.default_rng(0))
>>> small = quantize_dynamic(net)
>>> small[0].weight.dtype, state_bytes(net), state_bytes(small)
(dtype('int8'), 9640, 2704)
"""

from tinytorch.compression.__about__ import __version__
from tinytorch.compression.distillation import (
    DistillationLoss,
    DistillationTrainer,
    SoftTargetKLOp,
    distillation_loss,
    soft_target_kl,
)
from tinytorch.compression.lessons import (
    bit_width_curve,
    file_bytes,
    layer_flops,
    pruning_curve,
    state_bytes,
    total_flops,
)
from tinytorch.compression.pruning import (
    ChannelPlan,
    MaskedOptimizer,
    SparsityRow,
    apply_masks,
    channel_importance,
    global_unstructured,
    is_pruned,
    l1_unstructured,
    magnitude_mask,
    mask_channels,
    plan_channel_pruning,
    prune_channels,
    recalibrate_batchnorm,
    remove,
    shrink,
    sparse_bytes,
    sparsity_report,
)
from tinytorch.compression.quantization import (
    MinMaxObserver,
    Observed,
    PerChannelMinMaxObserver,
    QuantizedConv2d,
    QuantizedConv2dOp,
    QuantizedLinear,
    QuantizedLinearOp,
    calculate_qparams,
    convert,
    dequantize,
    evaluate_logits,
    fuse_conv_bn,
    integer_matmul,
    prepare,
    quant_range,
    quantize_dynamic,
    quantize_per_channel,
    quantize_per_tensor,
    quantize_static,
    quantize_weight_only,
)

__all__ = [
    "ChannelPlan",
    "DistillationLoss",
    "DistillationTrainer",
    "MaskedOptimizer",
    "MinMaxObserver",
    "Observed",
    "PerChannelMinMaxObserver",
    "QuantizedConv2d",
    "QuantizedConv2dOp",
    "QuantizedLinear",
    "QuantizedLinearOp",
    "SoftTargetKLOp",
    "SparsityRow",
    "__version__",
    "apply_masks",
    "bit_width_curve",
    "calculate_qparams",
    "channel_importance",
    "convert",
    "dequantize",
    "distillation_loss",
    "evaluate_logits",
    "file_bytes",
    "fuse_conv_bn",
    "global_unstructured",
    "integer_matmul",
    "is_pruned",
    "l1_unstructured",
    "layer_flops",
    "magnitude_mask",
    "mask_channels",
    "plan_channel_pruning",
    "prepare",
    "prune_channels",
    "pruning_curve",
    "quant_range",
    "quantize_dynamic",
    "quantize_per_channel",
    "quantize_per_tensor",
    "quantize_static",
    "quantize_weight_only",
    "recalibrate_batchnorm",
    "remove",
    "shrink",
    "soft_target_kl",
    "sparse_bytes",
    "sparsity_report",
    "state_bytes",
    "total_flops",
]
