"""Entity spans on Dalil's own knowledge base, as a resident types them: input → (type, value, span)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loader import load_knowledge
from knowledge.store import Store
from nlu.gazetteer import Gazetteer, latin_key
from nlu.normalize import fold, normalize

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundled() -> Gazetteer:
    return Gazetteer.from_store(Store.from_knowledge(load_knowledge(REPO / "data").kb, fold))


def spans(gazetteer: Gazetteer, text: str) -> list[tuple[str, str, str]]:
    """(type, value, the text of the span) of every entity; a time's value is its surface."""
    return [(e.entity, e.value, text[e.start : e.end]) for e in gazetteer.extract(normalize(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # categories: singular, plural, definite, Gulf/Hijazi words, English plurals, Arabizi
        (
            "فيه صيدليات في الروضة؟",
            [("category", "pharmacy", "صيدليات"), ("district", "ar-rawdah", "الروضة")],
        ),
        ("وين الصيدلية", [("category", "pharmacy", "الصيدلية")]),
        ("any malls near me", [("category", "mall", "malls")]),
        ("ابغى بقالة قريبة", [("category", "supermarket", "بقالة")]),
        ("a2rab saydaleya", [("category", "pharmacy", "saydaleya")]),
        ("fi ba9ala 9reeba?", [("category", "supermarket", "ba9ala")]),
        ("coffee shops in jeddah", [("category", "cafe", "coffee shops")]),
        ("nearest gas stations", [("category", "fuel", "gas stations")]),
        # clitics stay outside the span: و، ب، ل، ف and the first ل of لل
        ("ابغى اروح للمستشفى", [("category", "hospital", "لمستشفى")]),
        ("والصيدلية وين؟", [("category", "pharmacy", "الصيدلية")]),
        ("مطاعم بالروضة", [("category", "restaurant", "مطاعم"), ("district", "ar-rawdah", "الروضة")]),
        ("كيف اوصل لـمستشفى الملك فهد", [("place", "king-fahd-hospital-jeddah", "مستشفى الملك فهد")]),
        # districts: "حي"/"حى" outside the span, with and without ال, Latin spellings with al/el/ar/as
        ("كافيه في حى الروضه", [("category", "cafe", "كافيه"), ("district", "ar-rawdah", "الروضه")]),
        ("مطعم في روضة", [("category", "restaurant", "مطعم"), ("district", "ar-rawdah", "روضة")]),
        (
            "restaurants in al rawda",
            [("category", "restaurant", "restaurants"), ("district", "ar-rawdah", "al rawda")],
        ),
        ("clinic in ar-rawdah", [("category", "clinic", "clinic"), ("district", "ar-rawdah", "ar-rawdah")]),
        ("hotel in as salamah", [("category", "hotel", "hotel"), ("district", "as-salamah", "as salamah")]),
        (
            "pharmacy in al salama",
            [("category", "pharmacy", "pharmacy"), ("district", "as-salamah", "al salama")],
        ),
        # services by their names, not by everyday words
        ("كيف احجز موعد مرئي", [("service", "visual-appointments", "موعد مرئي")]),
        ("abi maw3id mar2i", [("service", "visual-appointments", "maw3id mar2i")]),
        ("كيف اطلع رخصة بناء", [("service", "building-permit", "رخصة بناء")]),
        ("ابغى ابلغ عن طريق بلدي", [("service", "balady", "بلدي")]),
        ("اتصلت على 940 وما ردوا", [("service", "report-940", "940")]),
        ("ابغى اقدم بلاغ ٩٤٠ عن مطب", [("service", "report-940", "بلاغ ٩٤٠")]),
        ("كيف احجز موعد الكتروني", [("service", "electronic-appointment-booking", "موعد الكتروني")]),
        ("I want to report a pothole", []),
        ("ابغى اسوي بلاغ عن حفرة", []),
        ("how to make a complaint about garbage", []),
        # time expressions
        ("هل الصيدلية مفتوحة الحين", [("category", "pharmacy", "الصيدلية"), ("time", "الحين", "الحين")]),
        ("متى يفتح بكرة", [("time", "بكرة", "بكرة")]),
        ("مفتوح الليلة؟", [("time", "الليلة", "الليلة")]),
        ("دوامهم في رمضان", [("time", "رمضان", "رمضان")]),
        ("open on friday?", [("time", "friday", "friday")]),
        ("يفتح الجمعة؟", [("time", "الجمعة", "الجمعة")]),
        ("مفتوح 11 بالليل؟", [("time", "11 بالليل", "11 بالليل")]),
        ("مفتوح الساعة تسعة؟", [("time", "الساعة تسعة", "الساعة تسعة")]),
        ("وبكرة الصبح؟", [("time", "بكرة", "بكرة")]),  # the part of the day after a day stays outside
        ("طيب ودحين فين مول العرب", [("place", "mall-of-arabia", "مول العرب")]),
        ("والحين وش اسوي", []),
        ("هل يقفل وقت الصلاة", [("time", "وقت الصلاة", "وقت الصلاة")]),
        ("is it open tonight", [("time", "tonight", "tonight")]),
        ("open tomorrow at 9pm", [("time", "tomorrow", "tomorrow"), ("time", "9pm", "9pm")]),
        ("mata yeftah bokra", [("time", "bokra", "bokra")]),
        ("yfta7 yom el jum3a?", [("time", "yom el jum3a", "yom el jum3a")]),
    ],
)
def test_spans(bundled: Gazetteer, text: str, expected: list[tuple[str, str, str]]) -> None:
    assert spans(bundled, text) == expected


@pytest.mark.parametrize(
    ("a", "b"), [("rawdah", "rawda"), ("salamah", "salama"), ("nafoorah", "nafoura"), ("shaati", "shati")]
)
def test_latin_spellings_meet(a: str, b: str) -> None:
    assert latin_key(a) == latin_key(b)
