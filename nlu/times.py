"""Time phrases: where a message names a time, and what that time means. Dalil's one time parser.

:func:`find` marks the time phrases of a normalised message (the gazetteer's ``time`` entities) and reads
each one; :func:`read` reads any phrase, such as a ``time`` entity from a Rasa server. A reading is a
:class:`TimeMeaning`: a day (today, tomorrow, a weekday), a clock time with the part of the day it was
said with, tonight, now, Ramadan. It never depends on the clock: ``bot/when.py`` turns it into a moment or
a day relative to now (``knowledge/clock.py``), with no time words of its own.

Patterns are written in folded form (ة→ه, ى→ي, no hamza, digits Western; see ``nlu/normalize.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from nlu.normalize import fold

__all__ = [
    "TIME_PHRASE",
    "Clock",
    "Part",
    "RelativeDay",
    "TimeMeaning",
    "TimePhrase",
    "find",
    "merge",
    "read",
]

Part = Literal["am", "noon", "pm", "night"]
"""The part of the day said with a clock time: "٩ الصبح" am, "٢ الظهر" noon, "٥ العصر" pm, "١١ بالليل"
night."""
RelativeDay = Literal["today", "tomorrow", "after_tomorrow"]

# --- finding: which words are a time -------------------------------------------------------------
_DAYS = (
    r"(?:(?:يوم )?(?:ال)?(?:جمعه|سبت|اثنين|اتنين|ثلاثاء|ثلاثا|تلاتا|اربعاء|اربعا|خميس)"
    r"|(?:يوم )?الاحد|يوم احد"
    r"|(?:(?:yom|yoom|youm) )?(?:(?:el|al|il) ?)?"
    r"(?:jum3a|jom3a|jm3a|juma|sabt|a7ad|ahad|ithnain|ethnen|thulatha|talata|arba3a|arb3a|khamees|5amees|5amis)"
    r"|fridays|saturdays|sundays|mondays|tuesdays|wednesdays|thursdays"
    r"|friday|saturday|sunday|monday|tuesday|wednesday|thursday|fri|sat|sun|mon|tue|wed|thu"
    r"|(?:the )?weekends?|(?:ال)?ويكند|نهايه الاسبوع|اخر الاسبوع)"
)
_HOUR_WORDS = r"(?:واحده|ثنتين|اثنين|(?:ثلاث|تلات|اربع|خمس|ست|سبع|ثمان|تمان|تسع|عشر)ه?|احدعش|اطنعش|اثنعش)"
_PARTS = (
    r"(?:الصبح|الصباح|صباحا|صباح|الظهر|ظهرا|العصر|المغرب|العشا|العشاء|المسا|المساء|مساء|مساءا"
    r"|بالليل|الليل|ليلا|في الليل|في الليل|بالصباح|بالمسا|الفجر|am|pm|a\.m\.|p\.m\."
    r"|in the (?:morning|evening|afternoon)|at night|tonight|bel ?lail|bil ?lail|bel ?leil|el ?sob7|al ?sob7"
    r"|sob7|el ?masa|masa2an)"
)
_PRAYERS = r"(?:ال)?(?:جمعه|فجر|ظهر|عصر|مغرب|عشا|عشاء|تراويح)"
_ARABIZI_PRAYERS = (
    r"(?:(?:el|al) ?)?(?:jom3a|jum3a|fajr|fajer|dhuhr|thuhr|zuhr|asr|3asr|maghrib|maghreb|magrib|3isha|isha)"
)
TIME_PHRASE = re.compile(
    # not inside a word (a conjunction "و"/"ف" before it stays outside), nor after an Arabizi apostrophe
    r"(?:(?<![^\W_]|')|(?<=(?<![^\W_])[وف]))(?:"
    # a clock time needs a cue: "الساعة ٩", "at 9", "9:30", "9 pm", "٩ الليل" (a bare "1" is a number)
    r"(?P<clock>(?:(?:(?:ال)?ساعه |at |around |by |el sa3a |al sa3a |sa3a )"
    r"(?:\d{1,2}(?:[:.]\d{2})?|" + _HOUR_WORDS + r")"
    r"|\d{1,2}[:.]\d{2}|(?:\d{1,2}|" + _HOUR_WORDS + r")(?= ?(?:و(?:نص|ربع) )?" + _PARTS + r"))"
    r"(?: ?و(?:نص|ربع))?(?: ?" + _PARTS + r")?(?: " + _DAYS + r")?)"
    # a day takes the part of the day after it, which stays outside its span ("[بكرة] الصبح")
    r"|(?P<day>(?:(?:on|this|next|كل|يوم|هذا|الجاي) )?" + _DAYS + r"(?: " + _PARTS + r")?)"
    r"|(?:(?:في|خلال|during|in|fi|fe|b) )?(?:(?:شهر|shahr) )?(?:رمضان|ramadan|ramadhan|ramzan)"
    r"|(?:بعد|قبل|after|before) (?:ال)?(?:فجر|ظهر|عصر|مغرب|عشا|عشاء|صلاه|تراويح)"
    r"|(?:ba3d|ba3ad|gabl|qabl|9abl) "
    + _ARABIZI_PRAYERS
    + r"|(?:al|el|hal|dal|dl|l)7(?:ee|ai|ei|i|e)n|alhin|alheen|delwa2ti|7alan|halan"
    r"|elyom|elyoum|alyom|alyoum|el yom|al yom"
    r"|ellela|allela|el lela|el leila|allaila"
    # prayer time: "وقت الصلاة", "[صلاة المغرب]", "وقت صلاة الجمعة", "wa9t el9ala"
    r"|(?:(?:في|fi|fe) )?(?:وقت|اوقات) (?:ال)?صلاه(?: "
    + _PRAYERS
    + r")?|صلاه "
    + _PRAYERS
    + r"|(?:wa[q89k]t|wagt) (?:(?:el|al) ?)?(?:9ala|9alah|9alat|salah?|salat|9lat)(?: "
    + _ARABIZI_PRAYERS
    + r")?"
    r"|(?:(?:el|al) ?)?(?:9alat|salat|9lat) "
    + _ARABIZI_PRAYERS
    + r"|(?:during |at )?prayer times?|during prayers?"
    r"|24 ?ساعه|24/7|24 hours|طول اليوم|all day|(?:بعد )?منتصف الليل|after midnight|late at night|late night"
    r"|(?:(?<=open )|(?<=opens )|(?<=close )|(?<=closes ))late"
    r"|(?:هذا |هالـ?|الـ?)?(?:اسبوع (?:الجاي|القادم)|الاسبوع (?:الجاي|القادم))|this week|next week"
    r"|(?:(?:في|ايام) )?(?:ال)?عيد(?: (?:ال)?(?:فطر|اضحي))?"
    r"|(?:(?:el|al) ?)?3[ie]+d|eid(?: al[ -]?(?:fitr|adha))?"
    r"|الحين|الان|دحين|دحينه|حاليا|هالحين|now|right now|currently|at the moment"
    r"|(?P<relday>(?:بكره|بكرا|باكر|غدا|بعد بكره|tomorrow|tmrw|tmr|today|اليوم|bukrah?|bokrah?|bkra)(?: "
    + _PARTS
    + r")?)"
    r"|tonight|الليله|الليلا"
    r"|this evening|this morning|this afternoon"
    r"|(?:at )?(?:noon|midnight)|(?:ال)?ظهر|نص الليل|منتصف الليل"
    # a part of the day on its own: "العيادات [الصبح]", "kam [el sob7]", "[مساءً]"
    r"|الصبح|الصباح|صباحا|بالصباح|المسا|المساء|مساء|مساءا|بالمسا|بالليل|ليلا|في الليل"
    r"|(?:el|al) ?sob7|sob7|bel ?lail|bil ?lail|bel ?leil|el ?masa|masa2an"
    r")(?![^\W_])",
    re.IGNORECASE,
)
"""A time phrase in normalised text. Its text is part of the gazetteer's digest (models are named by it)."""

