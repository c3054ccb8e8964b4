"""Conversation fixtures: the bundled Jeddah data, a trained model, the clock pinned, real services.

The index is built and the model trained once per session; every test gets a fresh engine and state.
Backends: SQLite + in-memory state, and PostgreSQL + Redis (skipped with a reason when absent).
``chat_at`` talks to the same app with the clock pinned elsewhere (e.g. inside Ramadan) and, if asked,
with the bundled places plus ``HOURS_PLACES``: a made-up café whose regular, Ramadan and holiday hours
exercise the hours logic precisely (the bundled data has few hours on file).
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app
from bot.engine import Engine
from bot.metrics import Metrics
from bot.settings import Settings
from bot.state import MemoryStateStore, RedisStateStore, StateStore
from bot.types import GeoPoint, Incoming, Reply
from bot.wiring import KnowledgeService
from knowledge.hours import RIYADH
from knowledge.store import Store
from tests.conftest import POSTGRES_URL, REDIS_URL, postgres_schema

REPO = Path(__file__).parents[2]
NOW = "2026-11-24T20:00:00"  # a Tuesday evening in Jeddah
CORAL_MALL = GeoPoint(21.5433, 39.1728)  # Al-Andalus, near Coral Mall and Dr. Soliman Fakeeh Hospital
HOURS_PLACE = "hours-test-cafe"
HOURS_PLACES = f"""
places:
  - id: {HOURS_PLACE}
    name: {{ar: مقهى الساعات, en: Hours Test Cafe}}
    categories: [cafe]
    district: al-hamra
    location: {{lat: 21.55, lon: 39.16}}
    opening_hours: "Sa-Th 09:00-23:00; Fr 16:00-23:30"
    ramadan_hours: "20:00-02:00"
    special_hours:
      - {{from: 2026-12-01, to: 2026-12-01, hours: "off", note: {{ar: إجازة, en: holiday}}}}
    source: [tests/bot/conftest.py]
    last_verified: 2026-11-24
"""


def _settings(database_url: str, model_dir: Path, **extra: str) -> Settings:
    env = {
        "DALIL_DATABASE_URL": database_url,
        "DALIL_MODEL_DIR": str(model_dir),
        "DALIL_DATA_DIR": str(REPO / "data"),
        "DALIL_NOW": NOW,
        **extra,
    }
    return Settings.load(REPO / "config.yml", env=env)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def sqlite_settings(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Settings:
    root = tmp_path_factory.mktemp("dalil")
    settings = _settings(f"sqlite:///{root}/dalil.db", model_dir)
    KnowledgeService(settings).build()
    return settings


@pytest.fixture(scope="session")
def postgres_settings(model_dir: Path) -> Iterator[Settings]:
    with postgres_schema("dalil_bot") as schema:
        settings = _settings(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", model_dir)
        KnowledgeService(settings).build()
        yield settings


async def _redis_store() -> StateStore:
    store = RedisStateStore(REDIS_URL, prefix=f"dalil-test-{secrets.token_hex(4)}")
    if not await store.ping():
        await store.close()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return store


@pytest.fixture(scope="session")
def _built() -> Iterator[dict[str, App]]:
    """Apps built once per backend (index loaded, model read); tests get fresh state and engine."""
    cache: dict[str, App] = {}
    yield cache
    for built in cache.values():
        built.knowledge.engine.dispose()


@pytest.fixture(
    params=["sqlite+memory", pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
async def app(request: pytest.FixtureRequest, _built: dict[str, App]) -> AsyncIterator[App]:
    states: StateStore
    if request.param == "sqlite+memory":
        settings, states = request.getfixturevalue("sqlite_settings"), MemoryStateStore()
    else:
        settings, states = request.getfixturevalue("postgres_settings"), await _redis_store()
    base = _built.get(request.param)
    if base is None:
        base = _built[request.param] = build_app(settings, states=MemoryStateStore())
    metrics = Metrics()
    engine = Engine(base.engine.services, base.parser, states, base.clock, metrics=metrics)
    yield replace(base, states=states, engine=engine, metrics=metrics)
    await states.close()


class Chat:
    """One person talking to the engine."""

    def __init__(
        self, app: App, user: str = "tester", channel: str = "test", engine: Engine | None = None
    ) -> None:
        self.app = app
        self.user = user
        self.channel = channel
        self.engine = engine if engine is not None else app.engine

    async def say(self, text: str = "", **fields: Any) -> list[Reply]:
        return await self.engine.handle(Incoming(self.channel, self.user, text=text, **fields))


@pytest.fixture
def chat(app: App) -> Chat:
    return Chat(app, user=f"user-{secrets.token_hex(3)}")


@pytest.fixture(scope="session")
def hours_store(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Store:
    """The bundled places plus :data:`HOURS_PLACES`, built into an index of its own."""
    root = tmp_path_factory.mktemp("hours")
    shutil.copytree(REPO / "data", root / "data")
    (root / "data" / "places" / "zz-hours-test.yml").write_text(HOURS_PLACES, encoding="utf-8")
    env = {"DALIL_DATA_DIR": str(root / "data")}
    knowledge = KnowledgeService(_settings(f"sqlite:///{root}/dalil.db", model_dir, **env))
    knowledge.build()
    return knowledge.store()


ChatAt = Callable[..., Chat]


@pytest.fixture
def chat_at(app: App, request: pytest.FixtureRequest) -> ChatAt:
    """``chat_at("2027-02-10T21:00", hours=True)``: a new person, the clock pinned at that Riyadh time."""

    def make(now: str, hours: bool = False) -> Chat:
        moment = datetime.fromisoformat(now).replace(tzinfo=RIYADH)
        services = app.engine.services
        if hours:
            services = replace(services, store=request.getfixturevalue("hours_store"))
        engine = Engine(services, app.parser, app.states, lambda: moment)
        return Chat(app, user=f"user-{secrets.token_hex(3)}", engine=engine)

    return make
