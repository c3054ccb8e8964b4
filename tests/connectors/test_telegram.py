"""The Telegram channel end to end: real python-telegram-bot against a local fake Bot API server.

Updates reach the channel by long polling (``dalil telegram``) or the webhook (``dalil serve``); every
reply is checked as the fake server received it on the wire.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import replace
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from telegram import Update

from bot.app import App
from bot.http import create_http_app
from bot.types import Button, Choice, Choices, PlaceCard, QuickButtons, Reply, RequestLocation
from connectors.telegram import ALLOWED_UPDATES, TelegramChannel, callback_data, set_webhook
from tests.conftest import REDIS_URL
from tests.connectors.conftest import SECRET, Polling, app_for
from tests.connectors.fake_telegram import BOT_ID, BOT_USERNAME, TOKEN, FakeTelegram, Updates

CHAT = 4242
GROUP = -1001234


def _buttons(call: Any) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


async def test_arabic_question_gets_place_card_and_venue(polling: Polling) -> None:
    api = polling.api
    api.push(polling.updates.message("وش تعرف عن روشان مول"))
    (card,) = await api.wait_sent("sendMessage")
    (venue,) = await api.wait_sent("sendVenue")
    assert card.params["parse_mode"] == "HTML"
    assert card.params["text"].startswith("<b>روشان مول</b>\n")
    buttons = _buttons(card)
    assert any(b.get("url", "").startswith("https://www.google.com/maps") for b in buttons)
    assert {"text": "المعلومة غلط", "callback_data": "wrong:roshan-mall"} in buttons
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons if "callback_data" in b)
    assert venue.params["title"] == "روشان مول"
    assert float(venue.params["latitude"]) == pytest.approx(21.66511)
    assert api.sent("sendChatAction")[0].params["action"] == "typing"
    assert api.sent("sendLocation") == []  # the engine's pin is the venue, sent once


async def test_place_without_address_gets_a_location_pin(polling: Polling) -> None:
    polling.api.push(polling.updates.message("وين رد سي مول"))
    (pin,) = await polling.api.wait_sent("sendLocation")
    assert float(pin.params["longitude"]) == pytest.approx(39.10996)


async def test_location_gets_nearest_list_and_a_choice_opens_the_card(polling: Polling) -> None:
    api, updates = polling.api, polling.updates
    api.push(updates.location(21.5433, 39.1728))
    (listing,) = await api.wait_sent("sendMessage")
    buttons = _buttons(listing)
    expected = polling.app.store.nearest(21.5433, 39.1728, limit=len(buttons))
    assert [b["callback_data"] for b in buttons] == [f"place:{hit.place.id}" for hit in expected]
    api.push(updates.callback(buttons[0]["callback_data"]))
    await api.wait_sent("answerCallbackQuery")
    cards = await api.wait_sent("sendMessage", 2)
    assert cards[1].params["parse_mode"] == "HTML"


async def test_callback_button_gets_follow_up_and_stale_button_is_answered(polling: Polling) -> None:
    api, updates = polling.api, polling.updates
    api.push(updates.callback("wrong:red-sea-mall"))
    (answer,) = await api.wait_sent("answerCallbackQuery")
    (follow_up,) = await api.wait_sent("sendMessage")
    assert "رد سي مول" in follow_up.params["text"]
    assert "text" not in answer.params
    api.push(updates.callback("k:no-such-key"))
    answers = await api.wait_sent("answerCallbackQuery", 2)
    assert answers[1].params["text"] == "هذا الزر قديم، اسألني من جديد."
    await asyncio.sleep(0.1)
    assert len(api.sent("sendMessage")) == 1


async def test_live_location_updates_are_used_silently(polling: Polling) -> None:
    api, updates, store = polling.api, polling.updates, polling.app.store
    north, south = (21.7600, 39.1200), (21.4850, 39.1900)
    near_north = store.nearest(*north, category="hospital", limit=1)
    near_south = store.nearest(*south, category="hospital", limit=1)
    assert near_north
    assert near_south
    assert near_north[0].place.id != near_south[0].place.id
    live = updates.location(*north, live_period=900)
    api.push(live)
    await api.wait_sent("sendMessage")
    api.push(updates.edited_location(live, *south))
    api.push(updates.message("أقرب مستشفى"))
    replies = await api.wait_sent("sendMessage", 2)
    assert len(replies) == 2  # the edit itself is not answered
    assert _buttons(replies[1])[0]["callback_data"] == f"place:{near_south[0].place.id}"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_on_send_is_delivered_once_after_retry(polling: Polling) -> None:
    api = polling.api
    api.fail("sendMessage", status=429, retry_after=1)
    api.push(polling.updates.message("مرحبا"))
    await api.wait_sent("sendMessage")
    await asyncio.sleep(0.1)
    assert [c.ok for c in api.attempts("sendMessage")] == [False, True]


async def test_network_error_is_retried_and_a_refused_send_does_not_stop_the_loop(
    polling: Polling, caplog: pytest.LogCaptureFixture
) -> None:
    api, updates = polling.api, polling.updates
    api.fail("sendMessage", status=502, times=2)
    api.push(updates.message("مرحبا"))
    await api.wait_sent("sendMessage")
    assert [c.ok for c in api.attempts("sendMessage")] == [False, False, True]
    api.fail("sendMessage", status=400)
    refused = updates.message("مرحبا")
    api.push(refused)
    api.push(updates.message("شكرا"))
    await api.wait_sent("sendMessage", 2)
    failed = [r for r in caplog.records if r.getMessage() == "telegram_send_failed"]
    assert failed
    assert failed[-1].__dict__["update_id"] == refused["update_id"]


async def test_start_deep_link_opens_the_place(polling: Polling) -> None:
    polling.api.push(polling.updates.message("/start place_red-sea-mall"))
    (card,) = await polling.api.wait_sent("sendMessage")
    assert card.params["text"].startswith("<b>رد سي مول</b>")


async def test_commands_help_lang_and_near(polling: Polling) -> None:
    api, updates = polling.api, polling.updates
    api.push(updates.message("/lang en"))
    (switched,) = await api.wait_sent("sendMessage")
    assert "English" in switched.params["text"]
    api.push(updates.message("/near"))
    asked = (await api.wait_sent("sendMessage", 2))[1]
    keyboard = asked.params["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_location"] is True
    api.push(updates.message("/help"))
    helped = (await api.wait_sent("sendMessage", 3))[2]
    assert _buttons(helped), "help comes with example buttons"
    assert all(b["callback_data"].startswith("k:") for b in _buttons(helped))  # never raw text


async def test_group_answers_only_when_mentioned_or_replied_to(polling: Polling) -> None:
    api, updates = polling.api, polling.updates
    api.push(updates.message("وين رد سي مول", chat_id=GROUP, user_id=7))
    mention = f"@{BOT_USERNAME} وش تعرف عن روشان مول"
    entities = [{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}]
    api.push(updates.message(mention, chat_id=GROUP, user_id=7, entities=entities))
    (card,) = await api.wait_sent("sendMessage", chat_id=GROUP)
    assert card.params["text"].startswith("<b>روشان مول</b>")
    assert card.params["reply_parameters"]["message_id"] > 0
    bot_message = {
        "message_id": 99,
        "date": 0,
        "chat": {"id": GROUP, "type": "supergroup"},
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Dalil", "username": BOT_USERNAME},
        "text": "…",
    }
    api.push(updates.message("شكرا", chat_id=GROUP, user_id=7, reply_to_message=bot_message))
    replies = await api.wait_sent("sendMessage", 2, chat_id=GROUP)
    assert len(replies) == 2


async def test_contact_and_voice_get_polite_texts_and_photo_reaches_the_report(polling: Polling) -> None:
    api, updates = polling.api, polling.updates
    api.push(updates.message(contact={"phone_number": "+966500000000", "first_name": "X"}))
    api.push(updates.message(voice={"file_id": "v1", "file_unique_id": "u1", "duration": 2}))
    first, second = await api.wait_sent("sendMessage", 2)
    assert "جهات اتصال" in first.params["text"]
    assert "النصوص" in second.params["text"]


async def test_polling_deletes_the_webhook_and_registers_commands(polling: Polling) -> None:
    api = polling.api
    await api.wait_for(lambda: len(api.sent("setMyCommands")) == 3, what="commands")
    langs = [c.params.get("language_code") for c in api.sent("setMyCommands")]
    assert langs == ["ar", "en", None]
    commands = api.sent("setMyCommands")[1].params["commands"]
    assert [c["command"] for c in commands] == ["start", "help", "near", "lang"]
    assert api.sent("deleteWebhook")


async def test_token_never_logged(polling: Polling, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    polling.api.push(polling.updates.message("مرحبا"))
    await polling.api.wait_sent("sendMessage")
    assert TOKEN not in caplog.text
    assert TOKEN.partition(":")[2] not in caplog.text


async def test_set_webhook_sends_secret_and_allowed_updates(
    base_app: App, fake: tuple[FakeTelegram, str]
) -> None:
    api, url = fake
    app = app_for(base_app, url)
    await set_webhook(app.settings, "https://dalil.example/webhooks/telegram")
    assert api.webhook["url"] == "https://dalil.example/webhooks/telegram"
    assert api.webhook["secret_token"] == SECRET
    assert api.webhook["allowed_updates"] == list(ALLOWED_UPDATES)


async def test_webhook_checks_the_secret_and_answers_once_per_update(
    base_app: App, fake: tuple[FakeTelegram, str]
) -> None:
    api, url = fake
    app = app_for(base_app, url)
    web = create_http_app(app, channels=("telegram",))
    for start in web.router.on_startup:
        await start()
    updates = Updates()
    try:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
            hook = "/webhooks/telegram"
            update = updates.message("مرحبا")
            wrong = await client.post(hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
            missing = await client.post(hook, json=update)
            assert (wrong.status_code, missing.status_code) == (403, 403)
            await asyncio.sleep(0.1)
            assert api.sent("sendMessage") == []
            right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            assert (await client.post(hook, json=update, headers=right)).status_code == 200
            assert (await client.post(hook, json=update, headers=right)).status_code == 200  # redelivery
            assert (await client.post(hook, json=updates.message("شكرا"), headers=right)).status_code == 200
            assert (await client.post(hook, content=b"{", headers=right)).status_code == 400
            await api.wait_sent("sendMessage", 2)
            await asyncio.sleep(0.1)
            assert len(api.sent("sendMessage")) == 2
    finally:
        for stop in web.router.on_shutdown:
            await stop()


async def test_telegram_down_at_startup_does_not_stop_the_server(base_app: App) -> None:
    app = app_for(base_app, "http://127.0.0.1:9/bot")  # nothing listens there
    web = create_http_app(app, channels=("telegram", "rest"))
    for start in web.router.on_startup:
        await start()  # returns: Telegram is retried in the background
    try:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
            right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            update = Updates().message("مرحبا")
            assert (await client.post("/webhooks/telegram", json=update, headers=right)).status_code == 503
            rest = await client.post("/webhooks/rest/webhook", json={"sender": "a", "message": "وين البلد"})
            assert rest.status_code == 200
            assert "البلد" in rest.json()[0]["text"]
    finally:
        for stop in web.router.on_shutdown:
            await stop()


class _Scripted:
    """An engine that answers with fixed replies (rendering checks, without the dialogue)."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.services = None

    async def handle(self, _incoming: object) -> list[Reply]:
        return self.replies


