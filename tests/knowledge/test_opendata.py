"""Open-data layers: the Overpass query, parsing both formats, snapshots and the merge rules.

Fixtures are hand-made and fictional (tests/knowledge/fixtures/README.md).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from knowledge.loader import KnowledgeBase, load_knowledge
from knowledge.opendata import overpass, overture
from knowledge.opendata.merge import MergeResult, merge, with_open_data
from knowledge.opendata.snapshot import Snapshot, SnapshotError, read_snapshot, read_snapshots, write_snapshot
from knowledge.schema import JEDDAH_BBOX, Place
from knowledge.search import distance_m
from knowledge.store import Store
from tests.knowledge.conftest import CATEGORIES as BASE_CATEGORIES
from tests.knowledge.conftest import write_data

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parents[2]

# The fixture's categories (pharmacy last) with pharmacy mapped to OSM, and more kinds that OSM tags name.
CATEGORIES = (
    BASE_CATEGORIES
    + """\
    synonyms: {ar: [صيدليه, اجزخانة], en: [chemist]}
    osm: [{amenity: pharmacy}]
  - id: fuel
    name: {ar: محطة وقود, en: Fuel station}
    osm: [{amenity: fuel}]
  - id: bank
    name: {ar: بنك, en: Bank}
    osm: [{amenity: bank}, {amenity: atm}]
  - id: mosque
    name: {ar: مسجد, en: Mosque}
    osm: [{amenity: place_of_worship, religion: muslim}]
  - id: cafe
    name: {ar: مقهى, en: Café}
    osm: [{amenity: cafe}]
  - id: restaurant
    name: {ar: مطعم, en: Restaurant}
    osm: [{amenity: restaurant}, {amenity: fast_food}]
  - id: park
    name: {ar: حديقة, en: Park}
    osm: [{leisure: park}]
  - id: street
    name: {ar: شارع, en: Street}
    osm: [{highway: primary}]
  - id: heritage
    name: {ar: تراث, en: Heritage}
    osm: [{heritage: "*"}]
"""
)

OVERTURE_MAP = """\
categories:
  pharmacy: [pharmacy, drugstore]
  restaurant: [seafood_restaurant, fast_food_restaurant]
  cafe: [coffee_shop]
  mall: [shopping_center]
