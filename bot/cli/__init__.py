"""The ``dalil`` command line: one argparse sub-parser per command group, one module per group.

Each group module (:mod:`bot.cli.kb`, :mod:`bot.cli.nlu`, :mod:`bot.cli.talk`, :mod:`bot.cli.serve`,
:mod:`bot.cli.review`, :mod:`bot.cli.telegram`, :mod:`bot.cli.whatsapp`) adds its parsers with
``register(commands)`` and binds each leaf to its handler with ``set_defaults(run=handler)``; a handler
takes the settings and the parsed arguments and returns the exit code. To add a command, add it to its
group's module (or a new module listed in :data:`GROUPS`). Wiring (settings → store) happens in
:mod:`bot.wiring`, never at import time.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from bot import logs
from bot.cli import kb, nlu, review, serve, talk, telegram, whatsapp
from bot.settings import Settings, SettingsError

__all__ = ["GROUPS", "build_parser", "main"]

GROUPS = (
    kb.register,
    nlu.register,
    talk.register,
    serve.register,
    review.register,
    telegram.register,
    whatsapp.register,
    talk.register_parse,
)
"""Each group's ``register``, in the order ``dalil --help`` lists the commands."""


def build_parser() -> argparse.ArgumentParser:
    """The whole ``dalil`` parser; every leaf command carries its handler as ``run``."""
    parser = argparse.ArgumentParser(prog="dalil", description="Dalil (دليل), the Jeddah city guide.")
    parser.add_argument("--config", default="config.yml", help="config file (default: config.yml)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in GROUPS:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
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
    return int(args.run(settings, args))
