"""The payloads Meta POSTs to the bot's webhook, serialised and signed as Meta does."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets
import time
from typing import Any, TypedDict, Unpack

from tests.connectors.fake_whatsapp.wire import (
    APP_SECRET,
    BUSINESS_NUMBER,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    WABA_ID,
    wamid,
    window_error,
)


class Overrides(TypedDict, total=False):
    """Keyword overrides every :class:`Webhooks` builder accepts."""

    wa_id: str
    user_id: str
    message_id: str
    timestamp: int
    bsuid_only: bool


def _sha256(seed: str) -> str:
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()


class Webhooks:
    """Builds webhook payloads as Meta POSTs them to ``/webhooks/whatsapp``.

    ``user_id=None`` builds payloads from before business-scoped user ids (no ``user_id`` /
    ``from_user_id`` fields); ``bsuid_only=True`` on a builder builds one from a user with a WhatsApp
    username and no visible phone number (no ``wa_id`` / ``from`` fields).
    """

    def __init__(
        self,
        wa_id: str = "966500000001",
        name: str = "سارة",
        user_id: str | None = "SA.13491208655302741918",
    ) -> None:
        self.wa_id = wa_id
        self.name = name
        self.user_id = user_id

    # --- messages from the user ---------------------------------------------------------------------------

    def text(self, body: str, **kw: Unpack[Overrides]) -> dict[str, Any]:
        return self._message("text", {"body": body}, kw)

    def location(
        self,
        lat: float,
        lon: float,
        name: str | None = None,
        address: str | None = None,
        **kw: Unpack[Overrides],
    ) -> dict[str, Any]:
        point: dict[str, Any] = {"latitude": lat, "longitude": lon}
        if name is not None:
            point["name"] = name
        if address is not None:
            point["address"] = address
        return self._message("location", point, kw)

    def button_reply(self, id: str, title: str, **kw: Unpack[Overrides]) -> dict[str, Any]:
        content = {"type": "button_reply", "button_reply": {"id": id, "title": title}}
        return self._message("interactive", content, kw, context=True)

    def list_reply(
        self,
        id: str,
        title: str,
        description: str | None = None,
        **kw: Unpack[Overrides],
    ) -> dict[str, Any]:
        reply = {"id": id, "title": title}
        if description is not None:
            reply["description"] = description
        return self._message("interactive", {"type": "list_reply", "list_reply": reply}, kw, context=True)

    def template_button(self, payload: str, text: str, **kw: Unpack[Overrides]) -> dict[str, Any]:
        return self._message("button", {"payload": payload, "text": text}, kw, context=True)

    def image(
        self, caption: str | None = None, media_id: str = "1234567890", **kw: Unpack[Overrides]
    ) -> dict[str, Any]:
        image: dict[str, Any] = {}
        if caption is not None:
            image["caption"] = caption
        image.update({"mime_type": "image/jpeg", "sha256": _sha256(media_id), "id": media_id})
        return self._message("image", image, kw)

    def audio(self, media_id: str = "2345678901", **kw: Unpack[Overrides]) -> dict[str, Any]:
        audio = {
            "mime_type": "audio/ogg; codecs=opus",
            "sha256": _sha256(media_id),
            "id": media_id,
            "voice": True,
        }
        return self._message("audio", audio, kw)

    def sticker(self, media_id: str = "3456789012", **kw: Unpack[Overrides]) -> dict[str, Any]:
        sticker = {"mime_type": "image/webp", "sha256": _sha256(media_id), "id": media_id, "animated": False}
        return self._message("sticker", sticker, kw)

    def reaction(self, message_id_reacted: str, emoji: str, **kw: Unpack[Overrides]) -> dict[str, Any]:
        """A reaction to one of the bot's messages; ``emoji=""`` means the user removed it."""
        return self._message("reaction", {"message_id": message_id_reacted, "emoji": emoji}, kw)

    def unsupported(self, **kw: Unpack[Overrides]) -> dict[str, Any]:
        error = {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
        return self._message("unsupported", None, kw, errors=[error])

    # --- delivery statuses of the bot's messages ----------------------------------------------------------

    def status(
        self,
        wamid: str,
        status: str,
        recipient_id: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        **kw: Unpack[Overrides],
    ) -> dict[str, Any]:
        """A status (``sent``, ``delivered``, ``read``, ``failed``) of the bot's message ``wamid``."""
        wa_id = kw.get("wa_id", self.wa_id)
        user_id = kw.get("user_id", self.user_id)
        timestamp = kw.get("timestamp", int(time.time()))
        item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(timestamp)}
        if recipient_id is not None or not kw.get("bsuid_only", False):
            item["recipient_id"] = recipient_id or wa_id
        if user_id is not None:
            item["recipient_user_id"] = user_id
        if status in ("sent", "delivered"):
            conversation: dict[str, Any] = {"id": secrets.token_hex(16), "origin": {"type": "service"}}
            if status == "sent":
                conversation["expiration_timestamp"] = str(timestamp + 24 * 3600)
            item["conversation"] = conversation
            item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
        if status == "failed":
            item["errors"] = errors if errors is not None else [window_error()]
        elif errors is not None:
            item["errors"] = errors
        return _envelope({"statuses": [item]})

    # --- several in one POST ------------------------------------------------------------------------------

    def batch(self, *payloads: dict[str, Any]) -> dict[str, Any]:
        """Merge the messages, statuses and contacts of ``payloads`` into one change, as Meta batches them."""
        merged: dict[str, Any] = {}
        for payload in payloads:
            for entry in payload["entry"]:
                for change in entry["changes"]:
                    for key in ("contacts", "messages", "statuses"):
                        for item in change["value"].get(key, []):
                            items = merged.setdefault(key, [])
                            if key != "contacts" or item not in items:
                                items.append(copy.deepcopy(item))
        return _envelope(merged)

    # --- building -----------------------------------------------------------------------------------------

    def _message(
        self,
        kind: str,
        content: dict[str, Any] | None,
        kw: Overrides,
        *,
        context: bool = False,
        errors: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        wa_id = kw.get("wa_id", self.wa_id)
        user_id = kw.get("user_id", self.user_id)
        bsuid_only = kw.get("bsuid_only", False)
        if bsuid_only and user_id is None:
            raise ValueError("bsuid_only needs a user_id")
        contact: dict[str, Any] = {"profile": {"name": self.name}}
        message: dict[str, Any] = {}
        if context:
            message["context"] = {"from": BUSINESS_NUMBER, "id": wamid(wa_id)}
        if not bsuid_only:
            contact["wa_id"] = wa_id
            message["from"] = wa_id
        if user_id is not None:
            contact["user_id"] = user_id
            message["from_user_id"] = user_id
        message["id"] = kw.get("message_id") or wamid(wa_id)
        message["timestamp"] = str(kw.get("timestamp", int(time.time())))
        message["type"] = kind
        if content is not None:
            message[kind] = content
        if errors is not None:
            message["errors"] = errors
        return _envelope({"contacts": [contact], "messages": [message]})


def _envelope(parts: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
        **parts,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
    }


def encode(payload: dict[str, Any]) -> bytes:
    """Serialise ``payload`` as Meta does: ASCII only (``\\uXXXX`` escapes), compact, ``/`` as ``\\/``."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    """The ``X-Hub-Signature-256`` header value for the exact bytes ``raw``."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def signed(payload: dict[str, Any], secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    """The raw body Meta would POST for ``payload`` and its headers, signature included."""
    raw = encode(payload)
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, secret)}


def verification(challenge: str = "1158201444", token: str = VERIFY_TOKEN) -> dict[str, str]:
    """The query parameters of Meta's ``GET`` webhook verification request."""
    return {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": challenge}