# A preposition before a time is not the time: "في [رمضان]", "on [Friday]", "at [9pm]", "خلال شهر [رمضان]",
# "أثناء [صلاة المغرب]" (like a clitic).
_PREPOSITION = re.compile(
    r"(?:(?:في|خلال|اثناء|during|in|on|at|fi|fe|around|by|شهر|shahr) )+(?=\S)", re.IGNORECASE
)
_TRAILING_PART = re.compile(r" " + _PARTS + r"$", re.IGNORECASE)
_NOT_NOW = re.compile(r"(?:for|till|until|by|just|up to) $", re.IGNORECASE)
""""for now", "until now", "just now": no time to look a place up for."""

# "now" after a conjunction ("ودحين", "والحين", "فالحين") is a discourse marker, not a time.
_DISCOURSE_NOW = re.compile(r"الحين|دحين|دحينه|الان|هالحين|حاليا")

# --- reading: what the words mean ---------------------------------------------------------------
_HOURS = {
    "واحد": 1, "ثنتين": 2, "اثنين": 2, "ثلاث": 3, "تلات": 3, "اربع": 4, "خمس": 5, "ست": 6, "سبع": 7,
    "ثمان": 8, "تمان": 8, "تسع": 9, "عشر": 10, "احدعش": 11, "اطنعش": 12, "اثنعش": 12,
}  # fmt: skip
"""Hour words (a final "ه" dropped: "تسعه" → "تسع"), the ones :data:`_HOUR_WORDS` finds."""
_FRACTIONS = {"نص": 30, "ربع": 15}
"""Minutes of "٩ ونص" (half past nine) and "٩ وربع" (a quarter past)."""
_PART_OF: dict[str, Part] = {
    **dict.fromkeys(("الصبح", "الصباح", "صباحا", "صباح", "بالصباح", "الفجر", "ص", "am", "a.m."), "am"),
    **dict.fromkeys(("inthemorning", "elsob7", "alsob7", "sob7"), "am"),
    **dict.fromkeys(("الظهر", "ظهرا"), "noon"),
    **dict.fromkeys(("العصر", "المغرب", "العشا", "العشاء", "المسا", "المساء", "مساء", "مساءا"), "pm"),
    **dict.fromkeys(("بالمسا", "م", "pm", "p.m.", "intheevening", "intheafternoon", "tonight"), "pm"),
    **dict.fromkeys(("elmasa", "masa2an"), "pm"),
    **dict.fromkeys(
        ("بالليل", "الليل", "ليلا", "فيالليل", "atnight", "bellail", "billail", "belleil"), "night"
    ),
}
"""A part of the day as said (spaces removed) → which part it is."""
_WORD_START = r"(?<![^\W_])"
_WORD_END = r"(?![^\W_])"
_CLOCK = re.compile(
    _WORD_START + r"(?<!/)"  # the 7 of "24/7" is not seven o'clock
    r"(?:(?P<cue>(?:ال)?ساعه|at|around|by|(?:el |al )?sa3a) )?"
    r"(?P<hour>\d{1,2}|" + _HOUR_WORDS + r")(?:[:.](?P<minute>\d{2}))?(?: ?و(?P<fraction>نص|ربع))?"
    r"(?: ?(?P<part>" + _PARTS + r"|ص|م))?" + _WORD_END,
    re.IGNORECASE,
)
_MIDNIGHT = re.compile(_WORD_START + r"(?:midnight|نص الليل|منتصف الليل)" + _WORD_END)
_NOON = re.compile(_WORD_START + r"(?<!بعد )(?<!قبل )(?:noon|(?:ال)?ظهر|ظهرا)" + _WORD_END)
_WEEKDAYS = [
    re.compile(_WORD_START + r"(?:ال|el|al|il)?(?:" + names + r")s?" + _WORD_END)
    for names in (
        r"اثنين|اتنين|monday|mon|ithnain|ethnen",
        r"ثلاثاء|ثلاثا|تلاتا|tuesday|tue|thulatha|talata",
        r"اربعاء|اربعا|wednesday|wed|arba3a|arb3a",
        r"خميس|thursday|thu|khamees|5amees|5amis",
        r"جمعه|friday|fri|jum3a|jom3a|jm3a|juma",
        r"سبت|saturday|sat|sabt",
        r"احد|sunday|sun|a7ad|ahad",
    )
]
"""Monday first, as :meth:`datetime.date.weekday` counts."""
_NOW = re.compile(
    _WORD_START + r"(?:الحين|الان|دحين|دحينه|حاليا|هالحين|now|currently|right now|(?:at )?the moment"
    r"|(?:al|el|hal|dal|dl|l)7(?:ee|ai|ei|i|e)n|alhin|alheen|delwa2ti|7alan|halan)" + _WORD_END
)
_CONJUNCTION = _WORD_START + r"[وف]?"  # "وبكرة" read from a Rasa server keeps its "و"
_AFTER_TOMORROW = re.compile(_CONJUNCTION + r"(?:بعد بكره|بعد بكرا|day after tomorrow)" + _WORD_END)
_TOMORROW = re.compile(
    _CONJUNCTION + r"(?:بكره|بكرا|باكر|غدا|tomorrow|tmrw|tmr|bukra|bokra|bukrah|bokrah|bkra)" + _WORD_END
)
_TODAY = re.compile(
    _CONJUNCTION
    + r"(?:اليوم|today|this morning|this afternoon|elyom|elyoum|alyom|alyoum|el yom|al yom)"
    + _WORD_END
)
_TONIGHT = re.compile(
    _CONJUNCTION
    + r"(?:الليله|الليلا|tonight|this evening|ellela|allela|el lela|el leila|allaila)"
    + _WORD_END
)
_RAMADAN = re.compile(r"رمضان|ramadan|ramadhan|ramzan")  # also joined to a preposition: "برمضان"


