"""The content editors' workflow: lint, preview, stale, import/export, review queues and hot reload.

Every command runs through ``bot.cli.main`` on a copy of the data in a temporary directory (the
bundled ``data/`` is never edited), and hot reload is exercised on a running app: a broken edit is
refused with its errors while answers continue from the old data, a good edit is served after it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from bot.admin import Reloader
from bot.app import App, build_app
from bot.cli import main
from bot.engine import Engine
from bot.http import create_http_app
from bot.records import Records, Sender, unanswered
from bot.state import MemoryStateStore
from bot.texts import Texts
from bot.turn import Services
from bot.types import Incoming, reply_to_dict
from knowledge.hours import RIYADH
from knowledge.loader import load_knowledge
from knowledge.store import Store
from nlu.types import Parse
from tests.bot.conftest import HOURS_PLACE, HOURS_PLACES, REPO, _settings
from tests.knowledge.conftest import write_data

TOKEN = "editor-test-token"
OSM = {
    "version": 0.6,
    "elements": [
        {
            "type": "node",
            "id": 1001,
            "lat": 21.5433,
            "lon": 39.1728,
            "timestamp": "2026-10-01T10:00:00Z",
            "tags": {
                "amenity": "pharmacy",
                "name": "صيدلية الاختبار",
                "name:en": "Test Pharmacy",
                "opening_hours": "Mo-Su 08:00-24:00",
                "phone": "012 234 5678",
                "website": "test-pharmacy.example",
            },
        },
        {
            "type": "way",
            "id": 2002,
            "center": {"lat": 21.5151, "lon": 39.1451},
            "tags": {"tourism": "attraction", "name": "نافورة الملك فهد", "name:en": "King Fahd's Fountain"},
        },
        {"type": "node", "id": 3003, "lat": 21.55, "lon": 39.17, "tags": {"amenity": "bench"}},
        {"type": "node", "id": 4004, "lat": 24.7, "lon": 46.7, "tags": {"amenity": "pharmacy", "name": "x"}},
    ],
}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """The bundled categories, districts, services and responses with a few places, to edit freely.

    The places are the knowledge tests' four plus the hours test café (small, so commands run fast).
    """
    copy = write_data(tmp_path, extra={"zz-hours-test.yml": HOURS_PLACES})
    for name in ("categories.yml", "districts.yml", "services.yml"):
        shutil.copy(REPO / "data" / name, copy / name)
    shutil.copytree(REPO / "data" / "responses", copy / "responses")
    return copy


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, data: Path, tmp_path: Path) -> Path:
    """Environment for ``dalil`` on the copy; returns the database file."""
    db = tmp_path / "dalil.db"
    monkeypatch.setenv("DALIL_DATA_DIR", str(data))
    monkeypatch.setenv("DALIL_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("DALIL_NOW", "2026-11-24T20:00:00")
    return db


def dalil(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--config", str(REPO / "config.yml"), *argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- kb lint ------------------------------------------------------------------------------------------


def test_lint_exits_0_on_warnings_and_1_on_errors(
    cli_env: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = dalil(capsys, "kb", "lint")
    assert code == 0
    assert "warning: (record): no phones" in out
    assert out.splitlines()[-1].startswith("0 error(s)")
    broken = data / "places" / "zz-hours-test.yml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("cafe]", "cafee]"), encoding="utf-8")
    code, out, _ = dalil(capsys, "kb", "lint", "--json")
    body = json.loads(out)
    assert code == 1
    assert body["errors"] == 1
    error = next(i for i in body["issues"] if i["level"] == "error")
    assert error["path"].endswith("zz-hours-test.yml")
    assert error["line"] == 5
    assert error["field"] == "categories[0]"
    assert "unknown category 'cafee'" in error["message"]


# --- kb preview ---------------------------------------------------------------------------------------


class _NoParser:
    """Button payloads never reach the NLU; this proves it."""

    name = "none"

    def parse(self, text: str) -> Parse:
        raise AssertionError(f"parsed {text!r}")


def test_preview_is_the_card_the_bot_sends(
    cli_env: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at = "2026-11-26T22:45:00"  # Thursday, 15 minutes before closing
    code, out, _ = dalil(capsys, "kb", "preview", HOURS_PLACE, "--at", at, "--json")
    assert code == 0
    shown = json.loads(out)
    store = Store.from_knowledge(load_knowledge(data).kb)
    # One in-memory database shared by every thread (the engine answers a turn in a worker thread).
    memory = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    records = Records(memory)
    services = Services(store, records, Texts.load(data / "responses"))
    moment = datetime.fromisoformat(at).replace(tzinfo=RIYADH)
    engine = Engine(services, _NoParser(), MemoryStateStore(), lambda: moment)
    for lang in ("ar", "en"):
        incoming = Incoming("test", f"preview-{lang}", payload=f"place:{HOURS_PLACE}", lang_hint=lang)
        sent = asyncio.run(engine.handle(incoming))
        assert json.loads(json.dumps([reply_to_dict(r) for r in sent], default=str)) == shown[lang]
    assert shown["en"][0]["title"] == "Hours Test Cafe"
    assert "11:00 PM" in shown["en"][0]["lines"][0]


def test_preview_shows_an_edit_before_it_is_built(
    cli_env: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cafe = data / "places" / "zz-hours-test.yml"
    cafe.write_text(
        cafe.read_text(encoding="utf-8").replace("Sa-Th 09:00-23:00", "Sa-Th 09:00-21:00"), encoding="utf-8"
    )
    code, out, _ = dalil(capsys, "kb", "preview", HOURS_PLACE, "--at", "2026-11-26T22:00", "--lang", "en")
    assert code == 0
    assert "Hours Test Cafe" in out
    assert "[ar]" not in out
    assert "Closed" in out  # 22:00 is past the edited closing time
    assert "zz-hours-test.yml:3" in out


def test_preview_of_a_broken_or_unknown_place(
    cli_env: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = dalil(capsys, "kb", "preview", "hours-test-caffe")
    assert code == 1
    assert f"did you mean: {HOURS_PLACE}" in err
    cafe = data / "places" / "zz-hours-test.yml"
    cafe.write_text(cafe.read_text(encoding="utf-8").replace("lat: 21.55", "lat: 2155"), encoding="utf-8")
    code, _, err = dalil(capsys, "kb", "preview", HOURS_PLACE)
    assert code == 1
    assert "zz-hours-test.yml:7: location: " in err
    assert "outside Jeddah" in err


# --- kb stale, feedback, unanswered ---------------------------------------------------------------------


def test_stale_ranks_by_questions_then_age(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = dalil(capsys, "kb", "stale")  # the bundled data was all verified recently
    assert out.strip() == "nothing older than 180 days"
    records = Records(create_engine(f"sqlite:///{cli_env}"))
    for _ in range(3):
        records.count_ask(HOURS_PLACE)
    records.count_ask("king-fahd-fountain")
    monkeypatch.setenv("DALIL_NOW", "2027-12-01T09:00:00")
    code, out, _ = dalil(capsys, "kb", "stale", "--json")
    rows = json.loads(out)
    assert code == 0
    assert [r["id"] for r in rows[:2]] == [HOURS_PLACE, "king-fahd-fountain"]
    assert rows[0]["asked"] == 3
    assert rows[0]["where"].endswith("zz-hours-test.yml:3")


def test_feedback_list_and_resolve(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = Records(create_engine(f"sqlite:///{cli_env}"))
    first = records.add_feedback(Sender("u1", "test"), HOURS_PLACE, "opening_hours", "closes at 10 now")
    records.add_feedback(Sender("u2", "test"), "king-fahd-fountain", "phones", "no phone")
    code, out, _ = dalil(capsys, "feedback", "list", "--json")
    rows = json.loads(out)
    assert code == 0
    assert {(r["place_id"], r["field"]) for r in rows} == {
        (HOURS_PLACE, "opening_hours"),
        ("king-fahd-fountain", "phones"),
    }
    code, out, _ = dalil(capsys, "feedback", "resolve", str(first), "--note", "hours updated")
    assert code == 0
    code, out, _ = dalil(capsys, "feedback", "list", "--json")
    assert [r["place_id"] for r in json.loads(out)] == ["king-fahd-fountain"]
    code, _, err = dalil(capsys, "feedback", "resolve", str(first))
    assert code == 1
    assert "no open feedback" in err


def test_undelivered_list_hides_the_number(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = Records(create_engine(f"sqlite:///{cli_env}"))
    records.add_undelivered(Sender("u1", "whatsapp"), "966500000001", "outside_window", 131047, "العفو!")
    code, out, _ = dalil(capsys, "undelivered", "list", "--json")
    (row,) = json.loads(out)
    assert code == 0
    assert (row["reason"], row["error_code"], row["text"]) == ("outside_window", 131047, "العفو!")
    assert "966500000001" not in out


def test_unanswered_grouped_by_similarity(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = Records(create_engine(f"sqlite:///{cli_env}"))
    sender = Sender("u", "test")
    for text in ("وين اقرب مغسلة سيارات", "وين أقرب مغسله سيارات؟", "اقرب مغسلة سيارات", "weather tomorrow"):
        records.add_unanswered(sender, text, "out_of_scope", 0.2, "ar")
    with records.engine.begin() as conn:  # one old question, before --since
        conn.execute(
            unanswered.insert().values(
                user_key="u",
                channel="test",
                text="how hot is it",
                intent="out_of_scope",
                confidence=0.1,
                lang="en",
                created_at=datetime(2026, 1, 1, tzinfo=RIYADH),
            )
        )
    code, out, _ = dalil(capsys, "unanswered", "--json")
    groups: list[dict[str, Any]] = json.loads(out)
    assert code == 0
    assert groups[0]["count"] == 3
    assert len(groups[0]["examples"]) == 3
    assert {g["text"] for g in groups[1:]} == {"weather tomorrow", "how hot is it"}
    code, out, _ = dalil(capsys, "unanswered", "--since", "2026-06-01", "--json")
    assert sum(g["count"] for g in json.loads(out)) == 4
    code, out, _ = dalil(capsys, "unanswered", "list", "--since", "2026-06-01")
    assert out.splitlines()[0].startswith("   3×")


# --- import / export ---------------------------------------------------------------------------------------


def test_import_osm_writes_a_review_file_and_skips_what_exists(
    cli_env: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "overpass.json"
    source.write_text(json.dumps(OSM, ensure_ascii=False), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in (data / "places").glob("*.yml")}
    code, out, _ = dalil(capsys, "kb", "import", "osm", str(source))
    assert code == 0
    assert "skipped way/2002 نافورة الملك فهد: looks like king-fahd-fountain" in out
    assert "skipped node/3003" in out
    assert "no coordinates inside Jeddah" in out
    written = data / "places" / "import-osm-20261124.yml"
    assert {p.name: p.read_bytes() for p in (data / "places").glob("*.yml") if p != written} == before
    text = written.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../schema/places.schema.json")
    for expected in (
        "id: test-pharmacy",
        "categories: [pharmacy]",
        "'+966122345678'",
        "https://test-pharmacy",
    ):
        assert expected in text
    # The imported file is valid data: validate passes, lint lists what to review.
    code, out, _ = dalil(capsys, "kb", "lint")
    assert code == 0
    assert "(in test-pharmacy)" in out
    # Importing again finds the reviewed records and changes nothing.
    code, out, _ = dalil(capsys, "kb", "import", "osm", str(source))
    assert code == 0
    assert "skipped node/1001 صيدلية الاختبار: already in the data as test-pharmacy" in out
    assert "nothing new to import" in out
    assert written.read_text(encoding="utf-8") == text


def test_import_geojson_and_export(
    cli_env: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feature = {
        "type": "Feature",
        "id": "node/1001",
        "geometry": {"type": "Point", "coordinates": [39.1728, 21.5433]},
        "properties": {"amenity": "pharmacy", "name": "صيدلية الاختبار", "name:en": "Test Pharmacy"},
    }
    source = tmp_path / "export.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    out_file = tmp_path / "review.yml"
    code, _, _ = dalil(capsys, "kb", "import", "osm", str(source), "--out", str(out_file))
    assert code == 0
    review = out_file.read_text(encoding="utf-8")
    assert "https://www.openstreetmap.org/node/1001" in review
    code, _, err = dalil(capsys, "kb", "import", "osm", str(source), "--out", str(out_file))
    assert code == 1  # an existing file is never overwritten
    assert "exists" in err
    assert out_file.read_text(encoding="utf-8") == review
    code, out, _ = dalil(capsys, "kb", "export", "geojson")
    collection = json.loads(out)
    assert code == 0
    by_id = {f["id"]: f for f in collection["features"]}
    assert by_id[HOURS_PLACE]["geometry"] == {"type": "Point", "coordinates": [39.16, 21.55]}
    assert by_id[HOURS_PLACE]["properties"]["name:ar"] == "مقهى الساعات"
    assert by_id[HOURS_PLACE]["properties"]["opening_hours"] == "Sa-Th 09:00-23:00; Fr 16:00-23:30"
    code, out, _ = dalil(capsys, "kb", "import", "osm", str(tmp_path / "missing.json"))
    assert code == 1


# --- hot reload -----------------------------------------------------------------------------------------


FOUNTAIN = "king-fahd-fountain"
FOUNTAIN_AT = "    location: {lat: 21.51556, lon: 39.145}\n"  # data/places/landmarks.yml, line 13


@pytest.fixture
def landmarks(tmp_path: Path) -> Path:
    """A copy of the bundled data (no extra places, so the session's trained model fits); its landmarks."""
    shutil.copytree(REPO / "data", tmp_path / "bundled")
    return tmp_path / "bundled" / "places" / "landmarks.yml"


def _add_hours(landmarks: Path, hours: str) -> None:
    text = (REPO / "data" / "places" / "landmarks.yml").read_text(encoding="utf-8")
    assert FOUNTAIN_AT in text
    landmarks.write_text(
        text.replace(FOUNTAIN_AT, f'{FOUNTAIN_AT}    opening_hours: "{hours}"\n'), encoding="utf-8"
    )


@pytest.fixture
async def live(landmarks: Path, tmp_path: Path, model_dir: Path) -> AsyncIterator[App]:
    data = landmarks.parents[1]
    settings = _settings(
        f"sqlite:///{tmp_path}/live.db", model_dir, DALIL_DATA_DIR=str(data), DALIL_ADMIN_TOKEN=TOKEN
    )
    app = await asyncio.to_thread(build_app, settings, MemoryStateStore())
    yield app
    app.knowledge.engine.dispose()


async def _card_lines(app: App, user: str) -> list[str]:
    replies = await app.engine.handle(Incoming("test", user, payload=f"place:{FOUNTAIN}", lang_hint="en"))
    card = reply_to_dict(replies[0])
    assert card["kind"] == "place_card"
    return list(card["lines"])


async def _answers_while(task: asyncio.Task[Any], app: App, user: str) -> list[list[str]]:
    """Ask about the fountain again and again until ``task`` is done: the answers given meanwhile."""
    answers: list[list[str]] = []
    while not task.done():
        answers.append(await _card_lines(app, f"{user}{len(answers)}"))
        await asyncio.sleep(0.01)
    return answers


async def test_reload_refuses_a_broken_edit_and_serves_a_good_one(live: App, landmarks: Path) -> None:
    api = create_http_app(live, channels=("rest",))
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.post("/admin/reload")).status_code == 403
        wrong = {"Authorization": "Bearer nope"}
        assert (await client.post("/admin/reload", headers=wrong)).status_code == 403
        before = await _card_lines(live, "u")
        assert "Hours not known" in before
        serving = live.store.info

        _add_hours(landmarks, "Mo-Su 16:00-25:99")
        reload = asyncio.create_task(client.post("/admin/reload", headers=auth))
        during = await _answers_while(reload, live, "a")
        response = reload.result()
        assert response.status_code == 422
        body = response.json()
        assert body["reloaded"] is False
        assert any("landmarks.yml:14: opening_hours:" in e for e in body["errors"]), body
        assert during
        assert all(lines == before for lines in during)  # answers continued, from the old data
        assert live.store.info == serving
        assert await _card_lines(live, "u") == before

        _add_hours(landmarks, "Mo-Su 16:00-23:00")
        reload = asyncio.create_task(client.post("/admin/reload", headers=auth))
        during = await _answers_while(reload, live, "b")
        response = reload.result()
        assert response.status_code == 200, response.text
        assert response.json()["reloaded"] is True
        assert during
        assert all(lines == before for lines in during)  # the swap happens only when the new data is ready
        after = await _card_lines(live, "u")
        assert any("11:00 PM" in line for line in after), after
        assert live.store.info is not None
        assert serving is not None
        assert live.store.info.build_id != serving.build_id


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGHUP on Windows")
async def test_sighup_reloads(live: App, landmarks: Path) -> None:
    reloader = Reloader(live)
    await reloader.on_sighup()()
    serving = live.store.info
    _add_hours(landmarks, "Mo-Su 16:00-20:00")
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(300):
            await asyncio.sleep(0.05)
            if live.store.info != serving:
                break
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
    assert live.store.info != serving
    assert any("8:00 PM" in line for line in await _card_lines(live, "h"))
