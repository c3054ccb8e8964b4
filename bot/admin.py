"""Hot reload of the knowledge: ``POST /admin/reload`` (bearer ``DALIL_ADMIN_TOKEN``) and ``SIGHUP``.

A reload validates the YAML, rebuilds the index and loads it with a fresh parser in a worker thread
while the old data keeps answering, then swaps both in between two turns. Data with errors is refused
with every ``file:line: field: message``, and nothing changes. Each worker process reloads itself: with
``--workers N``, signal each worker (or send the request N times); the index build is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.app import App
from bot.wiring import BuildRefusedError

__all__ = ["Reloader", "admin_router"]

log = logging.getLogger(__name__)


class Reloader:
    """Runs one reload at a time for an app."""

    def __init__(self, app: App) -> None:
        """Reload ``app``'s knowledge on demand."""
        self.app = app
        self._lock = asyncio.Lock()

    async def reload(self) -> tuple[int, dict[str, Any]]:
        """Rebuild and swap; returns an HTTP status and a JSON body (422 with the errors when refused)."""
        async with self._lock:
            before = self.app.store.info.build_id if self.app.store.info else None
            try:
                store, parser = await asyncio.to_thread(self.app.prepare_reload)
            except BuildRefusedError as exc:
                errors = [str(issue) for issue in exc.result.errors]
                log.warning("kb_reload_refused", extra={"errors": len(errors)})
                return 422, {"reloaded": False, "serving": before, "errors": errors}
            self.app.swap(store, parser)
            info = store.info
            log.info("kb_reloaded", extra={"build_id": info.build_id if info else None})
            return 200, {
                "reloaded": True,
                "serving": info.build_id if info else None,
                "previous": before,
                "places": len(store.places),
            }

    def on_sighup(self) -> Callable[[], Awaitable[None]]:
        """A startup hook that reloads on ``SIGHUP`` (where the platform has it)."""

        async def install() -> None:
            loop = asyncio.get_running_loop()
            tasks: set[asyncio.Task[Any]] = set()

            def reload_soon() -> None:
                task = loop.create_task(self.reload())
                tasks.add(task)  # keep a reference until done
                task.add_done_callback(tasks.discard)

            sighup = getattr(signal, "SIGHUP", None)
            if sighup is None:
                return
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not main thread
                loop.add_signal_handler(sighup, reload_soon)

        return install


def _authorized(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def admin_router(app: App, reloader: Reloader) -> APIRouter:
    """``POST /admin/reload``: 200 reloaded, 422 refused (old data serves), 403 bad or no token."""
    router = APIRouter(tags=["admin"])

    @router.post("/admin/reload", summary="Rebuild the knowledge index from data/ and serve it")
    async def reload(request: Request) -> JSONResponse:
        token = app.settings.admin_token
        if token is None or not token.get_secret_value():
            return JSONResponse({"error": "admin API disabled: set DALIL_ADMIN_TOKEN"}, status_code=403)
        if not _authorized(request, token.get_secret_value()):
            return JSONResponse({"error": "bad admin token"}, status_code=403)
        status, body = await reloader.reload()
        return JSONResponse(body, status_code=status)

    return router
