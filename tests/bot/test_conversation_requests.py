"""Conversations that ask Dalil to do something: municipal services, reports, a human, corrections.

What a person asks for is checked where it lands: the review queues (reports, hand-offs, feedback)
hold the row with the reference the person was given.
"""

from __future__ import annotations

import re

from bot.app import App
from bot.types import GeoPoint, HandoffNotice, InfoCard, PlaceCard
from tests.bot.conftest import CORAL_MALL, Chat
from tests.bot.replies import kinds, only, plain, said, says, text_of

# --- municipal services ----------------------------------------------------------------------------


async def test_municipal_service_balady(chat: Chat) -> None:
    card = only(await chat.say("ابي اطلع بلدي"), InfoCard)  # the service's name is a title, not markup
    assert card.title == "منصة بلدي"
    assert "https://balady.gov.sa" in plain(card.text)
    assert any(b.url == "https://balady.gov.sa" for b in card.buttons)


async def test_municipal_service_in_english(chat: Chat) -> None:
    await says(chat, "how do I volunteer", "Volunteering", "How:")


async def test_how_to_file_a_940_report_explains_the_service(chat: Chat) -> None:
    replies = await chat.say("كيف اقدم بلاغ 940")
    assert "940" in said(replies)
    assert "request_location" not in kinds(replies)  # not mistaken for a report to take


async def test_service_list_button(chat: Chat) -> None:
    replies = await chat.say(payload="service:balady")
    assert "https://balady.gov.sa" in said(replies)


# --- report_issue ----------------------------------------------------------------------------------


async def test_report_is_guided_and_stored_with_a_reference(app: App, chat: Chat) -> None:
    first = await chat.say("أبغى أبلغ عن مشكلة")
    assert kinds(first) == ["text", "text"]  # where to report officially, then: what is it?
    assert "940" in text_of(first[0])
    ask_where = await chat.say("حفرة كبيرة في الشارع")
    assert kinds(ask_where) == ["request_location"]
    assert kinds(await chat.say(location=GeoPoint(21.55, 39.16))) == ["text"]  # a photo?
    saved = said(await chat.say(attachment="photo-file-123"))
    ref = re.search(r"R-[2-9A-HJ-NP-Z]{6}", saved)
    assert ref is not None
    assert "940" in saved
    row = next(r for r in app.records.list_table("reports") if r["ref"] == ref.group())
    assert row["what"] == "حفرة كبيرة في الشارع"
    assert (row["lat"], row["lon"]) == (21.55, 39.16)
    assert row["attachment"] == "photo-file-123"
    assert row["lang"] == "ar"


async def test_report_in_one_message_with_a_written_place(app: App, chat: Chat) -> None:
    await chat.say("I want to report a broken street light on my street")
    await chat.say("Tahlia Street near Al-Andalus")
    saved = said(await chat.say("no"))
    ref = re.search(r"R-\w{6}", saved)
    assert ref is not None
    assert "940" in saved
    row = next(r for r in app.records.list_table("reports") if r["ref"] == ref.group())
    assert "broken street light" in row["what"]
    assert row["where_text"] == "Tahlia Street near Al-Andalus"
    assert row["lat"] is None


async def test_report_can_be_cancelled(app: App, chat: Chat) -> None:
    before = len(app.records.list_table("reports", limit=10_000))
    await chat.say("report a problem")
    assert "cancel" in said(await chat.say("cancel")).lower()
    assert len(app.records.list_table("reports", limit=10_000)) == before


# --- human hand-off --------------------------------------------------------------------------------


async def test_handoff_pauses_until_released(app: App, chat: Chat) -> None:
    notice = only(await chat.say("ابي اكلم موظف"), HandoffNotice)
    assert notice.reference.startswith("H-")
    assert notice.reference in plain(notice.text)
    assert "911" in notice.text
    assert any(h["ref"] == notice.reference for h in app.records.list_table("handoffs"))

    # A person is handling it: no automatic answer, but never silence either.
    waiting = await chat.say("وين رد سي مول")
    assert kinds(waiting) == ["buttons"]
    assert notice.reference in plain(said(waiting))
    assert "red-sea-mall" not in str(waiting)
    assert kinds(await chat.say(location=CORAL_MALL)) == ["buttons"]

    released = app.records.release_handoff(notice.reference)
    assert released is not None
    back = await chat.say("وش تعرف عن رد سي مول")
    assert kinds(back)[0] == "text"  # "I'm back"
    assert any(isinstance(r, PlaceCard) and r.place_id == "red-sea-mall" for r in back)
    assert kinds(await chat.say("شكرا")) == ["text"]


async def test_handoff_in_english_and_other_users_unaffected(app: App, chat: Chat) -> None:
    notice = only(await chat.say("talk to a human"), HandoffNotice)
    assert "team" in notice.text
    other = Chat(app, user=f"{chat.user}-other")
    assert kinds(await other.say("hello")) == ["buttons"]
    assert "team" in said(await chat.say("hello"))  # acknowledged, not answered


# --- feedback_wrong_info ---------------------------------------------------------------------------


async def test_wrong_button_asks_what_then_stores_it(app: App, chat: Chat) -> None:
    card = only(await chat.say("وش تعرف عن مستشفى فقيه"), PlaceCard)
    asked = await chat.say(payload=f"wrong:{card.place_id}")
    assert "سليمان فقيه" in said(asked)
    thanks = await chat.say("رقم الجوال ما يرد أبد")
    assert "سليمان فقيه" in said(thanks)
    row = app.records.list_table("feedback")[0]
    assert (row["place_id"], row["field"], row["text"]) == (
        "dr-soliman-fakeeh-hospital",
        "phone",
        "رقم الجوال ما يرد أبد",
    )


async def test_this_is_wrong_after_a_card_is_about_that_place(app: App, chat: Chat) -> None:
    await chat.say("tell me about the indian consulate")
    await chat.say("this is wrong, the opening hours changed")
    row = app.records.list_table("feedback")[0]
    assert row["place_id"] == "india-consulate-jeddah"
    assert row["field"] == "opening_hours"
    assert row["text"] == "this is wrong, the opening hours changed"


async def test_wrong_info_without_context_asks_which_place(app: App, chat: Chat) -> None:
    assert kinds(await chat.say("المعلومة غلط")) == ["text"]
    await chat.say("رد سي مول موقعه غلط")
    row = app.records.list_table("feedback")[0]
    assert row["place_id"] == "red-sea-mall"
    assert row["field"] == "location"
