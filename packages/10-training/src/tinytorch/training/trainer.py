"""`Trainer`: the training loop, written once: fit, evaluate, clip, stop early, checkpoint.

One training step is always the same five lines::

    output = model(inputs)              # forward: records the graph
    loss = loss_fn(output, targets)     # a 0-d tensor
    optimizer.zero_grad()               # forget the previous step's gradients
    loss.backward()                     # fill every parameter's .grad
    optimizer.step()                    # update the parameters in place

The Trainer adds what a real run needs around it: a check that the loss is finite (a NaN loss
stops training with `NonFiniteLossError` naming the epoch and step, instead of silently
producing a NaN model), gradient clipping by global norm, a learning-rate scheduler stepped per
batch or per epoch, metrics, a per-epoch `History` with timing, throughput and peak memory,
early stopping, and a checkpoint after every epoch from which ``fit(..., resume=True)``
continues with bit-identical results.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sized
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.autograd import no_grad
from tinytorch.layers import Module
from tinytorch.setup.progress import progress_enabled, track
from tinytorch.tensor import Tensor
from tinytorch.training.checkpoint import (
    get_rng_state,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from tinytorch.training.history import History
from tinytorch.training.memory import PeakMemory
from tinytorch.training.metrics import accuracy

__all__ = ["NonFiniteLossError", "Trainer", "clip_grad_norm_", "grad_norm"]

Metric = Callable[[Any, Any], float]
LAST, BEST = "last.npz", "best.npz"


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite: ``epoch``, ``step`` (global, from 1), ``batch`` (within
    the epoch, from 1), ``value``, ``last_finite`` (the previous step's loss, or None)."""

    def __init__(
        self, epoch: int, step: int, batch: int, value: float, last_finite: float | None
    ) -> None:
        self.epoch, self.step, self.batch = epoch, step, batch
        self.value, self.last_finite = value, last_finite
        before = (
            f"the last finite loss was {last_finite:.6g} at step {step - 1}"
            if last_finite is not None
            else "no step before it had a finite loss"
        )
        super().__init__(
            f"Trainer.fit: the loss is {value} at epoch {epoch}, step {step} (batch {batch} of "
            f"the epoch); {before}. Training stopped so the model is not silently filled with "
            f"NaN. Try a smaller learning rate, gradient clipping (Trainer(grad_clip=1.0)), a "
            f"stable loss from logits, or check the inputs for NaN/inf"
        )


# --------------------------------------------------------------------- gradient clipping
def _grads(parameters: Iterable[Tensor]) -> list[Tensor]:
    return [p for p in parameters if p.grad is not None]


def grad_norm(parameters: Iterable[Tensor], norm_type: float = 2.0) -> float:
    """The norm of all gradients together, as if concatenated into one vector (float64 sums).

    ``norm_type`` 2 (L2), any p >= 1, or ``math.inf`` (largest absolute value). Cost: one pass
    over every gradient element.
    """
    grads = [p.grad.data for p in _grads(parameters)]  # type: ignore[union-attr]
    if not grads:
        return 0.0
    if norm_type == math.inf:
        return float(max(np.abs(g).max(initial=0.0) for g in grads))
    # HINT: the p-norm of all gradients as one vector: (sum over every element of |g|^p)^(1/p);
    # HINT: accumulate in float64 so many float32 squares do not lose precision
    # BEGIN SOLUTION
    total = sum(float((np.abs(g.astype(np.float64)) ** norm_type).sum()) for g in grads)
    return total ** (1.0 / norm_type)
    # END SOLUTION


