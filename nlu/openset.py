"""The open-set decision: a message the model is not confident about is ``out_of_scope``.

Most of what the public types into a city bot is about something else (banks, phones, football,
recipes). A closed-set classifier still gives every such message *some* in-scope intent, so the
calibrated probability of the best intent is compared with a threshold, and below it the message is
read as out of scope. The threshold is tuned at training time on out-of-fold predictions of the
training data (cross-validation with whole out-of-scope domains held out, see
:func:`nlu.classifier.train_intent_model`), never on test data: it is the point of the
OOS-recall / in-scope-accuracy curve with the best balance of the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["OUT_OF_SCOPE", "THRESHOLDS", "CurvePoint", "decide", "fit_threshold", "open_set_curve"]

OUT_OF_SCOPE = "out_of_scope"
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(19))
"""Thresholds tried: 0.00 (closed set) to 0.90."""


@dataclass(frozen=True)
class CurvePoint:
    """How a threshold trades out-of-scope recall against in-scope accuracy."""

    threshold: float
    oos_recall: float
    in_scope_accuracy: float
    accuracy: float

    @property
    def balance(self) -> float:
        """The mean of out-of-scope recall and in-scope accuracy: what the threshold maximises."""
        return (self.oos_recall + self.in_scope_accuracy) / 2

    def to_dict(self) -> dict[str, float]:
        """JSON-ready."""
        return {
            "threshold": self.threshold,
            "oos_recall": round(self.oos_recall, 4),
            "in_scope_accuracy": round(self.in_scope_accuracy, 4),
            "accuracy": round(self.accuracy, 4),
        }


def open_set_curve(
    probs: npt.NDArray[np.float64],
    gold: npt.NDArray[np.int64],
    oos_index: int,
    thresholds: Sequence[float] = THRESHOLDS,
) -> list[CurvePoint]:
    """The decision's effect at each threshold, from class probabilities and gold class indices.

    Args:
        probs: ``(n, classes)`` calibrated probabilities.
        gold: ``(n,)`` the right class of each row.
        oos_index: the column of ``out_of_scope``.
        thresholds: the thresholds to try.
    """
    top = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    is_oos = gold == oos_index
    points = []
    for threshold in thresholds:
        predicted = np.where((top != oos_index) & (confidence < threshold), oos_index, top)
        right = predicted == gold
        points.append(
            CurvePoint(
                threshold=float(threshold),
                oos_recall=float(right[is_oos].mean()) if is_oos.any() else 0.0,
                in_scope_accuracy=float(right[~is_oos].mean()) if (~is_oos).any() else 0.0,
                accuracy=float(right.mean()) if len(right) else 0.0,
            )
        )
    return points


def fit_threshold(points: Sequence[CurvePoint]) -> float:
    """The threshold with the best balance of out-of-scope recall and in-scope accuracy (lowest on ties)."""
    best = max(points, key=lambda p: (round(p.balance, 6), -p.threshold), default=None)
    return best.threshold if best is not None else 0.0


def decide(ranking: Sequence[tuple[str, float]], threshold: float) -> list[tuple[str, float]]:
    """``ranking`` with ``out_of_scope`` first when its best in-scope intent is below ``threshold``.

    The out-of-scope confidence is then one minus that intent's probability, so a rejected message is
    never reported as a confident in-scope intent.
    """
    if not ranking or ranking[0][0] == OUT_OF_SCOPE or ranking[0][1] >= threshold:
        return list(ranking)
    others = [(name, p) for name, p in ranking if name != OUT_OF_SCOPE]
    oos = max((p for name, p in ranking if name == OUT_OF_SCOPE), default=0.0)
    return [(OUT_OF_SCOPE, max(oos, 1.0 - ranking[0][1])), *others]
