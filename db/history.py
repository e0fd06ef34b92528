"""Endringslogg: a plan's changes, read from the audit log (one index: migration 0018)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from db.pool import Conn

# What counts as a change of the plan (reads, visits and messages do not).
ACTIONS = (
    "plan.created",
    "plan.updated",
    "plan.ended",
    "plan.archived",
    "plan.revised",
    "plan.coordinator_changed",
    "plan.content_purged",
    "plan.linked",
    "plan.unlinked",
    "participant.added",
    "participant.updated",
    "participant.removed",
    "participant.role_changed",
    "consent.recorded",
    "consent.revoked",
    "goal.added",
    "goal.updated",
    "goal.closed",
    "activity.added",
    "activity.updated",
    "comment.added",
    "calendar.added",
    "calendar.updated",
    "calendar.cancelled",
    "document.uploaded",
    "document.withdrawn",
)


@dataclass(frozen=True)
class HistoryRow:
    id: int
    at: dt.datetime
    action: str
    target: str | None
    detail: dict[str, Any]
    actor_id: uuid.UUID | None
    actor_first_name: str | None
    actor_last_name: str | None


async def of_plan(
    conn: Conn, plan_id: uuid.UUID, first: int, before: int | None
) -> list[HistoryRow]:
    records = await conn.fetch(
        "SELECT a.id, a.at, a.action, a.target, a.detail, a.actor_id,"
        " p.first_name AS actor_first_name, p.last_name AS actor_last_name"
        " FROM audit_log a LEFT JOIN persons p ON p.id = a.actor_id"
        " WHERE coalesce(a.detail->>'plan', a.target) = $1::text AND a.action = ANY($2::text[])"
        " AND ($3::bigint IS NULL OR a.id < $3) ORDER BY a.id DESC LIMIT $4",
        str(plan_id),
        list(ACTIONS),
        before,
        first,
    )
    found = []
    for r in records:
        values = dict(r)
        detail = values["detail"]
        values["detail"] = detail if isinstance(detail, dict) else {}
        found.append(HistoryRow(**values))
    return found
