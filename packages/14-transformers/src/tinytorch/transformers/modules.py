"""The Transformer's layers: `LayerNorm`, `RMSNorm`, `MLP`, the pre-norm `TransformerBlock` and
`TinyGPT`, a decoder-only language model with GPT-2's architecture and initialisation.

A TransformerBlock is two residual branches, each reading a normalised copy of the stream:

    x = x + attn(ln_1(x))         tokens exchange information (causal self-attention)
    x = x + mlp(ln_2(x))          each token computes on its own (E -> 4E -> E, GELU)

*Pre-norm* (GPT-2, nanoGPT): the residual stream itself is never normalised, so gradients
flow from the loss to the embeddings through additions alone, and deep stacks train without
warm-up tricks. A forward of one block records 8 graph nodes (2 LayerNorms, the QKV
projection, attention, the output projection, the MLP, 2 additions); the MLP block and the
attention are each one fused Op.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.attention import CausalSelfAttention, KVCache
from tinytorch.embeddings import (
    Embedding,
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    embedding,
)
from tinytorch.layers import Dropout, Linear, Module, Parameter
from tinytorch.tensor import Tensor, accumulate_grad, apply
from tinytorch.training import cross_entropy
from tinytorch.transformers.ops import (
    GELU_APPROXIMATIONS,
    LayerNormOp,
    MLPOp,
    RMSNormOp,
    normalized_shape_tuple,
)


class LayerNorm(Module):
    """``LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)``, PyTorch's.

    x (*, *normalized_shape) -> same shape: each token's last dims normalised to mean 0 and
    (biased) variance 1, then ``* weight + bias`` (ones and zeros, of ``normalized_shape``;
    ``bias=False`` drops the shift, ``elementwise_affine=False`` both). One `LayerNormOp` with
    a closed-form backward; keeps x_hat and one number per token.
    """

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ) -> None:
        self.normalized_shape = normalized_shape_tuple("LayerNorm", normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape)) if elementwise_affine else None
        self.bias = (
            Parameter(np.zeros(self.normalized_shape)) if elementwise_affine and bias else None
        )

    def _inputs(self) -> tuple[Tensor, ...]:
        return tuple(p for p in (self.weight, self.bias) if p is not None)

    def forward(self, x: Tensor) -> Tensor:
        return self.run_op(LayerNormOp(self.normalized_shape, self.eps), x, *self._inputs())

    def backward(self, grad_output: Tensor) -> Tensor:
        """dL/dy -> dL/dx; adds dL/dweight and dL/dbias to the grads."""
        params = self._inputs()
        grads = self.op_backward(grad_output, (True,) * (1 + len(params)))
        for param, grad in zip(params, grads[1:], strict=True):
            assert grad is not None
            accumulate_grad(param, grad)
        assert grads[0] is not None
        return Tensor._wrap(grads[0])

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class RMSNorm(Module):
    """``RMSNorm(normalized_shape, eps=None, elementwise_affine=True)``, PyTorch 2.4's.

    ``y = x / sqrt(mean(x^2) + eps) * weight`` over the last dims (no centring, no bias);
    ``eps=None`` uses the machine epsilon of x's dtype (``torch.finfo(x.dtype).eps``).
    One `RMSNormOp`.
    """

    def __init__(
        self, normalized_shape: Any, eps: float | None = None, elementwise_affine: bool = True
    ) -> None:
        self.normalized_shape = normalized_shape_tuple("RMSNorm", normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape)) if elementwise_affine else None

    def forward(self, x: Tensor) -> Tensor:
        op = RMSNormOp(self.normalized_shape, self.eps)  # type: ignore[arg-type]
        if self.weight is None:
            return self.run_op(op, x)
        return self.run_op(op, x, self.weight)

    def backward(self, grad_output: Tensor) -> Tensor:
        if self.weight is None:
            (grad_input,) = self.op_backward(grad_output, (True,))
        else:
            grad_input, grad_weight = self.op_backward(grad_output, (True, True))
            assert grad_weight is not None
            accumulate_grad(self.weight, grad_weight)
        assert grad_input is not None
        return Tensor._wrap(grad_input)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class MLP(Module):
    """The feed-forward block: ``dropout(c_proj(gelu(c_fc(x))))``, x (*, E) -> (*, E), with
    ``c_fc`` Linear(E, 4E) and ``c_proj`` Linear(4E, E) (nanoGPT's names).

    ``approximate``: ``"none"`` (exact GELU, nanoGPT's ``nn.GELU()``) or ``"tanh"`` (GPT-2's).
    The two Linears and the GELU run as one `MLPOp` (``fused=False``, or either Linear replaced
    by another layer type: three Ops, the layers' own and module 04's GELU).
    Cost: 16*E^2 FLOPs per token forward.
    """

    def __init__(
        self,
        n_embd: int,
        dropout: float = 0.0,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        approximate: str = "none",
        fused: bool = True,
    ) -> None:
        if approximate not in GELU_APPROXIMATIONS:
            raise ValueError(
                f"MLP: approximate must be one of {GELU_APPROXIMATIONS}, got {approximate!r}"
            )
        generator = rng if rng is not None else np.random.default_rng()
        self.c_fc = Linear(n_embd, 4 * n_embd, bias=bias, rng=generator)
        self.c_proj = Linear(4 * n_embd, n_embd, bias=bias, rng=generator)
        self.dropout = Dropout(dropout, rng=generator)
        self.approximate, self.fused = approximate, fused

    def forward(self, x: Tensor) -> Tensor:
        # The fused Op reads the two Linears' weights itself, so it runs only while both are
        # plain Linears; a replaced layer (module 18's QuantizedLinear) runs its own forward.
        if not self.fused or type(self.c_fc) is not Linear or type(self.c_proj) is not Linear:
            from tinytorch.activations import gelu

            return self.dropout(self.c_proj(gelu(self.c_fc(x), self.approximate)))
        params = [self.c_fc.weight, self.c_fc.bias, self.c_proj.weight, self.c_proj.bias]
        bias = self.c_fc.bias is not None
        op = MLPOp(self.approximate, bias)
        return self.dropout(apply(op, x, *(p for p in params if p is not None)))

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}, fused={self.fused}"


class TransformerBlock(Module):
    """A pre-norm Transformer block (GPT-2): x (B, T, C) -> (B, T, C),
    ``x + attn(ln_1(x))`` then ``x + mlp(ln_2(x))``.

    ``attn`` is a `CausalSelfAttention` (n_head heads, attention and residual dropout), ``mlp``
    an `MLP` (4x, GELU, dropout); ``bias`` for every Linear and LayerNorm; ``rotary`` a
    `RotaryEmbedding` for the attention (RoPE). Cost: 24*C^2 FLOPs per token of projections
    plus 4*T*C of attention, forward.
    """

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        dropout: float = 0.0,
        bias: bool = True,
        rng: np.random.Generator | None = None,
        gelu_approximate: str = "none",
        rotary: RotaryEmbedding | None = None,
    ) -> None:
        generator = rng if rng is not None else np.random.default_rng()
        self.ln_1 = LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias, rng=generator, rotary=rotary)
        self.ln_2 = LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias, rng=generator, approximate=gelu_approximate)

    def forward(self, x: Tensor, **attention: Any) -> Tensor:
        """x (B, T, C) -> (B, T, C); ``attention`` (``offset``, ``key_padding_mask``,
        ``positions``, ``kv_cache``, ``layer_idx``) goes to `CausalSelfAttention.forward`."""
        x = x + self.attn(self.ln_1(x), **attention)
        return x + self.mlp(self.ln_2(x))


POS_ENCODINGS = ("learned", "sinusoidal", "rotary")


class TinyGPT(Module):
    """A decoder-only Transformer language model with GPT-2's architecture (nanoGPT's model).

    ``TinyGPT(vocab_size, block_size, n_layer, n_head, n_embd, dropout=0.0, bias=True,
    tie_weights=True, rng=None, gelu_approximate="none", pos_encoding="learned")``:

    - ``wte`` Embedding(vocab_size, n_embd), ``wpe`` the positions, ``drop`` Dropout, ``h``
      n_layer `TransformerBlock`s, ``ln_f`` LayerNorm, ``lm_head`` Linear(n_embd, vocab_size,
      bias=False) whose weight *is* ``wte.weight`` when ``tie_weights`` (one Parameter,
      listed once, as ``wte.weight``).
    - ``pos_encoding``: ``"learned"`` (GPT-2: ``wpe`` a `LearnedPositionalEmbedding`
      (block_size, n_embd) added to the tokens), ``"sinusoidal"`` (``wpe`` a
      `SinusoidalPositionalEncoding`, a fixed buffer, added) or ``"rotary"`` (no ``wpe``: every
      attention rotates its queries and keys with a `RotaryEmbedding` of head size
      n_embd / n_head, LLaMA's RoPE).
    - GPT-2 initialisation (nanoGPT's ``_init_weights``): every Linear and Embedding weight
      from N(0, 0.02), biases 0, LayerNorms 1 and 0, and each residual branch's output
      projection (``attn.c_proj``, ``mlp.c_proj``) from N(0, 0.02 / sqrt(2 * n_layer)), so
      the residual stream's variance does not grow with depth.

    ``model(idx)``: int token ids (B, T), T <= block_size -> logits (B, T, vocab_size);
    ``model(idx, targets)`` -> ``(logits, loss)``, the mean cross entropy over the B*T
    positions, targets equal to -1 ignored (nanoGPT's ``ignore_index=-1``).
    ``attention_mask`` (B, S) (1 / True = a token, 0 = padding; Hugging Face's convention)
    for left-padded batches: each row's positions count its tokens only, and padding is never
    attended to, so a row gives the logits it gives alone. ``kv_cache`` (`make_kv_cache`,
    under ``no_grad``): idx holds only the tokens after those the cache holds, and S counts
    both (see `forward`).
    Cost per token: see `gpt_flops_per_token`; memory: `gpt_activation_memory`.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_layer: int,
        n_head: int,
        n_embd: int,
        dropout: float = 0.0,
        bias: bool = True,
        tie_weights: bool = True,
        rng: np.random.Generator | None = None,
        gelu_approximate: str = "none",
        pos_encoding: str = "learned",
    ) -> None:
        for name, value in (
            ("vocab_size", vocab_size),
            ("block_size", block_size),
            ("n_layer", n_layer),
            ("n_head", n_head),
            ("n_embd", n_embd),
        ):
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"TinyGPT: {name} must be a positive int, got {value!r}")
        if n_embd % n_head:
            raise ValueError(f"TinyGPT: n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        if pos_encoding not in POS_ENCODINGS:
            raise ValueError(
                f"TinyGPT: pos_encoding must be one of {POS_ENCODINGS}, got {pos_encoding!r}"
            )
        generator = rng if rng is not None else np.random.default_rng()
        self.vocab_size, self.block_size = vocab_size, block_size
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.dropout, self.bias, self.tie_weights = dropout, bias, tie_weights
        self.pos_encoding = pos_encoding
        self.wte = Embedding(vocab_size, n_embd, rng=generator)
        self.wpe: Module | None = None
        if pos_encoding == "learned":
            self.wpe = LearnedPositionalEmbedding(block_size, n_embd, rng=generator)
        elif pos_encoding == "sinusoidal":
            self.wpe = SinusoidalPositionalEncoding(block_size, n_embd)
        self.drop = Dropout(dropout, rng=generator)
        self.h = [
            TransformerBlock(
                n_embd,
                n_head,
                dropout,
                bias,
                generator,
                gelu_approximate,
                RotaryEmbedding(n_embd // n_head, block_size) if pos_encoding == "rotary" else None,
            )
            for _ in range(n_layer)
        ]
        self.ln_f = LayerNorm(n_embd, bias=bias)
        self.lm_head = Linear(n_embd, vocab_size, bias=False, rng=generator)
        self._init_weights(generator)
        if tie_weights:
            self.lm_head.weight = self.wte.weight

    def _init_weights(self, rng: np.random.Generator) -> None:
        """GPT-2's initialisation (nanoGPT ``_init_weights`` and the c_proj rescaling)."""
        projection_std = 0.02 / math.sqrt(2 * self.n_layer)
        for name, module in self.named_modules():
            if isinstance(module, (Linear, Embedding, LearnedPositionalEmbedding)):
                std = projection_std if name.endswith("c_proj") else 0.02
                weight = module.weight
                weight.data[...] = rng.normal(0.0, std, weight.shape)
                bias = getattr(module, "bias", None)
                if bias is not None:
                    bias.data[...] = 0.0

    def make_kv_cache(
        self, batch_size: int, max_len: int | None = None, cache_class: Any = KVCache
    ) -> Any:
        """An empty KV cache for this model: ``cache_class(n_layer, batch_size, n_head,
        max_len, n_embd // n_head, dtype)`` (module 13's `KVCache`, or a variant such as
        module 19's ``Int8KVCache``), ``max_len`` at most (and by default) ``block_size``,
        dtype the model's. Memory: 2 * n_layer * batch_size * max_len * n_embd * itemsize."""
        length = self.block_size if max_len is None else int(max_len)
        if not 0 < length <= self.block_size:
            raise ValueError(
                f"TinyGPT.make_kv_cache: max_len must be in 1..block_size={self.block_size} "
                f"(positions past block_size have no encoding), got {max_len}"
            )
        dtype = self.wte.weight.dtype
        head_dim = self.n_embd // self.n_head
        return cache_class(self.n_layer, batch_size, self.n_head, length, head_dim, dtype=dtype)

    def forward(
        self, idx: Any, targets: Any = None, attention_mask: Any = None, kv_cache: Any = None
    ) -> Any:
        """Logits (B, T, vocab_size) of the token ids ``idx`` (B, T); ``(logits, loss)`` with
        ``targets``.

        ``attention_mask`` (B, S), 1 / True for a token and 0 for padding, S = the cached
        positions + T (Hugging Face's convention): row b's positions are the number of its
        tokens before each one (``cumsum(mask) - 1``), and padding keys are masked out. Pad
        on the left for generation. ``kv_cache``: a cache from `make_kv_cache`, under
        ``no_grad``: idx continues what the cache holds (its positions start there), the new
        keys and values are appended, and the logits are those of the new tokens only.
        """
        ids = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
        if ids.ndim != 2:
            raise ValueError(f"TinyGPT: expected token ids (B, T), got shape {ids.shape}")
        past = kv_cache.get_seq_length() if kv_cache is not None else 0
        if past + ids.shape[1] > self.block_size:
            raise ValueError(
                f"TinyGPT: a sequence of {past + ids.shape[1]} tokens ({past} cached + "
                f"{ids.shape[1]} new) is longer than block_size={self.block_size}; crop it to "
                f"the last {self.block_size} tokens (and reset the cache)"
            )
        positions, padding = self._positions(ids.shape, past, attention_mask)
        x = self.wte(ids)
        if self.wpe is not None:
            if positions is None:
                x = self.wpe(x, past)
            else:
                wpe: Any = self.wpe  # per-row positions: gather the table's rows
                x = x + embedding(
                    positions, wpe.weight if self.pos_encoding == "learned" else wpe.pe
                )
        x = self.drop(x)
        for i, block in enumerate(self.h):
            x = block(
                x,
                offset=past,
                key_padding_mask=padding,
                positions=positions,
                kv_cache=kv_cache,
                layer_idx=i,
            )
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits
        return logits, next_token_loss(logits, targets)

    def _positions(
        self, shape: tuple[int, ...], past: int, attention_mask: Any
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(positions (B, T) or None for past..past+T-1, key padding (B, S) True = padding or
        None) from an attention mask (B, S = past + T)."""
        if attention_mask is None:
            return None, None
        mask = np.asarray(getattr(attention_mask, "data", attention_mask))
        batch, length = shape
        if mask.shape != (batch, past + length):
            raise ValueError(
                f"TinyGPT: attention_mask must be (B, cached + T) = {(batch, past + length)}, "
                f"got shape {mask.shape}"
            )
        mask = mask.astype(bool)
        if mask.all():
            return None, None
        # HINT: a row's position is how many of its tokens came before (padding excluded):
        # HINT: cumsum(mask, axis=1) - 1 (clipped at 0 for leading padding); keep the last T
        # BEGIN SOLUTION
        counted = np.maximum(np.cumsum(mask, axis=1) - 1, 0)
        positions = counted[:, past:].astype(np.int64)
        # END SOLUTION
        return positions, ~mask

    def extra_repr(self) -> str:
        return (
            f"vocab_size={self.vocab_size}, block_size={self.block_size}, "
            f"n_layer={self.n_layer}, n_head={self.n_head}, n_embd={self.n_embd}, "
            f"pos_encoding={self.pos_encoding!r}"
        )


def next_token_loss(logits: Tensor, targets: Any, ignore_index: int = -1) -> Tensor:
    """Mean cross entropy of logits (B, T, V) against integer targets (B, T), targets equal to
    ``ignore_index`` skipped: nanoGPT's ``F.cross_entropy(logits.view(-1, V), targets.view(-1),
    ignore_index=-1)``, with module 10's fused `cross_entropy` (one node) over the B*T rows."""
    target = targets if isinstance(targets, Tensor) else Tensor(np.asarray(targets))
    vocab = logits.shape[-1]
    return cross_entropy(logits.reshape(-1, vocab), target.reshape(-1), ignore_index=ignore_index)


def param_groups(model: Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW parameter groups, minGPT's rule: ``[{"params": decay, "weight_decay":
    weight_decay}, {"params": no_decay, "weight_decay": 0.0}]``.

    Decayed: the weights of Linear layers (2-d matrices that multiply activations). Not
    decayed: biases, LayerNorm/RMSNorm weights (decaying a gain towards 0 fights the
    normalisation) and embedding tables (including a tied ``lm_head.weight``, which is the
    token embedding). nanoGPT decays every 2-d parameter, embeddings included; pass your own
    groups for that. Every trainable parameter appears in exactly one group, once.
    """
    embedding_ids = {
        id(module.weight)
        for module in model.modules()
        if isinstance(module, (Embedding, LearnedPositionalEmbedding))
    }
    linear_ids = {
        id(module.weight)
        for module in model.modules()
        if isinstance(module, Linear) and id(module.weight) not in embedding_ids
    }
    decay: list[Parameter] = []
    no_decay: list[Parameter] = []
    for _, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (decay if id(param) in linear_ids else no_decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