"""

FETCHED = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return doc


@pytest.fixture
def opendata_data(tmp_path: Path) -> Path:
    """A data directory whose categories map OSM tags, plus the Overture mapping table."""
    data = write_data(tmp_path)
    (data / "categories.yml").write_text(CATEGORIES, encoding="utf-8")
    (data / "overture_categories.yml").write_text(OVERTURE_MAP, encoding="utf-8")
    return data


@pytest.fixture
def kb(opendata_data: Path) -> KnowledgeBase:
    result = load_knowledge(opendata_data)
    assert not result.errors, result.errors
    return result.kb


def snapshots(tmp_path: Path, *layers: str) -> list[Snapshot]:
    directory = tmp_path / "opendata"
    docs = {"osm": fixture("overpass_fictional.json"), "overture": fixture("overture_fictional.geojson")}
    for layer in layers:
        write_snapshot(directory, layer, docs[layer], f"tests/{layer}", FETCHED)
    return read_snapshots(directory)


def merged(kb: KnowledgeBase, tmp_path: Path, data: Path, *layers: str) -> MergeResult:
    return merge(kb, snapshots(tmp_path, *layers), data / "overture_categories.yml")


def by_ref(result: MergeResult) -> dict[str, Place]:
    return {ref: p for p in result.places if p.open_data for ref in p.open_data.refs}


# --- the Overpass query -----------------------------------------------------------------------------


def test_query_covers_every_tag_set_named_and_the_nearest_kinds_unnamed(kb: KnowledgeBase) -> None:
    query = overpass.build_query(kb.categories, JEDDAH_BBOX)
    assert query.startswith("[out:json][timeout:180][bbox:21.0,38.9,22.1,39.5];")
    assert query.rstrip().endswith("out tags center;")
    # Kinds people ask "nearest" for come with or without a name ...
    assert 'nwr["amenity"="pharmacy"];' in query
    assert 'nwr["amenity"="atm"];' in query
    assert 'nwr["amenity"="fuel"];' in query
    assert 'nwr["amenity"="place_of_worship"]["religion"="muslim"];' in query
    # ... every other tag set only when named; "*" means any value.
    assert 'nwr["shop"="mall"]["name"];' in query
    assert 'nwr["amenity"="bank"]["name"];' in query
    assert 'nwr["heritage"]["name"];' in query
    tag_sets = sum(len(c.osm) for c in kb.categories)
    assert query.count("nwr[") == tag_sets


def test_query_for_the_bundled_categories_has_every_osm_tag_set() -> None:
    bundled = load_knowledge(REPO / "data").kb.categories
    query = overpass.build_query(bundled, JEDDAH_BBOX)
    for category in bundled:
        for tag_set in category.osm:
            selector = "".join(f'["{k}"]' if v == "*" else f'["{k}"="{v}"]' for k, v in tag_set.items())
            assert f"nwr{selector}" in query, (category.id, tag_set)


# --- parsing ------------------------------------------------------------------------------------------


def test_overpass_elements_become_candidates_with_points_kinds_and_names(kb: KnowledgeBase) -> None:
    found = {c.ref: c for c in overpass.candidates(fixture("overpass_fictional.json"), kb.categories)}
    pharmacy = found["osm:node/990000001"]
    assert (pharmacy.category, pharmacy.lat, pharmacy.lon) == ("pharmacy", 21.54, 39.17)
    assert (pharmacy.name_ar, pharmacy.name_en) == ("صيدلية الخيال التجريبية", "Khayal Fictional Pharmacy")
    assert pharmacy.url == "https://www.openstreetmap.org/node/990000001"
    fuel = found["osm:way/990000004"]  # a way: its centre point; no name, so its brand
    assert (fuel.category, fuel.lat, fuel.name_en) == ("fuel", 21.53, "Fictional Fuel Co")
    assert found["osm:node/990000005"].category == "bank"  # an unnamed ATM
    assert found["osm:relation/990000012"].category == "park"
    assert "osm:node/990000009" not in found  # a bakery: no category maps it
    roads = [c for c in found.values() if c.category == "street"]
    assert [r.ref for r in roads] == ["osm:way/990000010"]  # one place per road name, not per segment
    assert found["osm:node/990000014"].phones == ()  # "not a phone" is dropped, not kept as text


def test_names_are_plain_text_without_control_or_bidi_override_characters(kb: KnowledgeBase) -> None:
    found = {c.ref: c for c in overpass.candidates(fixture("overpass_fictional.json"), kb.categories)}
    assert found["osm:node/990000007"].name_en == "Khayal Fictional Cafe"
    assert found["osm:node/990000014"].name == "<b>Fictional</b> Grill"  # kept as text; channels escape it


def test_overpass_runtime_error_remark_is_a_failed_download() -> None:
    doc = {"elements": [], "remark": 'runtime error: Query timed out in "query" at line 3 after 181 seconds.'}
    with pytest.raises(overpass.OverpassError, match="stopped early"):
        overpass.check_answer(doc)
    with pytest.raises(overpass.OverpassError, match="not an Overpass JSON"):
        overpass.check_answer({"type": "FeatureCollection", "features": []})


def test_overture_features_map_names_categories_contacts_and_skip_closed(opendata_data: Path) -> None:
    mapping = overture.load_category_map(opendata_data / "overture_categories.yml")
    found = {c.ref: c for c in overture.candidates(fixture("overture_fictional.geojson"), mapping)}
    pharmacy = found["overture:0fict0000000000000000000000000001"]
    assert (pharmacy.name_ar, pharmacy.name_en) == ("صيدلية الخيال التجريبية", "Khayal Fictional Pharmacy")
    assert pharmacy.phones == ("+966120000001",)
    assert pharmacy.website == "https://khayal-pharmacy.example"
    assert pharmacy.confidence == pytest.approx(0.92)
    assert pharmacy.address == "Fictional Street 1, Jeddah"
    seafood = found["overture:0fict0000000000000000000000000003"]  # names.common as an object
    assert (seafood.category, seafood.name_ar, seafood.name_en) == (
        "restaurant",
        "مطعم الخيال البحري",
        "Khayal Fictional Seafood",
    )
    assert "overture:0fict0000000000000000000000000004" not in found  # permanently closed
    assert "overture:0fict0000000000000000000000000005" not in found  # plumbing: not mapped


def test_overture_reads_geojson_sequence_and_rejects_a_cut_short_file(tmp_path: Path) -> None:
    features = fixture("overture_fictional.geojson")["features"]
    seq = tmp_path / "places.geojsonseq"
    seq.write_text("\n".join(json.dumps(f) for f in features), encoding="utf-8")
    assert len(overture.read_geojson(seq)["features"]) == len(features)
    cut = tmp_path / "cut.geojson"
    cut.write_text(
        (FIXTURES / "overture_fictional.geojson").read_text(encoding="utf-8")[:500], encoding="utf-8"
    )
    with pytest.raises(overture.OvertureError, match="not complete"):
        overture.read_geojson(cut)


def test_bundled_overture_table_maps_only_to_known_categories() -> None:
    mapping = overture.load_category_map(REPO / "data" / "overture_categories.yml")
    known = {c.id for c in load_knowledge(REPO / "data").kb.categories}
    assert set(mapping.values()) <= known
    assert mapping["pharmacy"] == "pharmacy"
    assert mapping["atms"] == "bank"
    assert mapping["gas_station"] == "fuel"
    assert mapping["mosque"] == "mosque"


# --- snapshots ----------------------------------------------------------------------------------------


def test_snapshot_keeps_time_source_and_licence_and_replaces_atomically(tmp_path: Path) -> None:
    directory = tmp_path / "opendata"
    path = write_snapshot(directory, "osm", fixture("overpass_fictional.json"), "http://x/api", FETCHED)
    snap = read_snapshot(path)
    assert (snap.layer, snap.licence, snap.attribution) == ("osm", "ODbL-1.0", "© OpenStreetMap contributors")
    assert (snap.fetched_at, snap.origin, snap.count) == ("2026-11-30T06:00:00+00:00", "http://x/api", 14)
    assert [p.name for p in directory.iterdir()] == ["osm.json"]  # no temporary file left behind


def test_failed_write_keeps_the_previous_snapshot(tmp_path: Path) -> None:
    directory = tmp_path / "opendata"
    write_snapshot(directory, "osm", fixture("overpass_fictional.json"), "first", FETCHED)
    with pytest.raises(TypeError):
        write_snapshot(directory, "osm", {"elements": [object()]}, "second", FETCHED)
    assert read_snapshot(directory / "osm.json").origin == "first"
    assert [p.name for p in directory.iterdir()] == ["osm.json"]


def test_unreadable_snapshot_stops_the_merge_rather_than_dropping_a_layer(tmp_path: Path) -> None:
    directory = tmp_path / "opendata"
    directory.mkdir()
    (directory / "osm.json").write_text('{"layer": "osm", "data": {"elem', encoding="utf-8")
    with pytest.raises(SnapshotError):
        read_snapshots(directory)
    assert read_snapshots(tmp_path / "missing") == []


# --- merge rules -----------------------------------------------------------------------------------------


def test_osm_layer_places_are_served_with_attribution_and_provenance(
    kb: KnowledgeBase, tmp_path: Path, opendata_data: Path
) -> None:
    result = merged(kb, tmp_path, opendata_data, "osm")
    places = by_ref(result)
    pharmacy = places["osm:node/990000001"]
    assert pharmacy.id == "osm-node-990000001"
    assert pharmacy.name.ar == "صيدلية الخيال التجريبية"
    assert pharmacy.opening_hours == "Mo-Su 08:00-23:00"
    assert pharmacy.source == ["https://www.openstreetmap.org/node/990000001"]
    assert pharmacy.last_verified.isoformat() == "2026-11-30"
    assert pharmacy.open_data is not None
    assert pharmacy.open_data.attribution == ["© OpenStreetMap contributors"]
    assert pharmacy.open_data.provenance == {"name": "osm", "opening_hours": "osm"}
    assert not pharmacy.open_data.unnamed
    assert result.dropped["outside_jeddah"] == 1  # the Riyadh pharmacy


def test_unnamed_and_generically_named_elements_are_served_as_their_kind(
    kb: KnowledgeBase, tmp_path: Path, opendata_data: Path
) -> None:
    places = by_ref(merged(kb, tmp_path, opendata_data, "osm"))
    unnamed, generic = places["osm:node/990000002"], places["osm:node/990000003"]
    assert unnamed.open_data is not None
    assert unnamed.open_data.unnamed
    assert (unnamed.name.ar, unnamed.name.en) == ("صيدلية", "Pharmacy")
    assert generic.open_data is not None
    assert generic.open_data.unnamed  # named just "صيدلية"
    assert places["osm:way/990000004"].open_data is not None
    assert not places["osm:way/990000004"].open_data.unnamed  # "Fictional Fuel Co" names it


def test_unparsable_hours_are_kept_as_text_and_never_used(
    kb: KnowledgeBase, tmp_path: Path, opendata_data: Path
) -> None:
    cafe = by_ref(merged(kb, tmp_path, opendata_data, "osm"))["osm:node/990000007"]
    assert cafe.opening_hours is None
    assert cafe.open_data is not None
    assert cafe.open_data.hours_text == "after the evening prayer until late"
    store = Store([cafe])
    assert not store.hours(cafe).known


def test_element_matching_a_curated_place_is_linked_not_duplicated(
    kb: KnowledgeBase, tmp_path: Path, opendata_data: Path
) -> None:
    result = merged(kb, tmp_path, opendata_data, "osm", "overture")
    assert sorted(result.linked["red-sea-mall"]) == [
        "osm:node/990000013",
        "overture:0fict0000000000000000000000000006",
    ]
    assert not [p for p in result.places if p.name.en == "Red Sea Mall"]


def test_curated_place_citing_an_osm_element_links_it_wherever_it_is(tmp_path: Path) -> None:
    places = """\
