"""The notification outbox: rows written with the event, delivered by the worker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from db.pool import Conn

# A notification is retried (with backoff) for three days, then kept in the table, failed:
# a mail server down for a weekend loses nothing.
GIVE_UP_AFTER = dt.timedelta(days=3)


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    attempts: int


async def enqueue(
    conn: Conn,
    *,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    now: dt.datetime,
) -> int:
    outbox_id: int = await conn.fetchval(
        "INSERT INTO outbox (channel, recipient, subject, body, created_at, next_attempt_at)"
        " VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        channel,
        recipient,
        subject,
        body,
        now,
    )
    await conn.execute("SELECT pg_notify('plangruppe_outbox', $1)", str(outbox_id))
    return outbox_id


async def claim_due(conn: Conn, now: dt.datetime, limit: int) -> list[OutgoingMessage]:
    """Lock due rows for this transaction; other workers skip them."""
    records = await conn.fetch(
        "SELECT id, channel, recipient, subject, body, attempts FROM outbox"
        " WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1"
        " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
        now,
        limit,
    )
    return [OutgoingMessage(**dict(r)) for r in records]


async def mark_sent(conn: Conn, outbox_id: int, now: dt.datetime) -> None:
    await conn.execute(
        "UPDATE outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1",
        outbox_id,
        now,
    )


async def mark_failed(
    conn: Conn, outbox_id: int, now: dt.datetime, error: str, retry_at: dt.datetime
) -> None:
    await conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4,"
        " failed_at = CASE WHEN $2::timestamptz - created_at >= $5 THEN $2::timestamptz END"
        " WHERE id = $1",
        outbox_id,
        now,
        error[:500],
        retry_at,
        GIVE_UP_AFTER,
    )
