"""The one time parser (nlu/times.py): phrases found and read, in Arabic, English and Arabizi."""

from __future__ import annotations

import json

import httpx
import pytest

from nlu.normalize import fold
from nlu.rasa_http import RasaHttpParser
from nlu.times import Clock, TimeMeaning, find, merge, read
from nlu.types import Entity, IntentScore, Parse

FRIDAY, SATURDAY, SUNDAY, MONDAY, THURSDAY = 4, 5, 6, 0, 3


@pytest.mark.parametrize(
    ("phrase", "meaning"),
    [
        # Hijazi
        ("دحين", TimeMeaning(now=True)),
        ("بكرة", TimeMeaning(day="tomorrow")),
        ("بكرة الصبح", TimeMeaning(day="tomorrow")),
        ("الساعة ٩ الليل", TimeMeaning(clock=Clock(9, 0, "night"))),
        ("٩ الليل", TimeMeaning(clock=Clock(9, 0, "night"))),
        ("الساعة 11 بالليل", TimeMeaning(clock=Clock(11, 0, "night"))),
        ("الساعه ١١ بالليل", TimeMeaning(clock=Clock(11, 0, "night"))),
        ("الساعة ١١:٣٠", TimeMeaning(clock=Clock(11, 30))),
        ("الساعة تسعة ونص الليل", TimeMeaning(clock=Clock(9, 30, "night"))),
        ("الساعة ٩ وربع", TimeMeaning(clock=Clock(9, 15))),
        ("يوم الجمعة", TimeMeaning(weekday=FRIDAY)),
        ("الجمعة بالليل", TimeMeaning(weekday=FRIDAY)),
        # Gulf
        ("الحين", TimeMeaning(now=True)),
        ("هالحين", TimeMeaning(now=True)),
        ("باكر", TimeMeaning(day="tomorrow")),
        ("الساعة احدعش", TimeMeaning(clock=Clock(11))),
        ("الساعة اثنين", TimeMeaning(clock=Clock(2))),  # two o'clock, not Monday
        ("الليلة", TimeMeaning(day="today", tonight=True)),
        ("٢ الظهر", TimeMeaning(clock=Clock(2, 0, "noon"))),
        ("الساعة 5 العصر", TimeMeaning(clock=Clock(5, 0, "pm"))),
        # MSA
        ("الآن", TimeMeaning(now=True)),
        ("غداً", TimeMeaning(day="tomorrow")),
        ("بعد بكرة", TimeMeaning(day="after_tomorrow")),
        ("اليوم", TimeMeaning(day="today")),
        ("يوم الأحد", TimeMeaning(weekday=SUNDAY)),
        ("الإثنين", TimeMeaning(weekday=MONDAY)),
        ("الساعة ٦ مساءً", TimeMeaning(clock=Clock(6, 0, "pm"))),
        ("الساعه 10 صباحا", TimeMeaning(clock=Clock(10, 0, "am"))),
        ("رمضان", TimeMeaning(ramadan=True)),
        ("شهر رمضان", TimeMeaning(ramadan=True)),
        ("منتصف الليل", TimeMeaning(clock=Clock(12, 0, "night"))),
        ("الظهر", TimeMeaning(clock=Clock(12, 0, "noon"))),
        # English
        ("now", TimeMeaning(now=True)),
        ("right now", TimeMeaning(now=True)),
        ("tonight", TimeMeaning(day="today", tonight=True)),
        ("this evening", TimeMeaning(day="today", tonight=True)),
        ("this morning", TimeMeaning(day="today")),
        ("tomorrow", TimeMeaning(day="tomorrow")),
        ("day after tomorrow", TimeMeaning(day="after_tomorrow")),
        ("friday", TimeMeaning(weekday=FRIDAY)),
        ("fridays", TimeMeaning(weekday=FRIDAY)),
        ("sat", TimeMeaning(weekday=SATURDAY)),
        ("9pm", TimeMeaning(clock=Clock(9, 0, "pm"))),
        ("11 pm", TimeMeaning(clock=Clock(11, 0, "pm"))),
        ("10:15pm", TimeMeaning(clock=Clock(10, 15, "pm"))),
        ("9.30 a.m.", TimeMeaning(clock=Clock(9, 30, "am"))),
        ("9 in the evening", TimeMeaning(clock=Clock(9, 0, "pm"))),
        ("7 at night", TimeMeaning(clock=Clock(7, 0, "night"))),
        ("9 pm friday", TimeMeaning(weekday=FRIDAY, clock=Clock(9, 0, "pm"))),
        ("noon", TimeMeaning(clock=Clock(12, 0, "noon"))),
        ("after midnight", TimeMeaning(clock=Clock(12, 0, "night"))),
        ("Ramadan", TimeMeaning(ramadan=True)),
        # Arabizi: digits inside words are letters, not hours
        ("el7een", TimeMeaning(now=True)),
        ("delwa2ti", TimeMeaning(now=True)),
        ("bokra", TimeMeaning(day="tomorrow")),
        ("bukra el sob7", TimeMeaning(day="tomorrow")),
        ("elyom", TimeMeaning(day="today")),
        ("ellela", TimeMeaning(day="today", tonight=True)),
        ("yom el jum3a", TimeMeaning(weekday=FRIDAY)),
        ("el khamees", TimeMeaning(weekday=THURSDAY)),
        ("el sa3a 11 bel lail", TimeMeaning(clock=Clock(11, 0, "night"))),
        ("sa3a 5", TimeMeaning(clock=Clock(5))),
        ("ramadhan", TimeMeaning(ramadan=True)),
        # named, but not placed on the calendar
        ("العيد", TimeMeaning()),
        ("وقت الصلاة", TimeMeaning()),
        ("بعد الظهر", TimeMeaning()),
        ("weekend", TimeMeaning()),
        ("24/7", TimeMeaning()),
        ("24 ساعة", TimeMeaning()),
    ],
)
def test_read(phrase: str, meaning: TimeMeaning) -> None:
    assert read(phrase) == meaning


