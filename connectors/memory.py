"""What channels remember between webhook deliveries: seen message ids, button payloads, small facts.

In this process (bounded, oldest dropped first) and, when ``DALIL_REDIS_URL`` is set, in Redis too, so
every worker and a restarted process agree. Redis being down never loses a message: lookups fall back to
what this process knows, and a dedupe check that cannot reach Redis lets the message through (a rare
duplicate answer is better than a lost question).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict
from typing import Any

__all__ = ["ChannelMemory", "Recent"]

log = logging.getLogger(__name__)

RETRY_S = 5.0
"""After Redis fails, it is tried again after this long: an unreachable host costs no time per message."""


class Recent:
    """A bounded in-process map, oldest entries dropped first."""

    def __init__(self, limit: int) -> None:
        """Keep at most ``limit`` entries."""
        self.limit = limit
        self._items: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, if still kept."""
        return self._items.get(key)

    def add(self, key: str, value: str) -> bool:
        """Store ``value``; False when ``key`` was already there."""
        fresh = key not in self._items
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)
        return fresh


class ChannelMemory:
    """Small named maps of one channel (``kind`` names the map), local and optionally in Redis."""

    def __init__(self, redis_url: str | None, namespace: str, limit: int = 50_000) -> None:
        """Keys live under ``namespace`` in Redis (e.g. ``dalil:telegram:<bot id>``)."""
        self.namespace = namespace
        self.limit = limit
        self._local: dict[str, Recent] = {}
        self._retry_at = 0.0
        self.redis: Any = None
        if redis_url:
            from redis.asyncio import Redis  # only needed when Redis is configured

            self.redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)

    def _shared(self) -> bool:
        """Whether to use Redis now: configured, and not failed in the last few seconds."""
        return self.redis is not None and time.monotonic() >= self._retry_at

    def _failed(self, what: str, kind: str) -> None:
        if time.monotonic() >= self._retry_at:  # one warning per outage window, not one per message
            log.warning(what, extra={"kind": kind}, exc_info=True)
        self._retry_at = time.monotonic() + RETRY_S

    def _map(self, kind: str) -> Recent:
        return self._local.setdefault(kind, Recent(self.limit))

    def _key(self, kind: str, key: str) -> str:
        return f"{self.namespace}:{kind}:{key}"

    async def put(self, kind: str, key: str, value: str, ttl_s: int) -> None:
        """Remember ``value`` under ``key`` for about ``ttl_s`` seconds."""
        local = self._map(kind)
        if local.get(key) == value:
            return
        local.add(key, value)
        if self._shared():
            try:
                await self.redis.set(self._key(kind, key), value, ex=ttl_s)
            except Exception:
                self._failed("channel_memory_not_shared", kind)

    async def get(self, kind: str, key: str) -> str | None:
        """What was remembered under ``key``; this process first, then Redis."""
        found = self._map(kind).get(key)
        if found is None and self._shared():
            try:
                raw = await self.redis.get(self._key(kind, key))
            except Exception:
                self._failed("channel_memory_lookup_failed", kind)
                return None
            found = raw.decode() if isinstance(raw, bytes) else raw
            if found is not None:
                self._map(kind).add(key, found)
        return found

    async def first_time(self, kind: str, key: str, ttl_s: int) -> bool:
        """Whether ``key`` is new (and mark it seen): atomic across processes with Redis."""
        if not self._map(kind).add(key, ""):
            return False
        if not self._shared():
            return True  # the inbox still dedupes stored messages
        try:
            stored = await self.redis.set(self._key(kind, key), "1", nx=True, ex=ttl_s)
        except Exception:
            self._failed("channel_dedupe_unavailable", kind)
            return True  # better a rare duplicate than a lost message
        return bool(stored)

    async def close(self) -> None:
        """Release the Redis connection."""
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()
