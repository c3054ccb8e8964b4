"""Conversations about time: "open tomorrow at 9?", "on Friday?", closing soon, holidays and Ramadan.

The clock is pinned with ``chat_at``; the hours logic is exercised precisely on a made-up café
(``HOURS_PLACE``, tests/bot/conftest.py) whose regular, Ramadan and holiday hours are known.
"""

from __future__ import annotations

import pytest

from bot.types import LocationPin, PlaceCard
from tests.bot.conftest import HOURS_PLACE, Chat, ChatAt
from tests.bot.replies import kinds, only, plain, said, says

RAMADAN_1448_NIGHT = "2027-02-10T21:00"  # a Wednesday night inside Ramadan 1448 (8 Feb – 8 Mar 2027)


# --- time questions --------------------------------------------------------------------------------


async def test_open_tomorrow_at_9_pm(chat: Chat) -> None:
    text = said(await chat.say("is the indian consulate open tomorrow at 9 pm?"))
    assert text.startswith("No")
    assert "8:30 AM–5:00 PM" in text
    text = said(await chat.say("and tomorrow at 10 am?"))
    assert text.startswith("Yes")


@pytest.mark.parametrize(
    "friday", ["is the indian consulate open on Friday?", "القنصلية الهندية تفتح يوم الجمعة؟"]
)
async def test_on_friday(chat: Chat, friday: str) -> None:
    text = said(await chat.say(friday))
    assert "Friday" in text or "الجمعة" in text
    assert "closed" in text or "مغلق" in text
    assert "tomorrow" not in text
    assert "بكرة" not in text


async def test_time_follow_ups_keep_the_place(chat: Chat) -> None:
    await chat.say("القنصلية الهندية مفتوحة؟")
    assert "الجمعة" in said(await chat.say("يوم الجمعة؟"))
    assert "8:30" in said(await chat.say("on Sunday?"))
    ramadan = said(await chat.say("في رمضان؟"))
    assert "رمضان" in ramadan
    assert "8:30 ص–5:00 م" in ramadan  # its usual hours, with a note that Ramadan hours may differ


async def test_hours_logic_regular_days(chat_at: ChatAt) -> None:
    chat = chat_at("2026-11-24T20:00", hours=True)  # Tuesday 20:00: open until 23:00
    card = only(await chat.say(payload=f"place:{HOURS_PLACE}"), PlaceCard)
    assert "closes at 11:00 PM" in card.text or "يقفل الساعة 11:00 م" in plain(card.text)
    assert "9:00 ص–11:00 م" in plain(card.text)
    await says(chat, "on Friday?", "4:00 PM–11:30 PM")
    morning = said(await chat.say("open tomorrow at 8 am?"))
    assert morning.startswith("No")
    assert "9:00 AM–11:00 PM" in morning


async def test_hours_logic_closing_soon_and_opening_later_today(chat_at: ChatAt) -> None:
    late = chat_at("2026-11-24T22:30", hours=True)
    await late.say("english please")
    assert "closes soon, at 11:00 PM" in said(await late.say(payload=f"place:{HOURS_PLACE}"))
    friday_noon = chat_at("2026-11-27T12:00", hours=True)
    await friday_noon.say("english please")
    assert "opens today at 4:00 PM" in said(await friday_noon.say(payload=f"place:{HOURS_PLACE}"))


async def test_special_hours_override_the_regular_ones(chat_at: ChatAt) -> None:
    chat = chat_at("2026-11-30T23:30", hours=True)  # Monday night; Tuesday 1 Dec is a holiday
    await chat.say("english please")
    text = said(await chat.say(payload=f"place:{HOURS_PLACE}"))
    assert "Closed now" in text
    assert "Wednesday at 9:00 AM" in text  # skips the holiday


# --- Ramadan ---------------------------------------------------------------------------------------


async def test_ramadan_hours_apply_inside_ramadan(chat_at: ChatAt) -> None:
    chat = chat_at(RAMADAN_1448_NIGHT, hours=True)
    card = only(await chat.say(payload=f"place:{HOURS_PLACE}"), PlaceCard)
    text = plain(card.text)
    assert "دوام رمضان" in text  # the Ramadan layer is named
    assert "8:00 م–2:00 ص" in text


async def test_ramadan_afternoon_closed_until_iftar_hours(chat_at: ChatAt) -> None:
    chat = chat_at("2027-02-10T13:00", hours=True)
    await chat.say("english please")
    text = said(await chat.say(payload=f"place:{HOURS_PLACE}"))
    assert "Closed now" in text
    assert "opens today at 8:00 PM" in text
    assert "Ramadan" in text


async def test_asking_about_ramadan_before_it_starts(chat_at: ChatAt) -> None:
    chat = chat_at("2026-11-24T20:00", hours=True)
    await chat.say(payload=f"place:{HOURS_PLACE}")
    await says(chat, "في رمضان؟", "في رمضان", "8:00 م–2:00 ص")


async def test_bundled_places_inside_ramadan(chat_at: ChatAt) -> None:
    chat = chat_at(RAMADAN_1448_NIGHT)
    # 24/7 hospitals stay open; a place without Ramadan hours keeps its regular ones, flagged as such.
    assert "24" in said(await chat.say("مستشفى الملك فهد مفتوح الحين؟"))
    await says(chat, "القنصلية الهندية مفتوحة؟", "مغلق")
    ramadan = said(await chat.say("في رمضان؟"))
    assert "8:30 ص–5:00 م" in ramadan
    assert "تتصل" in ramadan  # advises calling ahead rather than inventing Ramadan hours


async def test_municipality_office_hours_in_ramadan_follow_the_government_rule(chat_at: ChatAt) -> None:
    # Ramadan 1448, a Monday morning: the civil-service Ramadan hours (10:00-15:00, Sunday-Thursday) apply.
    chat = chat_at("2027-02-15T11:00")
    await chat.say("english please")
    await says(chat, "is jeddah municipality open now?", "Open now", "3:00 PM", "Ramadan")
    # Outside Ramadan no regular hours are on file: said, not guessed.
    later = chat_at("2026-12-06T11:00")
    await later.say("english please")
    assert "not known" in said(await later.say("is jeddah municipality open now?")).lower()


@pytest.mark.parametrize(
    "question", ["وين رد سي مول ومتى يسكر؟", "where is red sea mall and what time does it close"]
)
async def test_where_and_when_in_one_question_gets_the_hours_and_the_pin(chat: Chat, question: str) -> None:
    replies = await chat.say(question)
    pin = only(replies, LocationPin)
    assert (round(pin.lat, 4), round(pin.lon, 4)) == (21.6268, 39.11)
    assert any(w in said(replies) for w in ("مواعيد", "hours"))  # the hours part is answered too


async def test_a_plain_hours_question_gets_no_pin(chat: Chat) -> None:
    assert "location_pin" not in kinds(await chat.say("متى يسكر رد سي مول"))
