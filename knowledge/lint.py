"""Editorial checks on top of validation: what a careful editor would flag before committing.

``dalil kb validate`` refuses data the bot cannot serve; ``lint`` also warns about data that serves
but answers badly: a name missing in one language, no aliases, no way to contact or time a visit,
facts not re-checked for half a year, Ramadan coming while a place has no Ramadan hours, two records
that look like one place, a point far from its district or outside its polygon, phone numbers that are
E.164 but not a plausible Saudi number. Warnings never block a build; only errors do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from knowledge.clock import now
from knowledge.geo import DistrictMap
from knowledge.hours import HoursError, is_ramadan, next_ramadan
from knowledge.loader import Issue, IssueLevels, LoadResult, load_knowledge
from knowledge.schema import Place
from knowledge.search import distance_m

__all__ = [
    "DISTRICT_RADIUS_M",
    "DUPLICATE_RADIUS_M",
    "DUPLICATE_SCORE",
    "RAMADAN_WARNING_DAYS",
    "LintReport",
    "lint",
]

RAMADAN_WARNING_DAYS = 30
DUPLICATE_RADIUS_M = 200.0
DUPLICATE_SCORE = 90.0
"""rapidfuzz token-sort ratio (0–100) at or above which two names read as the same place."""
DISTRICT_RADIUS_M = 6000.0
"""Jeddah's districts are a few kilometres across; farther than this from the centroid is suspect."""

_ARABIC = re.compile(r"[\u0600-\u06FF]")
_LATIN = re.compile(r"[A-Za-z]")
_SAUDI = re.compile(r"^\+966(?:[1-9]\d{7,9})$")

_Warn = Callable[..., None]
"""``warn(place, field, message, *keys)``: keys lead to the line in the place's YAML."""


@dataclass
class LintReport(IssueLevels):
    """Validation errors and warnings plus the editorial warnings, sorted by file and line."""

    result: LoadResult
    issues: list[Issue]


class _Lines:
    """Line numbers of each place's fields, read once per file with ruamel's round-trip loader."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, CommentedMap]] = {}

    def record(self, path: str, place_id: str) -> CommentedMap | None:
        if path not in self._records:
            found: dict[str, CommentedMap] = {}
            try:
                doc = YAML(typ="rt").load(Path(path).read_bytes())
            except (OSError, YAMLError):
                doc = None
            items = doc.get("places") if isinstance(doc, CommentedMap) else None
            if isinstance(items, CommentedSeq):
                for item in items:
                    if isinstance(item, CommentedMap) and isinstance(item.get("id"), str):
                        found[item["id"]] = item
            self._records[path] = found
        return self._records[path].get(place_id)

    def line(self, path: str, place_id: str, default: int, *keys: str | int) -> int:
        node: Any = self.record(path, place_id)
        line = default
        for key in keys:
            if isinstance(node, CommentedMap) and isinstance(key, str) and key in node:
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
                line = node.lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        return line


def _same_name(a: Place, b: Place) -> float:
    """The best rapidfuzz token-sort ratio between the two places' names in the same language."""
    return max(
        fuzz.token_sort_ratio(a.name.ar, b.name.ar, processor=str.casefold),
        fuzz.token_sort_ratio(a.name.en, b.name.en, processor=str.casefold),
    )


