"""Ending (avslutte) and archiving (arkivere) plans, archive downloads and print (utskrift)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid

from db import archives, plans
from db.archives import ArchiveRow
from db.bus import notify_access_changed
from db.pool import Conn
from resolvers import pdf, policy, snapshot, validation
from resolvers.audit_trail import audited
from resolvers.context import Context
from resolvers.errors import bad_input, forbidden, not_found
from resolvers.guard import deny, locked_view, visible_plan
from resolvers.messages import visible as message_visible
from resolvers.policy.build import facts, owner_facts


async def archive_snapshot(
    conn: Conn, ctx: Context, plan_id: uuid.UUID, reason: str | None
) -> ArchiveRow:
    """Snapshot the whole plan as it is now: canonical JSON, its SHA-256 and a PDF."""
    doc = await snapshot.build(conn, plan_id)
    data = snapshot.canonical(doc)
    rendered = await asyncio.to_thread(pdf.render, doc, "Arkivert plan")
    row = await archives.insert(
        conn,
        plan_id=plan_id,
        archived_by=ctx.viewer.person_id if ctx.viewer else None,
        reason=reason,
        document=data,
        sha256=hashlib.sha256(data).hexdigest(),
        pdf=rendered,
        now=ctx.now(),
    )
    await audited(
        conn,
        ctx,
        "plan.archived",
        target=plan_id,
        detail={"archive": str(row.id), "sha256": row.sha256},
    )
    return row


async def end_plan(ctx: Context, plan_id: str, end_date: dt.date, reason: str) -> uuid.UUID:
    """End the collaboration: read-only from now on, subscriptions end, and an archive is made."""
    pid = validation.identifier("id", plan_id)
    why = validation.required_text("reason", reason, max_length=2000)
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await locked_view(conn, ctx, pid)
        deny(policy.coordinator_denial(facts(view)))
        if end_date < view.plan.start_date:
            raise bad_input("endDate", "endDate cannot be before the plan's start.")
        await plans.update_plan(
            conn, pid, {"status": "ENDED", "end_date": end_date, "end_reason": why}, ctx.now()
        )
        await archive_snapshot(conn, ctx, pid, f"Avsluttet: {why}")
        await audited(conn, ctx, "plan.ended", target=pid, detail={"endDate": str(end_date)})
        await notify_access_changed(conn, f"plan:{pid}")
    ctx.reload_loaders()
    return pid


async def archive_plan(ctx: Context, plan_id: str) -> ArchiveRow:
    """Archive now (coordinator, also after the plan has ended)."""
    pid = validation.identifier("id", plan_id)
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await locked_view(conn, ctx, pid)
        deny(policy.coordinator_denial(facts(view), allow_ended=True))
        row = await archive_snapshot(conn, ctx, pid, "Arkivert av koordinator")
    ctx.reload_loaders()
    return row


async def plan_archives(ctx: Context, plan_id: uuid.UUID) -> list[ArchiveRow]:
    """Arkiv: the coordinator, the owner and whoever represents the owner."""
    view = await visible_plan(ctx, plan_id)
    deny(policy.archives_read_denial(facts(view), await owner_facts(ctx, view), ctx.today()))
    async with ctx.pool.acquire() as conn:
        return (await archives.of_plans(conn, [plan_id]))[plan_id]


async def archive_file(
    ctx: Context, plan_id: str, archive_id: str, kind: str
) -> tuple[ArchiveRow, bytes]:
    """An archived copy (json or pdf), the plan's whole record: the coordinator, the owner
    and whoever represents the owner. For anyone else the archive does not exist (NOT_FOUND,
    as for an unknown id): they print what they may read now (print.pdf)."""
    view = await visible_plan(ctx, plan_id, "planId")
    owner = await owner_facts(ctx, view)
    if policy.archive_download_denial(facts(view), owner, ctx.today()):
        raise not_found("archive")
    aid = validation.identifier("archiveId", archive_id)
    async with ctx.pool.acquire() as conn:
        found = await archives.content(conn, aid, kind)
    if found is None or found[0].plan_id != view.plan.id:
        raise not_found("archive")
    ctx.record_read(view.plan.id, None, "archive")
    return found


async def print_pdf(ctx: Context, plan_id: str) -> bytes:
    """Utskrift: the plan as PDF with only the sections this viewer may read."""
    view = await visible_plan(ctx, plan_id, "planId")
    plan = facts(view)
    denial = policy.print_denial(plan, ctx.today())
    if denial:
        raise forbidden(denial)
    today = ctx.today()
    readable = {s for s in snapshot.ALL_SECTIONS if policy.section_denial(plan, s, today) is None}
    owner = await owner_facts(ctx, view)
    async with ctx.pool.acquire() as conn:
        doc = await snapshot.build(
            conn,
            view.plan.id,
            sections=readable,
            message_filter=lambda m: message_visible(ctx, view, m),
            with_consent=policy.consent_read_denial(plan, owner, today) is None,
        )
    for section in readable:
        ctx.record_read(view.plan.id, None, section)
    ctx.record_read(view.plan.id, None, "print")
    return await asyncio.to_thread(pdf.render, doc, "Utskrift")
