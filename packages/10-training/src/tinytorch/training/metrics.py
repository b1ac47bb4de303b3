"""Metrics: numbers for people (accuracy), computed beside the loss and never differentiated.

A metric is ``metric(output, target) -> float``, the mean over the batch; the Trainer averages
it over an epoch weighted by batch size, so the epoch value is exact (correct / total).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.tensor import Tensor

__all__ = ["accuracy"]


def _array(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def accuracy(output: Any, target: Any) -> float:
    """Fraction of correct predictions in the batch, in [0, 1].

    - Multi-class: ``output: (N, C)`` scores (logits or probabilities), ``target: (N,)`` int
      labels; the prediction is the arg-max class.
    - Binary: ``output: (N,)`` or ``(N, 1)`` logits, ``target`` of the same size with 0/1
      values; the prediction is ``logit > 0`` (probability > 0.5).

    Cost: one pass over the outputs, O(N * C).
    """
    scores, labels = _array(output), _array(target)
    if scores.ndim == 2 and scores.shape[1] > 1:
        if labels.shape != (scores.shape[0],):
            raise ValueError(
                f"accuracy: for scores of shape {scores.shape} the labels must have shape "
                f"({scores.shape[0]},), got {labels.shape}"
            )
        # HINT: multi-class scores (N, C): the predicted class is the arg-max over the classes
        # BEGIN SOLUTION
        predicted = scores.argmax(axis=1)
        # END SOLUTION
    else:
        if scores.size != labels.size:
            raise ValueError(
                f"accuracy: binary outputs of shape {scores.shape} need one 0/1 target each, "
                f"got targets of shape {labels.shape}"
            )
        scores, labels = scores.reshape(-1), labels.reshape(-1)
        # HINT: one logit per example: predict class 1 where the logit is positive (sigmoid > 0.5)
        # BEGIN SOLUTION
        predicted = scores > 0
        # END SOLUTION
    if labels.size == 0:
        return 0.0
    # HINT: the fraction of predictions equal to the labels, as a Python float
    # BEGIN SOLUTION
    return float((predicted == labels).mean())
    # END SOLUTION
