"""Resolve the time a person asks about ("بكرة ٩ الليل", "on Friday", "في رمضان") to a moment or a day.

The NLU marks time phrases as surface text; this turns them into something the hours engine can answer,
relative to now in Asia/Riyadh.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from knowledge.hours import next_ramadan
from nlu.normalize import fold

__all__ = ["When", "resolve_when"]

_DAYS = {
    0: ("اثنين", "اتنين", "monday", "mon"),
    1: ("ثلاثاء", "ثلاثا", "تلاتا", "tuesday", "tue"),
    2: ("اربعاء", "اربعا", "wednesday", "wed"),
    3: ("خميس", "thursday", "thu"),
    4: ("جمعه", "friday", "fri"),
    5: ("سبت", "saturday", "sat"),
    6: ("احد", "sunday", "sun"),
}
_NOW = re.compile(r"\b(?:الحين|الان|دحين|دحينه|حاليا|هالحين|now|currently)\b|right now|at the moment")
_TOMORROW_PLUS = re.compile(r"بعد بكره|بعد بكرا|day after tomorrow")
_TOMORROW = re.compile(r"بكره|بكرا|باكر|غدا|tomorrow|tmrw|tmr")
_TODAY = re.compile(r"اليوم|today")
_TONIGHT = re.compile(r"الليله|tonight|this evening")
_MORNING_TODAY = re.compile(r"this morning")
_RAMADAN = re.compile(r"رمضان|ramadan|ramadhan|ramzan")
_HOUR = re.compile(
    r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|ص|م\b|صباحا|الصبح|الصباح|صباح|الظهر|ظهرا|العصر|المغرب|العشا|العشاء|المسا|المساء|مساء|مساءا|بالليل|الليل|ليلا)?"
)
_EVENING = (
    "pm",
    "p.m.",
    "م",
    "العصر",
    "المغرب",
    "العشا",
    "العشاء",
    "المسا",
    "المساء",
    "مساء",
    "مساءا",
    "بالليل",
    "الليل",
    "ليلا",
)
_NOON = ("الظهر", "ظهرا")
_NIGHT = ("بالليل", "الليل", "ليلا")
_WORDS = {"noon": 12, "midnight": 0, "نص الليل": 0, "منتصف الليل": 0}


@dataclass(frozen=True)
class When:
    """What moment or day a question is about."""

    at: datetime | None = None
    """A specific moment (an hour was given, or "now")."""
    day: date | None = None
    """A whole day, when no hour was given ("on Friday")."""
    ramadan: bool = False
    explicit: bool = False
    """The person named a time; False means "now" by default."""


def _weekday(text: str) -> int | None:
    for index, names in _DAYS.items():
        # Arabic weekdays usually come with the article: "الجمعة", "يوم السبت".
        if any(re.search(rf"(?<![^\W_])(?:ال)?{n}(?![^\W_])", text) for n in names):
            return index
    return None


def _hour(text: str) -> time | None:
    for word, hour in _WORDS.items():
        if word in text:
            return time(hour, 0)
    for match in _HOUR.finditer(text):
        hour, minute, part = int(match.group(1)), int(match.group(2) or 0), match.group(3)
        if hour > 23 or minute > 59:
            continue
        if part in _NIGHT and hour == 12:
            hour = 0  # "12 بالليل" is midnight
        elif (part in _EVENING and hour < 12) or (part in _NOON and hour < 6):
            hour += 12
        elif part in ("am", "a.m.") and hour == 12:
            hour = 0
        elif part is None and 1 <= hour <= 6:
            hour += 12  # "يفتح الساعة ٥؟" means the afternoon far more often than 5 in the morning
        return time(hour, minute)
    return None


def resolve_when(surfaces: Sequence[str], now: datetime) -> When:
    """Combine the time phrases of one message into a :class:`When` relative to ``now``."""
    if not surfaces:
        return When(at=now)
    text = " ".join(fold(s) for s in surfaces)
    ramadan = bool(_RAMADAN.search(text))
    day: date | None = None
    if _TOMORROW_PLUS.search(text):
        day = now.date() + timedelta(days=2)
    elif _TOMORROW.search(text):
        day = now.date() + timedelta(days=1)
    elif _TODAY.search(text) or _TONIGHT.search(text) or _MORNING_TODAY.search(text):
        day = now.date()
    else:
        weekday = _weekday(text)
        if weekday is not None:
            day = now.date() + timedelta(days=(weekday - now.weekday()) % 7)
    if ramadan and day is None:
        start, _end = next_ramadan(now.date())
        day = max(start, now.date()) if start <= now.date() else start + timedelta(days=1)
    hour = _hour(text)
    if hour is None and _TONIGHT.search(text):
        hour = time(21, 0)
    if hour is not None:
        base = day if day is not None else now.date()
        moment = datetime.combine(base, hour, tzinfo=now.tzinfo)
        if day is None and moment < now - timedelta(minutes=30):
            moment += timedelta(days=1)  # "at 9 am" asked at 3 pm means tomorrow
        return When(at=moment, ramadan=ramadan, explicit=True)
    if (day is not None and day != now.date()) or ramadan:
        return When(day=day, ramadan=ramadan, explicit=True)
    if day == now.date() and not _NOW.search(text):
        return When(day=day, explicit=True)
    return When(at=now, explicit=bool(_NOW.search(text)))