def clip_grad_norm_(
    parameters: Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients by one factor so that their global norm is at most ``max_norm``.

    PyTorch's rule: ``coef = max_norm / (total_norm + 1e-6)``, applied (in place) only when
    ``coef < 1``; the direction of the update is unchanged, only its length is capped. Returns
    the total norm *before* clipping (worth logging: spikes announce divergence). A non-finite
    norm raises with ``error_if_nonfinite``, else the gradients become NaN as in PyTorch.
    """
    params = _grads(parameters)
    if max_norm <= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be positive, got {max_norm}")
    total = grad_norm(params, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise FloatingPointError(
            f"clip_grad_norm_: the total norm of the gradients is {total}; some gradient is "
            f"NaN or infinite (pass error_if_nonfinite=False to clip anyway)"
        )
    coef = max_norm / (total + 1e-6)
    # HINT: only when the norm exceeds max_norm (coef < 1): scale every gradient in place by coef,
    # HINT: in the gradient's own dtype
    # BEGIN SOLUTION
    if coef < 1:
        for p in params:
            p.grad.mul_(p.grad.dtype.type(coef))  # type: ignore[union-attr]  # bumps its version
    # END SOLUTION
    return total


# --------------------------------------------------------------------- the Trainer
def _named_metrics(metrics: Metric | Mapping[str, Metric] | None) -> dict[str, Metric]:
    if metrics is None:
        return {}
    if callable(metrics):
        return {getattr(metrics, "__name__", "metric"): metrics}
    return dict(metrics)


def _split(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    described = (
        f"a {type(batch).__name__} of {len(batch)}"
        if isinstance(batch, (tuple, list))
        else type(batch).__name__
    )
    raise TypeError(
        f"Trainer: each batch must be a pair (inputs, targets), got {described}; build the "
        f"loader from TensorDataset(inputs, targets) or give a collate_fn returning (x, y)"
    )


def _count(targets: Any) -> int:
    shape = np.shape(targets.data if isinstance(targets, Tensor) else targets)
    return int(shape[0]) if shape else 1


class Trainer:
    """Fit a model with an optimizer and a loss; evaluate it; checkpoint and resume.

    ``Trainer(model, optimizer, loss_fn, scheduler=None, scheduler_step="batch",
    grad_clip=None, metrics=accuracy, early_stopping_patience=None, checkpoint_dir=None,
    progress=True, track_memory=False, monitor=None, min_delta=0.0, on_epoch_end=None)``

    - ``loss_fn(output, targets)`` returns a 0-d tensor (a loss Module or function).
    - ``scheduler`` is stepped after every optimizer step (``scheduler_step="batch"``) or after
      every epoch (``"epoch"``).
    - ``grad_clip``: clip the gradients' global L2 norm to this value (`clip_grad_norm_`).
    - ``metrics``: a function ``(output, targets) -> float`` or a dict of them by name.
    - ``early_stopping_patience``: stop after this many epochs in a row without the monitored
      value (``monitor``: ``"val_loss"`` with a validation loader, else ``"train_loss"``; or a
      metric column such as ``"val_accuracy"``) improving by more than ``min_delta``. Losses
      improve by going down, metrics by going up.
    - ``checkpoint_dir``: write ``last.npz`` after every epoch (and ``best.npz`` when the
      monitored value improves), atomically; ``fit(..., resume=True)`` continues from
      ``last.npz``.
    - ``progress``: a progress bar per epoch and a summary line (on a terminal; silent in CI).
    - ``track_memory``: also measure the epoch's peak of traced allocations (tracemalloc; slow).
      The peak RSS is always measured (cheap).
    - ``on_epoch_end(record)``: called with each epoch's record (e.g. to print or plot).
    """

    def __init__(
        self,
        model: Module,
        optimizer: Any,
        loss_fn: Callable[[Any, Any], Tensor],
        scheduler: Any = None,
        scheduler_step: str = "batch",
        grad_clip: float | None = None,
        metrics: Metric | Mapping[str, Metric] | None = accuracy,
        early_stopping_patience: int | None = None,
        checkpoint_dir: str | Path | None = None,
        progress: bool = True,
        track_memory: bool = False,
        monitor: str | None = None,
        min_delta: float = 0.0,
        on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if scheduler_step not in ("batch", "epoch"):
            raise ValueError(
                f"Trainer: scheduler_step must be 'batch' or 'epoch', got {scheduler_step!r}"
            )
        if grad_clip is not None and not grad_clip > 0:
            raise ValueError(f"Trainer: grad_clip must be a positive norm, got {grad_clip}")
        if early_stopping_patience is not None and early_stopping_patience < 1:
            raise ValueError(
                f"Trainer: early_stopping_patience must be >= 1 epoch, got "
                f"{early_stopping_patience}"
            )
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.scheduler, self.scheduler_step = scheduler, scheduler_step
        self.grad_clip = grad_clip
        self.metrics = _named_metrics(metrics)
        self.early_stopping_patience = early_stopping_patience
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.progress, self.track_memory = progress, track_memory
        self.monitor, self.min_delta = monitor, min_delta
        self.on_epoch_end = on_epoch_end
        self.history = History()
        self.epoch = 0  # epochs completed
        self.global_step = 0  # optimizer steps taken
        self.best: float | None = None  # best monitored value so far (negated for a metric)
        self.best_epoch: int | None = None
        self.bad_epochs = 0  # epochs in a row without improvement
        self.stopped_early = False
        self.last_finite_loss: float | None = None

    # ----------------------------------------------------------------- one step
    def _loss_value(self, loss: Tensor, batch: int) -> float:
        """The loss as a float; raises NonFiniteLossError if it is NaN or infinite."""
        if not isinstance(loss, Tensor) or loss.numel() != 1:
            shape = loss.shape if isinstance(loss, Tensor) else type(loss).__name__
            raise ValueError(
                f"Trainer: loss_fn must return a 0-d Tensor, got {shape}; use reduction='mean'"
            )
        value = float(loss.data.reshape(()))
        # HINT: a NaN or infinite loss must stop training: raise NonFiniteLossError with the epoch,
        # HINT: step, batch, value and the last finite loss (1-based epoch and step)
        # BEGIN SOLUTION
        if not math.isfinite(value):
            raise NonFiniteLossError(
                self.epoch + 1, self.global_step + 1, batch, value, self.last_finite_loss
            )
        # END SOLUTION
        return value

    def train_step(self, inputs: Any, targets: Any, batch: int = 1) -> tuple[float, Tensor]:
        """Forward, loss, backward, clip, update (and a per-batch scheduler step); returns the
        loss value and the model's output. ``batch`` (1-based, within the epoch) is for errors."""
        output = self.model(inputs)
        loss = self.loss_fn(output, targets)
        value = self._loss_value(loss, batch)
        # HINT: zero the old gradients, backpropagate, clip if self.grad_clip, update
        # BEGIN SOLUTION
        self.optimizer.zero_grad()
        loss.backward()
        if self.grad_clip is not None:
            clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        # END SOLUTION
        if self.scheduler is not None and self.scheduler_step == "batch":
            self.scheduler.step()
        self.global_step += 1
        self.last_finite_loss = value
        return value, output

    # ----------------------------------------------------------------- epochs
    def _metric_values(self, output: Tensor, targets: Any) -> dict[str, float]:
        return {name: float(fn(output, targets)) for name, fn in self.metrics.items()}

    def _batches(self, loader: Iterable[Any], description: str) -> Iterable[Any]:
        if not self.progress:
            return loader
        total = len(loader) if isinstance(loader, Sized) else None
        return track(loader, total=total, description=description, unit="batch")

    def train_epoch(self, loader: Iterable[Any], epochs: int | None = None) -> dict[str, float]:
        """One pass over ``loader`` in training mode: mean loss and metrics, samples, time."""
        self.model.train()
        sums = {"loss": 0.0, **{name: 0.0 for name in self.metrics}}
        seen = 0
        description = f"epoch {self.epoch + 1}" + (f"/{epochs}" if epochs else "")
        start = time.perf_counter()
        for batch, item in enumerate(self._batches(loader, description), start=1):
            inputs, targets = _split(item)
            value, output = self.train_step(inputs, targets, batch)
            n = _count(targets)
            sums["loss"] += value * n
            for name, metric in self._metric_values(output, targets).items():
                sums[name] += metric * n
            seen += n
        elapsed = time.perf_counter() - start
        if seen == 0:
            raise ValueError(
                "Trainer.fit: the training loader gave no batches; check the dataset size and "
                "batch_size (drop_last=True drops a short only batch)"
            )
        return {**{k: v / seen for k, v in sums.items()}, "samples": seen, "time_s": elapsed}

    def evaluate(self, loader: Iterable[Any]) -> dict[str, float]:
        """Mean loss and metrics over ``loader`` without recording a graph, in eval mode.

        Every module's ``training`` flag is put back afterwards. Returns ``{"loss": ...,
        <metric>: ..., "samples": n, "time_s": seconds}`` (means weighted by batch size).
        """
        modes = [(module, module.training) for module in self.model.modules()]
        sums = {"loss": 0.0, **{name: 0.0 for name in self.metrics}}
        seen = 0
        start = time.perf_counter()
        self.model.eval()
        try:
            with no_grad():
                for item in loader:
                    inputs, targets = _split(item)
                    output = self.model(inputs)
                    n = _count(targets)
                    sums["loss"] += float(self.loss_fn(output, targets).data.reshape(())) * n
                    for name, metric in self._metric_values(output, targets).items():
                        sums[name] += metric * n
                    seen += n
        finally:
            for module, mode in modes:
                module.training = mode
        if seen == 0:
            raise ValueError("Trainer.evaluate: the loader gave no batches")
        elapsed = time.perf_counter() - start
        return {**{k: v / seen for k, v in sums.items()}, "samples": seen, "time_s": elapsed}

    def _improved(self, value: float) -> bool:
        """Early-stopping bookkeeping for one epoch's monitored value; True if it improved.

        ``value`` is a loss (lower is better; a metric arrives negated, see `fit`).
        """
        # HINT: an improvement is value < best - min_delta (or the first epoch); reset
        # HINT: bad_epochs on improvement, else count one more bad epoch
        # BEGIN SOLUTION
        if self.best is None or value < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = value, self.epoch, 0
            return True
        self.bad_epochs += 1
        return False
        # END SOLUTION

    # ----------------------------------------------------------------- fit
    def fit(
        self,
        train_loader: Iterable[Any],
        epochs: int,
        val_loader: Iterable[Any] | None = None,
        resume: bool = False,
    ) -> History:
        """Train until ``epochs`` epochs are done in total; returns the `History`.

        ``epochs`` counts from the start of the run (as ``max_epochs``): after a resume from
        epoch k, epochs k+1..``epochs`` run. ``resume=True`` loads ``<checkpoint_dir>/last.npz``
        when it exists (model, optimizer, scheduler, random generators, history, early-stopping
        state) and starts from scratch when it does not.
        """
        roots = {"model": self.model, "loss_fn": self.loss_fn, "train_loader": train_loader}
        if val_loader is not None:
            roots["val_loader"] = val_loader
        if resume:
            self.resume(roots)
        monitor = self.monitor or ("val_loss" if val_loader is not None else "train_loss")
        prefixes = ("train_", "val_") if val_loader is not None else ("train_",)
        columns = [p + name for p in prefixes for name in ("loss", *self.metrics)]
        if monitor not in columns:
            raise ValueError(
                f"Trainer.fit: cannot monitor {monitor!r}; the columns it can watch are "
                f"{columns} (val_ ones need a val_loader)"
            )
        sign = 1.0 if monitor.endswith("loss") else -1.0  # metrics: higher is better
        self.stopped_early = False
        while self.epoch < epochs:
            lr = float(self.optimizer.param_groups[0]["lr"])
            start = time.perf_counter()
            with PeakMemory(trace=self.track_memory) as memory:
                train = self.train_epoch(train_loader, epochs)
                if self.scheduler is not None and self.scheduler_step == "epoch":
                    self.scheduler.step()
                val = self.evaluate(val_loader) if val_loader is not None else None
            self.epoch += 1
            record: dict[str, Any] = {"epoch": self.epoch, "lr": lr, "train_loss": train["loss"]}
            record.update({f"train_{name}": train[name] for name in self.metrics})
            record["val_loss"] = val["loss"] if val is not None else None
            record.update({f"val_{n}": val[n] if val is not None else None for n in self.metrics})
            record.update(
                time_s=time.perf_counter() - start,
                train_time_s=train["time_s"],
                samples_per_s=train["samples"] / train["time_s"] if train["time_s"] else 0.0,
                peak_rss_bytes=memory.rss_bytes,
                peak_traced_bytes=memory.traced_bytes,
            )
            improved = self._improved(sign * record[monitor])
            self.history.append(record)
            if self.checkpoint_dir is not None:
                self.save(self.checkpoint_dir / LAST, roots)
                if improved:
                    self.save(self.checkpoint_dir / BEST, roots)
            self._report(record)
            if (
                self.early_stopping_patience is not None
                and self.bad_epochs >= self.early_stopping_patience
            ):
                self.stopped_early = True
                break
        return self.history

    def _report(self, record: dict[str, Any]) -> None:
        if self.progress and progress_enabled():
            print(History([record]).table())
        if self.on_epoch_end is not None:
            self.on_epoch_end(record)

    # ----------------------------------------------------------------- checkpoints
    def _state(self) -> dict[str, Any]:
        return {
            "global_step": self.global_step,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "last_finite_loss": self.last_finite_loss,
        }

    def save(self, path: str | Path, roots: dict[str, Any] | None = None) -> Path:
        """Write a checkpoint of the whole run (``roots``: where to find random generators)."""
        roots = roots if roots is not None else {"model": self.model, "loss_fn": self.loss_fn}
        return save_checkpoint(
            path,
            self.model,
            self.optimizer,
            self.scheduler,
            epoch=self.epoch,
            rng_state=get_rng_state(**roots),
            history=self.history,
            extra={"trainer": self._state(), **self.checkpoint_extra()},
        )

    def checkpoint_extra(self) -> dict[str, Any]:
        """More entries for every checkpoint's ``extra`` (JSON-able), e.g. a model's config and
        tokenizer, so that a checkpoint alone is enough to rebuild the model. None here."""
        return {}

    def resume(self, roots: dict[str, Any]) -> bool:
        """Load ``<checkpoint_dir>/last.npz`` if it exists; True when something was loaded."""
        if self.checkpoint_dir is None:
            raise ValueError(
                "Trainer.fit: resume=True needs a checkpoint_dir (Trainer(..., "
                "checkpoint_dir='runs/cnn')) to find last.npz in"
            )
        path = self.checkpoint_dir / LAST
        if not path.is_file():
            return False
        checkpoint = load_checkpoint(path, self.model, self.optimizer, self.scheduler)
        set_rng_state(checkpoint.rng_state or {}, **roots)
        state = checkpoint.extra["trainer"]
        self.epoch = checkpoint.epoch
        self.history = History.from_dict(checkpoint.history)
        self.global_step, self.best = state["global_step"], state["best"]
        self.best_epoch, self.bad_epochs = state["best_epoch"], state["bad_epochs"]
        self.last_finite_loss = state["last_finite_loss"]
        return True
