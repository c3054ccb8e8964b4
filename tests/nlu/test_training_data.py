"""Rasa-format training data: annotations, synonyms, lookups, and problems with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.training_data import Annotation, data_files, load_training_data, parse_example


@pytest.mark.parametrize(
    ("line", "text", "entities"),
    [
        ("hello", "hello", ()),
        ("وين [البلد](place:al-balad)؟", "وين البلد؟", (Annotation("place", "al-balad", 4, 9),)),
        (
            'متى يفتح [ريد سي]{"entity": "place", "value": "red-sea-mall"} [بكرة](time)',
            "متى يفتح ريد سي بكرة",
            (Annotation("place", "red-sea-mall", 9, 15), Annotation("time", "بكرة", 16, 20)),
        ),
        ("[pharmacy](category) near me", "pharmacy near me", (Annotation("category", "pharmacy", 0, 8),)),
    ],
)
def test_parse_example(line: str, text: str, entities: tuple[Annotation, ...]) -> None:
    assert parse_example(line) == (text, entities)
    for entity in entities:
        assert text[entity.start : entity.end]


def test_bad_json_annotation_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - [x]{"entity": }\n'
        "- synonym: red-sea-mall\n  examples: |\n    - ردسي\n"
        "- lookup: arabizi_marker\n  examples: |\n    - feen\n",
        encoding="utf-8",
    )
    data = load_training_data([tmp_path / "nlu.yml"])
    assert [e.text for e in data.examples] == ["hi"]
    assert data.synonyms == {"ردسي": "red-sea-mall"}
    assert data.lookups == {"arabizi_marker": ["feen"]}
    assert len(data.problems) == 1
    assert data.problems[0].startswith(f"{tmp_path / 'nlu.yml'}:6:")


def test_bundled_training_data_meets_the_bar() -> None:
    root = Path(__file__).parents[2] / "data" / "nlu"
    train = load_training_data(sorted(root.glob("*.yml")))
    test = load_training_data(sorted((root / "test").glob("*.yml")))
    assert train.problems == []
    assert test.problems == []
    per_intent: dict[str, int] = {}
    for example in train.examples:
        per_intent[example.intent] = per_intent.get(example.intent, 0) + 1
    assert len(per_intent) == 18
    assert min(per_intent.values()) >= 40, per_intent
    assert len(train.examples) >= 1000
    assert len(test.examples) >= 300
    seen = {" ".join(e.text.casefold().split()) for e in train.examples}
    overlap = [e.text for e in test.examples if " ".join(e.text.casefold().split()) in seen]
    assert overlap == [], "held-out examples must not repeat training examples"


def test_training_never_reads_the_held_out_or_blind_sets() -> None:
    root = Path(__file__).parents[2] / "data" / "nlu"
    files = data_files(root)
    assert files, "training files expected"
    assert all(path.parent == root for path in files)
    assert (root / "blind").is_dir()
    assert not any("blind" in path.parts or "test" in path.parts for path in files)


def test_lines_added_for_issue_16_never_repeat_a_blind_line() -> None:
    # The older training files share a few greetings ("مرحبا", "yes") with the blind sets by nature;
    # the files written since the blind sets exist must not repeat any blind line.
    root = Path(__file__).parents[2] / "data" / "nlu"
    newer = [
        root / "intents_out_of_scope.yml",
        root / "intents_varieties.yml",
        root / "intents_varieties_msa.yml",
        root / "intents_varieties_more.yml",
        root / "intents_formal_arabizi.yml",
        root / "intents_kinds_services.yml",
        root / "intents_boundaries_more.yml",
    ]
    train = load_training_data(newer)
    blind = load_training_data(sorted((root / "blind").glob("*/*.yml")))
    assert len(blind.examples) >= 600
    seen = {" ".join(e.text.casefold().split()) for e in blind.examples}
    assert [e.source for e in train.examples if " ".join(e.text.casefold().split()) in seen] == []
