"""The WhatsApp channel end to end: signed webhooks into ``dalil serve``'s app, replies to a fake Graph API.

Webhook bodies are encoded as Meta sends them (Arabic as ``\\uXXXX`` escapes, ``/`` as ``\\/``) and
signed over those raw bytes; every reply is checked as the fake Graph API received it on the wire,
where Meta's limits on interactive messages are enforced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import App
from bot.cli import main
from bot.http import create_http_app
from bot.state import user_key
from bot.types import Button, Choice, Choices, QuickButtons, TextReply
from connectors.whatsapp import (
    MAX_ROW_DESCRIPTION,
    MAX_ROW_TITLE,
    RateLimiter,
    Recipient,
    WhatsAppChannel,
    language_hint,
    read_webhook,
    signature,
    trim,
)
from tests.conftest import REDIS_URL
from tests.connectors.conftest import REPO, with_settings
from tests.connectors.fake_whatsapp import (
    APP_SECRET,
    BUSINESS_NUMBER,
    PHONE_NUMBER_ID,
    TOKEN,
    VERIFY_TOKEN,
    FakeGraph,
    Webhooks,
    encode,
    serve,
    sign,
    signed,
)

HOOK = "/webhooks/whatsapp"
WA_ID = "966500000001"


def whatsapp_app(base: App, api_url: str, **settings: object) -> App:
    """``base`` with fresh dialogue state, configured for WhatsApp against the Graph API at ``api_url``."""
    whatsapp = {
        "whatsapp_token": SecretStr(TOKEN),
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_app_secret": SecretStr(APP_SECRET),
        "whatsapp_verify_token": SecretStr(VERIFY_TOKEN),
        "whatsapp_api_base_url": api_url,
    }
    return with_settings(base, **{**whatsapp, **settings})


@dataclass
class Harness:
    """``dalil serve``'s ASGI app with only the WhatsApp channel, and the fake Graph API behind it."""

    api: FakeGraph
    app: App
    channel: WhatsAppChannel
    client: httpx.AsyncClient
    hooks: Webhooks

    async def deliver(self, payload: dict[str, Any], secret: str = APP_SECRET) -> httpx.Response:
        raw, headers = signed(payload, secret)
        return await self.client.post(HOOK, content=raw, headers=headers)

    @property
    def wa_id(self) -> str:
        return self.hooks.wa_id

    def rows(self, table: str) -> list[dict[str, Any]]:
        """This person's rows of a review queue (the database is shared by the tests), newest first."""
        key = user_key("whatsapp", self.wa_id)
        return [row for row in self.app.records.list_table(table, open_only=False) if row["user_key"] == key]

    async def settle(self) -> None:
        """Wait until every accepted message is answered."""
        await self.channel.drain(10)


@asynccontextmanager
async def running(base: App, graph: tuple[FakeGraph, str], **settings: object) -> AsyncIterator[Harness]:
    server, api_url = graph
    app = whatsapp_app(base, api_url, **settings)
    web = create_http_app(app, channels=("whatsapp",))
    for start in web.router.on_startup:
        await start()
    channel = web.state.channels["whatsapp"]
    channel.backoff_s = channel.pair_backoff_s = 0.01
    try:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
            hooks = Webhooks(wa_id=f"9665{secrets.randbelow(10**8):08d}")
            yield Harness(server, app, channel, client, hooks)
    finally:
        for stop in web.router.on_shutdown:
            await stop()


@pytest.fixture
async def graph() -> AsyncIterator[tuple[FakeGraph, str]]:
    server = FakeGraph()
    async with serve(server) as url:
        yield server, url


