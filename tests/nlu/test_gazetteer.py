"""Entity extraction: names, aliases, typos, clitics, Arabizi and time phrases, with original offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loader import load_knowledge
from knowledge.store import Store
from nlu.gazetteer import Gazetteer
from nlu.normalize import fold, normalize
from nlu.types import Entity
from tests.knowledge.conftest import write_data

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gazetteer(tmp_path_factory: pytest.TempPathFactory) -> Gazetteer:
    data = write_data(tmp_path_factory.mktemp("gaz"))
    return Gazetteer.from_store(Store.from_knowledge(load_knowledge(data).kb, fold))


@pytest.fixture(scope="module")
def bundled() -> Gazetteer:
    """The gazetteer of Dalil's own knowledge base (its districts include Ar-Rahmah, As-Salamah, An-Nur)."""
    return Gazetteer.from_store(Store.from_knowledge(load_knowledge(REPO / "data").kb, fold))


def extract(gazetteer: Gazetteer, text: str) -> list[Entity]:
    return gazetteer.extract(normalize(text))


@pytest.mark.parametrize(
    ("text", "entity", "value", "surface"),
    [
        ("وين نافورة الملك فهد؟", "place", "king-fahd-fountain", "نافورة الملك فهد"),
        ("وين نَافُورَه المـلك فهد", "place", "king-fahd-fountain", "نَافُورَه المـلك فهد"),
        ("feen nafourat al malik fahad", "place", "king-fahd-fountain", "nafourat al malik fahad"),
        ("is Red Sea Mall open", "place", "red-sea-mall", "Red Sea Mall"),
        ("متى يفتح ريدسي مول", "place", "red-sea-mall", "ريدسي مول"),
        ("ابغى اروح بالبلد", "place", "al-balad", "البلد"),
        ("كيف اروح للبلد", "place", "al-balad", "لبلد"),
        ("how do i get to historic jedah", "place", "al-balad", "historic jedah"),
        ("ابغى مول قريب", "category", "mall", "مول"),
        ("مطاعم في الحمراء", "district", "al-hamra", "الحمراء"),
    ],
)
def test_finds_entities_with_original_offsets(
    gazetteer: Gazetteer, text: str, entity: str, value: str, surface: str
) -> None:
    found = [e for e in extract(gazetteer, text) if e.entity == entity]
    assert found, text
    assert found[0].value == value
    assert text[found[0].start : found[0].end] == surface
    assert found[0].text == surface


def test_longest_match_wins_over_parts(gazetteer: Gazetteer) -> None:
    found = extract(gazetteer, "mall of arabia timings")
    assert [(e.entity, e.value) for e in found] == [("place", "mall-of-arabia")]


@pytest.mark.parametrize("text", ["مولعة بالقهوة", "the smallest thing", "balady app", "مولد كهربائي"])
def test_no_entity_inside_unrelated_words(gazetteer: Gazetteer, text: str) -> None:
    assert [e for e in extract(gazetteer, text) if e.entity != "time"] == []


def test_typo_gets_lower_confidence(gazetteer: Gazetteer) -> None:
    exact = extract(gazetteer, "نافورة الملك فهد")[0]
    typo = extract(gazetteer, "نافورت الملك فهد")[0]
    assert exact.value == typo.value == "king-fahd-fountain"
    assert exact.confidence == 1.0
    assert 0.8 <= typo.confidence < 1.0


@pytest.mark.parametrize(
    ("text", "surfaces"),
    [
        ("متى يفتح بكرة", ["بكرة"]),
        ("مفتوح الحين؟", ["الحين"]),
        ("is it open on Friday at 9 pm", ["Friday", "9 pm"]),
        ("يفتح ٩ الليل؟", ["٩ الليل"]),
        ("دوامهم في رمضان", ["رمضان"]),
        ("open tomorrow", ["tomorrow"]),
    ],
)
def test_time_phrases(gazetteer: Gazetteer, text: str, surfaces: list[str]) -> None:
    found = [e for e in extract(gazetteer, text) if e.entity == "time"]
    assert [text[e.start : e.end] for e in found] == surfaces


@pytest.mark.parametrize(
    "text",
    [
        "السلام عليكم ورحمة الله وبركاته",
        "وعليكم السلام ورحمه الله",
        "مع السلامة",
        "الحمد لله على السلامة",
        "مساء النور",
        "إن شاء الله",
        "الله يعطيك العافية",
        "ma3 elsalamah",
    ],
)
def test_no_entity_inside_greetings_and_set_phrases(bundled: Gazetteer, text: str) -> None:
    assert bundled.extract(normalize(text)) == []


def test_set_phrases_leave_the_real_entities_of_a_message(bundled: Gazetteer) -> None:
    found = bundled.extract(normalize("السلام عليكم ورحمة الله، ابي اقرب صراف في الرحمة"))
    assert [(e.entity, e.value, e.text) for e in found] == [
        ("category", "bank", "صراف"),
        ("district", "ar-rahmah", "الرحمة"),
    ]
