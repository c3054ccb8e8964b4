"""Channel fixtures: the bundled data built once; per test a fake Bot API or Graph API and the channel on it.

Telegram: ``fake`` (the Bot API server) and ``polling`` (the channel long-polling it). WhatsApp: ``graph``
(the Graph API server) and ``wa`` (a :class:`Harness`: ``dalil serve``'s app with only the WhatsApp
channel, webhooks delivered to it signed as Meta sends them).
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine

from bot.app import App, build_app
from bot.engine import Engine
from bot.http import create_http_app
from bot.inbox import Inbox
from bot.settings import Settings
from bot.state import MemoryStateStore, user_key
from connectors.telegram import TelegramChannel
from connectors.whatsapp import WhatsAppChannel
from tests.connectors import fake_telegram, fake_whatsapp
from tests.connectors.fake_telegram import FakeTelegram, Updates
from tests.connectors.fake_whatsapp import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    FakeGraph,
    Webhooks,
    signed,
)

REPO = Path(__file__).parents[2]
SECRET = "webhook-secret-for-tests"
HOOK = "/webhooks/whatsapp"


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
        "telegram_bot_token": SecretStr(fake_telegram.TOKEN),
        "telegram_api_base_url": api_url,
        "telegram_webhook_secret": SecretStr(SECRET),
    }
    return with_settings(base, **{**telegram, **settings})


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTelegram, str]]:
    server = FakeTelegram()
    async with fake_telegram.serve(server) as url:
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


# --- WhatsApp ---------------------------------------------------------------------------------------------


def whatsapp_app(base: App, api_url: str, **settings: object) -> App:
    """``base`` with fresh dialogue state, configured for WhatsApp against the Graph API at ``api_url``."""
    whatsapp = {
        "whatsapp_token": SecretStr(fake_whatsapp.TOKEN),
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        "whatsapp_app_secret": SecretStr(APP_SECRET),
        "whatsapp_verify_token": SecretStr(VERIFY_TOKEN),
        "whatsapp_api_base_url": api_url,
    }
    return with_settings(base, **{**whatsapp, **settings})


@dataclass
class Harness:
    """``dalil serve``'s ASGI app with only the WhatsApp channel, and the fake Graph API behind it."""

    api: FakeGraph
    app: App
    channel: WhatsAppChannel
    client: httpx.AsyncClient
    hooks: Webhooks

    async def deliver(self, payload: dict[str, Any], secret: str = APP_SECRET) -> httpx.Response:
        raw, headers = signed(payload, secret)
        return await self.client.post(HOOK, content=raw, headers=headers)

    @property
    def wa_id(self) -> str:
        return self.hooks.wa_id

    def rows(self, table: str) -> list[dict[str, Any]]:
        """This person's rows of a review queue (the database is shared by the tests), newest first."""
        key = user_key("whatsapp", self.wa_id)
        return [row for row in self.app.records.list_table(table, open_only=False) if row["user_key"] == key]

    async def settle(self) -> None:
        """Wait until every accepted message is answered."""
        await self.channel.drain(10)


@asynccontextmanager
async def running(base: App, graph: tuple[FakeGraph, str], **settings: object) -> AsyncIterator[Harness]:
    server, api_url = graph
    app = whatsapp_app(base, api_url, **settings)
    web = create_http_app(app, channels=("whatsapp",))
    for start in web.router.on_startup:
        await start()
    channel = web.state.channels["whatsapp"]
    channel.backoff_s = channel.pair_backoff_s = 0.01
    try:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://dalil.test") as client:
            hooks = Webhooks(wa_id=f"9665{secrets.randbelow(10**8):08d}")
            yield Harness(server, app, channel, client, hooks)
    finally:
        for stop in web.router.on_shutdown:
            await stop()


@pytest.fixture
async def graph() -> AsyncIterator[tuple[FakeGraph, str]]:
    server = FakeGraph()
    async with fake_whatsapp.serve(server) as url:
        yield server, url


@pytest.fixture
async def wa(
    base_app: App, graph: tuple[FakeGraph, str], request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    """The harness; ``@pytest.mark.reengagement_template(NAME)`` configures an approved template."""
    marker = request.node.get_closest_marker("reengagement_template")
    template = marker.args[0] if marker else None
    async with running(base_app, graph, whatsapp_reengagement_template=template) as harness:
        yield harness
