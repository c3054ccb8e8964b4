"""The durable inbox and outbox of the messaging channels: nothing acknowledged is lost or sent twice.

Inbox: every inbound message (channel, its id, its payload) is stored before the webhook answers 200
(or before Telegram polling advances its offset). A row is ``new`` until it is ``answered`` (the reply
was delivered) or ``parked`` (kept in the undelivered queue for the team). The unique (channel, id)
pair is also the dedupe: a redelivered message is stored once and answered once, across workers and
restarts. A row is *claimed* by the process answering it; a claim older than the lease (its process
died, or the database went away mid-turn) is taken over by the next sweep, so the message is answered
after a restart.

Outbox: every outgoing channel message has a reply id (``<channel>:<message id>:<n>``) recorded before
the request goes out. A replayed message skips what was already sent, and a send whose outcome is
unknown (the process died during the request, or a read timeout after the request was written) is
never repeated blindly: it is parked instead.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, ProgrammingError

__all__ = ["Inbox", "Pending", "SendState"]

log = logging.getLogger(__name__)

metadata = MetaData()
inbox = Table(
    "dalil_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("message_id", String(256), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False, default="new", index=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    Column("claimed_by", String(32)),
    Column("claimed_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    UniqueConstraint("channel", "message_id", name="uq_dalil_inbox_message"),
)
outbox = Table(
    "dalil_outbox",
    metadata,
    Column("reply_id", String(300), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("provider_id", String(256)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

SendState = str
"""``sending`` (recorded, outcome not yet known), ``sent``, ``failed`` (refused: nothing delivered) or
``unknown`` (may have been delivered)."""


@dataclass(frozen=True)
class Pending:
    """An inbox row to answer."""

    channel: str
    message_id: str
    payload: str
    received_at: datetime


def _insert(engine: Engine) -> Any:
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Inbox:
    """The inbox and outbox tables of one database; each method is one short transaction."""

    def __init__(self, engine: Engine, lease_s: float = 30.0) -> None:
        """Use ``engine``'s database (tables created when missing); claims expire after ``lease_s``."""
        self.engine = engine
        self.lease_s = lease_s
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        try:
            metadata.create_all(engine)
        except (IntegrityError, ProgrammingError):  # another worker created them at the same moment
            metadata.create_all(engine)

    # --- inbox ----------------------------------------------------------------------------------------

    def accept(self, channel: str, messages: Sequence[tuple[str, str]]) -> set[str]:
        """Store ``(message id, payload)`` pairs, claimed by this process; returns the ids that were new.

        An id already stored (a redelivery, or another worker got it) is not returned.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the database refused or is unreachable (nothing stored).
        """
        if not messages:
            return set()
        now = datetime.now(UTC)
        rows = [
            {
                "channel": channel,
                "message_id": message_id,
                "payload": payload,
                "status": "new",
                "received_at": now,
                "claimed_by": self.owner,
                "claimed_at": now,
            }
            for message_id, payload in dict(messages).items()
        ]
        statement = (
            _insert(self.engine)(inbox)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["channel", "message_id"])
            .returning(inbox.c.message_id)
        )
        with self.engine.begin() as conn:
            return {str(row[0]) for row in conn.execute(statement)}

    def claim(self, channel: str, window: timedelta, limit: int = 500) -> list[Pending]:
        """Unanswered messages of ``channel`` received within ``window`` whose claim lapsed; now ours.

        Older ones are past the channel's reply window: they are parked (``expired``) instead.
        """
        now = datetime.now(UTC)
        stale = now - timedelta(seconds=self.lease_s)
        with self.engine.begin() as conn:
            conn.execute(
                update(inbox)
                .where(
                    inbox.c.channel == channel, inbox.c.status == "new", inbox.c.received_at < now - window
                )
                .values(status="expired", finished_at=now)
            )
            candidates = conn.execute(
                select(inbox.c.id, inbox.c.message_id, inbox.c.payload, inbox.c.received_at)
                .where(
                    inbox.c.channel == channel,
                    inbox.c.status == "new",
                    (inbox.c.claimed_at.is_(None)) | (inbox.c.claimed_at < stale),
                )
                .order_by(inbox.c.id)
                .limit(limit)
            ).all()
            claimed = []
            for row in candidates:
                taken = conn.execute(
                    update(inbox)
                    .where(
                        inbox.c.id == row.id,
                        inbox.c.status == "new",
                        (inbox.c.claimed_at.is_(None)) | (inbox.c.claimed_at < stale),
                    )
                    .values(claimed_by=self.owner, claimed_at=now)
                ).rowcount
                if taken:
                    claimed.append(Pending(channel, row.message_id, row.payload, _aware(row.received_at)))
        return claimed

    def finish(self, channel: str, message_id: str, status: str = "answered") -> None:
        """Mark a message ``answered`` or ``parked``: it is never replayed."""
        with self.engine.begin() as conn:
            conn.execute(
                update(inbox)
                .where(inbox.c.channel == channel, inbox.c.message_id == message_id)
                .values(status=status, finished_at=datetime.now(UTC))
            )

    def release(self, channel: str, message_ids: Sequence[str]) -> None:
        """Give up this process's claim (e.g. at shutdown), so the next start answers them at once."""
        if not message_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(inbox)
                .where(
                    inbox.c.channel == channel,
                    inbox.c.message_id.in_(list(message_ids)),
                    inbox.c.status == "new",
                    inbox.c.claimed_by == self.owner,
                )
                .values(claimed_by=None, claimed_at=None)
            )

    def status(self, channel: str, message_id: str) -> str | None:
        """A message's inbox status, None when never stored."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(inbox.c.status).where(inbox.c.channel == channel, inbox.c.message_id == message_id)
            ).first()
        return None if row is None else str(row[0])

    def counts(self, channel: str | None = None) -> dict[str, int]:
        """How many inbox rows are in each status."""
        query = select(inbox.c.status)
        if channel is not None:
            query = query.where(inbox.c.channel == channel)
        counted: dict[str, int] = {}
        with self.engine.connect() as conn:
            for (status,) in conn.execute(query):
                counted[status] = counted.get(status, 0) + 1
        return counted

    def prune(self, keep: timedelta = timedelta(days=7)) -> int:
        """Forget finished messages and sends older than ``keep`` (the tables do not grow forever)."""
        before = datetime.now(UTC) - keep
        with self.engine.begin() as conn:
            gone = conn.execute(
                delete(inbox).where(inbox.c.status != "new", inbox.c.received_at < before)
            ).rowcount
            gone += conn.execute(delete(outbox).where(outbox.c.updated_at < before)).rowcount
        return int(gone)

    # --- outbox ---------------------------------------------------------------------------------------

    def begin_send(self, channel: str, reply_id: str) -> SendState | None:
        """Record that ``reply_id`` is about to be sent; returns the earlier state when it was seen before.

        None means: go ahead. ``sent`` means skip it; ``sending`` or ``unknown`` means it may have been
        delivered (never resend blindly); ``failed`` means nothing was delivered, so it may go again.
        """
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            row = conn.execute(select(outbox.c.status).where(outbox.c.reply_id == reply_id)).first()
            if row is None:
                conn.execute(
                    outbox.insert().values(
                        reply_id=reply_id, channel=channel, status="sending", created_at=now, updated_at=now
                    )
                )
                return None
            if row[0] == "failed":
                conn.execute(
                    update(outbox)
                    .where(outbox.c.reply_id == reply_id)
                    .values(status="sending", updated_at=now)
                )
            return str(row[0])

    def end_send(self, reply_id: str, status: SendState, provider_id: str | None = None) -> None:
        """Record a send's outcome (``sent`` with the channel's message id, ``failed`` or ``unknown``)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.reply_id == reply_id)
                .values(status=status, provider_id=provider_id, updated_at=datetime.now(UTC))
            )
