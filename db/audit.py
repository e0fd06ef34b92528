"""The append-only audit log: who did what, when (UTC) and from where."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping

from db.pool import Conn


async def record(
    conn: Conn,
    *,
    at: dt.datetime,
    actor_id: uuid.UUID | None,
    action: str,
    target: str | None = None,
    client_addr: str | None = None,
    detail: Mapping[str, object] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (at, actor_id, action, target, client_addr, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        at,
        actor_id,
        action,
        target,
        client_addr,
        dict(detail or {}),
    )
