"""The ``dalil`` command line: knowledge tools now, chat and servers as they land.

Each sub-command is a small function taking the parsed arguments and returning an exit code; wiring
(settings → store) happens in :mod:`bot.wiring`, never at import time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import chat_commands, editor_commands, kb_commands, logs, nlu_commands
from bot.app import load_channel
from bot.settings import Settings, SettingsError

__all__ = ["main"]

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dalil", description="Dalil (دليل), the Jeddah city guide.")
    parser.add_argument("--config", default="config.yml", help="config file (default: config.yml)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    kb = commands.add_parser("kb", help="knowledge base: validate, build, inspect")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")
    kb_sub.add_parser("validate", help="check data/ and list every problem as file:line: field: message")
    kb_sub.add_parser("build", help="validate, then rebuild the index atomically")
    stats = kb_sub.add_parser("stats", help="what the index holds")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    sync = kb_sub.add_parser("sync", help="fetch an open-data layer (OSM, Overture) for the next build")
    sync.add_argument("layer", choices=["osm", "overture"])
    sync.add_argument(
        "--input", type=Path, help="read this file instead of downloading (Overpass JSON / GeoJSON)"
    )
    search = kb_sub.add_parser("search", help="fuzzy place search by name")
    search.add_argument("text")
    search.add_argument("--category")
    search.add_argument("--district")
    search.add_argument("--lang", choices=["ar", "en"])
    search.add_argument("--limit", type=int, default=5)
    search.add_argument("--json", action="store_true")
    nearest = kb_sub.add_parser("nearest", help="places nearest to a point")
    nearest.add_argument("lat", type=float)
    nearest.add_argument("lon", type=float)
    nearest.add_argument("--category")
    nearest.add_argument("--limit", type=int, default=5)
    nearest.add_argument("--radius-m", type=float)
    nearest.add_argument("--json", action="store_true")
    schema = kb_sub.add_parser("schema", help="write JSON Schemas of the data files for editors")
    schema.add_argument("--out", type=Path, default=Path("schema"), help="directory (default: schema/)")
    schema.add_argument(
        "--print", dest="print_kind", choices=kb_commands.SCHEMA_KINDS, help="print one to stdout"
    )
    geo_import = kb_sub.add_parser(
        "geo-import", help="district polygons, centroids and city boundary from a Who's On First checkout"
    )
    geo_import.add_argument("path", type=Path, help="checkout of whosonfirst-data/whosonfirst-data-admin-sa")
    geo_import.add_argument("--commit", help="the checkout's commit (default: read from PATH/.git)")
    geo_import.add_argument("--tolerance-deg", type=float, default=0.0005, help="simplification (degrees)")
    editor_commands.add_kb_parsers(kb_sub)
    nlu = commands.add_parser("nlu", help="NLU model: train, evaluate")
    nlu_sub = nlu.add_subparsers(dest="nlu_command", required=True, metavar="NLU_COMMAND")
    train = nlu_sub.add_parser("train", help="train the embedded model (only when the data changed)")
    train.add_argument("--force", action="store_true", help="train even if a matching model exists")
    evaluate = nlu_sub.add_parser("evaluate", help="accuracy, macro-F1, per-intent report, entity P/R")
    evaluate.add_argument("--data", type=Path, help="a Rasa NLU file or folder (default: data/nlu/test)")
    evaluate.add_argument(
        "--cv", type=int, metavar="K", help="k-fold cross-validation on the training data instead"
    )
    evaluate.add_argument(
        "--blind",
        action="store_true",
        help="the frozen blind sets instead (data/nlu/blind/<set>/<variety>.yml, or --data FOLDER): "
        "per set and per variety, entities by span and type",
    )
    evaluate.add_argument("--json", action="store_true")

    commands.add_parser("chat", help="chat with Dalil in the terminal (bundled data, no accounts)")
    ask = commands.add_parser("ask", help="one turn: print Dalil's replies")
    ask.add_argument("text")
    ask.add_argument("--json", action="store_true", help="replies as JSON")
    ask.add_argument("--user", default="cli", help="user id (state is per user)")
    ask.add_argument("--lat", type=float)
    ask.add_argument("--lon", type=float)
    ask.add_argument("--at", help="ISO time to answer as of (Asia/Riyadh when no offset)")
    ask.add_argument("--lang", choices=["ar", "en"], help="language hint")
    serve = commands.add_parser("serve", help="HTTP: /model/parse, REST and channel webhooks, /metrics")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)

    for name, what in (
        ("handoff", "hand-off requests"),
        ("feedback", '"this is wrong" reports'),
        ("reports", "problem reports"),
        ("unanswered", "questions Dalil could not answer"),
        ("undelivered", "answers a channel could not deliver"),
    ):
        review = commands.add_parser(name, help=f"review {what}")
        actions = review.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = actions.add_parser("list", help=f"list {what}")
        listing.add_argument("--json", action="store_true")
        listing.add_argument("--all", action="store_true", help="include closed ones")
        listing.add_argument("--limit", type=int, default=100)
        if name == "handoff":
            release = actions.add_parser("release", help="resume automatic answers for that user")
            release.add_argument("ref")
        editor_commands.extend_review(name, review, actions, listing)

    telegram = commands.add_parser("telegram", help="Telegram: long polling, or manage the webhook")
    telegram_sub = telegram.add_subparsers(dest="telegram_command", metavar="ACTION")
    set_hook = telegram_sub.add_parser("set-webhook", help="register URL with the secret and update kinds")
    set_hook.add_argument("url", help="public HTTPS URL of /webhooks/telegram")
    telegram_sub.add_parser("delete-webhook", help="remove the webhook (polling does this itself)")

    whatsapp = commands.add_parser("whatsapp", help="WhatsApp: check the Cloud API settings")
    whatsapp_sub = whatsapp.add_subparsers(dest="whatsapp_command", required=True, metavar="ACTION")
    whatsapp_sub.add_parser("check", help="are the settings complete, and does Meta accept the token?")

    parse = commands.add_parser("parse", help="show how the NLU reads a message")
    parse.add_argument("text")
    parse.add_argument("--json", action="store_true", help="the Rasa /model/parse shape")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.load(args.config)
    except SettingsError as exc:
        print(f"dalil: {exc}", file=sys.stderr)
        return 2
    # Interactive commands print their own results: their logs are for warnings, unless asked for.
    interactive = args.command != "serve" and "DALIL_LOG_LEVEL" not in os.environ
    logging.basicConfig(
        level="WARNING" if interactive else settings.log_level,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logs.install()  # on the handlers: no logger, at any level, writes a token or a phone number
    if args.command == "kb":
        handler = {
            "validate": kb_commands.validate,
            "build": kb_commands.build,
            "stats": kb_commands.stats,
            "sync": kb_commands.sync,
            "search": kb_commands.search,
            "nearest": kb_commands.nearest,
            "schema": kb_commands.schema,
            "geo-import": kb_commands.geo_import,
            **editor_commands.KB_HANDLERS,
        }[args.kb_command]
        return handler(settings, args)
    if args.command == "nlu":
        nlu_handler = {"train": nlu_commands.train_command, "evaluate": nlu_commands.evaluate_command}[
            args.nlu_command
        ]
        return nlu_handler(settings, args)
    if editor_commands.handles(args):
        return editor_commands.run(settings, args)
    if args.command in ("handoff", "feedback", "reports", "unanswered", "undelivered"):
        return chat_commands.queue(settings, args)
    simple = {"chat": chat_commands.chat, "ask": chat_commands.ask, "serve": chat_commands.serve}
    if args.command in simple:
        return simple[args.command](settings, args)
    if args.command == "telegram":
        return int(load_channel("telegram").command(settings, args))  # PTB is imported only here
    if args.command == "whatsapp":
        return int(load_channel("whatsapp").command(settings, args))
    if args.command == "parse":
        return nlu_commands.parse_command(settings, args)
    print(json.dumps({"error": f"unknown command {args.command}"}), file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
