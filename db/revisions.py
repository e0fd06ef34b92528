"""Revisjon (revidering) of plans: recorded revisions, and the reminders before the revision
date (30 and 7 days before, and on the day; each once)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from db.pool import Conn
from resolvers.policy.facts import COORDINATOR

THRESHOLDS = (30, 7, 0)


@dataclass(frozen=True)
class RevisionRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    revised_on: dt.date
    next_revision_date: dt.date | None
    participant_ids: list[uuid.UUID]
    note: str | None
    recorded_by: uuid.UUID
    recorded_at: dt.datetime


_COLUMNS = (
    "id, plan_id, revised_on, next_revision_date, participant_ids, note, recorded_by, recorded_at"
)


async def insert(
    conn: Conn,
    *,
    plan_id: uuid.UUID,
    revised_on: dt.date,
    next_revision_date: dt.date | None,
    participant_ids: Sequence[uuid.UUID],
    note: str | None,
    recorded_by: uuid.UUID,
    now: dt.datetime,
) -> RevisionRow:
    record = await conn.fetchrow(
        "INSERT INTO revisions (plan_id, revised_on, next_revision_date, participant_ids, note,"
        f" recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
        plan_id,
        revised_on,
        next_revision_date,
        list(participant_ids),
        note,
        recorded_by,
        now,
    )
    assert record is not None
    return RevisionRow(**dict(record))


async def of_plan(conn: Conn, plan_id: uuid.UUID) -> list[RevisionRow]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM revisions WHERE plan_id = $1 ORDER BY revised_on DESC, id",
        plan_id,
    )
    return [RevisionRow(**dict(r)) for r in records]


async def claim_reminders(
    conn: Conn, today: dt.date, now: dt.datetime
) -> list[tuple[uuid.UUID, int, str]]:
    """The reminders due today that no process has sent: (plan, days before, coordinator's
    e-mail), one per plan (the nearest threshold when several fall due at once); every due
    threshold is recorded, so each goes once whatever runs the job, and when."""
    records = await conn.fetch(
        "WITH due AS ("
        " SELECT p.id AS plan_id, p.revision_date, t.days"
        " FROM plans p CROSS JOIN unnest($2::int[]) AS t(days)"
        " WHERE p.status = 'ACTIVE' AND p.revision_date IS NOT NULL"
        "  AND p.revision_date - t.days <= $1 AND p.revision_date >= $1),"
        " claimed AS (INSERT INTO revision_reminders (plan_id, revision_date, threshold_days,"
        "  sent_at) SELECT plan_id, revision_date, days, $3 FROM due"
        "  ON CONFLICT DO NOTHING RETURNING plan_id, threshold_days, revision_date)"
        " SELECT DISTINCT ON (c.plan_id) c.plan_id, c.revision_date - $1 AS days_left,"
        "  pe.email FROM claimed c"
        f" JOIN participants k ON k.plan_id = c.plan_id AND k.role = '{COORDINATOR}'"
        "  AND k.left_on IS NULL"
        " JOIN persons pe ON pe.id = k.person_id"
        " ORDER BY c.plan_id, c.threshold_days",
        today,
        list(THRESHOLDS),
        now,
    )
    return [(r["plan_id"], int(r["days_left"]), r["email"]) for r in records]


async def overdue_count(conn: Conn, today: dt.date) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM plans WHERE status = 'ACTIVE' AND revision_date < $1", today
    )
    return count
