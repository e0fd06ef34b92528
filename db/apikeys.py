"""API keys for reporting tools: shown once, stored hashed."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from db.pool import Conn


@dataclass(frozen=True)
class ApiKeyRow:
    id: uuid.UUID
    name: str
    roles: list[str]
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


_COLUMNS = "id, name, roles, created_at, last_used_at, revoked_at"


async def insert(
    conn: Conn,
    *,
    name: str,
    roles: list[str],
    secret_hash: bytes,
    created_by: uuid.UUID,
    now: dt.datetime,
) -> ApiKeyRow:
    record = await conn.fetchrow(
        "INSERT INTO api_keys (name, roles, secret_hash, created_at, created_by)"
        f" VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}",
        name,
        roles,
        secret_hash,
        now,
        created_by,
    )
    assert record is not None
    return ApiKeyRow(**dict(record))


async def use(conn: Conn, secret_hash: bytes, now: dt.datetime) -> ApiKeyRow | None:
    """The live key behind a secret, marked as used now; None when unknown or revoked."""
    record = await conn.fetchrow(
        f"UPDATE api_keys SET last_used_at = $2 WHERE secret_hash = $1 AND revoked_at IS NULL"
        f" RETURNING {_COLUMNS}",
        secret_hash,
        now,
    )
    return ApiKeyRow(**dict(record)) if record else None


async def revoke(conn: Conn, key_id: uuid.UUID, now: dt.datetime) -> ApiKeyRow | None:
    record = await conn.fetchrow(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1"
        f" RETURNING {_COLUMNS}",
        key_id,
        now,
    )
    return ApiKeyRow(**dict(record)) if record else None
