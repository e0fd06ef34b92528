"""Plan archives (arkiv): immutable snapshots, JSON and PDF."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from db.pool import Conn


@dataclass(frozen=True)
class ArchiveRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    archived_at: dt.datetime
    sha256: str
    reason: str | None


_COLUMNS = "id, plan_id, archived_at, sha256, reason"


async def insert(
    conn: Conn,
    *,
    plan_id: uuid.UUID,
    archived_by: uuid.UUID | None,
    reason: str | None,
    document: bytes,
    sha256: str,
    pdf: bytes,
    now: dt.datetime,
) -> ArchiveRow:
    record = await conn.fetchrow(
        "INSERT INTO plan_archives"
        " (plan_id, archived_at, archived_by, reason, document, sha256, pdf)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
        plan_id,
        now,
        archived_by,
        reason,
        document,
        sha256,
        pdf,
    )
    assert record is not None
    await conn.execute("UPDATE plans SET last_archived_at = $2 WHERE id = $1", plan_id, now)
    return ArchiveRow(**dict(record))


async def of_plans(conn: Conn, plan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ArchiveRow]]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM plan_archives WHERE plan_id = ANY($1) ORDER BY archived_at, id",
        list(plan_ids),
    )
    found: dict[uuid.UUID, list[ArchiveRow]] = {p: [] for p in plan_ids}
    for r in records:
        found[r["plan_id"]].append(ArchiveRow(**dict(r)))
    return found


async def content(conn: Conn, archive_id: uuid.UUID, kind: str) -> tuple[ArchiveRow, bytes] | None:
    column = {"json": "document", "pdf": "pdf"}[kind]
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS}, {column} AS data FROM plan_archives WHERE id = $1", archive_id
    )
    if record is None:
        return None
    values = dict(record)
    data = values.pop("data")
    return ArchiveRow(**values), bytes(data)


async def due_for_archive(conn: Conn, before: dt.datetime, limit: int) -> list[uuid.UUID]:
    """Plans the archive routine owes a snapshot, locked for this transaction (another
    process skips them): active plans not archived since ``before``, and ended plans never
    archived since they ended."""
    records = await conn.fetch(
        "SELECT id FROM plans WHERE (status = 'ACTIVE' AND (last_archived_at IS NULL"
        " OR last_archived_at < $1))"
        " OR (status = 'ENDED' AND (last_archived_at IS NULL OR last_archived_at < changed_at))"
        " ORDER BY last_archived_at NULLS FIRST, id LIMIT $2 FOR UPDATE SKIP LOCKED",
        before,
        limit,
    )
    return [r["id"] for r in records]
