"""planOverview: plan headers for the coordinating unit and local administrators, and the
facts changeCoordinator and account management decide on."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from db.pool import Conn
from resolvers.policy.facts import COORDINATOR, OWNER


@dataclass(frozen=True)
class PlanHeaderRow:
    id: uuid.UUID
    short_name: str
    type: str
    status: str
    revision_date: dt.date | None
    changed_at: dt.datetime
    created_at: dt.datetime
    service_unit_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    owner_first_name: str | None
    owner_last_name: str | None
    coordinator_id: uuid.UUID | None
    coordinator_first_name: str | None
    coordinator_last_name: str | None
    coordinator_active: bool
    consent_expires_on: dt.date | None
    consent_revoked_on: dt.date | None


@dataclass(frozen=True)
class OverviewFilter:
    status: str | None = None
    no_active_coordinator: bool = False
    consent_expired: bool = False
    consent_expiring_within_days: int | None = None
    revision_overdue: bool = False
    inactive_for_days: int | None = None


_HEADER = f"""
SELECT p.id, p.short_name, p.type, p.status, p.revision_date, p.changed_at, p.created_at,
  p.service_unit_id,
  o.person_id AS owner_id, op.first_name AS owner_first_name, op.last_name AS owner_last_name,
  c.person_id AS coordinator_id, cp.first_name AS coordinator_first_name,
  cp.last_name AS coordinator_last_name,
  (c.id IS NOT NULL AND ca.id IS NOT NULL AND ca.deactivated_at IS NULL) AS coordinator_active,
  cs.expires_on AS consent_expires_on, cs.revoked_on AS consent_revoked_on
FROM plans p
LEFT JOIN participants o ON o.plan_id = p.id AND o.role = '{OWNER}' AND o.left_on IS NULL
LEFT JOIN persons op ON op.id = o.person_id
LEFT JOIN participants c ON c.plan_id = p.id AND c.role = '{COORDINATOR}' AND c.left_on IS NULL
LEFT JOIN persons cp ON cp.id = c.person_id
LEFT JOIN accounts ca ON ca.person_id = c.person_id
LEFT JOIN consents cs ON cs.id = p.consent_id
"""


async def headers(
    conn: Conn,
    *,
    unit: uuid.UUID | None,
    whole_municipality: bool,
    where: OverviewFilter,
    today: dt.date,
    now: dt.datetime,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[PlanHeaderRow]:
    """One page of plan headers in creation order: every plan (whole_municipality) or those
    of one service unit, narrowed by the filter; one statement."""
    conditions = ["($1 OR p.service_unit_id = $2)"]
    args: list[object] = [whole_municipality, unit]

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if after is not None:
        conditions.append(f"(p.created_at, p.id) > ({arg(after[0])}, {arg(after[1])})")
    if where.status is not None:
        conditions.append(f"p.status = {arg(where.status)}")
    if where.no_active_coordinator:
        conditions.append(
            "NOT (c.id IS NOT NULL AND ca.id IS NOT NULL AND ca.deactivated_at IS NULL)"
        )
    if where.consent_expired:
        conditions.append(
            f"(cs.id IS NULL OR cs.revoked_on IS NOT NULL OR cs.expires_on < {arg(today)})"
        )
    if where.consent_expiring_within_days is not None:
        first = arg(today)
        last = arg(today + dt.timedelta(days=where.consent_expiring_within_days))
        conditions.append(
            f"(cs.revoked_on IS NULL AND cs.expires_on >= {first} AND cs.expires_on <= {last})"
        )
    if where.revision_overdue:
        conditions.append(f"p.revision_date < {arg(today)}")
    if where.inactive_for_days is not None:
        since = now - dt.timedelta(days=where.inactive_for_days)
        conditions.append(f"p.changed_at < {arg(since)}")
    sql = (
        _HEADER
        + " WHERE "
        + " AND ".join(conditions)
        + f" ORDER BY p.created_at, p.id LIMIT {arg(limit)}"
    )
    records = await conn.fetch(sql, *args)
    return [PlanHeaderRow(**dict(r)) for r in records]


async def header(conn: Conn, plan_id: uuid.UUID) -> PlanHeaderRow | None:
    record = await conn.fetchrow(_HEADER + " WHERE p.id = $1", plan_id)
    return PlanHeaderRow(**dict(record)) if record is not None else None


async def coordinates_all_plans_of(
    conn: Conn, coordinator_id: uuid.UUID, person_id: uuid.UUID, today: dt.date
) -> bool:
    """The person takes part in at least one current plan, and the viewer coordinates
    every current plan the person takes part in."""
    return bool(
        await conn.fetchval(
            "SELECT count(*) > 0 AND bool_and(EXISTS (SELECT 1 FROM participants c"
            f"  WHERE c.plan_id = t.plan_id AND c.person_id = $1 AND c.role = '{COORDINATOR}'"
            "  AND c.left_on IS NULL))"
            " FROM participants t JOIN plans p ON p.id = t.plan_id"
            " WHERE t.person_id = $2 AND (t.left_on IS NULL OR t.left_on > $3)"
            " AND p.status = 'ACTIVE'",
            coordinator_id,
            person_id,
            today,
        )
    )
