"""Plan content: goals (hovedmål/delmål), activities (tiltak), comments, calendar, documents.

READ on a section to see it, WRITE to add or change; an ended plan is read-only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass

from db import content, plans
from db.content import ActivityRow, CalendarRow, CommentRow, DocumentRow, GoalRow
from db.plans import ParticipantRow, PlanView
from db.pool import Conn
from resolvers import linked_plans, notify, policy, validation
from resolvers.audit_trail import audited
from resolvers.context import OSLO, Context
from resolvers.errors import bad_input, forbidden, not_found
from resolvers.guard import (
    Admitted,
    admit,
    admit_activities,
    admit_calendar,
    admit_comments,
    admit_documents,
    admit_goals,
    require_section,
    require_viewer,
    section_of,
    view_of,
    visible_plan,
    writable,
    writable_content,
)
from resolvers.plans import named_participant
from resolvers.policy.build import facts

GOAL_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "ACHIEVED", "CANCELLED")
ACTIVITY_STATUSES = ("PLANNED", "IN_PROGRESS", "DONE", "CANCELLED")
MAX_DOCUMENT = 20 * 1024 * 1024
ALLOWED_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/plain",
)


# --- reading -----------------------------------------------------------------------------


async def goals(ctx: Context, view: PlanView) -> list[Admitted[GoalRow]]:
    """Top-level goals (hovedmål); GOALS >= READ."""
    require_section(ctx, view, "goals")
    every = await ctx.loaders.goals_by_plan.load(view.plan.id) or []
    return admit_goals(ctx, view, [g for g in every if g.parent_id is None])


# Every field below that returns plan content decides for itself, by the content's own
# section, whatever path reached it (Activity.goal once returned goals to GOALS NONE), and
# hands the schema only rows a guard admitted. The section is checked (and the read logged)
# before anything is loaded; the guard applies the rule again to what was loaded.


async def _section(ctx: Context, plan_id: uuid.UUID, section: str) -> PlanView:
    view = await view_of(ctx, plan_id)
    require_section(ctx, view, section)
    return view


async def sub_goals(ctx: Context, goal: GoalRow) -> list[Admitted[GoalRow]]:
    """Delmål: GOALS >= READ."""
    view = await _section(ctx, goal.plan_id, "goals")
    every = await ctx.loaders.goals_by_plan.load(goal.plan_id) or []
    return admit_goals(ctx, view, [g for g in every if g.parent_id == goal.id])


async def parent_goal(ctx: Context, goal: GoalRow) -> Admitted[GoalRow] | None:
    """The hovedmål of a delmål: GOALS >= READ."""
    if goal.parent_id is None:
        return None
    view = await _section(ctx, goal.plan_id, "goals")
    parent = await ctx.loaders.goal_by_id.load(goal.parent_id)
    return admit(ctx, view, parent) if parent else None


async def goal_responsible(ctx: Context, goal: GoalRow) -> Admitted[ParticipantRow] | None:
    """Who is responsible for a goal: seen with the goal (GOALS >= READ)."""
    if goal.responsible_id is None:
        return None
    await _section(ctx, goal.plan_id, "goals")
    return await named_participant(ctx, goal.responsible_id)


async def goal_activities(ctx: Context, goal: GoalRow) -> list[Admitted[ActivityRow]]:
    """A goal's activities (tiltak): ACTIVITIES >= READ."""
    view = await _section(ctx, goal.plan_id, "activities")
    return admit_activities(ctx, view, await ctx.loaders.activities_by_goal.load(goal.id) or [])


async def goal_comments(ctx: Context, goal: GoalRow) -> list[Admitted[CommentRow]]:
    view = await _section(ctx, goal.plan_id, "goals")
    return admit_comments(ctx, view, goal, await ctx.loaders.comments_by_goal.load(goal.id) or [])


async def activity_comments(ctx: Context, activity: ActivityRow) -> list[Admitted[CommentRow]]:
    view = await _section(ctx, activity.plan_id, "activities")
    rows = await ctx.loaders.comments_by_activity.load(activity.id) or []
    return admit_comments(ctx, view, activity, rows)


async def activity_goal(ctx: Context, activity: ActivityRow) -> Admitted[GoalRow]:
    """The goal an activity serves: GOALS >= READ (Activity.goal is non-null, so a denial
    nulls the activity too)."""
    view = await _section(ctx, activity.plan_id, "goals")
    goal = await ctx.loaders.goal_by_id.load(activity.goal_id)
    assert goal is not None
    return admit(ctx, view, goal)


