"""A small fake WhatsApp Cloud API (Meta Graph API) server, and a driver for inbound webhooks.

The server is an ASGI app speaking the real wire format of ``POST /<version>/<phone-number-id>/messages``:
``Authorization: Bearer <token>``, a JSON body, and either ``{"messaging_product": "whatsapp",
"contacts": [...], "messages": [{"id": "wamid..."}]}`` (or ``{"success": true}`` for a read receipt) or
Graph's error object::

    {"error": {"message": "(#131009) Parameter value is not valid", "type": "OAuthException",
               "code": 131009, "error_data": {"messaging_product": "whatsapp", "details": "..."},
               "fbtrace_id": "..."}}

It validates sends the way Meta does (text, location, template and interactive ``button`` / ``list`` /
``location_request_message`` / ``cta_url`` messages with Meta's length and count limits), answering
400 with code 100 for a missing parameter and 131009 for a value that is present but invalid. It records
every request, fails chosen sends on demand (24-hour window 131047, throughput 130429, pair rate limit
131056, transient 5xx) and can be made slow with ``delay_s``. Run it with :func:`serve` on a free local
port; the URL it yields already ends in the API version, like ``https://graph.facebook.com/v25.0``.

:class:`Webhooks` builds the payloads Meta POSTs to the bot's webhook (messages from a user, delivery
statuses, several batched into one POST), including business-scoped user ids (``user_id`` /
``from_user_id``) and username users who have no phone number (``bsuid_only=True``). :func:`signed`
serialises a payload as Meta does (ASCII-only, ``\\uXXXX`` escapes, ``\\/``) and signs the exact bytes
with the app secret for ``X-Hub-Signature-256``; a receiver that re-serialises the JSON before checking
the signature will fail.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import itertools
import json
import math
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.connectors.loopback import serve_asgi, wait_until

VERSION = "v25.0"
PHONE_NUMBER_ID = "106540352242922"
TOKEN = "EAAGtest-access-token-for-the-fake-graph"
APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
BUSINESS_NUMBER = "15550783881"
WABA_ID = "102290129340398"

MESSAGE_TYPES = ("text", "interactive", "location", "template")
INTERACTIVE_TYPES = ("button", "list", "location_request_message", "cta_url")

_TITLES = {
    1: "An unknown error occurred",
    2: "Service temporarily unavailable",
    100: "Invalid parameter",
    131000: "Something went wrong",
    131009: "Parameter value is not valid",
    131047: "Re-engagement message",
    130429: "Rate limit hit",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
}
_DETAILS = {
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
_OBJECT_MISSING = (
    "Unsupported post request. Object with ID '{}' does not exist, cannot be loaded due to missing "
    "permissions, or does not support this operation"
)

_counter = itertools.count(1)


def wamid(digits: str = "966500000001") -> str:
    """A fresh, unique message id shaped like Meta's (``wamid.HBgM...``)."""
    raw = b"\x1c\x18\x0c" + digits.encode() + b"\x15\x02\x00\x12\x18\x14"
    raw += f"{next(_counter):04X}{secrets.token_hex(8).upper()}".encode()
    return "wamid." + base64.b64encode(raw).decode()


def _fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(15).replace("-", "x").replace("_", "Z")


# --- the server -------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the server answered."""

    path: str
    body: dict[str, Any]
    status: int
    response: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def is_read(self) -> bool:
        """A read receipt (``"status": "read"``), possibly with a typing indicator."""
        return "status" in self.body

    @property
    def type(self) -> str | None:
        value = self.body.get("type")
        return value if isinstance(value, str) else None

    @property
    def to(self) -> str | None:
        """The recipient as sent: ``to`` (phone digits) or ``recipient`` (a business-scoped user id)."""
        value = self.body.get("to") or self.body.get("recipient")
        return value if isinstance(value, str) else None

    @property
    def text(self) -> str | None:
        """The text a user would read first: a text body or an interactive message's body."""
        body = self.body
        text = None
        if body.get("type") == "text":
            text = _dig(body, "text", "body")
        elif body.get("type") == "interactive":
            text = _dig(body, "interactive", "body", "text")
        return text if isinstance(text, str) else None

    @property
    def error_code(self) -> int | None:
        error = self.response.get("error")
        return error.get("code") if isinstance(error, dict) else None


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


