"""NLU evaluation: intent accuracy, macro-F1, per-intent report, confusions, entity precision/recall.

Used by ``dalil nlu evaluate`` on the held-out file (``data/nlu/test/``), on the blind sets
(``data/nlu/blind/<set>/<variety>.yml``) or by k-fold cross-validation over the training data, and by
the benchmarks that compare engines side by side.

Entities are matched in one of two ways. ``value``: the predicted value equals the annotated one (the
held-out files annotate knowledge ids, ``[رد سي مول](place:red-sea-mall)``). ``span``: the blind sets
annotate the type only (``[رد سي مول](place)``), so a hit is the same type over the same characters
(``span``) or over overlapping characters (``overlap``, reported beside it).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nlu.training_data import Example
from nlu.types import Parse

__all__ = ["EntityMatch", "Report", "cross_validate", "evaluate", "variety"]

EntityMatch = Literal["value", "span", "overlap"]
OUT_OF_SCOPE = "out_of_scope"


@dataclass
class Report:
    """Evaluation results."""

    examples: int
    accuracy: float
    macro_f1: float
    per_intent: dict[str, dict[str, float]]
    confusions: list[tuple[str, str, int]]
    """(gold, predicted, count), most frequent first."""
    entities: dict[str, dict[str, float]]
    """per entity type (and "all"): precision, recall, f1, support."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    oos_recall: float = 0.0
    """Share of out-of-scope messages read as out of scope."""
    in_scope_accuracy: float = 0.0
    """Accuracy on every other message."""
    varieties: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per source file name (a blind set's file is its variety): examples and accuracy."""
    entities_overlap: dict[str, dict[str, float]] = field(default_factory=dict)
    """With span matching: the same scores when any overlap of the same type counts."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "examples": self.examples,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_intent": self.per_intent,
            "confusions": [{"gold": g, "predicted": p, "count": n} for g, p, n in self.confusions],
            "oos_recall": round(self.oos_recall, 4),
            "in_scope_accuracy": round(self.in_scope_accuracy, 4),
            "varieties": self.varieties,
            "entities": self.entities,
            "entities_overlap": self.entities_overlap,
            "errors": self.errors,
        }

    def format(self) -> str:
        """A report for people."""
        lines = [
            f"examples: {self.examples}   accuracy: {self.accuracy:.2%}   macro-F1: {self.macro_f1:.4f}",
            f"out_of_scope recall: {self.oos_recall:.2%}   in-scope accuracy: {self.in_scope_accuracy:.2%}",
            "",
        ]
        if len(self.varieties) > 1:
            lines += [f"{'variety':<22}{'accuracy':>10}{'examples':>10}"]
            for name, row in sorted(self.varieties.items()):
                lines.append(f"{name:<22}{row['accuracy']:>10.3f}{int(row['examples']):>10}")
            lines.append("")
        lines += [
            f"{'intent':<22}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}",
        ]
        for name, row in sorted(self.per_intent.items()):
            lines.append(
                f"{name:<22}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{int(row['support']):>9}"
            )
        if self.confusions:
            lines += ["", "most confused (gold → predicted):"]
            lines += [f"  {g} → {p}: {n}" for g, p, n in self.confusions[:12]]
        overlap = f"{'f1 overlap':>12}" if self.entities_overlap else ""
        lines += ["", f"{'entity':<22}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}{overlap}"]
        for name, row in sorted(self.entities.items()):
            by_overlap = self.entities_overlap.get(name)
            lines.append(
                f"{name:<22}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{int(row['support']):>9}"
                + (f"{by_overlap['f1']:>12.3f}" if by_overlap else "")
            )
        return "\n".join(lines)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "support": tp + fn,
    }


def variety(example: Example) -> str:
    """The file an example came from, without its folder and suffix (a blind set's variety)."""
    return Path(example.source.rpartition(":")[0]).stem if example.source else ""


def _entity_counts(
    example: Example, parse: Parse, match: EntityMatch = "value"
) -> dict[str, tuple[int, int, int]]:
    """Per entity type: true positives, false positives, false negatives for one example."""
    out: dict[str, tuple[int, int, int]] = {}
    types = {a.entity for a in example.entities} | {e.entity for e in parse.entities}
    for kind in types:
        gold = [a for a in example.entities if a.entity == kind]
        pred = [e for e in parse.entities if e.entity == kind]
        if match in ("span", "overlap"):
            unused = list(pred)
            tp = 0
            for a in gold:
                hit = next(
                    (
                        e
                        for e in unused
                        if (e.start, e.end) == (a.start, a.end)
                        or (match == "overlap" and e.start < a.end and a.start < e.end)
                    ),
                    None,
                )
                if hit is not None:
                    unused.remove(hit)
                    tp += 1
            fp = len(pred) - tp
        elif kind == "time":  # surface-valued: a hit is an overlapping span
            matched = sum(1 for a in gold if any(e.start < a.end and a.start < e.end for e in pred))
            tp = matched
            fp = max(0, len(pred) - matched)
        else:
            gold_values = Counter(a.value for a in gold)
            pred_values = Counter(e.value for e in pred)
            tp = sum((gold_values & pred_values).values())
            fp = sum(pred_values.values()) - tp
        out[kind] = (tp, fp, len(gold) - tp)
    return out


def _add(totals: dict[str, list[int]], counts: dict[str, tuple[int, int, int]]) -> None:
    for kind, row in counts.items():
        for i, n in enumerate(row):
            totals[kind][i] += n
            totals["all"][i] += n


def _share(pairs: Sequence[tuple[str, str]]) -> float:
    return sum(1 for g, p in pairs if g == p) / len(pairs) if pairs else 0.0


def evaluate(
    parse: Callable[[str], Parse],
    examples: Sequence[Example],
    keep_errors: int = 50,
    entity_match: EntityMatch = "value",
) -> Report:
    """Parse every example and compare with its gold intent and entities (matched by ``entity_match``)."""
    gold_labels: list[str] = []
    predicted: list[str] = []
    entity_totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    overlap_totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    by_variety: dict[str, list[tuple[str, str]]] = defaultdict(list)
    errors: list[dict[str, Any]] = []
    for example in examples:
        result = parse(example.text)
        gold_labels.append(example.intent)
        predicted.append(result.intent.name)
        by_variety[variety(example)].append((example.intent, result.intent.name))
        _add(entity_totals, _entity_counts(example, result, entity_match))
        if entity_match == "span":
            _add(overlap_totals, _entity_counts(example, result, "overlap"))
        if result.intent.name != example.intent and len(errors) < keep_errors:
            errors.append(
                {
                    "text": example.text,
                    "gold": example.intent,
                    "predicted": result.intent.name,
                    "confidence": round(result.intent.confidence, 3),
                    "source": example.source,
                }
            )
    labels = sorted(set(gold_labels))
    per_intent: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold_labels, predicted, strict=True) if g == p == label)
        fp = sum(1 for g, p in zip(gold_labels, predicted, strict=True) if p == label and g != label)
        fn = sum(1 for g, p in zip(gold_labels, predicted, strict=True) if g == label and p != label)
        per_intent[label] = _prf(tp, fp, fn)
    confusions = Counter((g, p) for g, p in zip(gold_labels, predicted, strict=True) if g != p)
    total = len(gold_labels)
    pairs = list(zip(gold_labels, predicted, strict=True))
    return Report(
        examples=total,
        accuracy=sum(1 for g, p in zip(gold_labels, predicted, strict=True) if g == p) / total
        if total
        else 0.0,
        macro_f1=sum(r["f1"] for r in per_intent.values()) / len(per_intent) if per_intent else 0.0,
        per_intent=per_intent,
        confusions=[(g, p, n) for (g, p), n in confusions.most_common()],
        entities={k: _prf(*v) for k, v in entity_totals.items()},
        errors=errors,
        oos_recall=_share([(g, p) for g, p in pairs if g == OUT_OF_SCOPE]),
        in_scope_accuracy=_share([(g, p) for g, p in pairs if g != OUT_OF_SCOPE]),
        varieties={
            name: {"examples": len(rows), "accuracy": round(_share(rows), 4)}
            for name, rows in by_variety.items()
        },
        entities_overlap={k: _prf(*v) for k, v in overlap_totals.items()},
    )


