"""Log redaction: no logger, at any level, writes a token, a secret or a phone number.

:class:`Redact` is a ``logging.Filter`` put on the *handlers* (root's and uvicorn's), so it sees every
record that is written, including those of third-party child loggers (httpx logs Telegram's request
URLs, which carry the bot token) that a filter on a logger would miss. It blanks the configured secrets
(tokens, app secret, verify token, admin token, database and Redis passwords), anything shaped like a
Telegram bot token or a bearer token, the verify token in webhook verification query strings, and
phone-number-like digit runs (11 to 15 digits, as WhatsApp ids are).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

__all__ = ["SECRET_ENV", "Redact", "install"]

SECRET_ENV = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "WHATSAPP_TOKEN",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
    "DALIL_ADMIN_TOKEN",
)
_URL_ENV = ("DALIL_DATABASE_URL", "DALIL_REDIS_URL")
_PATTERNS = (
    (re.compile(r"\b\d{5,16}:[A-Za-z0-9_-]{30,}"), "<token>"),  # a Telegram bot token
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(verify_token=)[^&\s'\"]*"), r"\1<redacted>"),
    (re.compile(r"(?<![\w.:/-])\+?\d{11,15}(?![\w.])"), "<phone>"),
)
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def _secrets_from(env: Mapping[str, str]) -> list[str]:
    found = [env[name].strip() for name in SECRET_ENV if env.get(name, "").strip()]
    for name in _URL_ENV:
        password = urlsplit(env.get(name, "")).password if env.get(name) else None
        if password:
            found.append(password)
    return [s for s in found if len(s) >= 4]


class Redact(logging.Filter):
    """Blanks secrets and phone numbers in every record a handler writes."""

    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        """Secrets to blank, besides the patterns; by default those in the environment."""
        super().__init__()
        chosen = _secrets_from(os.environ) if secrets is None else [s for s in secrets if s]
        self.secrets = sorted(set(chosen), key=len, reverse=True)

    def clean(self, text: str) -> str:
        """``text`` with every secret and phone number blanked."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "<redacted>")
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def _value(self, value: Any) -> Any:
        if isinstance(value, bool | int | float) or value is None:
            return value
        text = str(value)
        cleaned = self.clean(text)
        return value if cleaned == text else cleaned

    def filter(self, record: logging.LogRecord) -> bool:
        """Clean the message, its arguments, extra fields and the traceback; never drops a record."""
        if isinstance(record.msg, str):
            record.msg = self.clean(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._value(a) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: self._value(v) for k, v in record.args.items()}
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD:
                setattr(record, name, self._value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> Redact:
    """Put one :class:`Redact` on every handler of ``logger`` (root by default) and uvicorn's."""
    redact = Redact()
    loggers = [
        logger or logging.getLogger(),
        logging.getLogger("uvicorn"),
        logging.getLogger("uvicorn.access"),
    ]
    for each in loggers:
        for handler in each.handlers:
            if not any(isinstance(f, Redact) for f in handler.filters):
                handler.addFilter(redact)
    return redact