@dataclass
class _Failure:
    status: int
    code: int
    title: str
    details: str
    transient: bool
    kind: str | None
    predicate: Callable[[dict[str, Any]], bool] | None
    remaining: int

    def matches(self, body: dict[str, Any]) -> bool:
        if self.kind is not None and body.get("type") != self.kind:
            return False
        return self.predicate is None or self.predicate(body)


class _RequestError(Exception):
    def __init__(self, code: int, details: str, status: int = 400) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.status = status


@dataclass
class FakeGraph:
    """The server's state: requests answered, failures to inject, an optional delay per send."""

    token: str = TOKEN
    phone_number_id: str = PHONE_NUMBER_ID
    delay_s: float = 0.0
    late_s: float = 0.0
    """How late a successful send is answered, *after* it was carried out (a read timeout's case)."""
    calls: list[Call] = field(default_factory=list)
    missing_media: set[str] = field(default_factory=set)
    """Media ids Graph no longer knows (a webhook's media id expires after 7 days)."""
    _failures: list[_Failure] = field(default_factory=list)

    # --- test controls ------------------------------------------------------------------------------------

    def fail(
        self,
        code: int | None = None,
        *,
        status: int | None = None,
        times: int = 1,
        kind: str | None = None,
    ) -> None:
        """Fail the next ``times`` valid message sends (of type ``kind``, if given); not read receipts.

        ``code`` is a Cloud API error code (131047, 130429, 131056, ...; HTTP 400 unless ``status``
        says otherwise); ``status`` alone (500, 502, 503) answers a transient Graph error (code 1 or 2).
        """
        self._failures.append(_failure(code, status, times, kind, None))

    def fail_when(self, predicate: Callable[[dict[str, Any]], bool], code: int, times: int = 1) -> None:
        """Fail the next ``times`` valid message sends whose JSON body satisfies ``predicate``."""
        self._failures.append(_failure(code, None, times, None, predicate))

    def clear(self) -> None:
        """Forget recorded calls and pending failures."""
        self.calls.clear()
        self._failures.clear()

    def sent(self, type: str | None = None, to: str | None = None) -> list[Call]:
        """Successful message sends (not read receipts), optionally of one type and to one recipient."""
        return [
            c
            for c in self.calls
            if c.ok
            and c.path.endswith("/messages")
            and not c.is_read
            and (type is None or c.body.get("type") == type)
            and (to is None or to in (c.body.get("to"), c.body.get("recipient")))
        ]

    def failed(self) -> list[Call]:
        """Every request answered with an error (injected or not)."""
        return [c for c in self.calls if not c.ok]

    def reads(self) -> list[Call]:
        """Successful read receipts (with or without a typing indicator)."""
        return [c for c in self.calls if c.ok and c.is_read]

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        what: str = "condition",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate()`` holds."""
        await wait_until(
            predicate,
            timeout,
            lambda: f"timed out after {timeout}s waiting for {what}; calls:\n{self._log()}",
        )

    async def wait_sent(
        self,
        type: str | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
        to: str | None = None,
    ) -> list[Call]:
        """Wait until at least ``count`` matching sends succeeded; returns all matching sends."""
        what = f"{count} × {type or 'any'} message(s)" + (f" to {to}" if to else "")
        await self.wait_for(lambda: len(self.sent(type, to)) >= count, what, timeout)
        return self.sent(type, to)

    async def quiet(self, seconds: float = 0.3) -> None:
        """Let time pass, so a test can then assert that nothing more was sent."""
        await asyncio.sleep(seconds)

    def _log(self) -> str:
        lines = []
        for c in self.calls:
            what = "read" if c.is_read else (c.type or "?")
            summary = c.text if c.text is not None else json.dumps(c.body, ensure_ascii=False)[:200]
            error = f" error {c.error_code}" if not c.ok else ""
            lines.append(f"  {c.status}{error} {what} to {c.to}: {summary!r}")
        return "\n".join(lines) or "  (none)"

    # --- the API ------------------------------------------------------------------------------------------

    def asgi(self) -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/{version}/{phone_number_id}/messages", self._messages, methods=["POST"]),
                Route("/media-download/{media_id}", self._download, methods=["GET"]),
                Route("/{version}/{node_id}", self._node, methods=["GET"]),
                Route("/{path:path}", self._not_found),
            ]
        )

    async def _not_found(self, request: Request) -> JSONResponse:
        raw = await request.body()
        details = f"Unknown path components: {request.method} {request.url.path}"
        return self._answer(request, _parse(raw)[1], 404, _error(100, details))

    async def _messages(self, request: Request) -> JSONResponse:
        at = time.monotonic()
        raw = await request.body()
        parsed, body = _parse(raw)
        status, response = await self._handle(request, parsed)
        answer = self._answer(request, body, status, response, at)
        if self.late_s and status == 200 and not (isinstance(parsed, dict) and "status" in parsed):
            await asyncio.sleep(self.late_s)
        return answer

    def media(self, media_id: str) -> bytes:
        """The bytes this server serves for ``media_id`` (a small fake JPEG, the same every time)."""
        return b"\xff\xd8\xff\xe0" + hashlib.sha256(media_id.encode()).digest() * 8 + b"\xff\xd9"

    async def _node(self, request: Request) -> JSONResponse:
        """``GET /<version>/<id>``: the business number (``?fields=…``) or a media object's download URL."""
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._answer(request, {}, 401, _auth_error())
        node = request.path_params["node_id"]
        if node == self.phone_number_id:
            known = {
                "verified_name": "Dalil Jeddah",
                "display_phone_number": "+1 555-078-3881",
                "quality_rating": "GREEN",
                "code_verification_status": "VERIFIED",
                "throughput": {"level": "STANDARD"},
            }
            fields = [f for f in request.query_params.get("fields", "").split(",") if f]
            response = {k: v for k, v in known.items() if not fields or k in fields} | {"id": node}
            return self._answer(request, {}, 200, response)
        if not node.isdigit() or node in self.missing_media:
            return self._answer(request, {}, 400, _error(100, _OBJECT_MISSING.format(node)))
        data = self.media(node)
        media = {
            "messaging_product": "whatsapp",
            "url": f"{str(request.base_url).rstrip('/')}/media-download/{node}?ext=1",
            "mime_type": "image/jpeg",
            "sha256": hashlib.sha256(data).hexdigest(),
            "file_size": len(data),
            "id": node,
        }
        return self._answer(request, {}, 200, media)

    async def _download(self, request: Request) -> Response:
        """The media bytes behind a URL from :meth:`_node`; Meta wants the bearer token here too."""
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._answer(request, {}, 401, _auth_error())
        self.calls.append(Call(request.url.path, {}, 200, {}, dict(request.headers)))
        return Response(self.media(request.path_params["media_id"]), media_type="image/jpeg")

    def _answer(
        self,
        request: Request,
        body: dict[str, Any],
        status: int,
        response: dict[str, Any],
        at: float | None = None,
    ) -> JSONResponse:
        call = Call(request.url.path, body, status, response, dict(request.headers))
        if at is not None:
            call.at = at
        self.calls.append(call)
        return JSONResponse(response, status_code=status)

    async def _handle(self, request: Request, parsed: Any) -> tuple[int, dict[str, Any]]:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, _auth_error()
        if not re.fullmatch(r"v\d+\.\d+", request.path_params["version"]):
            return 404, _error(100, f"Unknown path components: {request.url.path}")
        number = request.path_params["phone_number_id"]
        if number != self.phone_number_id:
            return 400, _error(100, _OBJECT_MISSING.format(number), message=_OBJECT_MISSING.format(number))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        try:
            if not isinstance(parsed, dict):
                raise _RequestError(100, "The request body must be a JSON object.")
            product = parsed.get("messaging_product")
            if product is None:
                raise _RequestError(100, "The parameter messaging_product is required.")
            if product != "whatsapp":
                raise _RequestError(100, "Param messaging_product must be 'whatsapp'.")
            if "status" in parsed:
                _check_read(parsed)
                return 200, {"success": True}
            contact = _check_message(parsed)
        except _RequestError as reject:
            return reject.status, _error(reject.code, reject.details)
        for failure in self._failures:
            if failure.matches(parsed):
                failure.remaining -= 1
                if not failure.remaining:
                    self._failures.remove(failure)
                return failure.status, _error(
                    failure.code, failure.details, title=failure.title, transient=failure.transient
                )
        digits = contact.get("wa_id") or contact["input"]
        message: dict[str, Any] = {"id": wamid(digits)}
        if parsed["type"] == "template":
            message["message_status"] = "accepted"
        return 200, {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]}


