"""WhatsApp bad input: junk, oversized or unsigned bodies get a 4xx, never a 5xx; ``dalil whatsapp check``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.cli import main
from bot.http import create_http_app
from connectors.whatsapp import (
    read_webhook,
    signature,
)
from tests.connectors.conftest import HOOK, REPO, Harness
from tests.connectors.fake_whatsapp import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    FakeGraph,
    Webhooks,
    signed,
    whatsapp_env,
)

WA_ID = "966500000001"


# --- bad input --------------------------------------------------------------------------------------------


async def test_not_configured_answers_404(base_app: App) -> None:
    web = create_http_app(base_app, channels=("whatsapp",))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://dalil.test"
    ) as client:
        raw, headers = signed(Webhooks().text("مرحبا"))
        assert (await client.post(HOOK, content=raw, headers=headers)).status_code == 404
        assert (await client.get(HOOK, params={"hub.mode": "subscribe"})).status_code == 403


async def test_oversized_body_is_refused(wa: Harness) -> None:
    raw = b'{"object":"whatsapp_business_account","entry":[]}' + b" " * (3 * 1024 * 1024)
    response = await wa.client.post(
        HOOK, content=raw, headers={"X-Hub-Signature-256": signature(APP_SECRET, raw)}
    )
    assert response.status_code == 413

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: refused while reading
        for _ in range(5):
            yield b" " * (1024 * 1024)

    streamed = await wa.client.post(HOOK, content=chunked(), headers={"X-Hub-Signature-256": "sha256=00"})
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b'"text"',
        b'{"object":"page","entry":[]}',
        b'{"object":"whatsapp_business_account"}',
        b'{"object":"whatsapp_business_account","entry":{}}',
        b"\xff\xfe\x00",
        b"[" * 100_000,
    ],
)
async def test_junk_bodies_get_400(wa: Harness, raw: bytes) -> None:
    response = await wa.client.post(
        HOOK, content=raw, headers={"X-Hub-Signature-256": signature(APP_SECRET, raw)}
    )
    assert response.status_code == 400, response.text
    assert "error" in response.json()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=30,
)
_KEYS = st.sampled_from(["messages", "statuses", "contacts", "metadata", "id", "type", "text", "from"])


_VALUES = st.dictionaries(
    _KEYS, _JSON | st.lists(st.dictionaries(_KEYS, _JSON, max_size=5), max_size=3), max_size=5
)


def _shaped(value: Any, junk: Any) -> dict[str, Any]:
    """A webhook envelope with junk in its inner parts, as a broken or hostile sender might send."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "messages", "value": value}]}, junk],
    }


@given(value=_VALUES, junk=_JSON)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_reading_any_json_shape_never_raises(value: dict[str, Any], junk: Any) -> None:
    body = _shaped(value, junk)
    messages, statuses = read_webhook(body, PHONE_NUMBER_ID)
    assert all(m.wamid and m.sender.id for m in messages)
    assert all(s.wamid and s.status for s in statuses)


_SIGNED_JUNK = (
    st.binary(max_size=300)
    | st.builds(lambda value, junk: json.dumps(_shaped(value, junk)).encode(), _VALUES, _JSON)
    | _JSON.map(lambda value: json.dumps(value).encode())
)


@given(raw=_SIGNED_JUNK)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_any_signed_bytes_get_200_or_a_4xx_with_a_reason(wa: Harness, raw: bytes) -> None:
    headers = {"X-Hub-Signature-256": signature(APP_SECRET, raw), "Content-Type": "application/json"}
    response = await wa.client.post(HOOK, content=raw, headers=headers)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]
    await wa.settle()


async def test_any_junk_posted_gets_4xx_never_5xx(wa: Harness) -> None:
    samples = [
        _shaped({"messages": [{"id": 5, "from": None, "type": "text", "text": "x"}]}, 1),
        _shaped(
            {
                "messages": [
                    {"id": "wamid.x", "from": WA_ID, "type": "location", "location": {"latitude": "nan"}}
                ]
            },
            1,
        ),
        _shaped({"statuses": [{"id": "w", "status": "failed", "errors": [{"code": "x"}]}]}, None),
        {"object": "whatsapp_business_account", "entry": [None, 1, "x", {"changes": [None, {"value": []}]}]},
    ]
    for sample in samples:
        raw = json.dumps(sample).encode()
        response = await wa.client.post(
            HOOK, content=raw, headers={"X-Hub-Signature-256": signature(APP_SECRET, raw)}
        )
        assert response.status_code < 500
    await wa.settle()


# --- dalil whatsapp check -----------------------------------------------------------------------------------


async def test_check_reports_the_number_or_what_is_wrong(
    graph: tuple[FakeGraph, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = graph
    for name in (
        "WHATSAPP_TOKEN",
        "WHATSAPP_PHONE_NUMBER_ID",
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    config = str(REPO / "config.yml")
    assert await asyncio.to_thread(main, ["--config", config, "whatsapp", "check"]) == 2
    assert "WHATSAPP_TOKEN" in capsys.readouterr().err
    for name, value in whatsapp_env(url).items():
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(main, ["--config", config, "whatsapp", "check"]) == 0
    out = capsys.readouterr()
    assert "Dalil Jeddah" in out.out
    assert "GREEN" in out.out
    assert TOKEN not in out.out + out.err
    monkeypatch.setenv("WHATSAPP_TOKEN", "EAAG-expired")
    assert await asyncio.to_thread(main, ["--config", config, "whatsapp", "check"]) == 1
    assert "190" in capsys.readouterr().err