def _district_centroids(result: LoadResult) -> dict[str, tuple[float, float]]:
    """Each district's cited centroid, else the median of its places' points when it has three or more."""
    centroids = {d.id: (d.centroid.lat, d.centroid.lon) for d in result.kb.districts if d.centroid}
    points: dict[str, list[tuple[float, float]]] = {}
    for place in result.kb.places:
        if place.district and place.location:
            points.setdefault(place.district, []).append((place.location.lat, place.location.lon))
    for district, located in points.items():
        if district not in centroids and len(located) >= 3:
            lats = sorted(p[0] for p in located)
            lons = sorted(p[1] for p in located)
            centroids[district] = (lats[len(lats) // 2], lons[len(lons) // 2])
    return centroids


def lint(data_dir: Path | str, today: date | None = None) -> LintReport:
    """Validate ``data_dir`` and add the editorial warnings.

    Args:
        data_dir: the data directory (normally ``data/``).
        today: the day ages and "Ramadan is coming" are measured from (default: today in Riyadh).

    Returns:
        Every issue, errors first within a line, sorted by file and line.
    """
    if today is None:
        today = now().date()
    result = load_knowledge(data_dir, today=today)
    issues = list(result.issues)
    lines = _Lines()
    kb = result.kb

    def warn(place: Place, field: str, message: str, *keys: str | int) -> None:
        origin = kb.origin[place.id]
        line = lines.line(origin.path, place.id, origin.line, *keys)
        issues.append(Issue(origin.path, line, field, f"{message} (in {place.id})", "warning"))

    ramadan_soon = _ramadan_soon(today)
    for place in kb.places:
        _check_names(place, warn)
        if not place.aliases.ar and not place.aliases.en:
            warn(place, "aliases", "no aliases: add short forms and common spellings people type", "name")
        missing = [
            label
            for label, present in (
                ("phones", place.phones),
                ("website", place.website),
                ("opening_hours", place.opening_hours),
            )
            if not present
        ]
        if missing:
            warn(place, "(record)", f"no {', '.join(missing)}: add them if a source states them", "id")
        if ramadan_soon and place.opening_hours and not place.ramadan_hours:
            warn(
                place,
                "ramadan_hours",
                f"Ramadan starts {ramadan_soon.isoformat()}: set ramadan_hours or confirm they don't change",
                "opening_hours",
            )
        for index, phone in enumerate(place.phones):
            if phone.startswith("+966") and not _SAUDI.match(phone):
                warn(
                    place,
                    f"phones[{index}]",
                    f"{phone} is not a Saudi number in E.164 (+966, then the number without its leading 0)",
                    "phones",
                    index,
                )

    _check_duplicates(kb.places, warn)
    centroids = _district_centroids(result)
    polygons = DistrictMap(kb.districts, kb.geo)
    for place in kb.places:
        if place.district and place.location and polygons.has_polygon(place.district):
            found = polygons.district_at(place.location.lat, place.location.lon)
            if found != place.district:
                where = f"district {found!r}" if found else "no district"
                warn(
                    place,
                    "location",
                    f"lies in {where} by the district polygons, not {place.district!r}",
                    "location",
                )
            continue
        if not (place.district and place.location and place.district in centroids):
            continue
        away = distance_m((place.location.lat, place.location.lon), centroids[place.district])
        if away > DISTRICT_RADIUS_M:
            warn(
                place,
                "location",
                f"{away / 1000:.1f} km from the centre of district {place.district!r}: "
                "check the coordinates or the district",
                "location",
            )
    issues.sort()
    return LintReport(result, issues)


def _ramadan_soon(today: date) -> date | None:
    """The first day of Ramadan when it starts within the warning window (or is under way), else None."""
    try:
        start, _end = next_ramadan(today)
    except HoursError:
        return None
    if is_ramadan(today) or 0 <= (start - today).days <= RAMADAN_WARNING_DAYS:
        return start
    return None


def _check_names(place: Place, warn: _Warn) -> None:
    if not _ARABIC.search(place.name.ar):
        warn(place, "name.ar", f"{place.name.ar!r} has no Arabic letters: give the Arabic name", "name", "ar")
    if _ARABIC.search(place.name.en) or not _LATIN.search(place.name.en):
        warn(place, "name.en", f"{place.name.en!r} is not an English name", "name", "en")


def _check_duplicates(places: Sequence[Place], warn: _Warn) -> None:
    located = [p for p in places if p.location]
    for i, a in enumerate(located):
        for b in located[i + 1 :]:
            assert a.location is not None  # noqa: S101 - filtered above
            assert b.location is not None  # noqa: S101 - filtered above
            # A cheap box test first: 0.002° is about 220 m in Jeddah.
            if abs(a.location.lat - b.location.lat) > 0.002 or abs(a.location.lon - b.location.lon) > 0.0025:
                continue
            gap = distance_m((a.location.lat, a.location.lon), (b.location.lat, b.location.lon))
            if gap <= DUPLICATE_RADIUS_M and _same_name(a, b) >= DUPLICATE_SCORE:
                warn(
                    b, "id", f"looks like {a.id} ({gap:.0f} m apart, similar name): merge or tell them apart"
                )
