"""OpenStreetMap in and out: Overpass JSON / GeoJSON → place records for review, places → GeoJSON.

An import never changes existing records: elements already in the data (same OSM source, same id, or a
similar name within 200 m) are reported and left out, and the rest become records in a new file that
an editor reviews, fixes (lint flags what is missing) and merges. Tags map to our categories through
the ``osm`` tag sets in ``categories.yml``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rapidfuzz import fuzz

from knowledge.hours import check_expression
from knowledge.loader import KnowledgeBase
from knowledge.schema import E164, JEDDAH_BBOX, Category, Place

__all__ = ["ImportResult", "Skipped", "dumps", "from_osm", "normalize_phone", "to_geojson", "to_yaml"]

_ARABIC = re.compile(r"[\u0600-\u06FF]")
_SLUG = re.compile(r"[^a-z0-9]+")
_OSM_TYPES = {"node", "way", "relation"}


@dataclass(frozen=True)
class Skipped:
    """An OSM element left out of the import, and why."""

    osm: str
    name: str
    reason: str


@dataclass
class ImportResult:
    """Records for review (plain data, ready to dump as YAML) and the elements left out."""

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class _Element:
    osm: str
    """``node/123``"""
    tags: Mapping[str, str]
    point: tuple[float, float] | None
    timestamp: str | None


def _elements(doc: Any) -> Iterable[_Element]:
    """Elements of an Overpass JSON answer or of a GeoJSON FeatureCollection (as osmtogeojson writes)."""
    if isinstance(doc, dict) and isinstance(doc.get("elements"), list):
        for item in doc["elements"]:
            if not isinstance(item, dict) or item.get("type") not in _OSM_TYPES:
                continue
            point = None
            if "lat" in item and "lon" in item:
                point = (float(item["lat"]), float(item["lon"]))
            elif isinstance(item.get("center"), dict):
                point = (float(item["center"]["lat"]), float(item["center"]["lon"]))
            tags = {str(k): str(v) for k, v in (item.get("tags") or {}).items()}
            yield _Element(f"{item['type']}/{item['id']}", tags, point, item.get("timestamp"))
        return
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        for feature in doc.get("features") or []:
            properties = dict(feature.get("properties") or {})
            tags = properties.pop("tags", None) or properties
            osm = str(feature.get("id") or properties.get("@id") or properties.get("id") or "")
            if not re.match(r"^(node|way|relation)/\d+$", osm):
                osm = ""
            yield _Element(
                osm,
                {str(k): str(v) for k, v in tags.items() if not str(k).startswith("@")},
                _point(feature.get("geometry")),
                properties.get("@timestamp") or properties.get("timestamp"),
            )
        return
    raise ValueError("not Overpass JSON ({'elements': [...]}) nor a GeoJSON FeatureCollection")


def _point(geometry: Any) -> tuple[float, float] | None:
    """A point for the geometry: the point itself, or the mean of a line's or polygon's vertices."""
    if not isinstance(geometry, dict):
        return None
    coords: list[Sequence[float]] = []

    def walk(value: Any) -> None:
        if isinstance(value, list | tuple) and value and isinstance(value[0], int | float):
            coords.append(value)
        elif isinstance(value, list | tuple):
            for child in value:
                walk(child)

    walk(geometry.get("coordinates"))
    if not coords:
        return None
    lon = sum(c[0] for c in coords) / len(coords)
    lat = sum(c[1] for c in coords) / len(coords)
    return (lat, lon)


def _category(tags: Mapping[str, str], categories: Sequence[Category]) -> str | None:
    """The first category whose OSM tag set the element carries ("*" = any value)."""
    for category in categories:
        for tag_set in category.osm:
            if tag_set and all(
                key in tags and (value == "*" or tags[key] == value) for key, value in tag_set.items()
            ):
                return category.id
    return None


def normalize_phone(raw: str) -> str | None:
    """A Saudi phone as E.164 (``012 …`` → ``+96612…``, ``05…`` → ``+9665…``), or None when unreadable."""
    digits = re.sub(r"[^\d+]", "", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("966"):
        digits = "+" + digits
    elif digits.startswith("0"):
        digits = "+966" + digits[1:]
    if digits.startswith("+9660"):
        digits = "+966" + digits[5:]
    return digits if E164.match(digits) else None


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.casefold()).strip("-")[:60].strip("-")


def _in_jeddah(point: tuple[float, float]) -> bool:
    box = JEDDAH_BBOX
    return box["lat_min"] <= point[0] <= box["lat_max"] and box["lon_min"] <= point[1] <= box["lon_max"]


def _near_same(place: Place, names: tuple[str, str], point: tuple[float, float]) -> bool:
    from knowledge.lint import DUPLICATE_RADIUS_M, DUPLICATE_SCORE  # local: avoids a cycle
    from knowledge.search import distance_m

    if place.location is None:
        return False
    if distance_m((place.location.lat, place.location.lon), point) > DUPLICATE_RADIUS_M:
        return False
    score = max(
        fuzz.token_sort_ratio(place.name.ar, names[0], processor=str.casefold),
        fuzz.token_sort_ratio(place.name.en, names[1], processor=str.casefold),
    )
    return score >= DUPLICATE_SCORE


def from_osm(doc: Any, kb: KnowledgeBase, today: date) -> ImportResult:
    """Turn OSM elements into place records for review, leaving out what the data already has.

    Args:
        doc: parsed Overpass JSON or GeoJSON.
        kb: the current knowledge (for categories and to avoid duplicates).
        today: ``last_verified`` of records whose element has no timestamp.

    Raises:
        ValueError: ``doc`` is neither format.
    """
    result = ImportResult()
    existing_ids = {p.id for p in kb.places}
    sources = {s: p.id for p in kb.places for s in p.source}
    taken: set[str] = set()
    for element in _elements(doc):
        tags = element.tags
        name = tags.get("name", "")
        ar = tags.get("name:ar") or (name if _ARABIC.search(name) else "")
        en = tags.get("name:en") or (name if name and not _ARABIC.search(name) else "")
        label = ar or en or element.osm
        source = f"https://www.openstreetmap.org/{element.osm}" if element.osm else ""

        def skip(reason: str, label: str = label, element: _Element = element) -> None:
            result.skipped.append(Skipped(element.osm or "?", label, reason))

        if not (ar or en):
            skip("no name")
            continue
        if element.point is None or not _in_jeddah(element.point):
            skip("no coordinates inside Jeddah")
            continue
        category = _category(tags, kb.categories)
        if category is None:
            shown = ", ".join(f"{k}={v}" for k, v in tags.items() if k in ("amenity", "shop", "tourism"))
            skip(f"no category maps the tags ({shown or 'no amenity/shop/tourism'})")
            continue
        if source in sources:
            skip(f"already in the data as {sources[source]}")
            continue
        duplicate = next((p.id for p in kb.places if _near_same(p, (ar, en), element.point)), None)
        if duplicate is not None:
            skip(f"looks like {duplicate} (similar name within 200 m)")
            continue
        place_id = _slug(en) or _slug(element.osm) or "osm-place"
        if place_id in existing_ids or place_id in taken:
            place_id = f"{place_id}-{_slug(element.osm)}" if element.osm else f"{place_id}-2"
        if place_id in existing_ids or place_id in taken:
            skip(f"id {place_id!r} is taken")
            continue
        taken.add(place_id)
        record: dict[str, Any] = {
            "id": place_id,
            # Both names are required; a missing one repeats the other so lint points at it.
            "name": {"ar": ar or en, "en": en or ar},
            "categories": [category],
            "location": {"lat": round(element.point[0], 6), "lon": round(element.point[1], 6)},
        }
        phones = [
            p
            for raw in re.split(r"[;,]", tags.get("phone", tags.get("contact:phone", "")))
            if raw.strip() and (p := normalize_phone(raw)) is not None
        ]
        if phones:
            record["phones"] = phones
        website = tags.get("website") or tags.get("contact:website")
        if website:
            record["website"] = website if re.match(r"^https?://", website) else f"https://{website}"
        hours = tags.get("opening_hours")
        if hours and check_expression(hours) is None:
            record["opening_hours"] = hours
        record["source"] = [source] if source else ["OpenStreetMap import"]
        stamp = (element.timestamp or "")[:10]
        record["last_verified"] = stamp if re.match(r"^\d{4}-\d{2}-\d{2}$", stamp) else today.isoformat()
        result.records.append(record)
    return result


def to_yaml(records: Sequence[dict[str, Any]], origin: str) -> str:
    """A places file for review, with the schema modeline editors' tools use."""
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = None
    yaml.width = 4096
    yaml.allow_unicode = True
    out = StringIO()
    yaml.dump({"places": list(records)}, out)
    header = (
        "# yaml-language-server: $schema=../../schema/places.schema.json\n"
        f"# Imported from OpenStreetMap ({origin}). Review every record against its source, add aliases,\n"
        "# district and Ramadan hours, run `dalil kb lint`, then merge into the right places file.\n"
    )
    return header + out.getvalue()


def to_geojson(places: Iterable[Place]) -> dict[str, Any]:
    """Places with coordinates as a GeoJSON FeatureCollection (OSM-style property names)."""
    features = []
    for place in places:
        if place.location is None:
            continue
        properties: dict[str, Any] = {
            "id": place.id,
            "name": place.name.ar,
            "name:ar": place.name.ar,
            "name:en": place.name.en,
            "categories": list(place.categories),
        }
        optional = {
            "district": place.district,
            "opening_hours": place.opening_hours,
            "ramadan_hours": place.ramadan_hours,
            "phone": ";".join(place.phones) or None,
            "website": place.website,
            "last_verified": place.last_verified.isoformat(),
        }
        properties.update({k: v for k, v in optional.items() if v is not None})
        features.append(
            {
                "type": "Feature",
                "id": place.id,
                "geometry": {"type": "Point", "coordinates": [place.location.lon, place.location.lat]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def dumps(doc: Mapping[str, Any]) -> str:
    """JSON as written to files: UTF-8 Arabic, stable key order."""
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
