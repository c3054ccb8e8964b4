"""Conversations with Dalil in Arabic and English: small talk, context, disambiguation, language.

Each test is a short exchange against the bundled Jeddah data, run on SQLite + memory state and on
PostgreSQL + Redis. Assertions check what a person relies on — the kind of reply, the place ids, the
facts from ``data/places`` — not the exact wording. Place facts, hours and the requests people make
(services, reports, hand-off, corrections) are in the other ``test_conversation_*`` modules.
"""

from __future__ import annotations

import re

import pytest

from bot.app import App
from bot.types import MAX_QUICK_BUTTONS, Choices, LocationPin, PlaceCard, QuickButtons, TextReply
from tests.bot.conftest import CORAL_MALL, Chat
from tests.bot.replies import buttons_saying, is_arabic, kinds, only, payloads, said, says

EASTERN = re.compile(r"[٠-٩]")
WESTERN = re.compile(r"[0-9]")


# --- small talk: greet, help, thanks, goodbye, affirm, deny ---------------------------------------


@pytest.mark.parametrize(
    ("message", "intent_kind", "lang"),
    [
        ("مرحبا", "buttons", "ar"),
        ("السلام عليكم", "buttons", "ar"),
        ("hello", "buttons", "en"),
        ("وش تقدر تسوي؟", "buttons", "ar"),
        ("help", "buttons", "en"),
        ("شكرا", "text", "ar"),
        ("thanks a lot", "text", "en"),
        ("مع السلامة", "text", "ar"),
        ("bye", "text", "en"),
    ],
)
async def test_small_talk_answers_in_the_users_language(
    chat: Chat, message: str, intent_kind: str, lang: str
) -> None:
    replies = await chat.say(message)
    assert kinds(replies) == [intent_kind]
    assert is_arabic(said(replies)) == (lang == "ar")


@pytest.mark.parametrize("message", ["مرحبا", "help"])
async def test_greet_and_help_offer_examples_that_work_when_tapped(chat: Chat, message: str) -> None:
    buttons = only(await chat.say(message), QuickButtons)
    assert 1 <= len(buttons.buttons) <= MAX_QUICK_BUTTONS
    assert all(b.payload and b.payload.startswith("say:") for b in buttons.buttons)
    nearest = next(b for b in buttons.buttons if "مستشفى" in b.title or "hospital" in b.title.lower())
    tapped = await chat.say(payload=nearest.payload)
    assert kinds(tapped) == ["request_location"]
    where = next(b for b in buttons.buttons if "البلد" in b.title or "Al-Balad" in b.title)
    # "where is <named place>" is directions (DESIGN.md's intent boundaries): Al-Balad's pin
    pin = only(await chat.say(payload=where.payload), LocationPin)
    assert (round(pin.lat, 2), round(pin.lon, 2)) == (21.48, 39.19)


async def test_help_names_what_dalil_does(chat: Chat) -> None:
    text = said(await chat.say("help"))
    for topic in ("Places", "Hours", "Nearest", "Municipal", "Report"):
        assert topic in text


async def test_goodbye_closes_an_open_question(chat: Chat) -> None:
    assert kinds(await chat.say("أقرب صيدلية")) == ["request_location"]
    await chat.say("مع السلامة")
    # A location shared later is not taken as the answer to the closed pharmacy question.
    replies = await chat.say(location=CORAL_MALL)
    assert "صيدلية" not in said(replies)


@pytest.mark.parametrize(("yes", "no"), [("نعم", "لا"), ("yes", "no")])
async def test_affirm_and_deny_without_a_question_are_harmless(chat: Chat, yes: str, no: str) -> None:
    assert kinds(await chat.say(yes)) == ["text"]
    assert kinds(await chat.say(no)) == ["text"]


async def test_deny_cancels_a_pending_nearest_question(chat: Chat) -> None:
    await chat.say("nearest hospital")
    assert kinds(await chat.say("no")) == ["text"]
    replies = await chat.say(location=CORAL_MALL)
    assert "hospital" not in said(replies).lower()


# --- follow-ups use context ------------------------------------------------------------------------


async def test_arabic_follow_ups_use_the_last_place(chat: Chat) -> None:
    only(await chat.say("وش تعرف عن مستشفى فقيه"), PlaceCard)
    await says(chat, "وكم رقمهم؟", "+966126655000", "سليمان فقيه")


async def test_and_when_does_it_close(chat: Chat) -> None:
    await chat.say("tell me about the indian consulate")
    await says(chat, "and when does it close?", "Consulate General of India", "8:30 AM")


