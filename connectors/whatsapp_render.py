"""WhatsApp outbound rendering: channel-neutral replies as Cloud API message bodies within Meta's limits.

A place card is a text with reply buttons, then a location pin; choices are an interactive list; quick
buttons are reply buttons (or a single link button); a location request is a
``location_request_message``. Titles are trimmed to Meta's limits at grapheme boundaries, so no Arabic
letter loses its marks and no emoji is cut in half. Button payloads too long for an id are kept
server-side (in the channel's memory) under a short key.

A card's title is made bold here (``*…*``), and every text is made :func:`literal` first, so a ``*`` or
``_`` in a name or a description never formats. Bidi isolates are kept: WhatsApp lays text out with the
Unicode bidi algorithm, and they keep a Latin name or number from reordering an Arabic sentence.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import regex

from bot.texts import PDI, Texts, split_message
from bot.types import (
    Button,
    Choices,
    HandoffNotice,
    InfoCard,
    LocationPin,
    PlaceCard,
    QuickButtons,
    Reply,
    RequestLocation,
    TextReply,
)
from connectors.memory import ChannelMemory
from connectors.whatsapp_inbound import Recipient

__all__ = [
    "KEY_PREFIX",
    "MAX_ROW_DESCRIPTION",
    "MAX_ROW_TITLE",
    "Renderer",
    "envelope",
    "literal",
    "plain",
    "plain_message",
    "trim",
]

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
KEY_PREFIX = "k:"
KEEP_PAYLOADS_S = 30 * 24 * 3600
_GRAPHEME = regex.compile(r"\X")
_ISOLATES = re.compile("[\u2066\u2067\u2068]")  # LRI, RLI, FSI: each closed by a PDI
_LINK = re.compile(r"((?:[a-z][a-z0-9+.-]*://|www\.)\S+|[^\s@]+@[^\s@]+\.\w+)", re.IGNORECASE)
_MARKER = re.compile(r"[*_~`]")
_ZWSP = "\u200b"


def literal(text: str) -> str:
    """``text`` as WhatsApp should show it, as written: no ``*``, ``_``, ``~`` or backtick in it formats.

    WhatsApp has no escape character, and its markers pair only at the edges of words. So each marker
    that could pair gets a zero-width space on both sides: whether a client reads that as a space or as a
    letter, the marker no longer stands at a word's edge. A marker inside a word ("snake_case"), links and
    e-mail addresses are left as they are, so they stay tappable and copyable.
    """
    parts = _LINK.split(text)
    return "".join(part if index % 2 else _MARKER.sub(_unpaired, part) for index, part in enumerate(parts))


def _unpaired(marker: re.Match[str]) -> str:
    text, start, end = marker.string, marker.start(), marker.end()
    inside_a_word = start > 0 and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()
    return marker.group() if inside_a_word else f"{_ZWSP}{marker.group()}{_ZWSP}"


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


class Renderer:
    """Turns replies into send requests (without the recipient)."""

    def __init__(self, texts: Texts, memory: ChannelMemory) -> None:
        """Prompts come from ``texts``; long payloads are kept in ``memory``."""
        self.texts = texts
        self.memory = memory

    async def render(self, reply: Reply, following: Reply | None, lang: str) -> list[dict[str, Any]]:
        """The send requests (without the recipient) for one reply."""
        texts = self.texts
        if isinstance(reply, PlaceCard | InfoCard):
            body = "\n".join((f"*{literal(reply.title.strip())}*", *map(literal, reply.lines)))
            messages = await self._buttons(body, reply.buttons, texts.get(lang, "choose_prompt"))
            if (
                isinstance(reply, PlaceCard)
                and reply.location is not None
                and not isinstance(following, LocationPin)
            ):
                messages.append(_location(reply.location.lat, reply.location.lon, reply.title, reply.address))
            return messages
        if isinstance(reply, Choices):
            return [await self._list(reply, texts.get(lang, "choose_prompt"))]
        if isinstance(reply, QuickButtons):
            return await self._buttons(literal(reply.text), reply.buttons, texts.get(lang, "choose_prompt"))
        if isinstance(reply, LocationPin):
            return [_location(reply.lat, reply.lon, reply.name, reply.address)]
        if isinstance(reply, RequestLocation):
            return [
                {
                    "type": "interactive",
                    "interactive": {
                        "type": "location_request_message",
                        "body": {"text": split_message(literal(reply.text), MAX_BUTTONS_BODY)[0]},
                        "action": {"name": "send_location"},
                    },
                }
            ]
        if isinstance(reply, TextReply | HandoffNotice):
            return [_text_message(chunk) for chunk in split_message(literal(reply.text), MAX_TEXT)]
        return []

    async def _id(self, payload: str, limit: int) -> str:
        """A button or row id: the payload itself, or a short key for one kept server-side."""
        if len(payload) <= limit and not payload.startswith(KEY_PREFIX):
            return payload
        key = KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:24]
        await self.memory.put("payload", key, payload, KEEP_PAYLOADS_S)
        return key

    async def _buttons(self, text: str, buttons: Sequence[Button], prompt: str) -> list[dict[str, Any]]:
        """Text (already :func:`literal`) with reply buttons; links and numbers it lacks are added as lines.

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
                lines.append(f"{literal(button.title)}: {target}")
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
                "body": {"text": split_message(literal(choices.text), MAX_LIST_BODY)[0]},
                "action": {
                    "button": trim(choices.button or prompt, MAX_BUTTON_TITLE),
                    "sections": [{"rows": rows}],
                },
            },
        }


def envelope(recipient: Recipient) -> dict[str, Any]:
    """The addressing part of a send request."""
    return {"messaging_product": "whatsapp", "recipient_type": "individual", **recipient.address()}


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


def plain(replies: Sequence[Reply]) -> str:
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


def plain_message(message: Mapping[str, Any]) -> str:
    """One send request as text, for the undelivered queue."""
    kind = message.get("type")
    if kind == "text":
        return str(message["text"]["body"])
    if kind == "interactive":
        return str(message["interactive"]["body"]["text"])
    if kind == "location":
        return str(message["location"].get("name", "location"))
    return str(kind)
