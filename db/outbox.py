"""The notification outbox: rows written with the event, delivered by the worker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from db.pool import Conn

# A notification is retried (with backoff) for three days, then kept in the table, failed:
# a mail server down for a weekend loses nothing.
GIVE_UP_AFTER = dt.timedelta(days=3)

# A secret row (a one-time code or a link token, docs/secrets.md) keeps its body only while it
# may still be delivered: it is cleared when the row is sent, given up or past `expires_at`.
EXPIRED = "expired before delivery"


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    attempts: int
    secret: bool = False
    expires_at: dt.datetime | None = None


async def enqueue(
    conn: Conn,
    *,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    now: dt.datetime,
    secret_expires_at: dt.datetime | None = None,
) -> int:
    """A row to deliver; with ``secret_expires_at`` it is a secret, never sent after that."""
    outbox_id: int = await conn.fetchval(
        "INSERT INTO outbox (channel, recipient, subject, body, created_at, next_attempt_at,"
        " secret, expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6::timestamptz IS NOT NULL, $6)"
        " RETURNING id",
        channel,
        recipient,
        subject,
        body,
        now,
        secret_expires_at,
    )
    await conn.execute("SELECT pg_notify('plangruppe_outbox', $1)", str(outbox_id))
    return outbox_id


async def claim_due(conn: Conn, now: dt.datetime, limit: int) -> list[OutgoingMessage]:
    """Lock due rows for this transaction; other workers skip them. A secret past its
    expiry is never due: forget_secrets gives it up."""
    records = await conn.fetch(
        "SELECT id, channel, recipient, subject, body, attempts, secret, expires_at FROM outbox"
        " WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1"
        " AND (NOT secret OR expires_at > $1)"
        " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
        now,
        limit,
    )
    return [OutgoingMessage(**dict(r)) for r in records]


async def mark_sent(conn: Conn, outbox_id: int, now: dt.datetime) -> None:
    """Delivered; a secret's body is cleared in the same statement."""
    await conn.execute(
        "UPDATE outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL,"
        " body = CASE WHEN secret THEN '' ELSE body END WHERE id = $1",
        outbox_id,
        now,
    )


async def mark_failed(
    conn: Conn, outbox_id: int, now: dt.datetime, error: str, retry_at: dt.datetime
) -> None:
    """A failed try: retried at ``retry_at``, or given up after three days, or (a secret)
    given up at once when it would expire before the retry, its body cleared."""
    await conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4,"
        " failed_at = CASE WHEN $2::timestamptz - created_at >= $5"
        "  OR (secret AND expires_at <= $4) THEN $2::timestamptz END,"
        " body = CASE WHEN secret AND ($2::timestamptz - created_at >= $5 OR expires_at <= $4)"
        "  THEN '' ELSE body END"
        " WHERE id = $1",
        outbox_id,
        now,
        error[:500],
        retry_at,
        GIVE_UP_AFTER,
    )


async def forget_secrets(conn: Conn, now: dt.datetime) -> int:
    """Clear the body of every secret row that is sent, given up or expired (an expired
    undelivered one is given up); rows another worker is sending are left to it."""
    status: str = await conn.execute(
        "WITH done AS (SELECT id FROM outbox WHERE secret AND body <> ''"
        "  AND (sent_at IS NOT NULL OR failed_at IS NOT NULL OR expires_at <= $1)"
        "  FOR UPDATE SKIP LOCKED)"
        " UPDATE outbox o SET body = '',"
        " failed_at = CASE WHEN o.sent_at IS NULL THEN coalesce(o.failed_at, $1) END,"
        " last_error = CASE WHEN o.sent_at IS NULL AND o.failed_at IS NULL THEN $2"
        "  ELSE o.last_error END"
        " FROM done WHERE o.id = done.id",
        now,
        EXPIRED,
    )
    return int(status.split()[-1])


async def pending_secrets_for_update(conn: Conn, *, only_plain: bool) -> list[tuple[int, str]]:
    """(id, body) of secret rows still to be delivered, locked; ``only_plain``: not sealed."""
    records = await conn.fetch(
        "SELECT id, body FROM outbox WHERE secret AND body <> ''"
        " AND sent_at IS NULL AND failed_at IS NULL AND (NOT $1 OR body NOT LIKE 'fernet:%')"
        " ORDER BY id FOR UPDATE",
        only_plain,
    )
    return [(r["id"], r["body"]) for r in records]


async def set_body(conn: Conn, outbox_id: int, body: str) -> None:
    await conn.execute("UPDATE outbox SET body = $2 WHERE id = $1", outbox_id, body)


async def backlog(conn: Conn, now: dt.datetime) -> tuple[int, float]:
    """Messages waiting to be sent, and the age in seconds of the oldest (metrics)."""
    record = await conn.fetchrow(
        "SELECT count(*) AS n, min(created_at) AS oldest FROM outbox"
        " WHERE sent_at IS NULL AND failed_at IS NULL"
    )
    assert record is not None
    oldest = record["oldest"]
    return int(record["n"]), (now - oldest).total_seconds() if oldest else 0.0
