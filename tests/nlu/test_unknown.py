"""Places a message names that the knowledge base does not hold (nlu/unknown.py): a kind word and a name."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loader import load_knowledge
from knowledge.store import Store
from nlu.embedded import gazetteer_for
from nlu.gazetteer import Gazetteer
from nlu.normalize import fold, normalize
from nlu.training_data import data_files, load_training_data
from nlu.unknown import UNKNOWN

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    store = Store.from_knowledge(load_knowledge(REPO / "data").kb, fold)
    return gazetteer_for(store, load_training_data(data_files(REPO / "data" / "nlu")))


def found(gazetteer: Gazetteer, text: str) -> list[tuple[str, str]]:
    """(type, span text) of every entity, a place the store does not hold as "place?"."""
    return [
        ("place?" if e.extractor == UNKNOWN else e.entity, text[e.start : e.end])
        for e in gazetteer.extract(normalize(text))
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("فين مستشفى بخش؟", [("place?", "مستشفى بخش")]),
        ("وين مستشفى الحرس الوطني", [("place?", "مستشفى الحرس الوطني")]),
        ("أين يقع مستشفى الملك خالد للحرس الوطني؟", [("place?", "مستشفى الملك خالد للحرس الوطني")]),
        ("الرصيف مكسر عند مسجد الجفالي والناس تطيح", [("place?", "مسجد الجفالي")]),
        ("الاشارة عند دوار الطائرة معطلة", [("place?", "دوار الطائرة")]),
        ("كيف اروح لمستشفى بخش", [("place?", "مستشفى بخش")]),
        ("fain mostashfa bakhsh?", [("place?", "mostashfa bakhsh")]),
        ("where is Bakhsh Hospital?", [("place?", "Bakhsh Hospital")]),
        ("we're meeting at Le Mall tonight", [("place?", "Le Mall"), ("time", "tonight")]),
        ("email address for Jeddah Traffic Department", [("place?", "Jeddah Traffic Department")]),
        # a kind with words that describe it, ask about it or name something known: no new place
        ("اقرب مستشفى حكومي", [("category", "مستشفى")]),
        ("ابي مستوصف اسنان", [("category", "مستوصف")]),
        ("فيه صيدلية مناوبة في الصفا؟", [("category", "صيدلية"), ("district", "الصفا")]),
        ("مطعم في الروضة", [("category", "مطعم"), ("district", "الروضة")]),
        ("وين مستشفى الملك فهد", [("place", "مستشفى الملك فهد")]),
        ("where is the nearest hospital", [("category", "hospital")]),
        ("Where Is The Nearest Hospital", [("category", "Hospital")]),
    ],
)
def test_named_places_beyond_the_store(
    gazetteer: Gazetteer, text: str, expected: list[tuple[str, str]]
) -> None:
    assert found(gazetteer, text) == expected


def test_its_value_is_the_name_as_said(gazetteer: Gazetteer) -> None:
    [entity] = gazetteer.extract(normalize("وين مسجد الجفالي"))
    assert (entity.entity, entity.value, entity.extractor) == ("place", "مسجد الجفالي", UNKNOWN)
    assert entity.confidence < 1.0


def test_without_common_words_only_the_store_is_read() -> None:
    store = Store.from_knowledge(load_knowledge(REPO / "data").kb, fold)
    plain = Gazetteer.from_store(store)
    assert [(e.entity, e.value) for e in plain.extract(normalize("فين مستشفى بخش"))] == [
        ("category", "hospital")
    ]