def cross_validate(
    examples: Sequence[Example],
    make_parse: Callable[[Sequence[Example]], Callable[[str], Parse]],
    folds: int = 5,
    seed: int = 0,
) -> Report:
    """K-fold: train on k-1 folds with ``make_parse``, evaluate on the rest, and pool the predictions."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    rng = random.Random(seed)  # noqa: S311 - reproducible folds, not security
    assignment: list[list[Example]] = [[] for _ in range(folds)]
    for items in by_intent.values():
        shuffled = list(items)
        rng.shuffle(shuffled)
        for i, example in enumerate(shuffled):
            assignment[i % folds].append(example)
    pooled: list[tuple[Example, Parse]] = []
    for k in range(folds):
        train = [e for j, fold_items in enumerate(assignment) if j != k for e in fold_items]
        parse = make_parse(train)
        pooled += [(e, parse(e.text)) for e in assignment[k]]
    return evaluate(_Replay(pooled), [e for e, _ in pooled])


class _Replay:
    """Answers the pooled parses back in order, so :func:`evaluate` scores them like a live parser."""

    def __init__(self, pooled: list[tuple[Example, Parse]]) -> None:
        self._answers = iter([p for _, p in pooled])

    def __call__(self, _text: str) -> Parse:
        return next(self._answers)
