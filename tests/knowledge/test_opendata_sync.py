"""``dalil kb sync`` against a local fake Overpass server, then ``kb build``, ``kb stats`` and ``dalil ask``.

The fake speaks Overpass's wire format (tests/knowledge/fake_overpass.py); the data is the fictional
fixture (tests/knowledge/fixtures/README.md). The last test is the whole path a deployment takes:
sync → build → a resident asks for the nearest pharmacy and gets the synced one, with its distance.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cards import Formatter
from bot.cli import main
from bot.settings import Settings
from bot.texts import Texts
from bot.wiring import KnowledgeService
from knowledge.hours import RIYADH
from knowledge.opendata.overpass import USER_AGENT
from knowledge.opendata.snapshot import read_snapshot
from knowledge.search import distance_m
from tests.knowledge import fake_overpass

REPO = Path(__file__).parents[2]
FIXTURES = Path(__file__).parent / "fixtures"


def elements() -> list[dict[str, Any]]:
    doc: dict[str, Any] = json.loads((FIXTURES / "overpass_fictional.json").read_text(encoding="utf-8"))
    return list(doc["elements"])


@pytest.fixture
def overpass() -> Iterator[fake_overpass.FakeOverpass]:
    with fake_overpass.serve(elements()) as fake:
        yield fake


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, overpass: fake_overpass.FakeOverpass) -> Path:
    """``dalil`` on the bundled data, with its own database, model and open-data directories."""
    monkeypatch.setenv("DALIL_DATA_DIR", str(REPO / "data"))
    monkeypatch.setenv("DALIL_DATABASE_URL", f"sqlite:///{tmp_path}/dalil.db")
    monkeypatch.setenv("DALIL_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("DALIL_OPENDATA_DIR", str(tmp_path / "opendata"))
    monkeypatch.setenv("DALIL_OVERPASS_URL", overpass.url)
    monkeypatch.setenv("DALIL_NOW", "2026-11-24T20:00:00")
    return tmp_path / "opendata"


def dalil(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--config", str(REPO / "config.yml"), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def per_source(capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    """``dalil kb stats --json``: how many places the index serves from each source."""
    served: dict[str, int] = json.loads(dalil(capsys, "kb", "stats", "--json")[1])["per_source"]
    return served


def sync_osm_and_build(capsys: pytest.CaptureFixture[str]) -> None:
    """``dalil kb sync osm`` from the fake Overpass, then ``dalil kb build``: both must succeed."""
    assert dalil(capsys, "kb", "sync", "osm")[0] == 0
    assert dalil(capsys, "kb", "build")[0] == 0


def test_sync_osm_sends_one_polite_query_and_keeps_the_answer_as_a_snapshot(
    env: Path, overpass: fake_overpass.FakeOverpass, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = dalil(capsys, "kb", "sync", "osm")
    assert code == 0, err
    assert len(overpass.requests) == 1
    request = overpass.requests[0]
    assert (request.method, request.path) == ("POST", "/api/interpreter")
    assert request.user_agent == USER_AGENT
    assert request.content_type == "application/x-www-form-urlencoded"
    assert 'nwr["amenity"="pharmacy"];' in request.query  # unnamed pharmacies too
    assert 'nwr["shop"="mall"]["name"];' in request.query
    snapshot = read_snapshot(env / "osm.json")
    # The fake honours the query's bbox: the Riyadh element is not in the answer.
    assert snapshot.count == len(elements()) - 1
    assert (snapshot.origin, snapshot.licence) == (overpass.url, "ODbL-1.0")
    assert "© OpenStreetMap contributors" in out
    assert "run `dalil kb build`" in out


def test_sync_backs_off_on_429_and_504_then_succeeds(
    env: Path, overpass: fake_overpass.FakeOverpass, capsys: pytest.CaptureFixture[str]
) -> None:
    overpass.failures = [(429, "0"), (504, "0")]
    code, _out, err = dalil(capsys, "kb", "sync", "osm")
    assert code == 0, err
    assert len(overpass.requests) == 3
    assert read_snapshot(env / "osm.json").count == len(elements()) - 1


def test_failed_or_partial_download_keeps_the_previous_layer(
    env: Path, overpass: fake_overpass.FakeOverpass, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dalil(capsys, "kb", "sync", "osm")[0] == 0
    before = (env / "osm.json").read_bytes()
    overpass.failures = [(504, "0")] * 5
    code, _out, err = dalil(capsys, "kb", "sync", "osm")
    assert code == 1
    assert "previous osm layer is kept" in err
    overpass.failures = [(200, None)]  # a runtime-error remark after one element
    code, _out, err = dalil(capsys, "kb", "sync", "osm")
    assert code == 1
    assert "stopped early" in err
    assert (env / "osm.json").read_bytes() == before
    assert sorted(p.name for p in env.iterdir()) == ["osm.json"]


def test_sync_from_files_then_build_serves_both_layers_and_counts_them(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dalil(capsys, "kb", "sync", "osm", "--input", str(FIXTURES / "overpass_fictional.json"))[0] == 0
    overture = str(FIXTURES / "overture_fictional.geojson")
    code, out, err = dalil(capsys, "kb", "sync", "overture", "--input", overture)
    assert code == 0, err
    assert "CDLA-Permissive-2.0" in out
    code, out, err = dalil(capsys, "kb", "build")
    assert code == 0, err
    assert "open data: 11 places (osm 9, osm+overture 1, overture 1); 1 OSM+Overture pairs merged" in out
    assert "linked to curated places" in out
    served = per_source(capsys)
    assert (served["osm"], served["osm+overture"], served["overture"]) == (9, 1, 1)
    # The synced places are found by name like curated ones.
    code, out, _err = dalil(capsys, "kb", "search", "Khayal Fictional Seafood", "--json")
    assert json.loads(out)[0]["id"] == "ovt-0fict0000000000000000000000000003"
    # A curated rebuild never drops the synced layer.
    assert dalil(capsys, "kb", "build")[0] == 0
    assert per_source(capsys)["osm"] == 9


def test_a_broken_snapshot_refuses_the_build_and_the_old_index_keeps_serving(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_osm_and_build(capsys)
    (env / "osm.json").write_text('{"layer": "osm", "data": {"elem', encoding="utf-8")
    code, _out, err = dalil(capsys, "kb", "build")
    assert code == 1
    assert "sync that layer again" in err
    assert per_source(capsys)["osm"] == 10


def test_nearest_pharmacy_from_fake_overpass_through_to_the_answer(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_osm_and_build(capsys)
    here = (21.5427, 39.1700)  # about 300 m north of the fictional pharmacy
    code, out, err = dalil(
        capsys, "ask", "اقرب صيدلية", "--lat", str(here[0]), "--lon", str(here[1]), "--json"
    )
    assert code == 0, err
    replies = json.loads(out)
    choices = next(r for r in replies if r["kind"] == "choices")
    first = choices["options"][0]
    assert first["title"] == "صيدلية الخيال التجريبية"
    assert first["payload"] == "place:osm-node-990000001"
    metres = distance_m(here, (21.54, 39.17))
    assert f"{round(metres / 10) * 10:.0f}" in first["description"]  # "300 م"
    assert "© OpenStreetMap contributors" in choices["text"]
    # Found by name too: the NLU gazetteer is built from the index, synced places included.
    code, out, err = dalil(capsys, "parse", "وين صيدلية الخيال التجريبية", "--json")
    assert code == 0, err
    entities = json.loads(out)["entities"]
    assert {"entity": "place", "value": "osm-node-990000001"}.items() <= entities[0].items()
    # "where is <named place>" is directions (DESIGN.md); the card is what "what about <place>" answers
    code, out, err = dalil(capsys, "ask", "وش تعرف عن صيدلية الخيال التجريبية", "--json")
    assert code == 0, err
    card = next(r for r in json.loads(out) if r["kind"] == "place_card")
    assert card["place_id"] == "osm-node-990000001"
    assert card["location"] == {"lat": 21.54, "lon": 39.17}  # its pin: directions to a named place
    assert "لم يراجعها محررونا بعد" in card["lines"][-1]
    # Its card, as the bot would send it: the source, the attribution and the editors' caveat.
    settings = Settings.load(REPO / "config.yml")
    store = KnowledgeService(settings).store(build_if_missing=False)
    place = store.get("osm-node-990000001")
    assert place is not None
    # The district geometry places it: its card names the district, "pharmacy in <district>" finds it.
    assert place.district is not None
    assert place.district == store.geo.district_at(21.54, 39.17)
    assert place.id in [p.id for p in store.matching("pharmacy", place.district)]
    now = datetime(2026, 11, 24, 20, 0, tzinfo=RIYADH)
    expected = {
        "ar": ("مفتوح الآن · يقفل الساعة \u206811:00 م\u2069", "لم يراجعها محررونا بعد"),
        "en": ("Open now · closes at 11:00 PM", "not yet checked by our editors"),
    }
    for lang, (status, caveat) in expected.items():
        card = Formatter(Texts.load(REPO / "data" / "responses"), store, lang).card(
            place, store.hours(place), now
        )
        assert card.lines[0] == status  # OSM opening_hours, parsed: "open now" works
        assert any("© OpenStreetMap contributors" in line and caveat in line for line in card.lines)
        assert card.location is not None
        assert (card.location.lat, card.location.lon) == (21.54, 39.17)


def test_listed_hours_that_do_not_parse_are_shown_as_listed_never_as_open_now(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_osm_and_build(capsys)
    store = KnowledgeService(Settings.load(REPO / "config.yml")).store(build_if_missing=False)
    cafe = store.get("osm-node-990000007")
    assert cafe is not None
    now = datetime(2026, 11, 24, 20, 0, tzinfo=RIYADH)
    card = Formatter(Texts.load(REPO / "data" / "responses"), store, "en").card(cafe, store.hours(cafe), now)
    assert "🕒 Hours as listed there (not checked): after the evening prayer until late" in card.lines
    assert not any(line.startswith(("Open", "Closed")) for line in card.lines)


def test_editor_promotes_a_synced_place_and_the_next_build_serves_it_once_as_curated(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data)
    monkeypatch.setenv("DALIL_DATA_DIR", str(data))
    assert dalil(capsys, "kb", "sync", "osm")[0] == 0
    code, out, _err = dalil(capsys, "kb", "build")
    assert "1 element(s) linked to curated places" in out  # the fixture's Red Sea Mall
    code, out, err = dalil(capsys, "kb", "import", "synced", "osm-node-990000001")
    assert code == 0, err
    promoted = next((data / "places").glob("import-synced-*.yml"))
    text = promoted.read_text(encoding="utf-8")
    assert "https://www.openstreetmap.org/node/990000001" in text
    assert "open_data" not in text
    assert dalil(capsys, "kb", "validate")[0] == 0
    code, out, err = dalil(capsys, "kb", "build")
    assert code == 0, err
    assert "2 element(s) linked to curated places" in out
    settings = Settings.load(REPO / "config.yml")
    store = KnowledgeService(settings).store(build_if_missing=False)
    pharmacy = store.get("osm-node-990000001")
    assert pharmacy is not None
    assert pharmacy.open_data is None  # served once, as the curated record
    assert [h.place.id for h in store.search("صيدلية الخيال التجريبية", limit=3)][:1] == [
        "osm-node-990000001"
    ]
    code, _out, err = dalil(capsys, "kb", "import", "synced", "red-sea-mall")
    assert code == 1
    assert "no synced place" in err


def test_overture_without_the_extra_says_how_to_get_it_and_keeps_the_layer(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    overture = str(FIXTURES / "overture_fictional.geojson")
    assert dalil(capsys, "kb", "sync", "overture", "--input", overture)[0] == 0
    before = (env / "overture.json").read_bytes()
    monkeypatch.setitem(sys.modules, "overturemaps", None)  # the `opendata` extra is not installed
    code, _out, err = dalil(capsys, "kb", "sync", "overture")
    assert code == 1
    assert "uv sync --extra opendata" in err
    assert "previous overture layer is kept" in err
    assert (env / "overture.json").read_bytes() == before
    assert sorted(p.name for p in env.iterdir()) == ["overture.json"]
