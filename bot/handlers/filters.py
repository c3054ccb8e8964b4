"""Attributes in a question are filters: open now, 24 hours, cuisine, family, free entry, women's section.

Each filter is applied where the data can answer it. Where it cannot, the answer says so plainly and shows
the closest places with each one's status, instead of pretending the list was filtered. Places closed
for good or for now are never offered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.turn import Turn
from bot.when import resolve_when
from knowledge.hours import Status
from knowledge.schema import Place

__all__ = ["Filtered", "apply_filters", "operating"]

Check = Callable[[Place], bool | None]
"""True: the place has it; False: it does not; None: the data cannot tell."""


@dataclass(frozen=True)
class Filtered:
    """Places after the question's filters, and the sentence that says what was (not) checked."""

    places: list[Place]
    note: str | None = None


def operating(places: list[Place]) -> list[Place]:
    """Places that are not closed (for good or for now)."""
    return [p for p in places if p.status is None or p.status.state == "operating"]


def _asked_moment(turn: Turn) -> datetime:
    """The moment "open" is asked about: "after midnight", "on Friday at 9", else now."""
    when = resolve_when(turn.parse.time_meaning(), turn.now)
    if when.at is not None:
        return when.at
    if when.day is not None:
        return datetime.combine(when.day, turn.now.timetz())
    return turn.now


def _checks(turn: Turn, cuisines: list[str]) -> dict[str, Check]:
    store, now = turn.store, _asked_moment(turn)

    def open_now(place: Place) -> bool | None:
        hours = store.hours(place)
        if not hours.known:
            return None
        status = hours.state(now).status
        return None if status is Status.UNKNOWN else status is Status.OPEN

    def open_24h(place: Place) -> bool | None:
        hours = store.hours(place)
        if not hours.known:
            return None
        return hours.state(now).always_open

    def cuisine(place: Place) -> bool | None:
        if not place.attributes.cuisine:
            return None
        return any(c in place.attributes.cuisine for c in cuisines)

    return {
        "open_now": open_now,
        "open_24h": open_24h,
        "family_section": lambda p: p.attributes.family_section,
        "free_entry": lambda p: p.attributes.free_entry,
        "womens_section": lambda p: p.attributes.womens_section,
        "cuisine": cuisine,
    }


def apply_filters(turn: Turn, places: list[Place], skip: tuple[str, ...] = ()) -> Filtered:
    """Keep the places that pass every filter the question asks for; say what could not be checked."""
    lexicon = turn.services.lexicon
    text = turn.asked()
    wanted = [f for f in lexicon.wanted_filters(text) if f not in skip]
    cuisines = lexicon.wanted_cuisines(text)
    if cuisines:
        wanted.append("cuisine")
    places = operating(places)
    if not wanted:
        return Filtered(places)
    checks = _checks(turn, cuisines)
    matching, unknown = [], []
    for place in places:
        results = [checks[name](place) for name in wanted]
        if all(r is True for r in results):
            matching.append(place)
        elif not any(r is False for r in results):
            unknown.append(place)
    labels = "، ".join if turn.lang == "ar" else ", ".join
    names = labels(_label(turn, name, cuisines) for name in wanted)
    if matching:
        return Filtered(matching, turn.t("filter_applied", filters=names))
    if unknown:
        return Filtered(unknown, turn.t("filter_unknown", filters=names))
    return Filtered(places, turn.t("filter_none_match", filters=names))


def _label(turn: Turn, name: str, cuisines: list[str]) -> str:
    when = resolve_when(turn.parse.time_meaning(), turn.now)
    if name == "open_now" and when.explicit and when.at is not None and when.at != turn.now:
        return turn.t(
            "filter_open_at", when=turn.fmt.on_day(when.at, turn.now) + " " + turn.fmt.clock(when.at)
        )
    if name == "open_now" and when.explicit and when.day is not None:
        day = datetime.combine(when.day, turn.now.timetz())
        return turn.t("filter_open_at", when=turn.fmt.on_day(day, turn.now))
    if name == "cuisine":
        names = turn.services.lexicon.cuisine_names
        said = [names.get(c, {}).get(turn.lang, c) for c in cuisines]
        return turn.t("filter_cuisine", cuisines="، ".join(said) if turn.lang == "ar" else ", ".join(said))
    return turn.t(f"filter_{name}")
