"""Telegram rendering: channel-neutral replies as Bot API calls (HTML messages, keyboards, venues).

A place card (or a service's card) is an HTML message, its title in ``<b>`` and every text escaped, with
an inline keyboard, plus a venue (or location) pin for a place; other texts go without a parse mode, so
nothing in them is ever read as markup. Bidi isolates are kept: Telegram lays text out with the Unicode
bidi algorithm, and they keep a Latin name or number from reordering an Arabic sentence. Choice lists
are inline keyboards whose ``callback_data`` is a place id or a short server-side key, never raw text;
a location request is a reply keyboard with ``request_location``. Each call comes with its text, for
the undelivered queue.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from telegram.constants import ParseMode

from bot import actions
from bot.texts import split_message
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

__all__ = ["KEY_PREFIX", "PHONE_PREFIX", "Call", "Renderer", "callback_data"]

MAX_CALLBACK_BYTES = 64
MAX_TEXT = 4096
KEY_PREFIX = "k:"
PHONE_PREFIX = "tel:"
KEEP_PAYLOADS_S = 30 * 24 * 3600

Call = tuple[str, Callable[[], Awaitable[Any]], str]
"""A Bot API method name, the call itself, and its text (for the undelivered queue)."""


def _is_wrong(button: Button) -> bool:
    action = actions.decode(button.payload)
    return action is not None and action.kind == "wrong"


def callback_data(payload: str) -> tuple[str, str | None]:
    """The ``callback_data`` for a payload, and the payload to keep server-side under it (if any).

    Payloads made of our own ids travel as they are (so buttons keep working after a restart without
    Redis); anything else (free text, phone numbers) is kept server-side under a short key.
    """
    if actions.ID_PAYLOAD.match(payload) and len(payload.encode()) <= MAX_CALLBACK_BYTES:
        return payload, None
    digest = hashlib.sha256(payload.encode()).digest()[:12]
    return KEY_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("="), payload


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


class Renderer:
    """Turns replies into Bot API calls; long button payloads are kept in ``memory``."""

    def __init__(self, memory: ChannelMemory) -> None:
        """Keep long payloads in ``memory``."""
        self.memory = memory

    async def render(
        self,
        bot: Bot,
        chat_id: int,
        reply: Reply,
        following: Reply | None,
        private: bool,
        quote: ReplyParameters | None,
    ) -> list[Call]:
        """The calls that send ``reply`` to ``chat_id`` (``quote`` goes on the first message)."""
        calls: list[Call] = []

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

        if isinstance(reply, PlaceCard | InfoCard):
            text = "\n".join((f"<b>{_escape(reply.title)}</b>", *(_escape(line) for line in reply.lines)))
            message(text, await self._card_keyboard(reply), ParseMode.HTML)
            if (
                isinstance(reply, PlaceCard)
                and reply.location is not None
                and not isinstance(following, LocationPin)
            ):
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

    def _pin(self, bot: Bot, chat_id: int, lat: float, lon: float, name: str, address: str | None) -> Call:
        where = f"{name} ({lat:.5f}, {lon:.5f})"
        if address:
            return (
                "sendVenue",
                lambda: bot.send_venue(chat_id, latitude=lat, longitude=lon, title=name, address=address),
                where,
            )
        return "sendLocation", lambda: bot.send_location(chat_id, latitude=lat, longitude=lon), where

    async def _card_keyboard(self, card: PlaceCard | InfoCard) -> InlineKeyboardMarkup | None:
        main = [b for b in card.buttons if not _is_wrong(b)]
        wrong = [b for b in card.buttons if _is_wrong(b)]
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
        payload = button.payload if button.payload is not None else f"{PHONE_PREFIX}{button.phone}\n{name}"
        data, keep = callback_data(payload)
        if keep is not None:
            await self.memory.put("cb", data, keep, KEEP_PAYLOADS_S)
        return InlineKeyboardButton(button.title, callback_data=data)