@pytest.mark.parametrize(
    ("clock", "hour24"),
    [
        (Clock(9, 0, "night"), 21),
        (Clock(11, 0, "night"), 23),
        (Clock(12, 0, "night"), 0),  # "١٢ بالليل" is midnight
        (Clock(2, 0, "night"), 2),  # "٢ بالليل" is two at night
        (Clock(12, 0, "am"), 0),
        (Clock(12, 0, "pm"), 12),
        (Clock(9, 0, "am"), 9),
        (Clock(9, 0, "pm"), 21),
        (Clock(2, 0, "noon"), 14),
        (Clock(11, 0, "noon"), 11),
        (Clock(12, 0, "noon"), 12),
        (Clock(5), 17),  # "يفتح الساعة ٥؟" is the afternoon
        (Clock(6), 18),
        (Clock(7), 7),
        (Clock(12), 12),
        (Clock(0), 0),
        (Clock(23), 23),
        (Clock(21, 0, "pm"), 21),
    ],
)
def test_clock_hour24(clock: Clock, hour24: int) -> None:
    assert clock.hour24 == hour24


@pytest.mark.parametrize(
    ("text", "phrases"),
    [
        ("مفتوح بكرة ٩ الليل؟", [("بكره", TimeMeaning(day="tomorrow")), ("9 الليل", read("٩ الليل"))]),
        ("دوامهم في رمضان", [("رمضان", TimeMeaning(ramadan=True))]),  # the preposition stays outside
        ("open on friday at 9pm", [("friday", read("friday")), ("9pm", read("9pm"))]),
        ("وبكرة الصبح؟", [("بكره", TimeMeaning(day="tomorrow"))]),  # the part of the day stays outside
        ("والحين وش اسوي", []),  # "and now": the talk moves on
        ("mata yeftah bokra", [("bokra", TimeMeaning(day="tomorrow"))]),
        ("الساعة 25", [("الساعه 25", TimeMeaning())]),  # found, but no hour of the day
    ],
)
def test_find_marks_and_reads_phrases(text: str, phrases: list[tuple[str, TimeMeaning]]) -> None:
    folded = fold(text)
    assert [(folded[p.start : p.end], p.meaning) for p in find(folded)] == phrases


def test_find_covers_the_preposition_too() -> None:
    folded = fold("مفتوح في رمضان")
    (phrase,) = find(folded)
    assert folded[phrase.cover : phrase.end] == "في رمضان"
    assert folded[phrase.start : phrase.end] == "رمضان"


