"""Telegram inbound: the order updates are handled in, whether a group message is for us, commands.

Pure helpers of :class:`connectors.telegram.channel.TelegramChannel`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any

from telegram import Chat, Message, MessageEntity, Update, User
from telegram.constants import ChatType
from telegram.ext import BaseUpdateProcessor
from telegram.ext.filters import MessageFilter

from bot.types import Command, Incoming

__all__ = [
    "ForUs",
    "OnePerConversation",
    "addressed",
    "clean",
    "conversation_id",
    "from_command",
    "sent_message",
]

_DEEP_LINK = re.compile(r"^(place|hours|service)_([A-Za-z0-9][A-Za-z0-9_-]*)$")
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@(\w+))?(?:\s+(.*))?$", re.DOTALL)


class OnePerConversation(BaseUpdateProcessor):
    """Updates of different conversations run concurrently; those of one conversation in the order they came.

    Each update runs holding its conversation's one lock (``App.conversation``), from reading it to the
    last reply sent, so even across workers a person's answers arrive in the order they asked. Once
    :attr:`stopping` is set, updates still waiting for their turn are skipped (their ids collected in
    :attr:`skipped`): they stay in the inbox for the next start, so stopping never waits for a backlog.
    """

    def __init__(
        self, hold: Callable[[str], AbstractAsyncContextManager[None]], max_concurrent_updates: int = 64
    ) -> None:
        """``hold(conversation_id)`` holds that conversation's lock."""
        super().__init__(max_concurrent_updates)
        self._hold = hold
        self.stopping = False
        self.skipped: list[int] = []

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run ``coroutine`` when the update's conversation is free (skip it once stopping)."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None or not isinstance(update, Update):
            await coroutine
            return
        user = update.effective_user
        async with self._hold(conversation_id(chat, user) if user is not None else str(chat.id)):
            if self.stopping:
                close = getattr(coroutine, "close", None)
                if close is not None:
                    close()
                self.skipped.append(update.update_id)
                return
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class ForUs(MessageFilter):
    """Messages a person sent to Dalil: any private message; in groups, a mention, a reply or our command."""

    def __init__(self, identity: Callable[[], tuple[str, int]]) -> None:
        """``identity`` gives our username (lower case) and bot id, known once the bot has started."""
        super().__init__(name="ForUs")
        self.identity = identity

    def filter(self, message: Message) -> bool:
        """Whether ``message`` is from a person (not a bot) and addressed to us."""
        user = message.from_user
        return user is not None and not user.is_bot and addressed(message, *self.identity())


def addressed(message: Message, username: str, bot_id: int) -> bool:
    """Whether a message is for us: any private message; in groups, a mention, a reply or our command."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    for entity, text in message.parse_entities().items():
        if entity.type == MessageEntity.MENTION and text[1:].lower() == username:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return True
        if entity.type == MessageEntity.BOT_COMMAND and text.lower().endswith(f"@{username}"):
            return True
    for entity, text in message.parse_caption_entities().items():
        if entity.type == MessageEntity.MENTION and text[1:].lower() == username:
            return True
    return False


def clean(username: str, text: str) -> str:
    """``text`` without our @mention, on one line."""
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", "", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def from_command(base: Incoming, text: str) -> Incoming:
    """A command as the engine's typed :class:`Command` (a ``/start`` deep link as its payload).

    Any other text, or a command we do not have, stays text.
    """
    match = _COMMAND.match(text)
    if match is None:
        return replace(base, text=text)
    name, argument = match.group(1).lower(), (match.group(3) or "").strip()
    if name == "start":
        link = _DEEP_LINK.match(argument)
        if link:
            return replace(base, payload=f"{link.group(1)}:{link.group(2)}")
        return replace(base, command=Command("start"))
    if name in ("help", "lang", "near"):
        return replace(base, command=Command(name, argument))  # type: ignore[arg-type]
    return replace(base, text=text)


def sent_message(update: Update) -> Message:
    """The (new or edited) message of an update a message handler matched: its filter guarantees one."""
    message = update.effective_message
    if message is None:  # pragma: no cover
        raise TypeError(f"update {update.update_id} has no message")
    return message


def conversation_id(chat: Chat, user: User) -> str:
    """Whose conversation a message belongs to: the person's; in a group, that person's in that group.

    So a pending choice or a report draft in a group is never mixed with the same person's private chat.
    """
    return str(user.id) if chat.type == ChatType.PRIVATE else f"{chat.id}:{user.id}"