async def activity_responsible(
    ctx: Context, activity: ActivityRow
) -> Admitted[ParticipantRow] | None:
    """Who is responsible for an activity: seen with it (ACTIVITIES >= READ)."""
    if activity.responsible_id is None:
        return None
    await _section(ctx, activity.plan_id, "activities")
    return await named_participant(ctx, activity.responsible_id)


async def comment_author(ctx: Context, comment: CommentRow) -> Admitted[ParticipantRow]:
    """A comment's author: seen with the comment (its parent's section)."""
    await _section(ctx, comment.plan_id, section_of(comment))
    return await named_participant(ctx, comment.author_id)


async def calendar_creator(ctx: Context, entry: CalendarRow) -> Admitted[ParticipantRow]:
    """Who made a calendar entry: seen with it (CALENDAR >= READ)."""
    await _section(ctx, entry.plan_id, "calendar")
    return await named_participant(ctx, entry.created_by)


async def document_uploader(ctx: Context, document: DocumentRow) -> Admitted[ParticipantRow]:
    """Who uploaded a document: seen with it (DOCUMENTS >= READ)."""
    await _section(ctx, document.plan_id, "documents")
    return await named_participant(ctx, document.uploaded_by)


async def calendar(
    ctx: Context, view: PlanView, since: dt.date | None, until: dt.date | None
) -> list[Admitted[CalendarRow]]:
    """Kalender: CALENDAR >= READ; entries overlapping [from, to] (Oslo dates)."""
    require_section(ctx, view, "calendar")
    if since and until and until < since:
        raise bad_input("to", "to cannot be before from.")
    start = _oslo_midnight(since) if since else None
    end = _oslo_midnight(until + dt.timedelta(days=1)) if until else None
    rows = await ctx.loaders.calendar_by_key.load((view.plan.id, start, end)) or []
    return admit_calendar(ctx, view, rows)


def _oslo_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), OSLO)


async def documents(ctx: Context, view: PlanView) -> list[Admitted[DocumentRow]]:
    require_section(ctx, view, "documents")
    return admit_documents(ctx, view, await ctx.loaders.documents_by_plan.load(view.plan.id) or [])


async def readable_document(
    ctx: Context, plan_id: str, document_id: str
) -> tuple[DocumentRow, bytes]:
    """A document's bytes for downloadUrl: the same access check as Plan.documents."""
    view = await visible_plan(ctx, plan_id, "planId")
    require_section(ctx, view, "documents")
    did = validation.identifier("documentId", document_id)
    async with ctx.pool.acquire() as conn:
        row = await content.document(conn, did)
        if row is None or row.plan_id != view.plan.id or row.withdrawn_at is not None:
            raise not_found("document")
        data = await content.document_content(conn, did)
    assert data is not None
    return row, data


# --- writing -----------------------------------------------------------------------------

# A write answers with the row it wrote, admitted by the row's own read rule (guard.admit),
# which the write's WRITE already implies; the answer is not logged as a read.


async def _responsible(conn: Conn, view: PlanView, responsible_id: str | None) -> uuid.UUID | None:
    if responsible_id is None:
        return None
    rid = validation.identifier("responsibleId", responsible_id)
    members = (await plans.participants_of(conn, [view.plan.id]))[view.plan.id]
    if not any(m.id == rid for m in members):
        raise bad_input("responsibleId", "The responsible person must take part in this plan.")
    return rid


def _edits(
    title: str | None, description: str | None, status: str | None, statuses: tuple[str, ...]
) -> dict[str, object]:
    """The changes of updateGoal/updateActivity: only what was given, validated."""
    values: dict[str, object] = {}
    if title is not None:
        values["title"] = validation.required_text("title", title, max_length=300)
    if description is not None:
        values["description"] = validation.text("description", description, max_length=10_000)
    if status is not None:
        values["status"] = _status(status, statuses)
    return values


