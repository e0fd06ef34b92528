"""Revisjon: the coordinator records a revision (who took part, the date, the next date),
`revisionDate` drives reminders, and the plan list can show the plans due."""

from __future__ import annotations

import datetime as dt

from db import plans, revisions
from db.bus import notify_access_changed
from db.plans import PlanView
from db.revisions import RevisionRow
from resolvers import policy, validation
from resolvers.audit_trail import audited
from resolvers.context import Context
from resolvers.errors import bad_input
from resolvers.guard import deny, locked_view, require_section
from resolvers.policy.build import facts


async def record_revision(
    ctx: Context,
    plan_id: str,
    revised_on: dt.date,
    next_revision_date: dt.date | None,
    participant_ids: list[str],
    note: str | None,
) -> tuple[PlanView, RevisionRow]:
    """The plan's coordinator records a revision; the next revision date becomes the plan's
    revisionDate (and its reminders start over)."""
    pid = validation.identifier("planId", plan_id)
    text = validation.text("note", note, max_length=4000)
    today = ctx.today()
    if revised_on > today:
        raise bad_input("revisedOn", "revisedOn cannot be in the future.")
    if next_revision_date is not None and next_revision_date <= revised_on:
        raise bad_input("nextRevisionDate", "nextRevisionDate must come after revisedOn.")
    if len(participant_ids) > 100:
        raise bad_input("participantIds", "At most 100 participants.")
    ids = [validation.identifier("participantIds", p) for p in participant_ids]
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await locked_view(conn, ctx, pid)
        deny(policy.coordinator_denial(facts(view)))
        members = {m.id for m in (await plans.participants_of(conn, [pid]))[pid]}
        if not set(ids) <= members:
            raise bad_input("participantIds", "Each must be a current participant of the plan.")
        assert view.mine is not None
        row = await revisions.insert(
            conn,
            plan_id=pid,
            revised_on=revised_on,
            next_revision_date=next_revision_date,
            participant_ids=sorted(set(ids)),
            note=text,
            recorded_by=view.mine.id,
            now=ctx.now(),
        )
        await plans.update_plan(conn, pid, {"revision_date": next_revision_date}, ctx.now())
        await audited(
            conn,
            ctx,
            "plan.revised",
            target=pid,
            detail={"revision": str(row.id), "next": str(next_revision_date)},
        )
        await notify_access_changed(conn, f"plan:{pid}")
    ctx.reload_loaders()
    view = await ctx.loaders.plan_view_by_id.load(pid) or view
    return view, row


async def plan_revisions(ctx: Context, view: PlanView) -> list[RevisionRow]:
    """Plan.revisions: with the plan group (PARTICIPANTS >= READ), as who took part is."""
    require_section(ctx, view, "participants")
    async with ctx.pool.acquire() as conn:
        return await revisions.of_plan(conn, view.plan.id)
