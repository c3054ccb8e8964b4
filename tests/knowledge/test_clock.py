"""The one clock: DALIL_NOW / --at parsing, Riyadh when no offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from knowledge.clock import RIYADH, make_clock, now, parse_moment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T20:00:00", datetime(2026, 11, 24, 20, 0, tzinfo=RIYADH)),
        ("2026-11-24T20:00", datetime(2026, 11, 24, 20, 0, tzinfo=RIYADH)),
        ("2026-11-24T17:00:00+00:00", datetime(2026, 11, 24, 20, 0, tzinfo=RIYADH)),
        (" 2026-11-24 ", datetime(2026, 11, 24, 0, 0, tzinfo=RIYADH)),
    ],
)
def test_parse_moment(text: str, expected: datetime) -> None:
    moment = parse_moment(text)
    assert moment == expected
    assert moment.utcoffset() == timedelta(hours=3)


def test_parse_moment_refuses_what_is_not_iso() -> None:
    with pytest.raises(ValueError, match="isoformat"):
        parse_moment("tomorrow at 9")


def test_pinned_and_wall_clocks() -> None:
    pinned = make_clock(datetime(2026, 11, 24, 17, 0, tzinfo=UTC))
    assert pinned() == datetime(2026, 11, 24, 20, 0, tzinfo=RIYADH)
    assert pinned().tzinfo is RIYADH
    assert abs(make_clock()() - datetime.now(RIYADH)) < timedelta(seconds=5)
    assert now({"DALIL_NOW": "2026-11-24T20:00"}) == datetime(2026, 11, 24, 20, 0, tzinfo=RIYADH)
