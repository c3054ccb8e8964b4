"""The index: build into SQLite and PostgreSQL, load, search, nearest; rebuilds are atomic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError

from knowledge.loader import KnowledgeBase, load_knowledge
from knowledge.search import haversine_m
from knowledge.store import IndexMissingError, Store, build_index, current_build, database_url, make_engine
from nlu.normalize import fold


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        sqlite = make_engine(f"sqlite:///{tmp_path / 'var' / 'dalil.db'}")
        yield sqlite
        sqlite.dispose()
    else:
        yield request.getfixturevalue("postgres_engine")


@pytest.fixture
def kb(data_dir: Path) -> KnowledgeBase:
    return load_knowledge(data_dir).kb


@pytest.fixture
def store(kb: KnowledgeBase, engine: Engine) -> Store:
    build_index(kb, engine, fold)
    return Store.load(engine, fold)


def test_load_before_build_says_what_to_do(engine: Engine) -> None:
    with pytest.raises(IndexMissingError, match="dalil kb build"):
        Store.load(engine, fold)


def test_round_trip_keeps_every_record(store: Store, kb: KnowledgeBase) -> None:
    assert [p.id for p in store.places] == [p.id for p in kb.places]
    assert store.get("red-sea-mall") == next(p for p in kb.places if p.id == "red-sea-mall")
    assert store.get("nope") is None
    assert set(store.categories) == {"mall", "landmark", "pharmacy"}
    assert store.services["report-940"].phone == "940"
    assert store.info is not None
    assert store.info.digest == kb.digest


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("رد سي مول", "red-sea-mall"),
        ("ريدسي مول", "red-sea-mall"),
        ("red sea mall", "red-sea-mall"),
        ("Red Sea Mal", "red-sea-mall"),
        ("نافورة الملك فهد", "king-fahd-fountain"),
        ("نافوره الملك فهد", "king-fahd-fountain"),
        ("النافورة", "king-fahd-fountain"),
        ("nafourat al malik fahad", "king-fahd-fountain"),
        ("بلد", "al-balad"),
        ("mall of arabia", "mall-of-arabia"),
        ("مول العرب", "mall-of-arabia"),
    ],
)
def test_search_finds_names_aliases_and_misspellings(store: Store, query: str, expected: str) -> None:
    hits = store.search(query)
    assert hits, query
    assert hits[0].place.id == expected


def test_search_filters_and_rejects_nonsense(store: Store) -> None:
    assert [h.place.id for h in store.search("mall", category="mall")][:2] != []
    assert all("mall" in h.place.categories for h in store.search("mall", category="mall"))
    assert store.search("red sea mall", district="al-hamra") == []
    assert store.search("xqzvw") == []
    assert store.search("") == []


def test_nearest_orders_by_great_circle_distance(store: Store) -> None:
    here = (21.6280, 39.1120)  # next to Red Sea Mall
    hits = store.nearest(*here)
    assert [h.place.id for h in hits] == ["red-sea-mall", "mall-of-arabia", "king-fahd-fountain"]
    assert hits[0].distance_m == pytest.approx(150, abs=20)
    assert store.nearest(*here, category="landmark")[0].place.id == "king-fahd-fountain"
    assert [h.place.id for h in store.nearest(*here, radius_m=1000)] == ["red-sea-mall"]
    assert store.nearest(*here, category="pharmacy") == []


def test_haversine_matches_a_known_distance() -> None:
    # Jeddah (21.5433, 39.1728) to Makkah (21.4225, 39.8262) is about 68.9 km on the great circle.
    import numpy as np

    metres = haversine_m(21.5433, 39.1728, np.array([21.4225]), np.array([39.8262]))[0]
    assert metres == pytest.approx(68_900, rel=0.01)


def test_by_category_and_district(store: Store) -> None:
    assert [p.id for p in store.by_category("mall")] == ["red-sea-mall", "mall-of-arabia"]
    assert [p.id for p in store.matching(None, "al-hamra")] == ["king-fahd-fountain", "al-balad"]
    assert store.counts["with_location"] == 3


def test_failed_build_leaves_previous_index_serving(kb: KnowledgeBase, engine: Engine) -> None:
    first = build_index(kb, engine, fold)
    broken = KnowledgeBase(places=kb.places + kb.places[:1], categories=kb.categories, digest="broken")
    with pytest.raises(IntegrityError):
        build_index(broken, engine, fold)
    assert current_build(engine) == first
    assert len(Store.load(engine, fold).places) == len(kb.places)
    leftovers = sorted(
        t for t in inspect(engine).get_table_names() if t.startswith("kb_") and first.build_id not in t
    )
    assert leftovers == ["kb_builds", "kb_current"]


def test_rebuild_swaps_and_keeps_two_builds(kb: KnowledgeBase, engine: Engine) -> None:
    old = Store.load(engine, fold) if current_build(engine) else None
    assert old is None
    builds = [build_index(kb, engine, fold) for _ in range(3)]
    assert current_build(engine) == builds[-1]
    tables = inspect(engine).get_table_names()
    assert not any(builds[0].build_id in t for t in tables)
    assert any(builds[1].build_id in t for t in tables)
    assert Store.load(engine, fold).info == builds[-1]


def test_database_url_default_and_postgres_driver() -> None:
    assert database_url({}) == "sqlite:///var/dalil.db"
    assert database_url({"DALIL_DATABASE_URL": "postgresql://u@h/db"}) == "postgresql+psycopg://u@h/db"
