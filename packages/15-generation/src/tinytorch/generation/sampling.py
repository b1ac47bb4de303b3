"""Autoregressive generation: pick the next token from the model's logits, append, repeat.

A language model maps token ids ``(B, T)`` to logits ``(B, T, V)``: row ``t`` scores every
possible token *after* position ``t``. Generation feeds the context, keeps the last row
``logits[:, -1, :]``, turns it into a distribution, draws one token per sequence, appends it and
runs the model again on the longer context (cropped to the model's ``block_size``: a learned
position table has no rows past it).

How the next token is chosen (Hugging Face's ``generate`` order: temperature, then top-k, then
top-p):

- **greedy** (``temperature=0``): the arg-max, the first one on ties (``torch.argmax``). No
  randomness, often repetitive.
- **temperature** ``T > 0``: sample from ``softmax(logits / T)``. ``T < 1`` sharpens the
  distribution towards the arg-max, ``T > 1`` flattens it towards uniform.
- **top-k**: keep the ``k`` largest logits of each row, set the rest to ``-inf`` (probability
  0). As in PyTorch's nanoGPT and Hugging Face's ``TopKLogitsWarper``, a logit equal to the
  k-th largest is kept too, so ties at the boundary can keep more than ``k``.
- **top-p** (nucleus): keep the *smallest* set of most probable tokens whose probabilities sum
  to at least ``p`` (Hugging Face's ``TopPLogitsWarper``: a token is removed when the tokens
  more probable than it already reach ``p``; the most probable token is always kept, so
  ``top_p=0`` is greedy and ``top_p=1`` keeps everything).

Randomness comes from one ``np.random.Generator`` (``seed``: an int, a Generator, or None for
fresh entropy): the same seed gives the same text.

Cost per new token without a cache: one forward pass over the whole (cropped) context, ``O(T)``
work per layer for the matmuls and ``O(T^2)`` for attention, recomputing every earlier position
each time. With the KV cache (``use_cache=True``, the default for models that take one, such
as TinyGPT): the keys and values of earlier positions are kept (module 13's `KVCache`), and
each step runs the new token alone, ``O(1)`` matmul work per layer and ``O(T)`` attention.
Module 19 measures it, accounts for its memory and adds an INT8 cache.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from tinytorch.autograd import no_grad
from tinytorch.layers import Module
from tinytorch.tensor import Tensor

__all__ = [
    "apply_temperature",
    "filter_logits",
    "generate",
    "generate_stream",
    "generate_text",
    "next_token_probs",
    "sample_from_probs",
    "sample_next_token",
    "softmax",
    "stream_text",
    "top_k_filter",
    "top_p_filter",
]

Seed = int | np.random.Generator | None


# --------------------------------------------------------------------- checks
def _check_options(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(
            f"generate: temperature must be a finite number >= 0, got {temperature}; 0 is "
            f"greedy (arg-max), 1 samples the model's distribution, 0.8 is a common choice"
        )
    if top_k is not None and (
        not isinstance(top_k, (int, np.integer)) or isinstance(top_k, bool) or top_k < 0
    ):
        raise ValueError(
            f"generate: top_k must be a positive int (or None / 0: no top-k), got {top_k!r}"
        )
    if top_p is not None and not 0.0 <= top_p <= 1.0:
        raise ValueError(
            f"generate: top_p must be in [0, 1] (1 or None: no top-p), got {top_p!r}; 0.9 is "
            f"a common choice"
        )


def _rows(logits: Any, operation: str) -> np.ndarray:
    array = np.asarray(logits.data if isinstance(logits, Tensor) else logits)
    if array.ndim == 0 or array.shape[-1] == 0 or array.dtype.kind != "f":
        raise ValueError(
            f"{operation}: logits must be float scores of shape (..., vocab_size), got shape "
            f"{array.shape} dtype {array.dtype}"
        )
    return array


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# --------------------------------------------------------------------- the distribution
def softmax(logits: Any) -> np.ndarray:
    """``exp(l - max) / sum``, float64, over the last axis; ``-inf`` entries get probability 0.

    A row whose logits are all ``-inf`` has no distribution: ValueError.
    """
    x = _rows(logits, "softmax").astype(np.float64)
    top = x.max(axis=-1, keepdims=True)
    if not np.isfinite(top).all():
        raise ValueError(
            "softmax: a row of logits has no finite entry (all -inf, or NaN/inf), so it has no "
            "distribution; check the model's output and the filters applied to it"
        )
    e = np.exp(x - top)
    return e / e.sum(axis=-1, keepdims=True)


def apply_temperature(logits: Any, temperature: float) -> np.ndarray:
    """``logits / temperature`` as float64 (``temperature > 0``; 0 means greedy elsewhere).

    ``softmax(logits / T)``: T -> 0 concentrates all the mass on the arg-max, T = 1 is the
    model's distribution, T -> inf tends to uniform.
    """
    x = _rows(logits, "apply_temperature").astype(np.float64)
    if not temperature > 0:
        raise ValueError(
            f"apply_temperature: temperature must be > 0, got {temperature} (0 is greedy: "
            f"take the arg-max instead of dividing by it)"
        )
    # HINT: divide the logits by T: T < 1 sharpens the softmax, T > 1 flattens it
    # BEGIN SOLUTION
    return x / temperature
    # END SOLUTION


def top_k_filter(logits: Any, k: int) -> np.ndarray:
    """Keep the ``k`` largest logits of each row (last axis); the others become ``-inf``.

    Shape ``(..., V)`` in and out (a new float array). ``k >= V`` keeps everything. A logit
    equal to the k-th largest is kept (PyTorch's ``logits < topk(logits, k).values[..., -1:]``
    rule), so exactly ``k`` survive when the k-th and (k+1)-th largest differ.
    Cost: one ``np.partition`` per row, O(V) on average (a full sort is O(V log V)).
    """
    x = _rows(logits, "top_k_filter")
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"top_k_filter: k must be a positive int, got {k!r}")
    v = x.shape[-1]
    if k >= v:
        return x.copy()
    # HINT: np.partition(x, v - k, axis=-1) puts the k-th largest value at index v - k of
    # HINT: each row (slice it with [..., v - k : v - k + 1] to keep the axis); every logit
    # HINT: below it becomes -np.inf (np.where)
    # BEGIN SOLUTION
    kth = np.partition(x, v - k, axis=-1)[..., v - k : v - k + 1]
    return np.where(x < kth, -np.inf, x)
    # END SOLUTION


def top_p_filter(logits: Any, p: float) -> np.ndarray:
    """Nucleus filtering: keep the smallest set of most probable tokens whose probabilities
    (``softmax`` of the row) sum to at least ``p``; the others become ``-inf``.

    Hugging Face's ``TopPLogitsWarper`` convention: sort the row by probability, descending; a
    token is removed when the probability of the tokens before it already reaches ``p``. The
    most probable token always stays (``p=0`` is greedy); ``p=1`` keeps every token. Tokens
    of equal probability keep their original order (a stable sort).
    Shape ``(..., V)`` in and out. Cost: a sort per row, O(V log V).
    """
    x = _rows(logits, "top_p_filter")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"top_p_filter: p must be in [0, 1], got {p!r}")
    if p >= 1.0:
        return x.copy()
    # HINT: order = np.argsort(-x, axis=-1, kind="stable"); take the sorted probabilities
    # HINT: (softmax of np.take_along_axis(x, order, -1)); the mass *before* each sorted token
    # HINT: is its cumulative sum minus itself; remove where that mass >= p, but never the
    # HINT: first (most probable) token; scatter the mask back to the original positions with
    # HINT: np.put_along_axis and set the removed logits to -np.inf
    # BEGIN SOLUTION
    order = np.argsort(-x, axis=-1, kind="stable")
    sorted_probs = softmax(np.take_along_axis(x, order, axis=-1))
    before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
    remove_sorted = before >= p
    remove_sorted[..., 0] = False
    remove = np.empty_like(remove_sorted)
    np.put_along_axis(remove, order, remove_sorted, axis=-1)
    return np.where(remove, -np.inf, x)
    # END SOLUTION


def filter_logits(
    logits: Any,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> np.ndarray:
    """The logits sampling draws from: ``/ temperature``, then top-k, then top-p (Hugging
    Face's order), float64, shape of ``logits``. ``temperature`` must be > 0 here; ``top_k``
    None or 0 and ``top_p`` None or 1 switch those filters off."""
    _check_options(temperature, top_k, top_p)
    x = apply_temperature(logits, temperature)
    if top_k:
        x = top_k_filter(x, int(top_k))
    if top_p is not None and top_p < 1.0:
        x = top_p_filter(x, top_p)
    return x


def next_token_probs(
    logits: Any,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> np.ndarray:
    """The distribution the next token is drawn from, ``(..., V)`` float64, rows summing to 1.

    ``temperature=0``: all the mass on the arg-max (the first maximum on ties).
    """
    _check_options(temperature, top_k, top_p)
    x = _rows(logits, "next_token_probs")
    if temperature == 0:
        probs = np.zeros(x.shape, dtype=np.float64)
        np.put_along_axis(probs, x.argmax(axis=-1)[..., None], 1.0, axis=-1)
        return probs
    return softmax(filter_logits(x, temperature, top_k, top_p))


def sample_from_probs(probs: np.ndarray, rng: Seed = None) -> np.ndarray:
    """One index per row of ``probs`` ``(B, V)`` (rows summing to 1), int64 ``(B,)``.

    Inverse-CDF sampling: draw ``u`` uniform in ``[0, total)`` and return the first index whose
    cumulative probability exceeds ``u``. An index of probability 0 is never drawn (its
    cumulative sum equals its predecessor's). One uniform number per row, from ``rng``.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"sample_from_probs: probs must be (B, V), got shape {p.shape}")
    generator = _rng(rng)
    # HINT: cdf = np.cumsum(p, axis=1); u = generator.random((B, 1)) * cdf[:, -1:] (the row's
    # HINT: total, ~1); the index is the number of cdf entries <= u (sum over the row)
    # BEGIN SOLUTION
    cdf = np.cumsum(p, axis=1)
    u = generator.random((p.shape[0], 1)) * cdf[:, -1:]
    index = (cdf <= u).sum(axis=1)
    # END SOLUTION
    return np.minimum(index, p.shape[1] - 1).astype(np.int64)


def sample_next_token(
    logits: Any,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    rng: Seed = None,
) -> np.ndarray:
    """The next token of each row of ``logits`` ``(B, V)``: int64 ``(B,)``.

    Greedy (``temperature=0``, no random number drawn) or a draw from `next_token_probs`.
    """
    _check_options(temperature, top_k, top_p)
    x = _rows(logits, "sample_next_token")
    if x.ndim != 2:
        raise ValueError(f"sample_next_token: logits must be (B, V), got shape {x.shape}")
    if temperature == 0:
        return x.argmax(axis=1).astype(np.int64)
    return sample_from_probs(next_token_probs(x, temperature, top_k, top_p), rng)


# --------------------------------------------------------------------- the loop
def _as_ids(idx: Any) -> np.ndarray:
    array = np.asarray(idx.data if isinstance(idx, Tensor) else idx)
    if array.ndim not in (1, 2) or array.dtype.kind not in "iu" or array.shape[-1] == 0:
        raise ValueError(
            f"generate: idx must be integer token ids of shape (B, T) or (T,) with T >= 1, got "
            f"shape {array.shape} dtype {array.dtype}; encode a prompt with the tokenizer "
            f"(an empty prompt has no context: start from a token such as '\\n')"
        )
    return np.atleast_2d(array).astype(np.int64)


def _block_size(model: Module, block_size: int | None) -> int | None:
    if block_size is not None:
        return int(block_size)
    for owner in (model, getattr(model, "config", None)):
        found = getattr(owner, "block_size", None)
        if isinstance(found, (int, np.integer)):
            return int(found)
    return None


def _last_logits(output: Any, batch: int) -> np.ndarray:
    logits = output[0] if isinstance(output, tuple) else output
    array = np.asarray(logits.data if isinstance(logits, Tensor) else logits)
    if array.ndim != 3 or array.shape[0] != batch:
        raise ValueError(
            f"generate: the model must return logits of shape (B, T, vocab_size) for ids of "
            f"shape (B, T) (B = {batch}), got shape {array.shape}"
        )
    return array[:, -1, :]


def _stop_ids(stop: int | Iterable[int] | None) -> np.ndarray:
    if stop is None:
        return np.empty(0, dtype=np.int64)
    ids = [stop] if isinstance(stop, (int, np.integer)) else list(stop)
    if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in ids):
        raise TypeError(f"generate: stop must be a token id or a list of ids, got {stop!r}")
    return np.asarray(ids, dtype=np.int64)


def _as_mask(attention_mask: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """The attention mask as bool (B, T), None when absent or all ones; left padding only."""
    if attention_mask is None:
        return None
    mask = np.asarray(getattr(attention_mask, "data", attention_mask))
    mask = np.atleast_2d(mask).astype(bool)
    if mask.shape != shape:
        raise ValueError(
            f"generate: attention_mask must have idx's shape {shape} (1 = token, 0 = padding), "
            f"got {mask.shape}"
        )
    if not mask[:, -1].all() or (np.diff(mask.astype(np.int8), axis=1) < 0).any():
        raise ValueError(
            "generate: pad prompts of different lengths on the left (attention_mask rows of 0s "
            "then 1s, e.g. the tokenizer's padding_side='left'): the next token continues the "
            "last position of every row"
        )
    return None if mask.all() else mask


def _make_cache(
    model: Module, batch: int, block: int | None, use_cache: bool, kv_cache: Any
) -> Any:
    """The cache to fill: ``kv_cache``, else the model's own (``model.make_kv_cache``), else
    None (the model takes no cache: full forwards)."""
    if kv_cache is not None:
        return kv_cache
    make = getattr(model, "make_kv_cache", None)
    if not use_cache or make is None:
        return None
    longest = getattr(model, "block_size", None)  # a cache longer than the model's block is waste
    return make(batch, block if longest is None or block is None else min(block, longest))


def generate_stream(
    model: Module,
    idx: Any,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: Seed = None,
    stop: int | Iterable[int] | None = None,
    block_size: int | None = None,
    use_cache: bool = True,
    attention_mask: Any = None,
    kv_cache: Any = None,
) -> Iterator[np.ndarray]:
    """Yield the new tokens one step at a time: an int64 array ``(B,)`` per step.

    Same arguments as `generate` (which is this, collected). The model runs in eval mode and
    without recording a graph; its modes are put back when the stream ends or is closed. A
    sequence that has produced a ``stop`` id is finished: later steps repeat that id for it,
    and the stream ends when every sequence is finished (or after ``max_new_tokens``).
    """
    _check_options(temperature, top_k, top_p)
    if max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
    ids = _as_ids(idx)
    mask = _as_mask(attention_mask, ids.shape)
    generator = _rng(seed)
    block = _block_size(model, block_size)
    stops = _stop_ids(stop)
    finished = np.zeros(ids.shape[0], dtype=bool)
    ended_with = np.zeros(ids.shape[0], dtype=np.int64)
    cache = _make_cache(model, ids.shape[0], block, use_cache, kv_cache)
    window = 0
    if cache is not None:
        window = cache.get_max_cache_shape()
        window = window if block is None else min(block, window)
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        for step in range(max_new_tokens):
            with no_grad():
                if cache is None:
                    # HINT: the model sees at most `block` positions (None: all): the last ones
                    # BEGIN SOLUTION
                    context = ids if block is None else ids[:, -block:]
                    # END SOLUTION
                    options = {}
                    if mask is not None:
                        options["attention_mask"] = mask[:, -context.shape[1] :]
                    output = model(Tensor(context), **options)
                else:
                    output = _cached_step(model, cache, ids, mask, step == 0, window)
            logits = _last_logits(output, ids.shape[0])
            token = sample_next_token(logits, temperature, top_k, top_p, generator)
            token = np.where(finished, ended_with, token)
            newly = ~finished & np.isin(token, stops)
            ended_with = np.where(newly, token, ended_with)
            finished |= newly
            ids = np.concatenate([ids, token[:, None]], axis=1)
            if mask is not None:
                mask = np.concatenate([mask, np.ones((mask.shape[0], 1), dtype=bool)], axis=1)
            yield token
            if finished.all():
                return
    finally:
        for module, mode in modes:
            module.training = mode


def _cached_step(
    model: Module, cache: Any, ids: np.ndarray, mask: np.ndarray | None, first: bool, window: int
) -> Any:
    """The logits after ``ids`` with a KV cache: the last token alone when the cache holds
    everything before it; else (the prompt, or past the window) the cache refilled from the
    last ``window`` tokens, the very context the uncached path would see."""
    held = cache.get_seq_length()
    options: dict[str, Any] = {"kv_cache": cache}
    if not first and held < window:
        if mask is not None:
            options["attention_mask"] = mask[:, -(held + 1) :]
        return model(Tensor(ids[:, -1:]), **options)
    cache.reset()
    context = ids[:, -window:]
    if mask is not None:
        options["attention_mask"] = mask[:, -context.shape[1] :]
    return model(Tensor(context), **options)


def generate(
    model: Module,
    idx: Any,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: Seed = None,
    stop: int | Iterable[int] | None = None,
    block_size: int | None = None,
    use_cache: bool = True,
    attention_mask: Any = None,
    kv_cache: Any = None,
) -> Any:
    """Extend the token ids ``idx`` by up to ``max_new_tokens`` tokens, one at a time.

    ``idx``: int ids ``(B, T)`` (or ``(T,)``), as an array, a list or a Tensor; the result is
    ``idx`` with the new tokens appended, ``(B, T + n)``, of the same kind (a Tensor for a
    Tensor, else an int64 array; 1-D for 1-D input). The context the model sees is cropped to
    its last ``block_size`` tokens (``block_size``, else ``model.block_size`` or
    ``model.config.block_size``; without any, the whole context).

    ``temperature`` 0: greedy; else draws from ``softmax(logits / temperature)`` after the
    ``top_k`` and ``top_p`` filters (module docstring). ``seed``: an int, an
    ``np.random.Generator`` or None (fresh entropy); the same seed gives the same tokens.
    ``stop``: a token id or a list of ids; a sequence ends after emitting one (it is kept),
    generation ends when all have (finished sequences are padded with their stop id).
    Runs under ``no_grad`` and in eval mode (dropout off); restores the model's modes.

    ``use_cache`` (default True): for a model with ``make_kv_cache`` (TinyGPT), the prompt
    runs once through the model (the prefill, filling module 13's `KVCache`), then each step
    runs only the new token (``model(token, kv_cache=cache)``). The logits are those of the
    full forward (to float rounding), so greedy decoding gives the same tokens. Past
    ``block_size`` the context slides: each step refills the cache from the last
    ``block_size`` tokens, exactly the context the uncached path sees (and no faster).
    ``use_cache=False``, or a model without ``make_kv_cache``: a full forward over the
    (cropped) context every step. ``kv_cache``: a cache to fill instead of a new one (e.g.
    module 19's ``Int8KVCache``; its ``max_len`` bounds the window).

    ``attention_mask`` (B, T) (1 = token, 0 = padding): prompts of different lengths, padded
    on the left; each row gives what it gives alone (greedy), its padding kept in the output.

    Cost: with the cache, one forward over the prompt, then per token ``O(n_layer * C^2)``
    for the projections and ``O(n_layer * t * C)`` for attention at position t; without,
    ``n`` forward passes over up to ``block_size`` positions each.
    """
    new = list(
        generate_stream(
            model,
            idx,
            max_new_tokens,
            temperature,
            top_k,
            top_p,
            seed,
            stop,
            block_size,
            use_cache,
            attention_mask,
            kv_cache,
        )
    )
    ids = _as_ids(idx)
    out = np.concatenate([ids, np.stack(new, axis=1)], axis=1) if new else ids
    if np.ndim(idx.data if isinstance(idx, Tensor) else idx) == 1:
        out = out[0]
    return Tensor(out) if isinstance(idx, Tensor) else out


# --------------------------------------------------------------------- text in, text out
def _encode_prompt(tokenizer: Any, prompt: str) -> list[int]:
    ids = list(tokenizer.encode(prompt))
    if not ids:
        raise ValueError(
            "generate_text: the prompt encodes to no tokens, so the model has no context to "
            "continue; give a prompt of at least one character (e.g. '\\n')"
        )
    return ids


def stream_text(
    model: Module,
    tokenizer: Any,
    prompt: str,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: Seed = None,
    stop: int | Iterable[int] | None = None,
    block_size: int | None = None,
    use_cache: bool = True,
) -> Iterator[str]:
    """Yield the continuation of ``prompt`` as text, piece by piece, as it is generated.

    ``tokenizer``: anything with ``encode(str) -> ids`` and ``decode(ids) -> str`` (module 11's
    `CharTokenizer` or `BPETokenizer`). With byte-level BPE one character can span several
    tokens: pieces come from an incremental UTF-8 decoder (``decode_bytes``), so a character
    is printed once its last byte has arrived, never as a replacement character midway.
    ``use_cache``: as `generate` (the KV cache, on by default).
    """
    ids = _encode_prompt(tokenizer, prompt)
    decode_bytes = getattr(tokenizer, "decode_bytes", None)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    stream = generate_stream(
        model, [ids], max_new_tokens, temperature, top_k, top_p, seed, stop, block_size, use_cache
    )
    for token in stream:
        if decode_bytes is not None:
            piece = decoder.decode(decode_bytes([int(token[0])]))
        else:
            piece = tokenizer.decode([int(token[0])])
        if piece:
            yield piece
    if decode_bytes is not None:
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail


def generate_text(
    model: Module,
    tokenizer: Any,
    prompt: str,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: Seed = None,
    stop: int | Iterable[int] | None = None,
    block_size: int | None = None,
    use_cache: bool = True,
) -> str:
    """``prompt`` followed by its generated continuation (`stream_text`, joined)."""
    pieces = stream_text(
        model,
        tokenizer,
        prompt,
        max_new_tokens,
        temperature,
        top_k,
        top_p,
        seed,
        stop,
        block_size,
        use_cache,
    )
    return prompt + "".join(pieces)
