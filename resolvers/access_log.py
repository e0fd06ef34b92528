"""Innsyn i logg: the owner can see who read their plans and their data, and whoever
represents the owner sees the reads of the plans they represent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from db import access_log, plans
from db.access_log import LogRow
from db.persons import PersonRow
from resolvers import policy
from resolvers.context import Context
from resolvers.errors import bad_input, unauthenticated
from resolvers.guard import Admitted, admit_person
from resolvers.policy.build import facts, owner_facts
from resolvers.policy.facts import COORDINATOR, OWNER

MAX_PAGE = 100


async def flush(ctx: Context) -> None:
    """Write this request's reads, one row per viewer × plan × section (or person field)."""
    if not ctx.reads or ctx.viewer is None:
        return
    reads, ctx.reads = ctx.reads, set()
    async with ctx.pool.acquire() as conn:
        await access_log.record(
            conn,
            sorted(reads, key=str),
            viewer_id=ctx.viewer.person_id,
            at=ctx.now(),
            client_addr=ctx.client_addr,
        )


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    has_next: bool


async def my_access_log(ctx: Context, first: int, after: str | None) -> LogPage:
    """Reads of my plans and my data by others, newest first. Reading it is logged too."""
    viewer = ctx.viewer
    if viewer is None:
        raise unauthenticated()
    if not 0 <= first <= MAX_PAGE:
        raise bad_input("first", f"first must be between 0 and {MAX_PAGE}.")
    before = None
    if after is not None:
        if not after.isdigit():
            raise bad_input("after", "after is not a cursor from this list.")
        before = int(after)
    represented = await represented_plans(ctx)
    async with ctx.pool.acquire() as conn:
        rows = await access_log.about(conn, viewer.person_id, first + 1, before, represented)
    ctx.record_read(None, viewer.person_id, "access_log")
    return LogPage(rows[:first], len(rows) > first)


async def represented_plans(ctx: Context) -> list[uuid.UUID]:
    """The plans whose owner the viewer represents today (policy.represents_owner: a verge,
    or a parent while the owner is under 16): their reads are in the viewer's log too."""
    viewer = ctx.viewer
    assert viewer is not None
    async with ctx.pool.acquire() as conn:
        mine = await plans.views_taking_part(conn, viewer.person_id)
    found = []
    for plan_id, view in sorted(mine.items()):
        if view.mine is None or view.mine.role in (OWNER, COORDINATOR):
            continue
        if policy.represents_owner(facts(view).mine, await owner_facts(ctx, view), ctx.today()):
            found.append(plan_id)
    return found


async def entry_viewer(ctx: Context, row: LogRow) -> Admitted[PersonRow]:
    """AccessLogEntry.viewer: who read, in my own log."""
    person = await ctx.loaders.person_by_id.load(row.viewer_id)
    assert person is not None
    return admit_person(ctx, person)
