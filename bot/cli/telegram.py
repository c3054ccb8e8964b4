"""``dalil telegram [set-webhook URL | delete-webhook]``: long polling, or manage the webhook."""

from __future__ import annotations

import argparse
from typing import Any

from bot.app import load_channel
from bot.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``dalil telegram``; with no action it polls."""
    telegram = commands.add_parser("telegram", help="Telegram: long polling, or manage the webhook")
    sub = telegram.add_subparsers(dest="telegram_command", metavar="ACTION")
    set_hook = sub.add_parser("set-webhook", help="register URL with the secret and update kinds")
    set_hook.add_argument("url", help="public HTTPS URL of /webhooks/telegram")
    sub.add_parser("delete-webhook", help="remove the webhook (polling does this itself)")
    telegram.set_defaults(run=_run)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return int(load_channel("telegram").command(settings, args))  # PTB is imported only here
