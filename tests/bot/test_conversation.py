"""Conversations with Dalil in Arabic and English: every intent, context, time questions, the review queues.

Each test is a short exchange against the bundled Jeddah data (and, for hours logic, one made-up café),
run on SQLite + memory state and on PostgreSQL + Redis. Assertions check what a person relies on —
the kind of reply, the place ids, the facts from ``data/places`` — not the exact wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pytest

from bot.app import App
from bot.texts import FSI, PDI
from bot.types import (
    MAX_QUICK_BUTTONS,
    Choices,
    GeoPoint,
    HandoffNotice,
    LocationPin,
    PlaceCard,
    QuickButtons,
    Reply,
    RequestLocation,
    TextReply,
)
from tests.bot.conftest import HOURS_PLACE, Chat

ChatAt = Callable[..., Chat]
EASTERN = re.compile(r"[٠-٩]")
WESTERN = re.compile(r"[0-9]")
CORAL_MALL = GeoPoint(21.5433, 39.1728)  # Al-Andalus, near Coral Mall and Dr. Soliman Fakeeh Hospital
RAMADAN_1448_NIGHT = "2027-02-10T21:00"  # a Wednesday night inside Ramadan 1448 (8 Feb – 8 Mar 2027)


def plain(text: str) -> str:
    """Text without the bidi isolates (they are display hints, not content)."""
    return text.replace(FSI, "").replace(PDI, "")


def text_of(reply: Reply) -> str:
    """Everything a person reads in one reply."""
    if isinstance(reply, Choices):
        rows = [f"{o.title} {o.description or ''}" for o in reply.options]
        return plain("\n".join([reply.text, *rows]))
    if isinstance(reply, LocationPin):
        return plain(reply.name)
    return plain(reply.text)


def said(replies: Sequence[Reply]) -> str:
    """All replies of a turn as one text."""
    return "\n".join(text_of(r) for r in replies)


def kinds(replies: Sequence[Reply]) -> list[str]:
    return [r.kind for r in replies]


def payloads(reply: Reply) -> list[str]:
    if isinstance(reply, Choices):
        return [o.payload for o in reply.options]
    if isinstance(reply, QuickButtons | PlaceCard):
        return [b.payload for b in reply.buttons if b.payload]
    return []


def only(replies: Sequence[Reply], kind: type) -> Reply:
    found = [r for r in replies if isinstance(r, kind)]
    assert found, f"no {kind.__name__} in {kinds(replies)}: {said(replies)}"
    return found[0]


def is_arabic(text: str) -> bool:
    text = re.sub(r"https?://\S+", "", text)  # map links are in no language
    letters = [c for c in text if c.isalpha()]
    return sum("\u0600" <= c <= "\u06ff" for c in letters) > len(letters) / 2


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
    assert isinstance(buttons, QuickButtons)
    assert 1 <= len(buttons.buttons) <= MAX_QUICK_BUTTONS
    assert all(b.payload and b.payload.startswith("say:") for b in buttons.buttons)
    nearest = next(b for b in buttons.buttons if "مستشفى" in b.title or "hospital" in b.title.lower())
    tapped = await chat.say(payload=nearest.payload)
    assert kinds(tapped) == ["request_location"]
    where = next(b for b in buttons.buttons if "البلد" in b.title or "Al-Balad" in b.title)
    # "where is <named place>" is directions (DESIGN.md's intent boundaries): Al-Balad's pin
    pin = only(await chat.say(payload=where.payload), LocationPin)
    assert isinstance(pin, LocationPin)
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


# --- place facts: place_info, contact_info, directions, opening_hours -------------------------------


async def test_place_info_card_carries_the_facts_on_file(chat: Chat) -> None:
    replies = await chat.say("وش تعرف عن مستشفى فقيه")
    card = only(replies, PlaceCard)
    assert isinstance(card, PlaceCard)
    assert card.place_id == "dr-soliman-fakeeh-hospital"
    assert card.title == "مستشفى الدكتور سليمان فقيه"
    text = plain(card.text)
    assert "+966126655000" in text
    assert "21.525710%2C39.167780" in text  # Google Maps link from the coordinates
    assert "2026-11-24" in text  # last verified
    assert any(b.phone == "+966126655000" for b in card.buttons)
    assert f"wrong:{card.place_id}" in payloads(card)
    pin = only(replies, LocationPin)
    assert isinstance(pin, LocationPin)
    assert (pin.lat, pin.lon) == (21.52571, 39.16778)


async def test_place_info_in_english(chat: Chat) -> None:
    card = only(await chat.say("tell me about red sea mall"), PlaceCard)
    assert isinstance(card, PlaceCard)
    assert card.place_id == "red-sea-mall"
    assert card.title == "Red Sea Mall"
    assert "Hours not known" in card.text  # no hours on file: said, not guessed


async def test_contact_info_gives_the_phone_with_a_call_button(chat: Chat) -> None:
    replies = await chat.say("رقم مستشفى الدكتور سليمان فقيه")
    buttons = only(replies, QuickButtons)
    assert isinstance(buttons, QuickButtons)
    assert "+966126655000" in plain(buttons.text)
    assert any(b.phone == "+966126655000" for b in buttons.buttons)
    assert "place:dr-soliman-fakeeh-hospital" in payloads(buttons)  # the card one tap away


async def test_no_phone_on_file_says_so_and_offers_what_it_has(chat: Chat) -> None:
    # KFSH has a website but no phone in the data: never make a number up.
    replies = await chat.say("كم رقم مستشفى الملك فيصل التخصصي")
    text = said(replies)
    assert "https://www.kfshrc.edu.sa" in text
    assert "ما عندي رقم" in text
    assert not re.search(r"\+?966|0\d{8,}", text)
    buttons = only(replies, QuickButtons)
    assert isinstance(buttons, QuickButtons)
    assert not any(b.phone for b in buttons.buttons)


async def test_nothing_to_contact_says_so_and_shows_the_card(chat: Chat) -> None:
    replies = await chat.say("what's the phone number of red sea mall")
    assert kinds(replies) == ["text", "place_card"]
    assert "don't have a verified phone" in said(replies)
    card = replies[1]
    assert isinstance(card, PlaceCard)
    assert not any(b.phone for b in card.buttons)
    assert "📞" not in card.text


async def test_directions_give_map_links_and_a_pin(chat: Chat) -> None:
    replies = await chat.say("how do I get to red sea mall")
    assert kinds(replies) == ["buttons", "location"]
    text = said(replies)
    assert "https://www.google.com/maps/search/?api=1&query=21.626790%2C39.109960" in text
    assert "https://www.openstreetmap.org/?mlat=21.626790&mlon=39.109960" in text
    pin = replies[1]
    assert isinstance(pin, LocationPin)
    assert (pin.lat, pin.lon) == (21.62679, 39.10996)


async def test_directions_without_coordinates_give_the_address_and_a_search_by_name(chat: Chat) -> None:
    replies = await chat.say("وين القنصلية الهندية بالضبط كيف اروح لها")
    text = said(replies)
    assert "LocationPin" not in kinds(replies)
    assert "شارع التحلية" in text  # the address on file
    assert "query=21." not in text  # no invented pin: a map search by the name instead
    assert "google.com/maps/search/?api=1&query=%D8" in text


async def test_opening_hours_now_for_a_24_7_hospital(chat: Chat) -> None:
    replies = await chat.say("متى يفتح مستشفى الملك فهد")
    buttons = only(replies, QuickButtons)
    assert isinstance(buttons, QuickButtons)
    assert "24" in plain(buttons.text)
    assert "hours:king-fahd-hospital-jeddah" in payloads(buttons)


async def test_opening_hours_closed_now_says_when_it_opens(chat: Chat) -> None:
    # India's consulate: Su-Th 08:30-17:00; the clock is Tuesday 20:00.
    text = said(await chat.say("is the indian consulate open now?"))
    assert "Closed now" in text
    assert "tomorrow at 8:30 AM" in text


async def test_unknown_hours_are_not_guessed(chat: Chat) -> None:
    replies = await chat.say("متى يسكر رد سي مول")
    text = said(replies)
    assert "ما عندي مواعيد" in text
    assert not re.search(r"\d{1,2}:\d{2}", text)
    assert "hours:red-sea-mall" not in payloads(replies[0])


async def test_a_closed_for_good_place_is_closed(chat: Chat) -> None:
    # Atallah Happy Land: `opening_hours: "off"` (closed since October 2025).
    text = said(await chat.say("عطاالله مفتوح؟"))
    assert "مغلق" in text
    assert "يفتح" not in text


async def test_week_hours_button(chat: Chat) -> None:
    replies = await chat.say(payload="hours:india-consulate-jeddah")
    text = said(replies)
    assert text.count("8:30 ص–5:00 م") == 5  # Sunday to Thursday
    assert text.count("مغلق") == 2  # Friday, Saturday


# --- follow-ups use context ------------------------------------------------------------------------


async def test_arabic_follow_ups_use_the_last_place(chat: Chat) -> None:
    card = only(await chat.say("وش تعرف عن مستشفى فقيه"), PlaceCard)
    assert isinstance(card, PlaceCard)
    text = said(await chat.say("وكم رقمهم؟"))
    assert "+966126655000" in text
    assert "سليمان فقيه" in text


async def test_and_when_does_it_close(chat: Chat) -> None:
    await chat.say("tell me about the indian consulate")
    closing = said(await chat.say("and when does it close?"))
    assert "Consulate General of India" in closing
    assert "8:30 AM" in closing


async def test_english_follow_ups_use_the_last_place(chat: Chat) -> None:
    await chat.say("tell me about the indian consulate")
    closing = said(await chat.say("what time does it close?"))
    assert "Consulate General of India" in closing
    assert "8:30 AM" in closing
    phone = said(await chat.say("what's their phone number?"))
    assert "+966122614093" in phone
    directions = said(await chat.say("how do I get there?"))
    assert "Tahlia Street" in directions


async def test_a_follow_up_without_any_place_asks_which(chat: Chat) -> None:
    replies = await chat.say("وكم رقمهم؟")
    assert kinds(replies) == ["text"]
    # ... and the next message naming a place answers the question that was pending.
    text = said(await chat.say("مستشفى الدكتور سليمان فقيه"))
    assert "+966126655000" in text


# --- disambiguation --------------------------------------------------------------------------------


async def test_two_places_named_asks_which_and_a_button_chooses(chat: Chat) -> None:
    replies = await chat.say("kfsh or imc hospital phone")
    choices = only(replies, Choices)
    assert isinstance(choices, Choices)
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
    assert isinstance(choices, Choices)
    assert len(choices.options) <= 10
    second = payloads(choices)[1].removeprefix("place:")
    card = only(await chat.say("٢"), PlaceCard)
    assert isinstance(card, PlaceCard)
    assert card.place_id == second


async def test_a_stale_button_for_an_unknown_place_is_not_an_error(chat: Chat) -> None:
    replies = await chat.say(payload="place:no-such-place")
    assert replies  # falls back to the ordinary answer for an empty message


# --- find_place and nearest_place ------------------------------------------------------------------


async def test_find_by_category_lists_open_places_first(chat: Chat) -> None:
    choices = only(await chat.say("مستشفيات في جدة"), Choices)
    assert isinstance(choices, Choices)
    assert 1 <= len(choices.options) <= 5
    assert all(p.startswith("place:") for p in payloads(choices))
    assert "24" in (choices.options[0].description or "")  # the 24/7 hospitals are open: first


async def test_find_by_category_in_english(chat: Chat) -> None:
    choices = only(await chat.say("where is the consulate"), Choices)
    assert isinstance(choices, Choices)
    consulates = {p.removeprefix("place:") for p in payloads(choices)}
    assert consulates <= {"us-consulate-jeddah", "uk-consulate-jeddah", "india-consulate-jeddah"} | {
        c for c in consulates if "consulate" in c or c.startswith("vfs-")
    }


async def test_find_with_nothing_filed_in_the_district_lists_the_nearest_to_it(chat: Chat) -> None:
    replies = await chat.say("مولات في الحمراء")
    assert kinds(replies) == ["choices"]
    assert "الحمراء" in said(replies)
    assert "كم" in said(replies)  # distances from the district's centre


async def test_find_with_nothing_known_says_so(chat: Chat) -> None:
    replies = await chat.say("صيدلية في الحمراء")
    assert kinds(replies) == ["buttons"]  # the honest "none known" and a map search around the district
    assert "الحمراء" in said(replies)


async def test_nearest_asks_for_the_location_then_lists_distances(chat: Chat) -> None:
    ask = only(await chat.say("nearest hospital"), RequestLocation)
    assert isinstance(ask, RequestLocation)
    assert ask.button
    assert "nearest hospital" in ask.text  # reads as a sentence, not "nearest Hospital"
    choices = only(await chat.say(location=CORAL_MALL), Choices)
    assert isinstance(choices, Choices)
    assert payloads(choices)[0] == "place:dr-soliman-fakeeh-hospital"
    assert choices.options[0].description == "2.0 km"
    distances = [float(o.description.split()[0]) for o in choices.options if o.description]
    assert distances == sorted(distances)


async def test_nearest_uses_a_location_shared_earlier(chat: Chat) -> None:
    places = only(await chat.say(location=CORAL_MALL), Choices)  # a location on its own: what's near
    assert isinstance(places, Choices)
    assert places.options[0].description
    assert places.options[0].description.endswith("م")
    choices = only(await chat.say("أقرب مستشفى"), Choices)
    assert isinstance(choices, Choices)
    assert payloads(choices)[0] == "place:dr-soliman-fakeeh-hospital"
    assert "كم" in (choices.options[0].description or "")
    malls = only(await chat.say("nearest mall"), Choices)
    assert isinstance(malls, Choices)
    assert payloads(malls)[0] == "place:coral-mall"


async def test_nearest_with_nothing_on_the_map_says_so(chat: Chat) -> None:
    await chat.say("أقرب صيدلية")
    replies = await chat.say(location=CORAL_MALL)
    # No pharmacy with coordinates on file: say so, and offer a map search for pharmacies around the point.
    assert kinds(replies) == ["buttons"]
    assert "صيدلية" in said(replies)
    buttons = replies[0].buttons if isinstance(replies[0], QuickButtons) else ()
    assert [b.title for b in buttons] == ["ابحث في الخريطة"]
    url = buttons[0].url or ""
    assert url.startswith("https://www.google.com/maps/search/?api=1&query=")
    assert "21.54330%2C39.17280" in url


async def test_a_location_expires_after_an_hour(app: App, chat_at: ChatAt) -> None:
    first = chat_at("2026-11-24T20:00")
    await first.say(location=CORAL_MALL)
    soon = Chat(app, user=first.user, engine=chat_at("2026-11-24T20:45").engine)
    assert kinds(await soon.say("nearest hospital"))[0] == "choices"  # remembered for the hour
    later = Chat(app, user=first.user, engine=chat_at("2026-11-24T21:15").engine)
    assert kinds(await later.say("nearest hospital")) == ["request_location"]


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
    assert isinstance(card, PlaceCard)
    assert "closes at 11:00 PM" in card.text or "يقفل الساعة 11:00 م" in plain(card.text)
    assert "9:00 ص–11:00 م" in plain(card.text)
    friday = said(await chat.say("on Friday?"))
    assert "4:00 PM–11:30 PM" in friday
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
    assert isinstance(card, PlaceCard)
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
    text = said(await chat.say("في رمضان؟"))
    assert "في رمضان" in text
    assert "8:00 م–2:00 ص" in text


async def test_bundled_places_inside_ramadan(chat_at: ChatAt) -> None:
    chat = chat_at(RAMADAN_1448_NIGHT)
    # 24/7 hospitals stay open; a place without Ramadan hours keeps its regular ones, flagged as such.
    assert "24" in said(await chat.say("مستشفى الملك فهد مفتوح الحين؟"))
    consulate = said(await chat.say("القنصلية الهندية مفتوحة؟"))
    assert "مغلق" in consulate
    ramadan = said(await chat.say("في رمضان؟"))
    assert "8:30 ص–5:00 م" in ramadan
    assert "تتصل" in ramadan  # advises calling ahead rather than inventing Ramadan hours


async def test_municipality_office_hours_in_ramadan_follow_the_government_rule(chat_at: ChatAt) -> None:
    # Ramadan 1448, a Monday morning: the civil-service Ramadan hours (10:00-15:00, Sunday-Thursday) apply.
    chat = chat_at("2027-02-15T11:00")
    await chat.say("english please")
    text = said(await chat.say("is jeddah municipality open now?"))
    assert "Open now" in text
    assert "3:00 PM" in text
    assert "Ramadan" in text
    # Outside Ramadan no regular hours are on file: said, not guessed.
    later = chat_at("2026-12-06T11:00")
    await later.say("english please")
    assert "not known" in said(await later.say("is jeddah municipality open now?")).lower()


# --- municipal services ----------------------------------------------------------------------------


async def test_municipal_service_balady(chat: Chat) -> None:
    replies = await chat.say("ابي اطلع بلدي")
    buttons = only(replies, QuickButtons)
    assert isinstance(buttons, QuickButtons)
    assert "https://balady.gov.sa" in plain(buttons.text)
    assert any(b.url == "https://balady.gov.sa" for b in buttons.buttons)


async def test_municipal_service_in_english(chat: Chat) -> None:
    text = said(await chat.say("how do I volunteer"))
    assert "Volunteering" in text
    assert "How:" in text


async def test_how_to_file_a_940_report_explains_the_service(chat: Chat) -> None:
    replies = await chat.say("كيف اقدم بلاغ 940")
    text = said(replies)
    assert "940" in text
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
    assert isinstance(notice, HandoffNotice)
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
    assert isinstance(notice, HandoffNotice)
    assert "team" in notice.text
    other = Chat(app, user=f"{chat.user}-other")
    assert kinds(await other.say("hello")) == ["buttons"]
    assert "team" in said(await chat.say("hello"))  # acknowledged, not answered


# --- feedback_wrong_info ---------------------------------------------------------------------------


async def test_wrong_button_asks_what_then_stores_it(app: App, chat: Chat) -> None:
    card = only(await chat.say("وش تعرف عن مستشفى فقيه"), PlaceCard)
    assert isinstance(card, PlaceCard)
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


# --- language --------------------------------------------------------------------------------------


async def test_reply_language_follows_each_message(chat: Chat) -> None:
    assert is_arabic(said(await chat.say("وين رد سي مول")))
    assert not is_arabic(said(await chat.say("where is red sea mall")))
    assert is_arabic(said(await chat.say("شكرا")))


async def test_explicit_language_switch_is_sticky(chat: Chat) -> None:
    switched = await chat.say("كلمني بالانجليزي")
    assert not is_arabic(said(switched))
    card = only(await chat.say("وش تعرف عن رد سي مول"), PlaceCard)
    assert isinstance(card, PlaceCard)
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
    buttons = only(await chat.say("رقم مستشفى الدكتور سليمان فقيه"), QuickButtons)
    assert isinstance(buttons, QuickButtons)
    assert "+966126655000" in plain(buttons.text)
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
    replies = await chat.say(message)
    buttons = only(replies, QuickButtons)
    assert isinstance(buttons, QuickButtons)
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
