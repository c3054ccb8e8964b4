"""Telegram fixtures: the bundled data built once, a fake Bot API server per test, the channel on it."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine

from bot.app import App, build_app
from bot.engine import Engine
from bot.inbox import Inbox
from bot.settings import Settings
from bot.state import MemoryStateStore
from connectors.telegram import TelegramChannel
from tests.connectors.fake_telegram import TOKEN, FakeTelegram, Updates, serve

REPO = Path(__file__).parents[2]
SECRET = "webhook-secret-for-tests"


@pytest.fixture(scope="session")
def base_app(tmp_path_factory: pytest.TempPathFactory) -> App:
    root = tmp_path_factory.mktemp("telegram")
    if (REPO / "models").is_dir():
        shutil.copytree(REPO / "models", root / "models")
    env = {
        "DALIL_DATABASE_URL": f"sqlite:///{root}/dalil.db",
        "DALIL_MODEL_DIR": str(root / "models"),
        "DALIL_DATA_DIR": str(REPO / "data"),
        "DALIL_MEDIA_DIR": str(root / "media"),
        "DALIL_NOW": "2026-11-24T20:00:00",
    }
    return build_app(Settings.load(REPO / "config.yml", env=env), states=MemoryStateStore())


def with_settings(base: App, **settings: object) -> App:
    """``base`` with some settings changed and fresh dialogue state (its own engine over the same data)."""
    configured = base.settings.model_copy(update=settings)
    states = MemoryStateStore()
    engine = Engine(base.engine.services, base.parser, states, base.clock, metrics=base.metrics)
    # An inbox of its own: what one test leaves unanswered is never replayed into another.
    inbox = Inbox(create_engine(f"sqlite:///{tempfile.mkdtemp(prefix='dalil-inbox-')}/inbox.db"))
    return replace(base, settings=configured, states=states, engine=engine, inbox=inbox)


def app_for(base: App, api_url: str, **settings: object) -> App:
    """``base`` with fresh dialogue state, talking to the Bot API at ``api_url``."""
    telegram = {
        "telegram_bot_token": SecretStr(TOKEN),
        "telegram_api_base_url": api_url,
        "telegram_webhook_secret": SecretStr(SECRET),
    }
    return with_settings(base, **{**telegram, **settings})


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTelegram, str]]:
    server = FakeTelegram()
    async with serve(server) as url:
        yield server, url


@dataclass
class Polling:
    """A channel long-polling the fake server."""

    api: FakeTelegram
    channel: TelegramChannel
    app: App
    updates: Updates


@pytest.fixture
async def polling(base_app: App, fake: tuple[FakeTelegram, str]) -> AsyncIterator[Polling]:
    server, url = fake
    app = app_for(base_app, url)
    channel = TelegramChannel(app, backoff_s=0.01, poll_timeout_s=1)
    stop = asyncio.Event()
    task = asyncio.create_task(channel.poll(stop))
    await server.wait_for(lambda: bool(server.sent("deleteWebhook")) or task.done(), what="polling")
    if task.done():
        task.result()
    try:
        yield Polling(server, channel, app, Updates())
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
