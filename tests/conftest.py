"""Shared fixtures: real services (PostgreSQL, Redis) when they are up, skipped with a reason when not."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

POSTGRES_URL = os.environ.get("DALIL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DALIL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """A fresh schema named ``<prefix>_<random>`` on the real PostgreSQL server, dropped after.

    Skips the test, with the reason, when the server is not reachable.
    """
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.orig}")
    schema = f"{prefix}_{secrets.token_hex(4)}"
    with admin.begin() as conn:
        conn.execute(text(f'create schema "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """An engine on the real PostgreSQL server, confined to a schema of its own that is dropped after."""
    with postgres_schema("dalil_test") as schema:
        engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
        try:
            yield engine
        finally:
            engine.dispose()