def _parse(raw: bytes) -> tuple[Any, dict[str, Any]]:
    """The JSON value of a request body (``None`` if not JSON) and a dict to record it by."""
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        return None, {"_raw": raw.decode(errors="replace")}
    if isinstance(parsed, dict):
        return parsed, parsed
    return parsed, {} if parsed is None else {"_json": parsed}


def _failure(
    code: int | None,
    status: int | None,
    times: int,
    kind: str | None,
    predicate: Callable[[dict[str, Any]], bool] | None,
) -> _Failure:
    if times < 1:
        raise ValueError("times must be at least 1")
    if code is None:
        if status is None:
            raise ValueError("give a Cloud API error code, an HTTP status, or both")
        if status == 429:
            code = 130429
        elif status >= 500:
            code = 1 if status == 500 else 2
        else:
            code = 131000
    if status is None:
        status = 500 if code == 1 else 503 if code == 2 else 400
    title = _TITLES.get(code, f"Error {code}")
    details = _DETAILS.get(code, title + ".")
    return _Failure(status, code, title, details, code in (1, 2), kind, predicate, times)


def _error(
    code: int,
    details: str,
    *,
    title: str | None = None,
    message: str | None = None,
    transient: bool = False,
) -> dict[str, Any]:
    title = title or _TITLES.get(code, f"Error {code}")
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


