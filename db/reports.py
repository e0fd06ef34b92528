"""Aggregates for reporting tools, computed in SQL with GROUP BY. No personal data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from db.pool import Conn

# GROUP BY columns by name; the names come from an enum, never from the client's text.
GROUP_COLUMNS = {
    "TYPE": "p.type",
    "STATUS": "p.status",
    "SERVICE_UNIT": "u.name",
    "START_MONTH": "to_char(p.start_date, 'YYYY-MM')",
}


async def plan_counts(
    conn: Conn, group_by: Sequence[str], since: dt.date | None, until: dt.date | None
) -> list[dict[str, object]]:
    columns = [GROUP_COLUMNS[g] for g in group_by]
    selected = ", ".join(f"{c} AS g{i}" for i, c in enumerate(columns))
    grouping = ", ".join(f"g{i}" for i in range(len(columns)))
    records = await conn.fetch(
        f"SELECT {selected}, count(*) AS n FROM plans p"
        " LEFT JOIN service_units u ON u.id = p.service_unit_id"
        " WHERE ($1::date IS NULL OR p.start_date >= $1)"
        " AND ($2::date IS NULL OR p.start_date <= $2)"
        f" GROUP BY {grouping} ORDER BY {grouping}",
        since,
        until,
    )
    return [
        {**{g: r[f"g{i}"] for i, g in enumerate(group_by)}, "count": int(r["n"])} for r in records
    ]


async def consents_expiring(conn: Conn, today: dt.date, within_days: int) -> int:
    """Participants (not owner or coordinator) of active plans whose consent runs out within
    the days given, counting from today."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM participants pa JOIN plans p ON p.id = pa.plan_id"
        " JOIN consents c ON c.id = p.consent_id"
        " WHERE p.status = 'ACTIVE' AND pa.left_on IS NULL"
        " AND pa.role NOT IN ('OWNER', 'COORDINATOR') AND c.revoked_on IS NULL"
        " AND least(pa.consent_expires_on, c.expires_on) BETWEEN $1 AND $1 + $2::int",
        today,
        within_days,
    )
    return count


CASELOAD_BUCKETS = ((1, 10), (11, 20), (21, 30), (31, 50), (51, None))


async def coordinator_caseload(conn: Conn) -> list[tuple[str, int]]:
    """How many coordinators have how many active plans, in fixed buckets."""
    records = await conn.fetch(
        "SELECT n, count(*) AS coordinators FROM (SELECT pa.person_id, count(*) AS n"
        " FROM participants pa JOIN plans p ON p.id = pa.plan_id"
        " WHERE pa.role = 'COORDINATOR' AND pa.left_on IS NULL AND p.status = 'ACTIVE'"
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
    conn: Conn, today: dt.date, thresholds: Sequence[int]
) -> list[dict[str, object]]:
    """Participants whose consent runs out within a threshold, with their coordinator's
    contact, not yet warned for that threshold and expiry date."""
    records = await conn.fetch(
        "SELECT pa.id AS participant_id, t.days AS threshold_days,"
        " least(pa.consent_expires_on, c.expires_on) AS expires_on,"
        " cp.email AS coordinator_email"
        " FROM participants pa JOIN plans p ON p.id = pa.plan_id AND p.status = 'ACTIVE'"
        " JOIN consents c ON c.id = p.consent_id AND c.revoked_on IS NULL"
        " JOIN participants co ON co.plan_id = p.id AND co.role = 'COORDINATOR'"
        "  AND co.left_on IS NULL"
        " JOIN persons cp ON cp.id = co.person_id"
        " CROSS JOIN unnest($2::int[]) AS t(days)"
        " WHERE pa.left_on IS NULL AND pa.role NOT IN ('OWNER', 'COORDINATOR')"
        " AND least(pa.consent_expires_on, c.expires_on) BETWEEN $1 AND $1 + t.days"
        " AND NOT EXISTS (SELECT 1 FROM consent_warnings w WHERE w.participant_id = pa.id"
        "  AND w.threshold_days = t.days"
        "  AND w.expires_on = least(pa.consent_expires_on, c.expires_on))"
        " ORDER BY pa.id, t.days",
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
