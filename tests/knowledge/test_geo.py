"""District geometry on the bundled Who's On First data: point → district, "in Jeddah?", centroids."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.cli import main
from knowledge.geo import DistrictMap, GeoData, contains
from knowledge.lint import lint
from knowledge.loader import KnowledgeBase, load_knowledge
from knowledge.store import Store, build_index, make_engine
from nlu.normalize import fold
from tests.knowledge.conftest import write_data

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def bundled() -> KnowledgeBase:
    result = load_knowledge(DATA)
    assert not result.errors
    return result.kb


@pytest.fixture(scope="module")
def store(bundled: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The bundled data built into SQLite and opened again, as the bot opens it."""
    engine: Engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('geo') / 'dalil.db'}")
    build_index(bundled, engine, fold)
    opened = Store.load(engine, fold)
    engine.dispose()
    return opened


@pytest.mark.parametrize(
    ("where", "lat", "lon", "district"),
    [
        ("Al-Balad, by Bab Makkah road", 21.4858, 39.1860, "al-balad"),
        ("Al-Rawdah, off Prince Sultan road", 21.5605, 39.1530, "ar-rawdah"),
        ("Al-Hamra, by the Corniche", 21.5260, 39.1620, "al-hamra"),
        ("the airport terminal", 21.6800, 39.1600, "king-abdulaziz-international-airport"),
    ],
)
def test_a_jeddah_point_maps_to_its_district(
    store: Store, where: str, lat: float, lon: float, district: str
) -> None:
    assert store.geo.district_at(lat, lon) == district, where
    assert store.geo.inside_jeddah(lat, lon), where


def test_riyadh_is_outside_jeddah(store: Store) -> None:
    assert not store.geo.inside_jeddah(24.71, 46.68)
    assert store.geo.district_at(24.71, 46.68) is None


def test_the_sea_off_the_corniche_is_outside_but_the_fountain_is_inside(store: Store) -> None:
    # Decision (docs/editors.md): WOF's boundary follows the shore roughly, so Jeddah is the boundary plus
    # 1 km. King Fahd's Fountain stands in the water just beyond the line and is in Jeddah, in the
    # district it faces; open sea 6 km off the Corniche is in no district and outside the city.
    fountain = store.get("king-fahd-fountain")
    assert fountain is not None
    assert fountain.location is not None
    assert store.geo.inside_jeddah(fountain.location.lat, fountain.location.lon)
    assert fountain.district == "al-andalus"
    assert store.geo.district_at(21.55, 39.05) is None
    assert not store.geo.inside_jeddah(21.55, 39.05)


def test_every_matched_district_centroid_lies_in_its_own_polygon(bundled: KnowledgeBase) -> None:
    with_centroid = [d for d in bundled.districts if d.centroid is not None]
    assert len(with_centroid) == len(bundled.geo.shapes) == 113
    for district in with_centroid:
        assert district.centroid is not None
        assert district.centroid_source is not None
        assert district.centroid_source.startswith("Who's On First ")
        assert (
            "whosonfirst-data-admin-sa/ca29d90501586ece8c861ce520842669adcea3d5/" in district.centroid_source
        )
        shape = bundled.geo.shapes[district.id]
        assert contains(shape, district.centroid.lat, district.centroid.lon), district.id


def test_near_al_rawdah_uses_the_district_centroid(store: Store) -> None:
    point = store.geo.district_point("ar-rawdah")
    assert point is not None
    assert store.geo.district_at(*point) == "ar-rawdah"
    hits = store.nearest(*point, limit=3)
    assert hits
    assert hits[0].distance_m < 2000
    assert hits[0].place.district == "ar-rawdah"
    assert store.geo.district_point("um-hableen-al-gharbiyyah") is None  # WOF has one undivided Um Hableen
    assert store.geo.district_point("no-such-district") is None