async def test_english_follow_ups_use_the_last_place(chat: Chat) -> None:
    await chat.say("tell me about the indian consulate")
    await says(chat, "what time does it close?", "Consulate General of India", "8:30 AM")
    await says(chat, "what's their phone number?", "+966122614093")
    await says(chat, "how do I get there?", "Tahlia Street")


async def test_a_follow_up_without_any_place_asks_which(chat: Chat) -> None:
    replies = await chat.say("وكم رقمهم؟")
    assert kinds(replies) == ["text"]
    # ... and the next message naming a place answers the question that was pending.
    await says(chat, "مستشفى الدكتور سليمان فقيه", "+966126655000")


# --- disambiguation --------------------------------------------------------------------------------


async def test_two_places_named_asks_which_and_a_button_chooses(chat: Chat) -> None:
    choices = only(await chat.say("kfsh or imc hospital phone"), Choices)
    assert 2 <= len(choices.options) <= 3
    assert set(payloads(choices)) == {
        "place:king-faisal-specialist-hospital-jeddah",
        "place:international-medical-center-jeddah",
    }
    # Choosing keeps the question: it was about the phone, so the answer is contact details.
    answer = await chat.say(payload="place:king-faisal-specialist-hospital-jeddah")
    assert "https://www.kfshrc.edu.sa" in said(answer)
    assert "place_card" not in kinds(answer)


async def test_choosing_by_number_from_a_list(chat: Chat) -> None:
    choices = only(await chat.say("وين القنصلية"), Choices)
    assert len(choices.options) <= 10
    second = payloads(choices)[1].removeprefix("place:")
    card = only(await chat.say("٢"), PlaceCard)
    assert card.place_id == second


async def test_a_stale_button_for_an_unknown_place_is_not_an_error(chat: Chat) -> None:
    replies = await chat.say(payload="place:no-such-place")
    assert replies  # falls back to the ordinary answer for an empty message


# --- language --------------------------------------------------------------------------------------


async def test_reply_language_follows_each_message(chat: Chat) -> None:
    assert is_arabic(said(await chat.say("وين رد سي مول")))
    assert not is_arabic(said(await chat.say("where is red sea mall")))
    assert is_arabic(said(await chat.say("شكرا")))


async def test_explicit_language_switch_is_sticky(chat: Chat) -> None:
    switched = await chat.say("كلمني بالانجليزي")
    assert not is_arabic(said(switched))
    card = only(await chat.say("وش تعرف عن رد سي مول"), PlaceCard)
    assert card.title == "Red Sea Mall"
    assert is_arabic(said(await chat.say("arabic please")))
    assert is_arabic(said(await chat.say("where is red sea mall")))


async def test_empty_first_message_uses_the_client_language(chat: Chat) -> None:
    assert not is_arabic(said(await chat.say(location=CORAL_MALL, lang_hint="en")))


async def test_arabic_indic_digits_only_for_people_who_use_them(chat: Chat) -> None:
    western = said(await chat.say("مستشفى الملك فهد مفتوح بكرة الساعة 9 الليل؟"))
    assert "9:00" in western
    assert not EASTERN.search(western)
    eastern = said(await chat.say("مستشفى الملك فهد مفتوح بكرة الساعة ٩ الليل؟"))
    assert "٩:٠٠" in eastern
    assert "٢٤" in eastern
    assert not WESTERN.search(eastern)


async def test_phone_numbers_stay_dialable_with_arabic_indic_digits(chat: Chat) -> None:
    await chat.say("الساعة ٩")
    buttons = await buttons_saying(chat, "رقم مستشفى الدكتور سليمان فقيه", "+966126655000")
    assert any(b.phone == "+966126655000" for b in buttons.buttons)


async def test_no_digits_means_western_digits(chat: Chat) -> None:
    text = said(await chat.say("ابي اكلم موظف"))
    assert "911" in text
    assert not EASTERN.search(text)


# --- out_of_scope ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "arabic"), [("what is the weather today", False), ("احكي لي نكتة", True)]
)
async def test_out_of_scope_is_polite_suggests_and_is_logged(
    app: App, chat: Chat, message: str, arabic: bool
) -> None:
    buttons = only(await chat.say(message), QuickButtons)
    assert all(b.payload and b.payload.startswith("say:") for b in buttons.buttons)
    assert is_arabic(buttons.text) == arabic
    assert any(r["text"] == message for r in app.records.list_table("unanswered"))


async def test_a_photo_alone_is_answered(chat: Chat) -> None:
    replies = await chat.say(attachment="photo-1")
    assert kinds(replies) == ["text"]


async def test_replies_are_never_empty_for_text(chat: Chat) -> None:
    for message in ("؟", "...", "x", "🙂", "١٢٣"):
        assert await chat.say(message), message
    assert isinstance((await chat.say("👍"))[0], TextReply | QuickButtons)
