"""The Trainer: fitting, metrics, history, clipping, schedulers, early stopping, the NaN guard,
evaluation mode, and resuming from a checkpoint with bit-identical weights."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinytorch.layers import Dropout, Linear, Module
from tinytorch.networks import Sequential
from tinytorch.optimizers import SGD, Adam, StepLR
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor
from tinytorch.training import (
    CrossEntropyLoss,
    NonFiniteLossError,
    Trainer,
    accuracy,
    clip_grad_norm_,
    grad_norm,
)


class ShuffledBatches:
    """A minimal shuffling loader: its own seeded ``generator`` draws each epoch's order."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0) -> None:
        self.x, self.y, self.batch_size = x, y, batch_size
        self.generator = np.random.default_rng(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = self.generator.permutation(len(self.x))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            yield Tensor(self.x[rows]), Tensor(self.y[rows])


def blobs(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated Gaussian blobs in 2-d: linearly separable."""
    gen = np.random.default_rng(seed)
    centers = np.array([[4.0, 0.0], [-4.0, 4.0], [-4.0, -4.0]])
    y = np.arange(n) % 3
    return (centers[y] + gen.standard_normal((n, 2))).astype(np.float32), y


def constant_batches(values: list[float]) -> list[tuple[Tensor, Tensor]]:
    return [(Tensor(np.zeros((2, 2), dtype=np.float32)), Tensor(np.array([0, 1])))] * len(values)


class ScriptedLoss:
    """A loss whose value follows a script (one value per call), with zero gradient."""

    def __init__(self, values: list[float]) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self, output: Tensor, target: Tensor) -> Tensor:
        value = self.values[min(self.calls, len(self.values) - 1)]
        self.calls += 1
        return (output * 0).sum() + value


def test_fit_reaches_100_percent_on_a_separable_problem() -> None:
    x, y = blobs()
    model = Linear(2, 3, rng=np.random.default_rng(0))
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss(), progress=False)
    history = trainer.fit(ShuffledBatches(x, y, 16), epochs=10, val_loader=[(Tensor(x), y)])
    assert len(history) == 10 and trainer.epoch == 10
    assert history["train_accuracy"][-1] == 1.0
    assert history["val_accuracy"][-1] == 1.0
    assert history["train_loss"][-1] < history["train_loss"][0]
    last = history.last()
    assert last["epoch"] == 10 and last["lr"] == 0.1
    assert last["samples_per_s"] > 0 and last["train_time_s"] <= last["time_s"]
    assert last["peak_rss_bytes"] > 1_000_000 and last["peak_traced_bytes"] is None
    assert trainer.evaluate([(Tensor(x), Tensor(y))])["accuracy"] == 1.0
    assert "epoch 10" in history.table() and "val_accuracy 1.0000" in history.table()


def test_epoch_means_are_weighted_by_batch_size() -> None:
    batches = [
        (Tensor(np.zeros((3, 2), dtype=np.float32)), Tensor(np.array([0, 0, 0]))),
        (Tensor(np.zeros((1, 2), dtype=np.float32)), Tensor(np.array([1]))),
    ]
    model = Linear(2, 2, bias=False)
    model.weight.data[...] = 0
    trainer = Trainer(model, SGD(model.parameters(), lr=0.0), ScriptedLoss([1.0, 5.0]))
    history = trainer.fit(batches, epochs=1)
    assert history["train_loss"] == [(3 * 1.0 + 1 * 5.0) / 4]
    assert history["train_accuracy"] == [0.75]  # argmax of equal scores is class 0


def test_track_memory_reports_traced_peak() -> None:
    x, y = blobs(30)
    model = Linear(2, 3)
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss())
    trainer.track_memory = True
    peak = trainer.fit([(Tensor(x), Tensor(y))], epochs=1)["peak_traced_bytes"][0]
    assert isinstance(peak, int) and peak >= x.nbytes


def test_metrics_can_be_a_dict_or_none_and_on_epoch_end_sees_each_record() -> None:
    x, y = blobs(30)
    seen: list[dict[str, Any]] = []
    model = Linear(2, 3)
    trainer = Trainer(
        model,
        SGD(model.parameters(), lr=0.1),
        CrossEntropyLoss(),
        metrics={"acc": accuracy, "half": lambda out, t: 0.5},
        on_epoch_end=seen.append,
    )
    trainer.fit([(Tensor(x), Tensor(y))], epochs=2)
    assert [r["epoch"] for r in seen] == [1, 2] and seen[0]["train_half"] == 0.5
    assert "train_acc" in seen[0] and seen[0]["val_acc"] is None
    bare = Trainer(model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss(), metrics=None)
    assert "train_accuracy" not in bare.fit([(Tensor(x), Tensor(y))], epochs=1).last()


def test_progress_is_silent_when_not_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = blobs(30)
    model = Linear(2, 3)
    Trainer(model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss(), progress=True).fit(
        [(Tensor(x), Tensor(y))], epochs=2
    )
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------- gradient clipping
def params_with_grads(grads: list[np.ndarray]) -> list[Tensor]:
    params = [Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = Tensor(g.copy())
    return params


def test_clip_grad_norm_scales_the_global_norm_exactly() -> None:
    gen = np.random.default_rng(0)
    grads = [gen.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,), (2, 2, 2)]]
    params = params_with_grads(grads)
    total = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
    returned = clip_grad_norm_([*params, Tensor([1.0], requires_grad=True)], max_norm=1.0)
    assert_close(returned, total, rtol=1e-12)
    coef = 1.0 / (total + 1e-6)
    for p, g in zip(params, grads, strict=True):
        assert_close(p.grad, g * coef, rtol=1e-6)  # one factor for all: direction kept
    assert_close(grad_norm(params), total * coef, rtol=1e-6)
    assert abs(grad_norm(params) - 1.0) < 1e-5


def test_clip_grad_norm_leaves_small_gradients_and_supports_inf_norm() -> None:
    grads = [np.array([0.3, -0.4], dtype=np.float32)]
    params = params_with_grads(grads)
    assert_close(clip_grad_norm_(params, max_norm=1.0), 0.5, rtol=1e-6)
    np.testing.assert_array_equal(params[0].grad.data, grads[0])
    params = params_with_grads([np.array([3.0, -4.0], dtype=np.float32)])
    assert clip_grad_norm_(params, max_norm=2.0, norm_type=math.inf) == 4.0
    assert_close(params[0].grad, [1.5, -2.0], rtol=1e-6)
    assert clip_grad_norm_([Tensor([1.0])], 1.0) == 0.0  # no gradients at all


def test_clip_grad_norm_errors() -> None:
    params = params_with_grads([np.array([np.nan, 1.0], dtype=np.float32)])
    with pytest.raises(FloatingPointError, match=r"total norm of the gradients is nan"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match=r"max_norm must be positive, got 0"):
        clip_grad_norm_(params, 0)


def test_trainer_clips_before_the_update() -> None:
    model = Linear(2, 1, bias=False)
    model.weight.data[...] = 0
    batch = [(Tensor(np.array([[100.0, 100.0]], dtype=np.float32)), Tensor(np.array([[1.0]])))]
    loss = lambda out, t: ((out - t) * (out - t)).mean() * 1000  # noqa: E731
    trainer = Trainer(model, SGD(model.parameters(), lr=0.5), loss, grad_clip=2.0, metrics=None)
    trainer.fit(batch, epochs=1)
    assert_close(np.linalg.norm(model.weight.data), 0.5 * 2.0, rtol=1e-5)  # lr * max_norm


# --------------------------------------------------------------------- schedulers
@pytest.mark.parametrize(("when", "expected"), [("batch", 0.1 * 0.5**6), ("epoch", 0.1 * 0.5**2)])
def test_scheduler_steps_per_batch_or_per_epoch(when: str, expected: float) -> None:
    model = Linear(2, 2)
    optimizer = SGD(model.parameters(), lr=0.1)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    trainer = Trainer(model, optimizer, ScriptedLoss([1.0]), scheduler, scheduler_step=when)
    history = trainer.fit(constant_batches([1, 1, 1]), epochs=2)
    assert_close(optimizer.param_groups[0]["lr"], expected, rtol=1e-12)
    assert history["lr"][0] == 0.1  # the lr at the start of each epoch
    with pytest.raises(ValueError, match=r"scheduler_step must be 'batch' or 'epoch'"):
        Trainer(model, optimizer, ScriptedLoss([1.0]), scheduler, scheduler_step="step")


# --------------------------------------------------------------------- early stopping
@pytest.mark.parametrize(
    ("losses", "patience", "min_delta", "stopped_after", "best_epoch"),
    [
        ([5, 4, 3, 3.5, 3.2, 1, 1], 2, 0.0, 5, 3),
        ([5, 4, 3, 3.5, 2.9, 3.0, 3.1, 3.2], 2, 0.0, 7, 5),
        ([5, 4, 3, 3.5, 2.9, 3.0, 3.1, 3.2], 2, 0.2, 5, 3),  # 2.9 is not 0.2 better than 3
        ([5, 4, 3, 2, 1, 0.5], 1, 0.0, 6, 6),  # never stalls: runs every epoch
    ],
)
def test_early_stopping_stops_at_the_right_epoch(
    losses: list[float], patience: int, min_delta: float, stopped_after: int, best_epoch: int
) -> None:
    model = Linear(2, 2)
    trainer = Trainer(
        model,
        SGD(model.parameters(), lr=0.1),
        ScriptedLoss(losses),
        early_stopping_patience=patience,
        min_delta=min_delta,
    )
    history = trainer.fit(constant_batches([0]), epochs=len(losses))
    assert len(history) == stopped_after and trainer.epoch == stopped_after
    assert trainer.best_epoch == best_epoch
    assert trainer.stopped_early == (stopped_after < len(losses))


def test_early_stopping_monitors_val_loss_when_there_is_a_validation_loader() -> None:
    model = Linear(2, 2)
    val_losses = ScriptedLoss([9.0, 8.0, 8.5, 8.5, 8.5])
    train_and_val = ScriptedLoss([])

    def loss(output: Tensor, target: Tensor) -> Tensor:
        scripted = val_losses if not output.requires_grad else train_and_val
        scripted.values = scripted.values or [1.0]
        return scripted(output, target)

    trainer = Trainer(model, SGD(model.parameters(), lr=0.0), loss, early_stopping_patience=2)
    history = trainer.fit(constant_batches([0]), epochs=9, val_loader=constant_batches([0]))
    assert history["val_loss"] == [9.0, 8.0, 8.5, 8.5] and trainer.best_epoch == 2


def test_early_stopping_on_a_metric_waits_for_it_to_rise() -> None:
    model = Linear(2, 2)
    scripted = iter([0.5, 0.7, 0.6, 0.8, 0.9, 0.85, 0.9, 1.0])

    def metric(output: Tensor, target: Tensor) -> float:
        return next(scripted)

    trainer = Trainer(
        model,
        SGD(model.parameters(), lr=0.0),
        ScriptedLoss([1.0]),
        metrics={"score": metric},
        monitor="train_score",
        early_stopping_patience=2,
    )
    history = trainer.fit(constant_batches([0]), epochs=8)
    assert history["train_score"] == [0.5, 0.7, 0.6, 0.8, 0.9, 0.85, 0.9]  # 0.9 is no rise
    assert trainer.best_epoch == 5 and trainer.stopped_early


def test_an_unknown_monitor_is_refused_before_training() -> None:
    model = Linear(2, 2)
    trainer = Trainer(
        model, SGD(model.parameters(), lr=0.1), ScriptedLoss([1.0]), monitor="val_loss"
    )
    with pytest.raises(
        ValueError, match=r"cannot monitor 'val_loss'.*\['train_loss', 'train_accuracy'\]"
    ):
        trainer.fit(constant_batches([0]), epochs=1)
    assert trainer.epoch == 0


# --------------------------------------------------------------------- the NaN guard
def test_a_nan_loss_stops_training_naming_epoch_and_step() -> None:
    model = Linear(2, 2)
    before: list[np.ndarray] = []
    script = ScriptedLoss([2.0, 1.5, 1.25, 1.0, float("nan")])
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), script, metrics=None)
    original_step = trainer.train_step

    def remember(*args: Any) -> Any:
        before[:] = [p.data.copy() for p in model.parameters()]
        return original_step(*args)

    trainer.train_step = remember  # type: ignore[method-assign]
    with pytest.raises(NonFiniteLossError) as caught:
        trainer.fit(constant_batches([0, 0]), epochs=5)
    error = caught.value
    assert (error.epoch, error.step, error.batch, error.last_finite) == (3, 5, 1, 1.0)
    assert math.isnan(error.value)
    assert "loss is nan at epoch 3, step 5 (batch 1 of the epoch)" in str(error)
    assert "last finite loss was 1 at step 4" in str(error)
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)  # the NaN step did not update the model


def test_an_infinite_loss_on_the_first_step_also_stops() -> None:
    model = Linear(2, 2)
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), ScriptedLoss([math.inf]))
    with pytest.raises(NonFiniteLossError, match=r"loss is inf at epoch 1, step 1.*no step before"):
        trainer.fit(constant_batches([0]), epochs=1)


# --------------------------------------------------------------------- evaluation and errors
def test_evaluate_uses_eval_mode_without_a_graph_and_restores_the_modes() -> None:
    model = Sequential(Linear(2, 4), Dropout(0.5), Linear(4, 2))
    model.layers[2].training = False  # a mixed state must come back as it was
    seen: list[tuple[bool, bool]] = []

    def loss(output: Tensor, target: Tensor) -> Tensor:
        seen.append((model.layers[1].training, output.requires_grad))
        return CrossEntropyLoss()(output, target)

    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), loss)
    result = trainer.evaluate(constant_batches([0, 0]))
    assert seen == [(False, False), (False, False)]
    assert [m.training for m in model.modules()] == [True, True, True, False]
    assert result["samples"] == 4 and set(result) == {"loss", "accuracy", "samples", "time_s"}


class Pairless(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x


def test_bad_batches_losses_and_options_raise() -> None:
    model = Linear(2, 2)
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss())
    with pytest.raises(
        TypeError, match=r"each batch must be a pair \(inputs, targets\), got a tuple of 3"
    ):
        trainer.fit([(Tensor([[1.0, 2.0]]), Tensor([0]), Tensor([0]))], epochs=1)
    with pytest.raises(TypeError, match=r"got Tensor"):
        trainer.fit([Tensor([[1.0, 2.0]])], epochs=1)
    with pytest.raises(ValueError, match=r"the training loader gave no batches"):
        trainer.fit([], epochs=1)
    per_sample = Trainer(model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss(reduction="none"))
    with pytest.raises(ValueError, match=r"must return a 0-d Tensor, got \(2,\)"):
        per_sample.fit(constant_batches([0]), epochs=1)
    with pytest.raises(ValueError, match=r"grad_clip must be a positive norm"):
        Trainer(model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss(), grad_clip=0)
    with pytest.raises(ValueError, match=r"early_stopping_patience must be >= 1"):
        Trainer(
            model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss(), early_stopping_patience=0
        )
    with pytest.raises(ValueError, match=r"resume=True needs a checkpoint_dir"):
        trainer.fit(constant_batches([0]), epochs=1, resume=True)


# --------------------------------------------------------------------- checkpoint and resume
def build_run(checkpoint_dir: Path | None, seed: int = 0) -> tuple[Trainer, ShuffledBatches]:
    """Everything random is seeded: weights, Dropout's generator, the loader's shuffling."""
    x, y = blobs(60, seed=1)
    rng = np.random.default_rng(seed)
    model = Sequential(
        Linear(2, 16, rng=rng),
        Dropout(0.3, rng=np.random.default_rng(seed + 7)),
        Linear(16, 3, rng=rng),
    )
    optimizer = Adam(model.parameters(), lr=0.01)
    scheduler = StepLR(optimizer, step_size=3, gamma=0.7)
    trainer = Trainer(
        model,
        optimizer,
        CrossEntropyLoss(label_smoothing=0.1),
        scheduler,
        grad_clip=1.0,
        early_stopping_patience=50,
        checkpoint_dir=checkpoint_dir,
    )
    return trainer, ShuffledBatches(x, y, batch_size=8, seed=seed + 3)


def final_weights(trainer: Trainer) -> list[np.ndarray]:
    return [p.data.copy() for p in trainer.model.parameters()]


def comparable(history: Any) -> list[dict[str, Any]]:
    timing = ("time_s", "train_time_s", "samples_per_s", "peak_rss_bytes", "peak_traced_bytes")
    return [{k: v for k, v in r.items() if k not in timing} for r in history]


def test_resuming_from_epoch_k_gives_identical_weights(tmp_path: Path) -> None:
    straight, loader = build_run(None)
    straight.fit(loader, epochs=5)

    first, loader = build_run(tmp_path)
    first.fit(loader, epochs=2)  # the process "ends" here
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "last.npz"]
    resumed, fresh_loader = build_run(tmp_path, seed=123)  # other seeds: all state must load
    history = resumed.fit(fresh_loader, epochs=5, resume=True)

    assert resumed.epoch == 5 and resumed.global_step == straight.global_step
    for a, b in zip(final_weights(straight), final_weights(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
    assert comparable(history) == comparable(straight.history)


def test_resuming_after_a_crash_mid_epoch_gives_identical_weights(tmp_path: Path) -> None:
    straight, loader = build_run(None)
    straight.fit(loader, epochs=4)

    crashing, loader = build_run(tmp_path)
    real_loss = crashing.loss_fn

    def crash_in_epoch_3(output: Tensor, target: Tensor) -> Tensor:
        if crashing.epoch == 2 and crashing.global_step == 2 * len(loader) + 3:
            raise KeyboardInterrupt  # Ctrl-C three batches into epoch 3
        return real_loss(output, target)

    crashing.loss_fn = crash_in_epoch_3
    with pytest.raises(KeyboardInterrupt):
        crashing.fit(loader, epochs=4)
    crashing.loss_fn = real_loss  # the same objects, half-way through epoch 3, resume
    crashing.fit(loader, epochs=4, resume=True)
    for a, b in zip(final_weights(straight), final_weights(crashing), strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_without_a_checkpoint_starts_from_scratch(tmp_path: Path) -> None:
    trainer, loader = build_run(tmp_path / "new")
    trainer.fit(loader, epochs=1, resume=True)
    assert trainer.epoch == 1 and (tmp_path / "new" / "last.npz").is_file()
    trainer.fit(loader, epochs=1, resume=True)  # already done: nothing more runs
    assert len(trainer.history) == 1