places:
  - id: khayal-pharmacy
    name: {ar: صيدلية خيال المحررين, en: Editors Khayal Pharmacy}
    categories: [pharmacy]
    source: [https://www.openstreetmap.org/node/990000001]
    last_verified: 2026-11-01
"""
    data = write_data(tmp_path / "d", places=places)
    (data / "categories.yml").write_text(CATEGORIES, encoding="utf-8")
    kb = load_knowledge(data).kb
    result = merge(kb, snapshots(tmp_path, "osm"))
    assert result.linked == {"khayal-pharmacy": ["osm:node/990000001"]}
    assert "osm:node/990000001" not in by_ref(result)


def test_osm_and_overture_copies_merge_with_per_field_provenance(
    kb: KnowledgeBase, tmp_path: Path, opendata_data: Path
) -> None:
    result = merged(kb, tmp_path, opendata_data, "osm", "overture")
    pharmacy = by_ref(result)["osm:node/990000001"]
    assert by_ref(result)["overture:0fict0000000000000000000000000001"] is pharmacy
    assert pharmacy.open_data is not None
    assert pharmacy.open_data.layers == ["osm", "overture"]
    assert pharmacy.open_data.attribution == ["© OpenStreetMap contributors", "© Overture Maps Foundation"]
    assert pharmacy.opening_hours == "Mo-Su 08:00-23:00"  # from OSM
    assert pharmacy.phones == ["+966120000001"]  # from Overture
    assert pharmacy.open_data.provenance == {
        "name": "osm",
        "opening_hours": "osm",
        "phones": "overture",
        "website": "overture",
        "address": "overture",
    }
    assert result.merged == 1
    assert result.per_layer() == {"osm": 9, "osm+overture": 1, "overture": 1}


def test_overture_below_the_minimum_confidence_is_not_served(
    kb: KnowledgeBase, tmp_path: Path, opendata_data: Path
) -> None:
    layers = snapshots(tmp_path, "overture")
    default = merge(kb, layers, opendata_data / "overture_categories.yml")
    assert default.dropped["low_confidence"] == 1
    assert "Doubtful Fictional Pharmacy" not in {p.name.en for p in default.places}
    lenient = merge(kb, layers, opendata_data / "overture_categories.yml", min_confidence=0.3)
    assert "Doubtful Fictional Pharmacy" in {p.name.en for p in lenient.places}


def test_points_outside_jeddah_are_dropped_by_the_inside_test(
    kb: KnowledgeBase, tmp_path: Path, opendata_data: Path
) -> None:
    south_only = merge(kb, snapshots(tmp_path, "osm"), inside=lambda lat, _lon: lat < 21.55)
    assert all(p.location is not None and p.location.lat < 21.55 for p in south_only.places)
    assert south_only.dropped["outside_jeddah"] >= 5


def test_synced_places_are_found_by_name_kind_and_distance(
    kb: KnowledgeBase, tmp_path: Path, opendata_data: Path
) -> None:
    full, result = with_open_data(
        kb, snapshots(tmp_path, "osm", "overture"), opendata_data / "overture_categories.yml"
    )
    assert len(full.places) == len(kb.places) + len(result.places)
    assert full.digest != kb.digest
    store = Store.from_knowledge(full)
    assert store.search("صيدلية الخيال")[0].place.id == "osm-node-990000001"
    assert store.search("Khayal Fictional Seafood")[0].place.id == "ovt-0fict0000000000000000000000000003"
    # "صيدلية" alone is the kind: the unnamed pharmacies never win a name search.
    assert all(
        not (h.place.open_data and h.place.open_data.unnamed) for h in store.search("صيدلية", limit=10)
    )
    near = store.nearest(21.5427, 39.1700, category="pharmacy", limit=3)
    assert near[0].place.id == "osm-node-990000001"
    assert near[0].distance_m == pytest.approx(distance_m((21.5427, 39.17), (21.54, 39.17)), abs=1)
    assert 290 < near[0].distance_m < 310
    assert [h.place.id for h in near[1:]] == ["osm-node-990000002", "osm-node-990000003"]
    counts = store.counts["per_source"]
    assert counts == {"curated": 4, "osm": 9, "osm+overture": 1, "overture": 1}


def test_every_kind_fetched_without_a_name_is_a_bundled_category_people_can_ask_for() -> None:
    """Pharmacies, ATMs, fuel, mosques and toilets come even unnamed: each must map to a category."""
    bundled = load_knowledge(REPO / "data").kb.categories
    mapped = [dict(tag_set) for category in bundled for tag_set in category.osm]
    for kind in overpass.UNNAMED_KINDS:
        assert dict(kind) in mapped, f"{kind} is fetched unnamed but no category in data/ maps it"
    query = overpass.build_query(bundled, JEDDAH_BBOX)
    assert 'nwr["amenity"="toilets"];' in query  # unnamed toilets too: no ["name"] filter
