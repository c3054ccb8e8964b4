"""The dialogue engine: one ``Incoming`` in, a list of channel-neutral replies out.

Per message: serialise on the user, load state, pick the language, then either continue what we asked
(a choice, a location, a report step) or route the parsed intent to its handler, and save state.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from bot import actions
from bot.decide import decide, read_message
from bot.handlers import conversation, places, search, services
from bot.lexicon import words
from bot.metrics import Metrics
from bot.records import Sender
from bot.state import (
    AskFeedback,
    AwaitLocation,
    ChoosePlace,
    NeedPlace,
    ReportDraft,
    StateStore,
    UserState,
    user_key,
)
from bot.turn import Handler, Services, Turn
from bot.types import Command, Incoming, Reply, TextReply
from nlu.types import Entity, IntentScore, NluUnavailableError, Parse, Parser

__all__ = ["HANDLERS", "Engine"]

log = logging.getLogger(__name__)

HANDLERS: Mapping[str, Handler] = {
    "greet": conversation.greet,
    "help": conversation.help_,
    "thanks": conversation.thanks,
    "goodbye": conversation.goodbye,
    "affirm": conversation.affirm,
    "deny": conversation.deny,
    "change_language": conversation.change_language,
    "out_of_scope": conversation.out_of_scope,
    "human_handoff": conversation.human_handoff,
    "frustration": conversation.frustration,
    "feedback_wrong_info": conversation.feedback_wrong_info,
    "place_info": places.place_info,
    "opening_hours": places.opening_hours,
    "contact_info": places.contact_info,
    "directions": places.directions,
    "find_place": search.find_place,
    "nearest_place": search.nearest_place,
    "municipal_service": services.municipal_service,
    "report_issue": services.report_issue,
}
COMMAND_INTENTS: Mapping[str, str] = {
    "start": "greet",
    "help": "help",
    "lang": "change_language",
    "near": "nearest_place",
}
"""What each channel command (:class:`bot.types.Command`) asks for."""
PLACE_INTENTS = frozenset({"place_info", "opening_hours", "contact_info", "directions"})
# When the intent is unsure, an entity says more about what the person wants than a guess does.
_BY_ENTITY = {
    "place": "place_info",
    "service": "municipal_service",
    "category": "find_place",
    "district": "find_place",
}
SHORT_SEARCH_WORDS = 4
"""An unsure message this short that names a kind of place ("صيدلية؟") is a search for it."""
FOLLOW_UP_CONFIDENCE = 0.25
"""A place intent this sure is taken when the conversation is already about a place."""
_EASTERN = re.compile(r"[٠-٩۰-۹]")
_WESTERN = re.compile(r"[0-9]")
_LATIN = re.compile(r"[A-Za-z]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_CHOICE_NUMBER = re.compile(r"^\s*([0-9٠-٩]{1,2})\s*$")


class Engine:
    """Answers messages; safe to share between concurrent tasks."""

    def __init__(
        self,
        services: Services,
        parser: Parser,
        states: StateStore,
        clock: Callable[[], datetime],
        handlers: Mapping[str, Handler] = HANDLERS,
        metrics: Metrics | None = None,
    ) -> None:
        """Wire the engine; ``clock`` gives aware Riyadh time (``DALIL_NOW`` pins it)."""
        self.services = services
        self.parser = parser
        self.states = states
        self.clock = clock
        self.handlers = handlers
        self.metrics = metrics

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer one message. Never raises for anything the person sent.

        When the NLU backend is down the answer is a polite "try again" (and ``dalil_nlu_failures_total``
        counts it), never an error.
        """
        if "\x00" in incoming.text:  # no database keeps a NUL in text, and no person means one
            incoming = replace(incoming, text=incoming.text.replace("\x00", ""))
        key = user_key(incoming.channel, incoming.user_id)
        async with self.states.lock(key):
            state = await self.states.get(key)
            started = time.perf_counter()
            still_open = await self._handoff_still_open(state)
            writes: list[Callable[[], object]] = []
            try:
                if hasattr(self.parser, "aparse"):
                    # A parser that asks a server (Rasa) may wait for seconds: on the event loop that would
                    # hold up every other conversation. The embedded model's parse is CPU work well under
                    # a millisecond, less than the thread hop costs (docs/benchmarks.md).
                    replies, intent = await asyncio.to_thread(
                        self._answer, incoming, state, key, still_open, writes
                    )
                else:
                    replies, intent = self._answer(incoming, state, key, still_open, writes)
            except NluUnavailableError:
                replies, intent = self._nlu_down(incoming, state, key), "nlu_unavailable"
            if writes:  # reports, hand-offs, feedback, unanswered questions (also those queued before an
                # NLU failure, e.g. a timed-out hand-off's release): the database may be slow
                await asyncio.to_thread(_run, writes)
            state.turns += 1
            await self.states.put(key, state)
        seconds = time.perf_counter() - started
        if self.metrics is not None:
            self.metrics.turns.labels(incoming.channel, intent).inc()
            self.metrics.turn_seconds.labels(incoming.channel).observe(seconds)
        log.info(
            "turn",
            extra={
                "user": key,
                "channel": incoming.channel,
                "intent": intent,
                "replies": len(replies),
                "ms": round(seconds * 1000, 2),
            },
        )
        return replies

    def _nlu_down(self, incoming: Incoming, state: UserState, key: str) -> list[Reply]:
        """A polite "try again" in the conversation's language, counted and logged."""
        log.warning("nlu_unavailable", extra={"user": key, "channel": incoming.channel}, exc_info=True)
        if self.metrics is not None:
            self.metrics.nlu_failures.labels(incoming.channel).inc()
        hint = incoming.lang_hint if incoming.lang_hint in ("ar", "en") else None
        return [TextReply(self.services.texts.get(state.lang or hint or "ar", "nlu_unavailable"))]

    async def _handoff_still_open(self, state: UserState) -> bool:
        """Whether the conversation's hand-off still waits for staff (read off the event loop)."""
        if not state.handoff or not state.handoff_ref:
            return False
        return await asyncio.to_thread(self.services.records.handoff_open, state.handoff_ref)

    def _answer(
        self,
        incoming: Incoming,
        state: UserState,
        key: str,
        still_open: bool,
        writes: list[Callable[[], object]],
    ) -> tuple[list[Reply], str]:
        """The replies and the intent; database writes the answer needs are added to ``writes``."""
        sender = Sender(key, incoming.channel)
        now = self.clock()
        said = actions.decode(incoming.payload)
        if said is not None and said.kind == "say":
            incoming = replace(incoming, text=said.value, payload=None)
        released: str | None = None
        if state.handoff:
            waiting = conversation.while_handed_off(self.services, incoming, state, now, still_open)
            writes += waiting.writes
            if waiting.answer is not None:
                return waiting.answer, "paused_for_handoff"
            released = waiting.released_key
        if incoming.command is not None:
            return self._command(incoming, incoming.command, state, sender, now, released, writes)
        reading = read_message(self.services.lexicon, self.parser, incoming.text.strip())
        incoming = replace(incoming, text=reading.question)
        lang = self._language(incoming, reading.parse, state)
        turn = Turn(incoming, reading.parse, state, lang, now, self.services, sender, story=reading.story)
        turn.writes = writes
        replies: list[Reply] = [turn.text(released)] if released else []
        answer = self._route(turn)
        greeting = conversation.brief_greeting(turn, reading.greeting) if reading.greeting else None
        if greeting is not None and turn.intent not in ("greet", "help"):
            replies.append(greeting)
        replies += answer
        if turn.intent not in ("", "out_of_scope", "frustration", "thanks", "greet"):
            state.last_intent = turn.intent  # a stray "thanks" does not end a run of searches
        return replies, turn.intent or "none"

    def _command(
        self,
        incoming: Incoming,
        command: Command,
        state: UserState,
        sender: Sender,
        now: datetime,
        released: str | None,
        writes: list[Callable[[], object]],
    ) -> tuple[list[Reply], str]:
        """A channel command answers its intent directly; only ``/near``'s kind of place is parsed."""
        intent = COMMAND_INTENTS[command.name]
        text = command.argument.strip() if command.name == "near" else ""
        parse = self.parser.parse(text) if text else Parse("", IntentScore(intent, 1.0), (), (), "ar")
        parse = replace(parse, intent=IntentScore(intent, 1.0))
        hint = incoming.lang_hint if incoming.lang_hint in ("ar", "en") else None
        state.lang = lang = state.lang or hint or "ar"
        turn = Turn(replace(incoming, text=text), parse, state, lang, now, self.services, sender)
        turn.writes = writes
        turn.intent = intent
        if intent != "greet":
            state.pending = None  # an explicit command ends any open question (as greetings do not)
            state.last_intent = intent
        replies: list[Reply] = [turn.text(released)] if released else []
        return [*replies, *self.handlers[intent](turn)], intent

    def _language(self, incoming: Incoming, parse: Parse, state: UserState) -> str:
        if _EASTERN.search(incoming.text):
            state.eastern_digits = True
        elif _WESTERN.search(incoming.text):
            state.eastern_digits = False
        if state.lang_locked and state.lang:
            return state.lang
        detected = parse.lang if parse.text and any(ch.isalpha() for ch in parse.text) else None
        latin = bool(_LATIN.search(parse.text)) and not _ARABIC.search(parse.text)
        lexicon = self.services.lexicon
        arabizi_words = latin and lexicon.arabizi.among(parse.text)
        if detected == "en" and arabizi_words:
            detected = "ar"  # "feen red sea mall": Arabic in Latin letters
        elif detected == "ar" and latin and not arabizi_words and lexicon.english.among(parse.text):
            detected = "en"  # "is it open at 3am?": a digit in a word, but English
        if detected == "ar" and latin:
            state.arabizi = True  # Arabic in Latin letters: answered in Arabic from now on
        elif detected == "en" and state.arabizi:
            if lexicon.english.among(parse.text):
                state.arabizi = False  # "what's the phone of …": plain English now, answered in English
            else:
                detected = "ar"  # "red sea mall?" from an Arabizi writer: still Arabic
        lang = (
            detected
            or state.lang
            or (incoming.lang_hint if incoming.lang_hint in ("ar", "en") else None)
            or "ar"
        )
        state.lang = lang
        return lang

    def _route(self, turn: Turn) -> list[Reply]:
        incoming, state = turn.incoming, turn.state
        if incoming.payload:
            answered = self._payload(turn, incoming.payload)
            if answered is not None:
                return answered
        pending = state.pending
        kind = pending.kind if pending is not None else None
        if isinstance(pending, ReportDraft):
            return services.continue_report(turn)
        if incoming.location is not None:
            state.location = [incoming.location.lat, incoming.location.lon, turn.now.timestamp()]
            if isinstance(pending, AwaitLocation):
                return search.show_location_results(
                    turn, (incoming.location.lat, incoming.location.lon), pending.category
                )
            if not incoming.text:
                return search.show_location_results(
                    turn, (incoming.location.lat, incoming.location.lon), None
                )
        if isinstance(pending, ChoosePlace):
            chosen = self._numbered_choice(turn, pending)
            if chosen is not None:
                return chosen
        if isinstance(pending, AskFeedback) and incoming.text:
            place_id = pending.place
            if place_id is None:  # we asked which place: this answer names it
                named = turn.places()
                place_id = named[0].id if named else None
            return conversation.record_feedback(turn, place_id, incoming.text)
        if not incoming.text and incoming.attachment:
            return [turn.text("unsupported_message")]
        if not incoming.text:
            return [turn.examples("help")] if incoming.location is None else []
        intent = self._intent(turn)
        if isinstance(pending, NeedPlace) and intent not in PLACE_INTENTS and turn.parse.first("place"):
            intent = pending.intent
        if kind == "nearest" and intent == "out_of_scope" and turn.parse.first("category"):
            intent = "nearest_place"
        searching = intent in ("find_place", "nearest_place", "out_of_scope")
        if kind == "nearest" and searching and turn.parse.first("district") and not turn.parse.first("place"):
            # "search from a district instead": the kind we were asked for, in that district
            category = pending.category if isinstance(pending, AwaitLocation) else None
            if category and not turn.parse.first("category"):
                turn.parse = replace(
                    turn.parse,
                    entities=(*turn.parse.entities, Entity("category", str(category), 0, 0, "", 1.0)),
                )
            intent = "find_place"
        intent = decide(turn, intent)
        if intent not in ("affirm", "deny", "thanks", "greet"):
            state.pending = None
        turn.intent = intent
        handler = self.handlers.get(intent, conversation.out_of_scope)
        return handler(turn)

    def _intent(self, turn: Turn) -> str:
        parse = turn.parse
        intent = parse.intent.name
        if parse.intent.confidence >= self.services.confidence_threshold:
            return intent
        lexicon = self.services.lexicon
        searching = len(words(turn.incoming.text)) <= SHORT_SEARCH_WORDS or any(
            phrases.among(turn.incoming.text) for phrases in (lexicon.where, lexicon.recommend)
        )
        for entity in parse.entities:
            if entity.entity in _BY_ENTITY and (searching or entity.entity in ("place", "service")):
                # "ليش تطبيق البنك ما يفتح" names a kind of place but asks about an app: not a search
                return _BY_ENTITY[entity.entity]
        if turn.state.last_places:
            # A short follow-up about the place just discussed ("and when does it close?", "on Friday?")
            # often scores low on its own; the conversation makes it clear.
            if intent in PLACE_INTENTS and parse.intent.confidence >= FOLLOW_UP_CONFIDENCE:
                return intent
            if parse.first("time") is not None:
                return "opening_hours"
        pending = turn.state.pending
        if isinstance(pending, NeedPlace):
            hits = turn.store.search(turn.incoming.text, lang=turn.lang, limit=1, min_score=80)
            if hits:
                turn.parse = replace(
                    parse,
                    entities=(
                        Entity(
                            "place", hits[0].place.id, 0, len(parse.text), parse.text, hits[0].score / 100
                        ),
                    ),
                )
                return pending.intent
        return "out_of_scope"

    def _numbered_choice(self, turn: Turn, pending: ChoosePlace) -> list[Reply] | None:
        match = _CHOICE_NUMBER.match(turn.incoming.text)
        options = pending.options
        ordinal = self.services.lexicon.ordinal(turn.incoming.text)  # "the second one", "الثاني"
        if not match and ordinal is None:
            return None
        if match:
            index = int(match.group(1).translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))) - 1
        else:
            index = (ordinal or 0) - 1
        if not 0 <= index < len(options):
            return None
        return self._payload(turn, actions.place(options[index]), pending.intent)

    def _payload(self, turn: Turn, payload: str, intent: str | None = None) -> list[Reply] | None:
        action = actions.decode(payload)
        if action is None:
            return None
        kind, value = action.kind, action.value
        pending = turn.state.pending
        if kind == "place":
            place = turn.store.get(value)
            if place is None:
                return None
            if intent is None:
                intent = pending.intent if isinstance(pending, ChoosePlace) else "place_info"
            turn.state.pending = None
            turn.parse = replace(turn.parse, entities=(Entity("place", place.id, 0, 0, "", 1.0, "payload"),))
            return self.handlers[intent if intent in PLACE_INTENTS else "place_info"](turn)
        if kind == "hours":
            place = turn.store.get(value)
            return None if place is None else places.week_hours(turn, place)
        if kind == "wrong":
            place = turn.store.get(value)
            if place is None:
                return None
            turn.state.pending = AskFeedback(place.id)
            turn.state.remember_place(place.id)
            return [turn.text("feedback_what", name=turn.fmt.name(place))]
        if kind == "service":
            service = turn.store.services.get(value)
            return None if service is None else services.service_card(turn, service)
        return None


def _run(writes: list[Callable[[], object]]) -> None:
    for write in writes:
        write()
