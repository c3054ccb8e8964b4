"""Answers about places: info card, hours, contact, directions, finding by kind and area, nearest."""

from __future__ import annotations

import re
from datetime import datetime

from bot import actions
from bot.cards import map_search_url, map_urls
from bot.state import ChoosePlace, NeedPlace
from bot.turn import Turn
from bot.types import Button, Choice, Choices, LocationPin, QuickButtons, Reply, TextReply
from bot.when import When, resolve_when
from knowledge.hours import Status, next_ramadan
from knowledge.schema import Place
from nlu.normalize import fold

__all__ = [
    "LIST_SIZE",
    "category_name",
    "contact_info",
    "directions",
    "labels",
    "not_on_file",
    "opening_hours",
    "place_info",
    "resolve_place",
    "week_hours",
]

LIST_SIZE = 5
CLOSE_MATCH = 4.0
"""Search hits this close to the best one make the question ambiguous."""


def labels(turn: Turn, places: list[Place]) -> list[str]:
    """Distinct labels: a name shared by several places gets its district (or kind) added."""
    names = [turn.fmt.name(p) for p in places]
    labels = []
    for place, name in zip(places, names, strict=True):
        if names.count(name) > 1:
            extra = turn.fmt.district(place) or category_name(turn, place.primary_category, False)
            name = f"{name} ({extra})" if extra and extra not in name else name
        labels.append(name)
    return [f"{label} ({i})" if labels.count(label) > 1 else label for i, label in enumerate(labels, 1)]


def _choice_list(turn: Turn, places: list[Place], text: str, intent: str) -> Choices:
    places = places[:10]
    turn.state.pending = ChoosePlace([p.id for p in places], intent)
    options = tuple(
        Choice(label[:72], actions.place(p.id), _distinct(turn.fmt.district(p), label))
        for p, label in zip(places, labels(turn, places), strict=True)
    )
    return Choices(text, options, turn.t("choose_prompt"))


def _distinct(description: str | None, title: str) -> str | None:
    """A row's description, left out when it only repeats the title."""
    return description if description and description not in title else None


def resolve_place(turn: Turn, intent: str) -> Place | list[Reply]:
    """The place the person means, or the replies that ask them (which one? did you mean?)."""
    named = _without_locators(turn, _without_parents(turn.places()))
    if len(named) > 1:
        return [_choice_list(turn, named[:3], turn.t("did_you_mean"), intent)]
    if named:
        entity = turn.parse.first("place")
        if entity is not None and entity.confidence < 0.9:
            hits = turn.store.search(entity.text, lang=turn.lang, limit=3)
            close = [h.place for h in hits if hits[0].score - h.score <= CLOSE_MATCH]
            if len(close) > 1:
                return [_choice_list(turn, close, turn.t("did_you_mean"), intent)]
        return named[0]
    recent = turn.recent_place()
    if recent is not None and (not turn.parse.first("category") or intent == "directions"):
        return recent  # "how do I get there from the airport?": the airport is where they start
    query = turn.incoming.text.strip()
    hits = turn.store.search(query, lang=turn.lang, limit=3, min_score=86) if query else []
    if hits:
        close = [h.place for h in hits if hits[0].score - h.score <= CLOSE_MATCH]
        if len(close) > 1:
            return [_choice_list(turn, close, turn.t("did_you_mean"), intent)]
        return hits[0].place
    if intent in ("opening_hours", "directions") and not turn.state.last_places:
        skip = [(e.start, e.end) for e in turn.parse.entities if e.entity in ("time", "district")]
        name = turn.services.lexicon.leftover_name(turn.incoming.text, skip)
        if name is not None:
            return not_on_file(turn, name, intent)
    turn.state.pending = NeedPlace(intent)
    return [turn.text("ask_which_place")]


_LOCATOR = re.compile(
    r"(?:(?<![^\W_])(?:on|in|at|near|by|inside|في|على|عند|جنب|بجانب|قرب|داخل)\s+(?:the\s+)?|(?<![^\W_])[بف])$",
    re.IGNORECASE,
)


