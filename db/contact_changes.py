"""Requested changes of an account holder's e-mail or mobile, waiting for the holder."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg

from db.pool import Conn

_COLUMNS = (
    "id, person_id, account_id, field, new_value, requested_by, created_at, expires_at,"
    " confirmed_at, cancelled_at"
)


@dataclass(frozen=True)
class ContactChangeRow:
    id: uuid.UUID
    person_id: uuid.UUID
    account_id: uuid.UUID
    field: str  # EMAIL or MOBILE
    new_value: str | None  # None: remove the contact
    requested_by: uuid.UUID | None
    created_at: dt.datetime
    expires_at: dt.datetime
    confirmed_at: dt.datetime | None
    cancelled_at: dt.datetime | None


def _row(record: asyncpg.Record) -> ContactChangeRow:
    return ContactChangeRow(**dict(record))


async def insert(
    conn: Conn,
    *,
    person_id: uuid.UUID,
    account_id: uuid.UUID,
    field: str,
    new_value: str | None,
    token_hash: bytes,
    requested_by: uuid.UUID,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> ContactChangeRow:
    record = await conn.fetchrow(
        "INSERT INTO contact_changes (person_id, account_id, field, new_value, token_hash,"
        " requested_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        f" RETURNING {_COLUMNS}",
        person_id,
        account_id,
        field,
        new_value,
        token_hash,
        requested_by,
        now,
        expires_at,
    )
    assert record is not None
    return _row(record)


async def for_update(conn: Conn, token_hash: bytes) -> ContactChangeRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM contact_changes WHERE token_hash = $1 FOR UPDATE", token_hash
    )
    return _row(record) if record is not None else None


async def mark_confirmed(conn: Conn, change_id: uuid.UUID, now: dt.datetime) -> None:
    await conn.execute("UPDATE contact_changes SET confirmed_at = $2 WHERE id = $1", change_id, now)


async def cancel(conn: Conn, change_id: uuid.UUID, now: dt.datetime) -> None:
    await conn.execute(
        "UPDATE contact_changes SET cancelled_at = $2"
        " WHERE id = $1 AND confirmed_at IS NULL AND cancelled_at IS NULL",
        change_id,
        now,
    )


async def cancel_open(
    conn: Conn,
    person_id: uuid.UUID,
    field: str,
    now: dt.datetime,
    *,
    requested_by: uuid.UUID | None = None,
) -> int:
    """Cancel the open requests for one field of a person (only ``requested_by``'s when
    given); returns how many."""
    status: str = await conn.execute(
        "UPDATE contact_changes SET cancelled_at = $3"
        " WHERE person_id = $1 AND field = $2 AND confirmed_at IS NULL AND cancelled_at IS NULL"
        " AND ($4::uuid IS NULL OR requested_by = $4)",
        person_id,
        field,
        now,
        requested_by,
    )
    return int(status.split()[-1])


async def open_for_person(
    conn: Conn, person_id: uuid.UUID, now: dt.datetime
) -> list[ContactChangeRow]:
    """Requests still waiting for the holder, oldest first."""
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM contact_changes WHERE person_id = $1"
        " AND confirmed_at IS NULL AND cancelled_at IS NULL AND expires_at > $2"
        " ORDER BY created_at, id",
        person_id,
        now,
    )
    return [_row(r) for r in records]
