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
whole-array steps (more passes, same results to round-off).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.kernels.backend import jit, numba_enabled, prange
from tinytorch.layers import Module
from tinytorch.spatial import BatchNorm2d
from tinytorch.spatial.functional import affine_inputs, update_running_stats
from tinytorch.spatial.ops import BatchNormOp, channel_shape
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


class BatchNormReLUOp(BatchNormOp):
    """``relu(batch_norm(x, ...))`` as one Op: ``forward(x[, weight[, bias]])`` (N, C, *) ->
    (N, C, *), same dtype; backward -> (dL/dx[, dL/dweight, dL/dbias]).

    Training uses the batch statistics (kept as ``batch_mean`` / ``batch_var`` for the
    running statistics, as `BatchNormOp`), eval the running ones. Saves x and per-channel
    mean, 1/std, scale and shift. Cost: 2 passes forward, 2 backward (numba) over the input.
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
        x3 = np.ascontiguousarray(x).reshape(x.shape[0], channels, -1)
        if self.training:
            mean = np.empty(channels, np.float64)
            var = np.empty(channels, np.float64)
            if numba_enabled():
                _statistics(x3, mean, var)
            else:
                mean[:] = x3.sum(axis=(0, 2), dtype=np.float64) / (x3.size // channels)
                squares = np.einsum("ncm,ncm->c", x3, x3, dtype=np.float64)
                var[:] = np.maximum(squares / (x3.size // channels) - mean * mean, 0.0)
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
        if numba_enabled():
            out = np.empty_like(x3)
            _bn_relu_forward(x3, scale, shift, out)
        else:
            shape = channel_shape(x3)
            out = x3 * scale.astype(x.dtype).reshape(shape)
            out += shift.astype(x.dtype).reshape(shape)
            np.maximum(out, 0, out=out)
        self.save_for_backward(x, mean, invstd, scale, shift, weight)
        # END SOLUTION
        return out.reshape(x.shape)

    def backward(self, grad: np.ndarray, needs: tuple[bool, ...]) -> Grads:
        x, mean, invstd, scale, shift, _ = self.saved
        n, channels = x.shape[:2]
        x3 = np.ascontiguousarray(x).reshape(n, channels, -1)
        g3 = np.ascontiguousarray(grad).reshape(x3.shape)
        count = x3.size // channels
        if numba_enabled():
            dx = np.empty_like(x3)
            dweight = np.empty(channels, np.float64)
            dbias = np.empty(channels, np.float64)
            _bn_relu_backward(x3, g3, mean, invstd, scale, shift, self.training, dx, dweight, dbias)
        else:
            # HINT: recompute the ReLU mask from x; dbias = sum(g*mask), dweight = sum(g*mask*xhat)
            # HINT: per channel; dx = scale * (g*mask - dbias/m - xhat*dweight/m) in training
            # BEGIN SOLUTION
            shape = channel_shape(x3)
            dtype = x.dtype
            z = x3 * scale.astype(dtype).reshape(shape) + shift.astype(dtype).reshape(shape)
            gm = np.where(z > 0, g3, 0).astype(dtype)
            xhat = (x3 - mean.astype(dtype).reshape(shape)) * invstd.astype(dtype).reshape(shape)
            dbias = gm.sum(axis=(0, 2), dtype=np.float64)
            dweight = np.einsum("ncm,ncm->c", gm, xhat, dtype=np.float64)
            if self.training:
                gm -= (dbias / count).astype(dtype).reshape(shape)
                gm -= xhat * (dweight / count).astype(dtype).reshape(shape)
            dx = gm * scale.astype(dtype).reshape(shape)
            # END SOLUTION
        dtype = grad.dtype
        grads = (dx.reshape(x.shape), dweight.astype(dtype), dbias.astype(dtype))
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