def _without_locators(turn: Turn, places: list[Place]) -> list[Place]:
    """Drop a place named only to locate another ("the Hilton on the Corniche", "فرع ساب في رد سي مول")."""
    if len(places) < 2:
        return places
    first = places[0].id
    located = {
        e.value
        for e in turn.parse.entities
        if e.entity == "place" and e.value != first and _LOCATOR.search(turn.incoming.text[: e.start])
    }
    return [p for p in places if p.id not in located] or places


def _without_parents(places: list[Place]) -> list[Place]:
    """A sub-place named with its parent ("the north terminal of the airport") is the sub-place."""

    def names(place: Place) -> set[str]:
        return {fold(n).lower() for n in (place.name.ar, place.name.en)}

    return [
        parent
        for parent in places
        if not any(
            other is not parent and any(p in o and p != o for p in names(parent) for o in names(other))
            for other in places
        )
    ]


def _details(turn: Turn, place: Place, text: str) -> QuickButtons:
    buttons = [Button(turn.t("button_details"), payload=actions.place(place.id))]
    if turn.store.hours(place).known:
        buttons.append(Button(turn.t("button_hours"), payload=actions.hours(place.id)))
    buttons.append(Button(turn.t("button_wrong"), payload=actions.wrong(place.id)))
    return QuickButtons(text, tuple(buttons))


def _with_place(turn: Turn, intent: str) -> Place | list[Reply]:
    found = resolve_place(turn, intent)
    if isinstance(found, Place):
        turn.state.remember_place(found.id)
        turn.services.records.count_ask(found.id)
    return found


def place_info(turn: Turn) -> list[Reply]:
    """The full card, and the pin when coordinates are known."""
    place = _with_place(turn, turn.intent if turn.intent in ("place_info", "directions") else "place_info")
    if not isinstance(place, Place):
        return place
    card = turn.fmt.card(place, turn.store.hours(place), turn.now)
    replies: list[Reply] = [card]
    if place.location:
        replies.append(
            LocationPin(place.location.lat, place.location.lon, turn.fmt.name(place), card.address)
        )
    return replies


def _when_label(turn: Turn, when: When, moment: datetime | None) -> str:
    if when.ramadan and moment is None:
        return turn.t("in_ramadan")
    if moment is not None:
        return turn.t("at_when", day=turn.fmt.on_day(moment, turn.now), time=turn.fmt.clock(moment))
    assert when.day is not None  # noqa: S101 - When always carries a moment or a day
    day_moment = datetime.combine(when.day, turn.now.timetz())
    return turn.fmt.on_day(day_moment, turn.now)


def _and_where(turn: Turn, place: Place, replies: list[Reply]) -> list[Reply]:
    """The place's pin too when the message also asks where it is ("وين رد سي مول ومتى يسكر؟")."""
    if place.location is None or any(isinstance(reply, LocationPin) for reply in replies):
        return replies
    if not turn.services.lexicon.where.among(turn.asked()):
        return replies
    pin = LocationPin(place.location.lat, place.location.lon, turn.fmt.name(place), _address(turn, place))
    return [*replies, pin]


def _address(turn: Turn, place: Place) -> str | None:
    return place.address.pick(turn.lang) if place.address else None


def opening_hours(turn: Turn) -> list[Reply]:
    """Open now, closes when, open at that time / on that day / in Ramadan; and where, if asked."""
    place = _with_place(turn, "opening_hours")
    if not isinstance(place, Place):
        return place
    return _and_where(turn, place, _hours_of(turn, place))


