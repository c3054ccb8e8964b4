"""Curated YAML + open-data snapshots → the places one build serves (rules in ``docs/opendata.md``).

1. Each layer's elements are mapped to candidates; those outside Jeddah, of no known kind, or (Overture)
   below the confidence minimum are dropped.
2. A candidate that matches a curated place (its OSM URL among the place's sources, or a similar name
   within 150 m; an unnamed one: the same kind within 50 m) is linked to it, not added: curated wins.
3. An Overture candidate with a similar name within 50 m of an OSM one is merged into it; each field
   records the layer it came from (OSM first: hours, names; Overture fills the gaps: phones, websites).
4. The rest become places of their own, marked with their layer, attribution and fetch time.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rapidfuzz import fuzz

from knowledge.geo import DistrictMap
from knowledge.hours import check_expression
from knowledge.loader import KnowledgeBase
from knowledge.opendata import overpass, overture
from knowledge.opendata.candidate import LAYERS, Candidate, has_arabic
from knowledge.opendata.snapshot import Snapshot
from knowledge.schema import JEDDAH_BBOX, Name, Place
from knowledge.search import Fold, casefold, distance_m

__all__ = [
    "CURATED_LINK_RADIUS_M",
    "DEFAULT_MIN_CONFIDENCE",
    "LAYER_MERGE_RADIUS_M",
    "NAME_SCORE",
    "MergeResult",
    "in_bbox",
    "merge",
    "with_open_data",
]

log = logging.getLogger(__name__)

DEFAULT_MIN_CONFIDENCE = 0.6
CURATED_LINK_RADIUS_M = 150.0
LAYER_MERGE_RADIUS_M = 50.0
UNNAMED_LINK_RADIUS_M = 50.0
NAME_SCORE = 85.0
"""rapidfuzz token-sort ratio (0–100) on folded names at which two names mean one place."""

_CELL_DEG = 0.0015  # ≈ 150 m north–south; neighbours of a cell cover any pair closer than one cell
_OSM_URL = re.compile(r"openstreetmap\.org/(node|way|relation)/(\d+)")
_ID_JUNK = re.compile(r"[^a-z0-9]+")
_FIELDS = ("name", "phones", "website", "opening_hours", "address")


def in_bbox(lat: float, lon: float) -> bool:
    """Inside Jeddah's bounding box (``knowledge.schema.JEDDAH_BBOX``)."""
    box = JEDDAH_BBOX
    return box["lat_min"] <= lat <= box["lat_max"] and box["lon_min"] <= lon <= box["lon_max"]


@dataclass
class MergeResult:
    """The synced places to serve, and what happened to every element."""

    places: list[Place] = field(default_factory=list)
    linked: dict[str, list[str]] = field(default_factory=dict)
    """Curated place id → refs of the open-data elements that describe it."""
    dropped: Counter[str] = field(default_factory=Counter)
    """Reason → how many elements were left out for it."""
    merged: int = 0
    """OSM + Overture pairs served as one place."""

    def per_layer(self) -> dict[str, int]:
        """Synced places per layer combination (``osm``, ``overture``, ``osm+overture``)."""
        counts: Counter[str] = Counter(
            "+".join(p.open_data.layers) for p in self.places if p.open_data is not None
        )
        return dict(sorted(counts.items()))


class _Grid:
    """Points bucketed in ~150 m cells, for "what is within r of here" with r ≤ 150 m."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[int]] = {}
        self.points: list[tuple[float, float]] = []

    def add(self, lat: float, lon: float) -> int:
        index = len(self.points)
        self.points.append((lat, lon))
        self.cells.setdefault(self._cell(lat, lon), []).append(index)
        return index

    @staticmethod
    def _cell(lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / _CELL_DEG), math.floor(lon / _CELL_DEG)

    def near(self, lat: float, lon: float, radius_m: float) -> Iterator[tuple[int, float]]:
        row, col = self._cell(lat, lon)
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                for index in self.cells.get((row + dr, col + dc), ()):
                    gap = distance_m((lat, lon), self.points[index])
                    if gap <= radius_m:
                        yield index, gap


class _Names:
    """Name comparison on folded text, plus the generic names (kinds, districts) that name nothing."""

    def __init__(self, kb: KnowledgeBase, fold: Fold) -> None:
        self.fold = fold
        generic = [n for c in kb.categories for n in (c.name.ar, c.name.en, *c.synonyms.ar, *c.synonyms.en)]
        generic += [n for d in kb.districts for n in (d.name.ar, d.name.en, *d.aliases.ar, *d.aliases.en)]
        self.generic = {fold(n) for n in generic}

    def keys(self, names: Iterable[str]) -> list[str]:
        return [k for k in (self.fold(n) for n in names) if k]

    def similar(self, a: Sequence[str], b: Sequence[str]) -> bool:
        return any(fuzz.token_sort_ratio(x, y) >= NAME_SCORE for x in a for y in b)

    def is_generic(self, candidate: Candidate) -> bool:
        keys = self.keys(candidate.names)
        return not keys or all(k in self.generic for k in keys)


def _candidates(
    snapshot: Snapshot, kb: KnowledgeBase, category_map: Mapping[str, str]
) -> Iterator[Candidate]:
    if snapshot.layer == "osm":
        return overpass.candidates(snapshot.data, kb.categories)
    return overture.candidates(snapshot.data, category_map)


def _osm_ref(source: str) -> str | None:
    match = _OSM_URL.search(source)
    return f"osm:{match.group(1)}/{match.group(2)}" if match else None


def _place_id(ref: str) -> str:
    layer, _, element = ref.partition(":")
    prefix = "osm" if layer == "osm" else "ovt"
    return f"{prefix}-{_ID_JUNK.sub('-', element.lower()).strip('-')}"[:120].strip("-")


@dataclass
class _Entry:
    """A candidate on its way to becoming a place, possibly merged with a second layer's copy."""

    main: Candidate
    keys: list[str]
    generic: bool
    other: Candidate | None = None


