"""Never lose a message, never send one twice: fault injection against the fake Graph and Bot APIs.

What a person would notice: an answer that arrives twice after a slow network (a read timeout after the
message went), an answer lost because the database hiccupped, a backlog that makes a restart hang.
Each test breaks one thing and checks what reached the fake API and what the inbox and the
undelivered queue hold.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import httpx
from sqlalchemy import text

from bot.app import App
from bot.inbox import metadata as inbox_tables
from bot.state import user_key
from connectors.telegram import TelegramChannel
from tests.connectors.conftest import HOOK, Harness, Polling, app_for
from tests.connectors.fake_telegram import FakeTelegram, Updates
from tests.connectors.fake_whatsapp import encode, sign


def _chat() -> int:
    """A chat of its own: the review queues are shared by the tests."""
    return 10_000 + secrets.randbelow(10**8)


def _drop(app: App, table: str) -> None:
    with app.inbox.engine.begin() as conn:
        conn.execute(text(f"drop table {table}"))


def _restore(app: App) -> None:
    inbox_tables.create_all(app.inbox.engine)


def _undelivered(app: App, channel: str, user_id: str) -> list[dict[str, Any]]:
    key = user_key(channel, user_id)
    rows = app.records.list_table("undelivered", open_only=False)
    return [row for row in rows if row["user_key"] == key]


# --- WhatsApp -------------------------------------------------------------------------------------------


async def test_whatsapp_read_timeout_after_the_send_is_not_repeated(wa: Harness) -> None:
    await wa.channel.api.close()
    wa.channel.api.timeout_s = 0.3
    wa.api.late_s = 0.6  # Graph carries the message out, then answers too late
    payload = wa.hooks.text("شكرا")
    await wa.deliver(payload)
    await wa.settle()
    wa.api.late_s = 0
    assert len(wa.api.sent("text", to=wa.wa_id)) == 1  # it went once, and only once
    (kept,) = wa.rows("undelivered")
    assert kept["reason"] == "delivery_unknown"
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert wa.app.inbox.status("whatsapp", wamid) == "parked"


async def test_whatsapp_exhausted_retries_park_the_answer_and_the_message(wa: Harness) -> None:
    wa.api.fail(status=503, times=50, kind="text")
    payload = wa.hooks.text("شكرا")
    await wa.deliver(payload)
    await wa.settle()
    assert len(wa.api.failed()) == wa.channel.retries + 1
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert wa.app.inbox.status("whatsapp", wamid) == "parked"


async def test_whatsapp_a_replayed_message_sends_only_what_did_not_go(wa: Harness) -> None:
    payload = wa.hooks.text("وين روشان مول")
    await wa.deliver(payload)
    await wa.settle()
    first = len(wa.api.sent(to=wa.wa_id))
    assert first >= 2  # a card and its pin
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    with wa.app.inbox.engine.begin() as conn:  # as if the process died before marking it answered
        conn.execute(
            text("update dalil_inbox set status='new', claimed_at=null where message_id=:m"), {"m": wamid}
        )
        conn.execute(text("delete from dalil_outbox where reply_id like :r"), {"r": f"whatsapp:{wamid}:1"})
    assert await wa.channel.replay() == 1
    await wa.settle()
    assert len(wa.api.sent(to=wa.wa_id)) == first + 1  # only the part with no record went again
    assert wa.app.inbox.status("whatsapp", wamid) == "answered"


async def test_whatsapp_redelivery_of_a_stored_message_is_answered_once(wa: Harness) -> None:
    payload = wa.hooks.text("شكرا")
    await wa.deliver(payload)
    await wa.settle()
    wa.channel.memory._local.clear()  # another worker, no Redis: only the inbox knows
    assert (await wa.deliver(payload)).status_code == 200
    await wa.settle()
    assert len(wa.api.sent("text", to=wa.wa_id)) == 1


async def test_whatsapp_database_down_at_the_webhook_asks_meta_to_deliver_again(wa: Harness) -> None:
    _drop(wa.app, "dalil_inbox")
    try:
        response = await wa.deliver(wa.hooks.text("شكرا"))
        assert response.status_code == 503
        await wa.api.quiet(0.2)
        assert wa.api.sent(to=wa.wa_id) == []
    finally:
        _restore(wa.app)
    assert (await wa.deliver(wa.hooks.text("شكرا"))).status_code == 200
    await wa.settle()
    assert len(wa.api.sent("text", to=wa.wa_id)) == 1


async def test_whatsapp_database_lost_mid_turn_gets_a_polite_reply_and_keeps_the_message(wa: Harness) -> None:
    _drop(wa.app, "dalil_outbox")
    payload = wa.hooks.text("وين البلد")
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    try:
        assert (await wa.deliver(payload)).status_code == 200
        await wa.settle()
        (sorry,) = wa.api.sent("text", to=wa.wa_id)
        expected = wa.app.engine.services.texts.get("ar", "temporarily_unavailable")
        assert sorry.body["text"]["body"] == expected
        assert wa.app.inbox.status("whatsapp", wamid) == "new"  # kept for the replay
    finally:
        _restore(wa.app)
    wa.app.inbox.lease_s = 0
    assert await wa.channel.replay() == 1
    await wa.settle()
    assert any("البلد" in (c.text or "") for c in wa.api.sent(to=wa.wa_id))
    assert wa.app.inbox.status("whatsapp", wamid) == "answered"


async def test_whatsapp_lone_surrogate_in_a_signed_text_is_answered_and_stored(wa: Harness) -> None:
    payload = wa.hooks.text("what is the capital of australia \ud83d")  # half a surrogate pair
    raw = encode(payload)
    assert b"\\ud83d" in raw
    response = await wa.client.post(HOOK, content=raw, headers={"X-Hub-Signature-256": sign(raw)})
    assert response.status_code == 200
    await wa.settle()
    assert wa.api.sent("text", to=wa.wa_id) or wa.api.sent("interactive", to=wa.wa_id)
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert wa.app.inbox.status("whatsapp", wamid) == "answered"
    asked = [r["text"] for r in wa.app.records.unanswered_since() if "capital of australia" in r["text"]]
    assert asked  # the unanswered log kept it,
    assert "\ufffd" in asked[0]  # with the broken half replaced


async def test_whatsapp_lone_surrogate_reaches_the_undelivered_queue(wa: Harness) -> None:
    wa.api.delay_s = 1.0
    wa.channel.drain_s = 0.05
    raw = encode(wa.hooks.text("وين \udc00 البلد"))
    await wa.client.post(HOOK, content=raw, headers={"X-Hub-Signature-256": sign(raw)})
    await asyncio.sleep(0.05)
    await wa.channel.shutdown()
    (kept,) = wa.rows("undelivered")
    assert kept["reason"] == "not_answered_shutdown"
    assert kept["text"] == "وين \ufffd البلد"


# --- Telegram -------------------------------------------------------------------------------------------


async def test_telegram_read_timeout_after_the_send_is_not_repeated(
    base_app: App, fake: tuple[FakeTelegram, str]
) -> None:
    api, url = fake
    app = app_for(base_app, url)
    channel = TelegramChannel(app, backoff_s=0.01, poll_timeout_s=1, read_timeout_s=0.3)
    stop = asyncio.Event()
    task = asyncio.create_task(channel.poll(stop))
    try:
        api.delay("sendMessage", 0.8)  # Telegram sends it, then answers too late
        chat = _chat()
        update = Updates().message("شكرا", chat_id=chat, user_id=chat)
        api.push(update)
        await api.wait_for(lambda: bool(_undelivered(app, "telegram", str(chat))), 10, "parked")
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert len(api.attempts("sendMessage")) == 1  # delivered once, never sent again
    (kept,) = _undelivered(app, "telegram", str(chat))
    assert kept["reason"] == "delivery_unknown"
    assert app.inbox.status("telegram", str(update["update_id"])) == "parked"


async def test_telegram_exhausted_retries_keep_the_answer(polling: Polling) -> None:
    api = polling.api
    api.fail("sendMessage", status=502, times=50)
    chat = _chat()
    update = polling.updates.message("شكرا", chat_id=chat, user_id=chat)
    api.push(update)
    await api.wait_for(lambda: bool(_undelivered(polling.app, "telegram", str(chat))), 10, "parked")
    assert len(api.attempts("sendMessage")) == polling.channel.retries + 1
    (kept,) = _undelivered(polling.app, "telegram", str(chat))
    assert kept["reason"].startswith("error:")
    assert kept["text"]
    await api.wait_for(lambda: polling.app.inbox.status("telegram", str(update["update_id"])) == "parked")


async def test_telegram_polling_stores_before_it_confirms_an_update(polling: Polling) -> None:
    api = polling.api
    _drop(polling.app, "dalil_inbox")
    chat = _chat()
    update = polling.updates.message("شكرا", chat_id=chat, user_id=chat)
    try:
        api.push(update)
        await api.wait_for(lambda: len(api.attempts("getUpdates")) >= 3, 10, "polls")
        await asyncio.sleep(0.3)
        assert api.sent("sendMessage") == []
        assert update in api.pending  # not confirmed: Telegram still holds it
    finally:
        _restore(polling.app)
    (reply,) = await api.wait_sent("sendMessage")
    assert str(reply.params["chat_id"]) == str(chat)
    assert polling.app.inbox.status("telegram", str(update["update_id"])) is not None


async def test_telegram_webhook_answers_503_when_nothing_can_be_stored(base_app: App, fake: Any) -> None:
    from bot.http import create_http_app
    from tests.connectors.conftest import SECRET

    api, url = fake
    app = app_for(base_app, url)
    web = create_http_app(app, channels=("telegram",))
    for start in web.router.on_startup:
        await start()
    try:
        _drop(app, "dalil_inbox")
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
            right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            response = await client.post("/webhooks/telegram", json=Updates().message("شكرا"), headers=right)
            assert response.status_code == 503
    finally:
        _restore(app)
        for stop in web.router.on_shutdown:
            await stop()
    assert api.sent("sendMessage") == []


async def test_telegram_stop_with_a_backlog_is_quick_and_the_rest_is_answered_after_restart(
    base_app: App, fake: tuple[FakeTelegram, str]
) -> None:
    api, url = fake
    app = app_for(base_app, url)
    updates = Updates()
    backlog = [updates.message(f"شكرا {n}") for n in range(150)]
    for update in backlog:  # one chat: its updates are answered one after another
        api.push(update)
    api.delay("sendMessage", 0.1, times=150)
    channel = TelegramChannel(app, backoff_s=0.01, poll_timeout_s=1)
    stop = asyncio.Event()
    task = asyncio.create_task(channel.poll(stop))
    await api.wait_sent("sendMessage", 3)
    stopped_at = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 15)
    assert time.monotonic() - stopped_at <= 10
    answered_first = len(api.sent("sendMessage"))
    assert answered_first < len(backlog)
    counts = app.inbox.counts("telegram")
    assert counts.get("new", 0) == len(backlog) - counts.get("answered", 0)

    api.slow.clear()
    again = TelegramChannel(app, backoff_s=0.01, poll_timeout_s=1)
    stop = asyncio.Event()
    task = asyncio.create_task(again.poll(stop))
    try:
        await api.wait_for(lambda: len(api.sent("sendMessage")) >= len(backlog), 30, "the whole backlog")
        await asyncio.sleep(0.3)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    texts = [c.params["text"] for c in api.sent("sendMessage")]
    assert len(texts) == len(backlog)  # each answered once: nothing lost, nothing twice
    assert app.inbox.counts("telegram") == {"answered": len(backlog)}
