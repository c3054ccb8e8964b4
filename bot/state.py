"""Per-user dialogue state, in memory (default) or Redis (``DALIL_REDIS_URL``), with a TTL.

Users are keyed by a hash of channel and user id, so phone numbers (WhatsApp ids) never appear in
keys or logs. ``lock(user)`` is the one lock of a conversation: it serialises the messages of one
user, in-process with an ``asyncio.Lock`` per key (:class:`KeyedLocks`) and across processes with a
Redis lock. A channel holds it (``App.conversation``) from reading a message to sending its answer; the
engine takes it too, and inside a block that holds it already the lock is simply held (re-entrant per
task), so channels without ordering needs (REST, console) get it from the engine alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from redis.exceptions import RedisError

__all__ = [
    "STATE_VERSION",
    "AskFeedback",
    "AwaitLocation",
    "ChoosePlace",
    "KeyedLocks",
    "MemoryStateStore",
    "NeedCategory",
    "NeedPlace",
    "Pending",
    "RedisStateStore",
    "ReportDraft",
    "StateStore",
    "UserState",
    "once_per_task",
    "user_key",
]

STATE_VERSION = 1
"""The layout of a stored :class:`UserState` (Redis, files); another version reads as a fresh state."""
DEFAULT_TTL_S = 24 * 3600
"""A day: a pending choice or a report draft is stale by then, and a channel's reply window closed."""
DEFAULT_MAX_ENTRIES = 200_000
"""Conversations one process keeps in memory (about 100 MB at most)."""

log = logging.getLogger(__name__)


def user_key(channel: str, user_id: str) -> str:
    """A stable pseudonymous key for a user (no phone number or id in clear)."""
    return hashlib.sha256(f"{channel}:{user_id}".encode()).hexdigest()[:24]


# --- open questions -------------------------------------------------------------------------------


@dataclass
class ChoosePlace:
    """We listed places to choose from; a number, an ordinal or a tap picks one."""

    options: list[str]
    """Place ids, in the order shown."""
    intent: str = "place_info"
    """What to answer about the chosen place."""
    kind: Literal["choose_place"] = "choose_place"


@dataclass
class NeedPlace:
    """We asked which place a question (``intent``) is about."""

    intent: str = "place_info"
    kind: Literal["need_place"] = "need_place"


@dataclass
class NeedCategory:
    """We asked what kind of place the person is looking for."""

    kind: Literal["need_category"] = "need_category"


@dataclass
class AwaitLocation:
    """We asked for a location to search the nearest places (of ``category``, or of any kind) from."""

    category: str | None = None
    kind: Literal["nearest"] = "nearest"


@dataclass
class AskFeedback:
    """We asked what is wrong about ``place`` (or, with ``None``, which place it is about)."""

    place: str | None = None
    kind: Literal["feedback"] = "feedback"


@dataclass
class ReportDraft:
    """A problem report being written: what, where (said, or shared as a point), a photo."""

    draft: dict[str, Any]
    """``what``, ``where``, ``lat``, ``lon``, ``attachment`` (each ``None`` until known)."""
    step: Literal["what", "where", "photo"] | None = None
    """The step we asked for last."""
    kind: Literal["report"] = "report"


Pending = ChoosePlace | NeedPlace | NeedCategory | AwaitLocation | AskFeedback | ReportDraft
"""An open question Dalil asked, waiting for the person's answer."""
_PENDING: dict[str, type[Pending]] = {
    "choose_place": ChoosePlace,
    "need_place": NeedPlace,
    "need_category": NeedCategory,
    "nearest": AwaitLocation,
    "feedback": AskFeedback,
    "report": ReportDraft,
}
"""Each open question by the ``kind`` it is stored with."""


def _read_pending(data: Any) -> Pending | None:
    """An open question as stored; ``None`` for none, or for one this version does not know."""
    if not isinstance(data, dict) or data.get("kind") not in _PENDING:
        return None
    kind = _PENDING[data["kind"]]
    return kind(**{k: v for k, v in data.items() if k in kind.__dataclass_fields__})


