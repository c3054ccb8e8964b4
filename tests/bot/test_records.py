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


def test_the_inbox_dedupes_claims_lapsed_rows_and_prunes_finished_ones(engine: Engine) -> None:
    from datetime import timedelta

    from bot.inbox import Inbox

    inbox = Inbox(engine, lease_s=3600)
    assert inbox.accept("whatsapp", [("w1", "{}"), ("w2", "{}"), ("w1", "{}")]) == {"w1", "w2"}
    assert inbox.accept("whatsapp", [("w1", "{}")]) == set()  # a redelivery is stored once
    assert inbox.accept("telegram", [("w1", "{}")]) == {"w1"}  # ids are per channel
    assert inbox.claim("whatsapp", timedelta(hours=24)) == []  # claimed by the process that took them
    other = Inbox(engine, lease_s=0)  # another process, after the lease
    assert [p.message_id for p in other.claim("whatsapp", timedelta(hours=24))] == ["w1", "w2"]
    other.lease_s = 3600
    assert other.claim("whatsapp", timedelta(hours=24)) == []  # now its own, not twice
    other.finish("whatsapp", "w1")
    assert inbox.status("whatsapp", "w1") == "answered"
    assert inbox.begin_send("whatsapp", "whatsapp:w1:0") is None
    inbox.end_send("whatsapp:w1:0", "sent", "wamid.X")
    assert inbox.begin_send("whatsapp", "whatsapp:w1:0") == "sent"
    assert inbox.begin_send("whatsapp", "whatsapp:w1:1") is None  # never finished: outcome unknown
    assert inbox.begin_send("whatsapp", "whatsapp:w1:1") == "sending"
    assert inbox.prune(keep=timedelta(0)) == 1 + 2  # the answered row, both sends; "new" rows stay
    assert inbox.counts("whatsapp") == {"new": 1}
