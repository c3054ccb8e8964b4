"""The WhatsApp Cloud API client: one message sent (rate-limited, retried when safe), media, checks.

Also ``dalil whatsapp check``.

``POST {WHATSAPP_API_BASE_URL}/{WHATSAPP_PHONE_NUMBER_ID}/messages``, the base URL including the Graph
version. A per-process rate limiter (aiolimiter, ``dalil.whatsapp.send_rate_per_s``, default 80 msg/s)
spaces sends. Retried, with exponential backoff and jitter (stamina), is only what proves nothing was
delivered: a connection never made, HTTP 429 and 5xx, and errors Meta calls transient or rate limits
(130429, 131056 with a longer wait). A read timeout after the request was written may have delivered
the message, so it is reported as unknown and never repeated.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import mimetypes
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from bot.settings import Settings
from connectors.outbox import Attempt, RateLimiter, Transient, with_retries

__all__ = ["GraphClient", "check", "command"]

log = logging.getLogger(__name__)

THROUGHPUT_LIMIT = 130429
PAIR_RATE_LIMIT = 131056
# Rate limits worth waiting out: app/WABA call limits, throughput, and the per-recipient pair limit.
RETRY_CODES = frozenset({4, 80007, THROUGHPUT_LIMIT, PAIR_RATE_LIMIT})
MAX_MEDIA_BYTES = 16 * 1024 * 1024
_MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
# Nothing of the request reached Meta: safe to send again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _error(response: httpx.Response) -> tuple[int | None, str, bool]:
    """Meta's error code, its title, and whether Meta calls it transient."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if not isinstance(error, dict):
        return None, f"HTTP {response.status_code}", False
    code = error.get("code")
    title = str(error.get("message") or f"HTTP {response.status_code}")[:200]
    return (code if isinstance(code, int) else None), title, bool(error.get("is_transient"))


def _wamid(response: httpx.Response) -> str | None:
    try:
        messages = response.json().get("messages") or []
        return str(messages[0]["id"]) if messages else None
    except (ValueError, AttributeError, KeyError, IndexError, TypeError):
        return None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(path)