@pytest.fixture
async def wa(
    base_app: App, graph: tuple[FakeGraph, str], request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    """The harness; ``@pytest.mark.reengagement_template(NAME)`` configures an approved template."""
    marker = request.node.get_closest_marker("reengagement_template")
    template = marker.args[0] if marker else None
    async with running(base_app, graph, whatsapp_reengagement_template=template) as harness:
        yield harness


def _rows(call: Any) -> list[dict[str, Any]]:
    return [row for section in call.body["interactive"]["action"]["sections"] for row in section["rows"]]


def _buttons(call: Any) -> list[dict[str, str]]:
    return [b["reply"] for b in call.body["interactive"]["action"]["buttons"]]


# --- the handshake and the signature ----------------------------------------------------------------------


async def test_verification_handshake_echoes_the_challenge_only_for_our_token(wa: Harness) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    ok = await wa.client.get(HOOK, params=params)
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert ok.headers["content-type"].startswith("text/plain")
    wrong = await wa.client.get(HOOK, params={**params, "hub.verify_token": "guess"})
    not_subscribe = await wa.client.get(HOOK, params={**params, "hub.mode": "unsubscribe"})
    bare = await wa.client.get(HOOK)
    assert (wrong.status_code, not_subscribe.status_code, bare.status_code) == (403, 403, 403)


async def test_arabic_arrives_escaped_and_the_signature_is_checked_over_the_raw_bytes(wa: Harness) -> None:
    payload = wa.hooks.text("وين روشان مول؟")
    raw = encode(payload)
    assert raw.isascii()
    assert b"\\u0648" in raw
    reserialised = json.dumps(payload, ensure_ascii=False).encode()
    forged = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(reserialised)}
    assert (await wa.client.post(HOOK, content=raw, headers=forged)).status_code == 403
    unsigned = await wa.client.post(HOOK, content=raw, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    other_secret = await wa.deliver(payload, secret="not-the-app-secret")
    assert other_secret.status_code == 403
    await wa.settle()
    await wa.api.quiet(0.2)
    assert wa.api.calls == []  # nothing rejected was processed
    upper = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(raw).upper().replace("SHA256", "sha256"),
    }
    assert (await wa.client.post(HOOK, content=raw, headers=upper)).status_code == 200
    await wa.settle()
    assert len(wa.api.sent("interactive")) == 1


# --- answers --------------------------------------------------------------------------------------------


async def test_arabic_question_gets_a_card_with_buttons_and_a_location_pin(wa: Harness) -> None:
    payload = wa.hooks.text("وش تعرف عن روشان مول")
    response = await wa.deliver(payload)
    assert response.status_code == 200
    await wa.settle()
    (read,) = wa.api.reads()
    message_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert read.body == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message_id,
        "typing_indicator": {"type": "text"},
    }
    card, pin = wa.api.sent()
    assert card.body["to"] == wa.wa_id
    assert card.body["recipient_type"] == "individual"
    body = card.body["interactive"]["body"]["text"]
    assert body.startswith("*روشان مول*\n")
    assert "https://www.google.com/maps" in body
    assert {"id": "wrong:roshan-mall", "title": "المعلومة غلط"} in _buttons(card)
    assert pin.body["type"] == "location"
    assert pin.body["location"]["name"] == "روشان مول"
    assert pin.body["location"]["latitude"] == pytest.approx(21.66511)


async def test_location_gets_the_nearest_list_and_a_row_opens_the_card(wa: Harness) -> None:
    await wa.deliver(wa.hooks.location(21.5433, 39.1728))
    (listing,) = await wa.api.wait_sent("interactive")
    assert listing.body["interactive"]["type"] == "list"
    rows = _rows(listing)
    expected = wa.app.store.nearest(21.5433, 39.1728, limit=len(rows))
    assert [row["id"] for row in rows] == [f"place:{hit.place.id}" for hit in expected]
    assert all(len(row["title"]) <= MAX_ROW_TITLE for row in rows)
    await wa.deliver(wa.hooks.list_reply(rows[0]["id"], rows[0]["title"]))
    await wa.settle()
    card = wa.api.sent("interactive")[1]
    assert card.body["interactive"]["type"] == "button"
    assert wa.app.store.get(rows[0]["id"].removeprefix("place:")) is not None


