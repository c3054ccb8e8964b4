"""The WhatsApp channel: Meta's WhatsApp Business Cloud API, over httpx (no SDK).

Webhook (served by ``dalil serve``): ``GET /webhooks/whatsapp`` answers Meta's verification handshake
(``hub.verify_token`` must equal ``WHATSAPP_VERIFY_TOKEN``); ``POST /webhooks/whatsapp`` checks
``X-Hub-Signature-256``, the HMAC-SHA256 of the raw body bytes under ``WHATSAPP_APP_SECRET``, answers 200
at once and handles the messages in the background. Meta delivers a webhook again when it is slow or
fails, so each message is answered once, by its id (``wamid``, in Redis when configured).

Inbound: text; locations; taps on our reply buttons and list rows (their ids are our payloads); template
quick replies; photos with a caption (for problem reports: downloaded at once into ``DALIL_MEDIA_DIR``,
since a webhook's media id expires after 7 days); other kinds get a short polite answer, and
delivery statuses are counted, never answered. The sender is the phone number (``wa_id``) or, for people
who adopted a WhatsApp username, the business-scoped user id (``user_id``) Meta sends instead.

Outbound (``POST {WHATSAPP_API_BASE_URL}/{WHATSAPP_PHONE_NUMBER_ID}/messages``, the base URL including
the Graph version): a place card is a text with reply buttons, then a location pin; choices are an
interactive list; quick buttons are reply buttons (or a single link button); a location request is a
``location_request_message``. Titles are trimmed to Meta's limits at grapheme boundaries, so no Arabic
letter loses its marks and no emoji is cut in half. Inbound messages are marked read with a typing
indicator.

Delivery: a per-process rate limiter (``dalil.whatsapp.send_rate_per_s``, default 80 msg/s); 5xx,
network errors and rate limits (130429, 131056) are retried with exponential backoff and jitter, a
bounded number of times. Outside the 24-hour customer-service window (last inbound message older than
24 hours, or Meta's error 131047, synchronous or in a ``failed`` status) the configured re-engagement
template (``dalil.whatsapp.reengagement_template``) is sent, at most once a day per person, and the
answer is kept in the ``undelivered`` queue (``dalil undelivered list``); a failed template is never
followed by another one, so nothing loops.
Phone numbers are never logged: logs carry the pseudonymous user key, message ids and error codes.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import math
import mimetypes
import random
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import regex
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.background import BackgroundTask

from bot.app import App
from bot.records import Sender
from bot.settings import Settings
from bot.state import KeyedLocks, user_key
from bot.texts import PDI, split_message
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

__all__ = [
    "CHANNEL",
    "Delivery",
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
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_WEBHOOK_BYTES = 3 * 1024 * 1024
MAX_TEXT = 4096
MAX_BUTTONS_BODY = 1024
MAX_LIST_BODY = 4096
MAX_BUTTON_TITLE = 20
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_BUTTON_ID = 256
MAX_ROW_ID = 200
MAX_REPLY_BUTTONS = 3
MAX_LIST_ROWS = 10
MAX_MEDIA_BYTES = 16 * 1024 * 1024
WINDOW = timedelta(hours=24)
WINDOW_CLOSED = 131047
THROUGHPUT_LIMIT = 130429
PAIR_RATE_LIMIT = 131056
# Rate limits worth waiting out: app/WABA call limits, throughput, and the per-recipient pair limit.
RETRY_CODES = frozenset({4, 80007, THROUGHPUT_LIMIT, PAIR_RATE_LIMIT})
STATUSES = ("sent", "delivered", "read", "failed")
_KEY_PREFIX = "k:"
_MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_KEEP_SEEN_S = 8 * 24 * 3600  # Meta keeps redelivering a failed webhook for days
_KEEP_PAYLOADS_S = 30 * 24 * 3600
_KEEP_INBOUND_S = 2 * 24 * 3600
_KEEP_SENT_S = 2 * 24 * 3600
# Where people write Arabic: calling codes (phone numbers) and ISO countries (business-scoped ids begin
# with the country, e.g. "SA.1349…"). Everyone else, a visitor, is greeted in English until they write.
_ARABIC_CALLING_CODES = (
    "966", "971", "965", "973", "974", "968", "967", "962", "963", "961", "970", "964",
    "249", "218", "216", "213", "212", "222", "252", "253", "269", "20",
)  # fmt: skip
_ARABIC_COUNTRIES = frozenset({
    "SA", "AE", "KW", "BH", "QA", "OM", "YE", "JO", "SY", "LB", "PS",
    "IQ", "SD", "LY", "TN", "DZ", "MA", "MR", "SO", "DJ", "KM", "EG",
})  # fmt: skip
_GRAPHEME = regex.compile(r"\X")
_ISOLATES = re.compile("[\u2066\u2067\u2068]")  # LRI, RLI, FSI: each closed by a PDI


# --- small pure helpers ----------------------------------------------------------------------------------


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body``: ``sha256=<hex HMAC>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def trim(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters, cut at a grapheme boundary with "…".

    A cut never separates a letter from its diacritics or splits an emoji sequence, and a bidi isolate
    opened before the cut is closed, so the rest of the row still reads in the right direction.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = 0
    for grapheme in _GRAPHEME.findall(text):
        if size + len(grapheme) > limit - 2:  # room for "…" and, if needed, a closing isolate
            break
        kept.append(grapheme)
        size += len(grapheme)
    cut = "".join(kept).rstrip()
    if len(_ISOLATES.findall(cut)) > cut.count(PDI):
        cut += PDI
    return cut + "…"


@dataclass(frozen=True)
class Recipient:
    """Where answers go: the phone number, or the business-scoped user id when that is all we have."""

    wa_id: str | None = None
    user_id: str | None = None

    @property
    def id(self) -> str:
        """The conversation's id for dialogue state (the phone number when known)."""
        return self.wa_id or self.user_id or ""

    def address(self) -> dict[str, str]:
        """The addressing fields of a send request."""
        return {"to": self.wa_id} if self.wa_id else {"recipient": self.user_id or ""}


