"""Idempotency keys: a retried request with the same key gets the first answer."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from db.pool import Conn


@dataclass(frozen=True)
class Claim:
    """new: go ahead; replay: answer ``response``; mismatch: the key was used for another
    request; pending: the first request is still running."""

    outcome: str
    response: str | None = None


async def claim(
    conn: Conn, person_id: uuid.UUID, key: str, request_hash: str, now: dt.datetime
) -> Claim:
    inserted = await conn.fetchval(
        "INSERT INTO idempotency_keys (person_id, key, request_hash, created_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
        person_id,
        key,
        request_hash,
        now,
    )
    if inserted:
        return Claim("new")
    record = await conn.fetchrow(
        "SELECT request_hash, response FROM idempotency_keys WHERE person_id = $1 AND key = $2",
        person_id,
        key,
    )
    assert record is not None
    if record["request_hash"] != request_hash:
        return Claim("mismatch")
    if record["response"] is None:
        return Claim("pending")
    return Claim("replay", record["response"])


async def store(conn: Conn, person_id: uuid.UUID, key: str, response: str) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET response = $3 WHERE person_id = $1 AND key = $2",
        person_id,
        key,
        response,
    )


async def release(conn: Conn, person_id: uuid.UUID, key: str) -> None:
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE person_id = $1 AND key = $2 AND response IS NULL",
        person_id,
        key,
    )
