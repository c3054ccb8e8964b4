"""The WhatsApp channel end to end: signed webhooks into ``dalil serve``'s app, replies to a fake Graph API.

Webhook bodies are encoded as Meta sends them (Arabic as ``\\uXXXX`` escapes, ``/`` as ``\\/``) and
signed over those raw bytes; every reply is checked as the fake Graph API received it on the wire,
where Meta's limits on interactive messages are enforced. The harness is the ``wa`` fixture
(tests/connectors/conftest.py); delivery, rendering and bad input are in the other ``test_whatsapp_*``
modules.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from connectors.whatsapp import (
    MAX_ROW_TITLE,
    Recipient,
    language_hint,
)
from tests.connectors.conftest import HOOK, Harness
from tests.connectors.fake_whatsapp import (
    BUSINESS_NUMBER,
    Webhooks,
    encode,
    sign,
    verification,
)


def _rows(call: Any) -> list[dict[str, Any]]:
    return [row for section in call.body["interactive"]["action"]["sections"] for row in section["rows"]]


def _buttons(call: Any) -> list[dict[str, str]]:
    return [b["reply"] for b in call.body["interactive"]["action"]["buttons"]]


# --- the handshake and the signature ----------------------------------------------------------------------


async def test_verification_handshake_echoes_the_challenge_only_for_our_token(wa: Harness) -> None:
    params = verification()  # as Meta sends it: our verify token, challenge "1158201444"
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
