"""Fuzzing the channel webhooks: thousands of bad bodies, not one 5xx.

Each endpoint gets at least 2,000 generated requests: raw bytes, arbitrary JSON, bodies shaped like the
real thing with junk inside, texts with lone surrogates, bad or missing signatures and secrets. Every
answer must be a 200 (stored and handled) or a 4xx with a reason; the inbox must hold only what
was acknowledged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.http import create_http_app
from connectors.whatsapp import signature
from tests.connectors.conftest import HOOK, SECRET, Harness, app_for
from tests.connectors.fake_telegram import FakeTelegram
from tests.connectors.fake_whatsapp import APP_SECRET

pytestmark = pytest.mark.slow

EXAMPLES = 2000
_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_SURROGATE_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.sampled_from("وين abc 1"),
    max_size=12,
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)


def _whatsapp_message(wamid: Any, sender: Any, kind: Any, body: Any) -> dict[str, Any]:
    message = {"id": wamid, "from": sender, "type": kind, "timestamp": "1764600000"}
    if isinstance(kind, str):
        message[kind] = body
    return {
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "messages", "value": {"messages": [message]}}]}],
    }


_WHATSAPP_SHAPED = st.builds(
    _whatsapp_message,
    st.text(max_size=40) | st.integers() | st.none(),
    st.from_regex(r"9665\d{8}", fullmatch=True) | _JSON,
    st.sampled_from(["text", "location", "interactive", "button", "image", "reaction", "x"]) | _JSON,
    st.builds(lambda t: {"body": t}, _SURROGATE_TEXT) | _JSON,
)
_WHATSAPP_BODIES = (
    st.binary(max_size=200)
    | _JSON.map(lambda v: json.dumps(v).encode())
    | _WHATSAPP_SHAPED.map(lambda v: json.dumps(v).encode())  # ASCII, surrogates as \\udXXX escapes
)


@given(raw=_WHATSAPP_BODIES, signed=st.sampled_from(["good", "good", "good", "bad", "none"]))
@_SETTINGS
async def test_whatsapp_webhook_never_answers_5xx(wa: Harness, raw: bytes, signed: str) -> None:
    headers = {"Content-Type": "application/json"}
    if signed == "good":
        headers["X-Hub-Signature-256"] = signature(APP_SECRET, raw)
    elif signed == "bad":
        headers["X-Hub-Signature-256"] = signature("not-the-secret", raw)
    response = await wa.client.post(HOOK, content=raw, headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert response.json()["error"]
    else:
        assert signed == "good"
    await wa.settle()


@pytest.fixture
async def telegram_client(base_app: App, fake: tuple[FakeTelegram, str]) -> AsyncIterator[httpx.AsyncClient]:
    _api, url = fake
    web = create_http_app(app_for(base_app, url), channels=("telegram",))
    for start in web.router.on_startup:
        await start()
    try:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
            yield client
    finally:
        for stop in web.router.on_shutdown:
            await stop()


def _telegram_update(update_id: Any, text: Any, chat: Any, extra: Any) -> dict[str, Any]:
    message = {"message_id": 1, "date": 1764600000, "chat": chat, "text": text}
    return {"update_id": update_id, "message": message, **({"x": extra} if extra is not None else {})}


_TELEGRAM_SHAPED = st.builds(
    _telegram_update,
    st.integers(min_value=-(2**40), max_value=2**40) | _JSON,
    _SURROGATE_TEXT | _JSON,
    st.builds(lambda i: {"id": i, "type": "private"}, st.integers(min_value=1, max_value=2**40)) | _JSON,
    _JSON,
)
_TELEGRAM_BODIES = (
    st.binary(max_size=200)
    | _JSON.map(lambda v: json.dumps(v).encode())
    | _TELEGRAM_SHAPED.map(lambda v: json.dumps(v).encode())
)


@given(raw=_TELEGRAM_BODIES, secret=st.sampled_from([SECRET, SECRET, SECRET, "wrong", None]))
@_SETTINGS
async def test_telegram_webhook_never_answers_5xx(
    telegram_client: httpx.AsyncClient, raw: bytes, secret: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    response = await telegram_client.post("/webhooks/telegram", content=raw, headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert response.json()["error"]
    else:
        assert secret == SECRET