def _status(value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise bad_input("status", f"status is one of {', '.join(allowed)}.")
    return value


async def _after_change(
    conn: Conn,
    ctx: Context,
    view: PlanView,
    event: str,
    action: str,
    target: uuid.UUID,
    section: str,
) -> None:
    """Every content change: plan endret, audit, and the participants' notifications."""
    assert view.mine is not None
    await plans.touch(conn, view.plan.id, ctx.now())
    await audited(conn, ctx, action, target=target, detail={"plan": str(view.plan.id)})
    await notify.notify(conn, ctx, view, event, actor_id=view.mine.id, section=section)


async def _check_reachable(
    conn: Conn, ctx: Context, plan_id: uuid.UUID | None, section: str, what: str
) -> None:
    """A goal or activity addressed by id: NOT_FOUND unless it exists in a plan the viewer
    takes part in; a participant who may not read its section hears why, as from guard.writable
    (PLAN_ENDED, then consent, then grant)."""
    viewer = require_viewer(ctx)
    if plan_id is None:
        raise not_found(what)
    view = (await plans.views(conn, viewer.person_id, [plan_id]))[plan_id]
    if view.mine is None:
        raise not_found(what)
    plan, today = facts(view), ctx.today()
    denial = policy.section_denial(plan, section, today)
    if denial:
        raise forbidden(policy.write_denial(plan, section, today) or denial)


async def _goal_in_visible_plan(conn: Conn, ctx: Context, goal_id: str, field: str) -> GoalRow:
    require_viewer(ctx)
    gid = validation.identifier(field, goal_id)
    goal = (await content.goals_by_ids(conn, [gid])).get(gid)
    await _check_reachable(conn, ctx, goal.plan_id if goal else None, "goals", "goal")
    assert goal is not None
    return goal


async def add_goal(
    ctx: Context,
    plan_id: str,
    title: str,
    description: str | None,
    responsible_id: str | None,
    parent_id: str | None,
) -> Admitted[GoalRow]:
    pid = validation.identifier("planId", plan_id)
    title = validation.required_text("title", title, max_length=300)
    text = validation.text("description", description, max_length=10_000)
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await writable(conn, ctx, pid, "goals")
        assert view.mine is not None
        parent = None
        if parent_id is not None:
            parent = await _goal_in_visible_plan(conn, ctx, parent_id, "parentId")
            if parent.plan_id != pid:
                raise bad_input("parentId", "The parent goal belongs to another plan.")
            if parent.parent_id is not None:
                raise bad_input("parentId", "Sub-goals (delmål) sit under a main goal (hovedmål).")
        row = await content.insert_goal(
            conn,
            {
                "plan_id": pid,
                "parent_id": parent.id if parent else None,
                "title": title,
                "description": text,
                "status": "NOT_STARTED",
                "responsible_id": await _responsible(conn, view, responsible_id),
                "created_by": view.mine.id,
            },
            ctx.now(),
        )
        await _after_change(conn, ctx, view, "GOAL_OR_ACTIVITY", "goal.added", row.id, "goals")
    ctx.reload_loaders()
    return admit(ctx, view, row)


async def update_goal(
    ctx: Context,
    goal_id: str,
    title: str | None,
    description: str | None,
    status: str | None,
    responsible_id: str | None = None,
) -> Admitted[GoalRow]:
    async with ctx.pool.acquire() as conn, conn.transaction():
        goal = await _goal_in_visible_plan(conn, ctx, goal_id, "id")
        view = await writable(conn, ctx, goal.plan_id, "goals")
        values = _edits(title, description, status, GOAL_STATUSES)
        if responsible_id is not None:
            values["responsible_id"] = await _responsible(conn, view, responsible_id)
        row = await content.update_goal(conn, goal.id, values, ctx.now())
        await _after_change(conn, ctx, view, "GOAL_OR_ACTIVITY", "goal.updated", row.id, "goals")
    ctx.reload_loaders()
    return admit(ctx, view, row)


async def set_goal_serves(
    ctx: Context, goal_id: str, serves_goal_id: str | None
) -> Admitted[GoalRow]:
    """Name the IP goal a goal of a lower plan serves (null: none), GOALS WRITE here; the IP
    goal as linked_plans.serves_goal_for allows."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        goal = await _goal_in_visible_plan(conn, ctx, goal_id, "goalId")
        view = await writable(conn, ctx, goal.plan_id, "goals")
        serves = (
            await linked_plans.serves_goal_for(conn, ctx, view, serves_goal_id)
            if serves_goal_id is not None
            else None
        )
        row = await content.update_goal(conn, goal.id, {"serves_goal_id": serves}, ctx.now())
        await _after_change(conn, ctx, view, "GOAL_OR_ACTIVITY", "goal.updated", row.id, "goals")
    ctx.reload_loaders()
    return admit(ctx, view, row)


async def close_goal(
    ctx: Context, goal_id: str, status: str, closed_on: dt.date, evaluation: str
) -> Admitted[GoalRow]:
    """Close a goal: ACHIEVED or CANCELLED, with the date and an evaluation (evaluering)."""
    if status not in ("ACHIEVED", "CANCELLED"):
        raise bad_input("status", "A goal closes as ACHIEVED or CANCELLED.")
    text = validation.required_text("evaluation", evaluation, max_length=10_000)
    if closed_on > ctx.today():
        raise bad_input("closedOn", "closedOn cannot be in the future.")
    async with ctx.pool.acquire() as conn, conn.transaction():
        goal = await _goal_in_visible_plan(conn, ctx, goal_id, "id")
        view = await writable(conn, ctx, goal.plan_id, "goals")
        if goal.closed_on is not None:
            raise bad_input("id", "The goal is already closed.")
        values = {"status": status, "closed_on": closed_on, "evaluation": text}
        row = await content.update_goal(conn, goal.id, values, ctx.now())
        await _after_change(conn, ctx, view, "GOAL_OR_ACTIVITY", "goal.closed", row.id, "goals")
    ctx.reload_loaders()
    return admit(ctx, view, row)


def _dates(start: dt.date | None, end: dt.date | None) -> None:
    if start and end and end < start:
        raise bad_input("endDate", "endDate cannot be before startDate.")


async def add_activity(
    ctx: Context,
    goal_id: str,
    title: str,
    description: str | None,
    responsible_id: str | None,
    start_date: dt.date | None,
    end_date: dt.date | None,
) -> Admitted[ActivityRow]:
    title = validation.required_text("title", title, max_length=300)
    text = validation.text("description", description, max_length=10_000)
    _dates(start_date, end_date)
    async with ctx.pool.acquire() as conn, conn.transaction():
        goal = await _goal_in_visible_plan(conn, ctx, goal_id, "goalId")
        view = await writable(conn, ctx, goal.plan_id, "activities")
        assert view.mine is not None
        row = await content.insert_activity(
            conn,
            {
                "plan_id": goal.plan_id,
                "goal_id": goal.id,
                "title": title,
                "description": text,
                "status": "PLANNED",
                "responsible_id": await _responsible(conn, view, responsible_id),
                "start_date": start_date,
                "end_date": end_date,
                "created_by": view.mine.id,
            },
            ctx.now(),
        )
        await _after_change(
            conn, ctx, view, "GOAL_OR_ACTIVITY", "activity.added", row.id, "activities"
        )
    ctx.reload_loaders()
    return admit(ctx, view, row)


async def _activity_in_visible_plan(
    conn: Conn, ctx: Context, activity_id: str, field: str
) -> ActivityRow:
    require_viewer(ctx)
    aid = validation.identifier(field, activity_id)
    row = (await content.activities_by_ids(conn, [aid])).get(aid)
    await _check_reachable(conn, ctx, row.plan_id if row else None, "activities", "activity")
    assert row is not None
    return row


async def update_activity(
    ctx: Context,
    activity_id: str,
    title: str | None,
    description: str | None,
    status: str | None,
    responsible_id: str | None = None,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
) -> Admitted[ActivityRow]:
    async with ctx.pool.acquire() as conn, conn.transaction():
        activity = await _activity_in_visible_plan(conn, ctx, activity_id, "id")
        view = await writable(conn, ctx, activity.plan_id, "activities")
        values = _edits(title, description, status, ACTIVITY_STATUSES)
        if responsible_id is not None:
            values["responsible_id"] = await _responsible(conn, view, responsible_id)
        _dates(start_date or activity.start_date, end_date or activity.end_date)
        if start_date is not None:
            values["start_date"] = start_date
        if end_date is not None:
            values["end_date"] = end_date
        row = await content.update_activity(conn, activity.id, values, ctx.now())
        await _after_change(
            conn, ctx, view, "GOAL_OR_ACTIVITY", "activity.updated", row.id, "activities"
        )
    ctx.reload_loaders()
    return admit(ctx, view, row)


async def add_comment(
    ctx: Context, goal_id: str | None, activity_id: str | None, body: str
) -> Admitted[CommentRow]:
    """A comment on a goal (GOALS WRITE) or an activity (ACTIVITIES WRITE)."""
    if (goal_id is None) == (activity_id is None):
        raise bad_input("goalId", "Give exactly one of goalId and activityId.")
    text = validation.required_text("body", body, max_length=10_000)
    async with ctx.pool.acquire() as conn, conn.transaction():
        if goal_id is not None:
            goal = await _goal_in_visible_plan(conn, ctx, goal_id, "goalId")
            plan_id, section, target = goal.plan_id, "goals", {"goal_id": goal.id}
        else:
            assert activity_id is not None
            activity = await _activity_in_visible_plan(conn, ctx, activity_id, "activityId")
            plan_id, section, target = activity.plan_id, "activities", {"activity_id": activity.id}
        view = await writable(conn, ctx, plan_id, section)
        assert view.mine is not None
        row = await content.insert_comment(
            conn, {"plan_id": plan_id, "author_id": view.mine.id, "body": text, **target}, ctx.now()
        )
        await _after_change(conn, ctx, view, "COMMENT", "comment.added", row.id, section)
    ctx.reload_loaders()
    return admit(ctx, view, row)


async def add_calendar_entry(
    ctx: Context,
    plan_id: str,
    title: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None,
    location: str | None,
) -> Admitted[CalendarRow]:
    pid = validation.identifier("planId", plan_id)
    title = validation.required_text("title", title, max_length=300)
    place = validation.text("location", location, max_length=300)
    for name, value in (("startsAt", starts_at), ("endsAt", ends_at)):
        if value is not None and value.tzinfo is None:
            raise bad_input(name, f"{name} needs a UTC offset.")
    if ends_at is not None and ends_at < starts_at:
        raise bad_input("endsAt", "endsAt cannot be before startsAt.")
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await writable(conn, ctx, pid, "calendar")
        assert view.mine is not None
        row = await content.insert_calendar_entry(
            conn,
            {
                "plan_id": pid,
                "title": title,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "location": place,
                "created_by": view.mine.id,
            },
            ctx.now(),
        )
        await _after_change(conn, ctx, view, "CALENDAR_ENTRY", "calendar.added", row.id, "calendar")
    ctx.reload_loaders()
    return admit(ctx, view, row)


def _when(name: str, value: dt.datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise bad_input(name, f"{name} needs a UTC offset.")


async def _own_calendar_entry(
    conn: Conn, ctx: Context, entry_id: str
) -> tuple[CalendarRow, PlanView]:
    """A calendar entry the viewer may change: WRITE in the calendar (guard.writable) and
    made by them or they coordinate (policy.own_content_denial); NOT_FOUND when the viewer
    may not know of it."""
    eid = validation.identifier("id", entry_id)
    row = await content.calendar_entry_for_update(conn, eid)
    if row is None:
        raise not_found("calendar entry")
    view = await writable_content(conn, ctx, row.plan_id, "calendar", "calendar entry")
    denial = policy.own_content_denial(facts(view), row.created_by)
    if denial:
        raise forbidden(denial)
    if row.cancelled_at is not None:
        raise bad_input("id", "The entry is cancelled.")
    return row, view


async def update_calendar_entry(
    ctx: Context,
    entry_id: str,
    title: str | None,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    location: str | None,
) -> Admitted[CalendarRow]:
    """Move or rename an appointment; those who follow the calendar are told (no content)."""
    values: dict[str, object] = {}
    if title is not None:
        values["title"] = validation.required_text("title", title, max_length=300)
    if location is not None:
        values["location"] = validation.text("location", location, max_length=300)
    _when("startsAt", starts_at)
    _when("endsAt", ends_at)
    async with ctx.pool.acquire() as conn, conn.transaction():
        row, view = await _own_calendar_entry(conn, ctx, entry_id)
        start = starts_at or row.starts_at
        end = ends_at if ends_at is not None else row.ends_at
        if end is not None and end < start:
            raise bad_input("endsAt", "endsAt cannot be before startsAt.")
        if starts_at is not None:
            values["starts_at"] = starts_at
        if ends_at is not None:
            values["ends_at"] = ends_at
        if values:
            row = await content.update_calendar_entry(conn, row.id, values, ctx.now())
            await _after_change(
                conn, ctx, view, "CALENDAR_ENTRY", "calendar.updated", row.id, "calendar"
            )
    ctx.reload_loaders()
    return admit(ctx, view, row)


async def cancel_calendar_entry(
    ctx: Context, entry_id: str, reason: str | None
) -> Admitted[CalendarRow]:
    """Cancel an appointment: it stays in the calendar, marked cancelled."""
    why = validation.text("reason", reason, max_length=2000)
    async with ctx.pool.acquire() as conn, conn.transaction():
        row, view = await _own_calendar_entry(conn, ctx, entry_id)
        row = await content.update_calendar_entry(
            conn, row.id, {"cancelled_at": ctx.now(), "cancel_reason": why}, ctx.now()
        )
        await _after_change(
            conn, ctx, view, "CALENDAR_ENTRY", "calendar.cancelled", row.id, "calendar"
        )
    ctx.reload_loaders()
    return admit(ctx, view, row)


async def withdraw_document(ctx: Context, document_id: str, reason: str) -> bool:
    """A document out of the plan's documents and downloads (404 from now on), by its
    uploader or the coordinator; who and why go to the audit log; the bytes stay for the
    archive duty until the plan's retention ends."""
    did = validation.identifier("id", document_id)
    why = validation.required_text("reason", reason, max_length=2000)
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await content.document(conn, did)
        if row is None or row.withdrawn_at is not None:
            raise not_found("document")
        view = await writable_content(conn, ctx, row.plan_id, "documents", "document")
        denial = policy.own_content_denial(facts(view), row.uploaded_by)
        if denial:
            raise forbidden(denial)
        assert view.mine is not None
        await content.withdraw_document(conn, did, view.mine.id, why, ctx.now())
        await plans.touch(conn, view.plan.id, ctx.now())
        await audited(
            conn,
            ctx,
            "document.withdrawn",
            target=did,
            detail={"plan": str(view.plan.id), "reason": why, "name": row.name},
        )
    ctx.reload_loaders()
    return True


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def sniff(data: bytes) -> str | None:
    """The document's type from its bytes, never from its name; None when not allowed."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"PK\x03\x04"):
        return _office_type(data)
    if _is_text(data):
        return "text/plain"
    return None


def _office_type(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if "word/document.xml" in names:
        return ALLOWED_TYPES[3]
    if "xl/workbook.xml" in names:
        return ALLOWED_TYPES[4]
    return None


def _is_text(data: bytes) -> bool:
    if not data or b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(1 for c in text if c.isprintable() or c in "\r\n\t")
    return printable / len(text) > 0.98


def _document_name(name: str) -> str:
    # NFC like every other text: macOS names files in NFD ("Å" as A + combining ring).
    cleaned = str(validation.nfc(name)).replace("\\", "/").rsplit("/", 1)[-1].strip()
    cleaned = "".join(c for c in cleaned if c.isprintable())
    if not cleaned:
        raise bad_input("file", "The file needs a name.")
    return cleaned[:200]


async def upload_document(ctx: Context, plan_id: str, upload: Upload) -> Admitted[DocumentRow]:
    """A document for the plan (≤ 20 MiB; PDF, PNG, JPEG, DOCX, XLSX or plain text)."""
    pid = validation.identifier("planId", plan_id)
    if len(upload.data) > MAX_DOCUMENT:
        raise bad_input("file", "A document is at most 20 MiB.")
    if not upload.data:
        raise bad_input("file", "The file is empty.")
    kind = sniff(upload.data)
    if kind is None:
        raise bad_input("file", "Allowed are PDF, PNG, JPEG, DOCX, XLSX and plain text.")
    name = _document_name(upload.filename)
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await writable(conn, ctx, pid, "documents")
        assert view.mine is not None
        row = await content.insert_document(
            conn,
            {
                "plan_id": pid,
                "name": name,
                "content_type": kind,
                "sha256": hashlib.sha256(upload.data).hexdigest(),
                "uploaded_by": view.mine.id,
            },
            upload.data,
            ctx.now(),
        )
        await plans.touch(conn, pid, ctx.now())
        await audited(
            conn,
            ctx,
            "document.uploaded",
            target=row.id,
            detail={"plan": str(pid), "type": kind, "size": len(upload.data)},
        )
    ctx.reload_loaders()
    return admit(ctx, view, row)
