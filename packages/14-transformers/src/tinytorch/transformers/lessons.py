"""Systems lessons of module 14, as functions that return numbers.

- Parameters: a GPT layer holds 12 C^2 weights (QKV 3C^2, output projection C^2, MLP 8C^2)
  plus 13C biases and norm parameters; the token table V*C, the position table T*C
  (`gpt_num_parameters`). TinyGPT (4 layers, C = 128, V = 65, T = 64) has 0.81 M parameters;
  GPT-2 small (12, 768, 50,257, 1,024) 124 M, of which 38.6 M are the (tied) token table.
- Compute: a forward pass costs about 2 FLOPs per parameter per token (each weight is one
  multiply-add), plus attention's 4*T*C per layer; training 3x that (the backward is two
  matmuls per forward matmul): the "6N" rule (`gpt_flops_per_token`).
- Memory: what the backward needs is kept from the forward, per layer
  ``16*B*T*C + B*H*T^2`` numbers in TinyTorch's fused implementation (x_hat of two
  LayerNorms, their outputs, Q/K/V, the attention output, the MLP's GELU output and slope,
  and the attention weights) (`gpt_activation_memory`), against the model's parameters:
  TinyGPT at batch 32 keeps 18.9 MB per layer (76 MB for its 4 layers) against 3.2 MB of
  weights. `saved_activation_bytes`
  measures it on a real graph; a test checks the formula against it exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd import Node
from tinytorch.tensor import Tensor


def gpt_num_parameters(
    vocab_size: int,
    block_size: int,
    n_layer: int,
    n_embd: int,
    bias: bool = True,
    tie_weights: bool = True,
) -> dict[str, int]:
    """TinyGPT's parameter count by part: ``wte`` (V*C), ``wpe`` (T*C), ``per_layer``
    (12C^2 weights + 9C Linear biases + 2 LayerNorms), ``layers``, ``ln_f``, ``lm_head``
    (V*C, or 0 when tied to ``wte``), ``total`` and ``non_embedding`` (total minus ``wpe``:
    nanoGPT's ``get_num_params()``, which keeps the tied table because the head uses it)."""
    c = n_embd
    norm = 2 * c if bias else c
    # HINT: attention: c_attn (3C x C) and c_proj (C x C); MLP: c_fc (4C x C), c_proj (C x 4C);
    # HINT: with bias, their biases 3C + C + 4C + C; two LayerNorms
    # BEGIN SOLUTION
    weights = 3 * c * c + c * c + 4 * c * c + 4 * c * c
    biases = 3 * c + c + 4 * c + c if bias else 0
    per_layer = weights + biases + 2 * norm
    # END SOLUTION
    parts = {
        "wte": vocab_size * c,
        "wpe": block_size * c,
        "per_layer": per_layer,
        "layers": n_layer * per_layer,
        "ln_f": norm,
        "lm_head": 0 if tie_weights else vocab_size * c,
    }
    total = parts["wte"] + parts["wpe"] + parts["layers"] + parts["ln_f"] + parts["lm_head"]
    return {**parts, "total": total, "non_embedding": total - parts["wpe"]}


def gpt_flops_per_token(
    n_layer: int, n_embd: int, seq_len: int, vocab_size: int
) -> dict[str, float]:
    """Matmul FLOPs per token of a TinyGPT over sequences of ``seq_len`` tokens.

    ``forward`` = 2 * N + 4 * n_layer * T * C, with N = 12 * n_layer * C^2 + C * V the weights
    a token is multiplied by (``matmul_parameters``; the embeddings are lookups) and 4TC per
    layer the attention scores and weighted sum (the full T x T matrix, as computed);
    ``training`` = 3 * forward (backward: dx and dW, two matmuls per forward one);
    ``six_n`` = 6 * N, the usual estimate, which leaves attention out; ``attention_share``
    of the forward.
    """
    c, t = float(n_embd), float(seq_len)
    # HINT: per layer 12 C^2 weights multiply each token (qkv 3C^2, proj C^2, MLP 8C^2), plus
    # HINT: the C x V head; each weight costs 2 FLOPs per token; attention adds 4TC per layer
    # BEGIN SOLUTION
    matmul_parameters = 12.0 * n_layer * c * c + c * vocab_size
    attention = 4.0 * n_layer * t * c
    forward = 2.0 * matmul_parameters + attention
    # END SOLUTION
    return {
        "matmul_parameters": matmul_parameters,
        "forward": forward,
        "training": 3.0 * forward,
        "six_n": 6.0 * matmul_parameters,
        "attention_share": attention / forward,
    }


def gpt_activation_memory(
    batch: int,
    seq_len: int,
    n_embd: int,
    n_head: int,
    n_layer: int = 1,
    vocab_size: int | None = None,
    dropout: bool = False,
    dtype: Any = np.float32,
) -> dict[str, int]:
    """Bytes TinyTorch's TinyGPT keeps for the backward (float ``dtype``).

    ``per_layer``: ``16*B*T*C + B*H*T^2`` numbers plus 2*B*T (the LayerNorms' 1/std):
    LayerNorm 1 (x_hat) and its output (the QKV projection's input), Q/K/V (3), the attention
    output (the output projection's input), LayerNorm 2 (x_hat) and its output (the MLP's
    input), the MLP's GELU output and GELU slope (4 + 4), the attention weights (B*H*T^2).
    With ``dropout``, 2*B*T*C + B*H*T^2 more (the dropout factors). ``layers`` = n_layer times
    that. With ``vocab_size``: ``head``, what the rest keeps (the ids, int64; ln_f's x_hat,
    1/std and output; the loss's softmax (B*T*V) and targets), and ``total``.
    """
    size = np.dtype(dtype).itemsize
    b, t, c, h = batch, seq_len, n_embd, n_head
    # HINT: count the numbers the docstring lists: B*T*C for each saved (B, T, C) activation
    # HINT: (16 of them with the GELU's 4C + 4C), B*H*T^2 attention weights, 2*B*T statistics
    # BEGIN SOLUTION
    numbers = 16 * b * t * c + b * h * t * t + 2 * b * t
    if dropout:
        numbers += 2 * b * t * c + b * h * t * t
    # END SOLUTION
    report = {"per_layer": numbers * size, "layers": n_layer * numbers * size}
    if vocab_size is not None:
        head = (2 * b * t * c + b * t + b * t * vocab_size) * size + b * t * (8 + 8 + 1)
        if dropout:
            head += b * t * c * size  # the embedding dropout's factors
        report["head"] = head
        report["total"] = report["layers"] + head
    return report


def _root(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def saved_activation_bytes(output: Tensor, exclude: Any = ()) -> int:
    """Bytes of every array the recorded graph behind ``output`` keeps for its backward (what
    its Ops saved), each memory block once (a view counts as the array it views), leaving out
    the arrays of ``exclude`` (e.g. ``model.parameters()``). 0 after a backward."""
    skip = {id(_root(t.data)) for t in exclude}
    blocks: dict[int, int] = {}
    node = output._node
    stack = [node] if node is not None else []
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen or node.op is None:
            continue
        seen.add(id(node))
        values = list(node.op.saved)
        while values:
            value = values.pop()
            if isinstance(value, (tuple, list)):
                values.extend(value)
            elif isinstance(value, np.ndarray):
                root = _root(value)
                if id(root) not in skip:
                    blocks[id(root)] = root.nbytes
        stack.extend(edge for edge in node.next if isinstance(edge, Node))
    return int(sum(blocks.values()))
