"""OpenStreetMap through the Overpass API: one query for Jeddah, fetched politely, parsed to candidates.

The query asks for every OSM tag set in ``categories.yml``: named elements of every kind, and unnamed
ones of the kinds where the kind is what people ask for ("nearest pharmacy", "nearest ATM"). Ways and
relations come with their centre point (``out center``). The answer is Overpass JSON; a runtime error
that Overpass reports inside a 200 answer (``remark``) is a failed download, never an empty layer.
"""

from __future__ import annotations

import email.utils
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import stamina

from knowledge.opendata.candidate import Candidate, clean_text, has_arabic
from knowledge.osm import normalize_phone
from knowledge.schema import Category

__all__ = [
    "DEFAULT_URL",
    "UNNAMED_KINDS",
    "USER_AGENT",
    "OverpassError",
    "build_query",
    "candidates",
    "fetch",
]

log = logging.getLogger(__name__)

DEFAULT_URL = "https://overpass-api.de/api/interpreter"
USER_AGENT = "Dalil/0.1 (Jeddah city guide; open-source chatbot; daily sync via `dalil kb sync osm`)"
QUERY_TIMEOUT_S = 180
"""Server-side limit in the query; the HTTP timeout is a little longer."""

UNNAMED_KINDS: tuple[Mapping[str, str], ...] = (
    {"amenity": "pharmacy"},
    {"amenity": "atm"},
    {"amenity": "fuel"},
    {"amenity": "place_of_worship", "religion": "muslim"},
    {"amenity": "toilets"},
)
"""Tag sets fetched with or without a name: for these the kind, not the name, answers "nearest"."""

_OSM_TYPES = ("node", "way", "relation")
_LINEAR = ("highway",)
"""Keys whose elements are road segments: one place per name, not one per segment."""


class OverpassError(RuntimeError):
    """The Overpass server did not deliver a complete answer."""


class _RetryableError(OverpassError):
    """429 (too many requests) or 503/504 (busy, gateway timeout): worth waiting and asking again."""

    def __init__(self, status: int, retry_after_s: float | None) -> None:
        super().__init__(f"Overpass answered {status}")
        self.status = status
        self.retry_after_s = retry_after_s


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _selector(tag_set: Mapping[str, str]) -> str:
    return "".join(
        f"[{_quote(key)}]" if value == "*" else f"[{_quote(key)}={_quote(value)}]"
        for key, value in tag_set.items()
    )


def build_query(
    categories: Sequence[Category],
    bbox: Mapping[str, float],
    unnamed: Sequence[Mapping[str, str]] = UNNAMED_KINDS,
    timeout_s: int = QUERY_TIMEOUT_S,
) -> str:
    """One Overpass QL query for every OSM tag set of ``categories`` inside ``bbox``.

    Args:
        categories: our categories with their ``osm`` tag sets.
        bbox: ``lat_min``, ``lat_max``, ``lon_min``, ``lon_max``.
        unnamed: tag sets fetched even without a name (when a category maps them).
        timeout_s: the server-side time limit.
    """
    unnamed_keys = {tuple(sorted(t.items())) for t in unnamed}
    lines: list[str] = []
    for category in categories:
        for tag_set in category.osm:
            if not tag_set:
                continue
            named = "" if tuple(sorted(tag_set.items())) in unnamed_keys else '["name"]'
            line = f"  nwr{_selector(tag_set)}{named};"
            if line not in lines:
                lines.append(line)
    box = f"{bbox['lat_min']},{bbox['lon_min']},{bbox['lat_max']},{bbox['lon_max']}"
    body = "\n".join(lines)
    return f"[out:json][timeout:{timeout_s}][bbox:{box}];\n(\n{body}\n);\nout tags center;\n"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _wait(exc: Exception) -> float | bool:
    """Stamina's backoff hook: retry busy answers, waiting what the server asked for (capped)."""
    if isinstance(exc, _RetryableError):
        return min(exc.retry_after_s, 120.0) if exc.retry_after_s is not None else True
    return isinstance(exc, httpx.TransportError)


