"""Channel commands reach the engine typed (``/help``, ``/lang en``, ``/near pharmacy``), not as sentences."""

from __future__ import annotations

from bot.app import App
from bot.state import ReportDraft, user_key
from bot.types import Command, Incoming, QuickButtons, RequestLocation, TextReply


async def test_lang_switches_and_keeps_the_language(app: App) -> None:
    replies = await app.handle(Incoming("test", "cmd-1", command=Command("lang", "en")))
    assert [r.text for r in replies if isinstance(r, TextReply)] == [
        "Sure, I'll answer in English from now on."
    ]
    assert await app.language("test", "cmd-1") == "en"
    again = await app.handle(Incoming("test", "cmd-1", command=Command("lang")))  # no argument: the other one
    assert await app.language("test", "cmd-1") == "ar"
    assert isinstance(again[0], TextReply)
    assert "بالعربي" in again[0].text


async def test_help_in_the_person_s_language_ends_an_open_report(app: App) -> None:
    await app.handle(Incoming("test", "cmd-2", text="ابغى ابلغ عن حفرة"))
    state = await app.states.get(user_key("test", "cmd-2"))
    assert isinstance(state.pending, ReportDraft)
    replies = await app.handle(Incoming("test", "cmd-2", command=Command("help"), lang_hint="en"))
    assert isinstance(replies[0], QuickButtons)
    assert "Balady" not in replies[0].text  # Arabic: the conversation was in Arabic already
    assert "940" in replies[0].text
    assert (await app.states.get(user_key("test", "cmd-2"))).pending is None


async def test_near_asks_for_a_location_for_the_kind_named(app: App) -> None:
    replies = await app.handle(Incoming("test", "cmd-3", command=Command("near", "hospital"), lang_hint="en"))
    asks = [r for r in replies if isinstance(r, RequestLocation)]
    assert asks, replies
    assert "hospital" in asks[0].text.lower()
