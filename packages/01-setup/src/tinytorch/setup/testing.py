"""Test helpers used by every later module: ``assert_close`` and finite-difference ``gradcheck``.

Both accept NumPy arrays, Python scalars, or tensor-like objects (anything with a ``.data``
ndarray or a ``.numpy()`` method), so the same helpers test module 02's ``Tensor`` and beyond.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "GradcheckResult",
    "InputGradcheck",
    "assert_close",
    "gradcheck",
    "numerical_gradient",
    "to_numpy",
]


def to_numpy(x: Any) -> np.ndarray:
    """Convert an array, scalar, nested list or tensor-like object to a NumPy array."""
    if isinstance(x, np.ndarray):
        return x
    data = getattr(x, "data", None)
    if isinstance(data, np.ndarray):
        return data
    to_np = getattr(x, "numpy", None)
    if callable(to_np):
        return np.asarray(to_np())
    return np.asarray(x)


def _worst(score: np.ndarray) -> tuple[int, ...]:
    """Index (as a tuple) of the largest entry of ``score``."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(score)), score.shape))


def _errors(actual: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise absolute and relative error in float64 (0 where the values are equal)."""
    with np.errstate(all="ignore"):  # inf - inf and x / 0 are expected here
        a, e = actual.astype(np.float64), expected.astype(np.float64)
        abs_err = np.where(a == e, 0.0, np.abs(a - e))
        abs_err = np.where(np.isnan(abs_err), np.inf, abs_err)  # +inf vs -inf, etc.
        rel_err = np.where(abs_err == 0, 0.0, abs_err / np.abs(e))
    return abs_err, rel_err


def assert_close(
    actual: Any,
    expected: Any,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    msg: str = "",
) -> None:
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise, like np.allclose.

    Shapes must be equal (no broadcasting: a broadcast hides shape bugs) and NaNs must be in the
    same places. The failure message names the shapes, dtypes, the largest absolute and
    relative errors, the index of the worst element with both values there, and how many
    elements mismatch.
    """
    a, e = to_numpy(actual), to_numpy(expected)
    prefix = f"{msg}\n" if msg else ""
    if a.shape != e.shape:
        raise AssertionError(
            f"{prefix}Shape mismatch: actual has shape {a.shape}, expected has shape {e.shape} "
            f"(dtypes: actual {a.dtype}, expected {e.dtype})"
        )
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    nan_mismatch = np.isnan(a64) != np.isnan(e64)
    if nan_mismatch.any():
        idx = _worst(nan_mismatch)
        raise AssertionError(
            f"{prefix}NaN mismatch in {int(nan_mismatch.sum())} of {a.size} elements "
            f"(shape {a.shape}); first at index {idx}: actual={float(a64[idx])!r}, "
            f"expected={float(e64[idx])!r}"
        )
    with np.errstate(all="ignore"):  # inf - inf is nan here, and that is expected
        # HINT: elementwise |actual - expected| <= atol + rtol * |expected| (np.allclose's rule:
        # HINT: the tolerance scales with `expected`) for finite values; an infinity is close
        # HINT: only to the same infinity (inf - inf is nan; |inf - -inf| <= inf would pass),
        # HINT: and NaN is close to NaN (their positions were checked above)
        # BEGIN SOLUTION
        finite = np.isfinite(a64) & np.isfinite(e64)
        within = finite & (np.abs(a64 - e64) <= atol + rtol * np.abs(e64))
        close = (a64 == e64) | within | (np.isnan(a64) & np.isnan(e64))
        # END SOLUTION
    if close.all():
        return
    abs_err, rel_err = _errors(a64, e64)
    abs_err = np.where(close, 0.0, abs_err)  # only mismatched elements can be the worst
    idx = _worst(abs_err)
    n_bad = int((~close).sum())
    max_rel = np.where(close, 0.0, rel_err).max()
    raise AssertionError(
        f"{prefix}Not close (rtol={rtol:g}, atol={atol:g}): {n_bad} of {a.size} elements "
        f"mismatch ({100 * n_bad / a.size:.1f}%)\n"
        f"  shapes: actual {a.shape}, expected {e.shape}; "
        f"dtypes: actual {a.dtype}, expected {e.dtype}\n"
        f"  max abs error: {abs_err.max():.6g}; max rel error: {max_rel:.6g}\n"
        f"  worst element at index {idx}: actual={float(a64[idx])!r}, expected={float(e64[idx])!r}"
    )


FLOAT64_NOTE = (
    "note Tensor(np.float64 array) makes float32 unless dtype=np.float64 is given: "
    "Tensor(x, dtype=np.float64)"
)


def _check_float64_output(out: np.ndarray) -> None:
    """Finite differences of a float32 (or float16) result are noise: refuse them."""
    if out.dtype.kind == "f" and out.dtype.itemsize < 8:
        raise TypeError(
            f"gradcheck: fn returned {out.dtype} for float64 inputs; finite differences need "
            f"float64 (a step of eps=1e-6 is lost in {out.dtype}'s rounding, so the numeric "
            f"gradient is noise). Compute fn in float64; {FLOAT64_NOTE}"
        )


def numerical_gradient(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    grad_output: Any = None,
    eps: float = 1e-6,
) -> list[np.ndarray]:
    """Central finite differences of ``sum(fn(*inputs) * grad_output)`` w.r.t. each input.

    That sum's gradient is the vector-Jacobian product that a backward pass computes. Each
    element costs two calls of ``fn``: 2 * (total input size) calls in all -- this is why real
    frameworks use reverse-mode autodiff and keep finite differences for testing on tiny inputs.
    Everything is computed in float64; ``grad_output`` defaults to ones (the gradient of a sum).
    ``fn`` must return float64 for float64 inputs (a float32 result raises a TypeError).
    """
    xs = [np.array(to_numpy(x), dtype=np.float64) for x in inputs]  # copies, float64
    out = to_numpy(fn(*xs))
    _check_float64_output(out)
    out = out.astype(np.float64)
    g = np.ones_like(out) if grad_output is None else to_numpy(grad_output).astype(np.float64)
    if g.shape != out.shape:
        raise ValueError(f"grad_output has shape {g.shape}, but fn's output has shape {out.shape}")

    def objective() -> float:
        return float(np.sum(to_numpy(fn(*xs)).astype(np.float64) * g))

    grads = []
    for x in xs:
        grad = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            # HINT: central difference: nudge x[idx] to x + eps, then x - eps, evaluating
            # HINT: objective() each time; grad = (f_plus - f_minus) / (2 * eps). Put the
            # HINT: original value back before the next element, or every later one is off
            # BEGIN SOLUTION
            original = x[idx]
            x[idx] = original + eps
            f_plus = objective()
            x[idx] = original - eps
            f_minus = objective()
            x[idx] = original
            grad[idx] = (f_plus - f_minus) / (2 * eps)
            # END SOLUTION
        grads.append(grad)
    return grads


@dataclass(frozen=True)
class InputGradcheck:
    """Comparison of the analytic and numeric gradient for one input."""

    index: int  # which input
    ok: bool
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...]  # element that violates the tolerance the most
    analytic: float  # analytic gradient at worst_index
    numeric: float  # finite-difference gradient at worst_index

    def describe(self) -> str:
        """One line for reports and failure messages."""
        status = "ok" if self.ok else "MISMATCH"
        return (
            f"input {self.index}: {status}; worst element at index {self.worst_index}: "
            f"analytic={self.analytic:.8g}, numeric={self.numeric:.8g}, "
            f"abs error={self.max_abs_error:.3g}, rel error={self.max_rel_error:.3g}"
        )