def _pick(entry: _Entry, attr: str) -> tuple[Any, str | None]:
    """The field's value: the main layer's when it has one, else the other layer's."""
    for candidate in (entry.main, entry.other):
        if candidate is None:
            continue
        value = getattr(candidate, attr)
        if value:
            return value, candidate.layer
    return None, None


def _to_place(
    entry: _Entry,
    kb_names: Mapping[str, Name],
    snapshots: Mapping[str, Snapshot],
    district_at: Callable[[float, float], str | None],
) -> Place:
    main, other = entry.main, entry.other
    layers = [main.layer] + ([other.layer] if other is not None and other.layer != main.layer else [])
    provenance: dict[str, str] = {}
    ar, ar_layer = _pick(entry, "name_ar")
    en, en_layer = _pick(entry, "name_en")
    fallback, fallback_layer = _pick(entry, "name")
    kind = kb_names[main.category]
    if ar or en or fallback:
        name = {"ar": ar or fallback or en, "en": en or fallback or ar}
        provenance["name"] = ar_layer or en_layer or fallback_layer or main.layer
    else:
        name = {"ar": kind.ar, "en": kind.en}
    fields: dict[str, Any] = {}
    for attr in ("phones", "website", "address"):
        value, layer = _pick(entry, attr)
        if value:
            fields[attr] = value
            provenance[attr] = layer or main.layer
    hours, hours_layer = _pick(entry, "opening_hours")
    hours_text = None
    if hours:
        provenance["opening_hours"] = hours_layer or main.layer
        if check_expression(hours) is None:
            fields["opening_hours"] = hours
        else:
            hours_text = hours  # kept to show as listed, never used for "open now"
    if "address" in fields:
        text = fields["address"]
        fields["address"] = {"ar": text} if has_arabic(text) else {"en": text}
    confidences = [c.confidence for c in (main, other) if c is not None and c.confidence is not None]
    fetched = min(snapshots[layer].fetched_at for layer in layers)
    categories = list(dict.fromkeys([main.category, *main.extra_categories]))
    if other is not None:
        categories = list(dict.fromkeys([*categories, other.category, *other.extra_categories]))
    # One validation of plain data: the same checks as a YAML record, without building each part twice.
    return Place.model_validate(
        {
            "id": _place_id(main.ref),
            "name": name,
            "categories": categories,
            "location": {"lat": round(main.lat, 7), "lon": round(main.lon, 7)},
            "district": district_at(main.lat, main.lon),
            "source": [main.url] + ([other.url] if other is not None else []),
            "last_verified": fetched[:10],
            "open_data": {
                "layers": layers,
                "refs": [main.ref] + ([other.ref] if other is not None else []),
                "attribution": [LAYERS[layer].attribution for layer in layers],
                "fetched_at": fetched,
                "provenance": provenance,
                "unnamed": entry.generic,
                "hours_text": hours_text,
                "confidence": max(confidences) if confidences else None,
            },
            **fields,
        }
    )