@dataclass
class UserState:
    """What Dalil remembers about one conversation."""

    lang: str | None = None
    lang_locked: bool = False
    """The person chose a language explicitly; detection no longer switches it."""
    eastern_digits: bool = False
    """The person writes Arabic-Indic digits, so answers use them too."""
    last_places: list[str] = field(default_factory=list)
    """Place ids mentioned, most recent first."""
    pending: Pending | None = None
    """An open question: places to choose from, a nearest search waiting for a location, a report draft."""
    handoff: bool = False
    handoff_ref: str | None = None
    handoff_at: float | None = None
    """Unix time the hand-off began (it releases itself after ``Services.handoff_max_s``)."""
    arabizi: bool = False
    """The person writes Arabic in Latin letters, so answers are in Arabic."""
    last_intent: str | None = None
    """What the previous turn was answered as (a bare "and a pharmacy?" follows a nearest search)."""
    location: list[float] | None = None
    """[lat, lon, unix time shared]."""
    turns: int = 0

    def remember_place(self, place_id: str) -> None:
        """Put ``place_id`` first in the recent places (at most five)."""
        self.last_places = [place_id, *[p for p in self.last_places if p != place_id]][:5]

    def recent_location(self, max_age_s: float, now: float | None = None) -> tuple[float, float] | None:
        """The shared location if it is recent enough."""
        if self.location is None:
            return None
        lat, lon, shared_at = self.location
        if (now if now is not None else time.time()) - shared_at > max_age_s:
            return None
        return lat, lon

    def to_json(self) -> str:
        """Serialised for storage, stamped with :data:`STATE_VERSION`."""
        return json.dumps({"v": STATE_VERSION, **asdict(self)}, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes | None) -> UserState:
        """Read stored state; unreadable state, or state of another version, is a fresh state, not an error.

        Unknown fields are dropped and missing ones take their defaults, so adding a field needs no new
        version; change :data:`STATE_VERSION` when a field changes meaning or shape.
        """
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            if data.get("v", STATE_VERSION) != STATE_VERSION:  # state written before versions is version 1
                return cls()
            known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            known["pending"] = _read_pending(known.get("pending"))
            return cls(**known)
        except (ValueError, TypeError, AttributeError):
            return cls()


class KeyedLocks:
    """One ``asyncio.Lock`` per key, dropped when nobody holds or waits for it.

    Holders of one key take turns in the order they came; different keys run concurrently.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold ``key``'s lock for the duration of the ``async with`` block."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


_HELD: ContextVar[frozenset[tuple[asyncio.Task[Any] | None, str]]] = ContextVar(
    "dalil_conversations_held", default=frozenset()
)
"""The conversations held, each with the task holding it (a task started inside inherits the context,
not the lock: it waits like anyone else)."""


@asynccontextmanager
async def once_per_task(
    key: str, acquire: Callable[[], AbstractAsyncContextManager[None]]
) -> AsyncIterator[None]:
    """Hold ``acquire()`` for ``key`` unless this task holds it already (then just run the block)."""
    held = _HELD.get()
    mine = (asyncio.current_task(), key)
    if mine in held:
        yield
        return
    async with acquire():
        token = _HELD.set(held | {mine})
        try:
            yield
        finally:
            _HELD.reset(token)


class StateStore(Protocol):
    """Where dialogue state lives."""

    async def get(self, key: str) -> UserState:
        """The state of ``key`` (fresh when unknown or expired)."""
        ...

    async def put(self, key: str, state: UserState) -> None:
        """Store ``state`` and restart its TTL."""
        ...

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """The conversation's one lock, re-entrant within a task (see the module docstring)."""
        ...

    async def ping(self) -> bool:
        """Whether the backing service answers."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryStateStore:
    """State in this process's memory: for the console, tests and single-process deployments.

    Bounded and O(1) per turn whatever the number of users (a REST ``sender`` is chosen by the client):
    entries are kept in the order they were last written, so the oldest sits first; each write drops
    the expired ones from the front and, past ``max_entries``, the least recently written.
    """

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        """Keep each user's state for ``ttl_s`` seconds after their last message, at most ``max_entries``."""
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._locks = KeyedLocks()

    def __len__(self) -> int:
        return len(self._data)

    async def get(self, key: str) -> UserState:  # noqa: D102
        item = self._data.get(key)
        if item is None or item[0] < time.monotonic():
            self._data.pop(key, None)
            return UserState()
        return UserState.from_json(item[1])

    async def put(self, key: str, state: UserState) -> None:  # noqa: D102
        now = time.monotonic()
        self._data[key] = (now + self.ttl_s, state.to_json())
        self._data.move_to_end(key)
        data = self._data
        while data:  # the front expires first: every entry has the same TTL
            oldest = next(iter(data.values()))
            if oldest[0] >= now and len(data) <= self.max_entries:
                break
            data.popitem(last=False)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:  # noqa: D102
        return once_per_task(key, lambda: self._locks.hold(key))

    async def ping(self) -> bool:  # noqa: D102
        return True

    async def close(self) -> None:  # noqa: D102
        self._data.clear()