@dataclass(frozen=True)
class Clock:
    """A clock time as it was said: "٩ الليل" is ``Clock(9, 0, "night")``, "الساعة ٥" ``Clock(5)``."""

    hour: int
    """0–23, as said (a 12-hour "9" or a 24-hour "21")."""
    minute: int = 0
    part: Part | None = None

    @property
    def hour24(self) -> int:
        """The hour on a 24-hour clock.

        "١٢ بالليل" and "12 am" are 0; "١١ بالليل", "٥ العصر", "2 الظهر" and "9 pm" are afternoon or
        evening hours; "٢ بالليل" is 2 at night. An hour from 1 to 6 said without a part of the day is the
        afternoon ("يفتح الساعة ٥؟" means 5 pm far more often than 5 am); 0 and 13–23 are taken as said.
        """
        hour, part = self.hour, self.part
        if hour == 0 or hour > 12:
            return hour
        if hour == 12:
            return 0 if part in ("am", "night") else 12
        if part is None:
            return hour + 12 if hour <= 6 else hour
        if part == "pm" or (part == "noon" and hour < 6) or (part == "night" and hour >= 6):
            return hour + 12
        return hour


@dataclass(frozen=True)
class TimeMeaning:
    """What a time phrase (or all of a message's) says, whatever the clock shows.

    Nothing set means a time was named that Dalil does not place on the calendar ("العيد", "وقت الصلاة",
    "weekend"), which is answered as now.
    """

    day: RelativeDay | None = None
    weekday: int | None = None
    """0 = Monday … 6 = Sunday; a named relative day (``day``) comes first."""
    clock: Clock | None = None
    tonight: bool = False
    """"الليلة", "tonight", "this evening": today, in the evening."""
    now: bool = False
    ramadan: bool = False

    @property
    def named(self) -> bool:
        """Whether the phrase says anything that places it in time."""
        return self != _NOTHING


