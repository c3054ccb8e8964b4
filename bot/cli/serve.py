"""``dalil serve``: the HTTP app (REST, channel webhooks, /model/parse, /metrics)."""

from __future__ import annotations

from typing import Any

from bot import chat_commands

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``dalil serve``."""
    serve = commands.add_parser("serve", help="HTTP: /model/parse, REST and channel webhooks, /metrics")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=chat_commands.serve)
