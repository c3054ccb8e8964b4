"""The Graph API's ids, credentials and error objects as the fake uses them on the wire."""

from __future__ import annotations

import base64
import itertools
import secrets
from typing import Any

VERSION = "v25.0"
PHONE_NUMBER_ID = "106540352242922"
TOKEN = "EAAGtest-access-token-for-the-fake-graph"
APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
BUSINESS_NUMBER = "15550783881"
WABA_ID = "102290129340398"

TITLES = {
    1: "An unknown error occurred",
    2: "Service temporarily unavailable",
    100: "Invalid parameter",
    131000: "Something went wrong",
    131009: "Parameter value is not valid",
    131047: "Re-engagement message",
    130429: "Rate limit hit",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
}
DETAILS = {
    1: "An unknown error occurred.",
    2: "Service temporarily unavailable. Please retry your request later.",
    131000: "Message failed to send due to an unknown error.",
    131047: (
        "Message failed to send because more than 24 hours have passed since the customer last replied "
        "to this number."
    ),
    130429: "Cloud API message throughput has been reached.",
    131056: (
        "Too many messages sent from the sender phone number to the same recipient phone number in a "
        "short period of time."
    ),
}

_counter = itertools.count(1)


def whatsapp_env(api_url: str) -> dict[str, str]:
    """The environment that points ``dalil serve``'s WhatsApp channel at the fake Graph API at ``api_url``."""
    return {
        "WHATSAPP_TOKEN": TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_API_BASE_URL": api_url,
    }


def wamid(digits: str = "966500000001") -> str:
    """A fresh, unique message id shaped like Meta's (``wamid.HBgM...``)."""
    raw = b"\x1c\x18\x0c" + digits.encode() + b"\x15\x02\x00\x12\x18\x14"
    raw += f"{next(_counter):04X}{secrets.token_hex(8).upper()}".encode()
    return "wamid." + base64.b64encode(raw).decode()


def _fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(15).replace("-", "x").replace("_", "Z")


def graph_error(
    code: int,
    details: str,
    *,
    title: str | None = None,
    message: str | None = None,
    transient: bool = False,
) -> dict[str, Any]:
    """Graph's error object for Cloud API error ``code``, as an HTTP error response carries it."""
    title = title or TITLES.get(code, f"Error {code}")
    error: dict[str, Any] = {
        "message": message or f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
    }
    if transient:
        error["is_transient"] = True
    error["fbtrace_id"] = _fbtrace_id()
    return {"error": error}


def auth_error() -> dict[str, Any]:
    """Graph's answer to a missing or wrong bearer token (code 190)."""
    return {
        "error": {
            "message": "Invalid OAuth access token - Cannot parse access token",
            "type": "OAuthException",
            "code": 190,
            "fbtrace_id": _fbtrace_id(),
        }
    }


def window_error() -> dict[str, Any]:
    """The 24-hour-window error (131047) as a ``failed`` status in a webhook carries it."""
    return {
        "code": 131047,
        "title": TITLES[131047],
        "message": TITLES[131047],
        "error_data": {"details": DETAILS[131047]},
    }
