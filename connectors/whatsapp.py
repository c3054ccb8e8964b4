"""The WhatsApp channel: Meta's WhatsApp Business Cloud API, over httpx (no SDK).

Webhook (``dalil serve``; HTTP checks in :mod:`connectors.whatsapp_webhook`): every message of a signed
``POST /webhooks/whatsapp`` is stored in the inbox (:mod:`bot.inbox`) before the 200, then handled in the
background; a database that cannot take it means 503 (Meta delivers again). Each ``wamid`` is answered
once (the inbox, and the channel memory, in Redis when configured); stored but unanswered messages (the
process was killed) are answered on the next start, within the 24-hour window.

Inbound (:mod:`connectors.whatsapp_inbound`): texts, locations, taps on our buttons and list rows,
template quick replies, photos for reports; statuses are counted, never answered.

Outbound (:mod:`connectors.whatsapp_render`, sent by :mod:`connectors.whatsapp_api`): each message has
a reply id in the outbox, so a replay never sends a part twice and a send that may have arrived (a read
timeout) is never repeated. Outside the 24-hour window (last message older, or Meta's 131047) the
re-engagement template (``dalil.whatsapp.reengagement_template``) goes at most once a day per person and
the answer is kept in ``undelivered``; a failed template is never followed by another. Logs carry the
pseudonymous user key, message ids and error codes, never phone numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.background import BackgroundTask

from bot.app import App
from bot.records import Sender
from bot.settings import Settings
from bot.state import user_key
from bot.types import Incoming, PlaceCard, Reply, TextReply
from connectors.memory import ChannelMemory
from connectors.outbox import Attempt, RateLimiter, deliver_once
from connectors.whatsapp_api import GraphClient, check, command
from connectors.whatsapp_inbound import (
    Inbound,
    Recipient,
    Status,
    language_hint,
    message_from_json,
    read_webhook,
    signature,
    to_incoming,
)
from connectors.whatsapp_render import (
    MAX_ROW_DESCRIPTION,
    MAX_ROW_TITLE,
    Renderer,
    envelope,
    plain,
    plain_message,
    trim,
)
from connectors.whatsapp_webhook import read_signed, verify

__all__ = [
    "CHANNEL",
    "MAX_ROW_DESCRIPTION",
    "MAX_ROW_TITLE",
    "RateLimiter",
    "Recipient",
    "WhatsAppChannel",
    "check",
    "command",
    "language_hint",
    "read_webhook",
    "signature",
    "trim",
]

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
WINDOW = timedelta(hours=24)
WINDOW_CLOSED = 131047
STATUSES = ("sent", "delivered", "read", "failed")
_KEEP_SEEN_S = 8 * 24 * 3600  # Meta keeps redelivering a failed webhook for days
_KEEP_INBOUND_S = 2 * 24 * 3600
_KEEP_SENT_S = 2 * 24 * 3600


class WhatsAppChannel:
    """Serves WhatsApp: the webhook routes for ``dalil serve`` and the Cloud API client."""

    name = CHANNEL

    @staticmethod
    def command(settings: Settings, args: argparse.Namespace) -> int:
        """``dalil whatsapp check`` (see :func:`connectors.whatsapp_api.command`)."""
        return command(settings, args)

    def __init__(
        self,
        app: App,
        retries: int = 4,
        backoff_s: float = 0.5,
        pair_backoff_s: float = 2.0,
        max_backoff_s: float = 30.0,
        timeout_s: float = 10.0,
    ) -> None:
        """Answer through ``app``'s engine; the retry policy is :meth:`GraphClient.retry_policy`'s."""
        self.app = app
        self.api = GraphClient(app.settings, self._count, timeout_s)
        self.api.retry_policy(retries, backoff_s, pair_backoff_s, max_backoff_s)
        self._memory: ChannelMemory | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._unanswered: dict[asyncio.Task[None], Inbound] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self.accepting = True
        self.drain_s = 10.0
        self.sweep_s = 10.0

    # Retry policy, kept on the API client (tests make the waits short).
    retries = property(lambda self: self.api.retries)
    backoff_s = property(lambda self: self.api.backoff_s, lambda self, v: setattr(self.api, "backoff_s", v))
    pair_backoff_s = property(
        lambda s: s.api.pair_backoff_s, lambda s, v: setattr(s.api, "pair_backoff_s", v)
    )

    def _count(self, outcome: str) -> None:
        self.app.metrics.deliveries.labels(CHANNEL, outcome).inc()

    # --- wiring ---------------------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        """Whether the token, phone number id and app secret are all set."""
        s = self.app.settings
        return bool(s.whatsapp_token and s.whatsapp_phone_number_id and s.whatsapp_app_secret)

    @property
    def memory(self) -> ChannelMemory:
        """Seen message ids, long button payloads, last inbound times, what we sent."""
        if self._memory is None:
            number = self.app.settings.whatsapp_phone_number_id or "unset"
            self._memory = ChannelMemory(self.app.settings.redis_url, f"dalil:whatsapp:{number}")
        return self._memory

    async def render(self, reply: Reply, following: Reply | None, lang: str) -> list[dict[str, Any]]:
        """The send requests (without the recipient) for one reply."""
        return await Renderer(self.app.texts, self.memory).render(reply, following, lang)

    async def startup(self) -> None:
        """Open the API client and answer what the inbox still holds (``dalil serve``)."""
        if not self.configured:
            return
        self.api.http()
        _ = self.memory
        await self.replay()
        self._sweeper = asyncio.create_task(self._sweep())
        log.info("whatsapp_webhook_ready")

    async def replay(self) -> int:
        """Answer the stored messages nobody is answering (within 24 hours); returns how many."""
        try:
            pending = await asyncio.to_thread(self.app.inbox.claim, CHANNEL, WINDOW)
        except SQLAlchemyError:
            log.warning("whatsapp_inbox_unreadable", exc_info=True)
            return 0
        for row in pending:
            message = message_from_json(row.payload)
            if message is None:
                await asyncio.to_thread(self.app.inbox.finish, CHANNEL, row.message_id, "unreadable")
                continue
            self._unanswered[self._spawn(self._on_message(message, replayed=True))] = message
        if pending:
            log.info("whatsapp_replayed", extra={"messages": len(pending)})
        return len(pending)

    async def _sweep(self) -> None:
        """Now and then, answer messages whose process died (or whose turn lost the database)."""
        while True:
            await asyncio.sleep(self.sweep_s)
            await self.replay()

    async def shutdown(self) -> None:
        """Stop intake, finish the messages in hand (up to ``drain_s``), keep any still unanswered.

        Meta had its 200 for those, so it will not deliver them again: each one left is kept in the
        ``undelivered`` queue (reason ``not_answered_shutdown``) for the team to follow up.
        """
        self.accepting = False
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        await self.drain(self.drain_s)
        left = list(self._tasks)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        for message in list(self._unanswered.values()):
            said = message.text or f"({message.kind})"
            await self._undelivered(
                message.sender, self._key(message.sender), "not_answered_shutdown", None, said
            )
            await self._finish(message.wamid, "parked")
        self._unanswered.clear()
        await self.api.close()
        memory, self._memory = self._memory, None
        if memory is not None:
            await memory.close()

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every message accepted so far is answered (or ``timeout_s`` passes)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._tasks and asyncio.get_running_loop().time() < deadline:
            await asyncio.wait(
                set(self._tasks), timeout=max(0.0, deadline - asyncio.get_running_loop().time())
            )

    def router(self) -> APIRouter:
        """``GET|POST /webhooks/whatsapp``: the verification handshake, and signed deliveries."""
        router = APIRouter(tags=["channels"])

        @router.get("/webhooks/whatsapp", summary="WhatsApp webhook verification", response_model=None)
        async def handshake(request: Request) -> Response:
            return verify(request, self.app.settings)

        @router.post("/webhooks/whatsapp", summary="WhatsApp webhook", response_model=None)
        async def webhook(request: Request) -> JSONResponse:
            return await self._webhook(request)

        return router

    async def _webhook(self, request: Request) -> JSONResponse:
        metrics = self.app.metrics.webhooks
        if not self.configured:
            metrics.labels(CHANNEL, "not_configured").inc()
            return JSONResponse({"error": "the WhatsApp channel is not configured"}, status_code=404)
        read = await read_signed(request, self.app.settings, lambda why: metrics.labels(CHANNEL, why).inc())
        if isinstance(read, JSONResponse):
            return read
        messages, statuses = read
        if not self.accepting:
            metrics.labels(CHANNEL, "stopping").inc()
            return JSONResponse({"error": "shutting down; deliver again"}, status_code=503)
        try:
            stored = await asyncio.to_thread(
                self.app.inbox.accept, CHANNEL, [(m.wamid, m.raw) for m in messages]
            )
        except SQLAlchemyError:
            metrics.labels(CHANNEL, "inbox_unavailable").inc()
            log.error("whatsapp_inbox_unavailable", exc_info=True)
            return JSONResponse({"error": "cannot store messages now; deliver again"}, status_code=503)
        fresh: dict[str, Inbound] = {}
        for message in messages:
            if message.wamid in stored:
                fresh.setdefault(message.wamid, message)
            else:
                log.info("whatsapp_duplicate_message", extra={"wamid": message.wamid})
                metrics.labels(CHANNEL, "duplicate").inc()
        metrics.labels(CHANNEL, "accepted").inc()
        # Stored: the work starts once the 200 is on the wire, so Meta's acknowledgement never waits for it.
        task = BackgroundTask(self._accept, list(fresh.values()), statuses)
        return JSONResponse({"ok": True}, background=task)

    async def _accept(self, messages: Sequence[Inbound], statuses: Sequence[Status]) -> None:
        for status in statuses:
            self._spawn(self._on_status(status))
        for message in messages:
            self._unanswered[self._spawn(self._on_message(message))] = message

    def _spawn(self, work: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return  # still in _unanswered: shutdown keeps it
        message = self._unanswered.pop(task, None)
        error = task.exception()
        if error is None:
            return
        log.error("whatsapp_message_failed", exc_info=error)
        if message is not None:  # a bug, not the person's fault: keep what they said for the team
            said = message.text or f"({message.kind})"
            self._spawn(self._park(message, "not_answered_error", said))

    async def _park(self, message: Inbound, reason: str, said: str) -> None:
        await self._undelivered(message.sender, self._key(message.sender), reason, None, said)
        await self._finish(message.wamid, "parked")

    async def _finish(self, wamid: str, status: str) -> None:
        try:
            await asyncio.to_thread(self.app.inbox.finish, CHANNEL, wamid, status)
        except SQLAlchemyError:  # left "new": the sweep answers it again, the outbox skips what went
            log.warning("whatsapp_inbox_not_updated", extra={"wamid": wamid}, exc_info=True)

    # --- inbound --------------------------------------------------------------------------------------

    def _key(self, recipient: Recipient) -> str:
        return user_key(CHANNEL, recipient.id)

    async def _lang(self, recipient: Recipient, hint: str = "ar") -> str:
        return await self.app.language(CHANNEL, recipient.id, hint)

    async def _on_message(self, message: Inbound, replayed: bool = False) -> None:
        memory = self.memory
        if not await memory.first_time("seen", message.wamid, _KEEP_SEEN_S) and not replayed:
            log.info("whatsapp_duplicate_message", extra={"wamid": message.wamid})
            self.app.metrics.webhooks.labels(CHANNEL, "duplicate").inc()
            await self._finish(message.wamid, "duplicate")
            return
        key = self._key(message.sender)
        async with self.app.conversation(CHANNEL, message.sender.id):
            if message.sent_at is not None:
                await self._note_inbound(key, message.sent_at)
            if message.kind in ("system", "reaction_removed"):
                await self._finish(message.wamid, "answered")
                return  # number changes and removed reactions need no answer
            if not replayed:
                await self._mark_read(message)
            if message.kind == "text" and message.quoted:
                await self._about_quoted_card(message.sender, message.quoted)
            hint = language_hint(message.sender)
            try:
                incoming = await self._incoming(message, hint)
                if isinstance(incoming, str):
                    lang = await self._lang(message.sender, hint)
                    replies: list[Reply] = [TextReply(self.app.texts.get(lang, incoming))]
                else:
                    replies = await self.app.handle(incoming)
                outcome = await self.send(message.sender, replies, in_reply_to=message.wamid)
            except SQLAlchemyError:  # the turn, or the outbox: nothing more of this answer may go
                # Kept in the inbox (still "new"): answered properly once the database is back.
                log.error("whatsapp_database_down_message_kept", extra={"wamid": message.wamid})
                await self._sorry(message.sender, hint)
                return
        await self._finish(message.wamid, outcome)

    async def _sorry(self, recipient: Recipient, hint: str) -> None:
        lang = await self._lang(recipient, hint)
        text = self.app.texts.get(lang, "temporarily_unavailable")
        await self.api.post({**envelope(recipient), "type": "text", "text": {"body": text}}, None, retries=1)

    async def _incoming(self, message: Inbound, hint: str) -> Incoming | str:
        """The engine's ``Incoming`` for ``message``, or the key of a polite text answer."""
        media_dir = self.app.settings.media_dir / CHANNEL
        return await to_incoming(
            message,
            hint,
            lambda key: self.memory.get("payload", key),
            lambda reference: self.api.keep_media(reference, media_dir),
        )

    async def _about_quoted_card(self, sender: Recipient, quoted: str) -> None:
        """A reply to one of our place cards is about that place, whatever was discussed since."""
        place_id = await self.memory.get("card", quoted)
        if place_id is None:
            return
        await self.app.focus_place(CHANNEL, sender.id, place_id)

    async def _last_inbound(self, key: str) -> float | None:
        """When this person last wrote (unix time), if known."""
        known = await self.memory.get("inbound", key)
        try:
            return float(known) if known is not None else None
        except ValueError:
            return None

    async def _note_inbound(self, key: str, sent_at: datetime) -> None:
        known = await self._last_inbound(key)
        stamp = sent_at.timestamp()
        if known is None or known < stamp:
            await self.memory.put("inbound", key, repr(stamp), _KEEP_INBOUND_S)

    async def _mark_read(self, message: Inbound) -> None:
        body = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message.wamid,
            "typing_indicator": {"type": "text"},
        }
        result = await self.api.post(body, message.wamid, retries=0)
        if not result.ok:
            log.info("whatsapp_mark_read_failed", extra={"wamid": message.wamid, "code": result.code})

    async def _on_status(self, status: Status) -> None:
        label = status.status if status.status in STATUSES else "other"
        self.app.metrics.statuses.labels(CHANNEL, label).inc()
        if status.status != "failed":
            return
        log.warning("whatsapp_delivery_failed", extra={"wamid": status.wamid, "codes": list(status.codes)})
        if WINDOW_CLOSED not in status.codes or not await self.memory.first_time(
            "failed", status.wamid, _KEEP_SENT_S
        ):
            return
        kind = await self.memory.get("sent", status.wamid)
        if kind != "free":
            return  # a template that failed is not followed by another one
        key = self._key(status.recipient)
        async with self.app.conversation(CHANNEL, status.recipient.id):
            await self._outside_window(status.recipient, key, "", status.wamid, WINDOW_CLOSED)

    # --- outbound -------------------------------------------------------------------------------------

    async def _post(self, body: dict[str, Any], reply_id: str | None, context: str | None) -> Attempt:
        """One send, through the outbox when it answers a stored message."""
        if reply_id is None:
            return await self.api.post(body, context)
        return await deliver_once(self.app.inbox, CHANNEL, reply_id, lambda: self.api.post(body, context))

    async def send(
        self, recipient: Recipient, replies: Sequence[Reply], in_reply_to: str | None = None
    ) -> str:
        """Render ``replies`` as WhatsApp messages and deliver them in order.

        Returns ``answered`` when everything went, ``parked`` when something was kept in the
        undelivered queue instead.
        """
        if not replies:
            return "answered"
        key = self._key(recipient)
        lang = await self._lang(recipient, language_hint(recipient))
        known = await self._last_inbound(key)
        if known is not None and datetime.now(UTC).timestamp() - known > WINDOW.total_seconds():
            await self._outside_window(recipient, key, plain(replies), in_reply_to, None)
            return "parked"
        messages: list[tuple[dict[str, Any], str | None]] = []
        for index, reply in enumerate(replies):
            following = replies[index + 1] if index + 1 < len(replies) else None
            place_id = reply.place_id if isinstance(reply, PlaceCard) else None
            messages += [(message, place_id) for message in await self.render(reply, following, lang)]
        outcome = "answered"
        for number, (message, place_id) in enumerate(messages):
            reply_id = f"{CHANNEL}:{in_reply_to}:{number}" if in_reply_to else None
            result = await self._post({**envelope(recipient), **message}, reply_id, in_reply_to)
            if result.ok:
                if result.provider_id and not result.skipped:
                    await self.memory.put("sent", result.provider_id, "free", _KEEP_SENT_S)
                    if place_id is not None:  # a later reply quoting it is about this place
                        await self.memory.put("card", result.provider_id, place_id, _KEEP_SENT_S)
                continue
            if result.code == WINDOW_CLOSED:
                await self._outside_window(recipient, key, plain(replies), in_reply_to, WINDOW_CLOSED)
                return "parked"
            reason = "delivery_unknown" if result.maybe_delivered else f"error:{result.reason}"
            await self._undelivered(recipient, key, reason[:40], result.code, plain_message(message))
            outcome = "parked"
        return outcome

    async def _outside_window(
        self, recipient: Recipient, key: str, text: str, wamid: str | None, code: int | None
    ) -> None:
        """Past the 24-hour window: the re-engagement template once (if configured); keep the answer."""
        settings = self.app.settings
        template = settings.whatsapp_reengagement_template
        reason = "outside_window"
        if template and not await self.memory.first_time("template", key, int(WINDOW.total_seconds())):
            template, reason = None, "outside_window_template_recent"  # one invitation a day is enough
        if template:
            body = {
                **envelope(recipient),
                "type": "template",
                "template": {"name": template, "language": {"code": settings.whatsapp_template_language}},
            }
            result = await self.api.post(body, wamid)
            if result.ok:
                reason = "outside_window_template_sent"
                if result.provider_id:
                    await self.memory.put("sent", result.provider_id, "template", _KEEP_SENT_S)
                self._count("template")
            else:
                reason = "outside_window_template_failed"
                code = result.code or code
        log.warning("whatsapp_outside_window", extra={"user": key, "wamid": wamid, "outcome": reason})
        await self._undelivered(recipient, key, reason, code, text or "(answer sent earlier)")

    async def _undelivered(
        self, recipient: Recipient, key: str, reason: str, code: int | None, text: str
    ) -> None:
        self._count("undeliverable")
        records = self.app.records
        try:
            await asyncio.to_thread(
                records.add_undelivered, Sender(key, CHANNEL), recipient.id, reason, code, text
            )
        except Exception:
            log.exception("whatsapp_undelivered_not_recorded", extra={"user": key})
