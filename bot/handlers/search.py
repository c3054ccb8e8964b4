"""Places of a kind: find by kind and area (with the question's filters), nearest to a point, outings.

"Nearest" lists up to five places sorted by distance, says when few of that kind have coordinates, and
answers a point outside Jeddah with "I cover Jeddah" instead of a distance across the country.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot import actions
from bot.cards import map_search_near_url
from bot.handlers.filters import Filtered, apply_filters, operating
from bot.handlers.places import LIST_SIZE, category_name, labels, not_on_file, place_info
from bot.state import AwaitLocation, ChoosePlace, NeedCategory
from bot.turn import Turn
from bot.types import Button, Choice, Choices, QuickButtons, Reply, RequestLocation
from knowledge.hours import Status
from knowledge.schema import Place
from nlu.types import Entity

__all__ = ["find_place", "nearest_place", "show_location_results"]


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
    elif _asks_open(turn):
        parts.append(turn.t("hours_unknown_short"))  # asked "open now?": say it cannot be told
    district = turn.fmt.district(place)
    if district and distance_m is None:
        parts.append(district)
    return " · ".join(parts)[:72]


def _district_phrase(turn: Turn, district_id: str) -> str:
    district = turn.store.districts.get(district_id)
    if district is None:
        return ""
    return turn.t("find_in_district", district=district.name.ar if turn.lang == "ar" else district.name.en)


def _as_choices(
    turn: Turn, header: str, places: list[Place], distances: list[float] | None = None
) -> Choices:
    options = tuple(
        Choice(
            label[:72], actions.place(p.id), _describe(turn, p, distances[i] if distances else None) or None
        )
        for i, (p, label) in enumerate(zip(places, labels(turn, places), strict=True))
    )
    turn.state.pending = ChoosePlace([p.id for p in places])
    return Choices(header.replace(" :", ":"), options, turn.t("choose_prompt"))


def _with_notes(header: str, *notes: str | None, after: str | None = None) -> str:
    """The list's header, after what needs saying about the list (one message on every channel).

    Not ranked by taste, a filter that could not be checked, few of the kind on the map.
    """
    return "\n".join((*(n for n in notes if n), header, *((after,) if after else ())))


def _with_asked(turn: Turn, category: str) -> str:
    """The kind with the attributes asked for: "مطعم (مندي)", "pharmacy (open 24 hours)"."""
    lexicon = turn.services.lexicon
    text = turn.asked()
    asked = [lexicon.cuisine_names.get(c, {}).get(turn.lang, c) for c in lexicon.wanted_cuisines(text)]
    asked += [turn.t(f"filter_{f}") for f in lexicon.wanted_filters(text)]
    if not asked:
        return category
    joined = "، ".join(asked) if turn.lang == "ar" else ", ".join(asked)
    return f"{category} ({joined})".strip()


def _asks_open(turn: Turn) -> bool:
    wanted = turn.services.lexicon.wanted_filters(turn.asked())
    return "open_now" in wanted or "open_24h" in wanted


def find_place(turn: Turn) -> list[Reply]:
    """Places of a kind and/or in a district, open ones first, with the question's filters applied."""
    category = turn.parse.first("category")
    district = turn.parse.first("district")
    if turn.outing and category is None:
        return _outing(turn, district.value if district else None)
    lexicon = turn.services.lexicon
    if category is not None and category.end > 0 and lexicon.where.among(turn.incoming.text):
        name = lexicon.unknown_name(turn.incoming.text, category.start, category.end)
        if name is not None and district is None:
            hits = turn.store.search(name, lang=turn.lang, limit=2, min_score=NAMED_SCORE)
            if hits and (len(hits) == 1 or hits[0].score - hits[1].score >= NAMED_MARGIN):
                # a name the NLU did not mark ("الصالة رقم 1 بالمطار"), clearly one place
                entity = Entity("place", hits[0].place.id, 0, 0, name, 1.0, "dialogue")
                turn.parse = replace(turn.parse, entities=(entity,))
                return place_info(turn)
            return not_on_file(turn, name)
    if category is None and district is None:
        if turn.places() or turn.store.search(turn.incoming.text, lang=turn.lang, limit=1, min_score=86):
            return place_info(turn)  # a name the NLU did not mark: resolve_place finds it by search
        turn.state.pending = NeedCategory()
        return [turn.text("find_what")]
    # Curated places first; a city-scale open-data layer can hold thousands of one kind.
    places = turn.store.matching(
        category.value if category else None, district.value if district else None, limit=MATCH_LIMIT
    )
    where = _district_phrase(turn, district.value) if district is not None else ""
    category_id = category.value if category else None
    filtered = apply_filters(turn, places)
    if not filtered.places and district is not None and category_id is not None:
        centre = turn.store.geo.district_point(district.value)
        if centre is not None:  # none filed under the district: the nearest to its centre, with distances
            return _near_district(turn, district.value, centre, category_id)
    if not filtered.places:
        category_text = _with_asked(turn, category_name(turn, category_id))
        return [turn.text("find_none", category=category_text, where=f" {where}" if where else "")]
    ranked = _open_first(turn, filtered.places)[:LIST_SIZE]
    header = (
        turn.t(
            "find_results", category=category_name(turn, category_id, in_sentence=False), where=where
        ).strip()
        if category is not None
        else turn.t("find_results_any", where=f" {where}" if where else "")
    )
    recommend = (
        turn.t("recommend_note") if turn.services.lexicon.recommend.among(turn.incoming.text) else None
    )
    attribution = turn.fmt.list_attribution(ranked)
    return [_as_choices(turn, _with_notes(header, recommend, filtered.note, after=attribution), ranked)]


