"""Answers about places: info card, hours, contact, directions, finding by kind and area, nearest."""

from __future__ import annotations

from datetime import datetime

from bot.turn import Turn
from bot.types import Button, Choice, Choices, LocationPin, QuickButtons, Reply, RequestLocation, TextReply
from bot.when import When, resolve_when
from knowledge.hours import Status, next_ramadan
from knowledge.schema import Place

__all__ = [
    "contact_info",
    "directions",
    "find_place",
    "nearest_place",
    "opening_hours",
    "place_info",
    "resolve_place",
    "show_location_results",
    "week_hours",
]

LIST_SIZE = 5
CLOSE_MATCH = 4.0
"""Search hits this close to the best one make the question ambiguous."""


def _choice_list(turn: Turn, places: list[Place], text: str, intent: str) -> Choices:
    turn.state.pending = {"kind": "choose_place", "intent": intent, "options": [p.id for p in places]}
    options = tuple(
        Choice(turn.fmt.name(p)[:72], f"place:{p.id}", turn.fmt.district(p) or None) for p in places[:10]
    )
    return Choices(text, options, turn.t("choose_prompt"))


def resolve_place(turn: Turn, intent: str) -> Place | list[Reply]:
    """The place the person means, or the replies that ask them (which one? did you mean?)."""
    named = turn.places()
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
    if recent is not None and not turn.parse.first("category"):
        return recent
    query = turn.incoming.text.strip()
    hits = turn.store.search(query, lang=turn.lang, limit=3, min_score=86) if query else []
    if hits:
        close = [h.place for h in hits if hits[0].score - h.score <= CLOSE_MATCH]
        if len(close) > 1:
            return [_choice_list(turn, close, turn.t("did_you_mean"), intent)]
        return hits[0].place
    turn.state.pending = {"kind": "need_place", "intent": intent}
    return [turn.text("ask_which_place")]


def _details(turn: Turn, place: Place, text: str) -> QuickButtons:
    buttons = [Button(turn.t("button_details"), payload=f"place:{place.id}")]
    if turn.store.hours(place).known:
        buttons.append(Button(turn.t("button_hours"), payload=f"hours:{place.id}"))
    buttons.append(Button(turn.t("button_wrong"), payload=f"wrong:{place.id}"))
    return QuickButtons(text, tuple(buttons))


def _with_place(turn: Turn, intent: str) -> Place | list[Reply]:
    found = resolve_place(turn, intent)
    if isinstance(found, Place):
        turn.state.remember_place(found.id)
        turn.services.records.count_ask(found.id)
    return found


def place_info(turn: Turn) -> list[Reply]:
    """The full card, and the pin when coordinates are known."""
    place = _with_place(turn, "place_info")
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


def opening_hours(turn: Turn) -> list[Reply]:
    """Open now? Closes when? Open at that time / on that day / in Ramadan?"""
    place = _with_place(turn, "opening_hours")
    if not isinstance(place, Place):
        return place
    hours = turn.store.hours(place)
    name = turn.fmt.name(place)
    closure = turn.fmt.closure(place)
    if closure is not None:
        return [_details(turn, place, f"{name}: {closure}")]
    if not hours.known:
        return [_details(turn, place, turn.t("hours_unknown", name=name))]
    when = resolve_when([e.text for e in turn.parse.entities if e.entity == "time"], turn.now)
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


def contact_info(turn: Turn) -> list[Reply]:
    """Phone, website and email, only what is on file."""
    place = _with_place(turn, "contact_info")
    if not isinstance(place, Place):
        return place
    name = turn.fmt.name(place)
    lines = []
    if place.phones:
        lines.append(turn.t("contact_phone", name=name, phones=" / ".join(place.phones)))
    if place.website:
        lines.append(turn.t("contact_website", name=name, website=place.website))
    if place.email:
        lines.append(turn.t("contact_email", email=place.email))
    if not lines:
        return [turn.text("contact_none", name=name), turn.fmt.card(place, turn.store.hours(place), turn.now)]
    if not place.phones:
        lines.insert(0, turn.t("contact_no_phone_but", name=name))
    buttons: list[Button] = []
    if place.phones:
        buttons.append(Button(turn.t("button_call"), phone=place.phones[0]))
    if place.website:
        buttons.append(Button(turn.t("button_website"), url=place.website))
    buttons.append(Button(turn.t("button_details"), payload=f"place:{place.id}"))
    return [QuickButtons("\n".join(lines), tuple(buttons[:3]))]


