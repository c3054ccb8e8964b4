"""Small talk and conversation control: greetings, help, language, hand-off, feedback, fallback."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from bot import actions
from bot.lexicon import words
from bot.records import new_reference
from bot.state import AskFeedback, UserState
from bot.turn import Services, Turn
from bot.types import Button, HandoffNotice, Incoming, QuickButtons, Reply, TextReply

__all__ = [
    "HandoffWait",
    "affirm",
    "brief_greeting",
    "change_language",
    "deny",
    "feedback_wrong_info",
    "frustration",
    "goodbye",
    "greet",
    "help_",
    "human_handoff",
    "out_of_scope",
    "record_feedback",
    "thanks",
    "while_handed_off",
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
    command = turn.incoming.command
    asked = command.argument.strip().lower()[:2] if command is not None else ""
    if asked in ("ar", "en"):
        target = asked
    elif _TO_ENGLISH.search(text):
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
    turn.later(
        turn.services.records.add_unanswered,
        turn.sender,
        turn.incoming.text,
        turn.parse.intent.name,
        turn.parse.intent.confidence,
        turn.lang,
    )
    return [turn.examples("out_of_scope")]


def human_handoff(turn: Turn) -> list[Reply]:
    """Ask a person to take over; answers pause until they reply, the person cancels, or time runs out."""
    ref = new_reference("H")
    turn.later(turn.services.records.add_handoff, turn.sender, turn.incoming.user_id, turn.incoming.text, ref)
    turn.state.handoff = True
    turn.state.handoff_ref = ref
    turn.state.handoff_at = turn.now.timestamp()
    turn.state.pending = None
    minutes = round(turn.services.handoff_max_s / 60)
    return [HandoffNotice(turn.t("handoff_started", ref=ref, minutes=minutes), ref)]


def frustration(turn: Turn) -> list[Reply]:
    """An apology and a way forward (help, or a person), not a hand-off the person did not ask for."""
    buttons = (
        Button(turn.t("button_help"), payload=actions.say(turn.t("say_help"))),
        Button(turn.t("button_person"), payload=actions.say(turn.t("say_person"))),
    )
    return [QuickButtons(turn.t("frustration"), buttons)]


def brief_greeting(turn: Turn, greeting: str) -> Reply | None:
    """A short greeting back when a message opened with one and went on to ask something."""
    said = {s.word for s in words(greeting)}
    if said & {"السلام", "سلام", "salam", "assalamu", "assalam"}:
        key = "greet_brief_salam"
    elif said & {"مساء", "evening"}:
        key = "greet_brief_evening"
    elif said & {"صباح", "morning"}:
        key = "greet_brief_morning"
    elif said & {
        "مرحبا",
        "هلا",
        "اهلا",
        "اهلين",
        "مرحبتين",
        "hello",
        "hi",
        "hey",
        "marhaba",
        "hala",
        "ahlan",
    }:
        key = "greet_brief"
    else:
        return None  # "please", "excuse me": a courtesy, not a greeting to answer
    return turn.text(key)


@dataclass(frozen=True)
class HandoffWait:
    """What happens to a message while a person is to take over."""

    answer: list[Reply] | None = None
    """Replies that end the turn (an acknowledgement, a cancel); None: answer the message normally."""
    released_key: str | None = None
    """The hand-off just ended (by staff or by time): say so with this response key, then answer."""
    writes: list[Callable[[], object]] = field(default_factory=list)
    """Database writes to run off the event loop (see :meth:`bot.turn.Turn.later`)."""


def while_handed_off(
    services: Services, incoming: Incoming, state: UserState, now: datetime, still_open: bool
) -> HandoffWait:
    """Never silent: acknowledge while waiting, release on "cancel" or after ``handoff_max_s``.

    ``still_open``: whether staff have not released the hand-off yet (read by the engine off the loop).
    """
    ref = state.handoff_ref or ""
    lang = state.lang or "ar"
    release = partial(services.records.release_handoff, ref)

    def released() -> None:
        state.handoff, state.handoff_ref, state.handoff_at = False, None, None

    if not ref or not still_open:
        released()
        return HandoffWait(released_key="handoff_released")
    if incoming.text and services.lexicon.only_cancel(incoming.text):
        released()
        return HandoffWait([TextReply(services.texts.get(lang, "handoff_cancelled"))], writes=[release])
    started = state.handoff_at if state.handoff_at is not None else now.timestamp()
    if now.timestamp() - started > services.handoff_max_s:
        released()
        return HandoffWait(released_key="handoff_timed_out", writes=[release])
    writes: list[Callable[[], object]] = []
    if incoming.text or incoming.location or incoming.attachment:
        text = incoming.text or "(location/photo)"
        writes.append(partial(services.records.add_handoff_message, ref, text))
    cancel = services.texts.get(lang, "button_cancel_handoff")
    button = Button(cancel, payload=actions.say(services.texts.get(lang, "say_cancel")))
    reply = QuickButtons(services.texts.get(lang, "handoff_waiting", ref=ref), (button,))
    return HandoffWait([reply], writes=writes)


def record_feedback(turn: Turn, place_id: str | None, text: str) -> list[Reply]:
    """Store a "this is wrong" note for editors."""
    place = turn.store.get(place_id) if place_id else None
    field = _field(text)
    turn.later(turn.services.records.add_feedback, turn.sender, place.id if place else None, field, text)
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
        turn.state.pending = AskFeedback(None)  # we asked which place
        return [turn.text("feedback_which")]
    return record_feedback(turn, place.id, turn.incoming.text)
