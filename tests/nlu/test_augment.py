"""Robustness variants keep intent and entity spans; Arabizi transliteration reaches Arabic script."""

from __future__ import annotations

import random

import pytest

from nlu.arabizi import to_arabic
from nlu.augment import KINDS, arabizi, variant, variants
from nlu.training_data import Example, parse_example


def _example(line: str, intent: str = "opening_hours") -> Example:
    text, entities = parse_example(line)
    return Example(text, intent, entities, "t.yml:1", "t.yml#0/0")


@pytest.mark.parametrize("kind", KINDS)
def test_variants_keep_the_intent_and_move_entity_spans_with_the_text(kind: str) -> None:
    example = _example("متى يسكر [رد سي مول](place:red-sea-mall) الساعة 10 الليلة؟")
    made = variant(example, kind, random.Random(3))
    assert made is not None
    assert made.intent == example.intent
    assert made.text != example.text
    (entity,) = made.entities
    assert entity.value == "red-sea-mall"
    surface = made.text[entity.start : entity.end]
    expected = {"arabizi": "rd si mol", "digits": "رد سي مول", "typo": "رد سي مول"}
    assert surface == expected.get(kind, surface)
    assert len(surface) >= 8


def test_each_kind_is_what_users_type() -> None:
    example = _example("ابغى صيدلية قريبة الساعة 9", "nearest_place")
    rng = random.Random(0)
    assert "٩" in variant(example, "digits", rng).text  # type: ignore[union-attr]
    assert arabizi("وين اقرب صيدلية") == "win agrb sidlia"
    spelled = variant(example, "spelling", random.Random(1))
    assert spelled is not None
    assert spelled.text != example.text


def test_variants_are_reproducible_and_keep_the_validation_group() -> None:
    examples = [
        _example("متى يفتح [البلد](place:al-balad)"),
        _example("how do I get to the corniche", "directions"),
    ]
    first, second = variants(examples, seed=7), variants(examples, seed=7)
    assert first == second
    assert {v.group for v in first} == {"t.yml#0/0"}
    assert all("~" in v.source for v in first)


@pytest.mark.parametrize(
    ("arabizi_text", "arabic"),
    [("a8rab saydaliya", "اقرب سيدليا"), ("wain al7een", "وين الحين"), ("eish t8dar tsawi", "ايش تقدر تسوي")],
)
def test_arabizi_is_transliterated_to_arabic_script(arabizi_text: str, arabic: str) -> None:
    assert to_arabic(arabizi_text) == arabic


def test_placeholders_and_numbers_are_not_transliterated() -> None:
    assert to_arabic("feen __place__ 940") == "فين __place__ 940"