@dataclass(frozen=True)
class GradcheckResult:
    """Per-input results of ``gradcheck``."""

    inputs: tuple[InputGradcheck, ...]

    @property
    def ok(self) -> bool:
        """True when every input's gradient matched."""
        return all(check.ok for check in self.inputs)

    @property
    def max_abs_errors(self) -> list[float]:
        """Largest absolute error, per input."""
        return [check.max_abs_error for check in self.inputs]

    @property
    def max_rel_errors(self) -> list[float]:
        """Largest relative error, per input."""
        return [check.max_rel_error for check in self.inputs]

    def report(self) -> str:
        """All inputs, one line each."""
        return "\n".join(check.describe() for check in self.inputs)


def _compare(
    index: int, analytic: np.ndarray, numeric: np.ndarray, rtol: float, atol: float
) -> InputGradcheck:
    abs_err, rel_err = _errors(analytic, numeric)
    # HINT: how far each element is beyond its tolerance: |analytic - numeric| minus
    # HINT: (atol + rtol * |numeric|); positive exactly where the gradients disagree
    # BEGIN SOLUTION
    excess = abs_err - (atol + rtol * np.abs(numeric))
    # END SOLUTION
    if excess.size == 0:
        return InputGradcheck(index, True, 0.0, 0.0, (), 0.0, 0.0)
    idx = _worst(excess)
    return InputGradcheck(
        index=index,
        ok=bool((excess <= 0).all()),
        max_abs_error=float(abs_err.max()),
        max_rel_error=float(rel_err.max()),
        worst_index=idx,
        analytic=float(analytic[idx]),
        numeric=float(numeric[idx]),
    )


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    grad_fn: Callable[..., Sequence[Any]],
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    seed: int = 0,
    raise_on_failure: bool = True,
) -> GradcheckResult:
    """Check an analytic backward ``grad_fn`` against finite differences of ``fn``.

    ``fn(*arrays)`` computes the output; ``grad_fn(*arrays, grad_output)`` returns one gradient
    per input. Inputs are cast to float64 (float32 finite differences are too noisy) and a
    seeded random ``grad_output`` is used, so a backward that ignores ``grad_output`` fails.

    Precision: a float32 (or float16) input gets a ``UserWarning`` (it is checked as float64,
    its values exactly, but the code under test probably meant float32), and an ``fn`` that
    returns float32 for the float64 inputs raises a ``TypeError``: its finite differences would
    be noise. The usual cause is ``Tensor(x)`` inside ``fn``, which makes float32 from float64
    data unless ``dtype=np.float64`` is given.
    Raises ``AssertionError`` naming the input, the worst element, both values and the errors;
    with ``raise_on_failure=False`` returns the result instead (check ``result.ok``).
    """
    arrays = [to_numpy(x) for x in inputs]
    for i, array in enumerate(arrays):
        if array.dtype.kind == "f" and array.dtype.itemsize < 8:
            warnings.warn(
                f"gradcheck: input {i} is {array.dtype}; finite differences need float64, so it "
                f"is checked as float64 (its {array.dtype} values, exactly). Pass float64 inputs, "
                f"and compute in float64; {FLOAT64_NOTE}",
                UserWarning,
                stacklevel=2,
            )
    xs = [np.array(a, dtype=np.float64) for a in arrays]
    out = to_numpy(fn(*xs))
    _check_float64_output(out)
    grad_output = np.asarray(np.random.default_rng(seed).standard_normal(out.shape))
    analytic = grad_fn(*[x.copy() for x in xs], grad_output.copy())
    if isinstance(analytic, np.ndarray) or not isinstance(analytic, Sequence):
        analytic = [analytic]  # a single gradient for a single input
    if len(analytic) != len(xs):
        raise AssertionError(f"grad_fn returned {len(analytic)} gradients for {len(xs)} inputs")
    numeric = numerical_gradient(fn, xs, grad_output, eps)
    checks = []
    for i, (ana, num) in enumerate(zip(analytic, numeric, strict=True)):
        ana = to_numpy(ana).astype(np.float64)
        if ana.shape != num.shape:
            raise AssertionError(
                f"gradcheck: gradient of input {i} has shape {ana.shape}, "
                f"but input {i} has shape {num.shape}"
            )
        checks.append(_compare(i, ana, num, rtol, atol))
    result = GradcheckResult(tuple(checks))
    if raise_on_failure and not result.ok:
        failed = "\n".join(f"  {c.describe()}" for c in result.inputs if not c.ok)
        raise AssertionError(
            f"gradcheck failed (eps={eps:g}, rtol={rtol:g}, atol={atol:g}):\n{failed}"
        )
    return result
