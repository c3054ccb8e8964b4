"""The WhatsApp webhook's HTTP checks: Meta's verification handshake, and reading a signed delivery.

``verify`` answers ``GET /webhooks/whatsapp`` (``hub.verify_token`` must equal ``WHATSAPP_VERIFY_TOKEN``).
``read_signed`` reads a ``POST`` body (at most 3 MiB, also when chunked), checks ``X-Hub-Signature-256``
(the HMAC-SHA256 of the raw bytes under ``WHATSAPP_APP_SECRET``) and reads the messages and statuses;
anything wrong is an error response with a reason, never a 5xx.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from bot.settings import Settings
from connectors.whatsapp_inbound import Inbound, Status, read_webhook, signature

__all__ = ["MAX_WEBHOOK_BYTES", "SIGNATURE_HEADER", "read_signed", "verify"]

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_WEBHOOK_BYTES = 3 * 1024 * 1024


def verify(request: Request, settings: Settings) -> Response:
    """Meta's subscription handshake: echo ``hub.challenge`` when the verify token matches."""
    params = request.query_params
    expected = settings.whatsapp_verify_token
    given = params.get("hub.verify_token", "")
    challenge = params.get("hub.challenge", "")
    if (
        expected is None
        or params.get("hub.mode") != "subscribe"
        or not hmac.compare_digest(given.encode(), expected.get_secret_value().encode())
    ):
        return JSONResponse({"error": "verification failed"}, status_code=403)
    if not challenge or len(challenge) > 256 or not challenge.isprintable():
        return JSONResponse({"error": "missing or malformed hub.challenge"}, status_code=400)
    return PlainTextResponse(challenge)


async def read_signed(
    request: Request, settings: Settings, count: Callable[[str], None]
) -> tuple[list[Inbound], list[Status]] | JSONResponse:
    """The messages and statuses of a signed delivery, or the error response (``count`` gets why)."""
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        count("too_large")
        return JSONResponse({"error": "body too large"}, status_code=413)
    received = bytearray()
    async for chunk in request.stream():  # a chunked body has no length to check first
        received += chunk
        if len(received) > MAX_WEBHOOK_BYTES:
            count("too_large")
            return JSONResponse({"error": "body too large"}, status_code=413)
    raw = bytes(received)
    given = request.headers.get(SIGNATURE_HEADER)
    if not given:
        count("unsigned")
        return JSONResponse({"error": f"missing {SIGNATURE_HEADER}"}, status_code=401)
    secret = settings.whatsapp_app_secret
    assert secret is not None  # noqa: S101 - only called when configured
    if not hmac.compare_digest(
        given.strip().lower().encode(), signature(secret.get_secret_value(), raw).encode()
    ):
        count("bad_signature")
        return JSONResponse({"error": "bad signature"}, status_code=403)
    try:
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return read_webhook(body, settings.whatsapp_phone_number_id)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        count("malformed")
        return JSONResponse({"error": f"not a WhatsApp webhook: {exc}"[:200]}, status_code=400)
