"""Places as the index serves them: curated ones as models, synced ones as JSON until someone asks.

Fifty thousand synced places as pydantic models take about 300 MB; as their validated JSON plus one
small row of facts (id, names, kinds, district, point) they take a tenth of that. The store searches,
filters and ranks on the facts; a synced place becomes a :class:`~knowledge.schema.Place` only when a
lookup returns it, and the most recent few thousand stay cached.
"""

from __future__ import annotations

import json
import sys
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, overload

from knowledge.schema import Place

__all__ = ["Facts", "PlaceList"]

_CACHE = 4096
_COUNTED = ("opening_hours", "ramadan_hours", "phones", "website")


@dataclass(frozen=True, slots=True)
class Facts:
    """What search, filters and statistics need of a place, without the whole record."""

    id: str
    names: tuple[tuple[str, str, bool], ...]
    """``(lang, text, is_alias)``; empty for a synced place found by kind only."""
    categories: tuple[str, ...]
    district: str | None
    point: tuple[float, float] | None
    source: str
    """``curated``, or the open-data layers it came from (``osm``, ``overture``, ``osm+overture``)."""
    present: frozenset[str]
    """Which of opening_hours, ramadan_hours, phones and website it has."""

    @classmethod
    def of_place(cls, place: Place) -> Facts:
        """The facts of a model."""
        return cls.of_json(json.loads(place.model_dump_json(by_alias=True, exclude_defaults=True)))

    @classmethod
    def of_json(cls, doc: dict[str, Any]) -> Facts:
        """The facts of a place's JSON as the index stores it (aliases, defaults left out)."""
        open_data = doc.get("open_data")
        names: tuple[tuple[str, str, bool], ...] = ()
        if not (open_data and open_data.get("unnamed")):
            aliases = doc.get("aliases") or {}
            names = (
                ("ar", doc["name"]["ar"], False),
                ("en", doc["name"]["en"], False),
                *(("ar", a, True) for a in aliases.get("ar", ())),
                *(("en", a, True) for a in aliases.get("en", ())),
            )
        location = doc.get("location")
        return cls(
            id=doc["id"],
            names=names,
            categories=tuple(doc["categories"]),
            district=doc.get("district"),
            point=(float(location["lat"]), float(location["lon"])) if location else None,
            source="+".join(open_data["layers"]) if open_data else "curated",
            present=frozenset(k for k in _COUNTED if doc.get(k)),
        )


class PlaceList(Sequence[Place]):
    """A read-only list of places; synced ones are parsed from JSON on access and cached."""

    def __init__(self, items: Sequence[Place | bytes], facts: Sequence[Facts]) -> None:
        """``items[i]`` is a model or its JSON; ``facts[i]`` describes it."""
        self._items = list(items)
        self.facts = list(facts)
        self._cache: OrderedDict[int, Place] = OrderedDict()

    @classmethod
    def of_places(cls, places: Iterable[Place]) -> PlaceList:
        """Models kept as they are (YAML just loaded, tests)."""
        items = list(places)
        return cls(items, [Facts.of_place(p) for p in items])

    @classmethod
    def of_json(cls, rows: Iterable[str]) -> PlaceList:
        """Rows of a build: curated places become models now, synced ones stay JSON (UTF-8 bytes)."""
        items: list[Place | bytes] = []
        facts: list[Facts] = []
        shared: dict[tuple[str, ...], tuple[str, ...]] = {}
        for row in rows:
            doc = json.loads(row)
            fact = Facts.of_json(doc)
            # Thousands of places share a kind and a source: keep one copy of each.
            categories = shared.setdefault(fact.categories, tuple(sys.intern(c) for c in fact.categories))
            facts.append(replace(fact, categories=categories, source=sys.intern(fact.source)))
            items.append(row.encode() if doc.get("open_data") else Place.model_validate_json(row))
        return cls(items, facts)

    def named(self) -> Iterator[tuple[str, list[str]]]:
        """``(place id, names and aliases)`` of every place found by name (for the NLU gazetteer)."""
        for fact in self.facts:
            if fact.names:
                yield fact.id, [text for _lang, text, _alias in fact.names]

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Place: ...

    @overload
    def __getitem__(self, index: slice) -> list[Place]: ...

    def __getitem__(self, index: int | slice) -> Place | list[Place]:
        if isinstance(index, slice):
            return [self._place(i) for i in range(*index.indices(len(self._items)))]
        return self._place(index if index >= 0 else len(self._items) + index)

    def __iter__(self) -> Iterator[Place]:
        return (self._place(i) for i in range(len(self._items)))

    def _place(self, index: int) -> Place:
        item = self._items[index]
        if isinstance(item, Place):
            return item
        cached = self._cache.get(index)
        if cached is None:
            cached = Place.model_validate_json(item)
            self._cache[index] = cached
            if len(self._cache) > _CACHE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(index)
        return cached
