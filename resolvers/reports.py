"""Aggregate reports for reporting tools: counts only, small cells suppressed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from db import audit, reports
from resolvers import access
from resolvers.context import Context
from resolvers.errors import bad_input, forbidden, unauthenticated

# Any count below this is returned as null (small-cell suppression).
SUPPRESS_BELOW = 5


def suppressed(count: int) -> int | None:
    return count if count >= SUPPRESS_BELOW else None


def require_reporter(ctx: Context) -> None:
    """REPORTER or SYSTEM_ADMIN, or a reporting tool's key."""
    if ctx.api_key is not None:
        roles = ctx.api_key.roles
    elif ctx.viewer is not None:
        roles = ctx.viewer.global_roles
    else:
        raise unauthenticated()
    denial = access.reports_denial(roles)
    if denial:
        raise forbidden(denial)


@dataclass(frozen=True)
class PlanCount:
    type: str | None
    status: str | None
    service_unit: str | None
    start_month: str | None
    count: int | None


async def _audit_use(ctx: Context, what: str) -> None:
    async with ctx.pool.acquire() as conn:
        await audit.record(
            conn,
            at=ctx.now(),
            actor_id=ctx.viewer.person_id if ctx.viewer else None,
            action=f"report.{what}",
            target=f"apikey:{ctx.api_key.key_id}" if ctx.api_key else None,
            client_addr=ctx.client_addr,
        )


async def plan_counts(
    ctx: Context, group_by: list[str], since: dt.date | None, until: dt.date | None
) -> list[PlanCount]:
    require_reporter(ctx)
    if not group_by:
        raise bad_input(
            "groupBy", "Group by at least one of TYPE, STATUS, SERVICE_UNIT, START_MONTH."
        )
    if since and until and until < since:
        raise bad_input("to", "to cannot be before from.")
    keys = list(dict.fromkeys(group_by))
    async with ctx.pool.acquire() as conn:
        rows = await reports.plan_counts(conn, keys, since, until)
    await _audit_use(ctx, "planCounts")
    return [
        PlanCount(
            type=_str(r.get("TYPE")),
            status=_str(r.get("STATUS")),
            service_unit=_str(r.get("SERVICE_UNIT")),
            start_month=_str(r.get("START_MONTH")),
            count=suppressed(int(str(r["count"]))),
        )
        for r in rows
    ]


def _str(value: object) -> str | None:
    return None if value is None else str(value)


async def consents_expiring(ctx: Context, within_days: int) -> int | None:
    require_reporter(ctx)
    if not 0 <= within_days <= 3650:
        raise bad_input("withinDays", "withinDays must be between 0 and 3650.")
    async with ctx.pool.acquire() as conn:
        count = await reports.consents_expiring(conn, ctx.today(), within_days)
    await _audit_use(ctx, "consentsExpiring")
    return suppressed(count)


async def coordinator_caseload(ctx: Context) -> list[tuple[str, int | None]]:
    require_reporter(ctx)
    async with ctx.pool.acquire() as conn:
        buckets = await reports.coordinator_caseload(conn)
    await _audit_use(ctx, "coordinatorCaseload")
    return [(label, suppressed(n)) for label, n in buckets]