async def test_button_reply_gets_the_follow_up_question(wa: Harness) -> None:
    await wa.deliver(wa.hooks.button_reply("wrong:red-sea-mall", "المعلومة غلط"))
    (follow_up,) = await wa.api.wait_sent("text")
    assert "رد سي مول" in follow_up.body["text"]["body"]
    await wa.deliver(wa.hooks.text("رقم الجوال غلط"))
    await wa.settle()
    feedback = wa.rows("feedback")
    assert feedback[0]["place_id"] == "red-sea-mall"
    assert feedback[0]["channel"] == "whatsapp"


async def test_replying_to_an_earlier_card_asks_about_that_place(wa: Harness) -> None:
    await wa.deliver(wa.hooks.text("وش تعرف عن روشان مول"))
    (roshan,) = await wa.api.wait_sent("interactive")
    await wa.deliver(wa.hooks.text("وش تعرف عن رد سي مول"))
    await wa.api.wait_sent("interactive", 2)
    question = wa.hooks.text("كم رقمهم؟")
    question["entry"][0]["changes"][0]["value"]["messages"][0]["context"] = {
        "from": BUSINESS_NUMBER,
        "id": roshan.response["messages"][0]["id"],
    }
    before = len(wa.api.sent())
    await wa.deliver(question)
    await wa.settle()
    answer = " ".join(call.text or "" for call in wa.api.sent()[before:])
    assert "روشان" in answer
    assert "رد سي" not in answer


async def test_asking_for_nearest_requests_the_location_natively(wa: Harness) -> None:
    await wa.deliver(wa.hooks.text("أقرب مستشفى"))
    (ask,) = await wa.api.wait_sent("interactive")
    assert ask.body["interactive"]["type"] == "location_request_message"
    assert ask.body["interactive"]["action"] == {"name": "send_location"}
    await wa.deliver(wa.hooks.location(21.5433, 39.1728))
    await wa.settle()
    listing = wa.api.sent("interactive")[1]
    assert listing.body["interactive"]["type"] == "list"


async def test_username_user_without_phone_number_is_answered_by_business_scoped_id(wa: Harness) -> None:
    await wa.deliver(wa.hooks.text("مرحبا", bsuid_only=True))
    await wa.settle()
    (reply,) = wa.api.sent()
    assert "to" not in reply.body
    assert reply.body["recipient"] == "SA.13491208655302741918"


async def test_a_visitor_is_answered_in_english_until_they_write_arabic(wa: Harness) -> None:
    visitor = Webhooks(wa_id="447700900123", user_id="GB.77009001234")
    await wa.deliver(visitor.sticker())
    await wa.settle()
    (polite,) = wa.api.sent("text")
    assert polite.text == wa.app.engine.services.texts.get("en", "unsupported_message")
    await wa.deliver(visitor.location(21.5433, 39.1728))
    (listing,) = await wa.api.wait_sent("interactive")
    assert listing.body["interactive"]["action"]["button"] == wa.app.engine.services.texts.get(
        "en", "choose_prompt"
    )
    await wa.deliver(visitor.text("وين البلد"))
    await wa.settle()
    assert "البلد" in (wa.api.sent("interactive")[-1].text or "")


def test_language_hint_by_country() -> None:
    assert language_hint(Recipient("966500000001")) == "ar"
    assert language_hint(Recipient("201001234567")) == "ar"
    assert language_hint(Recipient("447700900123")) == "en"
    assert language_hint(Recipient(None, "AE.8812")) == "ar"
    assert language_hint(Recipient(None, "US.13491208655302741918")) == "en"


