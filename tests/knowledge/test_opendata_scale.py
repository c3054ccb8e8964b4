"""City-scale indexes: the box-first nearest search answers exactly what a scan of every point would."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from knowledge.placelist import PlaceList
from knowledge.search import GeoIndex, haversine_m

REPO = Path(__file__).parents[2]


def brute(
    points: list[tuple[int, float, float]],
    lat: float,
    lon: float,
    mask: np.ndarray | None,
    limit: int,
    radius_m: float | None,
) -> list[tuple[int, float]]:
    owners = np.asarray([p[0] for p in points])
    d = haversine_m(lat, lon, np.asarray([p[1] for p in points]), np.asarray([p[2] for p in points]))
    rows = [(int(o), float(x)) for o, x in zip(owners, d, strict=True)]
    rows = [r for r in rows if (mask is None or mask[r[0]]) and (radius_m is None or r[1] <= radius_m)]
    return sorted(rows, key=lambda r: (r[1], r[0]))[:limit]


@pytest.mark.parametrize("seed", range(6))
def test_nearest_matches_a_full_scan(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.choice([1, 7, 300, 5000])
    points = [(i, rng.uniform(21.3, 21.85), rng.uniform(39.1, 39.3)) for i in range(n)]
    index = GeoIndex(points)
    mask = np.asarray([rng.random() < 0.05 for _ in range(n)]) if seed % 2 else None
    for _ in range(40):
        lat, lon = rng.uniform(21.2, 21.95), rng.uniform(39.0, 39.4)
        limit = rng.choice([1, 5, 10])
        radius = rng.choice([None, 500.0, 3000.0])
        got = index.nearest(lat, lon, mask, limit, radius)
        want = brute(points, lat, lon, mask, limit, radius)
        assert [o for o, _ in got] == [o for o, _ in want]
        assert [d for _, d in got] == pytest.approx([d for _, d in want])


def test_nearest_far_from_every_point_still_finds_them() -> None:
    index = GeoIndex([(0, 21.5, 39.2), (1, 21.6, 39.1)])
    assert [o for o, _ in index.nearest(24.7, 46.7, limit=2)] == [0, 1]  # from Riyadh, ~850 km
    assert index.nearest(24.7, 46.7, radius_m=1000) == []


def test_synced_places_stay_json_until_asked_for_and_read_back_equal(tmp_path: Path) -> None:
    from knowledge.loader import load_knowledge
    from knowledge.opendata.merge import with_open_data
    from knowledge.opendata.snapshot import read_snapshots, write_snapshot
    from knowledge.store import Store, build_index, make_engine

    fixture = Path(__file__).parent / "fixtures" / "overpass_fictional.json"
    write_snapshot(tmp_path / "od", "osm", json.loads(fixture.read_text(encoding="utf-8")), "test")
    curated = load_knowledge(REPO / "data").kb
    kb, _merged = with_open_data(curated, read_snapshots(tmp_path / "od"))
    engine = make_engine(f"sqlite:///{tmp_path}/kb.db")
    build_index(kb, engine)
    store = Store.load(engine)
    assert isinstance(store.places, PlaceList)
    synced = [p for p in kb.places if p.open_data is not None]
    assert store.places._cache == {}  # nothing built yet: search and filters run on the facts
    assert store.get(synced[0].id) == synced[0]
    assert len(store.places._cache) == 1
    assert list(store.places)[-len(synced) :] == synced
    assert store.counts["per_source"]["osm"] == len(synced)
    # Curated before synced; at most `limit`.
    pharmacies = store.matching("pharmacy", None, limit=2)
    assert [p.id for p in pharmacies] == [p.id for p in kb.places if "pharmacy" in p.categories][:2]
