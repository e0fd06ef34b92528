"""Plan messages (meldinger): to the whole group or to chosen participants, read state."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from db import messages, plans
from db.messages import MessageRow
from db.plans import ParticipantRow, PlanView
from db.pool import Conn
from resolvers import notify, policy, validation
from resolvers.audit_trail import audited
from resolvers.context import Context
from resolvers.errors import bad_input, forbidden, not_found
from resolvers.guard import (
    Admitted,
    admit,
    admit_messages,
    require_section,
    view_of,
    visible_plan,
    writable,
    writable_content,
)
from resolvers.plans import named_participant, visible_participant
from resolvers.policy.build import facts
from resolvers.policy.sections import MESSAGE_VISIBLE

MAX_PAGE = 100


@dataclass(frozen=True)
class MessagePage:
    rows: list[Admitted[MessageRow]]
    has_next: bool


def cursor(row: MessageRow) -> str:
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.seq}".encode()).decode()


def _decode(value: str) -> tuple[dt.datetime, int]:
    try:
        at, _, seq = base64.urlsafe_b64decode(value.encode()).decode().partition("|")
        return dt.datetime.fromisoformat(at), int(seq)
    except (ValueError, UnicodeDecodeError):
        raise bad_input("after", "after is not a cursor from this list.") from None


def visible(ctx: Context, view: PlanView, row: MessageRow) -> bool:
    return policy.message_visible(
        plan=facts(view), author_id=row.author_id, recipient_ids=row.recipient_ids
    )


async def page(ctx: Context, view: PlanView, first: int, after: str | None) -> MessagePage:
    """Newest first; MESSAGES >= READ, and each message only for those it is meant for."""
    require_section(ctx, view, "messages")
    if not 0 <= first <= MAX_PAGE:
        raise bad_input("first", f"first must be between 0 and {MAX_PAGE}.")
    before = _decode(after) if after else (None, None)
    mine = view.mine
    assert mine is not None
    # The page is filtered in SQL by the message rule's SQL rendering; the Python one decides.
    key = (view.plan.id, first + 1, before[0], before[1], mine.id, mine.role)
    rows = await ctx.loaders.message_page.load(key) or []
    shown = admit_messages(ctx, view, rows)
    return MessagePage(shown[:first], len(rows) > first)


async def readable(ctx: Context, row: MessageRow) -> PlanView:
    """A message reached through any field: MESSAGES >= READ, and meant for the viewer (the
    row rule); NO_GRANT otherwise."""
    view = await view_of(ctx, row.plan_id)
    require_section(ctx, view, "messages")
    admit(ctx, view, row)  # the row rule, as for every Message
    return view


async def author(ctx: Context, row: MessageRow) -> Admitted[ParticipantRow]:
    """Message.author: seen with the message, whatever the viewer's PARTICIPANTS grant."""
    await readable(ctx, row)
    return await named_participant(ctx, row.author_id)


async def recipients(ctx: Context, row: MessageRow) -> list[Admitted[ParticipantRow]] | None:
    """The chosen recipients (null: the whole plan group). They are not named in the
    message's content, so each is a participant the viewer must be allowed to see (the plan
    header, the viewer themself, or PARTICIPANTS >= READ); one hidden recipient hides the
    list, with its reason."""
    await readable(ctx, row)
    if row.recipient_ids is None:
        return None
    found = await ctx.loaders.participant_by_id.load_many(sorted(row.recipient_ids))
    return [await visible_participant(ctx, p, named=False) for p in found if p is not None]


async def corrected(ctx: Context, row: MessageRow) -> Admitted[MessageRow] | None:
    """Message.corrects: the earlier message, by the rules of any message (readable)."""
    await readable(ctx, row)
    if row.corrects_id is None:
        return None
    earlier = await ctx.loaders.message_by_id.load(row.corrects_id)
    if earlier is None:
        return None
    view = await readable(ctx, earlier)
    return admit(ctx, view, earlier)


async def message_plan(ctx: Context, row: MessageRow) -> PlanView:
    """Message.plan: the plan, if the viewer may know of it (NOT_FOUND otherwise)."""
    return await visible_plan(ctx, row.plan_id)


async def read_by_me(ctx: Context, row: MessageRow) -> bool:
    view = await ctx.loaders.plan_view_by_id.load(row.plan_id)
    if view is None or view.mine is None:
        return False
    if row.author_id == view.mine.id:
        return True
    mark = await ctx.loaders.read_mark_by_plan.load(row.plan_id)
    return mark is not None and row.created_at <= mark


