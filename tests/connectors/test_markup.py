"""Each channel applies its own markup to a card's title, and shows every other character as written.

Issue #17: a service answer reached Telegram as ``*بلاغات 940*`` because WhatsApp markup was in the text.
Now the service's name is an ``InfoCard`` title: Telegram makes it ``<b>`` (HTML, everything escaped),
WhatsApp ``*…*`` (every ``*``, ``_``, ``~`` and backtick of the text itself neutralised), and a name or
a line holding ``<`` or ``*`` is shown literally on both.
"""

from __future__ import annotations

from typing import Any

from bot.app import App
from bot.types import Button, InfoCard, PlaceCard, TextReply
from connectors.memory import ChannelMemory
from connectors.telegram.render import Renderer as TelegramRenderer
from connectors.whatsapp_render import Renderer as WhatsAppRenderer
from connectors.whatsapp_render import literal
from tests.connectors.conftest import Harness, Polling

ZWSP = "\u200b"
STARRY = InfoCard(
    "<Star*> & _Co_",
    ("a < b, *not bold* here", "🔗 https://example.com/a_b_c"),
    (Button("الموقع", url="https://example.com/a_b_c"), Button("اتصال", phone="940")),
)


class _Bot:
    """Records what the Telegram renderer's calls would send."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_message(self, chat_id: int, text: str, **params: Any) -> None:
        self.sent.append({"text": text, **params})


async def _telegram(*replies: Any) -> list[dict[str, Any]]:
    bot, renderer = _Bot(), TelegramRenderer(ChannelMemory(None, "test:telegram"))
    for reply in replies:
        for _method, call, _text in await renderer.render(bot, 1, reply, None, True, None):  # type: ignore[arg-type]
            await call()
    return bot.sent


# --- Telegram -------------------------------------------------------------------------------------------


async def test_telegram_service_answer_is_a_bold_html_title_not_asterisks(polling: Polling) -> None:
    polling.api.push(polling.updates.message("كيف اقدم بلاغ 940"))
    (answer,) = await polling.api.wait_sent("sendMessage")
    assert answer.params["parse_mode"] == "HTML"
    assert answer.params["text"].startswith("<b>بلاغات 940</b>\n")
    assert "*" not in answer.params["text"]


async def test_telegram_escapes_titles_and_lines_and_sends_other_text_without_a_parse_mode() -> None:
    card, place, text = await _telegram(
        STARRY,
        PlaceCard("x", "Café <*Star*>", ("1 < 2",)),
        TextReply("*as typed* <b>"),
    )
    assert card["parse_mode"] == "HTML"
    assert card["text"] == (
        "<b>&lt;Star*&gt; &amp; _Co_</b>\na &lt; b, *not bold* here\n🔗 https://example.com/a_b_c"
    )
    link, _call = (b for row in card["reply_markup"].inline_keyboard for b in row)
    assert link.url == "https://example.com/a_b_c"
    assert place["text"] == "<b>Café &lt;*Star*&gt;</b>\n1 &lt; 2"
    assert text["parse_mode"] is None
    assert text["text"] == "*as typed* <b>"


# --- WhatsApp -------------------------------------------------------------------------------------------


async def test_whatsapp_service_answer_has_its_own_bold_title(wa: Harness) -> None:
    await wa.deliver(wa.hooks.text("كيف اقدم بلاغ 940"))
    await wa.settle()
    (answer,) = wa.api.sent()
    assert answer.body["type"] == "text"  # a call is its only button: one text with the number in it
    body = answer.body["text"]["body"]
    assert body.startswith("*بلاغات 940*\n")
    assert body.count("*") == 2  # the title's, and no other


async def test_whatsapp_bolds_the_title_and_shows_every_other_marker_literally(base_app: App) -> None:
    renderer = WhatsAppRenderer(base_app.texts, ChannelMemory(None, "test:whatsapp"))
    (card,) = await renderer.render(STARRY, None, "ar")  # link and call only: one text message
    body = card["text"]["body"]
    z = ZWSP
    assert body == (
        f"*<Star{z}*{z}> & {z}_{z}Co{z}_{z}*\n"
        f"a < b, {z}*{z}not bold{z}*{z} here\n"
        "🔗 https://example.com/a_b_c\n"  # a link is never touched: it must stay tappable
        "اتصال: 940"
    )
    (text,) = await renderer.render(TextReply("*as typed*"), None, "ar")
    assert text["text"]["body"] == f"{z}*{z}as typed{z}*{z}"


def test_literal_leaves_words_links_and_addresses_alone() -> None:
    assert literal("snake_case 5*3 https://x.example/a_b_ ali_b@mail.example") == (
        "snake_case 5*3 https://x.example/a_b_ ali_b@mail.example"
    )
    z = ZWSP
    assert literal("_x_ ~y~ `z`") == f"{z}_{z}x{z}_{z} {z}~{z}y{z}~{z} {z}`{z}z{z}`{z}"
