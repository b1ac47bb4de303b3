"""Systems lessons of module 05, as functions that return numbers.

* `mlp_costs`: parameters, bytes and FLOPs of an MLP from its sizes alone -- the cost of a
  dense network is set by its widths: a Linear(in, out) has ``in*out + out`` parameters and
  costs ``2*N*in*out`` FLOPs forward, twice that backward.
* `activation_scale_by_depth`: how the size of the signal changes through a deep network under
  each init scheme -- Kaiming keeps it steady through ReLU layers, a too-small init makes it
  vanish geometrically, a too-large one explodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from tinytorch.layers import Linear, Module
from tinytorch.networks.init import init_model
from tinytorch.networks.sequential import MLP
from tinytorch.tensor import Tensor


def mlp_costs(sizes: Sequence[int], batch_size: int = 1, itemsize: int = 4) -> dict[str, int]:
    """Costs of ``MLP(sizes)`` on a batch, computed from the sizes (no model is built).

    Returns ``parameters`` (sum of ``in*out + out``), ``param_bytes``, ``linear_output_bytes``
    (the Linear layers' outputs for the batch), ``forward_flops`` (``2*N*in*out`` per Linear)
    and ``backward_flops`` (twice the forward: one matmul for dW, one for dx).
    """
    pairs = list(pairwise(sizes))
    parameters = sum(fan_in * fan_out + fan_out for fan_in, fan_out in pairs)
    forward_flops = sum(2 * batch_size * fan_in * fan_out for fan_in, fan_out in pairs)
    return {
        "parameters": parameters,
        "param_bytes": parameters * itemsize,
        "linear_output_bytes": sum(batch_size * fan_out for _, fan_out in pairs) * itemsize,
        "forward_flops": forward_flops,
        "backward_flops": 2 * forward_flops,
    }


def activation_scale_by_depth(
    scheme: str,
    depth: int = 10,
    width: int = 256,
    activation: str | type[Module] = "relu",
    batch_size: int = 512,
    seed: int = 0,
) -> list[float]:
    """Standard deviation of the signal after each hidden layer of a deep ``MLP``.

    Builds ``MLP([width] * (depth + 1), activation)``, initialises it with ``scheme``
    (`init_model`), feeds N(0, 1) inputs and returns ``depth`` stds, one per Linear output.
    """
    rng = np.random.default_rng(seed)
    model = init_model(MLP([width] * (depth + 1), activation, rng=rng), scheme, rng)
    x = Tensor(rng.standard_normal((batch_size, width), dtype=np.float32))
    stds = []
    for layer in model:
        x = layer(x)
        if isinstance(layer, Linear):
            stds.append(float(np.std(x.data)))
    return stds
