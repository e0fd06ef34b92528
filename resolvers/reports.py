"""Aggregate reports for reporting tools: counts only, small cells suppressed so that no
subtraction of two answers reveals one (resolvers/suppression.py)."""

from __future__ import annotations

import datetime as dt

from db import reports, revisions
from db.pool import Conn
from resolvers import policy, suppression
from resolvers.audit_trail import audited
from resolvers.context import Context
from resolvers.errors import bad_input, forbidden, unauthenticated
from resolvers.policy.consent import CUT_OFF


def suppressed(count: int) -> int | None:
    """Below MIN_CELL: null. Only for counts that no allowed query nests (the caseload)."""
    return count if suppression.releasable(count) else None


def require_reporter(ctx: Context) -> None:
    """REPORTER or SYSTEM_ADMIN, or a reporting tool's key."""
    if ctx.api_key is not None:
        roles = ctx.api_key.roles
    elif ctx.viewer is not None:
        roles = ctx.viewer.global_roles
    else:
        raise unauthenticated()
    denial = policy.reports_denial(roles)
    if denial:
        raise forbidden(denial)


async def _audit_use(ctx: Context, what: str) -> None:
    async with ctx.pool.acquire() as conn:
        target = f"apikey:{ctx.api_key.key_id}" if ctx.api_key else None
        await audited(conn, ctx, f"report.{what}", target=target)


# The cube of the plan cells this process last read, by their version: between two changes
# of plans every report asks the same cells, and reading them (a GROUP BY over every plan)
# and building the cube is most of a report's work.
_cube: tuple[int, suppression.PlanCube] | None = None


async def plan_cube(conn: Conn) -> suppression.PlanCube:
    """The cube of the current plan cells: one small read of their version, and the cells
    themselves only when it moved. Nothing stale is answered: the version moves in the same
    transaction as any change of the cells (db/migrations/0011)."""
    global _cube
    if _cube is not None and _cube[0] == await reports.plan_cells_version(conn):
        return _cube[1]
    version, cells = await reports.plan_cells(conn)
    cube = suppression.PlanCube(cells)
    _cube = (version, cube)
    return cube


async def plan_counts(
    ctx: Context, group_by: list[str], since: dt.date | None, until: dt.date | None
) -> list[suppression.Row]:
    """Plans counted by the groups asked for, within whole months; a count that is small, or
    that another allowed query's count would reveal by subtraction, is null."""
    require_reporter(ctx)
    if not group_by:
        raise bad_input(
            "groupBy", "Group by at least one of TYPE, STATUS, SERVICE_UNIT, START_MONTH."
        )
    if since is not None and since.day != 1:
        raise bad_input("from", "from must be the first day of a month (YYYY-MM-01).")
    if until is not None and (until + dt.timedelta(days=1)).day != 1:
        raise bad_input("to", "to must be the last day of a month (e.g. 2026-03-31).")
    if since and until and until < since:
        raise bad_input("to", "to cannot be before from.")
    async with ctx.pool.acquire() as conn:
        cube = await plan_cube(conn)
    await _audit_use(ctx, "planCounts")
    return cube.plan_counts(group_by, cube.month_range(since, until))


async def consents_expiring(ctx: Context, within_days: int) -> int | None:
    """Participants whose consent runs out within one of the fixed windows (days)."""
    require_reporter(ctx)
    if within_days not in suppression.EXPIRY_WINDOWS:
        allowed = ", ".join(map(str, suppression.EXPIRY_WINDOWS))
        raise bad_input("withinDays", f"withinDays must be one of {allowed}.")
    async with ctx.pool.acquire() as conn:
        counts = await reports.consents_expiring(
            conn, ctx.today(), suppression.EXPIRY_WINDOWS, cut_off=CUT_OFF
        )
    await _audit_use(ctx, "consentsExpiring")
    return suppression.released_windows(counts)[within_days]


async def revisions_overdue(ctx: Context) -> int | None:
    """Active plans whose revision date has passed (suppressed below MIN_CELL)."""
    require_reporter(ctx)
    async with ctx.pool.acquire() as conn:
        count = await revisions.overdue_count(conn, ctx.today())
    await _audit_use(ctx, "revisionsOverdue")
    return suppressed(count)


async def coordinator_caseload(ctx: Context) -> list[tuple[str, int | None]]:
    require_reporter(ctx)
    async with ctx.pool.acquire() as conn:
        buckets = await reports.coordinator_caseload(conn)
    await _audit_use(ctx, "coordinatorCaseload")
    return [(label, suppressed(n)) for label, n in buckets]