def _auth_error() -> dict[str, Any]:
    return {
        "error": {
            "message": "Invalid OAuth access token - Cannot parse access token",
            "type": "OAuthException",
            "code": 190,
            "fbtrace_id": _fbtrace_id(),
        }
    }


# --- validation, as Meta does it --------------------------------------------------------------------------


def _obj(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        raise _RequestError(100, f"The parameter {path} is required.")
    if not isinstance(value, dict):
        raise _RequestError(131009, f"{path} must be a JSON object.")
    return value


def _list(parent: dict[str, Any], key: str, path: str, least: int, most: int) -> list[Any]:
    value = parent.get(key)
    if value is None:
        raise _RequestError(100, f"The parameter {path} is required.")
    if not isinstance(value, list):
        raise _RequestError(131009, f"{path} must be a JSON array.")
    if not least <= len(value) <= most:
        raise _RequestError(131009, f"{path} has {len(value)} items; it must have {least} to {most}.")
    return value


def _str(parent: dict[str, Any], key: str, path: str, most: int | None = None, required: bool = True) -> str:
    value = parent.get(key)
    if value is None:
        if required:
            raise _RequestError(100, f"The parameter {path} is required.")
        return ""
    if not isinstance(value, str):
        raise _RequestError(131009, f"{path} must be a string.")
    if required and not value:
        raise _RequestError(131009, f"{path} must not be empty.")
    if most is not None and len(value) > most:
        raise _RequestError(131009, f"{path} is too long: {len(value)} characters; the maximum is {most}.")
    return value


def _number(parent: dict[str, Any], key: str, path: str, bound: float) -> None:
    value = parent.get(key)
    if value is None:
        raise _RequestError(100, f"The parameter {path} is required.")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _RequestError(131009, f"{path} must be a number.")
    try:
        number = float(value)
    except ValueError:
        raise _RequestError(131009, f"{path} must be a number.") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise _RequestError(131009, f"{path} is out of range: {value}; it must be within ±{bound:g}.")


def _check_read(body: dict[str, Any]) -> None:
    if body["status"] != "read":
        raise _RequestError(131009, "Param status must be 'read'.")
    _str(body, "message_id", "message_id")
    if "typing_indicator" in body:
        indicator = _obj(body, "typing_indicator", "typing_indicator")
        if indicator.get("type") != "text":
            raise _RequestError(131009, "typing_indicator['type'] must be 'text'.")


def _check_message(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a message send; returns the ``contacts`` item of the answer."""
    recipient_type = body.get("recipient_type")
    if recipient_type is not None and recipient_type != "individual":
        raise _RequestError(131009, "Param recipient_type must be 'individual'.")
    contact = _check_recipient(body)
    kind = body.get("type")
    if kind is None:
        raise _RequestError(100, "The parameter type is required.")
    if kind not in MESSAGE_TYPES:
        raise _RequestError(131009, f"Param type must be one of {list(MESSAGE_TYPES)}; got {kind!r}.")
    content = _obj(body, kind, kind)
    if kind == "text":
        _str(content, "body", "text['body']", 4096)
        if "preview_url" in content and not isinstance(content["preview_url"], bool):
            raise _RequestError(131009, "text['preview_url'] must be a boolean.")
    elif kind == "location":
        _number(content, "latitude", "location['latitude']", 90)
        _number(content, "longitude", "location['longitude']", 180)
        _str(content, "name", "location['name']", required=False)
        _str(content, "address", "location['address']", required=False)
    elif kind == "template":
        _str(content, "name", "template['name']", 512)
        _str(_obj(content, "language", "template['language']"), "code", "template['language']['code']")
        if "components" in content and not isinstance(content["components"], list):
            raise _RequestError(131009, "template['components'] must be a JSON array.")
    else:
        _check_interactive(content)
    return contact


def _check_recipient(body: dict[str, Any]) -> dict[str, Any]:
    to, recipient = body.get("to"), body.get("recipient")
    if to is None and recipient is None:
        raise _RequestError(100, "The parameter to is required.")
    contact: dict[str, Any] = {}
    if to is not None:
        if not isinstance(to, str) or not re.fullmatch(r"\+?[\d\s().-]{5,}", to):
            raise _RequestError(131009, f"Param to must be a phone number; got {to!r}.")
        contact = {"input": to, "wa_id": re.sub(r"\D", "", to)}
    if recipient is not None:
        if not isinstance(recipient, str) or not re.fullmatch(r"[A-Z]{2}\.[A-Za-z0-9]+", recipient):
            raise _RequestError(
                131009, f"Param recipient must be a business-scoped user id; got {recipient!r}."
            )
        contact.setdefault("input", recipient)
        contact["user_id"] = recipient
    return contact


def _check_interactive(content: dict[str, Any]) -> None:
    kind = content.get("type")
    if kind is None:
        raise _RequestError(100, "The parameter interactive['type'] is required.")
    if kind not in INTERACTIVE_TYPES:
        raise _RequestError(
            131009, f"interactive['type'] must be one of {list(INTERACTIVE_TYPES)}; got {kind!r}."
        )
    body_limit = 4096 if kind == "list" else 1024
    _str(_obj(content, "body", "interactive['body']"), "text", "interactive['body']['text']", body_limit)
    if "header" in content:
        header = _obj(content, "header", "interactive['header']")
        header_type = header.get("type")
        if header_type == "text":
            _str(header, "text", "interactive['header']['text']", 60)
        elif header_type in ("image", "video", "document") and kind != "list":
            media = _obj(header, header_type, f"interactive['header']['{header_type}']")
            if not (media.get("id") or media.get("link")):
                raise _RequestError(
                    100, f"The parameter interactive['header']['{header_type}']['id'] is required."
                )
        else:
            raise _RequestError(131009, f"interactive['header']['type'] {header_type!r} is not valid here.")
    if "footer" in content:
        _str(_obj(content, "footer", "interactive['footer']"), "text", "interactive['footer']['text']", 60)
    action = _obj(content, "action", "interactive['action']")
    if kind == "button":
        _check_buttons(action)
    elif kind == "list":
        _check_list(action)
    elif kind == "location_request_message":
        if action.get("name") != "send_location":
            raise _RequestError(131009, "interactive['action']['name'] must be 'send_location'.")
    else:
        if action.get("name") != "cta_url":
            raise _RequestError(131009, "interactive['action']['name'] must be 'cta_url'.")
        parameters = _obj(action, "parameters", "interactive['action']['parameters']")
        _str(parameters, "display_text", "interactive['action']['parameters']['display_text']", 20)
        url = _str(parameters, "url", "interactive['action']['parameters']['url']", 2000)
        if not url.startswith(("http://", "https://")):
            raise _RequestError(
                131009, f"interactive['action']['parameters']['url'] is not a valid URL: {url!r}."
            )


def _check_buttons(action: dict[str, Any]) -> None:
    buttons = _list(action, "buttons", "interactive['action']['buttons']", 1, 3)
    ids: set[str] = set()
    titles: set[str] = set()
    for i, button in enumerate(buttons):
        path = f"interactive['action']['buttons'][{i}]"
        if not isinstance(button, dict):
            raise _RequestError(131009, f"{path} must be a JSON object.")
        if button.get("type") != "reply":
            raise _RequestError(131009, f"{path}['type'] must be 'reply'.")
        reply = _obj(button, "reply", f"{path}['reply']")
        button_id = _str(reply, "id", f"{path}['reply']['id']", 256)
        title = _str(reply, "title", f"{path}['reply']['title']", 20)
        if button_id in ids:
            raise _RequestError(131009, f"Duplicate button id {button_id!r}: button ids must be unique.")
        if title in titles:
            raise _RequestError(131009, f"Duplicate button title {title!r}: button titles must be unique.")
        ids.add(button_id)
        titles.add(title)


def _check_list(action: dict[str, Any]) -> None:
    _str(action, "button", "interactive['action']['button']", 20)
    sections = _list(action, "sections", "interactive['action']['sections']", 1, 10)
    ids: set[str] = set()
    rows_total = 0
    for i, section in enumerate(sections):
        path = f"interactive['action']['sections'][{i}]"
        if not isinstance(section, dict):
            raise _RequestError(131009, f"{path} must be a JSON object.")
        _str(section, "title", f"{path}['title']", 24, required=len(sections) > 1)
        rows = _list(section, "rows", f"{path}['rows']", 1, 10)
        rows_total += len(rows)
        for j, row in enumerate(rows):
            row_path = f"{path}['rows'][{j}]"
            if not isinstance(row, dict):
                raise _RequestError(131009, f"{row_path} must be a JSON object.")
            row_id = _str(row, "id", f"{row_path}['id']", 200)
            _str(row, "title", f"{row_path}['title']", 24)
            _str(row, "description", f"{row_path}['description']", 72, required=False)
            if row_id in ids:
                raise _RequestError(131009, f"Duplicate row id {row_id!r}: row ids must be unique.")
            ids.add(row_id)
    if rows_total > 10:
        raise _RequestError(131009, f"The list has {rows_total} rows across its sections; the maximum is 10.")


@asynccontextmanager
async def serve(fake: FakeGraph) -> AsyncIterator[str]:
    """Serve ``fake`` on a free loopback port; yields its base URL, version included."""
    async with serve_asgi(fake.asgi()) as url:
        yield f"{url}/{VERSION}"


# --- inbound webhooks -------------------------------------------------------------------------------------


class Overrides(TypedDict, total=False):
    """Keyword overrides every :class:`Webhooks` builder accepts."""

    wa_id: str
    user_id: str
    message_id: str
    timestamp: int
    bsuid_only: bool


def _sha256(seed: str) -> str:
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()


class Webhooks:
    """Builds webhook payloads as Meta POSTs them to ``/webhooks/whatsapp``.

    ``user_id=None`` builds payloads from before business-scoped user ids (no ``user_id`` /
    ``from_user_id`` fields); ``bsuid_only=True`` on a builder builds one from a user with a WhatsApp
    username and no visible phone number (no ``wa_id`` / ``from`` fields).
    """

    def __init__(
        self,
        wa_id: str = "966500000001",
        name: str = "سارة",
        user_id: str | None = "SA.13491208655302741918",
    ) -> None:
        self.wa_id = wa_id
        self.name = name
        self.user_id = user_id

    # --- messages from the user ---------------------------------------------------------------------------

    def text(self, body: str, **kw: Unpack[Overrides]) -> dict[str, Any]:
        return self._message("text", {"body": body}, kw)

    def location(
        self,
        lat: float,
        lon: float,
        name: str | None = None,
        address: str | None = None,
        **kw: Unpack[Overrides],
    ) -> dict[str, Any]:
        point: dict[str, Any] = {"latitude": lat, "longitude": lon}
        if name is not None:
            point["name"] = name
        if address is not None:
            point["address"] = address
        return self._message("location", point, kw)

    def button_reply(self, id: str, title: str, **kw: Unpack[Overrides]) -> dict[str, Any]:
        content = {"type": "button_reply", "button_reply": {"id": id, "title": title}}
        return self._message("interactive", content, kw, context=True)

    def list_reply(
        self,
        id: str,
        title: str,
        description: str | None = None,
        **kw: Unpack[Overrides],
    ) -> dict[str, Any]:
        reply = {"id": id, "title": title}
        if description is not None:
            reply["description"] = description
        return self._message("interactive", {"type": "list_reply", "list_reply": reply}, kw, context=True)

    def template_button(self, payload: str, text: str, **kw: Unpack[Overrides]) -> dict[str, Any]:
        return self._message("button", {"payload": payload, "text": text}, kw, context=True)

    def image(
        self, caption: str | None = None, media_id: str = "1234567890", **kw: Unpack[Overrides]
    ) -> dict[str, Any]:
        image: dict[str, Any] = {}
        if caption is not None:
            image["caption"] = caption
        image.update({"mime_type": "image/jpeg", "sha256": _sha256(media_id), "id": media_id})
        return self._message("image", image, kw)

    def audio(self, media_id: str = "2345678901", **kw: Unpack[Overrides]) -> dict[str, Any]:
        audio = {
            "mime_type": "audio/ogg; codecs=opus",
            "sha256": _sha256(media_id),
            "id": media_id,
            "voice": True,
        }
        return self._message("audio", audio, kw)

    def sticker(self, media_id: str = "3456789012", **kw: Unpack[Overrides]) -> dict[str, Any]:
        sticker = {"mime_type": "image/webp", "sha256": _sha256(media_id), "id": media_id, "animated": False}
        return self._message("sticker", sticker, kw)

    def reaction(self, message_id_reacted: str, emoji: str, **kw: Unpack[Overrides]) -> dict[str, Any]:
        """A reaction to one of the bot's messages; ``emoji=""`` means the user removed it."""
        return self._message("reaction", {"message_id": message_id_reacted, "emoji": emoji}, kw)

    def unsupported(self, **kw: Unpack[Overrides]) -> dict[str, Any]:
        error = {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
        return self._message("unsupported", None, kw, errors=[error])

    # --- delivery statuses of the bot's messages ----------------------------------------------------------

    def status(
        self,
        wamid: str,
        status: str,
        recipient_id: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        **kw: Unpack[Overrides],
    ) -> dict[str, Any]:
        """A status (``sent``, ``delivered``, ``read``, ``failed``) of the bot's message ``wamid``."""
        wa_id = kw.get("wa_id", self.wa_id)
        user_id = kw.get("user_id", self.user_id)
        timestamp = kw.get("timestamp", int(time.time()))
        item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(timestamp)}
        if recipient_id is not None or not kw.get("bsuid_only", False):
            item["recipient_id"] = recipient_id or wa_id
        if user_id is not None:
            item["recipient_user_id"] = user_id
        if status in ("sent", "delivered"):
            conversation: dict[str, Any] = {"id": secrets.token_hex(16), "origin": {"type": "service"}}
            if status == "sent":
                conversation["expiration_timestamp"] = str(timestamp + 24 * 3600)
            item["conversation"] = conversation
            item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
        if status == "failed":
            item["errors"] = errors if errors is not None else [_window_error()]
        elif errors is not None:
            item["errors"] = errors
        return _envelope({"statuses": [item]})

    # --- several in one POST ------------------------------------------------------------------------------

    def batch(self, *payloads: dict[str, Any]) -> dict[str, Any]:
        """Merge the messages, statuses and contacts of ``payloads`` into one change, as Meta batches them."""
        merged: dict[str, Any] = {}
        for payload in payloads:
            for entry in payload["entry"]:
                for change in entry["changes"]:
                    for key in ("contacts", "messages", "statuses"):
                        for item in change["value"].get(key, []):
                            items = merged.setdefault(key, [])
                            if key != "contacts" or item not in items:
                                items.append(copy.deepcopy(item))
        return _envelope(merged)

    # --- building -----------------------------------------------------------------------------------------

    def _message(
        self,
        kind: str,
        content: dict[str, Any] | None,
        kw: Overrides,
        *,
        context: bool = False,
        errors: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        wa_id = kw.get("wa_id", self.wa_id)
        user_id = kw.get("user_id", self.user_id)
        bsuid_only = kw.get("bsuid_only", False)
        if bsuid_only and user_id is None:
            raise ValueError("bsuid_only needs a user_id")
        contact: dict[str, Any] = {"profile": {"name": self.name}}
        message: dict[str, Any] = {}
        if context:
            message["context"] = {"from": BUSINESS_NUMBER, "id": wamid(wa_id)}
        if not bsuid_only:
            contact["wa_id"] = wa_id
            message["from"] = wa_id
        if user_id is not None:
            contact["user_id"] = user_id
            message["from_user_id"] = user_id
        message["id"] = kw.get("message_id") or wamid(wa_id)
        message["timestamp"] = str(kw.get("timestamp", int(time.time())))
        message["type"] = kind
        if content is not None:
            message[kind] = content
        if errors is not None:
            message["errors"] = errors
        return _envelope({"contacts": [contact], "messages": [message]})


def _window_error() -> dict[str, Any]:
    return {
        "code": 131047,
        "title": _TITLES[131047],
        "message": _TITLES[131047],
        "error_data": {"details": _DETAILS[131047]},
    }


def _envelope(parts: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
        **parts,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
    }


def encode(payload: dict[str, Any]) -> bytes:
    """Serialise ``payload`` as Meta does: ASCII only (``\\uXXXX`` escapes), compact, ``/`` as ``\\/``."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    """The ``X-Hub-Signature-256`` header value for the exact bytes ``raw``."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def signed(payload: dict[str, Any], secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    """The raw body Meta would POST for ``payload`` and its headers, signature included."""
    raw = encode(payload)
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, secret)}


def verification(challenge: str = "1158201444", token: str = VERIFY_TOKEN) -> dict[str, str]:
    """The query parameters of Meta's ``GET`` webhook verification request."""
    return {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": challenge}