def language_hint(sender: Recipient) -> str:
    """The language to answer in before the person has written any words: by country."""
    if sender.wa_id:
        return "ar" if sender.wa_id.startswith(_ARABIC_CALLING_CODES) else "en"
    country = (sender.user_id or "").partition(".")[0].upper()
    return "en" if country and country not in _ARABIC_COUNTRIES else "ar"


@dataclass(frozen=True)
class Delivery:
    """The outcome of one send request."""

    ok: bool
    wamid: str | None = None
    code: int | None = None
    reason: str = ""


class RateLimiter:
    """Spaces requests evenly at ``rate_per_s`` (shared by every send of this process)."""

    def __init__(self, rate_per_s: float) -> None:
        """At most ``rate_per_s`` requests per second."""
        self.interval = 1.0 / rate_per_s
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return when the next request may go."""
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
            if start > now:
                await asyncio.sleep(start - now)


def _error(response: httpx.Response) -> tuple[int | None, str, bool]:
    """Meta's error code, its title, and whether Meta calls it transient."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if not isinstance(error, dict):
        return None, f"HTTP {response.status_code}", False
    code = error.get("code")
    title = str(error.get("message") or f"HTTP {response.status_code}")[:200]
    return (code if isinstance(code, int) else None), title, bool(error.get("is_transient"))


# --- inbound parsing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inbound:
    """One person's message, read from a webhook."""

    wamid: str
    sender: Recipient
    kind: str
    sent_at: datetime | None
    text: str = ""
    payload: str | None = None
    location: GeoPoint | None = None
    attachment: str | None = None
    quoted: str | None = None
    """The id of our message the person replied to (WhatsApp's swipe-to-reply), if any."""


@dataclass(frozen=True)
class _Status:
    """A delivery status of a message we sent."""

    wamid: str
    status: str
    recipient: Recipient
    codes: tuple[int, ...] = ()


