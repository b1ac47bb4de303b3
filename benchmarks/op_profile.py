"""Where a training step's time goes, op by op, in TinyTorch and in PyTorch.

A step is split into phases (``zero_grad``, ``forward``, ``backward``, ``step``), each timed
with `PhaseClock`. Inside the forward and backward phases:

* TinyTorch (`OpProfile`): every Op class's ``forward`` and ``backward`` (the derivative that
  autograd and the layers' hand-written backward both call) is wrapped, while the profile is
  active, in a function that adds its wall time to the op's name (``op.name``: ``conv2d``,
  ``batch_norm``, ``matmul``). The wrappers are removed on exit; nothing in TinyTorch is
  changed for good. Their cost is
  about a microsecond per call (a step calls ~100 ops), so profiled and plain steps take
  about the same time.
* PyTorch (`torch_op_seconds`): ``torch.profiler``'s top-level CPU events, i.e. the ops called
  from Python in the forward (``aten::conv2d``, which includes everything it calls) and the
  autograd engine's ``evaluate_function`` events in the backward (``ConvolutionBackward0``).

Both sides' op names are mapped to shared labels (``TINYTORCH_LABELS``, ``TORCH_LABELS``):
TinyTorch's ``Linear`` is one ``LinearOp`` (a transpose, a matmul and a bias add in older
versions) where PyTorch records one ``aten::linear``, and PyTorch's cross entropy with label
smoothing is ten backward nodes where TinyTorch's is one fused Op. Whatever a phase spends
outside the labelled ops is its *rest*: the Python of the modules and of Tensor wrapping and
graph recording in the forward, the engine's graph walk and the sums into ``.grad`` in the
backward.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tinytorch.tensor import Op

PHASES = ("zero_grad", "forward", "backward", "step")
REST = "rest"

# TinyTorch op names (``op.name``) -> the label shared with PyTorch; unlisted names stay as is.
TINYTORCH_LABELS = {
    "conv2d": "conv2d",
    "batch_norm": "batch_norm",
    "relu": "relu",
    "max_pool2d": "max_pool2d",
    "mean": "global avg pool (mean)",
    "linearop": "linear",
    "permute": "linear",
    "matmul": "linear",
    "add": "linear",
    "crossentropyop": "cross entropy",
}
# PyTorch's top-level event names -> the shared label; unlisted events count as the rest.
TORCH_LABELS = {
    "aten::conv2d": "conv2d",
    "aten::batch_norm": "batch_norm",
    "aten::relu": "relu",
    "aten::max_pool2d": "max_pool2d",
    "aten::mean": "global avg pool (mean)",
    "aten::linear": "linear",
    "aten::cross_entropy_loss": "cross entropy",
    "ConvolutionBackward0": "conv2d",
    "NativeBatchNormBackward0": "batch_norm",
    "ReluBackward0": "relu",
    "MaxPool2DWithIndicesBackward0": "max_pool2d",
    "MeanBackward1": "global avg pool (mean)",
    "AddmmBackward0": "linear",
    "TBackward0": "linear",
    **dict.fromkeys(
        (
            "LogSoftmaxBackward0",
            "NllLossBackward0",
            "MulBackward0",
            "MulBackward1",
            "AddBackward0",
            "DivBackward0",
            "SumBackward0",
            "SumBackward1",
            "MaskedFillBackward0",
            "NegBackward0",
        ),
        "cross entropy",
    ),
}
ENGINE_EVENT = "autograd::engine::evaluate_function: "

Seconds = dict[tuple[str, str], float]  # (phase, label) -> seconds


class PhaseClock:
    """Wall time per phase of a step: ``with clock.phase("forward"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.current = ""

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.current = name
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start
            self.current = ""

    def training_step(self, optimizer: Any, forward: Callable[[], Any]) -> float:
        """One training step of either library, each phase timed: ``zero_grad``, ``forward``
        (``forward()`` returns the loss), ``backward``, ``step``; returns the loss."""
        with self.phase("zero_grad"):
            optimizer.zero_grad()
        with self.phase("forward"):
            loss = forward()
        with self.phase("backward"):
            loss.backward()
        with self.phase("step"):
            optimizer.step()
        return float(loss.item())


class KernelClock:
    """CPU time this process spent in the kernel, and its page faults, while active.

    Mostly page faults: a fresh NumPy array larger than glibc's mmap threshold (32 MiB at
    most) is new memory from the kernel, which zeroes every page on its first touch, and
    returns it on free. Process-wide: BLAS threads count too.
    """

    def __enter__(self) -> KernelClock:
        self._start = resource.getrusage(resource.RUSAGE_SELF)
        return self

    def __exit__(self, *exc: object) -> None:
        end = resource.getrusage(resource.RUSAGE_SELF)
        self.seconds = end.ru_stime - self._start.ru_stime
        self.page_faults = end.ru_minflt - self._start.ru_minflt

    def per_step(self, steps: int) -> dict[str, float]:
        return {"seconds": self.seconds / steps, "page_faults": self.page_faults / steps}


def op_classes() -> list[type[Op]]:
    """Every Op subclass imported so far (subclasses of subclasses too)."""
    found: list[type[Op]] = []
    stack = [Op]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


class OpProfile:
    """While active, add each TinyTorch op's forward and backward time to its label.

    ``seconds[(phase, label)]`` and ``calls[(phase, label)]`` accumulate over every step run
    inside; the phase is the clock's current one. A forward (backward) that calls another
    op's forward (backward), e.g. a subclass calling ``super().forward``, is counted once, as
    the outer op.
    """

    METHODS = ("forward", "backward")

    def __init__(self, clock: PhaseClock) -> None:
        self.clock = clock
        self.seconds: Seconds = defaultdict(float)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)
        self._inside = dict.fromkeys(self.METHODS, False)
        self._wrapped: list[tuple[type[Op], str, Callable[..., Any]]] = []

    def _add(self, op: Op, start: float) -> None:
        key = (self.clock.current, TINYTORCH_LABELS.get(op.name, op.name))
        self.seconds[key] += time.perf_counter() - start
        self.calls[key] += 1

    def _timed(self, method: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(op: Op, *args: Any, **kwargs: Any) -> Any:
            if self._inside[method]:
                return function(op, *args, **kwargs)
            self._inside[method], start = True, time.perf_counter()
            try:
                return function(op, *args, **kwargs)
            finally:
                self._inside[method] = False
                self._add(op, start)

        return timed

    def __enter__(self) -> OpProfile:
        for cls in op_classes():
            for method in self.METHODS:
                if method in vars(cls):
                    function = vars(cls)[method]
                    self._wrapped.append((cls, method, function))
                    setattr(cls, method, self._timed(method, function))
        return self

    def __exit__(self, *exc: object) -> None:
        for cls, method, function in self._wrapped:
            setattr(cls, method, function)
        self._wrapped = []


def torch_op_seconds(profiler: Any) -> tuple[Seconds, dict[tuple[str, str], int]]:
    """Seconds and calls per (phase, label) of a finished ``torch.profiler.profile``.

    Only top-level events count (each includes the work of the events it calls), so nothing is
    counted twice; a forward event name gives phase ``forward``, an autograd engine event
    ``backward``. Unlisted events are left to the phase's rest.
    """
    seconds: Seconds = defaultdict(float)
    calls: dict[tuple[str, str], int] = defaultdict(int)
    for event in profiler.events():
        if event.cpu_parent is not None:
            continue
        name, phase = event.name, "forward"
        if name.startswith(ENGINE_EVENT):
            name, phase = name[len(ENGINE_EVENT) :], "backward"
        label = TORCH_LABELS.get(name)
        if label is not None:
            seconds[(phase, label)] += event.cpu_time_total / 1e6  # microseconds
            calls[(phase, label)] += 1
    return seconds, calls


def entry(phase: str, part: str, seconds: float, calls: float | None) -> dict[str, Any]:
    return {"phase": phase, "part": part, "seconds": seconds, "calls": calls}


def breakdown(
    phases: dict[str, float],
    op_seconds: Seconds,
    op_calls: dict[tuple[str, str], int],
    steps: int,
) -> list[dict[str, Any]]:
    """Per-step entries ``{"phase", "part", "seconds", "calls"}``: the forward's and backward's
    labelled ops (largest first) and their rest, then zero_grad and the optimizer step whole."""
    entries: list[dict[str, Any]] = []
    for phase in PHASES:
        wall = phases.get(phase, 0.0)
        if phase not in ("forward", "backward"):
            entries.append(entry(phase, phase, wall / steps, None))
            continue
        parts = [(label, s) for (p, label), s in op_seconds.items() if p == phase]
        for label, seconds in sorted(parts, key=lambda part: -part[1]):
            entries.append(entry(phase, label, seconds / steps, op_calls[(phase, label)] / steps))
            wall -= seconds
        entries.append(entry(phase, REST, wall / steps, None))
    return entries


def median_breakdown(steps: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One breakdown from several one-step breakdowns: each part's median over the steps (a
    part missing from a step counts 0 there), in the order of the slowest-first parts.

    A median, not a mean: now and then the kernel stalls one step for tens of milliseconds
    while it finds memory, and a mean of three steps would spread that stall over every row.
    """
    keys: dict[tuple[str, str], None] = {}
    for entries in steps:
        keys.update(((e["phase"], e["part"]), None) for e in entries)
    lookup = [{(e["phase"], e["part"]): e for e in entries} for entries in steps]
    merged = []
    for phase in PHASES:
        rows = []
        for key in (k for k in keys if k[0] == phase):
            found = [step.get(key) for step in lookup]
            seconds = statistics.median(e["seconds"] if e else 0.0 for e in found)
            calls = [e["calls"] for e in found if e and e["calls"] is not None]
            rows.append(entry(*key, seconds, statistics.median(calls) if calls else None))
        named = sorted((r for r in rows if r["calls"] is not None), key=lambda r: -r["seconds"])
        merged += named + [r for r in rows if r["calls"] is None]
    return merged
