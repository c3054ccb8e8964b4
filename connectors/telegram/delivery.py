"""Telegram delivery: each Bot API call retried only while nothing was delivered, sent at most once.

python-telegram-bot's ``AIORateLimiter`` waits out 429 ``retry_after`` first; what still fails is
retried here (stamina) only when Telegram cannot have the message: a connection never made, a 5xx
answer, ``retry_after``. A timeout after the request was written may have delivered it: never repeated.
A message that is not delivered is kept in the undelivered queue, like WhatsApp's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.app import App
from bot.records import Sender
from bot.state import user_key
from connectors.outbox import Attempt, Transient, deliver_once, with_retries

__all__ = ["Deliverer"]

log = logging.getLogger(__name__)

CHANNEL = "telegram"
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Deliverer:
    """Sends for one channel; remembers which updates had an answer parked."""

    def __init__(self, app: App, retries: int, backoff_s: float) -> None:
        """Failed sends are tried ``retries`` more times, waits doubling from ``backoff_s``."""
        self.app = app
        self.retries = retries
        self.backoff_s = backoff_s
        self.parked: set[int] = set()
        self._sends: dict[int, int] = {}

    def done(self, update_id: int) -> str:
        """Forget an update's sends; ``parked`` if any of its answers was kept, else ``answered``."""
        self._sends.pop(update_id, None)
        if update_id in self.parked:
            self.parked.discard(update_id)
            return "parked"
        return "answered"

    async def attempt(self, call: Callable[[], Awaitable[Any]]) -> Attempt:
        """One API call; raises :class:`Transient` only when Telegram cannot have got it."""
        try:
            await call()
        except RetryAfter as exc:  # still rate-limited after the limiter's own retries
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise Transient(Attempt(False, code=429, reason="RetryAfter"), seconds) from exc
        except (BadRequest, Forbidden, InvalidToken) as exc:  # refused: sending again cannot help
            return Attempt(False, reason=str(exc)[:200])
        except NetworkError as exc:  # TimedOut too
            cause = exc.__cause__
            if cause is None or isinstance(cause, _NOT_SENT):  # a 5xx answer, or no connection made
                raise Transient(Attempt(False, reason=type(exc).__name__)) from exc
            return Attempt(False, reason=type(exc).__name__, maybe_delivered=True)
        except TelegramError as exc:  # refused (bad request, blocked by the user, bad token)
            return Attempt(False, reason=str(exc)[:200])
        return Attempt(True)

    async def deliver(
        self,
        update_id: int,
        method: str,
        call: Callable[[], Awaitable[Any]],
        text: str | None = None,
        chat_id: int | None = None,
    ) -> bool:
        """Run one API call, retried only while nothing was delivered; a failure is logged, not raised.

        A message with ``text`` goes through the outbox (sent at most once, even after a replay), and
        is kept in the undelivered queue when it cannot be delivered.
        """

        def run() -> Awaitable[Attempt]:
            return with_retries(lambda: self.attempt(call), self.retries, self.backoff_s, self.backoff_s * 16)

        if text is None:  # typing indicators and callback answers: nothing to keep
            result = await run()
        else:
            number = self._sends[update_id] = self._sends.get(update_id, 0) + 1
            result = await deliver_once(self.app.inbox, CHANNEL, f"{CHANNEL}:{update_id}:{number}", run)
        if result.ok:
            return True
        log.warning(
            "telegram_send_failed", extra={"update_id": update_id, "method": method, "error": result.reason}
        )
        if text is not None and chat_id is not None:
            self.parked.add(update_id)
            reason = "delivery_unknown" if result.maybe_delivered else f"error:{result.reason}"
            records = self.app.records
            sender = Sender(user_key(CHANNEL, str(chat_id)), CHANNEL)
            try:
                await asyncio.to_thread(
                    records.add_undelivered, sender, str(chat_id), reason[:40], result.code, text
                )
            except Exception:
                log.exception("telegram_undelivered_not_recorded", extra={"update_id": update_id})
        return False
