"""The HTTP app: ``/model/parse``, channel webhooks, ``/healthz``, ``/readyz``, ``/metrics`` and OpenAPI docs.

One ASGI app per process; ``create_http_app`` takes a built :class:`bot.app.App` so tests can make their
own. Bad requests get a 4xx with a reason, never a 5xx.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text as sql

from bot.admin import Reloader, admin_router
from bot.app import App, build_app, load_channel
from bot.settings import Settings
from nlu.types import NluUnavailableError, parse_async

__all__ = ["create_http_app", "factory"]

log = logging.getLogger(__name__)

ASK_FLUSH_S = 5.0


class ParseRequest(BaseModel):
    """Rasa's ``/model/parse`` request."""

    model_config = ConfigDict(extra="allow")
    text: str = Field(max_length=100_000)
    message_id: str | None = None


def _bearer(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def create_http_app(app: App, channels: Sequence[str] = ("rest", "telegram", "whatsapp")) -> FastAPI:
    """The ASGI app serving ``app`` with the named channels' webhooks."""
    api = FastAPI(
        title="Dalil",
        description="Dalil (دليل), the Jeddah city-guide chatbot: NLU parse, REST channel, webhooks.",
        version="0.1.0",
    )
    api.state.dalil = app

    async def flush_counts() -> None:
        await asyncio.to_thread(app.records.flush_asks)

    async def prune_inbox() -> None:
        try:
            await asyncio.to_thread(app.inbox.prune)
        except Exception:  # the channels report an unreachable database themselves
            log.warning("inbox_not_pruned", exc_info=True)

    reloader = Reloader(app)
    api.include_router(admin_router(app, reloader))
    api.router.on_startup.append(reloader.on_sighup())
    api.router.on_startup.append(prune_inbox)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()]
        return JSONResponse({"error": "invalid request", "details": errors}, status_code=422)

    @api.post(
        "/model/parse",
        tags=["nlu"],
        summary="Parse a message (Rasa shape, plus lang)",
        response_model=dict[str, Any],
        response_class=JSONResponse,
    )
    async def parse(body: ParseRequest) -> Response:
        app.metrics.parses.inc()
        # Off the event loop: a parse is model inference, or a call to a Rasa server, and either may be
        # slow; every other conversation of this process waits while the loop is blocked.
        try:
            parsed = await parse_async(app.parser, body.text)
        except NluUnavailableError:
            log.warning("nlu_unavailable", exc_info=True)
            app.metrics.nlu_failures.labels("model_parse").inc()
            return JSONResponse(
                {"error": "the NLU backend is not answering; try again"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return JSONResponse(parsed.to_dict())

    @api.get("/healthz", tags=["ops"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", tags=["ops"], summary="Knowledge, NLU and services are ready")
    async def readyz() -> JSONResponse:
        checks = {"knowledge": bool(app.store.places), "nlu": app.parser is not None}
        try:

            def ping_db() -> None:
                with app.knowledge.engine.connect() as conn:
                    conn.execute(sql("select 1"))

            await asyncio.to_thread(ping_db)
            checks["database"] = True
        except Exception:
            checks["database"] = False
        checks["state"] = await app.states.ping()
        # Without Redis, state lives in this process: turns are still answered, so still ready.
        degraded = [] if checks["state"] else ["state"]
        ok = all(value for name, value in checks.items() if name != "state")
        status = "degraded" if ok and degraded else "ready" if ok else "not_ready"
        body = {"ready": ok, "status": status, "degraded": degraded, "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    @api.get("/metrics", tags=["ops"], summary="Prometheus metrics (bearer DALIL_ADMIN_TOKEN when set)")
    async def metrics(request: Request) -> Response:
        token = app.settings.admin_token
        if token is not None and token.get_secret_value() and not _bearer(request, token.get_secret_value()):
            return JSONResponse({"error": "bad or missing bearer token"}, status_code=401)
        return PlainTextResponse(app.metrics.exposition().decode(), media_type=CONTENT_TYPE_LATEST)

    api.state.channels = {}
    for name in channels:
        try:
            channel = load_channel(name)(app)
        except ImportError:
            log.info("channel_unavailable", extra={"channel": name})
            continue
        api.state.channels[name] = channel
        api.include_router(channel.router())
        if hasattr(channel, "startup"):
            api.router.on_startup.append(channel.startup)
        if hasattr(channel, "shutdown"):
            api.router.on_shutdown.append(channel.shutdown)
    api.router.on_shutdown.append(flush_counts)  # last: after the channels answered what they had
    return api


def factory() -> FastAPI:
    """For ``uvicorn --factory bot.http:factory``: settings from config.yml and the environment.

    Questions about places are counted in memory and written every few seconds off the event loop
    (and at shutdown), instead of one database write per answer on it.
    """
    app = build_app(Settings.load())
    app.records.buffer_asks(ASK_FLUSH_S)
    return create_http_app(app)
