"""Evaluation of blind sets: per variety, out-of-scope recall, entities by span and type."""

from __future__ import annotations

from nlu.evaluate import evaluate
from nlu.training_data import Example, parse_example
from nlu.types import Entity, IntentScore, Parse


def _gold(line: str, intent: str, variety: str) -> Example:
    text, entities = parse_example(line)
    return Example(text, intent, entities, f"data/nlu/blind/set_a/{variety}.yml:4")


def test_blind_report_has_varieties_oos_recall_and_span_entity_scores() -> None:
    examples = [
        _gold("وين [رد سي مول](place)", "directions", "gulf"),
        _gold("feen [al balad](place)", "directions", "arabizi"),
        _gold("كم الساعة", "out_of_scope", "gulf"),
        _gold("ليش البنك خصم مني", "out_of_scope", "gulf"),
    ]
    answers = {
        "وين رد سي مول": Parse(
            "", IntentScore("directions", 0.9), (), (Entity("place", "red-sea-mall", 4, 13, "رد سي مول"),)
        ),
        "feen al balad": Parse(
            "", IntentScore("directions", 0.9), (), (Entity("place", "al-balad", 8, 13, "balad"),)
        ),
        "كم الساعة": Parse("", IntentScore("out_of_scope", 0.8)),
        "ليش البنك خصم مني": Parse(
            "", IntentScore("find_place", 0.5), (), (Entity("category", "bank", 4, 9, "البنك"),)
        ),
    }
    report = evaluate(lambda text: answers[text], examples, entity_match="span")
    assert report.accuracy == 0.75
    assert report.oos_recall == 0.5
    assert report.in_scope_accuracy == 1.0
    assert report.varieties == {
        "gulf": {"examples": 3, "accuracy": round(2 / 3, 4)},
        "arabizi": {"examples": 1, "accuracy": 1.0},
    }
    # "balad" inside "al balad" is a hit by overlap only; "البنك" is a false positive either way
    assert report.entities["all"] == {"precision": 0.3333, "recall": 0.5, "f1": 0.4, "support": 2}
    assert report.entities_overlap["all"]["recall"] == 1.0
    assert report.entities_overlap["all"]["precision"] == round(2 / 3, 4)


def test_blind_report_prints_each_entity_type_by_span_and_by_overlap() -> None:
    examples = [_gold("وين [رد سي مول](place) [الحين](time)", "directions", "gulf")]
    answers = {
        "وين رد سي مول الحين": Parse(
            "",
            IntentScore("directions", 0.9),
            (),
            (Entity("place", "red-sea-mall", 4, 13, "رد سي مول"), Entity("time", "سي مول الحين", 7, 19, "")),
        )
    }
    report = evaluate(lambda text: answers[text], examples, entity_match="span")
    assert report.entities["time"]["f1"] == 0.0
    assert report.entities_overlap["time"]["f1"] == 1.0
    rows = {line.split()[0]: line.split() for line in report.format().splitlines() if line.strip()}
    assert rows["entity"][-2:] == ["f1", "overlap"]
    assert rows["place"][1:] == ["1.000", "1.000", "1.000", "1", "1.000"]
    assert rows["time"][1:] == ["0.000", "0.000", "0.000", "1", "1.000"]
