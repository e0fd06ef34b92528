"""Aggregates for reporting tools, computed in SQL with GROUP BY. No personal data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from db.pool import Conn
from db.sql_rule import SqlRule
from resolvers.policy.facts import COORDINATOR


@dataclass(frozen=True)
class PlanCell:
    """The finest cell of the plan reports: plans of one type, status, service unit and
    start month."""

    type: str
    status: str
    service_unit: str | None
    start_month: dt.date  # the first day of the month
    count: int


async def plan_cells_version(conn: Conn) -> int:
    """Moves whenever the plan cells can have changed (migration 0011's triggers)."""
    version: int = await conn.fetchval(
        "SELECT version FROM report_versions WHERE name = 'plan_cells'"
    )
    return version


async def plan_cells(conn: Conn) -> tuple[int, list[PlanCell]]:
    """Every non-empty finest cell, and the version they are of (one statement, one
    snapshot); the reports add them up (resolvers/suppression.py)."""
    records = await conn.fetch(
        "SELECT (SELECT version FROM report_versions WHERE name = 'plan_cells') AS version,"
        " p.type, p.status, u.name AS unit,"
        " date_trunc('month', p.start_date)::date AS month, count(*) AS n"
        " FROM plans p LEFT JOIN service_units u ON u.id = p.service_unit_id"
        " GROUP BY 2, 3, 4, 5"
    )
    version = int(records[0]["version"]) if records else await plan_cells_version(conn)
    cells = [
        PlanCell(str(r["type"]), str(r["status"]), r["unit"], r["month"], int(r["n"]))
        for r in records
    ]
    return version, cells


# A participant's consent, for the cut_off rule (alias pa for the participant, c for the
# consent).
_CUT_OFF_BINDINGS = {
    "mine_id": "pa.id",
    "mine_role": "pa.role",
    "mine_expires_on": "pa.consent_expires_on",
    "consent_expires_on": "c.expires_on",
}


async def consents_expiring(
    conn: Conn, today: dt.date, windows: Sequence[int], *, cut_off: SqlRule
) -> dict[int, int]:
    """For each window: participants of active plans whose consent (as the ``cut_off`` rule
    gives it) runs out within that many days, counting from today."""
    records = await conn.fetch(
        "SELECT w.days, count(e.expires_on) AS n FROM unnest($2::int[]) AS w(days)"
        f" LEFT JOIN (SELECT {cut_off.sql(_CUT_OFF_BINDINGS)} AS expires_on"
        "  FROM participants pa JOIN plans p ON p.id = pa.plan_id"
        "  JOIN consents c ON c.id = p.consent_id"
        "  WHERE p.status = 'ACTIVE' AND pa.left_on IS NULL AND c.revoked_on IS NULL) e"
        " ON e.expires_on BETWEEN $1 AND $1 + w.days"
        " GROUP BY w.days",
        today,
        list(windows),
    )
    return {int(r["days"]): int(r["n"]) for r in records}


CASELOAD_BUCKETS = ((1, 10), (11, 20), (21, 30), (31, 50), (51, None))


async def coordinator_caseload(conn: Conn) -> list[tuple[str, int]]:
    """How many coordinators have how many active plans, in fixed buckets."""
    records = await conn.fetch(
        "SELECT n, count(*) AS coordinators FROM (SELECT pa.person_id, count(*) AS n"
        " FROM participants pa JOIN plans p ON p.id = pa.plan_id"
        f" WHERE pa.role = '{COORDINATOR}' AND pa.left_on IS NULL AND p.status = 'ACTIVE'"
        " GROUP BY pa.person_id) per GROUP BY n"
    )
    buckets = []
    for low, high in CASELOAD_BUCKETS:
        label = f"{low}-{high}" if high else f"{low}+"
        total = sum(
            int(r["coordinators"])
            for r in records
            if r["n"] >= low and (high is None or r["n"] <= high)
        )
        buckets.append((label, total))
    return buckets


async def due_consent_warnings(
    conn: Conn, today: dt.date, thresholds: Sequence[int], *, cut_off: SqlRule
) -> list[dict[str, object]]:
    """Participants whose consent (as the ``cut_off`` rule gives it) runs out within a
    threshold, with their coordinator's contact, not yet warned for that threshold and
    expiry date."""
    records = await conn.fetch(
        "SELECT e.participant_id, t.days AS threshold_days, e.expires_on, e.coordinator_email"
        f" FROM (SELECT pa.id AS participant_id, {cut_off.sql(_CUT_OFF_BINDINGS)} AS expires_on,"
        "  cp.email AS coordinator_email"
        "  FROM participants pa JOIN plans p ON p.id = pa.plan_id AND p.status = 'ACTIVE'"
        "  JOIN consents c ON c.id = p.consent_id AND c.revoked_on IS NULL"
        f"  JOIN participants co ON co.plan_id = p.id AND co.role = '{COORDINATOR}'"
        "   AND co.left_on IS NULL"
        "  JOIN persons cp ON cp.id = co.person_id"
        "  WHERE pa.left_on IS NULL) e"
        " CROSS JOIN unnest($2::int[]) AS t(days)"
        " WHERE e.expires_on BETWEEN $1 AND $1 + t.days"
        " AND NOT EXISTS (SELECT 1 FROM consent_warnings w"
        "  WHERE w.participant_id = e.participant_id AND w.threshold_days = t.days"
        "  AND w.expires_on = e.expires_on)"
        " ORDER BY e.participant_id, t.days",
        today,
        list(thresholds),
    )
    return [dict(r) for r in records]


async def record_warning(
    conn: Conn, participant_id: object, threshold_days: int, expires_on: dt.date, now: dt.datetime
) -> bool:
    inserted = await conn.fetchval(
        "INSERT INTO consent_warnings (participant_id, threshold_days, expires_on, sent_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
        participant_id,
        threshold_days,
        expires_on,
        now,
    )
    return bool(inserted)
