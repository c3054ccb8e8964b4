"""``dalil kb geo-import`` on a tiny, made-up Who's On First checkout (the real one is not bundled)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from knowledge.loader import load_knowledge
from knowledge.store import Store
from knowledge.wof import JEDDAH_WOF_ID, git_head, import_wof, normalize_name
from tests.knowledge.conftest import write_data

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("حي الروضة", "الروضه"),
        ("الروضه", "الروضه"),
        ("أم حبلين", "ام حبلين"),
        ("الصوارى", "الصواري"),
        ("اللؤلؤ", "اللولو"),
        ("الشَّاطِئ", "الشاطي"),
        ("الشاطيء", "الشاطي"),
        ("  حي   البلد ", "البلد"),
    ],
)
def test_normalize_name(written: str, folded: str) -> None:
    assert normalize_name(written) == folded


def _box(lon: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _record(root: Path, wof_id: int, geometry: dict[str, Any], **props: Any) -> None:
    digits = str(wof_id)
    folder = root / "data" / "/".join(digits[i : i + 3] for i in range(0, len(digits), 3))
    folder.mkdir(parents=True, exist_ok=True)
    properties = {"wof:id": wof_id, "mz:is_current": 1, "wof:superseded_by": [], **props}
    feature = {"type": "Feature", "properties": properties, "geometry": geometry}
    (folder / f"{wof_id}.geojson").write_text(json.dumps(feature, ensure_ascii=False), encoding="utf-8")


def _neighbourhood(root: Path, wof_id: int, name_ar: str, geometry: dict[str, Any], **props: Any) -> None:
    hierarchy = [{"locality_id": props.pop("locality", JEDDAH_WOF_ID), "neighbourhood_id": wof_id}]
    _record(
        root,
        wof_id,
        geometry,
        **{"wof:placetype": "neighbourhood", "wof:name": f"N{wof_id}", "wof:hierarchy": hierarchy},
        **{"name:ara_x_preferred": [name_ar]},
        **props,
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A made-up WOF checkout: the city, two matching neighbourhoods and three that must not count."""
    root = tmp_path / "wof"
    _record(
        root, JEDDAH_WOF_ID, _box(39.10, 21.40, 0.2), **{"wof:placetype": "locality", "wof:name": "Jeddah"}
    )
    _neighbourhood(
        root, 1001, "حي الحمراء", _box(39.14, 21.51, 0.02), **{"lbl:latitude": 21.52, "lbl:longitude": 39.15}
    )
    _neighbourhood(root, 1002, "الشاطيء", {"type": "Point", "coordinates": [39.11, 21.62]})
    _neighbourhood(root, 1003, "الحمراء", _box(39.0, 21.0, 0.5), **{"mz:is_current": 0})
    _neighbourhood(root, 1004, "حي الشاطئ", _box(39.0, 21.0, 0.5), locality=999)
    _neighbourhood(root, 1005, "مدينة طبية", _box(39.17, 21.51, 0.01))
    (root / ".git" / "refs" / "heads").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/master\n")
    (root / ".git" / "refs" / "heads" / "master").write_text(COMMIT + "\n")
    return root


def test_import_writes_polygons_centroids_and_boundary_with_their_source(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = write_data(tmp_path)
    assert git_head(checkout) == COMMIT
    report = import_wof(checkout, data, COMMIT)

    assert report.matched == {"al-hamra": [1001], "ash-shati": [1002]}
    assert [u["wof_id"] for u in report.unmatched] == [1005]
    assert report.polygons == 1
    districts = json.loads((data / "geo" / "districts.geojson").read_text(encoding="utf-8"))
    assert districts["dalil"]["commit"] == COMMIT
    assert districts["dalil"]["licence"] == "CC0-1.0"
    assert [f["properties"]["district"] for f in districts["features"]] == ["al-hamra"]
    assert districts["features"][0]["properties"]["source"] == [
        f"https://raw.githubusercontent.com/whosonfirst-data/whosonfirst-data-admin-sa/{COMMIT}/data/100/1/1001.geojson"
    ]
    city = json.loads((data / "geo" / "jeddah.geojson").read_text(encoding="utf-8"))
    assert city["features"][0]["properties"]["wof_id"] == JEDDAH_WOF_ID

    result = load_knowledge(data)
    assert not result.errors
    by_id = {d.id: d for d in result.kb.districts}
    hamra, shati = by_id["al-hamra"], by_id["ash-shati"]
    assert hamra.centroid is not None
    assert (hamra.centroid.lat, hamra.centroid.lon) == (21.52, 39.15)
    assert hamra.centroid_source is not None
    assert hamra.centroid_source.startswith("Who's On First 1001 label point")
    assert COMMIT in hamra.centroid_source
    assert shati.centroid is not None
    assert (shati.centroid.lat, shati.centroid.lon) == (21.62, 39.11)  # WOF has only its point

    store = Store.from_knowledge(result.kb)
    assert store.geo.district_at(21.515, 39.145) == "al-hamra"
    assert store.geo.district_at(21.62, 39.11) is None  # a point has no area
    assert store.geo.inside_jeddah(21.5, 39.2)
    assert not store.geo.inside_jeddah(21.5, 39.5)
    fountain = store.get("king-fahd-fountain")
    assert fountain is not None
    assert fountain.district == "al-hamra"

    # A second run changes nothing: the data is a function of the checkout.
    before = (data / "districts.yml").read_text(encoding="utf-8")
    import_wof(checkout, data, COMMIT)
    assert (data / "districts.yml").read_text(encoding="utf-8") == before


def test_an_editors_own_centroid_is_kept(checkout: Path, tmp_path: Path) -> None:
    data = write_data(tmp_path)
    text = (
        (data / "districts.yml")
        .read_text(encoding="utf-8")
        .replace(
            "name: {ar: الحمراء, en: Al Hamra}\n",
            "name: {ar: الحمراء, en: Al Hamra}\n    centroid: {lat: 21.53, lon: 39.16}\n"
            "    centroid_source: https://example.test/hamra\n",
        )
    )
    (data / "districts.yml").write_text(text, encoding="utf-8")
    import_wof(checkout, data, COMMIT)
    hamra = next(d for d in load_knowledge(data).kb.districts if d.id == "al-hamra")
    assert hamra.centroid is not None
    assert (hamra.centroid.lat, hamra.centroid.lon) == (21.53, 39.16)
    assert hamra.centroid_source == "https://example.test/hamra"
