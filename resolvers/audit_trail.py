"""The audit entry of a resolver's write: one line, in the write's transaction.

The actor is the viewer and the time is the request's clock unless the caller says
otherwise (a login, where the actor is the person logging in, not ``ctx.viewer``; a write
that stamps its rows and its entry with one ``now``).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping

from db import audit
from db.pool import Conn
from resolvers.context import Context


class _Actor(enum.Enum):
    VIEWER = "the viewer"


VIEWER = _Actor.VIEWER


async def audited(
    conn: Conn,
    ctx: Context,
    action: str,
    *,
    target: object = None,
    detail: Mapping[str, object] | None = None,
    actor_id: uuid.UUID | _Actor | None = VIEWER,
    at: dt.datetime | None = None,
) -> None:
    """Append ``action`` to the audit log from ``ctx.client_addr``; ``target`` is stored as
    text, dates and ids in ``detail`` as their ISO/hex text."""
    if isinstance(actor_id, _Actor):
        actor_id = ctx.viewer.person_id if ctx.viewer else None
    await audit.record(
        conn,
        at=ctx.now() if at is None else at,
        actor_id=actor_id,
        action=action,
        target=None if target is None else str(target),
        client_addr=ctx.client_addr,
        detail={k: _jsonable(v) for k, v in (detail or {}).items()},
    )


def _jsonable(value: object) -> object:
    if isinstance(value, dt.date | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
