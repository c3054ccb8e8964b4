"""The review-queue store's ask counter: written through by default, buffered in the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from bot.records import Records, metadata


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return create_engine(f"sqlite:///{tmp_path}/records.db")


def test_counts_are_written_through_by_default(engine: Engine) -> None:
    Records(engine).count_ask("al-balad")
    assert Records(engine).ask_counts() == {"al-balad": 1}


def test_buffered_counts_are_written_on_flush_and_read_back_at_once(engine: Engine) -> None:
    records = Records(engine)
    records.buffer_asks(3600)
    for place in ("al-balad", "al-balad", "red-sea-mall"):
        records.count_ask(place)
    assert Records(engine).ask_counts() == {}  # nothing written yet: no database work per answer
    assert records.ask_counts() == {"al-balad": 2, "red-sea-mall": 1}  # its own reader flushes first
    records.count_ask("al-balad")
    records.flush_asks()
    assert Records(engine).ask_counts() == {"al-balad": 3, "red-sea-mall": 1}


def test_a_due_flush_runs_off_the_callers_thread(engine: Engine) -> None:
    records = Records(engine)
    records.buffer_asks(0)
    records.count_ask("al-balad")
    flusher = records._flusher
    assert flusher is not None
    flusher.join(10)
    assert Records(engine).ask_counts() == {"al-balad": 1}


def test_counts_survive_a_failed_write(engine: Engine) -> None:
    records = Records(engine)
    records.buffer_asks(3600)
    records.count_ask("al-balad")
    with engine.begin() as conn:
        conn.execute(text("drop table dalil_place_asks"))
    records.flush_asks()  # refused: kept for the next try
    metadata.create_all(engine)
    records.count_ask("al-balad")
    records.flush_asks()
    assert Records(engine).ask_counts() == {"al-balad": 2}
