"""Opening hours: open now, closing soon, overnight, Friday prayer gap, Ramadan, special days, unknown."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import opening_hours as oh
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.hours import (
    RIYADH,
    Hours,
    HoursError,
    Layer,
    SpecialPeriod,
    Status,
    check_expression,
    is_ramadan,
    next_ramadan,
    now,
    ramadan_dates,
)

MALL = "Sa-Th 10:00-23:00; Fr 13:30-23:30"
"""A typical Jeddah mall: closed on Friday until after the Friday prayer."""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=RIYADH)


def test_open_now_with_closing_time() -> None:
    state = Hours(MALL).state(at("2026-11-30T18:00"))  # a Monday
    assert state.status is Status.OPEN
    assert state.closes_at == at("2026-11-30T23:00")
    assert state.layer is Layer.REGULAR


def test_closing_soon_is_the_next_change() -> None:
    state = Hours(MALL).state(at("2026-11-30T22:40"))
    assert state.status is Status.OPEN
    assert state.closes_at is not None
    assert state.closes_at - at("2026-11-30T22:40") == timedelta(minutes=20)


def test_closed_until_tomorrow() -> None:
    state = Hours(MALL).state(at("2026-11-30T23:30"))
    assert state.status is Status.CLOSED
    assert state.opens_at == at("2026-12-01T10:00")


def test_closed_before_opening_today() -> None:
    state = Hours(MALL).state(at("2026-11-30T08:15"))
    assert state.status is Status.CLOSED
    assert state.opens_at == at("2026-11-30T10:00")


def test_after_midnight_range_belongs_to_the_day_it_starts() -> None:
    hours = Hours("Mo-Su 16:00-02:00")
    state = hours.state(at("2026-12-01T01:00"))
    assert state.status is Status.OPEN
    assert state.closes_at == at("2026-12-01T02:00")
    assert hours.day(date(2026, 11, 30)).ranges == ((time(16), time(2)),)
    assert hours.state(at("2026-12-01T03:00")).opens_at == at("2026-12-01T16:00")


def test_friday_prayer_gap() -> None:
    hours = Hours("Mo-Th,Sa,Su 09:00-23:00; Fr 09:00-11:30,13:30-23:00")
    friday = date(2026, 12, 4)
    assert hours.day(friday).ranges == ((time(9), time(11, 30)), (time(13, 30), time(23)))
    during = hours.state(at("2026-12-04T12:15"))
    assert during.status is Status.CLOSED
    assert during.opens_at == at("2026-12-04T13:30")
    assert Hours(MALL).state(at("2026-12-04T11:00")).opens_at == at("2026-12-04T13:30")


def test_ramadan_dates_follow_umm_al_qura() -> None:
    assert ramadan_dates(1448) == (date(2027, 2, 8), date(2027, 3, 8))
    assert is_ramadan(date(2027, 2, 8))
    assert is_ramadan(date(2027, 3, 8))
    assert not is_ramadan(date(2027, 3, 9))  # Eid al-Fitr
    assert not is_ramadan(date(2027, 2, 7))
    assert next_ramadan(date(2026, 11, 30)) == (date(2027, 2, 8), date(2027, 3, 8))
    assert next_ramadan(date(2027, 2, 20)) == (date(2027, 2, 8), date(2027, 3, 8))  # the current one
    assert next_ramadan(date(2027, 3, 20))[0].year == 2028


def test_ramadan_hours_apply_only_in_ramadan() -> None:
    hours = Hours(MALL, "Mo-Su 20:00-03:00")
    inside = hours.state(at("2027-02-15T21:00"))
    assert inside.status is Status.OPEN
    assert inside.layer is Layer.RAMADAN
    assert inside.closes_at == at("2027-02-16T03:00")
    assert hours.state(at("2027-02-15T12:00")).opens_at == at("2027-02-15T20:00")
    assert hours.day(date(2027, 2, 15)).layer is Layer.RAMADAN
    assert hours.state(at("2027-03-20T12:00")).layer is Layer.REGULAR


def test_last_ramadan_night_closes_at_the_ramadan_time() -> None:
    hours = Hours(MALL, "Mo-Su 20:00-03:00")
    after = hours.state(at("2027-03-09T01:30"))  # the night after the last day of Ramadan
    assert after.status is Status.OPEN
    assert after.layer is Layer.RAMADAN
    assert after.closes_at == at("2027-03-09T03:00")


def test_first_ramadan_night_does_not_inherit_a_range_from_before_it() -> None:
    hours = Hours(MALL, "Mo-Su 20:00-03:00")
    assert hours.state(at("2027-02-08T01:00")).status is Status.CLOSED


def test_special_day_overrides_regular_and_ramadan() -> None:
    eid = SpecialPeriod(
        date(2027, 3, 9), date(2027, 3, 11), "16:00-01:00", {"ar": "عيد الفطر", "en": "Eid al-Fitr"}
    )
    closed = SpecialPeriod(date(2026, 12, 1), date(2026, 12, 1), "off", {"en": "maintenance"})
    hours = Hours(MALL, "Mo-Su 20:00-03:00", [eid, closed])
    state = hours.state(at("2027-03-10T17:00"))
    assert (state.status, state.layer, state.note) == (Status.OPEN, Layer.SPECIAL, eid.note)
    assert state.closes_at == at("2027-03-11T01:00")
    shut = hours.state(at("2026-12-01T12:00"))
    assert (shut.status, shut.layer, shut.note) == (Status.CLOSED, Layer.SPECIAL, closed.note)
    assert shut.opens_at == at("2026-12-02T10:00")
    assert hours.day(date(2026, 12, 1)).status_all_day is Status.CLOSED


def test_unknown_closed_and_always_open_are_distinct() -> None:
    unknown = Hours(None)
    assert not unknown.known
    assert unknown.state(at("2026-11-30T12:00")).status is Status.UNKNOWN
    assert unknown.day(date(2026, 11, 30)).status_all_day is Status.UNKNOWN

    closed = Hours("off")
    assert closed.known
    state = closed.state(at("2026-11-30T12:00"))
    assert (state.status, state.opens_at) == (Status.CLOSED, None)
    assert closed.day(date(2026, 11, 30)).status_all_day is Status.CLOSED

    always = Hours("24/7")
    state = always.state(at("2026-11-30T03:00"))
    assert (state.status, state.always_open, state.closes_at) == (Status.OPEN, True, None)
    assert always.day(date(2026, 11, 30)).ranges == ((time(0), time(0)),)

    marked = Hours("Mo-Fr 08:00-12:00 unknown")
    assert marked.state(at("2026-11-30T09:00")).status is Status.UNKNOWN


def test_week_table() -> None:
    week = Hours(MALL).week(date(2026, 11, 30))
    assert [d.day.weekday() for d in week] == [0, 1, 2, 3, 4, 5, 6]
    assert week[4].ranges == ((time(13, 30), time(23, 30)),)  # Friday
    assert all(d.ranges == ((time(10), time(23)),) for i, d in enumerate(week) if i != 4)


def test_times_in_other_zones_are_converted() -> None:
    utc = datetime(2026, 11, 30, 19, 30, tzinfo=RIYADH).astimezone(UTC)
    assert Hours(MALL).state(utc).closes_at == at("2026-11-30T23:00")


def test_check_expression_gives_the_parser_caret() -> None:
    assert check_expression(MALL) is None
    message = check_expression("Mo-Fx 10:00-12:00")
    assert message is not None
    assert "^" in message
    assert check_expression("   ") == "empty expression"
    with pytest.raises(HoursError):
        Hours("Mo-Fx").state(at("2026-11-30T12:00"))


def test_dalil_now_pins_the_clock() -> None:
    assert now({"DALIL_NOW": "2027-02-15T21:00"}) == at("2027-02-15T21:00")
    assert now({"DALIL_NOW": "2027-02-15T18:00+00:00"}) == at("2027-02-15T21:00")
    assert now({}).tzinfo is RIYADH


_RANGES = st.lists(
    st.tuples(st.integers(0, 23), st.integers(1, 24)).filter(lambda r: r[0] < r[1]), min_size=1, max_size=3
)
_DAYS = st.sets(st.sampled_from(["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]), min_size=1)


@settings(max_examples=150, deadline=None)
@given(
    days=_DAYS,
    ranges=_RANGES,
    minute=st.integers(0, 14 * 24 * 60 - 1),
)
def test_plain_hours_agree_with_opening_hours_py(
    days: set[str], ranges: list[tuple[int, int]], minute: int
) -> None:
    expr = ",".join(sorted(days)) + " " + ",".join(f"{a:02d}:00-{b:02d}:00" for a, b in sorted(ranges))
    moment = datetime(2026, 11, 23) + timedelta(minutes=minute)  # two plain weeks, far from Ramadan
    reference = oh.OpeningHours(expr)
    state = Hours(expr).state(moment.replace(tzinfo=RIYADH))
    assert (state.status is Status.OPEN) == reference.is_open(moment)
    change = reference.next_change(moment)
    if state.status is Status.OPEN and state.closes_at is not None:
        assert state.closes_at.replace(tzinfo=None) == change
    if state.status is Status.CLOSED and state.opens_at is not None:
        assert state.opens_at.replace(tzinfo=None) == change