async def test_rendering_escapes_html_and_keeps_long_payloads_server_side(
    base_app: App, fake: tuple[FakeTelegram, str]
) -> None:
    api, url = fake
    app = app_for(base_app, url)
    long_text = "say:" + "أقرب صيدلية مفتوحة الحين " * 4
    replies: list[Reply] = [
        PlaceCard(
            "x",
            "<Café & Co>",
            ("a < b",),
            (Button("اتصال", phone="+966 12 000 0000"), Button("المعلومة غلط", payload="wrong:x")),
        ),
        Choices("اختر", (Choice("واحد", long_text, "وصف"),)),
        QuickButtons("q", (Button("b", payload=long_text),)),
        RequestLocation("شارك موقعك", "مشاركة الموقع"),
    ]
    scripted = _Scripted(replies)
    scripted.services = app.engine.services  # type: ignore[assignment]
    channel = TelegramChannel(replace(app, engine=scripted), backoff_s=0.01)  # type: ignore[arg-type]
    await channel.startup()
    try:
        assert channel.application is not None
        bot = channel.application.bot
        await channel.application.update_queue.put(Update.de_json(Updates().message("hi"), bot))
        sent = await api.wait_sent("sendMessage", 3)
        card, choices, _quick = sent[:3]
        assert card.params["text"] == "<b>&lt;Café &amp; Co&gt;</b>\na &lt; b"
        call, wrong = _buttons(card)
        assert call["callback_data"].startswith("k:")
        assert wrong["callback_data"] == "wrong:x"
        key = _buttons(choices)[0]["callback_data"]
        assert key == callback_data(long_text)[0]
        assert len(key.encode()) <= 64
        assert "1. واحد — وصف" in choices.params["text"]
        request = (await api.wait_sent("sendMessage", 4))[3]
        assert request.params["reply_markup"]["keyboard"][0][0]["request_location"] is True
        await channel.application.update_queue.put(
            Update.de_json(Updates().callback(call["callback_data"]), bot)
        )
        (contact,) = await api.wait_sent("sendContact")
        assert contact.params["phone_number"] == "+966 12 000 0000"
        assert contact.params["first_name"] == "<Café & Co>"
    finally:
        await channel.shutdown()


@pytest.mark.redis
async def test_update_ids_are_remembered_across_restarts_in_redis(
    base_app: App, fake: tuple[FakeTelegram, str]
) -> None:
    api, url = fake
    app = app_for(base_app, url, redis_url=REDIS_URL)
    probe = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await probe.ping()
    except Exception:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    finally:
        await probe.aclose()
    update = Updates().message("مرحبا")
    update["update_id"] = 10_000_000 + secrets.randbelow(10_000_000)
    for restart in range(2):
        channel = TelegramChannel(app, backoff_s=0.01)
        await channel.startup()
        try:
            assert channel.application is not None
            await channel.application.update_queue.put(Update.de_json(update, channel.application.bot))
            if restart == 0:
                await api.wait_sent("sendMessage")
            else:
                await asyncio.sleep(0.2)
        finally:
            await channel.shutdown()
    assert len(api.sent("sendMessage")) == 1
