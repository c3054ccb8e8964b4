"""``dalil chat``, ``dalil ask TEXT`` and ``dalil parse TEXT``: talk to Dalil, or see how it reads you."""

from __future__ import annotations

from typing import Any

from bot import chat_commands, nlu_commands

__all__ = ["register", "register_parse"]


def register(commands: Any) -> None:
    """Add ``dalil chat`` and ``dalil ask``."""
    commands.add_parser(
        "chat", help="chat with Dalil in the terminal (bundled data, no accounts)"
    ).set_defaults(run=chat_commands.chat)
    ask = commands.add_parser("ask", help="one turn: print Dalil's replies")
    ask.add_argument("text")
    ask.add_argument("--json", action="store_true", help="replies as JSON")
    ask.add_argument("--user", default="cli", help="user id (state is per user)")
    ask.add_argument("--lat", type=float)
    ask.add_argument("--lon", type=float)
    ask.add_argument("--at", help="ISO time to answer as of (Asia/Riyadh when no offset)")
    ask.add_argument("--lang", choices=["ar", "en"], help="language hint")
    ask.set_defaults(run=chat_commands.ask)


def register_parse(commands: Any) -> None:
    """Add ``dalil parse`` (listed last by ``dalil --help``)."""
    parse = commands.add_parser("parse", help="show how the NLU reads a message")
    parse.add_argument("text")
    parse.add_argument("--json", action="store_true", help="the Rasa /model/parse shape")
    parse.set_defaults(run=nlu_commands.parse_command)