def _dicts(value: object) -> list[dict[str, Any]]:
    """The objects in a JSON array (anything else, or a non-array, reads as nothing)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: object, limit: int = 20_000) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _point(data: Mapping[str, Any]) -> GeoPoint | None:
    try:
        lat, lon = float(data["latitude"]), float(data["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return GeoPoint(lat, lon)


def _sent_at(value: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _sender(message: Mapping[str, Any], contacts: Sequence[Any]) -> Recipient | None:
    wa_id = _text(message.get("from"), 64) or None
    user_id = _text(message.get("from_user_id"), 160) or None
    contact: Mapping[str, Any] = {}
    dicts = _dicts(contacts)
    for candidate in dicts:
        if (wa_id and candidate.get("wa_id") == wa_id) or (user_id and candidate.get("user_id") == user_id):
            contact = candidate
            break
    else:
        if len(dicts) == 1:
            contact = dicts[0]
    wa_id = wa_id or _text(contact.get("wa_id"), 64) or None
    user_id = user_id or _text(contact.get("user_id"), 160) or None
    if wa_id is None and user_id is None:
        return None
    return Recipient(wa_id, user_id)


def _inbound(message: Mapping[str, Any], contacts: Sequence[Any]) -> _Inbound | None:
    wamid = _text(message.get("id"), 256)
    sender = _sender(message, contacts)
    if not wamid or sender is None:
        return None
    kind = _text(message.get("type"), 40) or "unknown"
    context = message.get("context")
    quoted = (_text(context.get("id"), 256) or None) if isinstance(context, dict) else None
    base = _Inbound(wamid, sender, kind, _sent_at(message.get("timestamp")), quoted=quoted)
    body = message.get(kind)
    content: Mapping[str, Any] = body if isinstance(body, dict) else {}
    if kind == "text":
        return replace(base, text=_text(content.get("body")))
    if kind == "location":
        point = _point(content)
        return replace(base, location=point) if point else replace(base, kind="unsupported")
    if kind == "interactive":
        reply_kind = _text(content.get("type"))
        chosen = content.get(reply_kind)
        if reply_kind in ("button_reply", "list_reply") and isinstance(chosen, dict):
            return replace(
                base, payload=_text(chosen.get("id"), 256) or None, text=_text(chosen.get("title"))
            )
        return replace(base, kind="unsupported")
    if kind == "button":  # a quick-reply button on a template
        return replace(
            base, payload=_text(content.get("payload"), 256) or None, text=_text(content.get("text"))
        )
    if kind == "image":
        media = _text(content.get("id"), 128)
        return replace(
            base, attachment=f"whatsapp:media:{media}" if media else None, text=_text(content.get("caption"))
        )
    if kind == "reaction" and not _text(content.get("emoji")):
        return replace(base, kind="reaction_removed")
    return base


def _status(item: Mapping[str, Any]) -> _Status | None:
    wamid = _text(item.get("id"), 256)
    status = _text(item.get("status"), 20)
    if not wamid or not status:
        return None
    recipient = Recipient(
        _text(item.get("recipient_id"), 64) or None, _text(item.get("recipient_user_id"), 160) or None
    )
    codes = tuple(e["code"] for e in _dicts(item.get("errors")) if isinstance(e.get("code"), int))
    return _Status(wamid, status, recipient, codes)


def read_webhook(
    body: Mapping[str, Any], phone_number_id: str | None
) -> tuple[list[_Inbound], list[_Status]]:
    """The messages and statuses in a webhook body addressed to our business number.

    Raises:
        ValueError: the body is not a WhatsApp Business Account webhook.
    """
    if body.get("object") != "whatsapp_business_account" or not isinstance(body.get("entry"), list):
        raise ValueError("not a WhatsApp Business Account webhook")
    messages: list[_Inbound] = []
    statuses: list[_Status] = []
    for entry in _dicts(body["entry"]):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, dict) or change.get("field", "messages") != "messages":
                continue
            metadata = value.get("metadata")
            number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            if phone_number_id and number is not None and str(number) != phone_number_id:
                log.info("whatsapp_other_number_ignored")
                continue
            contacts = _dicts(value.get("contacts"))
            for item in _dicts(value.get("messages")):
                parsed = _inbound(item, contacts)
                if parsed is not None:
                    messages.append(parsed)
            for item in _dicts(value.get("statuses")):
                status = _status(item)
                if status is not None:
                    statuses.append(status)
    return messages, statuses


# --- the channel -----------------------------------------------------------------------------------------


class WhatsAppChannel:
    """Serves WhatsApp: the webhook routes for ``dalil serve`` and the Cloud API client."""

    name = CHANNEL

    @staticmethod
    def command(settings: Settings, args: argparse.Namespace) -> int:
        """``dalil whatsapp check`` (see the module's :func:`command`)."""
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
        """Answer through ``app``'s engine; a failed send is tried up to ``retries`` more times.

        Waits double from ``backoff_s`` (from ``pair_backoff_s`` after Meta's per-recipient pair rate
        limit, which refills in seconds), capped at ``max_backoff_s``, with jitter.
        """
        self.app = app
        self.retries = retries
        self.backoff_s = backoff_s
        self.pair_backoff_s = pair_backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        settings = app.settings
        self.limiter = RateLimiter(settings.whatsapp_send_rate_per_s)
        self._client: httpx.AsyncClient | None = None
        self._memory: ChannelMemory | None = None
        self._locks = KeyedLocks()
        self._tasks: set[asyncio.Task[None]] = set()
        self._unanswered: dict[asyncio.Task[None], _Inbound] = {}
        self.drain_s = 10.0

    # --- wiring ---------------------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        """Whether the token, phone number id and app secret are all set."""
        s = self.app.settings
        return bool(s.whatsapp_token and s.whatsapp_phone_number_id and s.whatsapp_app_secret)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            token = self.app.settings.whatsapp_token
            assert token is not None  # noqa: S101 - only called when configured
            self._client = httpx.AsyncClient(
                base_url=self.app.settings.whatsapp_api_base_url.rstrip("/") + "/",
                headers={"Authorization": f"Bearer {token.get_secret_value()}"},
                timeout=httpx.Timeout(self.timeout_s, connect=5.0),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            )
        return self._client

    @property
    def memory(self) -> ChannelMemory:
        """Seen message ids, long button payloads, last inbound times, what we sent."""
        if self._memory is None:
            number = self.app.settings.whatsapp_phone_number_id or "unset"
            self._memory = ChannelMemory(self.app.settings.redis_url, f"dalil:whatsapp:{number}")
        return self._memory

    async def startup(self) -> None:
        """Open the API client (``dalil serve``); nothing to do when the channel is not configured."""
        if self.configured:
            self._http()
            _ = self.memory
            log.info("whatsapp_webhook_ready")

    async def shutdown(self) -> None:
        """Finish the messages in hand (up to ``drain_s``), keep any still unanswered, release connections.

        Meta had its 200 for those, so it will not deliver them again: each one left is kept in the
        ``undelivered`` queue (reason ``not_answered_shutdown``) for the team to follow up.
        """
        await self.drain(self.drain_s)
        left = list(self._tasks)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        for message in list(self._unanswered.values()):
            said = message.text or f"({message.kind})"
            key = self._key(message.sender)
            await self._undelivered(message.sender, key, "not_answered_shutdown", None, said)
        self._unanswered.clear()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        memory, self._memory = self._memory, None
        if memory is not None:
            await memory.close()

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every message accepted so far is answered (or ``timeout_s`` passes)."""
        deadline = time.monotonic() + timeout_s
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - time.monotonic()))

    def router(self) -> APIRouter:
        """``GET|POST /webhooks/whatsapp``: the verification handshake, and signed deliveries."""
        router = APIRouter(tags=["channels"])

        @router.get("/webhooks/whatsapp", summary="WhatsApp webhook verification", response_model=None)
        async def verify(request: Request) -> Response:
            params = request.query_params
            expected = self.app.settings.whatsapp_verify_token
            given = params.get("hub.verify_token", "")
            challenge = params.get("hub.challenge", "")
            if (
                expected is None
                or params.get("hub.mode") != "subscribe"
                or not hmac.compare_digest(given.encode(), expected.get_secret_value().encode())
            ):
                return JSONResponse({"error": "verification failed"}, status_code=403)
            if not challenge or len(challenge) > 256 or not challenge.isprintable():
                return JSONResponse({"error": "missing or malformed hub.challenge"}, status_code=400)
            return PlainTextResponse(challenge)

        @router.post("/webhooks/whatsapp", summary="WhatsApp webhook", response_model=None)
        async def webhook(request: Request) -> JSONResponse:
            metrics = self.app.metrics.webhooks
            if not self.configured:
                metrics.labels(CHANNEL, "not_configured").inc()
                return JSONResponse({"error": "the WhatsApp channel is not configured"}, status_code=404)
            declared = request.headers.get("content-length", "0")
            if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
                metrics.labels(CHANNEL, "too_large").inc()
                return JSONResponse({"error": "body too large"}, status_code=413)
            received = bytearray()
            async for chunk in request.stream():  # a chunked body has no length to check first
                received += chunk
                if len(received) > MAX_WEBHOOK_BYTES:
                    metrics.labels(CHANNEL, "too_large").inc()
                    return JSONResponse({"error": "body too large"}, status_code=413)
            raw = bytes(received)
            given = request.headers.get(SIGNATURE_HEADER)
            if not given:
                metrics.labels(CHANNEL, "unsigned").inc()
                return JSONResponse({"error": f"missing {SIGNATURE_HEADER}"}, status_code=401)
            secret = self.app.settings.whatsapp_app_secret
            assert secret is not None  # noqa: S101 - configured
            if not hmac.compare_digest(
                given.strip().lower().encode(), signature(secret.get_secret_value(), raw).encode()
            ):
                metrics.labels(CHANNEL, "bad_signature").inc()
                return JSONResponse({"error": "bad signature"}, status_code=403)
            try:
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise ValueError("not a JSON object")
                messages, statuses = read_webhook(body, self.app.settings.whatsapp_phone_number_id)
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                metrics.labels(CHANNEL, "malformed").inc()
                return JSONResponse({"error": f"not a WhatsApp webhook: {exc}"[:200]}, status_code=400)
            metrics.labels(CHANNEL, "accepted").inc()
            # The work starts once the 200 is on the wire, so Meta's acknowledgement never waits for it.
            return JSONResponse({"ok": True}, background=BackgroundTask(self._accept, messages, statuses))

        return router

    async def _accept(self, messages: Sequence[_Inbound], statuses: Sequence[_Status]) -> None:
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
            self._spawn(
                self._undelivered(message.sender, self._key(message.sender), "not_answered_error", None, said)
            )

    # --- inbound --------------------------------------------------------------------------------------

    def _key(self, recipient: Recipient) -> str:
        return user_key(CHANNEL, recipient.id)

    async def _lang(self, key: str, hint: str = "ar") -> str:
        state = await self.app.states.get(key)
        return state.lang or hint

    async def _on_message(self, message: _Inbound) -> None:
        memory = self.memory
        if not await memory.first_time("seen", message.wamid, _KEEP_SEEN_S):
            log.info("whatsapp_duplicate_message", extra={"wamid": message.wamid})
            self.app.metrics.webhooks.labels(CHANNEL, "duplicate").inc()
            return
        key = self._key(message.sender)
        async with self._locks.hold(key):
            if message.sent_at is not None:
                await self._note_inbound(key, message.sent_at)
            if message.kind in ("system", "reaction_removed"):
                return  # number changes and removed reactions need no answer
            await self._mark_read(message)
            if message.kind == "text" and message.quoted:
                await self._about_quoted_card(key, message.quoted)
            hint = language_hint(message.sender)
            incoming = await self._incoming(message, hint)
            if isinstance(incoming, str):
                lang = await self._lang(key, hint)
                replies: list[Reply] = [TextReply(self.app.engine.services.texts.get(lang, incoming))]
            else:
                replies = await self.app.engine.handle(incoming)
            await self.send(message.sender, replies, in_reply_to=message.wamid)

    async def _incoming(self, message: _Inbound, hint: str) -> Incoming | str:
        """The engine's ``Incoming`` for ``message``, or the key of a polite text answer."""
        base = Incoming(
            CHANNEL, message.sender.id, message_id=message.wamid, timestamp=message.sent_at, lang_hint=hint
        )
        if message.kind == "text":
            return replace(base, text=message.text)
        if message.kind == "location" and message.location is not None:
            return replace(base, location=message.location)
        if message.kind in ("interactive", "button"):
            payload = message.payload
            if payload is not None and payload.startswith(_KEY_PREFIX):
                payload = await self.memory.get("payload", payload)
                if payload is None:
                    return "button_expired"
            if payload is None:
                return replace(base, text=message.text)
            return replace(base, payload=payload)
        if message.kind == "image":
            kept = await self._keep_media(message.attachment) if message.attachment else None
            return replace(base, attachment=kept or message.attachment, text=message.text)
        if message.kind == "request_welcome":  # the person opened the chat for the first time
            return replace(base, text="hello" if hint == "en" else "مرحبا")
        if message.kind == "contacts":
            return "contact_ignored"
        return "unsupported_message"

    async def _about_quoted_card(self, key: str, quoted: str) -> None:
        """A reply to one of our place cards is about that place, whatever was discussed since."""
        place_id = await self.memory.get("card", quoted)
        if place_id is None:
            return
        states = self.app.states
        async with states.lock(key):
            state = await states.get(key)
            state.remember_place(place_id)
            await states.put(key, state)

    async def _keep_media(self, reference: str) -> str | None:
        """Download a photo now and return where it is kept (None if that failed).

        A media id from a webhook expires after 7 days and its download URL after minutes, so a
        report's photo is kept at once under ``DALIL_MEDIA_DIR``, checked against Meta's SHA-256.
        """
        media_id = reference.removeprefix("whatsapp:media:")
        if not _MEDIA_ID.fullmatch(media_id):
            return None
        client = self._http()
        try:
            described = await client.get(media_id)
            described.raise_for_status()
            info = described.json()
            data = bytearray()
            async with client.stream("GET", str(info["url"])) as response:
                response.raise_for_status()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > MAX_MEDIA_BYTES:
                        raise ValueError("media too large")
            if info.get("sha256") and hashlib.sha256(data).hexdigest() != info["sha256"]:
                raise ValueError("sha256 mismatch")
            mime = str(info.get("mime_type", "")).partition(";")[0].strip()
            path = (
                self.app.settings.media_dir
                / CHANNEL
                / f"{media_id}{mimetypes.guess_extension(mime) or '.bin'}"
            )
            await asyncio.to_thread(_write, path, bytes(data))
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            log.warning("whatsapp_media_not_kept", extra={"media": media_id, "error": repr(exc)[:200]})
            return None
        return str(path)

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

    async def _mark_read(self, message: _Inbound) -> None:
        body = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message.wamid,
            "typing_indicator": {"type": "text"},
        }
        result = await self._post(body, message.wamid, retries=0)
        if not result.ok:
            log.info("whatsapp_mark_read_failed", extra={"wamid": message.wamid, "code": result.code})

    async def _on_status(self, status: _Status) -> None:
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
        async with self._locks.hold(key):
            await self._outside_window(status.recipient, key, "", status.wamid, WINDOW_CLOSED)

    # --- outbound -------------------------------------------------------------------------------------

    async def send(
        self, recipient: Recipient, replies: Sequence[Reply], in_reply_to: str | None = None
    ) -> None:
        """Render ``replies`` as WhatsApp messages and deliver them in order."""
        if not replies:
            return
        key = self._key(recipient)
        lang = await self._lang(key, language_hint(recipient))
        known = await self._last_inbound(key)
        if known is not None and datetime.now(UTC).timestamp() - known > WINDOW.total_seconds():
            await self._outside_window(recipient, key, _plain(replies), in_reply_to, None)
            return
        messages: list[tuple[dict[str, Any], str | None]] = []
        for index, reply in enumerate(replies):
            following = replies[index + 1] if index + 1 < len(replies) else None
            place_id = reply.place_id if isinstance(reply, PlaceCard) else None
            messages += [(message, place_id) for message in await self.render(reply, following, lang)]
        for message, place_id in messages:
            result = await self._post({**_envelope(recipient), **message}, in_reply_to)
            if result.ok:
                if result.wamid:
                    await self.memory.put("sent", result.wamid, "free", _KEEP_SENT_S)
                    if place_id is not None:  # a later reply quoting it is about this place
                        await self.memory.put("card", result.wamid, place_id, _KEEP_SENT_S)
                continue
            if result.code == WINDOW_CLOSED:
                await self._outside_window(recipient, key, _plain(replies), in_reply_to, WINDOW_CLOSED)
                return
            await self._undelivered(
                recipient, key, f"error:{result.reason}"[:40], result.code, _plain_message(message)
            )

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
                **_envelope(recipient),
                "type": "template",
                "template": {"name": template, "language": {"code": settings.whatsapp_template_language}},
            }
            result = await self._post(body, wamid)
            if result.ok:
                reason = "outside_window_template_sent"
                if result.wamid:
                    await self.memory.put("sent", result.wamid, "template", _KEEP_SENT_S)
                self.app.metrics.deliveries.labels(CHANNEL, "template").inc()
            else:
                reason = "outside_window_template_failed"
                code = result.code or code
        log.warning("whatsapp_outside_window", extra={"user": key, "wamid": wamid, "outcome": reason})
        await self._undelivered(recipient, key, reason, code, text or "(answer sent earlier)")

    async def _undelivered(
        self, recipient: Recipient, key: str, reason: str, code: int | None, text: str
    ) -> None:
        self.app.metrics.deliveries.labels(CHANNEL, "undeliverable").inc()
        records = self.app.engine.services.records
        try:
            await asyncio.to_thread(
                records.add_undelivered, Sender(key, CHANNEL), recipient.id, reason, code, text
            )
        except Exception:
            log.exception("whatsapp_undelivered_not_recorded", extra={"user": key})

    async def _post(
        self, body: Mapping[str, Any], context: str | None, retries: int | None = None
    ) -> Delivery:
        """POST one message; retried on 5xx, network errors and rate limits; never raises."""
        retries = self.retries if retries is None else retries
        number = self.app.settings.whatsapp_phone_number_id
        code: int | None = None
        reason = ""
        for attempt in range(retries + 1):
            await self.limiter.wait()
            try:
                response = await self._http().post(f"{number}/messages", json=body)
            except httpx.HTTPError as exc:
                code, reason, transient = None, type(exc).__name__, True
            else:
                if response.status_code == 200:
                    self.app.metrics.deliveries.labels(CHANNEL, "sent").inc()
                    return Delivery(True, _wamid(response))
                code, reason, transient = _error(response)
                transient = transient or response.status_code >= 500 or response.status_code == 429
                transient = transient or code in RETRY_CODES
            if not transient or attempt == retries:
                break
            self.app.metrics.deliveries.labels(CHANNEL, "retried").inc()
            base = self.pair_backoff_s if code == PAIR_RATE_LIMIT else self.backoff_s
            jitter = 0.5 + random.random() / 2  # noqa: S311 - spreading retries, not a secret
            await asyncio.sleep(min(self.max_backoff_s, base * 2**attempt) * jitter)
        self.app.metrics.deliveries.labels(CHANNEL, "failed").inc()
        log.warning(
            "whatsapp_send_failed",
            extra={"wamid": context, "code": code, "error": reason, "attempts": attempt + 1},
        )
        return Delivery(False, None, code, reason)

    # --- rendering ------------------------------------------------------------------------------------

    async def render(self, reply: Reply, following: Reply | None, lang: str) -> list[dict[str, Any]]:
        """The send requests (without the recipient) for one reply."""
        texts = self.app.engine.services.texts
        if isinstance(reply, PlaceCard):
            body = "\n".join((f"*{reply.title}*", *reply.lines))
            messages = await self._buttons(body, reply.buttons, texts.get(lang, "choose_prompt"))
            if reply.location is not None and not isinstance(following, LocationPin):
                messages.append(_location(reply.location.lat, reply.location.lon, reply.title, reply.address))
            return messages
        if isinstance(reply, Choices):
            return [await self._list(reply, texts.get(lang, "choose_prompt"))]
        if isinstance(reply, QuickButtons):
            return await self._buttons(reply.text, reply.buttons, texts.get(lang, "choose_prompt"))
        if isinstance(reply, LocationPin):
            return [_location(reply.lat, reply.lon, reply.name, reply.address)]
        if isinstance(reply, RequestLocation):
            return [
                {
                    "type": "interactive",
                    "interactive": {
                        "type": "location_request_message",
                        "body": {"text": split_message(reply.text, MAX_BUTTONS_BODY)[0]},
                        "action": {"name": "send_location"},
                    },
                }
            ]
        if isinstance(reply, TextReply | HandoffNotice):
            return [_text_message(chunk) for chunk in split_message(reply.text, MAX_TEXT)]
        return []

    async def _id(self, payload: str, limit: int) -> str:
        """A button or row id: the payload itself, or a short key for one kept server-side."""
        if len(payload) <= limit and not payload.startswith(_KEY_PREFIX):
            return payload
        key = _KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:24]
        await self.memory.put("payload", key, payload, _KEEP_PAYLOADS_S)
        return key

    async def _buttons(self, text: str, buttons: Sequence[Button], prompt: str) -> list[dict[str, Any]]:
        """Text with reply buttons; links and numbers the text lacks are added as lines.

        Without reply buttons, a single link becomes a native link button when the text fits one.
        """
        tappable = [b for b in buttons if b.payload is not None][:MAX_REPLY_BUTTONS]
        links = [b for b in buttons if b.payload is None and (b.url or b.phone)]
        if not tappable and len(links) == 1 and links[0].url and len(text) <= MAX_BUTTONS_BODY:
            return [_cta_url(text, links[0].title, links[0].url)]
        lines = [text]
        for button in links:
            target = button.url or button.phone or ""
            if target not in text:
                lines.append(f"{button.title}: {target}")
        body = "\n".join(lines)
        if not tappable:
            return [_text_message(chunk) for chunk in split_message(body, MAX_TEXT)]
        messages: list[dict[str, Any]] = []
        if len(body) > MAX_BUTTONS_BODY:
            messages = [_text_message(chunk) for chunk in split_message(body, MAX_TEXT)]
            body = prompt
        rows = []
        seen: set[str] = set()
        for number, button in enumerate(tappable, 1):
            title = trim(button.title, MAX_BUTTON_TITLE)
            if title in seen:  # Meta refuses two buttons with the same title
                title = f"{trim(title, MAX_BUTTON_TITLE - 2)} {number}"
            seen.add(title)
            assert button.payload is not None  # noqa: S101 - filtered above
            rows.append(
                {
                    "type": "reply",
                    "reply": {"id": await self._id(button.payload, MAX_BUTTON_ID), "title": title},
                }
            )
        messages.append(
            {
                "type": "interactive",
                "interactive": {"type": "button", "body": {"text": body}, "action": {"buttons": rows}},
            }
        )
        return messages

    async def _list(self, choices: Choices, prompt: str) -> dict[str, Any]:
        rows = []
        for option in choices.options[:MAX_LIST_ROWS]:
            title = trim(option.title, MAX_ROW_TITLE)
            description = option.description or ""
            if title != " ".join(option.title.split()):  # cut: the description carries the full name
                description = f"{option.title} · {description}" if description else option.title
            row: dict[str, Any] = {"id": await self._id(option.payload, MAX_ROW_ID), "title": title}
            if description:
                row["description"] = trim(description, MAX_ROW_DESCRIPTION)
            rows.append(row)
        return {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": split_message(choices.text, MAX_LIST_BODY)[0]},
                "action": {
                    "button": trim(choices.button or prompt, MAX_BUTTON_TITLE),
                    "sections": [{"rows": rows}],
                },
            },
        }


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(path)