def _hours_of(turn: Turn, place: Place) -> list[Reply]:
    hours = turn.store.hours(place)
    name = turn.fmt.name(place)
    closure = turn.fmt.closure(place)
    if closure is not None:
        return [_details(turn, place, f"{name}: {closure}")]
    when = resolve_when(turn.parse.time_meaning(), turn.now)
    if not hours.known:
        if when.ramadan:
            text = turn.t("ramadan_no_hours_at_all", name=name)
        elif when.explicit and (when.at is None or when.at != turn.now):
            text = turn.t("hours_unknown_when", name=name, when=_when_label(turn, when, when.at))
        else:
            text = turn.t("hours_unknown", name=name)
        return [_reach(turn, place, text)]
    if when.ramadan and when.at is None:
        start, _end = next_ramadan(turn.now.date())
        ramadan_day = hours.day(max(start, turn.now.date()))
        if place.ramadan_hours:
            text = turn.t("ramadan_hours", name=name, ranges=turn.fmt.ranges(ramadan_day))
        else:
            text = turn.t("ramadan_no_hours", name=name, ranges=turn.fmt.ranges(hours.day(turn.now.date())))
        return [_details(turn, place, text)]
    if when.at is not None and when.explicit and when.at != turn.now:  # "open now?" is the status below
        state = hours.state(when.at)
        label = _when_label(turn, when, when.at)
        ranges = turn.fmt.ranges(hours.day(when.at.date()))
        if state.status is Status.OPEN:
            text = turn.t("at_time_open", name=name, when=label, ranges=ranges)
        elif state.status is Status.CLOSED:
            day = hours.day(when.at.date())
            key = "at_time_closed_ranges" if day.ranges else "at_time_closed"
            text = turn.t(key, name=name, when=label, ranges=ranges)
        else:
            text = turn.t("at_time_unknown", name=name, when=label)
        return [_details(turn, place, text)]
    if when.day is not None:
        label = _when_label(turn, when, None)
        day = hours.day(when.day)
        ranges = turn.fmt.ranges(day)
        if day.ranges:
            text = turn.t("day_hours", name=name, when=label, ranges=ranges)
        elif day.status_all_day is Status.CLOSED:
            text = turn.t("at_time_closed", name=name, when=label)
        else:
            text = turn.t("at_time_unknown", name=name, when=label)
        return [_details(turn, place, text)]
    status = turn.fmt.status(hours.state(turn.now), turn.now)
    return [_details(turn, place, f"{name}: {status}")]


def week_hours(turn: Turn, place: Place) -> list[Reply]:
    """The next seven days of hours."""
    hours = turn.store.hours(place)
    name = turn.fmt.name(place)
    if not hours.known:
        return [turn.text("hours_unknown", name=name)]
    lines = [turn.t("hours_week_title", name=name)]
    for day in hours.week(turn.now.date()):
        moment = datetime.combine(day.day, turn.now.timetz())
        lines.append(f"• {turn.fmt.day_name(moment, turn.now)}: {turn.fmt.ranges(day)}")
    return [TextReply("\n".join(lines))]


def _reach(turn: Turn, place: Place, text: str) -> QuickButtons:
    """``text`` with the ways to find out more: call, website, map (what is on file)."""
    buttons: list[Button] = []
    if place.phones:
        buttons.append(Button(turn.t("button_call"), phone=place.phones[0]))
    if place.website:
        buttons.append(Button(turn.t("button_website"), url=place.website))
    buttons.append(Button(turn.t("button_map"), url=_map_url(turn, place)))
    return QuickButtons(text, tuple(buttons[:3]))


def _map_url(turn: Turn, place: Place) -> str:
    if place.location is not None:
        return map_urls(place.location.lat, place.location.lon)[0]
    return map_search_url(place.name.en if turn.lang == "en" else place.name.ar)


def contact_info(turn: Turn) -> list[Reply]:
    """Phone, website and email on file; else the service that answers for it; else what there is."""
    place = _with_place(turn, "contact_info")
    if not isinstance(place, Place):
        return place
    return _and_where(turn, place, _contact_of(turn, place))


def _contact_of(turn: Turn, place: Place) -> list[Reply]:
    name = turn.fmt.name(place)
    lines = []
    if place.phones:
        lines.append(turn.t("contact_phone", name=name, phones=" / ".join(place.phones)))
    related = _related_service(turn, place) if not place.phones else None
    if related is not None:
        lines.append(related[0])
    if place.website:
        lines.append(turn.t("contact_website", name=name, website=place.website))
    if place.email:
        lines.append(turn.t("contact_email", email=place.email))
    if not lines:  # the card shows what there is: the map, the district, the hours
        return [turn.text("contact_none", name=name), turn.fmt.card(place, turn.store.hours(place), turn.now)]
    if not place.phones and related is None:
        lines.insert(0, turn.t("contact_no_phone_but", name=name))
    buttons: list[Button] = []
    if place.phones:
        buttons.append(Button(turn.t("button_call"), phone=place.phones[0]))
    elif related is not None:
        buttons.append(Button(turn.t("button_call"), phone=related[1]))
    if place.website:
        buttons.append(Button(turn.t("button_website"), url=place.website))
    buttons.append(Button(turn.t("button_details"), payload=actions.place(place.id)))
    return [QuickButtons("\n".join(lines), tuple(buttons[:3]))]