class RedisStateStore:
    """State in Redis, shared by every worker and process; in this process while Redis is down.

    Redis going away never costs a turn: reads and writes fall back to a bounded in-process store (one
    warning when it happens, one when Redis is back), and :attr:`degraded` says so for ``/readyz``.
    While degraded, Redis is tried again only every ``RETRY_S`` seconds, so an unreachable host does
    not add its connect timeout to every turn.
    """

    RETRY_S = 5.0

    def __init__(self, url: str, ttl_s: int = DEFAULT_TTL_S, prefix: str = "dalil") -> None:
        """Connect lazily to the Redis at ``url``."""
        from redis.asyncio import Redis  # only needed when Redis is configured

        self.client: Any = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.ttl_s = ttl_s
        self.prefix = prefix
        self._local = KeyedLocks()
        self.fallback = MemoryStateStore(ttl_s)
        self.degraded = False
        self._retry_at = 0.0

    def _key(self, key: str) -> str:
        return f"{self.prefix}:state:{key}"

    def _skip(self) -> bool:
        """Whether to go straight to the fallback (Redis failed less than ``RETRY_S`` ago)."""
        return self.degraded and time.monotonic() < self._retry_at

    def _down(self, exc: Exception) -> None:
        if not self.degraded:
            log.warning("redis_unreachable_state_in_process", extra={"error": type(exc).__name__})
        self.degraded = True
        self._retry_at = time.monotonic() + self.RETRY_S

    def _up(self) -> None:
        if self.degraded:
            log.warning("redis_reachable_again")
        self.degraded = False

    async def get(self, key: str) -> UserState:  # noqa: D102
        if self._skip():
            return await self.fallback.get(key)
        try:
            raw = await self.client.get(self._key(key))
        except (RedisError, OSError) as exc:
            self._down(exc)
            return await self.fallback.get(key)
        self._up()
        return UserState.from_json(raw)

    async def put(self, key: str, state: UserState) -> None:  # noqa: D102
        if self._skip():
            await self.fallback.put(key, state)
            return
        try:
            await self.client.set(self._key(key), state.to_json(), ex=self.ttl_s)
        except (RedisError, OSError) as exc:
            self._down(exc)
            await self.fallback.put(key, state)
            return
        self._up()

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:  # noqa: D102
        return once_per_task(key, lambda: self._lock(key))

    @asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[None]:
        """This worker's lock, then Redis's (so other workers wait too); Redis down: this worker's."""
        async with self._local.hold(key):
            acquired = False
            lock = self.client.lock(f"{self.prefix}:lock:{key}", timeout=30, blocking_timeout=10)
            try:
                acquired = False if self._skip() else await lock.acquire()
            except (RedisError, OSError) as exc:  # the in-process lock above still serialises this worker
                self._down(exc)
            try:
                yield
            finally:
                if acquired:
                    with contextlib.suppress(Exception):  # an expired lock is released already
                        await lock.release()

    async def ping(self) -> bool:  # noqa: D102
        try:
            answered = bool(await self.client.ping())
        except Exception:
            return False
        if answered:
            self._up()
        return answered

    async def close(self) -> None:  # noqa: D102
        await self.client.aclose()