def _envelope(recipient: Recipient) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", **recipient.address()}


def _wamid(response: httpx.Response) -> str | None:
    try:
        messages = response.json().get("messages") or []
        return str(messages[0]["id"]) if messages else None
    except (ValueError, AttributeError, KeyError, IndexError, TypeError):
        return None


def _text_message(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": text, "preview_url": False}}


def _location(lat: float, lon: float, name: str, address: str | None) -> dict[str, Any]:
    location: dict[str, Any] = {"latitude": lat, "longitude": lon, "name": name}
    if address:
        location["address"] = address
    return {"type": "location", "location": location}


def _cta_url(body: str, title: str, url: str) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "cta_url",
            "body": {"text": body},
            "action": {
                "name": "cta_url",
                "parameters": {"display_text": trim(title, MAX_BUTTON_TITLE), "url": url},
            },
        },
    }


def _plain(replies: Sequence[Reply]) -> str:
    """An answer as text, for the undelivered queue (built only when something was not delivered)."""
    parts = []
    for reply in replies:
        if isinstance(reply, Choices):
            parts.append("\n".join([reply.text, *(f"- {o.title}" for o in reply.options)]))
        elif isinstance(reply, LocationPin):
            parts.append(f"{reply.name} ({reply.lat:.5f}, {reply.lon:.5f})")
        else:
            parts.append(reply.text)
    return "\n\n".join(parts)