def merge(
    kb: KnowledgeBase,
    snapshots: Sequence[Snapshot],
    category_map_path: Path | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    fold: Fold = casefold,
    inside: Callable[[float, float], bool] = in_bbox,
    district_at: Callable[[float, float], str | None] = lambda _lat, _lon: None,
) -> MergeResult:
    """The synced places to serve next to ``kb``'s curated ones.

    Args:
        kb: the curated knowledge (wins over every layer).
        snapshots: the layers' snapshots, OSM first.
        category_map_path: the Overture → our categories table (needed when an Overture snapshot is given).
        min_confidence: Overture places below this confidence are not served.
        fold: the name normaliser the index uses.
        inside: whether a point is in Jeddah; others are dropped.
        district_at: the district a point lies in (``knowledge.geo.DistrictMap.district_at``).
    """
    result = MergeResult()
    names = _Names(kb, fold)
    known = {c.id: c.name for c in kb.categories}
    by_layer = {s.layer: s for s in snapshots}
    category_map: dict[str, str] = {}
    if "overture" in by_layer and category_map_path is not None:
        category_map = overture.load_category_map(category_map_path)

    curated = _Grid()
    curated_places: list[Place] = []
    curated_refs: dict[str, str] = {}
    for place in kb.places:
        for source in place.source:
            ref = _osm_ref(source)
            if ref is not None:
                curated_refs[ref] = place.id
        if place.location is not None:
            curated.add(place.location.lat, place.location.lon)
            curated_places.append(place)
    curated_keys = [
        names.keys([p.name.ar, p.name.en, *(a for _l, a in p.aliases.all())]) for p in curated_places
    ]

    def link(candidate: Candidate, keys: list[str], generic: bool) -> str | None:
        if candidate.ref in curated_refs:
            return curated_refs[candidate.ref]
        radius = UNNAMED_LINK_RADIUS_M if generic else CURATED_LINK_RADIUS_M
        for index, _gap in curated.near(candidate.lat, candidate.lon, radius):
            place = curated_places[index]
            same = (
                candidate.category in place.categories
                if generic
                else names.similar(keys, curated_keys[index])
            )
            if same:
                return place.id
        return None

    entries: list[_Entry] = []
    osm_grid = _Grid()
    osm_entries: list[int] = []  # grid point → entry index
    for snapshot in snapshots:
        for candidate in _candidates(snapshot, kb, category_map):
            if candidate.category not in known:
                result.dropped["unknown_category"] += 1
                continue
            if not inside(candidate.lat, candidate.lon):
                result.dropped["outside_jeddah"] += 1
                continue
            if candidate.confidence is not None and candidate.confidence < min_confidence:
                result.dropped["low_confidence"] += 1
                continue
            keys = names.keys(candidate.names)
            generic = names.is_generic(candidate)
            curated_id = link(candidate, keys, generic)
            if curated_id is not None:
                result.linked.setdefault(curated_id, []).append(candidate.ref)
                continue
            if candidate.layer == "overture" and not generic:
                twin = next(
                    (
                        entries[osm_entries[i]]
                        for i, _gap in osm_grid.near(candidate.lat, candidate.lon, LAYER_MERGE_RADIUS_M)
                        if entries[osm_entries[i]].other is None
                        and not entries[osm_entries[i]].generic
                        and names.similar(keys, entries[osm_entries[i]].keys)
                    ),
                    None,
                )
                if twin is not None:
                    twin.other = candidate
                    result.merged += 1
                    continue
            if candidate.layer == "osm":
                osm_grid.add(candidate.lat, candidate.lon)
                osm_entries.append(len(entries))
            entries.append(_Entry(candidate, keys, generic))
    for entry in entries:
        try:
            result.places.append(_to_place(entry, known, by_layer, district_at))
        except ValidationError as exc:
            result.dropped["invalid"] += 1
            log.debug("opendata_invalid", extra={"ref": entry.main.ref, "error": str(exc)[:200]})
    log.info(
        "opendata_merged",
        extra={"places": len(result.places), "linked": len(result.linked), "dropped": dict(result.dropped)},
    )
    return result


def with_open_data(
    kb: KnowledgeBase,
    snapshots: Sequence[Snapshot],
    category_map_path: Path | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    fold: Fold = casefold,
    inside: Callable[[float, float], bool] | None = None,
) -> tuple[KnowledgeBase, MergeResult]:
    """``kb`` with the synced places added (curated first), and how the merge went.

    "In Jeddah" and each place's district come from the district geometry (``knowledge.geo``; the city
    boundary when the data has one, else the bounding box) unless ``inside`` is given. The digest covers
    the curated files and every snapshot, so equal digests still mean equal knowledge.
    """
    if not snapshots:
        return kb, MergeResult()
    districts = DistrictMap(kb.districts, kb.geo)
    result = merge(
        kb,
        snapshots,
        category_map_path,
        min_confidence,
        fold,
        inside or districts.inside_jeddah,
        districts.district_at,
    )
    digest = hashlib.sha256(
        "|".join([kb.digest, *(f"{s.layer}:{s.digest}" for s in snapshots), str(min_confidence)]).encode()
    ).hexdigest()
    return replace(kb, places=[*kb.places, *result.places], digest=digest), result
