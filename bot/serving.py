"""``dalil serve``: checks before the workers start, their logging (redacted) and shared metrics.

A database that does not answer stops the start at once with one line naming ``DALIL_DATABASE_URL``
(password hidden) and exit code 1, not a traceback. With ``--workers N`` above 1, a fresh
``PROMETHEUS_MULTIPROC_DIR`` is made (unless one is given) so ``/metrics`` sums every worker.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.settings import Settings

__all__ = ["database_problem", "log_config", "serve"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3


def database_problem(url: str) -> str | None:
    """None when the database at ``url`` answers; else the one line to print."""
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        engine = create_engine(url, connect_args=connect_args)
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        finally:
            engine.dispose()
    except Exception:
        try:
            shown = make_url(url).render_as_string(hide_password=True)
        except Exception:
            shown = "(an unreadable URL)"
        return f"dalil: cannot reach the database at {shown} (DALIL_DATABASE_URL)"
    return None


def log_config(level: str) -> dict[str, Any]:
    """Uvicorn's logging, plus our loggers on the root, every handler redacting secrets and phones."""
    import uvicorn.config

    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "bot.logs.Redact"}}
    config["formatters"]["plain"] = {"format": "%(levelname)s %(name)s: %(message)s"}
    config["handlers"]["plain"] = {
        "formatter": "plain",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["root"] = {"handlers": ["plain"], "level": level}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        config["loggers"][name]["level"] = level
    return config


def _metrics_dir(workers: int) -> None:
    if workers <= 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="dalil-metrics-"))
    if given and folder.is_dir():
        shutil.rmtree(folder)  # counts of an earlier run must not be added to this one's
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run the HTTP app with uvicorn; makes sure the index and model exist before workers start."""
    import uvicorn

    from bot.inbox import Inbox
    from bot.records import Records
    from bot.wiring import KnowledgeService, make_parser

    problem = database_problem(settings.database_url)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    knowledge = KnowledgeService(settings)
    store = knowledge.store()
    make_parser(settings, store)  # trains the model once here, not in every worker
    # The queues' tables too, so workers starting together do not race to create them.
    Records(knowledge.engine)
    Inbox(knowledge.engine)
    knowledge.engine.dispose()
    _metrics_dir(args.workers)
    uvicorn.run(
        "bot.http:factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        log_config=log_config(settings.log_level),
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        # A worker loads the index and the model before it answers the supervisor's pings; on a busy
        # machine that takes longer than uvicorn's 5 s, and it would be killed and restarted forever.
        timeout_worker_healthcheck=60,
    )
    return 0
