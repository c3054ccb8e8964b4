"""The open-set decision: the curve, the threshold chosen on it, and what a rejected message looks like."""

from __future__ import annotations

import numpy as np

from nlu.openset import OUT_OF_SCOPE, decide, fit_threshold, open_set_curve


def test_the_curve_trades_oos_recall_for_in_scope_accuracy() -> None:
    # classes: 0 = directions, 1 = out_of_scope
    probs = np.array([[0.95, 0.05], [0.6, 0.4], [0.55, 0.45], [0.2, 0.8]])
    gold = np.array([0, 0, 1, 1])
    points = {p.threshold: p for p in open_set_curve(probs, gold, oos_index=1, thresholds=(0.0, 0.58, 0.7))}
    assert (points[0.0].oos_recall, points[0.0].in_scope_accuracy) == (0.5, 1.0)
    assert (points[0.58].oos_recall, points[0.58].in_scope_accuracy) == (1.0, 1.0)
    assert (points[0.7].oos_recall, points[0.7].in_scope_accuracy) == (1.0, 0.5)
    assert fit_threshold(list(points.values())) == 0.58


def test_a_rejected_reading_is_out_of_scope_and_never_a_confident_intent() -> None:
    ranking = [("directions", 0.4), ("find_place", 0.35), (OUT_OF_SCOPE, 0.25)]
    decided = decide(ranking, threshold=0.5)
    assert decided[0] == (OUT_OF_SCOPE, 0.6)
    assert [name for name, _ in decided[1:]] == ["directions", "find_place"]
    assert decide(ranking, threshold=0.3) == ranking
