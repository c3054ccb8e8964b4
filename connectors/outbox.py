"""Sending a channel message at most once, retrying only what proves nothing was delivered.

Each outgoing message has a reply id recorded in the outbox (:class:`bot.inbox.Inbox`) before the
request goes out. A send is retried (stamina, exponential backoff with jitter) only when the failure
proves nothing was delivered: a connection never made, HTTP 429 or 5xx, a rate-limit error the vendor
calls transient, Telegram's ``retry_after``. A read timeout after the request was written is *unknown*:
the message may have arrived, so it is never repeated; the answer is parked for the team instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import stamina
from aiolimiter import AsyncLimiter

from bot.inbox import Inbox

__all__ = ["Attempt", "RateLimiter", "Transient", "deliver_once", "with_retries"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """The outcome of sending one message."""

    ok: bool
    provider_id: str | None = None
    """The channel's id of the sent message (WhatsApp's wamid, Telegram's message id)."""
    code: int | None = None
    reason: str = ""
    maybe_delivered: bool = False
    """The request may have reached the channel (e.g. a read timeout): never resend it blindly."""
    skipped: bool = False
    """Sent already (a replayed message): nothing was done."""


class Transient(Exception):  # noqa: N818 - a signal to the retry loop, not an error to report
    """Raised inside a send: nothing was delivered and trying again may work (after ``wait_s``)."""

    def __init__(self, attempt: Attempt, wait_s: float | None = None) -> None:
        """``attempt`` is what to report if no retry is left."""
        super().__init__(attempt.reason)
        self.attempt = attempt
        self.wait_s = wait_s


def _retry_hook(exc: Exception) -> bool | float:
    if isinstance(exc, Transient):
        return exc.wait_s if exc.wait_s is not None else True
    return False


async def with_retries(
    send: Callable[[], Awaitable[Attempt]],
    retries: int,
    backoff_s: float,
    max_backoff_s: float,
    on_retry: Callable[[], None] | None = None,
) -> Attempt:
    """``send()`` once, and up to ``retries`` more times while it raises :class:`Transient`."""
    last: Attempt | None = None
    try:
        async for attempt in stamina.retry_context(
            on=_retry_hook,
            attempts=retries + 1,
            timeout=None,
            wait_initial=backoff_s,
            wait_max=max_backoff_s,
            wait_jitter=backoff_s,
        ):
            with attempt:
                if last is not None and on_retry is not None:
                    on_retry()
                try:
                    return await send()
                except Transient as exc:
                    last = exc.attempt
                    raise
    except Transient as exc:
        return exc.attempt
    return last if last is not None else Attempt(False, reason="not_sent")


async def deliver_once(
    inbox: Inbox, channel: str, reply_id: str, send: Callable[[], Awaitable[Attempt]]
) -> Attempt:
    """Send the message ``reply_id`` unless the outbox shows it went (or may have gone) already.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the outbox could not be written, so nothing was sent.
    """
    previous = await asyncio.to_thread(inbox.begin_send, channel, reply_id)
    if previous == "sent":
        return Attempt(True, skipped=True)
    if previous in ("sending", "unknown"):
        log.warning("send_outcome_unknown_not_repeated", extra={"reply_id": reply_id})
        return Attempt(False, reason="delivery_unknown", maybe_delivered=True)
    result = await send()
    status = "sent" if result.ok else "unknown" if result.maybe_delivered else "failed"
    try:
        await asyncio.to_thread(inbox.end_send, reply_id, status, result.provider_id)
    except Exception:
        # "sending" stays recorded, which a replay reads as "may have gone": still never sent twice.
        log.warning("outbox_not_updated", extra={"reply_id": reply_id}, exc_info=True)
    return result


class RateLimiter:
    """Spaces requests evenly at ``rate_per_s`` (shared by every send of this process), via aiolimiter."""

    def __init__(self, rate_per_s: float) -> None:
        """At most ``rate_per_s`` requests per second, without bursts."""
        self.interval = 1.0 / rate_per_s
        self._limiter = AsyncLimiter(1, self.interval)

    async def wait(self) -> None:
        """Return when the next request may go."""
        await self._limiter.acquire()
