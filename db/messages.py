"""Plan messages (meldinger), their recipients and read state."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

import asyncpg

from db.pool import Conn
from db.sql_rule import MESSAGE_BINDINGS, SqlRule


@dataclass(frozen=True)
class MessageRow:
    id: uuid.UUID
    seq: int
    plan_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    created_at: dt.datetime
    recipient_ids: frozenset[uuid.UUID] | None  # None: the whole plan group
    edited_at: dt.datetime | None = None
    withdrawn_at: dt.datetime | None = None  # then the body is empty
    change_seq: int | None = None  # the latest edit or withdrawal (db/bus.py)
    corrects_id: uuid.UUID | None = None  # the earlier message this one corrects


_SELECT = (
    "SELECT m.id, m.seq, m.plan_id, m.author_id, m.body, m.created_at,"
    " CASE WHEN m.to_all THEN NULL ELSE (SELECT coalesce(array_agg(participant_id), '{}')"
    "  FROM message_recipients WHERE message_id = m.id) END AS recipient_ids,"
    " m.edited_at, m.withdrawn_at, m.change_seq, m.corrects_id"
)


def _row(record: asyncpg.Record) -> MessageRow:
    values = dict(record)
    values.pop("ord", None)
    ids = values["recipient_ids"]
    values["recipient_ids"] = frozenset(ids) if ids is not None else None
    return MessageRow(**values)


async def by_ids(conn: Conn, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, MessageRow]:
    records = await conn.fetch(_SELECT + " FROM messages m WHERE m.id = ANY($1)", list(ids))
    return {r["id"]: _row(r) for r in records}


async def after_seq(conn: Conn, seq: int, limit: int = 1000) -> list[MessageRow]:
    records = await conn.fetch(
        _SELECT + " FROM messages m WHERE m.seq > $1 ORDER BY m.seq LIMIT $2", seq, limit
    )
    return [_row(r) for r in records]


async def last_seq(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM messages"))


async def changed_after(conn: Conn, change_seq: int, limit: int = 1000) -> list[MessageRow]:
    """Messages whose latest change is after ``change_seq`` (the bus's catch-up)."""
    records = await conn.fetch(
        _SELECT + " FROM messages m WHERE m.change_seq > $1 ORDER BY m.change_seq LIMIT $2",
        change_seq,
        limit,
    )
    return [_row(r) for r in records]


async def last_change_seq(conn: Conn) -> int:
    return int(await conn.fetchval("SELECT coalesce(max(change_seq), 0) FROM messages"))


async def lock_plan_reading(conn: Conn, plan_id: uuid.UUID) -> None:
    """Reading (markMessagesRead) and changing a message of one plan wait for each other
    until commit, so a message is never changed after someone read it."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('plangruppe.message_reads:' || $1, 0))",
        str(plan_id),
    )


async def for_change(conn: Conn, message_id: uuid.UUID) -> MessageRow | None:
    """The message, locked until commit (editing or withdrawing it)."""
    record = await conn.fetchrow(
        _SELECT + " FROM messages m WHERE m.id = $1 FOR UPDATE", message_id
    )
    return _row(record) if record is not None else None


async def read_by_others(conn: Conn, row: MessageRow, *, visible: SqlRule) -> bool:
    """Whether anyone but its author has read the message: a read mark at or after it, of a
    participant (now or earlier) whom the message is for (the ``visible`` rule: policy's
    message row filter)."""
    row_filter = visible.sql(MESSAGE_BINDINGS | {"mine_id": "pa.id", "mine_role": "pa.role"})
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM messages m"
        " JOIN message_reads rd ON rd.plan_id = m.plan_id AND rd.read_until >= m.created_at"
        " JOIN participants pa ON pa.plan_id = m.plan_id AND pa.person_id = rd.person_id"
        f" WHERE m.id = $1 AND pa.id <> m.author_id AND {row_filter})",
        row.id,
    )
    return found


async def change(conn: Conn, row: MessageRow, *, body: str | None, now: dt.datetime) -> MessageRow:
    """Edit the message to ``body``, or withdraw it (``body`` None: no text left). The text it
    had is kept in message_versions; listeners are told by id, as for a new message."""
    await conn.execute(
        "INSERT INTO message_versions (message_id, body, replaced_at) VALUES ($1, $2, $3)",
        row.id,
        row.body,
        now,
    )
    record = await conn.fetchrow(
        "UPDATE messages SET body = $2,"
        " edited_at = CASE WHEN $3 THEN edited_at ELSE $4 END,"
        " withdrawn_at = CASE WHEN $3 THEN $4 END,"
        " change_seq = nextval('message_change_seq')"
        " WHERE id = $1 RETURNING change_seq",
        row.id,
        body or "",
        body is None,
        now,
    )
    assert record is not None
    await conn.execute(
        "SELECT pg_notify('plangruppe_message_changes', $1)",
        f"{record['change_seq']}:{row.id}:{row.plan_id}",
    )
    if body is None:
        return replace(row, body="", withdrawn_at=now, change_seq=record["change_seq"])
    return replace(row, body=body, edited_at=now, change_seq=record["change_seq"])


# A page key: (plan, how many, before this (created_at, seq), the reading participant and
# their role in the plan).
PageKey = tuple[uuid.UUID, int, dt.datetime | None, int | None, uuid.UUID, str]


async def pages(
    conn: Conn, keys: Sequence[PageKey], *, visible: SqlRule
) -> dict[PageKey, list[MessageRow]]:
    """Newest first, one statement for every page of the batch, each narrowed to the messages
    the reader may see by the ``visible`` rule (policy's message row filter)."""
    row_filter = visible.sql(
        MESSAGE_BINDINGS | {"mine_id": "k.reader", "mine_role": "k.reader_role"}
    )
    records = await conn.fetch(
        "SELECT k.ord, page.* FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::bigint[],"
        "  $5::uuid[], $6::text[])"
        "  WITH ORDINALITY AS k(plan_id, n, before_at, before_seq, reader, reader_role, ord)"
        f" CROSS JOIN LATERAL ({_SELECT} FROM messages m WHERE m.plan_id = k.plan_id"
        "  AND (k.before_at IS NULL OR (m.created_at, m.seq) < (k.before_at, k.before_seq))"
        f"  AND {row_filter}"
        "  ORDER BY m.created_at DESC, m.seq DESC LIMIT k.n) page",
        *(list(column) for column in zip(*keys, strict=True)),
    )
    found: dict[PageKey, list[MessageRow]] = {k: [] for k in keys}
    for r in records:
        found[keys[r["ord"] - 1]].append(_row(r))
    return found


async def insert(
    conn: Conn,
    *,
    plan_id: uuid.UUID,
    author_id: uuid.UUID,
    body: str,
    recipient_ids: Sequence[uuid.UUID] | None,
    now: dt.datetime,
    corrects_id: uuid.UUID | None = None,
) -> MessageRow:
    record = await conn.fetchrow(
        "INSERT INTO messages (plan_id, author_id, body, created_at, to_all, corrects_id)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, seq",
        plan_id,
        author_id,
        body,
        now,
        recipient_ids is None,
        corrects_id,
    )
    assert record is not None
    if recipient_ids is not None:
        await conn.executemany(
            "INSERT INTO message_recipients (message_id, participant_id) VALUES ($1, $2)",
            [(record["id"], r) for r in recipient_ids],
        )
    # Ids only: a listener loads the message itself, under its own access checks.
    await conn.execute(
        "SELECT pg_notify('plangruppe_messages', $1)", f"{record['seq']}:{record['id']}:{plan_id}"
    )
    return MessageRow(
        record["id"],
        record["seq"],
        plan_id,
        author_id,
        body,
        now,
        frozenset(recipient_ids) if recipient_ids is not None else None,
        corrects_id=corrects_id,
    )


async def read_marks(
    conn: Conn, viewer_id: uuid.UUID, plan_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dt.datetime]:
    records = await conn.fetch(
        "SELECT plan_id, read_until FROM message_reads WHERE person_id = $1 AND plan_id = ANY($2)",
        viewer_id,
        list(plan_ids),
    )
    return {r["plan_id"]: r["read_until"] for r in records}


async def mark_read(
    conn: Conn, plan_id: uuid.UUID, person_id: uuid.UUID, until: dt.datetime
) -> dt.datetime | None:
    """Move the read mark forward; returns the mark before."""
    await lock_plan_reading(conn, plan_id)
    before: dt.datetime | None = await conn.fetchval(
        "SELECT read_until FROM message_reads WHERE plan_id = $1 AND person_id = $2 FOR UPDATE",
        plan_id,
        person_id,
    )
    await conn.execute(
        "INSERT INTO message_reads (plan_id, person_id, read_until) VALUES ($1, $2, $3)"
        " ON CONFLICT (plan_id, person_id)"
        " DO UPDATE SET read_until = greatest(message_reads.read_until, EXCLUDED.read_until)",
        plan_id,
        person_id,
        until,
    )
    return before


async def since(
    conn: Conn, plan_id: uuid.UUID, after: dt.datetime | None, until: dt.datetime
) -> list[MessageRow]:
    records = await conn.fetch(
        _SELECT + " FROM messages m WHERE m.plan_id = $1"
        " AND ($2::timestamptz IS NULL OR m.created_at > $2) AND m.created_at <= $3",
        plan_id,
        after,
        until,
    )
    return [_row(r) for r in records]
