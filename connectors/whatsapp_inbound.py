"""WhatsApp inbound: the webhook signature, and reading messages and statuses out of a webhook body.

Pure functions of the body Meta POSTs, so the channel (:mod:`connectors.whatsapp`) only decides what
to do with what was read. Text is cleaned as it is read: a lone UTF-16 surrogate (valid JSON, invalid
Unicode) becomes U+FFFD, so no database insert or queue refuses it later. :func:`message_from_json`
reads a message back from the inbox, where it was kept as the JSON Meta sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bot.types import GeoPoint, Incoming

__all__ = [
    "Inbound",
    "Recipient",
    "Status",
    "language_hint",
    "message_from_json",
    "read_webhook",
    "signature",
    "to_incoming",
]

log = logging.getLogger(__name__)

_SURROGATE = re.compile("[\ud800-\udfff]")
_KEY_PREFIX = "k:"  # a button id standing for a payload kept server-side
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


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body``: ``sha256=<hex HMAC>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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
class Inbound:
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
    raw: str = field(default="", compare=False, repr=False)
    """The message as Meta sent it (with its contact), as ASCII JSON: what the inbox keeps."""


@dataclass(frozen=True)
class Status:
    """A delivery status of a message we sent."""

    wamid: str
    status: str
    recipient: Recipient
    codes: tuple[int, ...] = ()


def _dicts(value: object) -> list[dict[str, Any]]:
    """The objects in a JSON array (anything else, or a non-array, reads as nothing)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: object, limit: int = 20_000) -> str:
    return _SURROGATE.sub("\ufffd", value[:limit]) if isinstance(value, str) else ""


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


def _inbound(message: Mapping[str, Any], contacts: Sequence[Any]) -> Inbound | None:
    wamid = _text(message.get("id"), 256)
    sender = _sender(message, contacts)
    if not wamid or sender is None:
        return None
    kind = _text(message.get("type"), 40) or "unknown"
    context = message.get("context")
    quoted = (_text(context.get("id"), 256) or None) if isinstance(context, dict) else None
    raw = json.dumps({"message": message, "contacts": list(contacts)}, separators=(",", ":"))
    base = Inbound(wamid, sender, kind, _sent_at(message.get("timestamp")), quoted=quoted, raw=raw)
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


def _status(item: Mapping[str, Any]) -> Status | None:
    wamid = _text(item.get("id"), 256)
    status = _text(item.get("status"), 20)
    if not wamid or not status:
        return None
    recipient = Recipient(
        _text(item.get("recipient_id"), 64) or None, _text(item.get("recipient_user_id"), 160) or None
    )
    codes = tuple(e["code"] for e in _dicts(item.get("errors")) if isinstance(e.get("code"), int))
    return Status(wamid, status, recipient, codes)


def read_webhook(body: Mapping[str, Any], phone_number_id: str | None) -> tuple[list[Inbound], list[Status]]:
    """The messages and statuses in a webhook body addressed to our business number.

    Raises:
        ValueError: the body is not a WhatsApp Business Account webhook.
    """
    if body.get("object") != "whatsapp_business_account" or not isinstance(body.get("entry"), list):
        raise ValueError("not a WhatsApp Business Account webhook")
    messages: list[Inbound] = []
    statuses: list[Status] = []
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


def message_from_json(raw: str) -> Inbound | None:
    """A message kept in the inbox (``Inbound.raw``), read again."""
    try:
        kept = json.loads(raw)
        return _inbound(kept["message"], kept.get("contacts") or [])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


async def to_incoming(
    message: Inbound,
    hint: str,
    lookup_payload: Callable[[str], Awaitable[str | None]],
    keep_media: Callable[[str], Awaitable[str | None]],
) -> Incoming | str:
    """The engine's ``Incoming`` for ``message``, or the key of a polite text answer.

    A tapped button's long payload is looked up with ``lookup_payload`` (its key expired: the
    ``button_expired`` answer); a photo is kept with ``keep_media`` (where it is, or None).
    """
    base = Incoming(
        "whatsapp", message.sender.id, message_id=message.wamid, timestamp=message.sent_at, lang_hint=hint
    )
    if message.kind == "text":
        return replace(base, text=message.text)
    if message.kind == "location" and message.location is not None:
        return replace(base, location=message.location)
    if message.kind in ("interactive", "button"):
        payload = message.payload
        if payload is not None and payload.startswith(_KEY_PREFIX):
            payload = await lookup_payload(payload)
            if payload is None:
                return "button_expired"
        if payload is None:
            return replace(base, text=message.text)
        return replace(base, payload=payload)
    if message.kind == "image":
        kept = await keep_media(message.attachment) if message.attachment else None
        return replace(base, attachment=kept or message.attachment, text=message.text)
    if message.kind == "request_welcome":  # the person opened the chat for the first time
        return replace(base, text="hello" if hint == "en" else "مرحبا")
    if message.kind == "contacts":
        return "contact_ignored"
    return "unsupported_message"
