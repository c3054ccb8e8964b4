"""The Telegram channel itself: wiring, the webhook route, long polling, and inbound updates.

See :mod:`connectors.telegram` for what it does; rendering is in :mod:`connectors.telegram.render`,
sending in :mod:`connectors.telegram.delivery`, the token and webhook set-up in
:mod:`connectors.telegram.setup`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError
from telegram import Chat, Message, ReplyParameters, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.app import App
from bot.settings import Settings
from bot.types import GeoPoint, Incoming, Reply, TextReply
from connectors.memory import ChannelMemory
from connectors.telegram import inbound
from connectors.telegram.delivery import CHANNEL, Deliverer
from connectors.telegram.polling import fetch_updates
from connectors.telegram.render import KEY_PREFIX, PHONE_PREFIX, Renderer
from connectors.telegram.setup import (
    ALLOWED_UPDATES,
    COMMANDS,
    api_roots,
    command,
    guard_logs,
    register_commands,
    token,
)
from connectors.telegram.webhook import webhook_router

__all__ = ["ALLOWED_UPDATES", "CHANNEL", "TelegramChannel"]

log = logging.getLogger(__name__)

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
        self._processor = inbound.OnePerConversation(self._conversation)
        self.accepting = True

    @staticmethod
    def command(settings: Settings, args: argparse.Namespace) -> int:
        """``dalil telegram [set-webhook URL | delete-webhook]`` (see the module's :func:`command`)."""
        return command(settings, args)

    def _conversation(self, conversation_id: str) -> AbstractAsyncContextManager[None]:
        return self.app.conversation(CHANNEL, conversation_id)

    # --- wiring ---------------------------------------------------------------------------------------

    def _build(self, polling: bool) -> Application[Any, Any, Any, Any, Any, Any]:
        bot_token = token(self.app.settings)
        guard_logs(bot_token)
        base_url, base_file_url = api_roots(self.app.settings)
        self._processor = inbound.OnePerConversation(self._conversation)
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
        for handler, group in self._handlers():
            application.add_handler(handler, group)
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
            self._fetcher = asyncio.create_task(
                fetch_updates(application, self.app.inbox, self.poll_timeout_s, self.delivery.backoff_s * 4)
            )
            log.info("telegram_polling", extra={"bot": self._username})
            try:
                await stop.wait()
            finally:
                await self._stop(application)
        self.application = None
        if self._memory is not None:
            await self._memory.close()

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
        """``POST /webhooks/telegram`` (:mod:`connectors.telegram.webhook`)."""
        return webhook_router(self)

    # --- inbound --------------------------------------------------------------------------------------

    def _handlers(self) -> list[tuple[BaseHandler[Any, Any, Any], int]]:
        """One small callback per kind of update, in PTB's groups.

        Group -1 admits each update once (a duplicate stops there); group 0 answers it (the first
        handler that matches); group 1 marks it done in the inbox. A failure in group 0 goes to
        :meth:`_on_error`, which stops the update before group 1, so it stays in the inbox.
        """
        for_us = inbound.ForUs(lambda: (self._username, self._bot_id))
        message = filters.UpdateType.MESSAGE & for_us
        return [
            (TypeHandler(Update, self._admit), -1),
            (CallbackQueryHandler(self._on_callback), 0),
            (MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.LOCATION, self._on_edit), 0),
            (CommandHandler(COMMANDS, self._on_text, filters=message), 0),
            (MessageHandler(message & filters.TEXT, self._on_text), 0),
            (MessageHandler(message & filters.LOCATION, self._on_location), 0),
            (MessageHandler(message & filters.PHOTO, self._on_photo), 0),
            (MessageHandler(message & filters.CONTACT, self._polite("contact_ignored")), 0),
            (MessageHandler(message, self._polite("unsupported_message")), 0),
            (TypeHandler(Update, self._finish_update), 1),
        ]

    async def _admit(self, update: Update, _context: Any) -> None:
        """Let each update through once (a replayed one again); a duplicate stops here."""
        assert self._memory is not None  # noqa: S101 - set when the application is built
        update_id = update.update_id
        replayed = update_id in self._replayed
        self._replayed.discard(update_id)
        fresh = await self._memory.first_time("update", str(update_id), _KEEP_UPDATE_IDS_S)
        if not fresh and not replayed:
            log.info("telegram_duplicate_update", extra={"update_id": update_id})
            raise ApplicationHandlerStop

    async def _finish_update(self, update: Update, _context: Any) -> None:
        """Answered (or parked in the undelivered queue): done in the inbox."""
        update_id = update.update_id
        status = self.delivery.done(update_id)
        try:
            await asyncio.to_thread(self.app.inbox.finish, CHANNEL, str(update_id), status)
        except SQLAlchemyError:
            log.warning("telegram_inbox_not_updated", extra={"update_id": update_id})

    async def _on_error(self, update: object, context: Any) -> None:
        """A failed update is not marked done: it stays in the inbox (answered once the cause is gone)."""
        update_id = update.update_id if isinstance(update, Update) else None
        if update_id is not None:
            self.delivery.done(update_id)
        if isinstance(context.error, SQLAlchemyError):
            log.error("telegram_database_down_update_kept", extra={"update_id": update_id})
        else:
            log.error("telegram_update_failed", extra={"update_id": update_id}, exc_info=context.error)
        raise ApplicationHandlerStop

    async def _lang(self, user_id: str, hint: str | None) -> str:
        return await self.app.language(CHANNEL, user_id, hint)

    def _incoming(self, message: Message) -> Incoming:
        """The ``Incoming`` for a message :class:`inbound.ForUs` let through (a person sent it)."""
        user = message.from_user
        if user is None:  # pragma: no cover - inbound.ForUs let only a person's message through
            raise TypeError(f"message {message.message_id} has no sender")
        return Incoming(
            CHANNEL,
            inbound.conversation_id(message.chat, user),
            message_id=str(message.message_id),
            timestamp=message.date,
            lang_hint=(user.language_code or "")[:2] or None,
        )

    async def _on_text(self, update: Update, _context: Any) -> None:
        """Text, and commands (``/start [deep-link]``, ``/help``, ``/lang``, ``/near``)."""
        message = inbound.sent_message(update)
        base = self._incoming(message)
        text = inbound.clean(self._username, message.text or "")
        await self._answer(update, message, inbound.from_command(base, text))

    async def _on_location(self, update: Update, _context: Any) -> None:
        """A shared location or venue: the point is what counts."""
        message = inbound.sent_message(update)
        point = message.venue.location if message.venue is not None else message.location
        if point is None:  # pragma: no cover - filters.LOCATION matched it
            return
        location = GeoPoint(point.latitude, point.longitude)
        await self._answer(update, message, replace(self._incoming(message), location=location))

    async def _on_photo(self, update: Update, _context: Any) -> None:
        """A photo (for a report): its ``file_id``, and the caption as the text."""
        message = inbound.sent_message(update)
        incoming = replace(
            self._incoming(message),
            attachment=message.photo[-1].file_id,
            text=inbound.clean(self._username, message.caption or ""),
        )
        await self._answer(update, message, incoming)

    def _polite(self, key: str) -> Callable[[Update, Any], Coroutine[Any, Any, None]]:
        """A callback that only answers the text ``key`` (to a contact, a voice note, a sticker …)."""

        async def answer(update: Update, _context: Any) -> None:
            message = inbound.sent_message(update)
            await self._say(update, message, key, self._incoming(message))

        return answer

    async def _on_edit(self, update: Update, _context: Any) -> None:
        """A live location moved: remember the latest point, without answering."""
        message = inbound.sent_message(update)
        user = message.from_user
        if message.location is None or user is None:
            return
        point = message.location
        await self.app.share_location(
            CHANNEL, inbound.conversation_id(message.chat, user), point.latitude, point.longitude
        )

    async def _on_callback(self, update: Update, _context: Any) -> None:
        query = update.callback_query
        assert query is not None  # noqa: S101 - dispatched on it
        memory = self._memory
        assert memory is not None  # noqa: S101
        data = query.data or ""
        payload = await memory.get("cb", data) if data.startswith(KEY_PREFIX) else data or None
        message = query.message
        chat = message.chat if message is not None else None
        user_id = (
            inbound.conversation_id(chat, query.from_user) if chat is not None else str(query.from_user.id)
        )
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

    async def _say(self, update: Update, message: Message, key: str, asker: Incoming) -> None:
        text = self.app.texts.get(await self._lang(asker.user_id, asker.lang_hint), key)
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
