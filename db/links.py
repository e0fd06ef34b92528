"""Linked plans («fagplaner»): an IP and the plans under it (plan_links, migration 0022)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from db.pool import Conn
from resolvers.policy.facts import OWNER


@dataclass(frozen=True)
class LinkRow:
    upper_plan_id: uuid.UUID  # the IP
    lower_plan_id: uuid.UUID  # an IOP, IUP or stafettlogg under it
    linked_at: dt.datetime


_LINK = "upper_plan_id, lower_plan_id, linked_at"


async def of_plans(conn: Conn, plan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[LinkRow]]:
    """Each plan's links, above and below it, oldest first (both indexed)."""
    records = await conn.fetch(
        f"SELECT {_LINK} FROM plan_links WHERE upper_plan_id = ANY($1)"
        f" UNION ALL SELECT {_LINK} FROM plan_links WHERE lower_plan_id = ANY($1)"
        " ORDER BY linked_at, lower_plan_id",
        list(plan_ids),
    )
    found: dict[uuid.UUID, list[LinkRow]] = {p: [] for p in plan_ids}
    for r in records:
        row = LinkRow(**dict(r))
        for end in (row.upper_plan_id, row.lower_plan_id):
            if end in found and row not in found[end]:
                found[end].append(row)
    return found


async def above(conn: Conn, lower_plan_id: uuid.UUID) -> uuid.UUID | None:
    """The IP the plan is linked under, if any."""
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT upper_plan_id FROM plan_links WHERE lower_plan_id = $1", lower_plan_id
    )
    return found


async def owners(conn: Conn, plan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The person each plan is for (its current OWNER participant)."""
    records = await conn.fetch(
        "SELECT plan_id, person_id FROM participants"
        " WHERE plan_id = ANY($1) AND role = $2 AND left_on IS NULL",
        list(plan_ids),
        OWNER,
    )
    return {r["plan_id"]: r["person_id"] for r in records}


async def link(
    conn: Conn, upper: uuid.UUID, lower: uuid.UUID, now: dt.datetime, by: uuid.UUID
) -> LinkRow | None:
    """Link ``lower`` under ``upper``; None when ``lower`` is already linked under an IP."""
    record = await conn.fetchrow(
        "INSERT INTO plan_links (upper_plan_id, lower_plan_id, linked_at, linked_by)"
        f" VALUES ($1, $2, $3, $4) ON CONFLICT (lower_plan_id) DO NOTHING RETURNING {_LINK}",
        upper,
        lower,
        now,
        by,
    )
    return LinkRow(**dict(record)) if record is not None else None


async def unlink(conn: Conn, upper: uuid.UUID, lower: uuid.UUID) -> bool:
    """Remove the link; the lower plan's goals no longer name goals of the IP."""
    gone = await conn.fetchval(
        "DELETE FROM plan_links WHERE upper_plan_id = $1 AND lower_plan_id = $2"
        " RETURNING lower_plan_id",
        upper,
        lower,
    )
    if gone is None:
        return False
    await conn.execute(
        "UPDATE goals SET serves_goal_id = NULL WHERE plan_id = $1 AND serves_goal_id IS NOT NULL",
        lower,
    )
    return True
