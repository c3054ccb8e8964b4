"""``dalil whatsapp check``: are the Cloud API settings complete, and does Meta accept the token?"""

from __future__ import annotations

import argparse
from typing import Any

from bot.app import load_channel
from bot.settings import Settings

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``dalil whatsapp``."""
    whatsapp = commands.add_parser("whatsapp", help="WhatsApp: check the Cloud API settings")
    sub = whatsapp.add_subparsers(dest="whatsapp_command", required=True, metavar="ACTION")
    sub.add_parser("check", help="are the settings complete, and does Meta accept the token?")
    whatsapp.set_defaults(run=_run)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return int(load_channel("whatsapp").command(settings, args))
