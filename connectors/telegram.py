"""The Telegram channel, on python-telegram-bot (the only module that imports it).

Two run modes share one update handler: ``dalil telegram`` long-polls (deleting any webhook first), and
``dalil serve`` accepts ``POST /webhooks/telegram`` when ``TELEGRAM_WEBHOOK_SECRET`` is set (registered
with ``dalil telegram set-webhook URL``). ``TELEGRAM_API_BASE_URL`` points the bot at another Bot API
server (a self-hosted one, or the fake one in the tests).

Inbound: text and commands (``/start [deep-link]``, ``/help``, ``/lang``, ``/near``), locations, venues,
live locations (their edits update the stored location silently), photos (the ``file_id`` goes with a
report), our inline buttons; contacts, voice notes, stickers and the rest get a short polite answer. In
groups Dalil answers only when mentioned or replied to.

Outbound: a place card is an HTML message with an inline keyboard plus a venue (or location) pin; choice
lists are inline keyboards whose ``callback_data`` is a place id or a short server-side key, never raw
text; a location request is a reply keyboard with ``request_location``.

Delivery: ``AIORateLimiter`` honours 429 ``retry_after``; network errors are retried with backoff; a send
that still fails is logged with the update id and the loop goes on. Each update is handled once (by
``update_id``, in Redis when ``DALIL_REDIS_URL`` is set, so also across restarts).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import html
import json
import logging
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from telegram import (
    Bot,
    BotCommand,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, BaseUpdateProcessor, TypeHandler

from bot.app import App, build_app
from bot.records import Sender
from bot.settings import Settings
from bot.state import KeyedLocks, user_key
from bot.texts import split_message
from bot.types import (
    Button,
    Choices,
    GeoPoint,
    HandoffNotice,
    Incoming,
    LocationPin,
    PlaceCard,
    QuickButtons,
    Reply,
    RequestLocation,
    TextReply,
)
from connectors.memory import ChannelMemory
from connectors.outbox import Attempt, Transient, deliver_once, with_retries

__all__ = ["ALLOWED_UPDATES", "CHANNEL", "TelegramChannel", "callback_data", "command", "set_webhook"]

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_CALLBACK_BYTES = 64
MAX_TEXT = 4096
COMMANDS = ("start", "help", "near", "lang")
# Payloads made of our own ids travel as they are (so buttons keep working after a restart without
# Redis); anything else (free text, phone numbers) is kept server-side under a short key.
_DIRECT_PAYLOAD = re.compile(r"^(?:place|hours|wrong|service):[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DEEP_LINK = re.compile(r"^(place|hours|service)_([A-Za-z0-9][A-Za-z0-9_-]*)$")
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@(\w+))?(?:\s+(.*))?$", re.DOTALL)
_KEY_PREFIX = "k:"
_PHONE_PREFIX = "tel:"
_KEEP_PAYLOADS_S = 30 * 24 * 3600
_KEEP_UPDATE_IDS_S = 2 * 24 * 3600
REPLY_WINDOW = timedelta(hours=24)
"""Stored updates older than this are not answered after a restart: the moment has passed."""
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def callback_data(payload: str) -> tuple[str, str | None]:
    """The ``callback_data`` for a payload, and the payload to keep server-side under it (if any)."""
    if _DIRECT_PAYLOAD.match(payload) and len(payload.encode()) <= MAX_CALLBACK_BYTES:
        return payload, None
    digest = hashlib.sha256(payload.encode()).digest()[:12]
    return _KEY_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("="), payload


class _OnePerChat(BaseUpdateProcessor):
    """Updates of different chats run concurrently; those of one chat in the order they came."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks = KeyedLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        async with self._locks.hold(str(chat.id)):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class _RedactToken(logging.Filter):
    """httpx logs request URLs, and Telegram's carry the bot token: blank it out."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token in record.getMessage():
            record.msg, record.args = record.getMessage().replace(self.token, "<token>"), None
        return True


def _api_roots(settings: Settings) -> tuple[str, str]:
    root = settings.telegram_api_base_url.rstrip("/")
    return f"{root}/bot", f"{root}/file/bot"


def _token(settings: Settings) -> str:
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    return settings.telegram_bot_token.get_secret_value()


def _guard_logs(token: str) -> None:
    for name in ("httpx", "httpcore", "telegram", "telegram.ext"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactToken) for f in logger.filters):
            logger.addFilter(_RedactToken(token))


class TelegramChannel:
    """Serves Telegram: the webhook route for ``dalil serve``, and long polling for ``dalil telegram``."""

    name = CHANNEL

    def __init__(
        self, app: App, retries: int = 3, backoff_s: float = 0.5, poll_timeout_s: float = 30
    ) -> None:
        """Answer through ``app``'s engine; failed sends are tried ``retries`` more times."""
        self.app = app
        self.retries = retries
        self.backoff_s = backoff_s
        self.poll_timeout_s = poll_timeout_s
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._memory: ChannelMemory | None = None
        self._retry: asyncio.Task[None] | None = None
        self._username = ""
        self._bot_id = 0
        self._fetcher: asyncio.Task[None] | None = None
        self._replayed: set[int] = set()
        self._parked: set[int] = set()
        self._sends: dict[int, int] = {}
        self.accepting = True
        self.drain_s = 5.0

    @staticmethod
    def command(settings: Settings, args: argparse.Namespace) -> int:
        """``dalil telegram [set-webhook URL | delete-webhook]`` (see the module's :func:`command`)."""
        return command(settings, args)

    # --- wiring ---------------------------------------------------------------------------------------

    def _build(self, polling: bool) -> Application[Any, Any, Any, Any, Any, Any]:
        token = _token(self.app.settings)
        _guard_logs(token)
        base_url, base_file_url = _api_roots(self.app.settings)
        builder = (
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .base_file_url(base_file_url)
            .rate_limiter(AIORateLimiter(max_retries=3))
            .concurrent_updates(_OnePerChat())
        )
        if not polling:
            builder = builder.updater(None)
        application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)
        namespace = f"dalil:telegram:{token.partition(':')[0]}"  # the bot id, not the secret part
        self._memory = ChannelMemory(self.app.settings.redis_url, namespace)
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
        """Stop intake, finish the turns under way (up to ``drain_s``); the backlog stays in the inbox."""
        self.accepting = False
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
        try:  # let the next start answer them at once, without waiting for the claim to lapse
            await asyncio.to_thread(self.app.inbox.release, CHANNEL, left)
        except SQLAlchemyError:
            log.warning("telegram_inbox_not_released", extra={"updates": len(left)})
        if left:
            log.info("telegram_backlog_left_in_inbox", extra={"updates": len(left)})
        if application.running:
            try:
                await asyncio.wait_for(application.stop(), self.drain_s)
            except TimeoutError:
                log.warning("telegram_turns_unfinished_at_shutdown")

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
                await asyncio.sleep(self.backoff_s * 4)
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
            self._sends.pop(update_id, None)
        status = "parked" if update_id in self._parked else "answered"
        self._parked.discard(update_id)
        try:
            await asyncio.to_thread(self.app.inbox.finish, CHANNEL, str(update_id), status)
        except SQLAlchemyError:
            log.warning("telegram_inbox_not_updated", extra={"update_id": update_id})

    def _user_id(self, chat: Chat, user: User) -> str:
        # In a group the conversation (a pending choice, a report) belongs to that person in that group.
        return str(user.id) if chat.type == ChatType.PRIVATE else f"{chat.id}:{user.id}"

    def _addressed(self, message: Message) -> bool:
        if message.chat.type == ChatType.PRIVATE:
            return True
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == self._bot_id:
            return True
        for entity, text in message.parse_entities().items():
            if entity.type == MessageEntity.MENTION and text[1:].lower() == self._username:
                return True
            if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == self._bot_id:
                return True
            if entity.type == MessageEntity.BOT_COMMAND and text.lower().endswith(f"@{self._username}"):
                return True
        for entity, text in message.parse_caption_entities().items():
            if entity.type == MessageEntity.MENTION and text[1:].lower() == self._username:
                return True
        return False

    def _clean(self, text: str) -> str:
        if self._username:
            text = re.sub(rf"@{re.escape(self._username)}\b", "", text, flags=re.IGNORECASE)
        return " ".join(text.split())

    async def _lang(self, user_id: str, hint: str | None) -> str:
        state = await self.app.states.get(user_key(CHANNEL, user_id))
        return state.lang or (hint if hint in ("ar", "en") else None) or "ar"

    async def _on_message(self, update: Update, message: Message) -> None:
        user = message.from_user
        if user is None or user.is_bot or not self._addressed(message):
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
            incoming = await self._text(base, self._clean(message.text))
        elif message.venue is not None:
            point = message.venue.location
            incoming = _with(base, location=GeoPoint(point.latitude, point.longitude))
        elif message.location is not None:
            point = message.location
            incoming = _with(base, location=GeoPoint(point.latitude, point.longitude))
        elif message.photo:
            incoming = _with(
                base, attachment=message.photo[-1].file_id, text=self._clean(message.caption or "")
            )
        elif message.contact is not None:
            await self._say(update, message, "contact_ignored", user_id, hint)
            return
        else:
            await self._say(update, message, "unsupported_message", user_id, hint)
            return
        if incoming is not None:
            await self._answer(update, message, incoming)

    async def _text(self, base: Incoming, text: str) -> Incoming | None:
        match = _COMMAND.match(text)
        if match is None:
            return _with(base, text=text)
        name, argument = match.group(1).lower(), (match.group(3) or "").strip()
        lang = await self._lang(base.user_id, base.lang_hint)
        if name == "start":
            link = _DEEP_LINK.match(argument)
            if link:
                return _with(base, payload=f"{link.group(1)}:{link.group(2)}")
            return _with(base, text="hello" if lang == "en" else "مرحبا")
        if name == "help":
            return _with(base, text="help" if lang == "en" else "مساعدة")
        if name == "lang":
            target = argument.lower()[:2] or ("ar" if lang == "en" else "en")
            return _with(base, text="English please" if target == "en" else "كلمني عربي")
        if name == "near":
            if lang == "en":
                return _with(base, text=f"nearest {argument}" if argument else "nearest places")
            return _with(base, text=f"أقرب {argument}" if argument else "وش قريب مني")
        return _with(base, text=text)

    async def _on_edit(self, message: Message) -> None:
        """A live location moved: remember the latest point, without answering."""
        user = message.from_user
        if message.location is None or user is None:
            return
        key = user_key(CHANNEL, self._user_id(message.chat, user))
        states = self.app.states
        async with states.lock(key):
            state = await states.get(key)
            state.location = [
                message.location.latitude,
                message.location.longitude,
                self.app.clock().timestamp(),
            ]
            await states.put(key, state)

    async def _on_callback(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None  # noqa: S101 - dispatched on it
        memory = self._memory
        assert memory is not None  # noqa: S101
        data = query.data or ""
        payload = await memory.get("cb", data) if data.startswith(_KEY_PREFIX) else data or None
        message = query.message
        chat = message.chat if message is not None else None
        user_id = self._user_id(chat, query.from_user) if chat is not None else str(query.from_user.id)
        hint = (query.from_user.language_code or "")[:2] or None
        if payload is None or chat is None:
            lang = await self._lang(user_id, hint)
            stale = self.app.engine.services.texts.get(lang, "button_expired")
            await self._deliver(update.update_id, "answerCallbackQuery", lambda: query.answer(stale))
            return
        await self._deliver(update.update_id, "answerCallbackQuery", lambda: query.answer())
        if payload.startswith(_PHONE_PREFIX):
            phone, _, name = payload[len(_PHONE_PREFIX) :].partition("\n")
            await self._deliver(
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
        text = self.app.engine.services.texts.get(await self._lang(user_id, hint), key)
        await self._send(update.update_id, message.chat, [TextReply(text)], message.message_id)

    async def _answer(self, update: Update, message: Message, incoming: Incoming) -> None:
        await self._reply(update, message.chat, incoming, message.message_id)

    async def _reply(self, update: Update, chat: Chat, incoming: Incoming, reply_to: int | None) -> None:
        bot = chat.get_bot()
        typing = asyncio.create_task(
            self._deliver(
                update.update_id, "sendChatAction", lambda: bot.send_chat_action(chat.id, ChatAction.TYPING)
            )
        )
        try:
            replies = await self.app.engine.handle(incoming)
        finally:
            await typing
        await self._send(update.update_id, chat, replies, reply_to)

    # --- outbound -------------------------------------------------------------------------------------

    async def _attempt(self, call: Callable[[], Awaitable[Any]]) -> Attempt:
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

    async def _deliver(
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
            return with_retries(
                lambda: self._attempt(call), self.retries, self.backoff_s, self.backoff_s * 16
            )

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
            self._parked.add(update_id)
            reason = "delivery_unknown" if result.maybe_delivered else f"error:{result.reason}"
            records = self.app.engine.services.records
            sender = Sender(user_key(CHANNEL, str(chat_id)), CHANNEL)
            try:
                await asyncio.to_thread(
                    records.add_undelivered, sender, str(chat_id), reason[:40], result.code, text
                )
            except Exception:
                log.exception("telegram_undelivered_not_recorded", extra={"update_id": update_id})
        return False

    async def _send(self, update_id: int, chat: Chat, replies: Sequence[Reply], reply_to: int | None) -> None:
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
            for method, call, text in await self._render(bot, chat.id, reply, following, private, quote):
                await self._deliver(update_id, method, call, text, chat.id)
                quote = None

    async def _render(
        self,
        bot: Bot,
        chat_id: int,
        reply: Reply,
        following: Reply | None,
        private: bool,
        quote: ReplyParameters | None,
    ) -> list[tuple[str, Callable[[], Awaitable[Any]], str]]:
        calls: list[tuple[str, Callable[[], Awaitable[Any]], str]] = []

        def send(text: str, markup: Any, parse_mode: str | None, quoted: ReplyParameters | None) -> Any:
            return lambda: bot.send_message(
                chat_id, text, parse_mode=parse_mode, reply_markup=markup, reply_parameters=quoted
            )

        def message(text: str, markup: Any = None, parse_mode: str | None = None) -> None:
            chunks = split_message(text, MAX_TEXT)
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                quoted = quote if not calls else None
                calls.append(
                    ("sendMessage", send(chunk, markup if last else None, parse_mode, quoted), chunk)
                )

        if isinstance(reply, PlaceCard):
            text = "\n".join((f"<b>{_escape(reply.title)}</b>", *(_escape(line) for line in reply.lines)))
            message(text, await self._card_keyboard(reply), ParseMode.HTML)
            if reply.location is not None and not isinstance(following, LocationPin):
                calls.append(
                    self._pin(
                        bot, chat_id, reply.location.lat, reply.location.lon, reply.title, reply.address
                    )
                )
        elif isinstance(reply, Choices):
            lines = [reply.text]
            if any(option.description for option in reply.options):
                lines += [
                    f"{number}. {option.title}" + (f" — {option.description}" if option.description else "")
                    for number, option in enumerate(reply.options, 1)
                ]
            rows = [
                [await self._inline(Button(option.title, payload=option.payload))] for option in reply.options
            ]
            message("\n".join(lines), InlineKeyboardMarkup(rows))
        elif isinstance(reply, QuickButtons):
            message(reply.text, InlineKeyboardMarkup([[await self._inline(b)] for b in reply.buttons]))
        elif isinstance(reply, LocationPin):
            calls.append(self._pin(bot, chat_id, reply.lat, reply.lon, reply.name, reply.address))
        elif isinstance(reply, RequestLocation):
            # Telegram offers the location button only in private chats.
            markup = (
                ReplyKeyboardMarkup(
                    [[KeyboardButton(reply.button or reply.text[:64], request_location=True)]],
                    resize_keyboard=True,
                    one_time_keyboard=True,
                )
                if private
                else None
            )
            message(reply.text, markup)
        elif isinstance(reply, TextReply | HandoffNotice):
            message(reply.text)
        return calls

    def _pin(
        self, bot: Bot, chat_id: int, lat: float, lon: float, name: str, address: str | None
    ) -> tuple[str, Callable[[], Awaitable[Any]], str]:
        where = f"{name} ({lat:.5f}, {lon:.5f})"
        if address:
            return (
                "sendVenue",
                lambda: bot.send_venue(chat_id, latitude=lat, longitude=lon, title=name, address=address),
                where,
            )
        return "sendLocation", lambda: bot.send_location(chat_id, latitude=lat, longitude=lon), where

    async def _card_keyboard(self, card: PlaceCard) -> InlineKeyboardMarkup | None:
        main = [b for b in card.buttons if not (b.payload or "").startswith("wrong:")]
        wrong = [b for b in card.buttons if (b.payload or "").startswith("wrong:")]
        rows: list[list[InlineKeyboardButton]] = []
        for start in range(0, len(main), 2):
            rows.append([await self._inline(b, card.title) for b in main[start : start + 2]])
        if wrong:
            rows.append([await self._inline(b, card.title) for b in wrong])
        return InlineKeyboardMarkup(rows) if rows else None

    async def _inline(self, button: Button, name: str = "") -> InlineKeyboardButton:
        if button.url is not None and button.payload is None:
            return InlineKeyboardButton(button.title, url=button.url)
        # Telegram buttons cannot dial: "Call" sends the number as a contact card, which can.
        payload = button.payload if button.payload is not None else f"{_PHONE_PREFIX}{button.phone}\n{name}"
        data, keep = callback_data(payload)
        if keep is not None:
            assert self._memory is not None  # noqa: S101
            await self._memory.put("cb", data, keep, _KEEP_PAYLOADS_S)
        return InlineKeyboardButton(button.title, callback_data=data)


def _with(base: Incoming, **fields: Any) -> Incoming:
    return replace(base, **fields)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


async def register_commands(bot: Bot, app: App) -> None:
    """The command menu in Arabic (also the default) and English."""
    texts = app.engine.services.texts
    for lang in ("ar", "en", None):
        commands = [BotCommand(name, texts.get(lang or "ar", f"command_{name}")) for name in COMMANDS]
        try:
            await bot.set_my_commands(commands, language_code=lang)
        except TelegramError as exc:
            log.warning("telegram_commands_not_set", extra={"lang": lang, "error": str(exc)})


async def set_webhook(settings: Settings, url: str, app: App | None = None) -> None:
    """Point Telegram at ``url`` with our secret and update kinds (and register the command menu).

    Raises:
        ValueError: the token or the webhook secret is not set.
        telegram.error.TelegramError: Telegram refused.
    """
    token = _token(settings)
    if settings.telegram_webhook_secret is None:
        raise ValueError("TELEGRAM_WEBHOOK_SECRET is not set")
    _guard_logs(token)
    base_url, base_file_url = _api_roots(settings)
    async with Bot(token, base_url=base_url, base_file_url=base_file_url) as bot:
        await bot.set_webhook(
            url,
            secret_token=settings.telegram_webhook_secret.get_secret_value(),
            allowed_updates=list(ALLOWED_UPDATES),
        )
        if app is not None:
            await register_commands(bot, app)


async def delete_webhook(settings: Settings) -> None:
    """Remove the webhook (``dalil telegram`` does this itself before polling)."""
    token = _token(settings)
    _guard_logs(token)
    base_url, base_file_url = _api_roots(settings)
    async with Bot(token, base_url=base_url, base_file_url=base_file_url) as bot:
        await bot.delete_webhook()


def command(settings: Settings, args: argparse.Namespace) -> int:
    """``dalil telegram [set-webhook URL | delete-webhook]``; without an action, long polling."""
    action = getattr(args, "telegram_command", None)
    try:
        if action == "set-webhook":
            if not re.match(r"^https?://", args.url):
                print("dalil: the webhook URL must start with https://", file=sys.stderr)
                return 2
            asyncio.run(set_webhook(settings, args.url, build_app(settings)))
            print(f"webhook set: {args.url}")
            return 0
        if action == "delete-webhook":
            asyncio.run(delete_webhook(settings))
            print("webhook deleted")
            return 0
        _token(settings)
    except ValueError as exc:
        print(f"dalil: {exc}", file=sys.stderr)
        return 2
    except TelegramError as exc:
        print(f"dalil: the Telegram request failed: {exc}", file=sys.stderr)
        return 1
    TelegramChannel(build_app(settings)).run_polling()
    return 0
