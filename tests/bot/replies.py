"""Reading a turn's replies as a person would: the text they read, the kinds, the payloads behind buttons."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from bot.texts import FSI, PDI
from bot.types import Choices, InfoCard, LocationPin, PlaceCard, QuickButtons, Reply
from tests.bot.conftest import Chat

R = TypeVar("R")


def plain(text: str) -> str:
    """Text without the bidi isolates (they are display hints, not content)."""
    return text.replace(FSI, "").replace(PDI, "")


def text_of(reply: Reply) -> str:
    """Everything a person reads in one reply."""
    if isinstance(reply, Choices):
        rows = [f"{o.title} {o.description or ''}" for o in reply.options]
        return plain("\n".join([reply.text, *rows]))
    if isinstance(reply, LocationPin):
        return plain(reply.name)
    return plain(reply.text)


def said(replies: Sequence[Reply]) -> str:
    """All replies of a turn as one text."""
    return "\n".join(text_of(r) for r in replies)


def kinds(replies: Sequence[Reply]) -> list[str]:
    """The kind of each reply, in order (``text``, ``place_card``, ``buttons``, ...)."""
    return [r.kind for r in replies]


def payloads(reply: Reply) -> list[str]:
    """What tapping each option or button of ``reply`` sends back (links and calls send nothing)."""
    if isinstance(reply, Choices):
        return [o.payload for o in reply.options]
    if isinstance(reply, QuickButtons | PlaceCard | InfoCard):
        return [b.payload for b in reply.buttons if b.payload]
    return []


def only(replies: Sequence[Reply], kind: type[R]) -> R:
    """The first reply of type ``kind``; fails the test, naming what came instead, when there is none."""
    found = [r for r in replies if isinstance(r, kind)]
    assert found, f"no {kind.__name__} in {kinds(replies)}: {said(replies)}"
    return found[0]


async def says(chat: Chat, question: str, *facts: str) -> str:
    """The text answering ``question``; fails the test unless it states every one of ``facts``."""
    text = said(await chat.say(question))
    for fact in facts:
        assert fact in text, f"{fact!r} not in the answer to {question!r}: {text}"
    return text


async def buttons_saying(chat: Chat, question: str, fact: str) -> QuickButtons:
    """The buttons answering ``question``; fails the test unless their text states ``fact``."""
    buttons = only(await chat.say(question), QuickButtons)
    assert fact in plain(buttons.text)
    return buttons


def is_arabic(text: str) -> bool:
    """Whether most letters of ``text`` are Arabic."""
    text = re.sub(r"https?://\S+", "", text)  # map links are in no language
    letters = [c for c in text if c.isalpha()]
    return sum("\u0600" <= c <= "\u06ff" for c in letters) > len(letters) / 2
