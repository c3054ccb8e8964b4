"""Entity spans on Dalil's own knowledge base, as a resident types them: input → (type, value, span).

The second table holds the span conventions of docs/nlu.md (nlu/spans.py), one row per class of message,
written for those rules; none is a line of a blind set.
"""

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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "حي" and "district" stay outside a district, also after a clitic
        ("صيدلية لحي الرويس", [("category", "pharmacy", "صيدلية"), ("district", "ar-ruwais", "الرويس")]),
        ("تسرب مياه بحي الرحاب", [("district", "al-rehab", "الرحاب")]),
        (
            "cafes in the Al-Rawdah district",
            [("category", "cafe", "cafes"), ("district", "ar-rawdah", "Al-Rawdah")],
        ),
        # after "in" a word that is both a kind and a district is the district
        ("فندق في الشاطئ", [("category", "hotel", "فندق"), ("district", "ash-shati", "الشاطئ")]),
        ("ابي شاطئ نظيف", [("category", "beach", "شاطئ")]),
        (
            "mat3am fi el shati2",
            [("category", "restaurant", "mat3am"), ("district", "ash-shati", "el shati2")],
        ),
        # a place takes its own kind word (before it in Arabic and Arabizi, after it in English)
        ("وين مستشفى سليمان فقيه", [("place", "dr-soliman-fakeeh-hospital", "مستشفى سليمان فقيه")]),
        ("wesh fi mat7af al tayebat", [("place", "tayebat-museum", "mat7af al tayebat")]),
        (
            "website of King Faisal Specialist Hospital",
            [("place", "king-faisal-specialist-hospital-jeddah", "King Faisal Specialist Hospital")],
        ),
        ("what to see at Tayebat Museum", [("place", "tayebat-museum", "Tayebat Museum")]),
        # an Arabic kind word after a name is not the English order: two entities
        ("tayebat متحف", [("place", "tayebat-museum", "tayebat"), ("category", "museum", "متحف")]),
        ("أين متحف عبد الرؤوف خليل", [("place", "tayebat-museum", "متحف عبد الرؤوف خليل")]),
        ("how far is King Fahd's Fountain", [("place", "king-fahd-fountain", "King Fahd's Fountain")]),
        # … and the city's name when its full name has it, but not "in Jeddah"
        (
            "is the Jeddah Passport Office open",
            [("place", "jeddah-passports-department", "Jeddah Passport Office")],
        ),
        ("لوكيشن الجوازات بجدة", [("place", "jeddah-passports-department", "الجوازات")]),
        # what a place or a kind has is no kind asked for; nor the body a service is had with
        ("does Red Sea Mall have a cinema?", [("place", "red-sea-mall", "Red Sea Mall")]),
        ("ابي حديقة فيها ممشى", [("category", "park", "حديقة")]),
        ("ابي اعرف متى تفتح عيادات مستشفى العيون", [("place", "eye-hospital-jeddah", "مستشفى العيون")]),
        ("احجز موعد مرئي مع البلدية", [("service", "visual-appointments", "موعد مرئي")]),
        ("a health certificate for my restaurant staff", []),
        # an adjective after a kind describes it; an English cuisine word before "restaurant" is part of it
        ("اقرب مستشفى حكومي", [("category", "hospital", "مستشفى")]),
        ("مطعم هندي زين", [("category", "restaurant", "مطعم")]),
        ("recommend a seafood restaurant", [("category", "restaurant", "seafood restaurant")]),
        ("any Indian restaurants", [("category", "restaurant", "Indian restaurants")]),
        # MSA accusative, plurals and compounds
        ("كيف أحجز موعداً مرئياً", [("service", "visual-appointments", "موعداً مرئياً")]),
        ("هل توجد مكتبات عامة", [("category", "library", "مكتبات عامة")]),
        ("list gyms for women", [("category", "sports-centre", "gyms")]),
        # no entity inside greetings, blessings and fixed compounds
        ("انتهيت، شكراً ومع السلامة", []),
        ("تحية طيبة وبعد", []),
        ("أهلاً وسهلاً", []),
        ("bye for now", []),
        (
            "اقرب مستوصف من السلام مول",
            [("category", "clinic", "مستوصف"), ("place", "al-salaam-mall", "السلام مول")],
        ),
        ("البريد الإلكتروني لمستشفى الملك فهد", [("place", "king-fahd-hospital-jeddah", "مستشفى الملك فهد")]),
        ("عمود النور طافي", []),
        ("when does the stock market open", []),
        # time: no preposition, no "شهر"; a part of the day after a day stays outside; prayers and Eid
        ("مواعيده خلال شهر رمضان", [("time", "رمضان", "رمضان")]),
        ("يغلق أثناء صلاة المغرب؟", [("time", "صلاة المغرب", "صلاة المغرب")]),
        ("يسكر وقت صلاة الجمعة", [("time", "وقت صلاة الجمعة", "وقت صلاة الجمعة")]),
        ("ysaker wa9t el9ala?", [("time", "wa9t el9ala", "wa9t el9ala")]),
        ("fate7 ba3d el 3isha?", [("time", "ba3d el 3isha", "ba3d el 3isha")]),
        ("بعد التراويح", [("time", "بعد التراويح", "بعد التراويح")]),
        ("mawa3eed fi el 3eed", [("time", "el 3eed", "el 3eed")]),
        ("دوامهم في عيد الفطر", [("time", "عيد الفطر", "عيد الفطر")]),
        ("فاتح الجمعة الصبح؟", [("time", "الجمعة", "الجمعة")]),
        ("open on Friday morning", [("time", "Friday", "Friday")]),
        ("yfta7 bokra el sob7", [("time", "bokra", "bokra")]),
        ("متى يفتح صباحاً", [("time", "صباحاً", "صباحاً")]),
        ("yefta7 kam el sob7", [("time", "el sob7", "el sob7")]),
        ("a2rab saydaliya al7ain", [("category", "pharmacy", "saydaliya"), ("time", "al7ain", "al7ain")]),
        ("a grocery that's open late", [("category", "supermarket", "grocery"), ("time", "late", "late")]),
        ("I waited until now", []),
        ("اشوفك بعدين", []),
    ],
)
def test_span_conventions(bundled: Gazetteer, text: str, expected: list[tuple[str, str, str]]) -> None:
    assert spans(bundled, text) == expected