async def post(
    ctx: Context,
    plan_id: str,
    body: str,
    recipient_ids: list[str] | None,
    corrects_id: str | None = None,
) -> Admitted[MessageRow]:
    """A message to the whole plan group, or only to chosen participants (MESSAGES WRITE).
    A correction names one of the viewer's own messages in the plan; without recipientIds it
    goes to the same readers as that message, never to more by default."""
    pid = validation.identifier("planId", plan_id)
    corrects = validation.identifier("correctsId", corrects_id) if corrects_id else None
    text = validation.required_text("body", body, max_length=10_000)
    chosen = None
    if recipient_ids is not None:
        if not recipient_ids:
            raise bad_input("recipientIds", "Leave recipientIds out to write to the whole group.")
        if len(recipient_ids) > 200:
            raise bad_input("recipientIds", "At most 200 recipients.")
        chosen = list(
            dict.fromkeys(validation.identifier("recipientIds", r) for r in recipient_ids)
        )
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await writable(conn, ctx, pid, "messages")
        assert view.mine is not None
        members = {m.id for m in (await plans.participants_of(conn, [pid]))[pid]}
        if corrects is not None:
            earlier = (await messages.by_ids(conn, [corrects])).get(corrects)
            if earlier is None or earlier.plan_id != pid or earlier.author_id != view.mine.id:
                raise bad_input("correctsId", "A correction names one of your own messages here.")
            if recipient_ids is None and earlier.recipient_ids is not None:
                # Those of its readers who still take part.
                chosen = sorted(earlier.recipient_ids & members)
        if chosen is not None and not set(chosen) <= members:
            raise bad_input("recipientIds", "Every recipient must take part in this plan.")
        row = await messages.insert(
            conn,
            plan_id=pid,
            author_id=view.mine.id,
            body=text,
            recipient_ids=chosen,
            now=ctx.now(),
            corrects_id=corrects,
        )
        await plans.touch(conn, pid, ctx.now())
        await audited(
            conn,
            ctx,
            "message.posted",
            target=row.id,
            detail={"plan": str(pid), "recipients": len(chosen) if chosen else None},
        )
        await notify.notify(conn, ctx, view, "MESSAGE_TO_ME", actor_id=view.mine.id, only=chosen)
    ctx.reload_loaders()
    return admit(ctx, view, row)


async def mark_read(ctx: Context, plan_id: str) -> int:
    """Everything I may read in the plan so far is read; returns how many became read."""
    view = await visible_plan(ctx, plan_id, "planId")
    require_section(ctx, view, "messages")
    assert view.mine is not None
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        before = await messages.mark_read(conn, view.plan.id, view.mine.person_id, now)
        newly = await messages.since(conn, view.plan.id, before, now)
    ctx.reload_loaders()
    return sum(1 for r in newly if r.author_id != view.mine.id and visible(ctx, view, r))


async def _own_recent_message(
    conn: Conn, ctx: Context, message_id: str
) -> tuple[MessageRow, PlanView]:
    """A message the viewer may still change (policy.own_message_change_denial), locked with
    the plan's reading until commit: MESSAGES WRITE while the plan is active (guard.writable),
    the message one the viewer may read (NOT_FOUND otherwise), written by them, recent, and
    read by nobody else."""
    mid = validation.identifier("id", message_id)
    found = (await messages.by_ids(conn, [mid])).get(mid)
    if found is None:
        raise not_found("message")
    # The plan first, then the message: the order every write to a plan locks in.
    view = await writable_content(conn, ctx, found.plan_id, "messages", "message")
    row = await messages.for_change(conn, mid)
    assert row is not None  # messages go only with their plan, which is locked
    if not visible(ctx, view, row):
        raise not_found("message")
    if row.withdrawn_at is not None:
        raise bad_input("id", "The message is withdrawn.")
    await messages.lock_plan_reading(conn, row.plan_id)
    window = dt.timedelta(minutes=ctx.settings.message_edit_minutes)
    denial = policy.own_message_change_denial(
        facts(view),
        author_id=row.author_id,
        recent=ctx.now() < row.created_at + window,
        read_by_others=await messages.read_by_others(conn, row, visible=MESSAGE_VISIBLE),
    )
    if denial:
        raise forbidden(denial)
    return row, view


async def edit(ctx: Context, message_id: str, body: str) -> Admitted[MessageRow]:
    """Edit one's own message shortly after posting, before anyone else has read it."""
    text = validation.required_text("body", body, max_length=10_000)
    async with ctx.pool.acquire() as conn, conn.transaction():
        row, view = await _own_recent_message(conn, ctx, message_id)
        if text == row.body:
            return admit(ctx, view, row)
        changed = await messages.change(conn, row, body=text, now=ctx.now())
        await audited(conn, ctx, "message.edited", target=row.id, detail={"plan": str(row.plan_id)})
    ctx.reload_loaders()
    return admit(ctx, view, changed)


async def withdraw(ctx: Context, message_id: str) -> Admitted[MessageRow]:
    """Withdraw one's own message shortly after posting, before anyone else has read it: it
    stays in the list, marked, without its text."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        row, view = await _own_recent_message(conn, ctx, message_id)
        changed = await messages.change(conn, row, body=None, now=ctx.now())
        await audited(
            conn, ctx, "message.withdrawn", target=row.id, detail={"plan": str(row.plan_id)}
        )
    ctx.reload_loaders()
    return admit(ctx, view, changed)
