"""One turn of the conversation: what handlers get (message, parse, state, formatter, services)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from bot import actions
from bot.cards import Formatter
from bot.lexicon import Lexicon
from bot.records import Records, Sender
from bot.state import UserState
from bot.texts import Texts
from bot.types import Button, Incoming, QuickButtons, Reply, TextReply
from knowledge.schema import Place
from knowledge.store import Store
from nlu.types import Parse

__all__ = ["Handler", "Services", "Turn"]


@dataclass(frozen=True)
class Services:
    """What handlers may use, shared by every turn."""

    store: Store
    records: Records
    texts: Texts
    confidence_threshold: float = 0.45
    location_max_age_s: float = 60 * 60
    """A shared location is used for this long (later "nearest" questions and follow-ups)."""
    lexicon: Lexicon = field(default_factory=Lexicon)
    handoff_max_s: float = 30 * 60
    """A hand-off nobody picked up releases itself after this long."""


@dataclass
class Turn:
    """Everything about the message being answered."""

    incoming: Incoming
    parse: Parse
    state: UserState
    lang: str
    now: datetime
    services: Services
    sender: Sender
    intent: str = ""
    """The intent this turn was routed to (for metrics and logs)."""
    story: str = ""
    """The whole message when only its question clause was parsed (a long message), else ""."""
    outing: bool = False
    """The person asks where to go out (with family), not for one kind of place."""
    writes: list[Callable[[], object]] = field(default_factory=list)
    """Database writes the turn asked for (:meth:`later`); the engine runs them off the event loop."""
    fmt: Formatter = field(init=False)

    def __post_init__(self) -> None:
        self.fmt = Formatter(self.services.texts, self.services.store, self.lang, self.state.eastern_digits)

    @property
    def store(self) -> Store:
        """The knowledge index."""
        return self.services.store

    def later(self, write: Callable[..., object], *args: Any) -> None:
        """Write ``write(*args)`` once the answer is ready, off the event loop and before it is sent.

        Handlers are plain functions; a database write inside one would hold up every other
        conversation while it waits on the database. A write that fails fails the turn, as before: the
        message stays in the inbox and is answered again.
        """
        self.writes.append(partial(write, *args))

    def t(self, key: str, **values: object) -> str:
        """A response text in the turn's language."""
        return self.fmt.t(key, **values)

    def text(self, key: str, **values: object) -> TextReply:
        """A text reply from a response key."""
        return TextReply(self.t(key, **values))

    def examples(self, key: str) -> QuickButtons:
        """The text ``key`` with the help examples as quick buttons."""
        examples = self.services.texts.raw(self.lang, "help_examples")
        return QuickButtons(self.t(key), tuple(Button(e, payload=actions.say(e)) for e in examples[:3]))

    def places(self) -> list[Place]:
        """Places named in this message (entities, in text order, without repeats)."""
        seen: list[Place] = []
        for place_id in self.parse.values("place"):
            place = self.store.get(place_id)
            if place is not None and place not in seen:
                seen.append(place)
        return seen

    def asked(self) -> str:
        """The message with the places it names blanked out: what it asks besides them.

        "Indian Consulate" does not ask for Indian food, nor "الواجهة البحرية" for seafood.
        """
        text = self.incoming.text
        for entity in self.parse.entities:
            if entity.entity == "place" and 0 <= entity.start < entity.end <= len(text):
                text = text[: entity.start] + " " * (entity.end - entity.start) + text[entity.end :]
        return text

    def recent_place(self) -> Place | None:
        """The place this conversation was last about."""
        for place_id in self.state.last_places:
            place = self.store.get(place_id)
            if place is not None:
                return place
        return None


Handler = Callable[[Turn], list[Reply]]
