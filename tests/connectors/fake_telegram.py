"""A small fake Telegram Bot API server: an ASGI app speaking the real wire format.

``POST|GET /bot<token>/<method>`` with JSON, form-encoded or query parameters (python-telegram-bot sends
form fields, JSON-encoding the structured ones); answers ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ..., "parameters": {"retry_after": ...}}``.

It records every call, serves queued updates to ``getUpdates`` (long polling), and fails chosen
methods on demand (429 with ``retry_after``, 5xx). Run it with :func:`serve` on a free local port and
point ``TELEGRAM_API_BASE_URL`` at it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.connectors.loopback import serve_asgi, wait_until

TOKEN = "123456789:AAtest-token-for-the-fake-server_0123"
BOT_ID = 123456789
BOT_USERNAME = "DalilTestBot"


@dataclass
class Call:
    """One request the server answered."""

    method: str
    params: dict[str, Any]
    ok: bool


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class FakeTelegram:
    """The server's state: calls made, updates waiting, failures to inject."""

    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, list[_Failure]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    slow: dict[str, list[float]] = field(default_factory=dict)
    """Per method, delays to apply *after* a call succeeded (the answer is late, the message went)."""
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _new_updates: asyncio.Event = field(default_factory=asyncio.Event)

    # --- test controls --------------------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> None:
        """Queue an update for ``getUpdates``."""
        self.pending.append(update)
        self._new_updates.set()

    def fail(self, method: str, status: int = 429, retry_after: int | None = 1, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail."""
        description = f"Too Many Requests: retry after {retry_after}" if status == 429 else "Bad Gateway"
        if status == 400:
            description = "Bad Request: chat not found"
        self.failures.setdefault(method.lower(), []).extend(
            _Failure(status, description, retry_after if status == 429 else None) for _ in range(times)
        )

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` ``seconds`` late, after carrying them out."""
        self.slow.setdefault(method.lower(), []).extend([seconds] * times)

    def sent(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        """Successful calls, optionally of one method and to one chat."""
        return [
            c
            for c in self.calls
            if c.ok
            and (method is None or c.method == method)
            and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))
        ]

    def attempts(self, method: str) -> list[Call]:
        """All calls of ``method``, failed ones included."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self, condition: Callable[[], bool], timeout_s: float = 5.0, what: str = "condition"
    ) -> None:
        """Wait until ``condition()`` holds."""

        def failure() -> str:
            return f"timed out waiting for {what}; calls: {[(c.method, c.ok) for c in self.calls]}"

        await wait_until(condition, timeout_s, failure)

    async def wait_sent(self, method: str, count: int = 1, chat_id: int | None = None) -> list[Call]:
        """Wait for ``count`` successful calls of ``method`` and return them."""
        await self.wait_for(lambda: len(self.sent(method, chat_id)) >= count, what=f"{count} × {method}")
        return self.sent(method, chat_id)

    # --- the API --------------------------------------------------------------------------------------

    def asgi(self) -> Starlette:
        """The ASGI app."""
        return Starlette(routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])])

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = str(request.path_params["method"])
        params = await _params(request)
        failures = self.failures.get(method.lower())
        if failures:
            failure = failures.pop(0)
            self.calls.append(Call(method, params, ok=False))
            extra = {"parameters": {"retry_after": failure.retry_after}} if failure.retry_after else {}
            return _error(failure.status, failure.description, **extra)
        handler = getattr(self, f"_{method.lower()}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = await handler(params)
        self.calls.append(Call(method, params, ok=True))
        late = self.slow.get(method.lower())
        if late:
            await asyncio.sleep(late.pop(0))
        return JSONResponse({"ok": True, "result": result})

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Dalil", "username": BOT_USERNAME}

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": self._bot_user(),
            **content,
        }

    async def _getme(self, _params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user()

    async def _sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params, text=params["text"])

    async def _sendvenue(self, params: dict[str, Any]) -> dict[str, Any]:
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        venue = {"location": location, "title": params["title"], "address": params["address"]}
        return self._message(params, venue=venue, location=location)

    async def _sendlocation(self, params: dict[str, Any]) -> dict[str, Any]:
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        return self._message(params, location=location)

    async def _sendcontact(self, params: dict[str, Any]) -> dict[str, Any]:
        contact = {"phone_number": params["phone_number"], "first_name": params["first_name"]}
        return self._message(params, contact=contact)

    async def _sendchataction(self, _params: dict[str, Any]) -> bool:
        return True

    async def _answercallbackquery(self, _params: dict[str, Any]) -> bool:
        return True

    async def _setmycommands(self, _params: dict[str, Any]) -> bool:
        return True

    async def _setwebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = params
        return True

    async def _deletewebhook(self, _params: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    async def _getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0))
        self.pending = [u for u in self.pending if u["update_id"] >= offset]
        if not self.pending:
            self._new_updates.clear()
            # Long polling, but never long: tests stop the poller quickly.
            timeout_s = min(float(params.get("timeout", 0)), 0.5)
            try:
                await asyncio.wait_for(self._new_updates.wait(), timeout_s)
            except TimeoutError:
                return []
        return self.pending[: int(params.get("limit", 100))]


def _error(status: int, description: str, **extra: Any) -> JSONResponse:
    body = {"ok": False, "error_code": status, "description": description, **extra}
    return JSONResponse(body, status_code=status)


async def _params(request: Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if content_type.startswith("application/json") and body:
        raw.update(json.loads(body))
        return raw
    if content_type.startswith("application/x-www-form-urlencoded"):
        raw.update(parse_qsl(body.decode(), keep_blank_values=True))
    elif content_type.startswith("multipart/form-data"):
        form = await request.form()
        raw.update({k: v for k, v in form.items() if isinstance(v, str)})
    # Form fields carry structured values (reply_markup, allowed_updates, commands) as JSON text.
    for key, value in raw.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            with suppress(ValueError):
                raw[key] = json.loads(value)
    return raw


@asynccontextmanager
async def serve(fake: FakeTelegram) -> AsyncIterator[str]:
    """Serve ``fake`` on a free loopback port; yields its base URL."""
    async with serve_asgi(fake.asgi()) as url:
        yield url


class Updates:
    """Builds Telegram updates as the Bot API sends them."""

    def __init__(self) -> None:
        self._ids = itertools.count(5000)
        self._message_ids = itertools.count(1)

    def user(self, user_id: int = 4242, lang: str = "ar") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": lang}

    def message(
        self,
        text: str | None = None,
        chat_id: int = 4242,
        user_id: int = 4242,
        lang: str = "ar",
        **content: Any,
    ) -> dict[str, Any]:
        chat = (
            {"id": chat_id, "type": "private", "first_name": "Test"}
            if chat_id > 0
            else {"id": chat_id, "type": "supergroup", "title": "Jeddah friends"}
        )
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(user_id, lang),
            **content,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message.setdefault("entities", []).append(
                    {"type": "bot_command", "offset": 0, "length": len(command)}
                )
        return {"update_id": next(self._ids), "message": message}

    def location(self, lat: float, lon: float, live_period: int | None = None, **kw: Any) -> dict[str, Any]:
        point: dict[str, Any] = {"latitude": lat, "longitude": lon}
        if live_period is not None:
            point["live_period"] = live_period
        return self.message(location=point, **kw)

    def edited_location(self, original: dict[str, Any], lat: float, lon: float) -> dict[str, Any]:
        message = dict(original["message"])
        message["location"] = {**message["location"], "latitude": lat, "longitude": lon}
        message["edit_date"] = int(time.time())
        return {"update_id": next(self._ids), "edited_message": message}

    def callback(
        self, data: str, chat_id: int = 4242, user_id: int = 4242, lang: str = "ar"
    ) -> dict[str, Any]:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Dalil", "username": BOT_USERNAME},
            "text": "…",
        }
        query = {
            "id": str(next(self._ids)),
            "from": self.user(user_id, lang),
            "chat_instance": "ci",
            "data": data,
            "message": message,
        }
        return {"update_id": next(self._ids), "callback_query": query}