class GraphClient:
    """One business number's client; ``count(outcome)`` reports each send for metrics."""

    def __init__(
        self,
        settings: Settings,
        count: Callable[[str], None],
        timeout_s: float = 10.0,
    ) -> None:
        """Sends as ``settings``' number; nothing connects until the first request."""
        self.settings = settings
        self.count = count
        self.timeout_s = timeout_s
        self.limiter = RateLimiter(settings.whatsapp_send_rate_per_s)
        self.retries = 4
        self.backoff_s = 0.5
        self.pair_backoff_s = 2.0
        self.max_backoff_s = 30.0
        self._client: httpx.AsyncClient | None = None

    def retry_policy(
        self, retries: int, backoff_s: float, pair_backoff_s: float, max_backoff_s: float
    ) -> None:
        """Up to ``retries`` more tries; waits double from ``backoff_s``, capped, with jitter.

        After 131056 (Meta's per-recipient pair limit, which refills in seconds) from ``pair_backoff_s``.
        """
        self.retries, self.backoff_s = retries, backoff_s
        self.pair_backoff_s, self.max_backoff_s = pair_backoff_s, max_backoff_s

    def http(self) -> httpx.AsyncClient:
        """The connection pool (opened on first use)."""
        if self._client is None:
            token = self.settings.whatsapp_token
            assert token is not None  # noqa: S101 - only called when configured
            self._client = httpx.AsyncClient(
                base_url=self.settings.whatsapp_api_base_url.rstrip("/") + "/",
                headers={"Authorization": f"Bearer {token.get_secret_value()}"},
                timeout=httpx.Timeout(self.timeout_s, connect=5.0),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            )
        return self._client

    async def close(self) -> None:
        """Release the connections."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def post(self, body: Mapping[str, Any], context: str | None, retries: int | None = None) -> Attempt:
        """POST one message; retried only while nothing was delivered; never raises."""
        retries = self.retries if retries is None else retries
        result = await with_retries(
            lambda: self._post_once(body),
            retries,
            self.backoff_s,
            self.max_backoff_s,
            on_retry=lambda: self.count("retried"),
        )
        if result.ok:
            self.count("sent")
        else:
            self.count("unknown" if result.maybe_delivered else "failed")
            log.warning(
                "whatsapp_send_failed",
                extra={"wamid": context, "code": result.code, "error": result.reason},
            )
        return result

    async def _post_once(self, body: Mapping[str, Any]) -> Attempt:
        await self.limiter.wait()
        number = self.settings.whatsapp_phone_number_id
        try:
            response = await self.http().post(f"{number}/messages", json=body)
        except _NOT_SENT as exc:
            raise Transient(Attempt(False, reason=type(exc).__name__)) from exc
        except httpx.HTTPError as exc:  # the request may have been written: Meta may have it
            return Attempt(False, reason=type(exc).__name__, maybe_delivered=True)
        if response.status_code == 200:
            return Attempt(True, _wamid(response))
        code, reason, transient = _error(response)
        attempt = Attempt(False, code=code, reason=reason)
        if transient or response.status_code >= 500 or response.status_code == 429 or code in RETRY_CODES:
            raise Transient(attempt, self.pair_backoff_s if code == PAIR_RATE_LIMIT else None)
        return attempt

    async def keep_media(self, reference: str, media_dir: Path) -> str | None:
        """Download a photo now and return where it is kept (None if that failed).

        A media id from a webhook expires after 7 days and its download URL after minutes, so a
        report's photo is kept at once under ``DALIL_MEDIA_DIR``, checked against Meta's SHA-256.
        """
        media_id = reference.removeprefix("whatsapp:media:")
        if not _MEDIA_ID.fullmatch(media_id):
            return None
        client = self.http()
        try:
            described = await client.get(media_id)
            described.raise_for_status()
            info = described.json()
            data = bytearray()
            async with client.stream("GET", str(info["url"])) as response:
                response.raise_for_status()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > MAX_MEDIA_BYTES:
                        raise ValueError("media too large")
            if info.get("sha256") and hashlib.sha256(data).hexdigest() != info["sha256"]:
                raise ValueError("sha256 mismatch")
            mime = str(info.get("mime_type", "")).partition(";")[0].strip()
            path = media_dir / f"{media_id}{mimetypes.guess_extension(mime) or '.bin'}"
            await asyncio.to_thread(_write, path, bytes(data))
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            log.warning("whatsapp_media_not_kept", extra={"media": media_id, "error": repr(exc)[:200]})
            return None
        return str(path)


_SETTINGS_ENV = {
    "whatsapp_token": "WHATSAPP_TOKEN",
    "whatsapp_phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "whatsapp_app_secret": "WHATSAPP_APP_SECRET",
    "whatsapp_verify_token": "WHATSAPP_VERIFY_TOKEN",
}


def check(settings: Settings, transport: httpx.BaseTransport | None = None) -> tuple[int, list[str]]:
    """Whether the settings are complete and the Cloud API accepts the token for the number.

    Returns the exit code (0 ready, 1 refused or unreachable, 2 settings missing) and lines to print.
    """
    missing = [env for name, env in _SETTINGS_ENV.items() if not getattr(settings, name)]
    if missing:
        return 2, [f"not set: {', '.join(missing)} (see docs/whatsapp.md)"]
    token = settings.whatsapp_token
    assert token is not None  # noqa: S101 - checked above
    url = f"{settings.whatsapp_api_base_url.rstrip('/')}/{settings.whatsapp_phone_number_id}"
    fields = "verified_name,display_phone_number,quality_rating,code_verification_status"
    try:
        with httpx.Client(transport=transport, timeout=10) as client:
            response = client.get(
                url,
                params={"fields": fields},
                headers={"Authorization": f"Bearer {token.get_secret_value()}"},
            )
    except httpx.HTTPError as exc:
        return 1, [f"the Cloud API did not answer ({type(exc).__name__}); check WHATSAPP_API_BASE_URL"]
    if response.status_code != 200:
        code, title, _ = _error(response)
        hint = {190: "the token is invalid or expired", 100: "the phone number id is wrong or not yours"}
        return 1, [f"refused: {title} (code {code}): {hint.get(code or 0, 'see the error')}"]
    number = response.json()
    template = settings.whatsapp_reengagement_template
    return 0, [
        f"ok: {number.get('verified_name', '?')} ({number.get('display_phone_number', '?')}),"
        f" quality {number.get('quality_rating', '?')}",
        "webhook: https://<your host>/webhooks/whatsapp, verify token from WHATSAPP_VERIFY_TOKEN",
        f"re-engagement template: {template or 'none (answers outside 24 hours are only kept)'}",
    ]


def command(settings: Settings, args: argparse.Namespace) -> int:
    """``dalil whatsapp check``: are the settings complete, and does Meta accept them?"""
    code, lines = check(settings)
    for line in lines:
        print(f"dalil: {line}" if code else line, file=sys.stderr if code else sys.stdout)
    return code
