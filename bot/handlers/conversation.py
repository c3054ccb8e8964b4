"""Small talk and conversation control: greetings, help, language, hand-off, feedback, fallback."""

from __future__ import annotations

import re

from bot.turn import Turn
from bot.types import HandoffNotice, Reply

__all__ = [
    "affirm",
    "change_language",
    "deny",
    "feedback_wrong_info",
    "goodbye",
    "greet",
    "help_",
    "human_handoff",
    "out_of_scope",
    "record_feedback",
    "thanks",
]

_TO_ENGLISH = re.compile(r"english|انجليزي|إنجليزي|انقليزي|انقلش|انجلش|inglizi|engl", re.IGNORECASE)
_TO_ARABIC = re.compile(r"arabic|عربي|عربيه|العربية|3arabi|arabi", re.IGNORECASE)


def greet(turn: Turn) -> list[Reply]:
    """Hello and what I can do."""
    return [turn.examples("greet")]


def help_(turn: Turn) -> list[Reply]:
    """What I can do, with examples to tap."""
    return [turn.examples("help")]


def thanks(turn: Turn) -> list[Reply]:
    """You're welcome."""
    return [turn.text("thanks")]


def goodbye(turn: Turn) -> list[Reply]:
    """Goodbye; open questions are closed."""
    turn.state.pending = None
    return [turn.text("goodbye")]


def affirm(turn: Turn) -> list[Reply]:
    """Handle "yes" outside a question we asked."""
    return [turn.text("affirm_nothing")]


def deny(turn: Turn) -> list[Reply]:
    """Handle "no": it closes any open question."""
    turn.state.pending = None
    return [turn.text("deny_nothing")]


def change_language(turn: Turn) -> list[Reply]:
    """Switch to the language asked for (or the other one), and keep it."""
    text = turn.incoming.text
    if _TO_ENGLISH.search(text):
        target = "en"
    elif _TO_ARABIC.search(text):
        target = "ar"
    else:
        target = "en" if turn.lang == "ar" else "ar"
    turn.state.lang = target
    turn.state.lang_locked = True
    turn.lang = target
    turn.__post_init__()  # the formatter follows the new language
    return [turn.text("language_switched")]


def out_of_scope(turn: Turn) -> list[Reply]:
    """Politely decline, suggest what I can do, and log the question for editors."""
    turn.services.records.add_unanswered(
        turn.sender, turn.incoming.text, turn.parse.intent.name, turn.parse.intent.confidence, turn.lang
    )
    return [turn.examples("out_of_scope")]


def human_handoff(turn: Turn) -> list[Reply]:
    """Ask a person to take over and pause automatic answers."""
    ref = turn.services.records.add_handoff(turn.sender, turn.incoming.user_id, turn.incoming.text)
    turn.state.handoff = True
    turn.state.handoff_ref = ref
    turn.state.pending = None
    return [HandoffNotice(turn.t("handoff_started", ref=ref), ref)]


def record_feedback(turn: Turn, place_id: str | None, text: str) -> list[Reply]:
    """Store a "this is wrong" note for editors."""
    place = turn.store.get(place_id) if place_id else None
    field = _field(text)
    turn.services.records.add_feedback(turn.sender, place.id if place else None, field, text)
    turn.state.pending = None
    if place is None:
        return [turn.text("feedback_saved_general")]
    return [turn.text("feedback_saved", name=turn.fmt.name(place))]


_FIELDS = {
    "phone": re.compile(r"رقم|جوال|هاتف|تلفون|phone|number|call", re.IGNORECASE),
    "opening_hours": re.compile(r"مواعيد|دوام|ساع|يفتح|يقفل|يسكر|مغلق|مقفل|hours|open|close", re.IGNORECASE),
    "location": re.compile(r"موقع|مكان|خريطه|خريطة|عنوان|location|address|map|place", re.IGNORECASE),
    "website": re.compile(r"موقع الكتروني|رابط|website|link|url", re.IGNORECASE),
}


def _field(text: str) -> str | None:
    for name in ("website", "phone", "opening_hours", "location"):
        if _FIELDS[name].search(text):
            return name
    return None


def feedback_wrong_info(turn: Turn) -> list[Reply]:
    """Handle "this is wrong": about the named place, or the one we just talked about."""
    places = turn.places()
    place = places[0] if places else turn.recent_place()
    if place is None:
        turn.state.pending = {"kind": "feedback", "place": None, "asked": "place"}
        return [turn.text("feedback_which")]
    return record_feedback(turn, place.id, turn.incoming.text)