async def test_photo_with_caption_completes_a_report(wa: Harness) -> None:
    await wa.deliver(wa.hooks.text("أبغى أبلغ عن حفرة في الشارع"))
    (where,) = await wa.api.wait_sent("interactive")
    assert where.body["interactive"]["type"] == "location_request_message"
    await wa.deliver(wa.hooks.location(21.5433, 39.1728))
    await wa.api.wait_sent("text")  # asks for a photo
    await wa.deliver(wa.hooks.image(caption="حفرة كبيرة قدام المدرسة", media_id="998877"))
    await wa.settle()
    (report,) = wa.rows("reports")
    kept = Path(report["attachment"])
    assert kept.suffix == ".jpg"
    assert await asyncio.to_thread(kept.read_bytes) == wa.api.media("998877")  # the id expires in 7 days
    assert report["lat"] == pytest.approx(21.5433)
    assert report["ref"] in (wa.api.sent("text")[-1].text or "")


async def test_a_photo_meta_no_longer_has_keeps_its_reference(wa: Harness) -> None:
    wa.api.missing_media.add("554433")
    await wa.deliver(wa.hooks.text("أبغى أبلغ عن حفرة في الشارع"))
    await wa.api.wait_sent("interactive")
    await wa.deliver(wa.hooks.location(21.5433, 39.1728))
    await wa.api.wait_sent("text")
    await wa.deliver(wa.hooks.image(media_id="554433"))
    await wa.settle()
    (report,) = wa.rows("reports")
    assert report["attachment"] == "whatsapp:media:554433"


@pytest.mark.parametrize("kind", ["audio", "sticker", "reaction", "unsupported"])
async def test_other_message_kinds_get_a_short_polite_answer(wa: Harness, kind: str) -> None:
    build = getattr(wa.hooks, kind)
    payload = build("wamid.earlier", "👍") if kind == "reaction" else build()
    await wa.deliver(payload)
    await wa.settle()
    (reply,) = wa.api.sent("text")
    assert reply.body["text"]["body"] == wa.app.engine.services.texts.get("ar", "unsupported_message")


async def test_removed_reaction_and_statuses_get_no_answer(wa: Harness) -> None:
    hooks = wa.hooks
    await wa.deliver(hooks.reaction("wamid.earlier", ""))
    for status in ("sent", "delivered", "read"):
        assert (await wa.deliver(hooks.status("wamid.ours", status))).status_code == 200
    await wa.settle()
    await wa.api.quiet(0.2)
    assert wa.api.sent() == []
    metrics = wa.app.metrics.statuses
    assert metrics.labels("whatsapp", "delivered")._value.get() >= 1


async def test_messages_of_one_person_are_answered_in_order(wa: Harness) -> None:
    hooks = wa.hooks
    await wa.deliver(hooks.batch(hooks.text("شكرا"), hooks.text("مع السلامة"), hooks.text("شكرا")))
    await wa.settle()
    texts = wa.app.engine.services.texts
    thanks, bye = texts.get("ar", "thanks"), texts.get("ar", "goodbye")
    assert [call.text for call in wa.api.sent()] == [thanks, bye, thanks]


# --- exactly once ---------------------------------------------------------------------------------------


async def test_a_redelivered_message_is_answered_once(wa: Harness) -> None:
    payload = wa.hooks.text("مرحبا")
    first, again = await asyncio.gather(wa.deliver(payload), wa.deliver(payload))
    assert (first.status_code, again.status_code) == (200, 200)
    await wa.deliver(payload)
    await wa.settle()
    assert len(wa.api.sent()) == 1
    assert len(wa.api.reads()) == 1


