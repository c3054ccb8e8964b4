"""Telegram webhook mode: ``POST /webhooks/telegram`` checks the secret, stores the update, answers 200.

The update is stored in the inbox before the 200 (Telegram does not send it again after that); a
database that cannot store it means a 503, so Telegram sends it again later.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update

from connectors.telegram.delivery import CHANNEL

if TYPE_CHECKING:
    from connectors.telegram.channel import TelegramChannel

__all__ = ["SECRET_HEADER", "webhook_router"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def webhook_router(channel: TelegramChannel) -> APIRouter:
    """The route: checks the secret header, queues the update for ``channel``, answers at once."""
    router = APIRouter(tags=["channels"])
    app = channel.app

    @router.post("/webhooks/telegram", summary="Telegram webhook", response_model=None)
    async def webhook(request: Request) -> JSONResponse:
        secret = app.settings.telegram_webhook_secret
        given = request.headers.get(SECRET_HEADER, "")
        if secret is None or not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
            return JSONResponse({"error": "bad or missing secret token"}, status_code=403)
        application = channel.application
        if application is None or not channel.accepting:
            return JSONResponse({"error": "the Telegram channel is not running"}, status_code=503)
        try:
            body = await request.json()
            update = Update.de_json(body, application.bot)
            payload = json.dumps(body)
        except Exception:
            return JSONResponse({"error": "not a Telegram update"}, status_code=400)
        try:  # stored before the 200: Telegram does not send it again after that
            stored = await asyncio.to_thread(app.inbox.accept, CHANNEL, [(str(update.update_id), payload)])
        except SQLAlchemyError:
            log.error("telegram_inbox_unavailable")
            return JSONResponse({"error": "cannot store the update now; send it again"}, status_code=503)
        if stored:
            await application.update_queue.put(update)
        else:
            log.info("telegram_duplicate_update", extra={"update_id": update.update_id})
        return JSONResponse({"ok": True})

    return router
