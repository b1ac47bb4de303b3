"""The KV cache's lessons as code: exactness, the INT8 cache's error, time per token, and what
one decode step runs.

- `step_logit_gaps`: prefill a prompt, then feed the rest of a sequence one token at a time
  through the cache; the largest difference from the full forward's logits at each step. The
  cache is exact, so the gaps are float rounding (~1e-7 in float32), for any positional
  encoding, prompt length and padding; an INT8 cache gives its quantization error instead.
- `int8_cache_error`: that gap for `Int8KVCache`, how often greedy decoding still picks the
  same tokens, and the bytes each cache allocates.
- `token_times`: seconds per generated token at each position, with and without the cache.
  Without, step t runs a forward over t positions (time grows with t); with, one token (flat).
- `decode_step_ops`: the ops one decode step runs (module 16's profiler): about 8 per layer,
  none recorded for backward under ``no_grad``.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np

from tinytorch.autograd import no_grad
from tinytorch.generation import generate, generate_stream
from tinytorch.kvcache.memory import allocated_bytes
from tinytorch.kvcache.quantized import Int8KVCache
from tinytorch.profiling import profile
from tinytorch.tensor import Tensor


def _ids(idx: Any) -> np.ndarray:
    return np.atleast_2d(np.asarray(getattr(idx, "data", idx))).astype(np.int64)


def step_logit_gaps(
    model: Any,
    idx: Any,
    prompt_length: int,
    attention_mask: Any = None,
    kv_cache: Any = None,
) -> np.ndarray:
    """Max |cached logits - full-forward logits| of each cached forward: the prompt
    ``idx[:, :prompt_length]`` (one forward, all its positions), then each later token of
    ``idx`` (B, T) alone. Returns (T - prompt_length + 1,) float64.

    ``attention_mask`` (B, T): left-padded rows (positions where it is 0 are skipped in the
    comparison). ``kv_cache``: the cache to fill (default ``model.make_kv_cache(B, T)``).
    """
    ids = _ids(idx)
    batch, length = ids.shape
    if not 1 <= prompt_length <= length:
        raise ValueError(
            f"step_logit_gaps: prompt_length must be in 1..{length} (the sequence's length), "
            f"got {prompt_length}"
        )
    mask = None if attention_mask is None else np.asarray(attention_mask).astype(bool)
    cache = kv_cache if kv_cache is not None else model.make_kv_cache(batch, length)
    cache.reset()
    options = {} if mask is None else {"attention_mask": mask}
    gaps = []
    with no_grad():
        full = model(Tensor(ids), **options).data
        bounds = [(0, prompt_length), *((t, t + 1) for t in range(prompt_length, length))]
        for start, end in bounds:
            if mask is not None:
                options["attention_mask"] = mask[:, :end]
            step = model(Tensor(ids[:, start:end]), kv_cache=cache, **options).data
            gap = np.abs(step.astype(np.float64) - full[:, start:end])
            if mask is not None:
                gap = gap[mask[:, start:end]]
            gaps.append(float(gap.max()) if gap.size else 0.0)
    return np.asarray(gaps)


def int8_cache_error(
    model: Any, idx: Any, prompt_length: int, new_tokens: int = 32
) -> dict[str, Any]:
    """The INT8 cache against the float one, on ``idx`` (B, T):

    ``max_logit_error`` / ``float_logit_error``: the largest `step_logit_gaps` of each cache
    against the full forward; ``logit_scale``: the largest |logit| (for scale);
    ``greedy_agreement``: the fraction of ``new_tokens`` greedy tokens (from the prompt) the
    two caches agree on; ``float_bytes`` / ``int8_bytes``: what each cache allocates
    (`allocated_bytes`) for B sequences of the model's ``block_size``.
    """
    ids = _ids(idx)
    batch = ids.shape[0]
    float_cache = model.make_kv_cache(batch)
    int8_cache = model.make_kv_cache(batch, cache_class=Int8KVCache)
    with no_grad():
        logit_scale = float(np.abs(model(Tensor(ids)).data).max())
    prompt = ids[:, :prompt_length]
    tokens = generate(model, prompt, new_tokens, temperature=0, kv_cache=float_cache)
    int8_tokens = generate(model, prompt, new_tokens, temperature=0, kv_cache=int8_cache)
    return {
        "max_logit_error": float(
            step_logit_gaps(model, ids, prompt_length, kv_cache=int8_cache).max()
        ),
        "float_logit_error": float(
            step_logit_gaps(model, ids, prompt_length, kv_cache=float_cache).max()
        ),
        "logit_scale": logit_scale,
        "greedy_agreement": float(
            (tokens[:, prompt_length:] == int8_tokens[:, prompt_length:]).mean()
        ),
        "float_bytes": allocated_bytes(float_cache),
        "int8_bytes": allocated_bytes(int8_cache),
    }


def token_times(
    model: Any, idx: Any, max_new_tokens: int, use_cache: bool = True, kv_cache: Any = None
) -> np.ndarray:
    """Seconds each of ``max_new_tokens`` greedy steps took (``perf_counter`` between the
    tokens `generate_stream` yields), (max_new_tokens,). Step 0 includes the prompt (the
    prefill). With the cache the later steps are flat in the position; without, each runs a
    forward over the whole context and grows with it."""
    times = []
    stream = generate_stream(
        model, idx, max_new_tokens, temperature=0, use_cache=use_cache, kv_cache=kv_cache
    )
    start = time.perf_counter()
    for _ in stream:
        now = time.perf_counter()
        times.append(now - start)
        start = now
    return np.asarray(times)


def decode_step_ops(model: Any, batch_size: int = 1, prompt_length: int = 4) -> dict[str, Any]:
    """What one cached decode step (one token per sequence through every layer) runs, under
    ``no_grad``: ``ops`` (op name -> calls, from module 16's profiler), ``total`` (ops in
    all), ``per_layer`` (the ops inside the blocks per layer: the token embedding, the final
    norm, the head and, unless rotary, the positions run outside them) and ``recorded``
    (whether the output is part of a graph: False, nothing is kept for a backward)."""
    ids = np.zeros((batch_size, prompt_length + 1), dtype=np.int64)
    cache = model.make_kv_cache(batch_size, prompt_length + 1)
    with no_grad():
        model(Tensor(ids[:, :prompt_length]), kv_cache=cache)
        with profile() as prof:
            out = model(Tensor(ids[:, prompt_length:]), kv_cache=cache)
    ops = Counter({stats.name: stats.calls for stats in prof.key_averages()})
    total = sum(ops.values())
    outside = 3 + (getattr(model, "wpe", None) is not None)
    return {
        "ops": dict(ops),
        "total": total,
        "per_layer": (total - outside) / model.n_layer,
        "recorded": bool(out.requires_grad),
    }