def _related_service(turn: Turn, place: Place) -> tuple[str, str] | None:
    """(the sentence, the phone) of the service that answers for ``place`` when it has no number."""
    service_id = turn.services.lexicon.related_service(f"{place.name.ar} {place.name.en}")
    service = turn.store.services.get(service_id) if service_id else None
    if service is None or not service.phone:
        return None
    service_name = service.name.ar if turn.lang == "ar" else service.name.en
    text = turn.t(
        "related_service_phone", name=turn.fmt.name(place), service=service_name, phone=service.phone
    )
    return text, service.phone


def directions(turn: Turn) -> list[Reply]:
    """Always a location. "Where is X": its card and pin; "how do I get to X": the map links and pin.

    Without coordinates: district, address and a map search by name, saying no exact pin is on file.
    """
    if not turn.services.lexicon.route.among(turn.incoming.text):
        return place_info(turn)
    place = _with_place(turn, "directions")
    if not isinstance(place, Place):
        return place
    name = turn.fmt.name(place)
    address = _address(turn, place)
    closure = turn.fmt.closure(place)
    if place.location is None:
        search = map_search_url(place.name.en if turn.lang == "en" else place.name.ar)
        lines = [turn.t("directions_no_location", name=name), search]
        district = turn.fmt.district(place)
        if district:
            lines.insert(1, turn.t("card_district", district=district))
        if address:
            lines.insert(1, turn.t("directions_address", address=address))
        if closure:
            lines.insert(0, f"{name}: {closure}")
        buttons = (
            Button(turn.t("button_map"), url=search),
            Button(turn.t("button_details"), payload=actions.place(place.id)),
        )
        return [QuickButtons("\n".join(lines), buttons)]
    google, osm = map_urls(place.location.lat, place.location.lon)
    lines = [turn.t("directions", name=name), google, osm]
    if closure:
        lines.insert(0, f"{name}: {closure}")
    if address:
        lines.append(turn.t("directions_address", address=address))
    buttons = (
        Button(turn.t("button_map"), url=google),
        Button(turn.t("button_details"), payload=actions.place(place.id)),
    )
    return [
        QuickButtons("\n".join(lines), buttons),
        LocationPin(place.location.lat, place.location.lon, name, address),
    ]


def category_name(turn: Turn, category_id: str | None, in_sentence: bool = True) -> str:
    """The category's name; in English lower-cased mid-sentence ("the nearest pharmacy")."""
    category = turn.store.categories.get(category_id) if category_id else None
    if category is None:
        return ""
    if turn.lang == "ar":
        return category.name.ar
    name = category.name.en
    if in_sentence and name[1:2].islower():  # "Shopping mall" → "shopping mall"; "ATM" stays
        name = name[0].lower() + name[1:]
    return name


def not_on_file(turn: Turn, name: str, intent: str = "directions") -> list[Reply]:
    """A named place Dalil does not know: say so, and give a map search by its name (never a list).

    Asked about a time ("open at 11 pm?"), the answer names that time too.
    """
    turn.intent = intent
    search = map_search_url(name)
    when = resolve_when(turn.parse.time_meaning(), turn.now)
    if intent == "opening_hours" and when.explicit:
        label = _when_label(turn, when, when.at)
        first = turn.t("place_not_on_file_when", name=name, when=label)
    else:
        first = turn.t("place_not_on_file", name=name)
    text = "\n".join((first, search))
    return [QuickButtons(text, (Button(turn.t("button_map"), url=search),))]
