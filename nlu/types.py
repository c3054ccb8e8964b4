"""What the NLU returns: a parse in Rasa's shape (intent, ranking, entities with offsets) plus ``lang``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from nlu.times import TimeMeaning, merge, read

__all__ = [
    "ENTITY_TYPES",
    "INTENTS",
    "Entity",
    "IntentScore",
    "NluUnavailableError",
    "Parse",
    "Parser",
    "parse_async",
]

INTENTS = (
    "greet",
    "goodbye",
    "thanks",
    "help",
    "affirm",
    "deny",
    "find_place",
    "nearest_place",
    "place_info",
    "opening_hours",
    "contact_info",
    "directions",
    "municipal_service",
    "report_issue",
    "human_handoff",
    "feedback_wrong_info",
    "change_language",
    "out_of_scope",
)
ENTITY_TYPES = ("place", "category", "district", "service", "time")

Lang = Literal["ar", "en"]


@dataclass(frozen=True)
class Entity:
    """One entity mention; ``start``/``end`` index the user's original text."""

    entity: str
    value: str
    start: int
    end: int
    text: str
    confidence: float = 1.0
    extractor: str = "gazetteer"
    meaning: TimeMeaning | None = None
    """What a ``time`` entity means (read by :mod:`nlu.times`); None for the other entities."""

    def to_dict(self) -> dict[str, Any]:
        """Rasa's entity shape."""
        return {
            "entity": self.entity,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "confidence_entity": round(self.confidence, 4),
            "confidence": round(self.confidence, 4),
            "extractor": self.extractor,
            "text": self.text,
        }


@dataclass(frozen=True)
class IntentScore:
    """An intent and its confidence."""

    name: str
    confidence: float


@dataclass(frozen=True)
class Parse:
    """The NLU's reading of one message."""

    text: str
    intent: IntentScore
    ranking: tuple[IntentScore, ...] = ()
    entities: tuple[Entity, ...] = field(default=())
    lang: Lang = "ar"

    def first(self, entity: str) -> Entity | None:
        """The first entity of this type, or None."""
        return next((e for e in self.entities if e.entity == entity), None)

    def values(self, entity: str) -> list[str]:
        """Every value of this entity type, in text order."""
        return [e.value for e in self.entities if e.entity == entity]

    def time_meaning(self) -> TimeMeaning:
        """What the message's time entities mean together (:func:`nlu.times.merge`); nothing if none.

        An entity without a reading (made outside the NLU) is read from its text by :func:`nlu.times.read`.
        """
        return merge(
            e.meaning if e.meaning is not None else read(e.text) for e in self.entities if e.entity == "time"
        )

    def to_dict(self) -> dict[str, Any]:
        """The Rasa ``/model/parse`` response shape, plus ``lang``."""
        return {
            "text": self.text,
            "intent": {"name": self.intent.name, "confidence": round(self.intent.confidence, 4)},
            "intent_ranking": [{"name": s.name, "confidence": round(s.confidence, 4)} for s in self.ranking],
            "entities": [e.to_dict() for e in self.entities],
            "lang": self.lang,
        }


class NluUnavailableError(RuntimeError):
    """The NLU backend (a Rasa server) could not be reached or answered nonsense."""


class Parser(Protocol):
    """Anything that turns text into a :class:`Parse` (the embedded engine, a Rasa server)."""

    name: str

    def parse(self, text: str) -> Parse:
        """Read one message; never raises on any input text."""
        ...


async def parse_async(parser: Parser, text: str) -> Parse:
    """``parser.parse(text)`` without blocking the event loop.

    A parser with its own ``aparse`` coroutine (Rasa, over async httpx) is awaited; any other runs in a
    worker thread.

    Raises:
        NluUnavailableError: the backend is down or answered nonsense.
    """
    aparse = getattr(parser, "aparse", None)
    if aparse is not None:
        parsed: Parse = await aparse(text)
        return parsed
    return await asyncio.to_thread(parser.parse, text)
