"""Telegram set-up: the bot token, log guards, the command menu, the webhook, ``dalil telegram``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from bot.app import App, build_app
from bot.settings import Settings

__all__ = [
    "ALLOWED_UPDATES",
    "api_roots",
    "command",
    "delete_webhook",
    "guard_logs",
    "register_commands",
    "set_webhook",
    "token",
]

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
COMMANDS = ("start", "help", "near", "lang")


class _RedactToken(logging.Filter):
    """httpx logs request URLs, and Telegram's carry the bot token: blank it out."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token in record.getMessage():
            record.msg, record.args = record.getMessage().replace(self.token, "<token>"), None
        return True


def api_roots(settings: Settings) -> tuple[str, str]:
    """The Bot API's method and file roots."""
    root = settings.telegram_api_base_url.rstrip("/")
    return f"{root}/bot", f"{root}/file/bot"


def token(settings: Settings) -> str:
    """The bot token.

    Raises:
        ValueError: it is not set.
    """
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    return settings.telegram_bot_token.get_secret_value()


def guard_logs(token: str) -> None:
    """Blank the token in the loggers that see request URLs (the handlers redact too)."""
    for name in ("httpx", "httpcore", "telegram", "telegram.ext"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactToken) for f in logger.filters):
            logger.addFilter(_RedactToken(token))


async def register_commands(bot: Bot, app: App) -> None:
    """The command menu in Arabic (also the default) and English."""
    texts = app.texts
    for lang in ("ar", "en", None):
        commands = [BotCommand(name, texts.get(lang or "ar", f"command_{name}")) for name in COMMANDS]
        try:
            await bot.set_my_commands(commands, language_code=lang)
        except TelegramError as exc:
            log.warning("telegram_commands_not_set", extra={"lang": lang, "error": str(exc)})


async def set_webhook(settings: Settings, url: str, app: App | None = None) -> None:
    """Point Telegram at ``url`` with our secret and update kinds (and register the command menu).

    Raises:
        ValueError: the token or the webhook secret is not set.
        telegram.error.TelegramError: Telegram refused.
    """
    bot_token = token(settings)
    if settings.telegram_webhook_secret is None:
        raise ValueError("TELEGRAM_WEBHOOK_SECRET is not set")
    guard_logs(bot_token)
    base_url, base_file_url = api_roots(settings)
    async with Bot(bot_token, base_url=base_url, base_file_url=base_file_url) as bot:
        await bot.set_webhook(
            url,
            secret_token=settings.telegram_webhook_secret.get_secret_value(),
            allowed_updates=list(ALLOWED_UPDATES),
        )
        if app is not None:
            await register_commands(bot, app)


async def delete_webhook(settings: Settings) -> None:
    """Remove the webhook (``dalil telegram`` does this itself before polling)."""
    bot_token = token(settings)
    guard_logs(bot_token)
    base_url, base_file_url = api_roots(settings)
    async with Bot(bot_token, base_url=base_url, base_file_url=base_file_url) as bot:
        await bot.delete_webhook()


def command(settings: Settings, args: argparse.Namespace) -> int:
    """``dalil telegram [set-webhook URL | delete-webhook]``; without an action, long polling."""
    action = getattr(args, "telegram_command", None)
    try:
        if action == "set-webhook":
            if not re.match(r"^https?://", args.url):
                print("dalil: the webhook URL must start with https://", file=sys.stderr)
                return 2
            asyncio.run(set_webhook(settings, args.url, build_app(settings)))
            print(f"webhook set: {args.url}")
            return 0
        if action == "delete-webhook":
            asyncio.run(delete_webhook(settings))
            print("webhook deleted")
            return 0
        token(settings)
    except ValueError as exc:
        print(f"dalil: {exc}", file=sys.stderr)
        return 2
    except TelegramError as exc:
        print(f"dalil: the Telegram request failed: {exc}", file=sys.stderr)
        return 1
    from connectors.telegram.channel import TelegramChannel  # the channel imports this module

    TelegramChannel(build_app(settings)).run_polling()
    return 0
