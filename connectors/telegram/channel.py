"""The Telegram channel itself: wiring, the webhook route, long polling, and inbound updates.

See :mod:`connectors.telegram` for what it does; rendering is in :mod:`connectors.telegram.render`,
sending in :mod:`connectors.telegram.delivery`, the token and webhook set-up in
:mod:`connectors.telegram.setup`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import json
import logging
import signal
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from telegram import Chat, Message, ReplyParameters, Update, User
from telegram.constants import ChatAction, ChatType
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, TypeHandler

from bot.app import App
from bot.settings import Settings
from bot.types import GeoPoint, Incoming, Reply, TextReply
from connectors.memory import ChannelMemory
from connectors.telegram.delivery import CHANNEL, Deliverer
from connectors.telegram.inbound import OnePerChat, addressed, clean, from_command, is_command
from connectors.telegram.render import KEY_PREFIX, PHONE_PREFIX, Renderer
from connectors.telegram.setup import (
    ALLOWED_UPDATES,
    api_roots,
    command,
    guard_logs,
    register_commands,
    token,
)

__all__ = ["ALLOWED_UPDATES", "CHANNEL", "TelegramChannel"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
_KEEP_UPDATE_IDS_S = 2 * 24 * 3600
REPLY_WINDOW = timedelta(hours=24)
"""Stored updates older than this are not answered after a restart: the moment has passed."""


class TelegramChannel:
    """Serves Telegram: the webhook route for ``dalil serve``, and long polling for ``dalil telegram``."""

    name = CHANNEL

    def __init__(
        self,
        app: App,
        retries: int = 3,
        backoff_s: float = 0.5,
        poll_timeout_s: float = 30,
        read_timeout_s: float = 10,
    ) -> None:
        """Answer through ``app``'s engine; failed sends are tried ``retries`` more times.

        A Bot API answer later than ``read_timeout_s`` leaves a send's outcome unknown (never repeated).
        """
        self.app = app
        self.read_timeout_s = read_timeout_s
        self.delivery = Deliverer(app, retries, backoff_s)
        self.poll_timeout_s = poll_timeout_s
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._memory: ChannelMemory | None = None
        self._retry: asyncio.Task[None] | None = None
        self._username = ""
        self._bot_id = 0
        self._fetcher: asyncio.Task[None] | None = None
        self._replayed: set[int] = set()
        self._renderer: Renderer | None = None
        self._processor = OnePerChat()
        self.accepting = True

    @staticmethod
    def command(settings: Settings, args: argparse.Namespace) -> int:
        """``dalil telegram [set-webhook URL | delete-webhook]`` (see the module's :func:`command`)."""
        return command(settings, args)

    # --- wiring ---------------------------------------------------------------------------------------

    def _build(self, polling: bool) -> Application[Any, Any, Any, Any, Any, Any]:
        bot_token = token(self.app.settings)
        guard_logs(bot_token)
        base_url, base_file_url = api_roots(self.app.settings)
        self._processor = OnePerChat()
        builder = (
            ApplicationBuilder()
            .token(bot_token)
            .base_url(base_url)
            .base_file_url(base_file_url)
            .rate_limiter(AIORateLimiter(max_retries=3))
            .read_timeout(self.read_timeout_s)
            .concurrent_updates(self._processor)
        )
        if not polling:
            builder = builder.updater(None)
        application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)
        namespace = f"dalil:telegram:{bot_token.partition(':')[0]}"  # the bot id, not the secret part
        self._memory = ChannelMemory(self.app.settings.redis_url, namespace)
        self._renderer = Renderer(self._memory)
        return application

    async def _ready(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        me = application.bot.bot
        self._username = (me.username or "").lower()
        self._bot_id = me.id
        self.application = application

    async def startup(self) -> None:
        """Webhook mode: start processing updates (``dalil serve``; does nothing without a token).

        Telegram being unreachable must not stop the server (REST and the other channels keep
        working): the first attempt is made here, then retried in the background with backoff;
        until it succeeds the webhook answers 503, so Telegram delivers those updates again later.
        """
        if self.app.settings.telegram_bot_token is None:
            return
        if not await self._start_webhook_mode():
            self._retry = asyncio.create_task(self._retry_startup())

    async def _start_webhook_mode(self) -> bool:
        application = self._build(polling=False)
        try:
            await application.initialize()
            await application.start()
        except NetworkError as exc:
            log.warning("telegram_unreachable_retrying", extra={"error": type(exc).__name__})
            with contextlib.suppress(TelegramError, RuntimeError):
                await application.shutdown()
            return False
        await self._ready(application)
        await self.replay()
        log.info("telegram_webhook_ready", extra={"bot": self._username})
        return True

    async def replay(self) -> int:
        """Queue the stored updates nobody answered (the process died); returns how many."""
        application = self.application
        if application is None:
            return 0
        try:
            pending = await asyncio.to_thread(self.app.inbox.claim, CHANNEL, REPLY_WINDOW)
        except SQLAlchemyError:
            log.warning("telegram_inbox_unreadable", exc_info=True)
            return 0
        for row in pending:
            try:
                update = Update.de_json(json.loads(row.payload), application.bot)
            except Exception:
                await asyncio.to_thread(self.app.inbox.finish, CHANNEL, row.message_id, "unreadable")
                continue
            self._replayed.add(update.update_id)
            await application.update_queue.put(update)
        if pending:
            log.info("telegram_replayed", extra={"updates": len(pending)})
        return len(pending)

    async def _retry_startup(self) -> None:
        delay = 2.0
        while not await self._start_webhook_mode():
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300.0)

    async def shutdown(self) -> None:
        """Finish the updates in hand and release connections."""
        retry, self._retry = self._retry, None
        if retry is not None:
            retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retry
        application, self.application = self.application, None
        if application is not None:
            await self._stop(application)
            await application.shutdown()
        if self._memory is not None:
            await self._memory.close()

    async def _stop(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Stop intake and finish the turns under way; the backlog stays in the inbox for the next start."""
        self.accepting = False
        self._processor.stopping = True
        fetcher, self._fetcher = self._fetcher, None
        if fetcher is not None:
            fetcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetcher
        queue = application.update_queue
        left: list[str] = []
        while not queue.empty():
            queued = queue.get_nowait()
            if isinstance(queued, Update):
                left.append(str(queued.update_id))
        if application.running:
            # Waits for the turns under way; updates still waiting for their chat are skipped.
            await application.stop()
        left += [str(update_id) for update_id in self._processor.skipped]
        try:  # let the next start answer them at once, without waiting for the claim to lapse
            await asyncio.to_thread(self.app.inbox.release, CHANNEL, left)
        except SQLAlchemyError:
            log.warning("telegram_inbox_not_released", extra={"updates": len(left)})
        if left:
            log.info("telegram_backlog_left_in_inbox", extra={"updates": len(left)})

    async def poll(self, stop: asyncio.Event) -> None:
        """Long polling until ``stop`` is set; any webhook is deleted first.

        Our own loop, not PTB's updater: each batch is stored in the inbox before the next
        ``getUpdates`` confirms it (by advancing the offset), so a crash never loses an update.
        """
        application = self._build(polling=False)
        async with application:
            await self._ready(application)
            await register_commands(application.bot, self.app)
            await application.bot.delete_webhook()
            await application.start()
            await self.replay()
            self._fetcher = asyncio.create_task(self._fetch(application))
            log.info("telegram_polling", extra={"bot": self._username})
            try:
                await stop.wait()
            finally:
                await self._stop(application)
        self.application = None
        if self._memory is not None:
            await self._memory.close()

    async def _fetch(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        offset: int | None = None
        while True:
            try:
                updates = await application.bot.get_updates(
                    offset=offset, timeout=int(self.poll_timeout_s), allowed_updates=list(ALLOWED_UPDATES)
                )
            except TimedOut:
                continue
            except TelegramError as exc:
                log.warning("telegram_poll_failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(self.delivery.backoff_s * 4)
                continue
            if not updates:
                continue
            rows = [(str(u.update_id), json.dumps(u.to_dict())) for u in updates]
            try:
                stored = await asyncio.to_thread(self.app.inbox.accept, CHANNEL, rows)
            except SQLAlchemyError:
                # The offset stays: Telegram keeps these updates and sends them again.
                log.error("telegram_inbox_unavailable", extra={"updates": len(rows)})
                await asyncio.sleep(1.0)
                continue
            for update in updates:
                if str(update.update_id) in stored:
                    await application.update_queue.put(update)
            offset = updates[-1].update_id + 1

    def run_polling(self) -> None:
        """Long-poll until Ctrl-C or SIGTERM (blocking)."""

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await self.poll(stop)

        asyncio.run(main())

    def router(self) -> APIRouter:
        """``POST /webhooks/telegram``: checks the secret header, queues the update, answers at once."""
        router = APIRouter(tags=["channels"])

        @router.post("/webhooks/telegram", summary="Telegram webhook", response_model=None)
        async def webhook(request: Request) -> JSONResponse:
            secret = self.app.settings.telegram_webhook_secret
            given = request.headers.get(SECRET_HEADER, "")
            if secret is None or not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
                return JSONResponse({"error": "bad or missing secret token"}, status_code=403)
            application = self.application
            if application is None or not self.accepting:
                return JSONResponse({"error": "the Telegram channel is not running"}, status_code=503)
            try:
                body = await request.json()
                update = Update.de_json(body, application.bot)
                payload = json.dumps(body)
            except Exception:
                return JSONResponse({"error": "not a Telegram update"}, status_code=400)
            try:  # stored before the 200: Telegram does not send it again after that
                stored = await asyncio.to_thread(
                    self.app.inbox.accept, CHANNEL, [(str(update.update_id), payload)]
                )
            except SQLAlchemyError:
                log.error("telegram_inbox_unavailable")
                return JSONResponse({"error": "cannot store the update now; send it again"}, status_code=503)
            if stored:
                await application.update_queue.put(update)
            else:
                log.info("telegram_duplicate_update", extra={"update_id": update.update_id})
            return JSONResponse({"ok": True})

        return router

    # --- inbound --------------------------------------------------------------------------------------

    async def _on_error(self, update: object, context: Any) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram_update_failed", extra={"update_id": update_id}, exc_info=context.error)

    async def _on_update(self, update: Update, _context: Any) -> None:
        assert self._memory is not None  # noqa: S101 - set when the application is built
        update_id = update.update_id
        replayed = update_id in self._replayed
        self._replayed.discard(update_id)
        fresh = await self._memory.first_time("update", str(update_id), _KEEP_UPDATE_IDS_S)
        if not fresh and not replayed:
            log.info("telegram_duplicate_update", extra={"update_id": update_id})
            return
        try:
            if update.callback_query is not None:
                await self._on_callback(update)
            elif update.edited_message is not None:
                await self._on_edit(update.edited_message)
            elif update.message is not None:
                await self._on_message(update, update.message)
        except SQLAlchemyError:
            log.error("telegram_database_down_update_kept", extra={"update_id": update_id})
            return  # still "new" in the inbox: answered once the database is back
        finally:
            status = self.delivery.done(update_id)
        try:
            await asyncio.to_thread(self.app.inbox.finish, CHANNEL, str(update_id), status)
        except SQLAlchemyError:
            log.warning("telegram_inbox_not_updated", extra={"update_id": update_id})

    def _user_id(self, chat: Chat, user: User) -> str:
        # In a group the conversation (a pending choice, a report) belongs to that person in that group.
        return str(user.id) if chat.type == ChatType.PRIVATE else f"{chat.id}:{user.id}"

    async def _lang(self, user_id: str, hint: str | None) -> str:
        return await self.app.language(CHANNEL, user_id, hint)

    async def _on_message(self, update: Update, message: Message) -> None:
        user = message.from_user
        if user is None or user.is_bot or not addressed(message, self._username, self._bot_id):
            return
        user_id = self._user_id(message.chat, user)
        hint = (user.language_code or "")[:2] or None
        base = Incoming(
            CHANNEL,
            user_id,
            message_id=str(message.message_id),
            timestamp=message.date,
            lang_hint=hint,
        )
        incoming: Incoming | None
        if message.text is not None:
            incoming = await self._text(base, clean(self._username, message.text))
        elif message.venue is not None:
            point = message.venue.location
            incoming = replace(base, location=GeoPoint(point.latitude, point.longitude))
        elif message.location is not None:
            point = message.location
            incoming = replace(base, location=GeoPoint(point.latitude, point.longitude))
        elif message.photo:
            incoming = replace(
                base, attachment=message.photo[-1].file_id, text=clean(self._username, message.caption or "")
            )
        elif message.contact is not None:
            await self._say(update, message, "contact_ignored", user_id, hint)
            return
        else:
            await self._say(update, message, "unsupported_message", user_id, hint)
            return
        if incoming is not None:
            await self._answer(update, message, incoming)

    async def _text(self, base: Incoming, text: str) -> Incoming:
        if not is_command(text):
            return replace(base, text=text)
        return from_command(base, text, await self._lang(base.user_id, base.lang_hint))

    async def _on_edit(self, message: Message) -> None:
        """A live location moved: remember the latest point, without answering."""
        user = message.from_user
        if message.location is None or user is None:
            return
        point = message.location
        await self.app.share_location(
            CHANNEL, self._user_id(message.chat, user), point.latitude, point.longitude
        )

    async def _on_callback(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None  # noqa: S101 - dispatched on it
        memory = self._memory
        assert memory is not None  # noqa: S101
        data = query.data or ""
        payload = await memory.get("cb", data) if data.startswith(KEY_PREFIX) else data or None
        message = query.message
        chat = message.chat if message is not None else None
        user_id = self._user_id(chat, query.from_user) if chat is not None else str(query.from_user.id)
        hint = (query.from_user.language_code or "")[:2] or None
        if payload is None or chat is None:
            lang = await self._lang(user_id, hint)
            stale = self.app.texts.get(lang, "button_expired")
            await self.delivery.deliver(update.update_id, "answerCallbackQuery", lambda: query.answer(stale))
            return
        await self.delivery.deliver(update.update_id, "answerCallbackQuery", lambda: query.answer())
        if payload.startswith(PHONE_PREFIX):
            phone, _, name = payload[len(PHONE_PREFIX) :].partition("\n")
            await self.delivery.deliver(
                update.update_id,
                "sendContact",
                lambda: query.get_bot().send_contact(
                    chat.id, phone_number=phone, first_name=name[:64] or phone
                ),
                f"{name}: {phone}",
                chat.id,
            )
            return
        incoming = Incoming(CHANNEL, user_id, payload=payload, lang_hint=hint)
        await self._reply(update, chat, incoming, None)

    async def _say(self, update: Update, message: Message, key: str, user_id: str, hint: str | None) -> None:
        text = self.app.texts.get(await self._lang(user_id, hint), key)
        await self._send(update.update_id, message.chat, [TextReply(text)], message.message_id)

    async def _answer(self, update: Update, message: Message, incoming: Incoming) -> None:
        await self._reply(update, message.chat, incoming, message.message_id)

    async def _reply(self, update: Update, chat: Chat, incoming: Incoming, reply_to: int | None) -> None:
        bot = chat.get_bot()
        typing = asyncio.create_task(
            self.delivery.deliver(
                update.update_id, "sendChatAction", lambda: bot.send_chat_action(chat.id, ChatAction.TYPING)
            )
        )
        try:
            replies = await self.app.handle(incoming)
        finally:
            await typing
        await self._send(update.update_id, chat, replies, reply_to)

    # --- outbound -------------------------------------------------------------------------------------

    @property
    def retries(self) -> int:
        """How many more times a failed send is tried."""
        return self.delivery.retries

    async def _send(self, update_id: int, chat: Chat, replies: Sequence[Reply], reply_to: int | None) -> None:
        assert self._renderer is not None  # noqa: S101 - made with the application
        bot = chat.get_bot()
        private = chat.type == ChatType.PRIVATE
        # In a group, the first reply quotes the message it answers, so it is clear who is answered.
        quote = (
            None
            if private or reply_to is None
            else ReplyParameters(reply_to, allow_sending_without_reply=True)
        )
        for index, reply in enumerate(replies):
            following = replies[index + 1] if index + 1 < len(replies) else None
            for method, call, text in await self._renderer.render(
                bot, chat.id, reply, following, private, quote
            ):
                await self.delivery.deliver(update_id, method, call, text, chat.id)
                quote = None
