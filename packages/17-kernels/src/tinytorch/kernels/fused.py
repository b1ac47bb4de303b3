"""Fused BatchNorm + ReLU: two layers, one Op, one pass forward and one backward.

Unfused, ``ReLU(BatchNorm2d(x))`` costs about ten passes over the activation in NumPy (mean,
centre, variance, normalise, scale, shift, ReLU forward; ReLU's mask, BatchNorm's three
backward terms) and keeps two activation-sized arrays (x_hat and the ReLU output). Fused, with
per-channel ``a = weight * invstd`` and ``b = bias - mean * a``:

    forward:   statistics (one pass: sum and sum of squares, in float64), then
               y = max(x*a + b, 0) (one pass)
    backward:  the mask is ``x*a + b > 0`` again (recomputed from x, nothing else saved);
               per channel sums S1 = sum(g*mask) and S2 = sum(g*mask*x_hat) (one pass), then
               dx = a * (g*mask - S1/m - x_hat * S2/m) (one pass; in eval just a*g*mask),
               dweight = S2, dbias = S1

It saves only the input (which the graph keeps anyway) and per-channel numbers. `fuse(model)`
puts `BatchNormReLU2d` in place of each (BatchNorm2d, ReLU) pair. The numba kernels run one
thread per channel (`num_threads` in parallel); the NumPy twin computes the same formulas in
whole-array steps (more passes, same results to round-off). A channels-last input (what the
conv kernel returns) is worked on as its (N*H*W, C) rows, pixel by pixel with the channels in
the inner (vectorised) loop, blocks of pixels on `num_threads` threads; the output and the
input gradient are channels-last too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.kernels.backend import jit, num_threads, numba_enabled, prange
from tinytorch.kernels.conv import as_channels_last, channels_last
from tinytorch.layers import Module
from tinytorch.spatial import BatchNorm2d
from tinytorch.spatial.functional import affine_inputs, update_running_stats
from tinytorch.spatial.ops import BatchNormOp
from tinytorch.tensor import Tensor, accumulate_grad
from tinytorch.tensor.dispatch import Grads


@jit(fastmath=True)
def _statistics(x, mean, var):  # pragma: no cover - compiled
    n, c, m = x.shape
    for ch in prange(c):
        total = 0.0
        squares = 0.0
        for i in range(n):
            for j in range(m):
                v = x[i, ch, j]
                total += v
                squares += v * v
        mu = total / (n * m)
        mean[ch] = mu
        var[ch] = max(squares / (n * m) - mu * mu, 0.0)


@jit()
def _bn_relu_forward(x, scale, shift, out):  # pragma: no cover - compiled
    n, c, m = x.shape
    for ch in prange(c):
        a = scale[ch]
        b = shift[ch]
        for i in range(n):
            for j in range(m):
                z = x[i, ch, j] * a + b
                out[i, ch, j] = z if z > 0 else 0.0


@jit(fastmath=True)
def _bn_relu_backward(
    x, g, mean, invstd, scale, shift, training, dx, dweight, dbias
):  # pragma: no cover
    n, c, m = x.shape
    count = n * m
    for ch in prange(c):
        a = scale[ch]
        b = shift[ch]
        mu = mean[ch]
        inv = invstd[ch]
        s1 = 0.0
        s2 = 0.0
        for i in range(n):
            for j in range(m):
                v = x[i, ch, j]
                if v * a + b > 0:
                    gv = g[i, ch, j]
                    s1 += gv
                    s2 += gv * (v - mu) * inv
        dbias[ch] = s1
        dweight[ch] = s2
        c1 = s1 / count if training else 0.0
        c2 = s2 / count if training else 0.0
        for i in range(n):
            for j in range(m):
                v = x[i, ch, j]
                gv = g[i, ch, j] if v * a + b > 0 else 0.0
                dx[i, ch, j] = a * (gv - c1 - (v - mu) * inv * c2)


# Channels-last twins: x is (M, C) rows, one pixel's C channels side by side. The loops run over
# pixels, the inner loop over the channels (vectorised); a parallel variant gives each of
# ``chunks`` blocks of rows to a thread, which sums into its own row of ``partial``.


@jit(fastmath=True)
def _statistics_rows(x, partial, mean, var):  # pragma: no cover - compiled
    m, c = x.shape
    chunks = partial.shape[0]
    step = (m + chunks - 1) // chunks
    for k in prange(chunks):
        total = partial[k, 0]
        squares = partial[k, 1]
        for r in range(k * step, min(m, (k + 1) * step)):
            for ch in range(c):
                v = np.float64(x[r, ch])
                total[ch] += v
                squares[ch] += v * v
    for ch in range(c):
        t = 0.0
        q = 0.0
        for k in range(chunks):
            t += partial[k, 0, ch]
            q += partial[k, 1, ch]
        mu = t / m
        mean[ch] = mu
        var[ch] = max(q / m - mu * mu, 0.0)


@jit()
def _bn_relu_forward_rows(x, scale, shift, chunks, out):  # pragma: no cover - compiled
    m, c = x.shape
    step = (m + chunks - 1) // chunks
    for k in prange(chunks):
        for r in range(k * step, min(m, (k + 1) * step)):
            for ch in range(c):
                z = x[r, ch] * scale[ch] + shift[ch]
                out[r, ch] = z if z > 0 else 0.0


@jit(fastmath=True)
def _bn_relu_backward_rows(
    x, g, mean, invstd, scale, shift, training, partial, dx, dweight, dbias
):  # pragma: no cover
    m, c = x.shape
    chunks = partial.shape[0]
    step = (m + chunks - 1) // chunks
    for k in prange(chunks):
        s1 = partial[k, 0]
        s2 = partial[k, 1]
        for r in range(k * step, min(m, (k + 1) * step)):
            for ch in range(c):
                v = x[r, ch]
                gv = g[r, ch] if v * scale[ch] + shift[ch] > 0 else 0.0
                s1[ch] += gv
                s2[ch] += gv * (v - mean[ch]) * invstd[ch]
    c1 = np.zeros(c)
    c2 = np.zeros(c)
    for ch in range(c):
        t1 = 0.0
        t2 = 0.0
        for k in range(chunks):
            t1 += partial[k, 0, ch]
            t2 += partial[k, 1, ch]
        dbias[ch] = t1
        dweight[ch] = t2
        if training:
            c1[ch] = t1 / m
            c2[ch] = t2 / m
    for k in prange(chunks):
        for r in range(k * step, min(m, (k + 1) * step)):
            for ch in range(c):
                v = x[r, ch]
                gv = g[r, ch] if v * scale[ch] + shift[ch] > 0 else 0.0
                dx[r, ch] = scale[ch] * (gv - c1[ch] - (v - mean[ch]) * invstd[ch] * c2[ch])


def _chunks(rows: int) -> int:
    """Blocks of rows for the channels-last kernels: one per thread (at least 1)."""
    return max(1, min(rows, num_threads()))


def channel_view(x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]:
    """x (N, C, *) -> (view, axes, shape) for per-channel work without a copy when possible:
    a channels-last (N, C, H, W) array as its (N*H*W, C) rows (sums over axis 0, per-channel
    values shaped (C,)), any other as (N, C, M) (sums over axes 0 and 2, values (1, C, 1);
    a copy unless x is C-contiguous)."""
    if channels_last(x) and not x.flags.c_contiguous:
        return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1]), (0,), (x.shape[1],)
    return np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1), (0, 2), (1, -1, 1)


def from_channel_view(view: np.ndarray, like: np.ndarray) -> np.ndarray:
    """The inverse of `channel_view`: ``view``'s numbers in ``like``'s shape and layout."""
    if view.ndim == 2:
        n, c, h, w = like.shape
        return view.reshape(n, h, w, c).transpose(0, 3, 1, 2)
    return view.reshape(like.shape)


class BatchNormReLUOp(BatchNormOp):
    """``relu(batch_norm(x, ...))`` as one Op: ``forward(x[, weight[, bias]])`` (N, C, *) ->
    (N, C, *), same dtype; backward -> (dL/dx[, dL/dweight, dL/dbias]).

    Training uses the batch statistics (kept as ``batch_mean`` / ``batch_var`` for the
    running statistics, as `BatchNormOp`), eval the running ones. Saves x and per-channel
    mean, 1/std, scale and shift. Cost: 2 passes forward, 2 backward (numba) over the input.
    Memory format: a channels-last input (see `tinytorch.kernels.conv.channels_last`) gives a
    channels-last output and input gradient, computed pixel by pixel with no transposing copy;
    any other input gives C-contiguous results. With numba the passes run on `num_threads`.
    """

    @property
    def name(self) -> str:
        return "batch_norm_relu"

    def __repr__(self) -> str:
        return f"BatchNormReLUOp(training={self.training}, eps={self.eps})"

    def forward(
        self, x: np.ndarray, weight: np.ndarray | None = None, bias: np.ndarray | None = None
    ) -> np.ndarray:
        if x.ndim < 2 or x.dtype.kind != "f":
            raise ValueError(
                f"batch_norm_relu: expected a float input (N, C, *), got shape {x.shape} "
                f"dtype {x.dtype}"
            )
        channels = x.shape[1]
        view, axes, shape = channel_view(x)  # (M, C) rows or (N, C, M)
        count = view.size // channels
        rows = view.ndim == 2
        if self.training:
            mean = np.empty(channels, np.float64)
            var = np.empty(channels, np.float64)
            if numba_enabled() and rows:
                partial = np.zeros((_chunks(view.shape[0]), 2, channels))
                _statistics_rows(view, partial, mean, var)
            elif numba_enabled():
                _statistics(view, mean, var)
            else:
                mean[:] = view.sum(axis=axes, dtype=np.float64) / count
                subscripts = "mc,mc->c" if rows else "ncm,ncm->c"
                squares = np.einsum(subscripts, view, view, dtype=np.float64)
                var[:] = np.maximum(squares / count - mean * mean, 0.0)
            self.batch_mean, self.batch_var = mean.astype(x.dtype), var.astype(x.dtype)
        else:
            running_mean, running_var = self._running
            mean = np.asarray(running_mean, dtype=np.float64)
            var = np.asarray(running_var, dtype=np.float64)
        invstd = 1.0 / np.sqrt(var + self.eps)
        w = np.ones(channels) if weight is None else weight.astype(np.float64)
        b = np.zeros(channels) if bias is None else bias.astype(np.float64)
        # HINT: fold the normalisation and the affine into one per-channel scale and shift:
        # HINT: y = max(x * scale + shift, 0); save what the backward needs to redo the mask
        # BEGIN SOLUTION
        scale = w * invstd
        shift = b - mean * scale
        if numba_enabled() and rows:
            out = np.empty_like(view)
            _bn_relu_forward_rows(view, scale, shift, _chunks(view.shape[0]), out)
        elif numba_enabled():
            out = np.empty_like(view)
            _bn_relu_forward(view, scale, shift, out)
        else:
            out = view * scale.astype(x.dtype).reshape(shape)
            out += shift.astype(x.dtype).reshape(shape)
            np.maximum(out, 0, out=out)
        self.save_for_backward(x, mean, invstd, scale, shift, weight)
        # END SOLUTION
        return from_channel_view(out, x)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        x, mean, invstd, scale, shift, _ = self.saved
        channels = x.shape[1]
        view, axes, shape = channel_view(x)
        rows = view.ndim == 2
        if rows:  # the gradient in x's layout: a view when it is channels-last too
            g = as_channels_last(grad).reshape(view.shape)
        else:
            g = np.ascontiguousarray(grad).reshape(view.shape)
        count = view.size // channels
        if numba_enabled():
            dx = np.empty_like(view)
            dweight = np.empty(channels, np.float64)
            dbias = np.empty(channels, np.float64)
            if rows:
                partial = np.zeros((_chunks(view.shape[0]), 2, channels))
                _bn_relu_backward_rows(
                    view, g, mean, invstd, scale, shift, self.training, partial, dx, dweight, dbias
                )
            else:
                _bn_relu_backward(
                    view, g, mean, invstd, scale, shift, self.training, dx, dweight, dbias
                )
        else:
            # HINT: recompute the ReLU mask from x; dbias = sum(g*mask), dweight = sum(g*mask*xhat)
            # HINT: per channel; dx = scale * (g*mask - dbias/m - xhat*dweight/m) in training
            # BEGIN SOLUTION
            dtype = x.dtype
            z = view * scale.astype(dtype).reshape(shape) + shift.astype(dtype).reshape(shape)
            gm = np.where(z > 0, g, 0).astype(dtype)
            xhat = (view - mean.astype(dtype).reshape(shape)) * invstd.astype(dtype).reshape(shape)
            dbias = gm.sum(axis=axes, dtype=np.float64)
            subscripts = "mc,mc->c" if rows else "ncm,ncm->c"
            dweight = np.einsum(subscripts, gm, xhat, dtype=np.float64)
            if self.training:
                gm -= (dbias / count).astype(dtype).reshape(shape)
                gm -= xhat * (dweight / count).astype(dtype).reshape(shape)
            dx = gm * scale.astype(dtype).reshape(shape)
            # END SOLUTION
        dtype = grad.dtype
        grads = (from_channel_view(dx, x), dweight.astype(dtype), dbias.astype(dtype))
        return tuple(g if need else None for g, need in zip(grads, needs, strict=False))


class BatchNormReLU2d(BatchNorm2d):
    """``BatchNorm2d`` followed by ``ReLU``, as one layer running one `BatchNormReLUOp`.

    Built from an existing BatchNorm2d (``BatchNormReLU2d.from_batch_norm(bn)``), whose
    parameters and buffers it shares, so ``state_dict`` keys and values are unchanged. Same
    training/eval behaviour and running statistics as the pair it replaces.
    """

    @classmethod
    def from_batch_norm(cls, bn: BatchNorm2d) -> BatchNormReLU2d:
        fused = cls.__new__(cls)
        fused.__dict__.update(bn.__dict__)
        fused._ctx = None
        return fused

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        momentum = 0.0
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.data[...] += 1
            tracked = int(self.num_batches_tracked.item())
            momentum = 1.0 / tracked if self.momentum is None else self.momentum
        running_mean, running_var = self.running_mean, self.running_var
        batch_statistics = self.training or running_mean is None
        if batch_statistics and x.numel() // x.shape[1] <= 1:
            raise ValueError(
                f"BatchNormReLU2d: expected more than 1 value per channel when training, got "
                f"input of shape {x.shape}; use a batch of at least 2 (or eval mode)"
            )
        op = BatchNormReLUOp(
            batch_statistics,
            self.eps,
            None if running_mean is None else running_mean.data,
            None if running_var is None else running_var.data,
        )
        out = self.run_op(op, *affine_inputs(x, self.weight, self.bias))
        if self.training:
            update_running_stats(op, x.numel() // x.shape[1], running_mean, running_var, momentum)
        return out

    def backward(self, grad_output: Tensor) -> Tensor:
        params = [p for p in (self.weight, self.bias) if p is not None]
        grad_input, *grad_params = self.op_backward(grad_output, (True,) * (1 + len(params)))
        for param, grad in zip(params, grad_params, strict=True):
            accumulate_grad(param, grad)
        return Tensor._wrap(grad_input)


class Identity(Module):
    """``y = x`` (PyTorch's ``nn.Identity``): what `fuse` leaves where a fused layer's second
    half was, so that the positions (and ``state_dict`` keys) of later layers do not move."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def forward(self, x: Any) -> Any:
        return x

    def backward(self, grad_output: Tensor) -> Tensor:
        return grad_output


def _is_relu(module: Any) -> bool:
    from tinytorch.activations import ReLU

    return type(module) is ReLU and not module.inplace


def fuse(model: Module) -> Module:
    """Fuse ``BatchNorm2d`` + ``ReLU`` pairs that follow each other in a ``Sequential`` (or any
    container holding a ``layers`` list), in place, recursively, like
    ``torch.ao.quantization.fuse_modules``: the pair becomes (`BatchNormReLU2d`, `Identity`),
    sharing the BatchNorm's parameters and buffers. Returns ``model``; the fused model computes
    the same function (to round-off) in both training and eval.
    """
    for module in list(model.modules()):
        layers = getattr(module, "layers", None)
        if not isinstance(layers, list):
            continue
        for i in range(len(layers) - 1):
            first, second = layers[i], layers[i + 1]
            if type(first) is BatchNorm2d and _is_relu(second):
                layers[i] = BatchNormReLU2d.from_batch_norm(first)
                layers[i + 1] = Identity()
    return model


def fused_count(model: Module) -> int:
    """How many fused layers ``model`` holds."""
    return sum(isinstance(m, BatchNormReLU2d) for m in model.modules())
