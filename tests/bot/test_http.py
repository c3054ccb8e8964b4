"""The HTTP surface: ``/model/parse``, the Rasa REST channel, health, readiness, metrics and docs.

Driven in-process through httpx's ASGI transport on the same event loop as the app (so the Redis state
store's connections stay on their loop), against SQLite + memory state and PostgreSQL + Redis.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.engine import Engine
from bot.http import create_http_app
from bot.records import Records
from bot.state import MemoryStateStore

POST_ENDPOINTS = ("/model/parse", "/webhooks/rest/webhook")
REST = "/webhooks/rest/webhook"
REPLY_KEYS = {"recipient_id", "text", "buttons", "image", "custom", "attachment"}


@pytest.fixture
def api(app: App) -> FastAPI:
    return create_http_app(app, channels=("rest",))


@pytest.fixture
async def client(api: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
        yield client


def _assert_rest_shape(messages: Any, sender: str) -> None:
    assert isinstance(messages, list)
    assert messages, "every answered message gets at least one reply"
    for message in messages:
        assert set(message) <= REPLY_KEYS
        assert message["recipient_id"] == sender
        assert {"text", "image", "custom", "buttons"} & set(message)
        for button in message.get("buttons", []):
            assert button["title"]
            assert ("payload" in button) != ("url" in button)


# --- /model/parse ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "entity", "lang"),
    [
        ("وين نافورة الملك فهد", "directions", "place", "ar"),
        ("where is king fahd fountain", None, "place", "en"),
        ("مرحبا", "greet", None, "ar"),
    ],
)
async def test_parse_has_the_rasa_shape_plus_lang(
    client: httpx.AsyncClient, text: str, intent: str | None, entity: str | None, lang: str
) -> None:
    response = await client.post("/model/parse", json={"text": text})
    assert response.status_code == 200
    body = response.json()
    assert body["text"] == text
    assert body["lang"] == lang
    assert set(body["intent"]) >= {"name", "confidence"}
    assert 0.0 <= body["intent"]["confidence"] <= 1.0
    if intent is not None:
        assert body["intent"]["name"] == intent
    ranking = body["intent_ranking"]
    assert ranking[0]["name"] == body["intent"]["name"]
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    for found in body["entities"]:
        assert set(found) >= {"entity", "value", "start", "end", "confidence"}
        assert 0 <= found["start"] <= found["end"] <= len(text)
    if entity is not None:
        assert entity in {e["entity"] for e in body["entities"]}


async def test_parse_accepts_rasa_extras(client: httpx.AsyncClient) -> None:
    response = await client.post("/model/parse", json={"text": "hello", "message_id": "m1", "extra": [1]})
    assert response.status_code == 200
    assert response.json()["intent"]["name"] == "greet"


# --- REST channel -----------------------------------------------------------------------------------


async def test_rest_answers_a_place_question_with_a_card(client: httpx.AsyncClient) -> None:
    response = await client.post(REST, json={"sender": "widget-1", "message": "وش تعرف عن نافورة الملك فهد"})
    assert response.status_code == 200
    messages = response.json()
    _assert_rest_shape(messages, "widget-1")
    card = next(m for m in messages if m.get("custom", {}).get("type") == "place_card")
    assert card["custom"]["place_id"] == "king-fahd-fountain"
    assert "نافورة الملك فهد" in card["text"]


async def test_rest_greeting_offers_buttons_whose_payload_comes_back(client: httpx.AsyncClient) -> None:
    response = await client.post(REST, json={"sender": "widget-2", "message": "hi"})
    messages = response.json()
    _assert_rest_shape(messages, "widget-2")
    buttons = [b for m in messages for b in m.get("buttons", [])]
    assert buttons
    assert all("payload" in b for b in buttons)
    # A Rasa widget sends the tapped button's payload back as the message text.
    again = await client.post(REST, json={"sender": "widget-2", "message": buttons[0]["payload"]})
    assert again.status_code == 200
    _assert_rest_shape(again.json(), "widget-2")


async def test_rest_nearest_uses_the_location_in_metadata(client: httpx.AsyncClient) -> None:
    asked = await client.post(REST, json={"sender": "widget-3", "message": "nearest pharmacy"})
    assert asked.status_code == 200
    request = [m for m in asked.json() if m.get("custom", {}).get("type") == "request_location"]
    assert request, asked.json()
    shared = await client.post(
        REST,
        json={
            "sender": "widget-3",
            "message": "",
            "metadata": {"location": {"lat": 21.5433, "lon": 39.1728}},
        },
    )
    assert shared.status_code == 200
    _assert_rest_shape(shared.json(), "widget-3")
    assert not [m for m in shared.json() if m.get("custom", {}).get("type") == "request_location"]


async def test_rest_follow_up_uses_context_per_sender(client: httpx.AsyncClient) -> None:
    await client.post(REST, json={"sender": "a", "message": "where is king fahd fountain"})
    follow = await client.post(REST, json={"sender": "a", "message": "what is their phone number"})
    assert follow.status_code == 200
    assert "Fahd" in json.dumps(follow.json(), ensure_ascii=False)
    other = await client.post(REST, json={"sender": "b", "message": "what is their phone number"})
    assert other.status_code == 200
    assert "Fahd" not in json.dumps(other.json(), ensure_ascii=False)


async def test_rest_drops_nul_characters(client: httpx.AsyncClient) -> None:
    response = await client.post(REST, json={"sender": "nul", "message": "hello\x00 there\x00"})
    assert response.status_code == 200
    _assert_rest_shape(response.json(), "nul")


async def test_rest_language_hint_in_metadata(client: httpx.AsyncClient) -> None:
    response = await client.post(REST, json={"sender": "c", "message": "", "metadata": {"language": "en"}})
    assert response.status_code == 200
    text = " ".join(m.get("text", "") for m in response.json())
    assert re.search(r"[A-Za-z]{4}", text)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"sender": "x", "message": 5}, "message"),
        ({"sender": 7, "message": "hi"}, "sender"),
        ({"sender": "", "message": "hi"}, "sender"),
        ({"sender": "a\x00b", "message": "hi"}, "sender"),
        ({"sender": "x", "message": "hi", "metadata": []}, "metadata"),
        ({"sender": "x", "message": "hi", "metadata": {"location": {"lat": 91, "lon": 0}}}, "lat"),
        ({"sender": "x", "message": "hi", "metadata": {"location": {"lat": "north"}}}, "lat"),
        ({"sender": "x", "message": "a" * 100_001}, "message"),
        ([{"sender": "x", "message": "hi"}], "body"),
    ],
)
async def test_rest_bad_bodies_name_the_field(client: httpx.AsyncClient, body: Any, where: str) -> None:
    response = await client.post(REST, json=body)
    assert response.status_code == 422
    reply = response.json()
    assert reply["error"] == "invalid request"
    assert any(where in map(str, d["loc"]) for d in reply["details"]), reply


# --- ops --------------------------------------------------------------------------------------------


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert body["checks"] == {"knowledge": True, "nlu": True, "database": True, "state": True}


def _sample(metrics: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_metrics_move_after_a_turn(client: httpx.AsyncClient) -> None:
    before = await client.get("/metrics")
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    assert "# TYPE dalil_turns_total counter" in before.text
    turns = _sample(before.text, "dalil_turns_total", channel="rest")
    latency = _sample(before.text, "dalil_turn_seconds_count", channel="rest")
    parses = _sample(before.text, "dalil_parses_total")

    await client.post(REST, json={"sender": "m", "message": "مرحبا"})
    await client.post("/model/parse", json={"text": "مرحبا"})

    after = (await client.get("/metrics")).text
    assert _sample(after, "dalil_turns_total", channel="rest") == turns + 1
    assert _sample(after, "dalil_turns_total", channel="rest", intent="greet") >= 1
    assert _sample(after, "dalil_turn_seconds_count", channel="rest") == latency + 1
    assert _sample(after, "dalil_parses_total") == parses + 1


async def test_openapi_documents_the_endpoints(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path in (*POST_ENDPOINTS, "/healthz", "/readyz", "/metrics"):
        assert path in schema["paths"], path
    assert "post" in schema["paths"][REST]
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


# --- fuzz: never a 5xx ------------------------------------------------------------------------------

_KEYS = st.sampled_from(["sender", "message", "metadata", "text", "location", "lat", "lon", "language"])
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±Infinity too: json.dumps writes them and the server's JSON reader accepts them
    | st.text(max_size=40)
    | st.sampled_from(["", "/place:king-fahd-fountain", "say:hi", "wrong:x", "مرحبا", "١٢", "\x00"])
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(_KEYS | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=12,
)
_BODIES = (
    _JSON
    | st.fixed_dictionaries(
        {"sender": _JSON, "message": _JSON},
        optional={"metadata": _JSON | st.fixed_dictionaries({"location": _JSON, "language": _JSON})},
    )
    | st.fixed_dictionaries({"text": _JSON}, optional={"message_id": _JSON})
)

_CONTENT_TYPES = st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]
)
_RAW = (
    st.binary(max_size=200)
    | st.sampled_from(
        [b"", b"{", b"[" * 5000, b'{"text": "\xff"}', b'{"sender": "a", "message": "\\ud800"}', b"null"]
    )
    | _BODIES.map(lambda body: json.dumps(body).encode())
)

_FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _check_not_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        reason = response.json()
        assert reason.get("error") or reason.get("detail"), reason


@_FUZZ
@given(body=_BODIES, path=st.sampled_from(POST_ENDPOINTS))
async def test_any_json_body_is_answered_or_refused_with_a_reason(
    client: httpx.AsyncClient, body: Any, path: str
) -> None:
    response = await client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
    await _check_not_5xx(response)


@_FUZZ
@given(raw=_RAW, content_type=_CONTENT_TYPES, path=st.sampled_from(POST_ENDPOINTS))
async def test_any_bytes_with_any_content_type_is_never_a_5xx(
    client: httpx.AsyncClient, raw: bytes, content_type: str, path: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(path, content=raw, headers=headers)
    await _check_not_5xx(response)


@_FUZZ
@given(
    sender=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=256),
    message=st.text(max_size=300),
    location=st.none()
    | st.fixed_dictionaries(
        {"lat": st.floats(min_value=-90, max_value=90), "lon": st.floats(min_value=-180, max_value=180)}
    ),
)
async def test_valid_rest_bodies_are_answered(
    client: httpx.AsyncClient, sender: str, message: str, location: dict[str, float] | None
) -> None:
    body: dict[str, Any] = {"sender": sender, "message": message}
    if location is not None:
        body["metadata"] = {"location": location}
    response = await client.post(REST, json=body)
    assert response.status_code == 200, response.text
    messages = response.json()
    assert isinstance(messages, list)
    for item in messages:
        assert set(item) <= REPLY_KEYS
        assert item["recipient_id"] == sender


@_FUZZ
@given(text=st.text(max_size=300))
async def test_valid_parse_bodies_are_answered(client: httpx.AsyncClient, text: str) -> None:
    response = await client.post("/model/parse", json={"text": text})
    assert response.status_code == 200, response.text
    assert response.json()["text"] == text


@pytest.mark.parametrize("size", [2_000_000])
async def test_huge_bodies_are_refused(client: httpx.AsyncClient, size: int) -> None:
    for path in POST_ENDPOINTS:
        response = await client.post(path, json={"sender": "h", "message": "a" * size, "text": "a" * size})
        assert response.status_code in (413, 422)


async def test_buffered_ask_counts_are_written_when_the_server_stops(app: App) -> None:
    records = Records(app.knowledge.engine)
    records.buffer_asks(3600)  # as `dalil serve` does, with a flush far away
    services = replace(app.engine.services, records=records)
    engine = Engine(services, app.parser, MemoryStateStore(), app.clock)
    served = create_http_app(replace(app, records=records, engine=engine), channels=("rest",))
    before = Records(app.knowledge.engine).ask_counts().get("al-balad", 0)
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
        for sender in ("a", "b"):
            response = await client.post(REST, json={"sender": sender, "message": "وين البلد"})
            assert "البلد" in response.json()[0]["text"]
    assert Records(app.knowledge.engine).ask_counts().get("al-balad", 0) == before
    for stop in served.router.on_shutdown:
        await stop()
    assert Records(app.knowledge.engine).ask_counts().get("al-balad", 0) == before + 2