_NOTHING = TimeMeaning()


@dataclass(frozen=True)
class TimePhrase:
    """A time phrase found in normalised text, and what it means."""

    start: int
    """Where the phrase starts, after a preposition before it ("في [رمضان]")."""
    end: int
    """Where it ends; a part of the day after a day stays outside ("[بكرة] الصبح") but is read."""
    cover: int
    """Where its words start, that preposition included."""
    cover_end: int
    """Where its words end, that part of the day included: no other entity is read in ``cover:cover_end``."""
    meaning: TimeMeaning


def find(text: str, skip: Sequence[tuple[int, int]] = ()) -> list[TimePhrase]:
    """The time phrases of normalised ``text`` (``nlu.normalize.fold``), in text order, each read.

    A preposition before a time stays outside it ("on [Friday]"); "now" joined to a conjunction
    ("والحين وش اسوي") moves the talk on and is no time, nor is "for now" or "until now", nor anything
    starting inside ``skip`` (the set phrases: "bye for now").
    """
    found: list[TimePhrase] = []
    for match in TIME_PHRASE.finditer(text):
        said = match.group()
        if match.start() and text[match.start() - 1] in "وف" and _DISCOURSE_NOW.fullmatch(said):
            continue
        if any(s <= match.start() < e for s, e in skip):
            continue
        if said.lower() == "now" and _NOT_NOW.search(text[: match.start()]):
            continue
        lead = _PREPOSITION.match(said)
        start = match.start() + (lead.end() if lead else 0)
        day = match.group("day") or match.group("relday")
        trail = _TRAILING_PART.search(day) if day else None
        end = match.start() + trail.start() if trail else match.end()
        meaning = _read(text[start : match.end()])
        found.append(TimePhrase(start, end, match.start(), match.end(), meaning))
    return found


