"""One lock per conversation: a channel that holds it and the engine inside share it, across workers too."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import App
from bot.state import RedisStateStore, user_key
from bot.types import Incoming, Reply
from tests.conftest import REDIS_URL


async def _answered(app: App, user: str, text: str) -> list[Reply]:
    return await app.handle(Incoming("whatsapp", user, text=text))


async def test_a_channel_holding_the_conversation_answers_inside_it_and_holds_up_only_that_person(
    app: App,
) -> None:
    async with app.conversation("whatsapp", "966500000001"):
        # The engine takes the same lock again without waiting for itself (re-entrant within a task).
        inside = await _answered(app, "966500000001", "وين نافورة الملك فهد")
        # Another task of the same person (even one started here) waits; another person does not.
        same = asyncio.create_task(_answered(app, "966500000001", "شكرا"))
        other = await asyncio.wait_for(_answered(app, "966500000002", "مرحبا"), 5)
        await asyncio.sleep(0.2)
        assert not same.done(), "a second message of the same person was answered while the first was held"
    assert inside
    assert other
    assert await asyncio.wait_for(same, 5)


async def test_two_workers_share_the_lock_of_one_conversation_through_redis() -> None:
    prefix = "dalil-test-lock"
    first, second = RedisStateStore(REDIS_URL, prefix=prefix), RedisStateStore(REDIS_URL, prefix=prefix)
    if not await first.ping():
        await first.close()
        await second.close()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    key = user_key("telegram", "42")
    order: list[str] = []

    async def hold(store: RedisStateStore, name: str, seconds: float) -> None:
        async with store.lock(key):
            order.append(f"{name} in")
            await asyncio.sleep(seconds)
            order.append(f"{name} out")

    try:
        worker_a = asyncio.create_task(hold(first, "a", 0.5))
        await asyncio.sleep(0.1)
        await hold(second, "b", 0)
        await worker_a
    finally:
        await first.close()
        await second.close()
    assert order == ["a in", "a out", "b in", "b out"]