def directions(turn: Turn) -> list[Reply]:
    """The pin and map links; the address when there are no coordinates."""
    place = _with_place(turn, "directions")
    if not isinstance(place, Place):
        return place
    name = turn.fmt.name(place)
    address = place.address.pick(turn.lang) if place.address else None
    if place.location is None:
        if address:
            return [_details(turn, place, turn.t("directions_only_address", name=name, address=address))]
        return [_details(turn, place, turn.t("directions_no_location", name=name))]
    from bot.cards import map_urls

    google, osm = map_urls(place.location.lat, place.location.lon)
    lines = [turn.t("directions", name=name), google, osm]
    if address:
        lines.append(turn.t("directions_address", address=address))
    buttons = (
        Button(turn.t("button_map"), url=google),
        Button(turn.t("button_details"), payload=f"place:{place.id}"),
    )
    return [
        QuickButtons("\n".join(lines), buttons),
        LocationPin(place.location.lat, place.location.lon, name, address),
    ]


def _category_name(turn: Turn, category_id: str | None, in_sentence: bool = True) -> str:
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


def _open_first(turn: Turn, places: list[Place]) -> list[Place]:
    def rank(place: Place) -> tuple[int, str]:
        hours = turn.store.hours(place)
        if not hours.known:
            return (1, turn.fmt.name(place))
        return (0 if hours.state(turn.now).status is Status.OPEN else 2, turn.fmt.name(place))

    return sorted(places, key=rank)


def _describe(turn: Turn, place: Place, distance_m: float | None = None) -> str:
    parts = []
    if distance_m is not None:
        parts.append(turn.fmt.distance(distance_m))
    hours = turn.store.hours(place)
    if hours.known:
        parts.append(turn.fmt.status(hours.state(turn.now), turn.now))
    district = turn.fmt.district(place)
    if district and distance_m is None:
        parts.append(district)
    return " · ".join(parts)[:72]


def find_place(turn: Turn) -> list[Reply]:
    """Places of a kind and/or in a district, open ones first."""
    category = turn.parse.first("category")
    district = turn.parse.first("district")
    if category is None and district is None:
        if turn.places():
            return place_info(turn)
        turn.state.pending = {"kind": "need_category"}
        return [turn.text("find_what")]
    # Curated places first; a city-scale open-data layer can hold thousands of one kind.
    places = turn.store.matching(
        category.value if category else None, district.value if district else None, limit=100
    )
    where = ""
    if district is not None:
        district_record = turn.store.districts.get(district.value)
        if district_record is not None:
            where = turn.t(
                "find_in_district",
                district=district_record.name.ar if turn.lang == "ar" else district_record.name.en,
            )
    category_id = category.value if category else None
    if not places:
        return [turn.text("find_none", category=_category_name(turn, category_id), where=where)]
    ranked = _open_first(turn, places)[:LIST_SIZE]
    header = (
        turn.t(
            "find_results", category=_category_name(turn, category_id, in_sentence=False), where=where
        ).strip()
        if category is not None
        else turn.t("find_results_any", where=f" {where}" if where else "")
    )
    options = tuple(
        Choice(turn.fmt.name(p)[:72], f"place:{p.id}", _describe(turn, p) or None) for p in ranked
    )
    turn.state.pending = {"kind": "choose_place", "intent": "place_info", "options": [p.id for p in ranked]}
    return [Choices(header.replace(" :", ":"), options, turn.t("choose_prompt"))]


def nearest_place(turn: Turn) -> list[Reply]:
    """Nearest places of a kind to the shared location, or a request to share it."""
    category = turn.parse.first("category")
    category_id = category.value if category else None
    point: tuple[float, float] | None
    if turn.incoming.location is not None:
        point = (turn.incoming.location.lat, turn.incoming.location.lon)
    else:
        point = turn.state.recent_location(turn.services.location_max_age_s, turn.now.timestamp())
    if point is None:
        turn.state.pending = {"kind": "nearest", "category": category_id}
        name = _category_name(turn, category_id)
        text = turn.t("nearest_ask_location", category=name) if name else turn.t("nearest_ask_location_any")
        return [RequestLocation(text, turn.t("share_location_button"))]
    return show_location_results(turn, point, category_id)


def show_location_results(turn: Turn, point: tuple[float, float], category_id: str | None) -> list[Reply]:
    """The nearest places to ``point`` as a list to choose from."""
    turn.state.pending = None
    hits = turn.store.nearest(point[0], point[1], category=category_id, limit=LIST_SIZE)
    name = _category_name(turn, category_id)
    if not hits:
        return [turn.text("nearest_none", category=name)]
    header = turn.t("nearest_results", category=name) if name else turn.t("nearest_results_any")
    options = tuple(
        Choice(turn.fmt.name(h.place)[:72], f"place:{h.place.id}", _describe(turn, h.place, h.distance_m))
        for h in hits
    )
    turn.state.pending = {
        "kind": "choose_place",
        "intent": "place_info",
        "options": [h.place.id for h in hits],
    }
    attribution = turn.fmt.list_attribution(h.place for h in hits)
    text = f"{header}\n{attribution}" if attribution else header
    return [Choices(text, options, turn.t("choose_prompt"))]