def _plain_message(message: Mapping[str, Any]) -> str:
    kind = message.get("type")
    if kind == "text":
        return str(message["text"]["body"])
    if kind == "interactive":
        return str(message["interactive"]["body"]["text"])
    if kind == "location":
        return str(message["location"].get("name", "location"))
    return str(kind)


# --- dalil whatsapp check ----------------------------------------------------------------------------------

_SETTINGS_ENV = {
    "whatsapp_token": "WHATSAPP_TOKEN",
    "whatsapp_phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "whatsapp_app_secret": "WHATSAPP_APP_SECRET",
    "whatsapp_verify_token": "WHATSAPP_VERIFY_TOKEN",
}


def check(settings: Settings, transport: httpx.BaseTransport | None = None) -> tuple[int, list[str]]:
    """Whether the settings are complete and the Cloud API accepts the token for the number.

    Returns the exit code (0 ready, 1 refused or unreachable, 2 settings missing) and lines to print.
    """
    missing = [env for name, env in _SETTINGS_ENV.items() if not getattr(settings, name)]
    if missing:
        return 2, [f"not set: {', '.join(missing)} (see docs/whatsapp.md)"]
    token = settings.whatsapp_token
    assert token is not None  # noqa: S101 - checked above
    url = f"{settings.whatsapp_api_base_url.rstrip('/')}/{settings.whatsapp_phone_number_id}"
    fields = "verified_name,display_phone_number,quality_rating,code_verification_status"
    try:
        with httpx.Client(transport=transport, timeout=10) as client:
            response = client.get(
                url,
                params={"fields": fields},
                headers={"Authorization": f"Bearer {token.get_secret_value()}"},
            )
    except httpx.HTTPError as exc:
        return 1, [f"the Cloud API did not answer ({type(exc).__name__}); check WHATSAPP_API_BASE_URL"]
    if response.status_code != 200:
        code, title, _ = _error(response)
        hint = {190: "the token is invalid or expired", 100: "the phone number id is wrong or not yours"}
        return 1, [f"refused: {title} (code {code}): {hint.get(code or 0, 'see the error')}"]
    number = response.json()
    template = settings.whatsapp_reengagement_template
    return 0, [
        f"ok: {number.get('verified_name', '?')} ({number.get('display_phone_number', '?')}),"
        f" quality {number.get('quality_rating', '?')}",
        "webhook: https://<your host>/webhooks/whatsapp, verify token from WHATSAPP_VERIFY_TOKEN",
        f"re-engagement template: {template or 'none (answers outside 24 hours are only kept)'}",
    ]


def command(settings: Settings, args: argparse.Namespace) -> int:
    """``dalil whatsapp check``: are the settings complete, and does Meta accept them?"""
    code, lines = check(settings)
    for line in lines:
        print(f"dalil: {line}" if code else line, file=sys.stderr if code else sys.stdout)
    return code
