"""Which database, and how to connect: ``DALIL_DATABASE_URL`` (SQLite file by default, or PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

__all__ = ["DEFAULT_SQLITE", "database_url", "make_engine", "normalize_database_url"]

DEFAULT_SQLITE = Path("var") / "dalil.db"


def database_url(env: Mapping[str, str] | None = None) -> str:
    """``DALIL_DATABASE_URL`` or the default SQLite file ``var/dalil.db``."""
    env = os.environ if env is None else env
    return normalize_database_url(env.get("DALIL_DATABASE_URL", ""))


def normalize_database_url(url: str) -> str:
    """``url`` as SQLAlchemy wants it here; empty means the default SQLite file ``var/dalil.db``."""
    url = url.strip()
    if not url:
        return f"sqlite:///{DEFAULT_SQLITE}"
    # Plain postgresql:// means psycopg 3 here, the driver this project installs.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url``.

    SQLite gets WAL mode, so readers never block on a build, and ``synchronous=NORMAL``: in WAL mode
    that cannot corrupt the file, and a commit no longer waits for an fsync (≈ 5 ms here), which
    otherwise stalls every turn that records something.
    """
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return engine
