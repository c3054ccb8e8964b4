"""``dalil chat|ask|serve`` and the review queues (``handoff``, ``feedback``, ``unanswered``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bot.app import build_app, load_channel
from bot.file_state import FileStateStore
from bot.plain import render
from bot.records import Records
from bot.settings import Settings
from bot.types import GeoPoint, Incoming, reply_to_dict
from bot.wiring import KnowledgeService
from knowledge.clock import parse_moment

__all__ = ["ask", "chat", "queue", "serve"]


def chat(settings: Settings, _args: argparse.Namespace) -> int:
    """The console chat on the configured data."""
    app = build_app(settings)
    load_channel("console")(app).start()
    return 0


def ask(settings: Settings, args: argparse.Namespace) -> int:
    """One turn; prints the replies (as JSON with --json)."""
    if args.at:
        settings = settings.model_copy(update={"now": parse_moment(args.at)})
    # Each run is a new process: the conversation (location, open question, language) lives on disk,
    # or in Redis when one is configured, so a follow-up with the same --user continues it.
    states = None if settings.redis_url else FileStateStore(settings.state_dir)
    app = build_app(settings, states=states)
    location = GeoPoint(args.lat, args.lon) if args.lat is not None and args.lon is not None else None
    incoming = Incoming("cli", args.user, text=args.text, location=location, lang_hint=args.lang)
    replies = asyncio.run(app.engine.handle(incoming))
    if args.json:
        print(json.dumps([reply_to_dict(r) for r in replies], ensure_ascii=False, indent=2, default=str))
        return 0
    print(render(replies)[0])
    return 0


def serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run the HTTP app (see :mod:`bot.serving`)."""
    from bot import serving

    return serving.serve(settings, args)


def _print_rows(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    if not rows:
        print("(none)")
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items() if v is not None and k not in ("user_key",)))


def queue(settings: Settings, args: argparse.Namespace) -> int:
    """List or release review queue items."""
    records = Records(KnowledgeService(settings).engine)
    if args.command == "handoff" and args.action == "release":
        released = records.release_handoff(args.ref)
        if released is None:
            print(f"no open hand-off {args.ref}", file=sys.stderr)
            return 1
        print(f"released {args.ref}: automatic answers resume for that user")
        return 0
    table = {
        "handoff": "handoffs",
        "feedback": "feedback",
        "reports": "reports",
        "unanswered": "unanswered",
        "undelivered": "undelivered",
    }[args.command]
    rows = records.list_table(table, open_only=not getattr(args, "all", False), limit=args.limit)
    if table in ("handoffs", "undelivered"):
        for row in rows:
            row.pop("user_id", None)  # personal data stays in the database
    _print_rows(rows, args.json)
    return 0
