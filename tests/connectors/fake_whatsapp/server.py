"""The fake Graph API server: ``POST /<version>/<phone-number-id>/messages`` and media, as Meta answers.

A send is answered with ``{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id":
"wamid..."}]}`` (``{"success": true}`` for a read receipt) or Graph's error object; sends are validated
by :mod:`.checks`. The server records every request, fails chosen sends on demand and can be made slow.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.connectors.fake_whatsapp.checks import RequestError, check_message, check_read
from tests.connectors.fake_whatsapp.wire import (
    DETAILS,
    PHONE_NUMBER_ID,
    TITLES,
    TOKEN,
    VERSION,
    auth_error,
    graph_error,
    wamid,
)
from tests.connectors.loopback import serve_asgi, wait_until

_OBJECT_MISSING = (
    "Unsupported post request. Object with ID '{}' does not exist, cannot be loaded due to missing "
    "permissions, or does not support this operation"
)


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
        return self._answer(request, _parse(raw)[1], 404, graph_error(100, details))

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
            return self._answer(request, {}, 401, auth_error())
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
            return self._answer(request, {}, 400, graph_error(100, _OBJECT_MISSING.format(node)))
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
            return self._answer(request, {}, 401, auth_error())
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
            return 401, auth_error()
        if not re.fullmatch(r"v\d+\.\d+", request.path_params["version"]):
            return 404, graph_error(100, f"Unknown path components: {request.url.path}")
        number = request.path_params["phone_number_id"]
        if number != self.phone_number_id:
            return 400, graph_error(
                100, _OBJECT_MISSING.format(number), message=_OBJECT_MISSING.format(number)
            )
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        try:
            if not isinstance(parsed, dict):
                raise RequestError(100, "The request body must be a JSON object.")
            product = parsed.get("messaging_product")
            if product is None:
                raise RequestError(100, "The parameter messaging_product is required.")
            if product != "whatsapp":
                raise RequestError(100, "Param messaging_product must be 'whatsapp'.")
            if "status" in parsed:
                check_read(parsed)
                return 200, {"success": True}
            contact = check_message(parsed)
        except RequestError as reject:
            return reject.status, graph_error(reject.code, reject.details)
        for failure in self._failures:
            if failure.matches(parsed):
                failure.remaining -= 1
                if not failure.remaining:
                    self._failures.remove(failure)
                return failure.status, graph_error(
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
    title = TITLES.get(code, f"Error {code}")
    details = DETAILS.get(code, title + ".")
    return _Failure(status, code, title, details, code in (1, 2), kind, predicate, times)


@asynccontextmanager
async def serve(fake: FakeGraph) -> AsyncIterator[str]:
    """Serve ``fake`` on a free loopback port; yields its base URL, version included."""
    async with serve_asgi(fake.asgi()) as url:
        yield f"{url}/{VERSION}"