@pytest.mark.parametrize(
    ("word", "hour"),
    [
        ("واحدة", 1), ("ثنتين", 2), ("اثنين", 2), ("ثلاث", 3), ("تلاتة", 3), ("أربعة", 4), ("خمسة", 5),
        ("ستة", 6), ("سبعة", 7), ("ثمان", 8), ("تمانة", 8), ("تسعة", 9), ("عشرة", 10), ("إحدعش", 11),
        ("اطنعش", 12), ("اثنعش", 12),
    ],
)  # fmt: skip
def test_every_hour_word_found_is_read(word: str, hour: int) -> None:
    (phrase,) = find(fold(f"الساعة {word}"))
    assert phrase.meaning.clock == Clock(hour)


@pytest.mark.parametrize(
    "text",
    [
        "الحين", "دحين", "الان", "حاليا", "now", "currently", "al7een", "el7in", "hal7een", "dl7in",
        "alheen", "7alan", "halan", "bukra", "bkra", "bokrah", "tmrw", "tmr", "alyoum", "el yom", "allela",
        "el leila", "allaila", "الليلا", "jom3a", "jm3a", "juma", "sabt", "a7ad", "ahad", "ithnain",
        "ethnen", "thulatha", "talata", "arba3a", "arb3a", "5amees", "5amis", "mondays", "tuesdays",
        "wednesdays", "thursdays", "saturdays", "sundays", "يوم احد", "الثلاثا", "تلاتا", "الاربعا",
        "ramzan", "this afternoon", "midnight", "نص الليل",
    ],
)  # fmt: skip
def test_every_word_found_is_placed_in_time(text: str) -> None:
    """The finder and the reader share one vocabulary: nothing found is left unread."""
    (phrase,) = find(fold(text))
    assert phrase.meaning.named


@pytest.mark.parametrize(
    ("phrases", "merged"),
    [
        (["بكرة", "٩ الليل"], TimeMeaning(day="tomorrow", clock=Clock(9, 0, "night"))),
        (["tonight", "11"], TimeMeaning(day="today", clock=Clock(11, 0, "pm"), tonight=True)),
        (["الليلة", "الساعة 10"], TimeMeaning(day="today", clock=Clock(10, 0, "pm"), tonight=True)),
        (["tonight", "7 am"], TimeMeaning(day="today", clock=Clock(7, 0, "am"), tonight=True)),
        (["اليوم", "بكرة"], TimeMeaning(day="tomorrow")),
        (["يوم الجمعة", "الساعة 4"], TimeMeaning(weekday=FRIDAY, clock=Clock(4))),
        (["friday", "saturday"], TimeMeaning(weekday=FRIDAY)),
        (["رمضان", "الساعة ١٠ الليل"], TimeMeaning(clock=Clock(10, 0, "night"), ramadan=True)),
        (["العيد"], TimeMeaning()),
        ([], TimeMeaning()),
    ],
)
def test_merge_reads_a_message(phrases: list[str], merged: TimeMeaning) -> None:
    assert merge(read(p) for p in phrases) == merged


def test_parse_time_meaning_reads_entities_made_outside_the_nlu() -> None:
    entities = (
        Entity("place", "red-sea-mall", 0, 12, "Red Sea Mall"),
        Entity("time", "tomorrow", 20, 28, "tomorrow", meaning=read("tomorrow")),
        Entity("time", "9pm", 32, 35, "9pm"),  # no reading attached: read from its text
    )
    parse = Parse("", IntentScore("opening_hours", 1.0), (), entities, "en")
    assert parse.time_meaning() == TimeMeaning(day="tomorrow", clock=Clock(9, 0, "pm"))
    assert Parse("", IntentScore("greet", 1.0)).time_meaning() == TimeMeaning()


def test_rasa_time_entities_are_read_by_the_same_parser() -> None:
    text = "متى يفتح رد سي مول بكرة الساعة ٩ الليل؟"
    surface = "بكرة الساعة ٩ الليل"

    def rasa(request: httpx.Request) -> httpx.Response:
        start = text.index(surface)
        entity = {"entity": "time", "start": start, "end": start + len(surface), "value": surface}
        body = {"text": text, "intent": {"name": "opening_hours", "confidence": 0.9}, "entities": [entity]}
        return httpx.Response(200, content=json.dumps(body).encode())

    parser = RasaHttpParser("http://rasa.test", client=httpx.Client(transport=httpx.MockTransport(rasa)))
    (time,) = parser.parse(text).entities
    assert time.text == surface
    assert time.meaning == TimeMeaning(day="tomorrow", clock=Clock(9, 0, "night"))