@pytest.mark.redis
async def test_two_workers_sharing_redis_answer_a_redelivery_once(
    base_app: App, graph: tuple[FakeGraph, str]
) -> None:
    server = graph[0]
    probe = Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except Exception as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        await probe.aclose()
    number = f"1065{secrets.randbelow(10**9)}"
    async with (
        running(base_app, graph, redis_url=REDIS_URL, whatsapp_phone_number_id=number) as one,
        running(base_app, graph, redis_url=REDIS_URL, whatsapp_phone_number_id=number) as two,
    ):
        server.phone_number_id = number
        payload = one.hooks.text("مرحبا")
        value = payload["entry"][0]["changes"][0]["value"]
        value["metadata"]["phone_number_id"] = number
        await asyncio.gather(one.deliver(payload), two.deliver(payload))
        await one.settle()
        await two.settle()
        assert len(server.sent()) == 1


# --- delivery -------------------------------------------------------------------------------------------


async def test_server_errors_are_retried_and_the_answer_is_delivered_once(wa: Harness) -> None:
    wa.api.fail(status=500, times=1, kind="text")
    wa.api.fail(status=503, times=1, kind="text")
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert len(wa.api.sent("text")) == 1
    assert [call.status for call in wa.api.failed()] == [500, 503]


@pytest.mark.parametrize("code", [130429, 131056])
async def test_rate_limits_are_waited_out(wa: Harness, code: int) -> None:
    wa.api.fail(code, times=2, kind="text")
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert len(wa.api.sent("text")) == 1
    assert [call.error_code for call in wa.api.failed()] == [code, code]


async def test_retries_are_bounded_and_the_failure_is_kept(wa: Harness) -> None:
    wa.api.fail(status=502, times=50, kind="text")
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert wa.api.sent("text") == []
    assert len(wa.api.failed()) == wa.channel.retries + 1
    (kept,) = wa.rows("undelivered")
    assert kept["reason"].startswith("error:")
    assert kept["channel"] == "whatsapp"


async def test_an_unreachable_api_is_retried_then_the_answer_kept(base_app: App) -> None:
    async with running(base_app, (FakeGraph(), "http://127.0.0.1:9/v25.0")) as wa:  # nothing listens there
        await wa.deliver(wa.hooks.text("شكرا"))
        await wa.settle()
        (kept,) = wa.rows("undelivered")
        assert kept["reason"] == "error:ConnectError"
        retried = wa.app.metrics.deliveries.labels("whatsapp", "retried")._value.get()
        assert retried >= wa.channel.retries