def _near_district(
    turn: Turn, district_id: str, centre: tuple[float, float], category_id: str | None
) -> list[Reply]:
    """The nearest places of a kind to a district's centre ("a pharmacy near Al-Rawdah")."""
    record = turn.store.districts.get(district_id)
    label = (record.name.ar if turn.lang == "ar" else record.name.en) if record else ""
    header = turn.t("nearest_to_place", category=category_name(turn, category_id), place=label)
    return show_location_results(turn, centre, category_id, header, near=label)


def _outing(turn: Turn, district: str | None) -> list[Reply]:
    """Where to go out with family: a few places of the outing kinds, one or two of each."""
    chosen: list[Place] = []
    for category in turn.services.lexicon.outing_categories:
        kind = operating(turn.store.matching(category, district, limit=MATCH_LIMIT))
        chosen += [p for p in _open_first(turn, kind) if p not in chosen][:1]
    filtered = apply_filters(turn, chosen, skip=("family_section",))
    if not filtered.places:
        return [turn.text("find_what")]
    header = _with_notes(turn.t("outing_results"), turn.t("recommend_note"), filtered.note)
    return [_as_choices(turn, header, filtered.places[:LIST_SIZE])]


def nearest_place(turn: Turn) -> list[Reply]:
    """Nearest places of a kind to the shared location or a named place, or a request to share one."""
    category = turn.parse.first("category")
    category_id = category.value if category else None
    district = turn.parse.first("district")
    centre = turn.store.geo.district_point(district.value) if district is not None else None
    if district is not None and centre is not None and not turn.places():
        return _near_district(turn, district.value, centre, category_id)
    reference = turn.places() or _reference_by_name(turn)
    if reference and category_id is not None and reference[0].location is not None:
        place = reference[0]
        assert place.location is not None  # noqa: S101 - checked just above
        header = turn.t(
            "nearest_to_place", category=category_name(turn, category_id), place=turn.fmt.name(place)
        )
        at = (place.location.lat, place.location.lon)
        return show_location_results(turn, at, category_id, header, turn.fmt.name(place), place.id)
    point: tuple[float, float] | None
    if turn.incoming.location is not None:
        point = (turn.incoming.location.lat, turn.incoming.location.lon)
    else:
        point = turn.state.recent_location(turn.services.location_max_age_s, turn.now.timestamp())
    if point is None:
        turn.state.pending = AwaitLocation(category_id)
        name = category_name(turn, category_id)
        text = turn.t("nearest_ask_location", category=name) if name else turn.t("nearest_ask_location_any")
        return [RequestLocation(text, turn.t("share_location_button"))]
    return show_location_results(turn, point, category_id)


