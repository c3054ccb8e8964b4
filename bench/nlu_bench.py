"""The embedded NLU against every target of issue 16, in one run.

Trains as ``dalil nlu train`` does (``bench.nlu_predict``: training time, then a clean serving process
for parse latency and RSS) and scores:

* the held-out files (``data/nlu/test``): accuracy, out-of-scope recall, entity F1 by value;
* each blind set (``data/nlu/blind/<set>/``): accuracy, per variety (file), out-of-scope recall and
  in-scope accuracy, per-intent precision/recall, entity F1 by span and type (and by overlap);
* robustness variants of the held-out files (:mod:`nlu.augment`: typos, hamza / taa marbuta /
  alef maqsura swaps, Arabizi transliteration, Eastern digits): accuracy per kind;
* the OOS-recall / in-scope-accuracy curve: on the training data's out-of-fold predictions (where the
  threshold is chosen) and, for reporting only, on each blind set.

The blind sets are only ever parsed here, never trained or tuned on.

Run: ``uv run python -m bench.nlu_bench [--markdown] [--augment typo,arabizi|none] [--json FILE]
[--blind-sets set_a,set_b]`` (``--blind-sets`` leaves a set scored once, such as set C, unread).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import nlu_predict
from nlu.augment import KINDS, variants
from nlu.embedded import AUGMENT
from nlu.evaluate import EntityMatch, Report, evaluate
from nlu.openset import THRESHOLDS, decide
from nlu.training_data import Example, data_files, load_training_data
from nlu.types import Entity, IntentScore, Parse

ROOT = Path(__file__).resolve().parents[1]
NLU = ROOT / "data" / "nlu"

__all__ = ["main", "markdown", "run", "to_markup"]


def to_markup(example: Example) -> str:
    """``example`` as a Rasa training line, entities marked up."""
    out, position = [], 0
    for a in sorted(example.entities, key=lambda a: a.start):
        if a.start < position:
            continue
        surface = example.text[a.start : a.end]
        out += [example.text[position : a.start], f"[{surface}]({a.entity}:{a.value})"]
        position = a.end
    out.append(example.text[position:])
    return "".join(out).replace("\n", " ")


def _write(path: Path, examples: Sequence[Example]) -> None:
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(to_markup(example))
    lines = ['version: "3.1"', "nlu:"]
    for intent, rows in by_intent.items():
        lines += [f"- intent: {intent}", "  examples: |", *(f"    - {row}" for row in rows)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _parse(prediction: dict[str, Any], threshold: float) -> Parse:
    ranking = [(r["name"], float(r["confidence"])) for r in prediction["intent_ranking"]]
    decided = decide(ranking, threshold)
    entities = tuple(
        Entity(e["entity"], e["value"], e["start"], e["end"], e["text"], e["confidence"])
        for e in prediction["entities"]
    )
    scores = tuple(IntentScore(n, c) for n, c in decided)
    return Parse(prediction["text"], scores[0], scores, entities)


def _score(
    predictions: list[dict[str, Any]], examples: list[Example], threshold: float, match: EntityMatch
) -> Report:
    answers = iter([_parse(p, threshold) for p in predictions])
    return evaluate(lambda _text: next(answers), examples, keep_errors=0, entity_match=match)


def _summary(report: Report) -> dict[str, Any]:
    return {
        "examples": report.examples,
        "accuracy": round(report.accuracy, 4),
        "macro_f1": round(report.macro_f1, 4),
        "oos_recall": round(report.oos_recall, 4),
        "in_scope_accuracy": round(report.in_scope_accuracy, 4),
        "varieties": {k: v["accuracy"] for k, v in sorted(report.varieties.items())},
        "entity_f1": report.entities.get("all", {}).get("f1", 0.0),
        "entity_f1_overlap": report.entities_overlap.get("all", {}).get("f1"),
        "entities": report.entities,
        "entities_overlap": report.entities_overlap,
        "per_intent": report.per_intent,
        "confusions": [{"gold": g, "predicted": p, "count": n} for g, p, n in report.confusions[:10]],
    }


def _group(
    files: dict[Path, tuple[list[dict[str, Any]], list[Example]]], folder: str
) -> tuple[list[dict[str, Any]], list[Example]]:
    preds: list[dict[str, Any]] = []
    gold: list[Example] = []
    for rel, (p, g) in sorted(files.items()):
        if rel.parts[0] == folder:
            preds += p
            gold += g
    return preds, gold


def _curve(preds: list[dict[str, Any]], gold: list[Example]) -> list[dict[str, float]]:
    points = []
    for t in THRESHOLDS:
        report = _score(preds, gold, t, "span")
        points.append(
            {
                "threshold": t,
                "oos_recall": round(report.oos_recall, 4),
                "in_scope_accuracy": round(report.in_scope_accuracy, 4),
                "accuracy": round(report.accuracy, 4),
            }
        )
    return points


def run(augment: Sequence[str] = AUGMENT, only: Sequence[str] = ()) -> dict[str, Any]:
    """Train, serve, score; the results as a dict. ``only``: score just these blind sets (default all)."""
    blind_root = NLU / "blind"
    blind = [p.name for p in sorted(blind_root.iterdir()) if p.is_dir() and (not only or p.name in only)]
    blind = [name for name in blind if data_files(blind_root / name)]
    held_out = load_training_data(data_files(NLU / "test")).examples
    with tempfile.TemporaryDirectory() as tmp_name:
        sets = Path(tmp_name) / "sets"
        shutil.copytree(NLU / "test", sets / "held_out")
        for name in blind:
            shutil.copytree(blind_root / name, sets / f"blind_{name}")
        for kind in KINDS:
            _write(sets / "robust" / f"{kind}.yml", variants(held_out, (kind,), seed=1))
        result = nlu_predict.main(str(NLU), str(sets), str(ROOT / "data"), augment=augment, raw=True)
        files = {
            Path(k).relative_to(sets): (v, load_training_data([Path(k)]).examples)
            for k, v in result.pop("sets").items()
        }
        result.pop("predictions")
    threshold = float(result["oos_threshold"])
    out: dict[str, Any] = {"augment": list(augment), **result}
    preds, gold = _group(files, "held_out")
    out["held_out"] = _summary(_score(preds, gold, threshold, "value"))
    out["held_out"]["closed_set"] = _summary(_score(preds, gold, 0.0, "value"))
    out["blind"] = {}
    for name in blind:
        preds, gold = _group(files, f"blind_{name}")
        summary = _summary(_score(preds, gold, threshold, "span"))
        summary["closed_set"] = _summary(_score(preds, gold, 0.0, "span"))
        summary["curve"] = _curve(preds, gold)
        out["blind"][name] = summary
    out["robustness"] = {}
    for kind in KINDS:
        preds, gold = files[Path("robust") / f"{kind}.yml"]
        out["robustness"][kind] = _summary(_score(preds, gold, threshold, "value"))
    return out


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def markdown(results: dict[str, Any]) -> str:
    """The headline numbers as Markdown tables for docs/nlu.md."""
    lines = [
        f"Training: {results['train_s']:.2f} s wall, {results['train_cpu_s']:.2f} s CPU "
        f"({results['train_examples']} examples with augmentation {'+'.join(results['augment']) or 'none'}); "
        f"open-set threshold {results['oos_threshold']:.2f}; parse p50 {results['parse_p50_ms']:.3f} ms, "
        f"p99 {results['parse_p99_ms']:.3f} ms; serving RSS {results['rss_mb']:.0f} MB.",
        "",
        "| set | examples | accuracy | OOS recall | in-scope acc. | closed-set acc. | closed-set OOS recall "
        "| entity F1 | entity F1 (overlap) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = [("held-out", results["held_out"])] + [(f"blind {k}", v) for k, v in results["blind"].items()]
    for name, r in rows:
        c = r["closed_set"]
        lines.append(
            f"| {name} | {r['examples']} | {r['accuracy']:.3f} | {r['oos_recall']:.3f} | "
            f"{r['in_scope_accuracy']:.3f} | {c['accuracy']:.3f} | {c['oos_recall']:.3f} | "
            f"{_pct(r['entity_f1'])} | {_pct(r['entity_f1_overlap'])} |"
        )
    varieties = sorted({v for _, r in rows[1:] for v in r["varieties"]})
    if varieties:
        lines += ["", "| blind set | " + " | ".join(varieties) + " |", "|---|" + "---|" * len(varieties)]
        for name, r in rows[1:]:
            lines.append(f"| {name} | " + " | ".join(_pct(r["varieties"].get(v)) for v in varieties) + " |")
    lines += ["", "| robustness variant of held-out | examples | accuracy |", "|---|---|---|"]
    for kind, r in results["robustness"].items():
        lines.append(f"| {kind} | {r['examples']} | {r['accuracy']:.3f} |")
    lines += ["", "| threshold | validation OOS recall | validation in-scope acc. |"]
    blind_names = list(results["blind"])
    lines[-1] += "".join(f" {n} OOS recall | {n} in-scope acc. |" for n in blind_names)
    lines.append("|---|---|---|" + "---|---|" * len(blind_names))
    for i, point in enumerate(results["validation_curve"]):
        row = f"| {point['threshold']:.2f} | {point['oos_recall']:.3f} | {point['in_scope_accuracy']:.3f} |"
        for n in blind_names:
            b = results["blind"][n]["curve"][i]
            row += f" {b['oos_recall']:.3f} | {b['in_scope_accuracy']:.3f} |"
        lines.append(row)
    return "\n".join(lines)


def main() -> None:
    """Run and print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables too")
    parser.add_argument("--augment", default=",".join(AUGMENT), help="variant kinds for training, or 'none'")
    parser.add_argument("--json", type=Path, help="also write the full results here")
    parser.add_argument(
        "--blind-sets", default="", help="comma-separated blind sets to score (default: every set)"
    )
    args = parser.parse_args()
    augment = () if args.augment == "none" else tuple(k for k in args.augment.split(",") if k)
    results = run(augment, tuple(s for s in args.blind_sets.split(",") if s))
    text = json.dumps(results, ensure_ascii=False, indent=2)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    if args.markdown:
        print(markdown(results))
        return
    print(json.dumps(_headline(results), ensure_ascii=False, indent=2))


def _headline(results: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "examples",
        "accuracy",
        "oos_recall",
        "in_scope_accuracy",
        "varieties",
        "entity_f1",
        "entity_f1_overlap",
    )
    sets = {"held_out": results["held_out"], **{f"blind_{k}": v for k, v in results["blind"].items()}}
    return {
        **{
            k: results[k]
            for k in ("train_s", "train_cpu_s", "oos_threshold", "parse_p50_ms", "parse_p99_ms", "rss_mb")
        },
        **{name: {k: r[k] for k in keep} for name, r in sets.items()},
        "robustness": {k: r["accuracy"] for k, r in results["robustness"].items()},
    }


if __name__ == "__main__":
    main()
