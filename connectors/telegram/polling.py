"""Telegram long polling: our own ``getUpdates`` loop, so each batch is stored before it is confirmed.

PTB's updater confirms a batch (by asking for the next offset) before its updates are handled; here the
offset advances only once the batch is in the inbox, so a crash never loses an update.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram.error import TelegramError, TimedOut
from telegram.ext import Application

from bot.inbox import Inbox
from connectors.telegram.delivery import CHANNEL
from connectors.telegram.setup import ALLOWED_UPDATES

__all__ = ["fetch_updates"]

log = logging.getLogger(__name__)


async def fetch_updates(
    application: Application[Any, Any, Any, Any, Any, Any], inbox: Inbox, timeout_s: float, pause_s: float
) -> None:
    """Fetch updates until cancelled: store each batch in ``inbox``, queue the new ones, then confirm.

    A failed ``getUpdates`` is tried again after ``pause_s``; a batch the inbox cannot store is not
    confirmed (Telegram keeps it and sends it again).
    """
    offset: int | None = None
    while True:
        try:
            updates = await application.bot.get_updates(
                offset=offset, timeout=int(timeout_s), allowed_updates=list(ALLOWED_UPDATES)
            )
        except TimedOut:
            continue
        except TelegramError as exc:
            log.warning("telegram_poll_failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(pause_s)
            continue
        if not updates:
            continue
        rows = [(str(u.update_id), json.dumps(u.to_dict())) for u in updates]
        try:
            stored = await asyncio.to_thread(inbox.accept, CHANNEL, rows)
        except SQLAlchemyError:
            # The offset stays: Telegram keeps these updates and sends them again.
            log.error("telegram_inbox_unavailable", extra={"updates": len(rows)})
            await asyncio.sleep(1.0)
            continue
        for update in updates:
            if str(update.update_id) in stored:
                await application.update_queue.put(update)
        offset = updates[-1].update_id + 1
