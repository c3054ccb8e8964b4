"""Conversation fixtures: the bundled Jeddah data, a trained model, the clock pinned, real services.

The index is built and the model trained once per session; every test gets a fresh engine and state.
Backends: SQLite + in-memory state, and PostgreSQL + Redis (skipped with a reason when absent).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.app import App, build_app
from bot.settings import Settings
from bot.state import MemoryStateStore, RedisStateStore, StateStore
from bot.types import Incoming, Reply
from bot.wiring import KnowledgeService
from tests.conftest import POSTGRES_URL, REDIS_URL

REPO = Path(__file__).parents[2]
NOW = "2026-11-24T20:00:00"  # a Tuesday evening in Jeddah


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
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.orig}")
    schema = f"dalil_bot_{secrets.token_hex(4)}"
    with admin.begin() as conn:
        conn.execute(text(f'create schema "{schema}"'))
    settings = _settings(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", model_dir)
    KnowledgeService(settings).build()
    yield settings
    with admin.begin() as conn:
        conn.execute(text(f'drop schema "{schema}" cascade'))
    admin.dispose()


async def _redis_store() -> StateStore:
    store = RedisStateStore(REDIS_URL, prefix=f"dalil-test-{secrets.token_hex(4)}")
    if not await store.ping():
        await store.close()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return store


@pytest.fixture(
    params=["sqlite+memory", pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
async def app(request: pytest.FixtureRequest) -> AsyncIterator[App]:
    if request.param == "sqlite+memory":
        built = build_app(request.getfixturevalue("sqlite_settings"), states=MemoryStateStore())
    else:
        built = build_app(request.getfixturevalue("postgres_settings"), states=await _redis_store())
    yield built
    await built.states.close()
    built.knowledge.engine.dispose()


class Chat:
    """One person talking to the engine."""

    def __init__(self, app: App, user: str = "tester", channel: str = "test") -> None:
        self.app = app
        self.user = user
        self.channel = channel

    async def say(self, text: str = "", **fields: Any) -> list[Reply]:
        return await self.app.engine.handle(Incoming(self.channel, self.user, text=text, **fields))


@pytest.fixture
def chat(app: App) -> Chat:
    return Chat(app, user=f"user-{secrets.token_hex(3)}")
