"""Dalil's one clock: Riyadh time, pinned by ``DALIL_NOW`` (or ``--at``) for tests and demos.

Every reading of a pinned time (``DALIL_NOW``, ``dalil ask --at``, ``kb preview --at``, review
``--since``) goes through :func:`parse_moment`, so they all agree: ISO 8601, and a time without an
offset is Riyadh wall-clock time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["RIYADH", "Clock", "in_riyadh", "make_clock", "now", "parse_moment"]

RIYADH = ZoneInfo("Asia/Riyadh")

Clock = Callable[[], datetime]
"""Gives the current aware time in Riyadh."""


def in_riyadh(moment: datetime) -> datetime:
    """``moment`` as aware Riyadh time; a naive one is taken to be Riyadh wall-clock time already."""
    return moment.replace(tzinfo=RIYADH) if moment.tzinfo is None else moment.astimezone(RIYADH)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date or time as aware Riyadh time (no offset means Riyadh; a bare date is midnight).

    Raises:
        ValueError: ``text`` is not an ISO date or time.
    """
    return in_riyadh(datetime.fromisoformat(text.strip()))


def now(env: Mapping[str, str] | None = None) -> datetime:
    """The current time in Riyadh, or ``DALIL_NOW`` when set."""
    env = os.environ if env is None else env
    pinned = env.get("DALIL_NOW", "").strip()
    return parse_moment(pinned) if pinned else datetime.now(RIYADH)


def make_clock(pinned: datetime | None = None) -> Clock:
    """A clock that always says ``pinned`` (in Riyadh), or the wall clock when it is ``None``."""
    if pinned is not None:
        fixed = in_riyadh(pinned)
        return lambda: fixed
    return lambda: datetime.now(RIYADH)
