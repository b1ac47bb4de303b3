"""TinyTorch module 19: the KV cache -- generation that runs one token per step, exactly.

    >>> import numpy as np
    >>> from tinytorch.generation import generate
    >>> from tinytorch.kvcache import Int8KVCache, allocated_bytes, kv_cache_bytes
    >>> from tinytorch.transformers import TinyGPT
    >>> model = TinyGPT(65, 32, n_layer=2, n_head=2, n_embd=32, rng=np.random.default_rng(0))
    >>> idx = np.zeros((1, 4), dtype=np.int64)
    >>> fast = generate(model, idx, 20, temperature=0)  # the KV cache: on by default
    >>> bool((fast == generate(model, idx, 20, temperature=0, use_cache=False)).all())
    True
    >>> cache = model.make_kv_cache(1)  # module 13's preallocated KVCache
    >>> allocated_bytes(cache) == kv_cache_bytes(2, 1, 2, 32, 16, itemsize=4)
    True
    >>> int8 = model.make_kv_cache(1, cache_class=Int8KVCache)
    >>> round(allocated_bytes(cache) / allocated_bytes(int8), 2)  # 4 / (1 + 4/16)
    3.2

Where each piece lives: the cache the model's forward takes is module 13's `KVCache`
(``tinytorch.attention``), the cached attention step module 13's ``CachedSelfAttentionOp``,
positions and padding in TinyGPT's forward (module 14), ``generate(use_cache=True)`` in
module 15. This module adds the INT8 cache, the memory accounting and the measurements.
"""

from tinytorch.attention import KVCache
from tinytorch.kvcache.__about__ import __version__
from tinytorch.kvcache.lessons import (
    decode_step_ops,
    int8_cache_error,
    step_logit_gaps,
    token_times,
)
from tinytorch.kvcache.memory import (
    allocated_bytes,
    cache_arrays,
    kv_cache_bytes,
    model_cache_bytes,
)
from tinytorch.kvcache.quantized import Int8KVCache, dequantize_int8, quantize_int8

__all__ = [
    "Int8KVCache",
    "KVCache",
    "__version__",
    "allocated_bytes",
    "cache_arrays",
    "decode_step_ops",
    "dequantize_int8",
    "int8_cache_error",
    "kv_cache_bytes",
    "model_cache_bytes",
    "quantize_int8",
    "step_logit_gaps",
    "token_times",
]
