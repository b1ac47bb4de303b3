"""TinyTorch module 15: generation, and training the language model that generates.

>>> import numpy as np
>>> from tinytorch.generation import next_token_probs, top_k_filter, top_p_filter
>>> logits = np.log(np.array([[0.5, 0.25, 0.125, 0.125]]))
>>> top_k_filter(logits, 2)
array([[-0.69314718, -1.38629436,        -inf,        -inf]])
>>> top_p_filter(logits, 0.7).round(3)  # 0.5 + 0.25 >= 0.7: the nucleus is two tokens
array([[-0.693, -1.386,   -inf,   -inf]])
>>> next_token_probs(logits, temperature=0).tolist()  # greedy
[[1.0, 0.0, 0.0, 0.0]]

``generate(model, idx, max_new_tokens, temperature, top_k, top_p, seed, stop)`` runs any model
mapping ids ``(B, T)`` to logits ``(B, T, V)``; ``train_language_model`` trains one with module
10's Trainer; ``python -m tinytorch.generation train|sample`` does both from the shell.
"""

from tinytorch.generation.__about__ import __version__
from tinytorch.generation.data import (
    RandomWindows,
    StridedWindows,
    split_text,
    split_tokens,
    windows,
)
from tinytorch.generation.lessons import positions_processed, temperature_entropy
from tinytorch.generation.lm import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    GPTConfig,
    LanguageModel,
    LMTrainer,
    TrainConfig,
    bits_per_character,
    build_model,
    generation_meta,
    lm_loss,
    load_language_model,
    save_language_model,
    tokenizer_from_json,
    tokenizer_to_json,
    train_language_model,
    warmup_cosine,
    weight_decay_groups,
)
from tinytorch.generation.sampling import (
    apply_temperature,
    filter_logits,
    generate,
    generate_stream,
    generate_text,
    next_token_probs,
    sample_from_probs,
    sample_next_token,
    softmax,
    stream_text,
    top_k_filter,
    top_p_filter,
)

__all__ = [
    "BEST_CHECKPOINT",
    "LAST_CHECKPOINT",
    "GPTConfig",
    "LMTrainer",
    "LanguageModel",
    "RandomWindows",
    "StridedWindows",
    "TrainConfig",
    "__version__",
    "apply_temperature",
    "bits_per_character",
    "build_model",
    "filter_logits",
    "generate",
    "generate_stream",
    "generate_text",
    "generation_meta",
    "lm_loss",
    "load_language_model",
    "next_token_probs",
    "positions_processed",
    "sample_from_probs",
    "sample_next_token",
    "save_language_model",
    "softmax",
    "split_text",
    "split_tokens",
    "stream_text",
    "temperature_entropy",
    "tokenizer_from_json",
    "tokenizer_to_json",
    "top_k_filter",
    "top_p_filter",
    "train_language_model",
    "warmup_cosine",
    "weight_decay_groups",
    "windows",
]