def test_places_get_their_district_from_their_location_at_build(store: Store) -> None:
    # Neither has a district in the YAML; both are landmarks everyone can place.
    red_sea_mall = store.get("red-sea-mall")
    assert red_sea_mall is not None
    assert red_sea_mall.district == "ash-shati"
    abu_yasser = store.get("abo-yasser-restaurant")
    assert abu_yasser is not None
    assert abu_yasser.district == "al-balad"
    # A district an editor wrote is kept as written.
    terminal = store.get("kaia-north-terminal")
    assert terminal is not None
    assert terminal.district == "king-abdulaziz-international-airport"
    located = [p for p in store.places if p.location is not None]
    assert sum(1 for p in located if p.district) >= len(located) - 1
    assert "ash-shati" in {p.district for p in store.matching(None, "ash-shati")}


def test_stats_count_centroids_polygons_and_boundary(store: Store) -> None:
    counts = store.counts
    assert counts["districts"] == 170
    assert counts["districts_with_centroid"] == 113
    assert counts["districts_with_polygon"] == 113
    assert counts["city_boundary"] is True


def test_without_geometry_the_bounding_box_decides(data_dir: Path) -> None:
    kb = load_knowledge(data_dir).kb
    assert kb.geo == GeoData()
    districts = DistrictMap(kb.districts, kb.geo)
    assert districts.inside_jeddah(21.5, 39.2)
    assert not districts.inside_jeddah(24.71, 46.68)
    assert districts.district_at(21.5, 39.2) is None
    assert Store.from_knowledge(kb).counts["districts_with_polygon"] == 0


_SQUARE = {
    "type": "Polygon",
    "coordinates": [[[39.14, 21.51], [39.16, 21.51], [39.16, 21.53], [39.14, 21.51]]],
}


def _geo_file(features: list[str]) -> str:
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(features) + "\n]}\n"


def _feature(district: str, geometry: Mapping[str, object]) -> str:
    feature = {"type": "Feature", "properties": {"district": district}, "geometry": geometry}
    return json.dumps(feature, separators=(",", ":"))


def test_geometry_errors_name_file_line_and_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = write_data(tmp_path)
    bow_tie = {
        "type": "Polygon",
        "coordinates": [[[39.1, 21.5], [39.2, 21.6], [39.2, 21.5], [39.1, 21.6], [39.1, 21.5]]],
    }
    features = [_feature("ash-shati", _SQUARE), _feature("al-hamraa", _SQUARE), _feature("al-hamra", bow_tie)]
    (data / "geo").mkdir()
    (data / "geo" / "districts.geojson").write_text(_geo_file(features), encoding="utf-8")
    result = load_knowledge(data)
    errors = [str(e) for e in result.errors]
    assert len(errors) == 2
    assert (
        errors[0]
        == "data/geo/districts.geojson:3: features[1].properties.district: unknown district 'al-hamraa'"
    )
    assert errors[1].startswith(
        "data/geo/districts.geojson:4: features[2].geometry: invalid polygon: Self-inter"
    )
    assert list(result.kb.geo.shapes) == ["ash-shati"]
    places = {p.id: p for p in result.kb.places}
    # The fixture's fountain lies in the test square but its editor wrote al-hamra: that stays.
    assert places["king-fahd-fountain"].district == "al-hamra"
    # Mall of Arabia (21.633, 39.156) has no district and lies outside the square: it gets none.
    assert places["mall-of-arabia"].district is None


def test_lint_flags_a_point_outside_its_district_polygon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = write_data(tmp_path)
    (data / "geo").mkdir()
    (data / "geo" / "districts.geojson").write_text(
        _geo_file([_feature("ash-shati", _SQUARE)]), encoding="utf-8"
    )
    report = lint(data, date(2026, 11, 20))
    located = [i for i in report.warnings if i.field == "location"]
    # Red Sea Mall says ash-shati but (21.627, 39.111) is outside the (test) ash-shati polygon.
    assert [i.message for i in located] == [
        "lies in no district by the district polygons, not 'ash-shati' (in red-sea-mall)"
    ]


def test_kb_stats_reports_centroids_and_polygons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DALIL_DATA_DIR", str(DATA))
    monkeypatch.setenv("DALIL_DATABASE_URL", f"sqlite:///{tmp_path / 'dalil.db'}")
    assert main(["--config", str(DATA.parent / "config.yml"), "kb", "stats"]) == 0
    out = capsys.readouterr().out
    assert "district centroids: 113 / 170" in out
    assert "district polygons: 113 / 170" in out
    assert "city boundary: yes" in out
