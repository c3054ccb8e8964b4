"""Bidi isolates per channel: kept where a chat app lays text out by the bidi algorithm, gone elsewhere.

The same Arabic answers, from the real engine over the bundled data, are rendered by each channel's own
renderer: Telegram and WhatsApp keep the isolates around a Latin name, a date or a phone number in an
Arabic sentence, and never put one inside or next to a URL, a link button or a phone target; the REST
JSON and the console text carry no bidi control character at all.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from telegram import InlineKeyboardMarkup

from bot.app import App
from bot.plain import render as render_console
from bot.texts import BIDI_CONTROLS, FSI, PDI
from bot.types import Incoming, Reply
from connectors.memory import ChannelMemory
from connectors.rest import render_rest
from connectors.telegram.render import KEY_PREFIX, PHONE_PREFIX
from connectors.telegram.render import Renderer as TelegramRenderer
from connectors.whatsapp_render import Renderer as WhatsAppRenderer
from tests.connectors.conftest import with_settings
from tests.conversations.play import strings_in

VFS = "مركز VFS للخدمات القنصلية الهندية - الرويس"
QUESTIONS = (
    "رقم مركز VFS للخدمات القنصلية الهندية الرويس",  # "no number on file about <name>", then its card
    "وش تعرف عن مركز VFS للخدمات القنصلية الهندية الرويس",
    "رقم البلدية",  # the 940 line and the municipality's website
    "ما رقم هاتف مستشفى الدكتور سليمان فقيه؟",  # a phone number in an Arabic card
    "وين رد سي مول",  # a map link and the checked date
    "كيف اقدم بلاغ 940",  # a service card with its phone
    "ابي اطلع بلدي",  # a service card with its website
    "مرحبا",
)
# A bidi control next to (or inside) a URL, a www. link or a tel: target, whitespace between allowed.
_TOUCHING = re.compile(
    rf"[{BIDI_CONTROLS}]\s*(?:https?://|www\.|tel:)|(?:https?://|www\.|tel:)[^\s{BIDI_CONTROLS}]*[{BIDI_CONTROLS}]"
)


async def _answers(base_app: App, channel: str) -> list[list[Reply]]:
    app = with_settings(base_app)
    user = f"bidi-{uuid.uuid4().hex[:8]}"
    return [await app.handle(Incoming(channel, user, text=question)) for question in QUESTIONS]


def _assert_isolates_kept_but_never_at_links(texts: list[str], targets: list[str]) -> None:
    """Isolates around the Latin name and numbers; none touching a URL; link and phone targets bare."""
    joined = "\n".join(texts)
    assert f"{FSI}{VFS}{PDI}" in joined  # "… عن ⁨مركز VFS …⁩."
    assert re.search(rf"{FSI}\+966[0-9 ]+{PDI}", joined), "a phone number isolated in an Arabic card"
    assert re.search(rf"{FSI}\d{{4}}-\d\d-\d\d{PDI}", joined), "the checked date isolated"
    assert [m.group() for text in texts for m in _TOUCHING.finditer(text)] == []
    assert targets, "the answers carry link and call buttons"
    assert [t for t in targets if any(c in BIDI_CONTROLS for c in t)] == []


class _Bot:
    """Records what the Telegram renderer's calls would send (the Bot API itself is not needed here)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_message(self, chat_id: int, text: str, **params: Any) -> None:
        self.sent.append({"text": text, **params})

    async def send_venue(self, chat_id: int, **params: Any) -> None:
        self.sent.append(params)

    async def send_location(self, chat_id: int, **params: Any) -> None:
        self.sent.append(params)


async def test_telegram_keeps_isolates_around_names_and_numbers_never_at_links(base_app: App) -> None:
    memory, bot = ChannelMemory(None, "test:telegram"), _Bot()
    renderer = TelegramRenderer(memory)
    for replies in await _answers(base_app, "telegram"):
        for index, reply in enumerate(replies):
            following = replies[index + 1] if index + 1 < len(replies) else None
            for _method, call, _text in await renderer.render(bot, 1, reply, following, True, None):  # type: ignore[arg-type]
                await call()
    texts = [str(sent["text"]) for sent in bot.sent if "text" in sent]
    targets: list[str] = []
    for sent in bot.sent:
        markup = sent.get("reply_markup")
        if isinstance(markup, InlineKeyboardMarkup):
            for button in (b for row in markup.inline_keyboard for b in row):
                texts.append(button.text)
                if button.url:
                    targets.append(button.url)
                elif str(button.callback_data).startswith(KEY_PREFIX):  # kept server-side: a call's number
                    targets.append(str(await memory.get("cb", str(button.callback_data))))
    assert any(t.startswith(f"{PHONE_PREFIX}+966") for t in targets)
    _assert_isolates_kept_but_never_at_links(texts, targets)


async def test_whatsapp_keeps_isolates_around_names_and_numbers_never_at_links(base_app: App) -> None:
    renderer = WhatsAppRenderer(base_app.texts, ChannelMemory(None, "test:whatsapp"))
    messages: list[dict[str, Any]] = []
    for replies in await _answers(base_app, "whatsapp"):
        for index, reply in enumerate(replies):
            following = replies[index + 1] if index + 1 < len(replies) else None
            messages += await renderer.render(reply, following, "ar")
    texts = list(strings_in(messages))
    targets = [
        str(m["interactive"]["action"]["parameters"]["url"])
        for m in messages
        if m.get("interactive", {}).get("type") == "cta_url"
    ]
    texts_only = [t for m in messages if m["type"] == "text" for t in strings_in(m["text"])]
    targets += [line for t in texts_only for line in re.findall(r"https?://\S+", t)]
    _assert_isolates_kept_but_never_at_links(texts, targets)


@pytest.mark.parametrize("channel", ["rest", "console"])
async def test_rest_and_console_carry_no_bidi_marks_at_all(base_app: App, channel: str) -> None:
    shown: list[str] = []
    for replies in await _answers(base_app, channel):
        if channel == "rest":
            shown += strings_in(render_rest(replies, "someone"))
        else:
            shown.append(render_console(replies)[0])
    joined = "\n".join(shown)
    assert VFS in joined  # the name is there, as written
    assert "940" in joined
    assert [s for s in shown if any(c in BIDI_CONTROLS for c in s)] == []