def fetch(
    query: str,
    url: str,
    timeout_s: float = QUERY_TIMEOUT_S + 30,
    attempts: int = 5,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """POST ``query`` to the Overpass ``url`` and return the parsed JSON answer.

    Busy answers (429, 503, 504) and dropped connections are retried with backoff, honouring
    ``Retry-After``; anything else that is not a complete JSON answer raises.

    Raises:
        OverpassError: no complete answer after ``attempts`` tries.
    """
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    with httpx.Client(timeout=timeout_s, headers=headers, transport=transport) as client:

        @stamina.retry(on=_wait, attempts=attempts, timeout=None, wait_initial=1.0, wait_max=60.0)
        def once() -> dict[str, Any]:
            response = client.post(url, data={"data": query})
            if response.status_code in (429, 503, 504):
                log.warning("overpass_busy", extra={"status": response.status_code})
                raise _RetryableError(response.status_code, _retry_after(response.headers.get("Retry-After")))
            if response.status_code != 200:
                raise OverpassError(f"Overpass answered {response.status_code}: {response.text[:200]}")
            try:
                doc = response.json()
            except ValueError as exc:
                raise OverpassError(f"Overpass answer is not JSON: {exc}") from None
            check_answer(doc)
            return dict(doc)

        try:
            return once()
        except httpx.TransportError as exc:
            raise OverpassError(f"cannot reach {url}: {exc}") from None


def check_answer(doc: Any) -> None:
    """Raise unless ``doc`` is a complete Overpass JSON answer.

    Raises:
        OverpassError: not Overpass JSON, or the server reported a runtime error (timeout, memory).
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
        raise OverpassError("not an Overpass JSON answer (no 'elements' list)")
    remark = doc.get("remark")
    if isinstance(remark, str) and re.search(r"runtime (error|remark)", remark):
        raise OverpassError(f"Overpass stopped early: {remark[:200]}")


@dataclass(frozen=True)
class _TagIndex:
    """Category lookup by tag: each ``(key, value)`` → the tag sets (and their order) that start there."""

    by_pair: dict[tuple[str, str], list[tuple[int, str, Mapping[str, str]]]]

    @classmethod
    def of(cls, categories: Sequence[Category]) -> _TagIndex:
        by_pair: dict[tuple[str, str], list[tuple[int, str, Mapping[str, str]]]] = {}
        order = 0
        for category in categories:
            for tag_set in category.osm:
                if not tag_set:
                    continue
                key, value = next(iter(tag_set.items()))
                by_pair.setdefault((key, value), []).append((order, category.id, tag_set))
                order += 1
        return cls(by_pair)

    def category(self, tags: Mapping[str, str]) -> str | None:
        """The first category (in data order) whose tag set the element carries."""
        best: tuple[int, str] | None = None
        for key, value in tags.items():
            for pair in ((key, value), (key, "*")):
                for order, category, tag_set in self.by_pair.get(pair, ()):
                    if (best is None or order < best[0]) and all(
                        k in tags and (v == "*" or tags[k] == v) for k, v in tag_set.items()
                    ):
                        best = (order, category)
        return None if best is None else best[1]


def _point(item: Mapping[str, Any]) -> tuple[float, float] | None:
    try:
        if "lat" in item and "lon" in item:
            return float(item["lat"]), float(item["lon"])
        center = item.get("center")
        if isinstance(center, dict):
            return float(center["lat"]), float(center["lon"])
    except (TypeError, ValueError, KeyError):
        return None
    return None


def _phones(tags: Mapping[str, str]) -> tuple[str, ...]:
    raw = ";".join(tags.get(k, "") for k in ("phone", "contact:phone", "contact:mobile"))
    found = (normalize_phone(part) for part in re.split(r"[;,]", raw) if part.strip())
    return tuple(dict.fromkeys(p for p in found if p is not None))


def _website(tags: Mapping[str, str]) -> str | None:
    site = clean_text(tags.get("website") or tags.get("contact:website"))
    if site is None or " " in site:
        return None
    return site if re.match(r"^https?://", site) else f"https://{site}"


def _address(tags: Mapping[str, str]) -> str | None:
    if tags.get("addr:full"):
        return clean_text(tags["addr:full"])
    parts = [tags.get(k, "") for k in ("addr:housenumber", "addr:street", "addr:suburb", "addr:city")]
    return clean_text(" ".join(p for p in parts if p))


def candidates(doc: Any, categories: Sequence[Category]) -> Iterator[Candidate]:
    """The elements of an Overpass JSON answer that map to one of ``categories``.

    Elements without coordinates or without a mapped kind are left out; road segments (``highway``)
    come once per name.

    Raises:
        OverpassError: ``doc`` is not Overpass JSON.
    """
    check_answer(doc)
    index = _TagIndex.of(categories)
    roads_seen: set[tuple[str, str]] = set()
    for item in doc["elements"]:
        if not isinstance(item, dict) or item.get("type") not in _OSM_TYPES or "id" not in item:
            continue
        tags = {str(k): str(v) for k, v in (item.get("tags") or {}).items()}
        point = _point(item)
        category = index.category(tags) if point is not None else None
        if point is None or category is None:
            continue
        name = clean_text(tags.get("name"))
        if any(key in tags for key in _LINEAR) and "amenity" not in tags:
            if name is None or (category, name) in roads_seen:
                continue
            roads_seen.add((category, name))
        element = f"{item['type']}/{item['id']}"
        name_ar = clean_text(tags.get("name:ar")) or (name if name and has_arabic(name) else None)
        name_en = clean_text(tags.get("name:en")) or (name if name and not has_arabic(name) else None)
        if name is None and name_ar is None and name_en is None:
            brand = clean_text(tags.get("brand:ar")) or clean_text(tags.get("brand"))
            name = brand  # an unnamed ATM or fuel station is still "Al Rajhi" or "Aldrees"
            name_ar = brand if brand and has_arabic(brand) else None
            name_en = clean_text(tags.get("brand:en")) or (brand if brand and not has_arabic(brand) else None)
        yield Candidate(
            layer="osm",
            ref=f"osm:{element}",
            url=f"https://www.openstreetmap.org/{element}",
            category=category,
            lat=point[0],
            lon=point[1],
            name=name,
            name_ar=name_ar,
            name_en=name_en,
            phones=_phones(tags),
            website=_website(tags),
            opening_hours=clean_text(tags.get("opening_hours")),
            address=_address(tags),
        )