def read(text: str) -> TimeMeaning:
    """What one time phrase means: "بكرة ٩ الليل", "on Friday", "في رمضان", "el sa3a 11 bel lail"."""
    return _read(fold(text))


def merge(meanings: Iterable[TimeMeaning]) -> TimeMeaning:
    """One message's time from its phrases: "بكرة" and "٩ الليل" are tomorrow at 21:00.

    The farthest relative day wins (after tomorrow, then tomorrow, then today), the first weekday and the
    first clock time in text order; with "tonight", a clock time said without a part of the day is the
    evening ("tonight at 11" is 23:00).
    """
    days: dict[RelativeDay | None, int] = {None: 0, "today": 1, "tomorrow": 2, "after_tomorrow": 3}
    merged = _NOTHING
    for meaning in meanings:
        merged = TimeMeaning(
            max(merged.day, meaning.day, key=days.__getitem__),
            merged.weekday if merged.weekday is not None else meaning.weekday,
            merged.clock or meaning.clock,
            merged.tonight or meaning.tonight,
            merged.now or meaning.now,
            merged.ramadan or meaning.ramadan,
        )
    if merged.tonight and merged.clock is not None and merged.clock.part is None:
        merged = replace(merged, clock=replace(merged.clock, part="pm"))
    return merged


def _read(text: str) -> TimeMeaning:
    """:func:`read` of folded text."""
    clock, rest = _clock(text)
    tonight = bool(_TONIGHT.search(rest))
    day: RelativeDay | None = None
    if _AFTER_TOMORROW.search(rest):
        day = "after_tomorrow"
    elif _TOMORROW.search(rest):
        day = "tomorrow"
    elif tonight or _TODAY.search(rest):
        day = "today"
    weekday = next((index for index, names in enumerate(_WEEKDAYS) if names.search(rest)), None)
    now = bool(_NOW.search(rest))
    return TimeMeaning(day, weekday, clock, tonight, now, bool(_RAMADAN.search(rest)))


def _clock(text: str) -> tuple[Clock | None, str]:
    """The clock time ``text`` names, and ``text`` with its hour blanked (so "الساعة اثنين" is no Monday)."""
    for match in _CLOCK.finditer(text):
        said = match["hour"]
        if not said.isdigit() and not (match["cue"] or match["part"]):
            continue  # "اثنين" alone is Monday; "الساعة اثنين", "اثنين الظهر" are two o'clock
        hour = int(said) if said.isdigit() else _HOURS[said.removesuffix("ه")]
        minute = (
            int(match["minute"]) if match["minute"] else {"نص": 30, "ربع": 15}.get(match["fraction"] or "", 0)
        )
        if hour > 23 or minute > 59:
            continue
        part = _PART_OF[re.sub(r"\s", "", match["part"])] if match["part"] else None
        stop = match.start("part") if match["part"] else match.end()
        return Clock(hour, minute, part), text[: match.start()] + " " * (stop - match.start()) + text[stop:]
    if _MIDNIGHT.search(text):
        return Clock(12, 0, "night"), text
    if _NOON.search(text):
        return Clock(12, 0, "noon"), text
    return None, text
