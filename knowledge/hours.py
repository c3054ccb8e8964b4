"""Opening hours in Jeddah: OpenStreetMap ``opening_hours`` plus Ramadan and dated special layers.

A place has up to three layers, the most specific winning for a whole day:

1. ``special_hours``: dated periods (Eid holidays, closures, events), each with its own expression;
2. ``ramadan_hours``: applies on the days of Ramadan in the Umm al-Qura calendar (hijridate);
3. ``opening_hours``: the regular week.

Ranges that run past midnight ("20:00-02:00") belong to the day they start on, so the night after
the last day of Ramadan still closes at the Ramadan time. All times are wall-clock Asia/Riyadh
(UTC+3, no daylight saving); aware datetimes in other zones are converted first. opening-hours-py is
used only here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import Enum
from functools import lru_cache

import opening_hours as oh
from hijridate import Gregorian, Hijri

from knowledge.clock import RIYADH, now

__all__ = [
    "RIYADH",
    "DayHours",
    "Hours",
    "HoursError",
    "HoursState",
    "Layer",
    "Note",
    "SpecialPeriod",
    "Status",
    "check_expression",
    "is_ramadan",
    "next_ramadan",
    "now",
    "ramadan_dates",
]

_DAY = timedelta(days=1)
_HORIZON_DAYS = 8
"""How far ahead "opens at" / "closes at" look before giving up (a week and a day)."""


class HoursError(ValueError):
    """An opening_hours expression that opening-hours-py cannot read."""


class Layer(Enum):
    """Which set of hours applies on a day."""

    REGULAR = "regular"
    RAMADAN = "ramadan"
    SPECIAL = "special"


class Status(Enum):
    """Open, closed, or not known (no hours on file, or hours marked ``unknown``)."""

    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


_PARSER_ERROR: type[Exception] = getattr(oh, "ParserError", SyntaxError)  # not in the package's stubs
Note = Mapping[str, str]
"""A note in each language, e.g. ``{"ar": "إجازة العيد", "en": "Eid holiday"}``."""

_STATUS = {oh.State.OPEN: Status.OPEN, oh.State.CLOSED: Status.CLOSED, oh.State.UNKNOWN: Status.UNKNOWN}


@dataclass(frozen=True)
class SpecialPeriod:
    """Dated hours overriding the other layers from ``start`` to ``end`` (both inclusive)."""

    start: date
    end: date
    hours: str
    note: Note | None = None


@dataclass(frozen=True)
class HoursState:
    """The answer to "is it open at …?".

    ``closes_at`` is set when open (None when open around the clock or beyond the look-ahead);
    ``opens_at`` is set when closed and it opens again within eight days.
    """

    status: Status
    layer: Layer
    always_open: bool = False
    closes_at: datetime | None = None
    opens_at: datetime | None = None
    note: Note | None = None


@dataclass(frozen=True)
class DayHours:
    """One day's opening ranges, each starting that day; an end at or before its start is the next day.

    ``status_all_day`` is CLOSED or UNKNOWN when the place has no open range that day for that reason,
    and None when ``ranges`` says it all. Open around the clock is the single range 00:00–00:00.
    """

    day: date
    layer: Layer
    ranges: tuple[tuple[time, time], ...]
    status_all_day: Status | None = None
    note: Note | None = None


@dataclass(frozen=True)
class _Segment:
    start: datetime
    end: datetime
    status: Status
    layer: Layer
    note: Note | None


def check_expression(expr: str) -> str | None:
    """None when ``expr`` is valid opening_hours syntax, else opening-hours-py's message (with its caret)."""
    if not expr.strip():
        return "empty expression"
    try:
        oh.OpeningHours(expr)
    except (_PARSER_ERROR, SyntaxError, ValueError) as error:
        return str(error).strip()
    return None


@lru_cache(maxsize=4096)
def _parse(expr: str) -> oh.OpeningHours:
    try:
        return oh.OpeningHours(expr)
    except (_PARSER_ERROR, SyntaxError, ValueError) as error:
        raise HoursError(f"{expr!r}: {error}") from error


