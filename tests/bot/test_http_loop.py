"""The HTTP app never blocks its event loop on a slow parse, and says "try again" when the NLU is down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlalchemy import event

from bot.app import App
from bot.http import create_http_app
from nlu.rasa_http import RasaHttpParser
from nlu.types import Parse, Parser

SLOW_S = 1.0


class _SlowParser:
    """A parser that takes a second (a Rasa server under load, a cold model), then answers as before."""

    def __init__(self, inner: Parser) -> None:
        self.inner = inner
        self.name = inner.name

    def parse(self, text: str) -> Parse:
        time.sleep(SLOW_S)
        return self.inner.parse(text)


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    app.parser = _SlowParser(app.parser)
    transport = httpx.ASGITransport(app=create_http_app(app, channels=("rest",)))
    async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
        yield client


async def test_health_is_answered_while_a_parse_is_slow(client: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    parse = asyncio.create_task(client.post("/model/parse", json={"text": "وين نافورة الملك فهد"}))
    await asyncio.sleep(0.1)  # the parse is now under way
    health = await client.get("/healthz")
    waited_s = time.perf_counter() - started
    assert health.status_code == 200
    assert waited_s < SLOW_S / 2, f"/healthz waited {waited_s:.2f} s behind a slow parse"
    parsed = await parse
    assert parsed.status_code == 200
    assert parsed.json()["entities"][0]["value"] == "king-fahd-fountain"


async def test_a_rasa_server_down_is_a_retry_later_and_counted(app: App) -> None:
    app.parser = RasaHttpParser("http://127.0.0.1:9", timeout_s=0.3)
    transport = httpx.ASGITransport(app=create_http_app(app, channels=("rest",)))
    async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
        response = await client.post("/model/parse", json={"text": "متى يسكر رد سي مول"})
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "try again" in response.json()["error"]
    assert 'dalil_nlu_failures_total{channel="model_parse"} 1.0' in metrics


async def test_a_rasa_server_down_gets_a_polite_try_again_on_the_rest_channel(app: App) -> None:
    app.swap(app.store, RasaHttpParser("http://127.0.0.1:9", timeout_s=0.3))
    transport = httpx.ASGITransport(app=create_http_app(app, channels=("rest",)))
    async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
        english = await client.post(
            "/webhooks/rest/webhook",
            json={
                "sender": "down-1",
                "message": "when does red sea mall close",
                "metadata": {"language": "en"},
            },
        )
        arabic = await client.post("/webhooks/rest/webhook", json={"sender": "down-2", "message": "متى يسكر"})
        metrics = (await client.get("/metrics")).text
    assert english.status_code == 200
    assert arabic.status_code == 200
    assert [m["text"] for m in english.json()] == [
        "Sorry, I can't read messages right now. Please try again in a minute."
    ]
    assert "جرّب ترسلها مرة ثانية" in arabic.json()[0]["text"]
    assert 'dalil_nlu_failures_total{channel="rest"} 2.0' in metrics


class _SlowServer(_SlowParser):
    """A parser that asks a server (it has ``aparse``, as Rasa's does) and the server is slow."""

    async def aparse(self, text: str) -> Parse:
        await asyncio.sleep(SLOW_S)
        return self.inner.parse(text)


async def _meanwhile(
    app: App, slow: str, other: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
) -> tuple[httpx.Response, httpx.Response, float]:
    """Send ``slow`` (REST), then ``other`` 0.1 s later: both answers, and how long ``other`` took."""
    transport = httpx.ASGITransport(app=create_http_app(app, channels=("rest",)))
    async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
        started = time.perf_counter()
        turn = asyncio.create_task(
            client.post("/webhooks/rest/webhook", json={"sender": "slow-1", "message": slow})
        )
        await asyncio.sleep(0.1)  # the slow turn is now under way
        meanwhile = await other(client)
        waited_s = time.perf_counter() - started
        return await turn, meanwhile, waited_s


async def test_health_is_answered_while_a_conversation_waits_for_a_slow_nlu_server(app: App) -> None:
    app.swap(app.store, _SlowServer(app.parser))
    answered, health, waited_s = await _meanwhile(
        app, "وين نافورة الملك فهد", lambda client: client.get("/healthz")
    )
    assert health.status_code == 200
    assert waited_s < SLOW_S / 2, f"/healthz waited {waited_s:.2f} s behind a slow turn"
    assert answered.status_code == 200
    assert any("نافورة" in (m.get("text") or "") for m in answered.json())


async def test_another_conversation_is_answered_while_the_database_is_slow_to_store_a_handoff(
    app: App,
) -> None:
    """A hand-off, a report, feedback or an unanswered question is written off the event loop."""
    engine = app.records.engine

    def slow_insert(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO DALIL_"):
            time.sleep(SLOW_S)  # a database under load: every write takes a second

    def ask(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        message = {"sender": "slow-db-2", "message": "وين نافورة الملك فهد"}
        return client.post("/webhooks/rest/webhook", json=message)

    event.listen(engine, "before_cursor_execute", slow_insert)
    started = time.perf_counter()
    try:
        stored, other, waited_s = await _meanwhile(app, "ابي اكلم موظف", ask)
    finally:
        event.remove(engine, "before_cursor_execute", slow_insert)
    assert waited_s < SLOW_S / 2 + 0.1, f"another conversation waited {waited_s:.2f} s behind a slow write"
    assert any("نافورة" in (m.get("text") or "") for m in other.json())
    ref = stored.json()[0]["text"]
    assert time.perf_counter() - started >= SLOW_S, "the hand-off was answered before it was stored"
    rows = app.records.list_table("handoffs")
    assert any(row["ref"] in ref for row in rows), f"no stored hand-off is named in {ref!r}"
