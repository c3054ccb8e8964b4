"""The knowledge index: built from the YAML into SQLite or PostgreSQL, queried from memory.

``build_index`` writes every build into its own set of tables (``kb_<build>_places`` …) and only then
moves the one-row pointer ``kb_current`` to it, in a single transaction. A build that fails half-way
leaves the pointer, and so the serving index, untouched; readers always see a complete build. The two
most recent builds are kept so a reader that read the pointer just before a swap still finds its tables.

``Store`` loads the current build into memory (names into a trigram index, coordinates into arrays):
answers come from memory in well under a millisecond; the database is what makes the index shared
between processes and rebuildable while the bot runs.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from knowledge.database import database_url, make_engine
from knowledge.geo import DistrictMap, GeoData
from knowledge.hours import Hours, SpecialPeriod
from knowledge.loader import KnowledgeBase
from knowledge.placelist import PlaceList
from knowledge.schema import Category, District, Localized, Place, Service
from knowledge.search import Fold, GeoIndex, NameEntry, NameIndex, casefold

__all__ = [
    "BuildInfo",
    "IndexMissingError",
    "NearbyHit",
    "SearchHit",
    "Store",
    "build_index",
    "database_url",
    "make_engine",
]

log = logging.getLogger(__name__)

_KEEP_BUILDS = 2


class IndexMissingError(RuntimeError):
    """No knowledge index has been built in this database yet (run ``dalil kb build``)."""


# --- tables -------------------------------------------------------------------------------------------

_pointer_meta = MetaData()
kb_current = Table(
    "kb_current",
    _pointer_meta,
    Column("slot", Integer, primary_key=True),
    Column("build_id", String(64), nullable=False),
    Column("built_at", String(40), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("fold", String(200), nullable=False),
)
kb_builds = Table(
    "kb_builds",
    _pointer_meta,
    Column("build_id", String(64), primary_key=True),
    Column("built_at", String(40), nullable=False),
)


@dataclass(frozen=True)
class _BuildTables:
    meta: MetaData
    places: Table
    names: Table
    records: Table


def _build_tables(build_id: str) -> _BuildTables:
    prefix = f"kb_{build_id}_"
    meta = MetaData()
    places = Table(
        prefix + "places",
        meta,
        Column("id", String(120), primary_key=True),
        Column("primary_category", String(80), nullable=False, index=True),
        Column("district", String(80), index=True),
        Column("lat", Float),
        Column("lon", Float),
        Column("data", Text, nullable=False),
    )
    names = Table(
        prefix + "names",
        meta,
        Column("place_id", String(120), nullable=False, index=True),
        Column("lang", String(2), nullable=False),
        Column("kind", String(8), nullable=False),
        Column("text", Text, nullable=False),
        Column("key", Text, nullable=False),
    )
    records = Table(
        prefix + "records",
        meta,
        Column("kind", String(16), primary_key=True),
        Column("id", String(120), primary_key=True),
        Column("data", Text, nullable=False),
    )
    return _BuildTables(meta, places, names, records)


@dataclass(frozen=True)
class BuildInfo:
    """What a build contains and when it was made."""

    build_id: str
    built_at: str
    digest: str
    fold: str


def _fold_name(fold: Fold) -> str:
    return f"{getattr(fold, '__module__', '?')}.{getattr(fold, '__qualname__', repr(fold))}"


def _name_rows(place: Place, fold: Fold) -> Iterable[dict[str, str]]:
    names = [("ar", "name", place.name.ar), ("en", "name", place.name.en)]
    names += [(lang, "alias", alias) for lang, alias in place.aliases.all()]
    for lang, kind, text in names:
        yield {"place_id": place.id, "lang": lang, "kind": kind, "text": text, "key": fold(text)}


def build_index(kb: KnowledgeBase, engine: Engine, fold: Fold = casefold) -> BuildInfo:
    """Write ``kb`` as a new build and make it current, atomically.

    Raises:
        SQLAlchemyError: the build failed; the previous index is still current and the partial tables
            are removed.
    """
    moment = datetime.now(UTC)
    build_id = moment.strftime("%Y%m%d%H%M%S%f") + secrets.token_hex(2)  # sorts by time, then at random
    built_at = moment.isoformat(timespec="microseconds")
    tables = _build_tables(build_id)
    _pointer_meta.create_all(engine)
    try:
        tables.meta.create_all(engine)
        with engine.begin() as conn:
            if kb.places:
                conn.execute(
                    insert(tables.places),
                    [
                        {
                            "id": p.id,
                            "primary_category": p.primary_category,
                            "district": p.district,
                            "lat": p.location.lat if p.location else None,
                            "lon": p.location.lon if p.location else None,
                            "data": p.model_dump_json(by_alias=True, exclude_defaults=True),
                        }
                        for p in kb.places
                    ],
                )
                conn.execute(insert(tables.names), [row for p in kb.places for row in _name_rows(p, fold)])
            records: list[dict[str, str]] = []
            for kind, items in (
                ("category", kb.categories),
                ("district", kb.districts),
                ("service", kb.services),
            ):
                records += [
                    {
                        "kind": kind,
                        "id": r.id,
                        "data": r.model_dump_json(by_alias=True, exclude_defaults=True),
                    }
                    for r in items
                ]
            records += kb.geo.records()
            if records:
                conn.execute(insert(tables.records), records)
        info = BuildInfo(build_id, built_at, kb.digest, _fold_name(fold))
        with engine.begin() as conn:
            conn.execute(delete(kb_current))
            conn.execute(insert(kb_current).values(slot=1, **info.__dict__))
            conn.execute(insert(kb_builds).values(build_id=build_id, built_at=built_at))
    except SQLAlchemyError:
        log.exception("kb_build_failed", extra={"build_id": build_id})
        tables.meta.drop_all(engine, checkfirst=True)
        raise
    _drop_old_builds(engine, keep=build_id)
    log.info("kb_built", extra={"build_id": build_id, "places": len(kb.places)})
    return info


def _drop_old_builds(engine: Engine, keep: str) -> None:
    with engine.begin() as conn:
        builds = [
            r.build_id
            for r in conn.execute(select(kb_builds.c.build_id).order_by(kb_builds.c.build_id.desc()))
        ]
    old = [b for b in builds if b != keep][_KEEP_BUILDS - 1 :]
    for build_id in old:
        _build_tables(build_id).meta.drop_all(engine, checkfirst=True)
        with engine.begin() as conn:
            conn.execute(delete(kb_builds).where(kb_builds.c.build_id == build_id))


def current_build(engine: Engine) -> BuildInfo | None:
    """The build that is serving, or None when nothing was built yet."""
    if not inspect(engine).has_table("kb_current"):
        return None
    with engine.connect() as conn:
        row = conn.execute(select(kb_current)).first()
    return None if row is None else BuildInfo(row.build_id, row.built_at, row.digest, row.fold)


# --- queries -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    """A place whose name matched a text query."""

    place: Place
    score: float
    """0–100, rapidfuzz similarity of the best name or alias."""
    matched: str
    """The name or alias that matched, as written in the data."""


@dataclass(frozen=True)
class NearbyHit:
    """A place and its great-circle distance from the asked point."""

    place: Place
    distance_m: float


class Store:
    """Read-only knowledge: places, categories, districts, services; search, nearest, ``geo``."""

    def __init__(
        self,
        places: Iterable[Place],
        categories: Iterable[Category] = (),
        districts: Iterable[District] = (),
        services: Iterable[Service] = (),
        fold: Fold = casefold,
        info: BuildInfo | None = None,
        keys: Mapping[tuple[str, str, str], str] | None = None,
        geo: GeoData | None = None,
    ) -> None:
        """Index the records in memory (``keys`` reuses folded names stored by a build)."""
        self.places = places if isinstance(places, PlaceList) else PlaceList.of_places(places)
        self.categories = {c.id: c for c in categories}
        self.districts = {d.id: d for d in districts}
        self.geo = DistrictMap(self.districts.values(), geo or GeoData())
        self.services = {s.id: s for s in services}
        self.fold = fold
        self.info = info
        facts = self._facts = self.places.facts
        self._by_id = {f.id: i for i, f in enumerate(facts)}
        self._hours: dict[str, Hours] = {}
        entries: list[NameEntry] = []
        for i, fact in enumerate(facts):  # a synced "صيدلية" has no names here: found by kind only
            for lang, text, is_alias in fact.names:
                key = keys.get((fact.id, lang, text)) if keys else None
                entries.append(NameEntry(i, lang, text, key if key is not None else fold(text), is_alias))
        self._names = NameIndex(entries, fold)
        self._geo = GeoIndex([(i, *f.point) for i, f in enumerate(facts) if f.point])
        self._category_mask: dict[str, npt.NDArray[np.bool_]] = {}

    @classmethod
    def from_knowledge(cls, kb: KnowledgeBase, fold: Fold = casefold) -> Store:
        """A store straight from loaded YAML, without a database (tests, previews)."""
        return cls(kb.places, kb.categories, kb.districts, kb.services, fold=fold, geo=kb.geo)

    @classmethod
    def load(cls, engine: Engine, fold: Fold = casefold) -> Store:
        """Load the current build from the database.

        Raises:
            IndexMissingError: nothing has been built in this database.
        """
        for attempt in range(3):
            info = current_build(engine)
            if info is None:
                raise IndexMissingError("no knowledge index yet: run `dalil kb build`")
            tables = _build_tables(info.build_id)
            try:
                same_fold = info.fold == _fold_name(fold)
                with engine.connect() as conn:  # streamed: 50,000 rows never sit in memory twice
                    places = PlaceList.of_json(
                        r.data for r in conn.execute(select(tables.places.c.data)).yield_per(2000)
                    )
                    names = tables.names.c
                    rows = conn.execute(select(names.place_id, names.lang, names.text, names.key))
                    keys = {(r[0], r[1], r[2]): r[3] for r in rows} if same_fold else None
                    record_rows = conn.execute(select(tables.records)).all()
                break
            except SQLAlchemyError:
                # A build swapped and removed these tables between reading the pointer and the rows.
                if attempt == 2:
                    raise
        else:  # pragma: no cover - the loop either breaks or raises
            raise AssertionError("unreachable")
        kinds: dict[str, list[str]] = {"category": [], "district": [], "service": []}
        for r in record_rows:
            kinds.setdefault(r.kind, []).append(r.data)
        if not same_fold:
            log.warning("kb_fold_changed", extra={"built_with": info.fold, "now": _fold_name(fold)})
        return cls(
            places,
            [Category.model_validate_json(d) for d in kinds["category"]],
            [District.model_validate_json(d) for d in kinds["district"]],
            [Service.model_validate_json(d) for d in kinds["service"]],
            fold=fold,
            info=info,
            keys=keys,
            geo=GeoData.from_records((r.id, r.data) for r in record_rows if r.kind == "geo"),
        )

    # lookups

    def get(self, place_id: str) -> Place | None:
        """The place with this id, or None."""
        index = self._by_id.get(place_id)
        return None if index is None else self.places[index]

    def hours(self, place: Place) -> Hours:
        """The place's opening hours (regular, Ramadan and special layers), parsed once."""
        cached = self._hours.get(place.id)
        if cached is None:
            special = [SpecialPeriod(s.start, s.end, s.hours, _notes(s.note)) for s in place.special_hours]
            cached = Hours(place.opening_hours, place.ramadan_hours, special)
            self._hours[place.id] = cached
        return cached

    def _mask(self, category: str | None, district: str | None) -> npt.NDArray[np.bool_] | None:
        if category is None and district is None:
            return None
        count = len(self._facts)
        mask = np.ones(count, dtype=bool)
        if category is not None:
            cached = self._category_mask.get(category)
            if cached is None:
                cached = np.fromiter((category in f.categories for f in self._facts), dtype=bool, count=count)
                self._category_mask[category] = cached
            mask &= cached
        if district is not None:
            mask &= np.fromiter((f.district == district for f in self._facts), dtype=bool, count=count)
        return mask

    def search(
        self,
        text: str,
        lang: str | None = None,
        category: str | None = None,
        district: str | None = None,
        limit: int = 5,
        min_score: float = 60.0,
    ) -> list[SearchHit]:
        """Places whose name or alias best matches ``text`` (fuzzy, normalised), best first.

        Args:
            text: what the person typed for the name.
            lang: prefer names in this language when scores tie.
            category: only places in this category.
            district: only places in this district.
            limit: at most this many hits.
            min_score: drop matches below this similarity (0–100).
        """
        mask = self._mask(category, district)
        allowed = None if mask is None else (lambda owner: bool(mask[owner]))
        matches = self._names.match(text, allowed, limit=limit * 2, min_score=min_score)
        if lang is not None:
            matches.sort(key=lambda m: (-m.score, m.entry.lang != lang, m.owner))
        return [SearchHit(self.places[m.owner], m.score, m.entry.text) for m in matches[:limit]]

    def nearest(
        self,
        lat: float,
        lon: float,
        category: str | None = None,
        limit: int = 5,
        radius_m: float | None = None,
    ) -> list[NearbyHit]:
        """Places with coordinates nearest to (``lat``, ``lon``), by great-circle distance."""
        found = self._geo.nearest(lat, lon, self._mask(category, None), limit, radius_m)
        return [NearbyHit(self.places[owner], distance) for owner, distance in found]

    def matching(self, category: str | None, district: str | None, limit: int | None = None) -> list[Place]:
        """Places of a kind and/or in a district, curated before synced, in data order (at most ``limit``)."""
        mask = self._mask(category, district)
        found = range(len(self._facts)) if mask is None else np.flatnonzero(mask).tolist()
        ordered = sorted(found, key=lambda i: self._facts[i].source != "curated")
        return [self.places[i] for i in ordered[:limit]]

    def by_category(self, category: str) -> list[Place]:
        """Every place in ``category`` (any of its categories), in data order."""
        return [self.places[i] for i, f in enumerate(self._facts) if category in f.categories]

    @cached_property
    def counts(self) -> dict[str, Any]:
        """Numbers for ``dalil kb stats``."""
        per_category: dict[str, int] = {}
        per_source = {"curated": 0}
        for fact in self._facts:
            for category in fact.categories:
                per_category[category] = per_category.get(category, 0) + 1
            per_source[fact.source] = per_source.get(fact.source, 0) + 1
        facts = self._facts
        return {
            "places": len(facts),
            "categories": len(self.categories),
            "categories_used": len(per_category),
            "districts": len(self.districts),
            "districts_used": len({f.district for f in facts if f.district}),
            "services": len(self.services),
            **self.geo.counts(),
            "with_location": sum(1 for f in facts if f.point),
            "with_hours": sum(1 for f in facts if "opening_hours" in f.present),
            "with_ramadan_hours": sum(1 for f in facts if "ramadan_hours" in f.present),
            "with_phone": sum(1 for f in facts if "phones" in f.present),
            "with_website": sum(1 for f in facts if "website" in f.present),
            "per_source": per_source,
            "per_category": dict(sorted(per_category.items(), key=lambda kv: (-kv[1], kv[0]))),
            "build": None if self.info is None else self.info.__dict__,
        }

    def to_json(self) -> str:
        """The counts as JSON."""
        return json.dumps(self.counts, ensure_ascii=False, indent=2)


def _notes(note: Localized | None) -> dict[str, str] | None:
    """A special period's note in both languages (each falling back to the other)."""
    return None if note is None else {"ar": note.pick("ar"), "en": note.pick("en")}
