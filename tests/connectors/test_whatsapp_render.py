"""WhatsApp rendering within Meta's limits: trimmed titles, long payloads kept server side, split text."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.types import Button, Choice, Choices, QuickButtons, TextReply
from connectors.whatsapp import (
    MAX_ROW_DESCRIPTION,
    MAX_ROW_TITLE,
    trim,
)
from tests.connectors.conftest import Harness

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
