"""``build_app(settings)``: the one function that wires Dalil together. Tests build their own."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.engine import Engine
from bot.inbox import Inbox
from bot.lexicon import Lexicon
from bot.metrics import Metrics
from bot.records import Records
from bot.settings import Settings
from bot.state import MemoryStateStore, RedisStateStore, StateStore, user_key
from bot.texts import LANGS, Texts
from bot.turn import Services
from bot.types import Incoming, Reply
from bot.wiring import KnowledgeService, make_parser
from knowledge.clock import make_clock
from knowledge.store import Store
from nlu.types import Parser

__all__ = ["CHANNELS", "App", "build_app", "load_channel"]

# Channels by name → "module:attribute". Imported only when used, so the core never depends on a
# channel SDK it does not run.
CHANNELS = {
    "rest": "connectors.rest:RestChannel",
    "telegram": "connectors.telegram:TelegramChannel",
    "whatsapp": "connectors.whatsapp:WhatsAppChannel",
    "console": "connectors.console:ConsoleChannel",
}


def load_channel(name: str) -> Any:
    """The channel class registered as ``name``."""
    module_name, _, attribute = CHANNELS[name].partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass
class App:
    """Dalil's running parts."""

    settings: Settings
    knowledge: KnowledgeService
    store: Store
    parser: Parser
    records: Records
    states: StateStore
    engine: Engine
    clock: Callable[[], datetime]
    metrics: Metrics
    inbox: Inbox
    """Inbound messages stored before they are acknowledged, and the outbox of replies."""

    # --- what a channel may use (docs/architecture.md, "The channel contract") ----------------------

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer one message: the one call a channel makes for a conversation turn."""
        return await self.engine.handle(incoming)

    def conversation(self, channel: str, user_id: str) -> AbstractAsyncContextManager[None]:
        """Hold one conversation: its messages are answered and sent one at a time, in order.

        The conversation's one lock (across workers when Redis is configured). A channel that sends its
        answers itself holds it from reading a message to the last send; :meth:`handle` inside takes it
        again without waiting when called from the same task (a task started inside waits its turn, so
        call ``handle`` directly there, not through ``asyncio.wait_for`` or a new task).
        """
        return self.states.lock(user_key(channel, user_id))

    @property
    def texts(self) -> Texts:
        """The response texts, for what a channel says itself (an expired button, an unsupported kind)."""
        return self.engine.services.texts

    async def language(self, channel: str, user_id: str, hint: str | None = None) -> str:
        """The language this conversation is held in; before it has one, ``hint`` (if ar/en), else Arabic."""
        state = await self.states.get(user_key(channel, user_id))
        return state.lang or (hint if hint in LANGS else None) or "ar"

    async def share_location(self, channel: str, user_id: str, lat: float, lon: float) -> None:
        """Remember where the person is now (a live location moved), without answering."""
        key = user_key(channel, user_id)
        async with self.states.lock(key):
            state = await self.states.get(key)
            state.location = [lat, lon, self.clock().timestamp()]
            await self.states.put(key, state)

    async def focus_place(self, channel: str, user_id: str, place_id: str) -> None:
        """The person replied to the card of ``place_id``: what they say next is about that place."""
        key = user_key(channel, user_id)
        async with self.states.lock(key):
            state = await self.states.get(key)
            state.remember_place(place_id)
            await self.states.put(key, state)

    def prepare_reload(self) -> tuple[Store, Parser]:
        """Validate the YAML, rebuild the index and load it with a fresh parser; serves nothing yet.

        Slow (it may retrain the model), so run it off the event loop; then :meth:`swap` it in.

        Raises:
            bot.wiring.BuildRefusedError: the data has errors; nothing changed, the old data serves.
        """
        self.knowledge.build()
        store = self.knowledge.store(build_if_missing=False)
        return store, make_parser(self.settings, store)

    def swap(self, store: Store, parser: Parser) -> None:
        """Serve ``store`` and ``parser`` from the next turn on; a turn under way finishes on the old ones."""
        self.store, self.parser = store, parser
        self.engine.services = replace(self.engine.services, store=store)
        self.engine.parser = parser


def build_app(settings: Settings, states: StateStore | None = None) -> App:
    """Load (or build) the knowledge index, the NLU model and the state store, and wire the engine."""
    knowledge = KnowledgeService(settings)
    store = knowledge.store()
    parser = make_parser(settings, store)
    records = Records(knowledge.engine)
    texts = Texts.load(settings.data_dir / "responses")
    if states is None:
        states = RedisStateStore(settings.redis_url) if settings.redis_url else MemoryStateStore()
    clock = make_clock(settings.now)
    services = Services(
        store,
        records,
        texts,
        settings.confidence_threshold,
        location_max_age_s=settings.location_max_age_s,
        lexicon=Lexicon.load(settings.data_dir / "dialogue" / "words.yml"),
        handoff_max_s=settings.handoff_max_s,
    )
    metrics = Metrics()
    engine = Engine(services, parser, states, clock, metrics=metrics)
    inbox = Inbox(knowledge.engine, lease_s=settings.inbox_lease_s)
    return App(settings, knowledge, store, parser, records, states, engine, clock, metrics, inbox)
