"""Conversations about places: what a place is, its phone, the way there, its hours, and what is nearest.

Run against the bundled Jeddah data on both backends (tests/bot/conftest.py); answers are checked
against the facts in ``data/places``, and what is not on file must be said, never guessed.
"""

from __future__ import annotations

import re

from bot.app import App
from bot.types import Choices, LocationPin, PlaceCard, QuickButtons, RequestLocation
from tests.bot.conftest import CORAL_MALL, Chat, ChatAt
from tests.bot.replies import buttons_saying, kinds, only, payloads, plain, said, says

# --- place facts: place_info, contact_info, directions, opening_hours -------------------------------


async def test_place_info_card_carries_the_facts_on_file(chat: Chat) -> None:
    replies = await chat.say("وش تعرف عن مستشفى فقيه")
    card = only(replies, PlaceCard)
    assert card.place_id == "dr-soliman-fakeeh-hospital"
    assert card.title == "مستشفى الدكتور سليمان فقيه"
    text = plain(card.text)
    assert "+966126655000" in text
    assert "21.525710%2C39.167780" in text  # Google Maps link from the coordinates
    assert "2026-11-24" in text  # last verified
    assert any(b.phone == "+966126655000" for b in card.buttons)
    assert f"wrong:{card.place_id}" in payloads(card)
    pin = only(replies, LocationPin)
    assert (pin.lat, pin.lon) == (21.52571, 39.16778)


async def test_place_info_in_english(chat: Chat) -> None:
    card = only(await chat.say("tell me about red sea mall"), PlaceCard)
    assert card.place_id == "red-sea-mall"
    assert card.title == "Red Sea Mall"
    assert "Hours not known" in card.text  # no hours on file: said, not guessed


async def test_contact_info_gives_the_phone_with_a_call_button(chat: Chat) -> None:
    buttons = await buttons_saying(chat, "رقم مستشفى الدكتور سليمان فقيه", "+966126655000")
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
    buttons = await buttons_saying(chat, "متى يفتح مستشفى الملك فهد", "24")
    assert "hours:king-fahd-hospital-jeddah" in payloads(buttons)


async def test_opening_hours_closed_now_says_when_it_opens(chat: Chat) -> None:
    # India's consulate: Su-Th 08:30-17:00; the clock is Tuesday 20:00.
    await says(chat, "is the indian consulate open now?", "Closed now", "tomorrow at 8:30 AM")


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


# --- find_place and nearest_place ------------------------------------------------------------------


async def test_find_by_category_lists_open_places_first(chat: Chat) -> None:
    choices = only(await chat.say("مستشفيات في جدة"), Choices)
    assert 1 <= len(choices.options) <= 5
    assert all(p.startswith("place:") for p in payloads(choices))
    assert "24" in (choices.options[0].description or "")  # the 24/7 hospitals are open: first


async def test_find_by_category_in_english(chat: Chat) -> None:
    choices = only(await chat.say("where is the consulate"), Choices)
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
    assert ask.button
    assert "nearest hospital" in ask.text  # reads as a sentence, not "nearest Hospital"
    choices = only(await chat.say(location=CORAL_MALL), Choices)
    assert payloads(choices)[0] == "place:dr-soliman-fakeeh-hospital"
    assert choices.options[0].description == "2.0 km"
    distances = [float(o.description.split()[0]) for o in choices.options if o.description]
    assert distances == sorted(distances)


async def test_nearest_uses_a_location_shared_earlier(chat: Chat) -> None:
    places = only(await chat.say(location=CORAL_MALL), Choices)  # a location on its own: what's near
    assert places.options[0].description
    assert places.options[0].description.endswith("م")
    choices = only(await chat.say("أقرب مستشفى"), Choices)
    assert payloads(choices)[0] == "place:dr-soliman-fakeeh-hospital"
    assert "كم" in (choices.options[0].description or "")
    malls = only(await chat.say("nearest mall"), Choices)
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
