"""City-scale indexes: the box-first nearest search answers exactly what a scan of every point would."""

from __future__ import annotations

import random

import numpy as np
import pytest

from knowledge.search import GeoIndex, haversine_m


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