def ramadan_dates(hijri_year: int) -> tuple[date, date]:
    """First and last Gregorian day of Ramadan in ``hijri_year`` (Umm al-Qura)."""
    start = Hijri(hijri_year, 9, 1).to_gregorian()
    after = Hijri(hijri_year, 10, 1).to_gregorian()
    return date(start.year, start.month, start.day), date(after.year, after.month, after.day) - _DAY


def _hijri(day: date) -> Hijri | None:
    try:
        return Gregorian(day.year, day.month, day.day).to_hijri()
    except (OverflowError, ValueError):  # outside the Umm al-Qura tables (1924–2077)
        return None


def is_ramadan(day: date) -> bool:
    """Whether ``day`` falls in Ramadan (Umm al-Qura); False outside the calendar's range."""
    hijri = _hijri(day)
    return hijri is not None and hijri.month == 9


def next_ramadan(after: date) -> tuple[date, date]:
    """The Ramadan that contains ``after``, or else the next one to start."""
    hijri = _hijri(after)
    if hijri is None:
        raise HoursError(f"{after} is outside the Umm al-Qura calendar")
    return ramadan_dates(hijri.year if hijri.month <= 9 else hijri.year + 1)


def _local(moment: datetime) -> datetime:
    """Naive Riyadh wall-clock time, as opening-hours-py wants it."""
    return moment.astimezone(RIYADH).replace(tzinfo=None) if moment.tzinfo is not None else moment


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=RIYADH)


