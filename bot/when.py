"""Place the time a person asks about ("بكرة ٩ الليل", "on Friday", "في رمضان") on the calendar.

The NLU reads what a time phrase means (``nlu/times.py``, the one time parser, for every engine); this
only turns that reading into a moment or a day relative to now in Asia/Riyadh (``knowledge/clock.py``),
so the hours engine can answer it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from knowledge.hours import next_ramadan
from nlu.times import TimeMeaning

__all__ = ["When", "resolve_when"]

TONIGHT = time(21, 0)
"""The moment "tonight" asks about when no clock time is given."""
PAST_GRACE = timedelta(minutes=30)
"""A clock time this far in the past, with no day named, means tomorrow ("at 9 am" asked at 3 pm)."""


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


def _day(meaning: TimeMeaning, today: date) -> date | None:
    """The day named: a relative day first ("بكرة"), else the next such weekday (today counts)."""
    if meaning.day is not None:
        return today + timedelta(days={"today": 0, "tomorrow": 1, "after_tomorrow": 2}[meaning.day])
    if meaning.weekday is not None:
        return today + timedelta(days=(meaning.weekday - today.weekday()) % 7)
    return None


def resolve_when(meaning: TimeMeaning, now: datetime) -> When:
    """Place a message's time (``Parse.time_meaning()``) on the calendar relative to ``now``."""
    if not meaning.named:
        return When(at=now)
    ramadan = meaning.ramadan
    day = _day(meaning, now.date())
    if ramadan and day is None:
        start, _end = next_ramadan(now.date())
        day = max(start, now.date()) if start <= now.date() else start + timedelta(days=1)
    hour = None
    if meaning.clock is not None:
        hour = time(meaning.clock.hour24, meaning.clock.minute)
    elif meaning.tonight:
        hour = TONIGHT
    if hour is not None:
        base = day if day is not None else now.date()
        moment = datetime.combine(base, hour, tzinfo=now.tzinfo)
        if day is None and moment < now - PAST_GRACE:
            moment += timedelta(days=1)
        return When(at=moment, ramadan=ramadan, explicit=True)
    if (day is not None and day != now.date()) or ramadan:
        return When(day=day, ramadan=ramadan, explicit=True)
    if day == now.date() and not meaning.now:
        return When(day=day, explicit=True)
    return When(at=now, explicit=meaning.now)