async def test_no_secret_or_phone_number_in_the_logs(wa: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wa.api.fail(status=500, times=1)
    await wa.deliver(wa.hooks.text("كم رقم مستشفى الثغر"))
    await wa.deliver(wa.hooks.location(21.5433, 39.1728))
    await wa.client.post(HOOK, content=b"{}", headers={"X-Hub-Signature-256": "sha256=00"})
    await wa.settle()
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    for secret in (TOKEN, APP_SECRET, VERIFY_TOKEN, wa.wa_id, "21.5433"):
        assert secret not in logged


async def test_refused_message_is_not_retried(wa: Harness) -> None:
    wa.api.fail(131026, times=5, kind="text")  # receiver incapable: retrying cannot help
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert len(wa.api.failed()) == 1


@pytest.mark.reengagement_template("dalil_reengage")
async def test_outside_the_window_the_template_is_sent_once(wa: Harness) -> None:
    wa.api.fail(131047, times=1, kind="interactive")
    await wa.deliver(wa.hooks.text("وش تعرف عن روشان مول"))
    await wa.settle()
    (template,) = wa.api.sent("template")
    assert template.body["template"] == {"name": "dalil_reengage", "language": {"code": "ar"}}
    assert wa.api.sent("location") == []  # the rest of that answer waits for the person
    (kept,) = wa.rows("undelivered")
    assert (kept["reason"], kept["error_code"]) == ("outside_window_template_sent", 131047)
    assert "روشان مول" in kept["text"]


async def test_outside_the_window_without_a_template_the_answer_is_kept_and_nothing_loops(
    wa: Harness,
) -> None:
    wa.api.fail(131047, times=10)
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert len(wa.api.failed()) == 1
    assert wa.api.sent() == []
    (kept,) = wa.rows("undelivered")
    assert kept["reason"] == "outside_window"


@pytest.mark.reengagement_template("dalil_reengage")
async def test_a_failing_template_is_not_retried_into_a_loop(wa: Harness) -> None:
    wa.api.fail(131047, times=10)
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert [call.type for call in wa.api.failed()] == ["text", "template"]
    (kept,) = wa.rows("undelivered")
    assert kept["reason"] == "outside_window_template_failed"


@pytest.mark.reengagement_template("dalil_reengage")
async def test_a_late_delivery_past_24_hours_goes_to_the_template(wa: Harness) -> None:
    old = int(time.time()) - 25 * 3600
    await wa.deliver(wa.hooks.text("شكرا", timestamp=old))
    await wa.deliver(wa.hooks.text("مع السلامة", timestamp=old + 60))  # more of the same backlog
    await wa.settle()
    assert [call.type for call in wa.api.sent()] == ["template"]  # one invitation, not one each
    reasons = [row["reason"] for row in wa.rows("undelivered")]
    assert reasons == ["outside_window_template_recent", "outside_window_template_sent"]


@pytest.mark.reengagement_template("dalil_reengage")
async def test_a_failed_status_131047_sends_the_template_once(wa: Harness) -> None:
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    ours = wa.api.sent("text")[0].response["messages"][0]["id"]
    failed = wa.hooks.status(ours, "failed", errors=[{"code": 131047, "title": "Re-engagement message"}])
    await wa.deliver(failed)
    await wa.deliver(failed)  # redelivered
    await wa.settle()
    (template,) = wa.api.sent("template")
    wamid = template.response["messages"][0]["id"]
    await wa.deliver(wa.hooks.status(wamid, "failed", errors=[{"code": 131047, "title": "x"}]))
    await wa.settle()
    assert len(wa.api.sent("template")) == 1


async def test_mark_read_failing_does_not_stop_the_answer(wa: Harness) -> None:
    wa.api.fail_when(lambda body: body.get("status") == "read", 131000, times=1)
    await wa.deliver(wa.hooks.text("شكرا"))
    await wa.settle()
    assert len(wa.api.sent("text")) == 1


async def test_messages_still_unanswered_at_shutdown_are_kept(wa: Harness) -> None:
    wa.api.delay_s = 1.0  # Meta is slow; the server is told to stop meanwhile
    wa.channel.drain_s = 0.05
    await wa.deliver(wa.hooks.text("وين البلد"))
    await asyncio.sleep(0.05)
    await wa.channel.shutdown()
    (kept,) = wa.rows("undelivered")
    assert (kept["reason"], kept["text"]) == ("not_answered_shutdown", "وين البلد")


async def test_rate_limiter_spaces_sends() -> None:
    limiter = RateLimiter(50)
    started = time.monotonic()
    for _ in range(11):
        await limiter.wait()
    assert time.monotonic() - started >= 10 / 50 - 0.01


# --- rendering within Meta's limits -----------------------------------------------------------------------


async def test_long_arabic_titles_are_trimmed_and_the_full_name_kept_in_the_description(wa: Harness) -> None:
    name = "مُسْتَشْفَى الْمَلِكِ فَهْدٍ الْعَامّ بِجُدَّةَ"
    options = tuple(Choice(f"{name} {n}", f"place:p{n}", "حي الشرفية") for n in range(10))
    (message,) = await wa.channel.render(Choices("اختر", options, "اختر مكان من القائمة يا غالي"), None, "ar")
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert len(message["interactive"]["action"]["button"]) <= 20
    for row in rows:
        assert len(row["title"]) <= MAX_ROW_TITLE
        assert row["title"].endswith("…")
        kept = row["title"].removesuffix("…")
        assert name.startswith(kept)
        assert not unicodedata.combining(name[len(kept)])  # no letter parted from its marks
        assert len(row["description"]) <= MAX_ROW_DESCRIPTION
        assert row["description"].startswith("مُسْتَشْفَى")


async def test_long_payloads_are_kept_server_side_and_expired_keys_answered(wa: Harness) -> None:
    long_payload = "say:" + "وين أقرب صيدلية مفتوحة الحين في حي الروضة " * 8
    reply = QuickButtons("جرّب", (Button("اسأل", payload=long_payload),))
    (message,) = await wa.channel.render(reply, None, "ar")
    (button,) = [b["reply"] for b in message["interactive"]["action"]["buttons"]]
    assert button["id"].startswith("k:")
    assert len(button["id"]) <= 256
    assert await wa.channel.memory.get("payload", button["id"]) == long_payload
    await wa.deliver(wa.hooks.button_reply("k:unknown", "اسأل"))
    await wa.settle()
    (stale,) = wa.api.sent("text")
    assert stale.body["text"]["body"] == wa.app.engine.services.texts.get("ar", "button_expired")


async def test_long_text_is_split_between_words_under_the_limit(wa: Harness) -> None:
    words = ["مرحبا", "بكم", "في", "جدة", "عروس", "البحر", "الأحمر"] * 200
    messages = await wa.channel.render(TextReply(" ".join(words)), None, "ar")
    assert len(messages) == 2
    bodies = [m["text"]["body"] for m in messages]
    assert all(len(body) <= 4096 for body in bodies)
    assert " ".join(bodies).split() == words


async def test_a_single_link_becomes_a_link_button(wa: Harness) -> None:
    reply = QuickButtons("بوابة بلدي", (Button("افتح الموقع", url="https://balady.gov.sa"),))
    (message,) = await wa.channel.render(reply, None, "ar")
    assert message["interactive"]["type"] == "cta_url"
    assert message["interactive"]["action"]["parameters"] == {
        "display_text": "افتح الموقع",
        "url": "https://balady.gov.sa",
    }


@given(text=st.text(min_size=0, max_size=80), limit=st.integers(min_value=3, max_value=30))
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_trim_never_exceeds_the_limit_nor_splits_a_grapheme(text: str, limit: int) -> None:
    cut = trim(text, limit)
    assert len(cut) <= limit
    flat = " ".join(text.split())
    if len(flat) <= limit:
        assert cut == flat
    else:
        assert cut.endswith("…")
        kept = cut[:-1].removesuffix("\u2069")
        assert flat.startswith(kept.rstrip()) or flat.startswith(kept)


def test_trim_keeps_diacritics_and_emoji_sequences_whole() -> None:
    assert trim("بِسْمِ اللَّهِ الرَّحْمَنِ", 7) == "بِسْ…"
    assert trim("مَسْجِدٌ كَبِيرٌ جِدًّا", 6) == "مَسْ…"
    family = "👨\u200d👩\u200d👧"
    assert trim(f"عائلة {family}", 12) == f"عائلة {family}"
    assert trim(f"عائلة {family} كبيرة", 12) == "عائلة…"
    isolated = trim("الرقم \u2068012 640 3000\u2069 للحجز", 12)
    assert isolated.count("\u2068") == isolated.count("\u2069")


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
    monkeypatch.setenv("WHATSAPP_TOKEN", TOKEN)
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID)
    monkeypatch.setenv("WHATSAPP_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.setenv("WHATSAPP_API_BASE_URL", url)
    assert await asyncio.to_thread(main, ["--config", config, "whatsapp", "check"]) == 0
    out = capsys.readouterr()
    assert "Dalil Jeddah" in out.out
    assert "GREEN" in out.out
    assert TOKEN not in out.out + out.err
    monkeypatch.setenv("WHATSAPP_TOKEN", "EAAG-expired")
    assert await asyncio.to_thread(main, ["--config", config, "whatsapp", "check"]) == 1
    assert "190" in capsys.readouterr().err