class Hours:
    """A place's hours: regular, Ramadan and special layers. Expressions are validated by the schema."""

    def __init__(
        self,
        opening_hours: str | None,
        ramadan_hours: str | None = None,
        special: Sequence[SpecialPeriod] = (),
    ) -> None:
        """Hold the layers; expressions are parsed on first use (and shared between places)."""
        self.opening_hours = opening_hours
        self.ramadan_hours = ramadan_hours
        self.special = tuple(special)
        self._days: dict[date, tuple[_Segment, ...]] = {}

    @property
    def known(self) -> bool:
        """Whether any hours are on file at all."""
        return self.opening_hours is not None or self.ramadan_hours is not None or bool(self.special)

    def layer(self, day: date) -> tuple[Layer, str | None, Note | None]:
        """The layer that applies on ``day``: (layer, expression or None when unknown, note)."""
        for period in self.special:
            if period.start <= day <= period.end:
                return Layer.SPECIAL, period.hours, period.note
        if self.ramadan_hours is not None and is_ramadan(day):
            return Layer.RAMADAN, self.ramadan_hours, None
        return Layer.REGULAR, self.opening_hours, None

    def _segments(self, day: date) -> tuple[_Segment, ...]:
        """``day`` from midnight to midnight as segments of one status, last night's carry-over included."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        start = datetime.combine(day, time())
        end = start + _DAY
        layer, expr, note = self.layer(day)
        if expr is None:
            segments = [_Segment(start, end, Status.UNKNOWN, layer, note)]
        else:
            segments = [
                _Segment(a, b, _STATUS[state], layer, note)
                for a, b, state, _comment in _parse(expr).intervals(start, end)
            ]
        previous = self.layer(day - _DAY)
        if expr is not None and previous[:2] != (layer, expr):
            segments = _without_own_carry(segments, _parse(expr), start)
            carry = _carry_over(start, *previous)
            if carry is not None:
                segments = [carry, *(_clip(s, carry.end, end) for s in segments if s.end > carry.end)]
        result = tuple(s for s in segments if s.end > s.start)
        if len(self._days) > 64:
            self._days.clear()
        self._days[day] = result
        return result

    def _timeline(self, start: datetime) -> Iterator[_Segment]:
        """Segments from ``start`` (naive local) on, merged where the status does not change."""
        current: _Segment | None = None
        for offset in range(_HORIZON_DAYS + 1):
            for segment in self._segments(start.date() + offset * _DAY):
                if segment.end <= start:
                    continue
                if current is None:
                    current = segment
                elif segment.status is current.status:
                    current = _Segment(
                        current.start, segment.end, current.status, current.layer, current.note
                    )
                else:
                    yield current
                    current = segment
        if current is not None:
            yield current

    def state(self, at: datetime) -> HoursState:
        """Open, closed or unknown at ``at``, with when that changes."""
        local = _local(at)
        horizon = datetime.combine(local.date() + _HORIZON_DAYS * _DAY, time()) + _DAY
        timeline = self._timeline(local)
        here = next(timeline)
        if here.status is Status.OPEN:
            if here.end >= horizon:
                return HoursState(Status.OPEN, here.layer, always_open=True, note=here.note)
            return HoursState(Status.OPEN, here.layer, closes_at=_aware(here.end), note=here.note)
        if here.status is Status.UNKNOWN:
            return HoursState(Status.UNKNOWN, here.layer, note=here.note)
        opens = next((s for s in timeline if s.status is Status.OPEN), None)
        return HoursState(
            Status.CLOSED, here.layer, opens_at=_aware(opens.start) if opens else None, note=here.note
        )

    def is_open(self, at: datetime) -> bool:
        """Whether open at ``at`` (False when closed or unknown)."""
        return self.state(at).status is Status.OPEN

    def day(self, day: date) -> DayHours:
        """The ranges that start on ``day`` (a range running past midnight ends the next morning)."""
        layer, expr, note = self.layer(day)
        if expr is None:
            return DayHours(day, layer, (), Status.UNKNOWN, note)
        hours = _parse(expr)
        midnight = datetime.combine(day, time())
        next_midnight = midnight + _DAY
        ranges: list[tuple[time, time]] = []
        unknown = False
        for a, b, state, _comment in hours.intervals(midnight, next_midnight + _DAY):
            if a >= next_midnight:
                break
            if state is oh.State.UNKNOWN:
                unknown = True
            if state is not oh.State.OPEN:
                continue
            if a == midnight and b >= next_midnight:
                return DayHours(day, layer, ((time(), time()),), None, note)  # around the clock
            if a == midnight and hours.is_open(midnight - timedelta(seconds=1)):
                continue  # yesterday's range running past midnight
            ranges.append((a.time(), b.time()))
        if ranges:
            return DayHours(day, layer, tuple(ranges), None, note)
        return DayHours(day, layer, (), Status.UNKNOWN if unknown else Status.CLOSED, note)

    def week(self, start: date) -> list[DayHours]:
        """Seven days of :meth:`day` from ``start``."""
        return [self.day(start + offset * _DAY) for offset in range(7)]


def _clip(segment: _Segment, start: datetime, end: datetime) -> _Segment:
    return _Segment(
        max(segment.start, start), min(segment.end, end), segment.status, segment.layer, segment.note
    )


def _without_own_carry(
    segments: list[_Segment], hours: oh.OpeningHours, midnight: datetime
) -> list[_Segment]:
    """Close the range an expression carries into ``midnight`` (the day before had other hours)."""
    if not segments or segments[0].status is not Status.OPEN or segments[0].end >= midnight + _DAY:
        return segments
    if not hours.is_open(midnight - timedelta(seconds=1)):
        return segments
    first = segments[0]
    return [replace(first, status=Status.CLOSED), *segments[1:]]


def _carry_over(midnight: datetime, layer: Layer, expr: str | None, note: Note | None) -> _Segment | None:
    """The previous day's range running past ``midnight`` under that day's own hours, if any."""
    if expr is None:
        return None
    hours = _parse(expr)
    if not (hours.is_open(midnight - timedelta(seconds=1)) and hours.is_open(midnight)):
        return None
    change = hours.next_change(midnight)
    until = min(change, midnight + _DAY) if change is not None else midnight + _DAY
    return _Segment(midnight, until, Status.OPEN, layer, note)