_NEAR = re.compile(
    r"(?<![^\W_])(?:to|near|from|around|by|قريب من|قريبه من|قرب|جنب|حول|من|عند)\s+(.{3,})$", re.IGNORECASE
)


def _reference_by_name(turn: Turn) -> list[Place]:
    """The point of "closest hotel to King Fahd's Fountain" when the NLU did not mark the name."""
    match = _NEAR.search(turn.incoming.text.strip(" ?؟!."))
    if match is None:
        return []
    hits = turn.store.search(match.group(1), lang=turn.lang, limit=1, min_score=86)
    return [hits[0].place] if hits else []


NAMED_SCORE = 88
NAMED_MARGIN = 2.0
"""How close a search hit must be to a name said with a kind of place to be taken as that place."""
MATCH_LIMIT = 100
"""Places of a kind looked at for a list (curated first), before filters and ranking pick five."""
SEARCH_DEPTH = 60
"""Nearest candidates looked at before filters pick the five shown."""


def show_location_results(
    turn: Turn,
    point: tuple[float, float],
    category_id: str | None,
    header: str | None = None,
    near: str | None = None,
    skip: str | None = None,
) -> list[Reply]:
    """Up to five nearest places to ``point``, sorted by distance, filters applied, honest about gaps."""
    turn.state.pending = None
    name = category_name(turn, category_id)
    if not turn.store.geo.inside_jeddah(*point):  # the city boundary (district geometry)
        turn.state.pending = AwaitLocation(category_id)
        return [turn.text("outside_jeddah")]
    hits = turn.store.nearest(point[0], point[1], category=category_id, limit=SEARCH_DEPTH)
    distance = {h.place.id: h.distance_m for h in hits}
    filtered: Filtered = apply_filters(turn, [h.place for h in hits if h.place.id != skip])
    shown = sorted(filtered.places, key=lambda p: distance[p.id])[:LIST_SIZE]
    if not shown:
        if near:
            text = turn.t("nearest_none_near", category=_with_asked(turn, name), place=near)
        else:
            text = turn.t("nearest_none", category=_with_asked(turn, name))
        # Nothing on file is not the end of the answer: a map search for the kind around the point.
        search = map_search_near_url(name or turn.t("places_word"), *point)
        return [QuickButtons(text, (Button(turn.t("button_map_search"), url=search),))]
    if header is None:
        header = turn.t("nearest_results", category=name) if name else turn.t("nearest_results_any")
    few = None
    if category_id is not None and len(hits) < SEARCH_DEPTH:  # a kind this rare: is its map complete?
        kind = operating(turn.store.by_category(category_id))
        with_location = sum(1 for p in kind if p.location is not None)
        if with_location < len(kind) and (
            with_location < FEW_WITH_COORDINATES or with_location * 2 < len(kind)
        ):
            few = turn.t("few_with_coordinates", with_location=with_location, total=len(kind))
    attribution = turn.fmt.list_attribution(shown)
    return [
        _as_choices(
            turn,
            _with_notes(header, filtered.note, after="\n".join(filter(None, (few, attribution)))),
            shown,
            [distance[p.id] for p in shown],
        )
    ]


FEW_WITH_COORDINATES = 10
"""Fewer places of a kind with coordinates than this, and "nearest" says the list may be incomplete."""
