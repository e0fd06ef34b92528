"""Live messages (messageAdded, messageChanged): every event is checked against the
subscriber's access at that moment, and the subscription ends with an error when access is lost.

Cheap per event: a subscription keeps the session and the plan views (the access facts) it
checked, and checks them again from the database only when an access change concerns it
(db/bus.py: a NOTIFY on logout, password change, removal, rights, consent, a new
participant, the plan's end), so an event costs no query to decide. What moves with the
clock is decided at every event, and without events when it can change (the session's end,
midnight in Oslo), without a query: the session's end, and consent and participants' own
expiry against today's date. The process keeps its
subscribers' sessions alive in one statement a minute (keep_sessions_alive).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import replace
from typing import Any

import asyncpg

from db import accounts, plans
from db.bus import MessageBus
from db.messages import MessageRow
from db.plans import PlanView
from resolvers import access_log, auth, policy, validation
from resolvers.context import OSLO, Context
from resolvers.errors import forbidden, not_found, unauthenticated
from resolvers.guard import Admitted, admit_messages
from resolvers.loaders import Loaders
from resolvers.policy.build import facts

log = logging.getLogger("plangruppe.live")

# Consent expiry and the session's end are matters of the clock: a subscription without
# events wakes when the next of them can change (the session's end, midnight in Oslo, when a
# consent or a participant's own consent runs out), at least this often, and decides again
# from what it holds, without a query.
RECHECK_SECONDS = 3600.0
# A live subscription is activity: its session is kept from idling out this often.
TOUCH_SECONDS = 60.0


async def _current(ctx: Context, *, touch: bool = False) -> tuple[Context, dt.datetime]:
    """A context for this moment (the session still live, fresh loaders) and the latest
    moment the session lasts."""
    if ctx.token is None:
        raise unauthenticated()
    async with ctx.pool.acquire() as conn:
        found = await auth.live_viewer(conn, ctx.token, ctx.now(), touch=touch)
    if found is None:
        raise unauthenticated()
    viewer, ends = found
    return replace(ctx, viewer=viewer, loaders=Loaders(ctx.pool, viewer.person_id)), ends


class _Access:
    """What a subscription checked: the session's context and the plan views, until an access
    change concerns it."""

    def __init__(self, ctx: Context, ends: dt.datetime) -> None:
        self.ctx = ctx
        self.ends = ends
        self.views: dict[uuid.UUID, PlanView | None] = {}
        # Decided from the views and the date only: kept for the day, until a change.
        self.denials: dict[uuid.UUID, policy.Denial] = {}
        self.denials_on: dt.date | None = None

    async def taking_part(self) -> frozenset[uuid.UUID]:
        """The plans the subscriber takes part in, their views loaded in one statement: a
        subscription to all of one's plans hears of no other plan's messages."""
        viewer = self.ctx.viewer
        assert viewer is not None
        async with self.ctx.pool.acquire() as conn:
            found = await plans.views_taking_part(conn, viewer.person_id)
        self.views.update(found)
        self.denials.clear()
        return frozenset(found)

    async def view(self, plan_id: uuid.UUID) -> PlanView | None:
        if plan_id not in self.views:
            self.views[plan_id] = await self.ctx.loaders.plan_view_by_id.load(plan_id)
        return self.views[plan_id]

    async def plan_denial(self, plan_id: uuid.UUID) -> policy.Denial:
        """Why messages of this plan may not reach the subscriber now; an ended plan has no
        live messages any more."""
        today = self.ctx.today()
        if self.denials_on != today:
            self.denials.clear()
            self.denials_on = today
        if plan_id not in self.denials:
            view = await self.view(plan_id)
            self.denials[plan_id] = policy.live_messages_denial(
                facts(view) if view else None, today
            )
        return self.denials[plan_id]

    def check_session(self) -> None:
        if self.ctx.now() >= self.ends:
            raise unauthenticated()

    def seconds_to_next_change(self) -> float:
        """Until the session ends or the date changes in Oslo, whichever comes first."""
        now = self.ctx.now()
        midnight = dt.datetime.combine(
            self.ctx.today() + dt.timedelta(days=1), dt.time(), tzinfo=OSLO
        )
        until = min(self.ends, midnight) - now
        return min(RECHECK_SECONDS, max(1.0, until.total_seconds() + 0.5))

    async def admitted(self, row: MessageRow) -> tuple[Context, Admitted[MessageRow]] | None:
        """The message and a context to resolve it in, if the subscriber may read it now (the
        guard: the MESSAGES section and policy.message_visible); None otherwise. The context
        loads the message's fields afresh; its plan view is the one checked."""
        view = await self.view(row.plan_id)
        if view is None:
            return None
        viewer = self.ctx.viewer
        assert viewer is not None
        event = replace(self.ctx, loaders=Loaders(self.ctx.pool, viewer.person_id))
        event.loaders.plan_view_by_id.prime(row.plan_id, view)
        found = next(iter(admit_messages(event, view, [row])), None)
        return (event, found) if found is not None else None


_background: set[asyncio.Task[None]] = set()


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(work)
    _background.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[None]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("access log write failed", exc_info=task.exception())


async def message_stream(
    ctx: Context, plan_id: str | None, *, changes: bool = False
) -> AsyncIterator[tuple[Context, Admitted[MessageRow]]]:
    """Messages as they are posted (``changes``: as they are edited or withdrawn), each
    delivered only if the subscriber may read it now; the same rules either way."""
    bus = ctx.bus
    if not isinstance(bus, MessageBus):
        raise unauthenticated()
    pid = validation.identifier("planId", plan_id) if plan_id is not None else None
    access = _Access(*await _current(ctx, touch=True))  # checked again at every subscribe
    if pid is not None:
        view = await access.view(pid)
        if view is None or view.mine is None:
            raise not_found("plan")
        denial = await access.plan_denial(pid)
        if denial:
            raise forbidden(denial)
    viewer = access.ctx.viewer
    assert viewer is not None
    sub = bus.subscribe(
        pid, session_id=viewer.session_id, account_id=viewer.account_id, changes=changes
    )
    if pid is None:
        sub.plans = await access.taking_part()
    logged: set[uuid.UUID] = set()  # the subscription is one request for the access log
    try:
        while True:
            item: MessageRow | None = None
            recheck = False
            try:
                wait = access.seconds_to_next_change()
                item = await asyncio.wait_for(sub.queue.get(), timeout=wait)
                recheck = item is None
            except TimeoutError:
                pass
            if recheck:  # an access change that concerns this subscription
                access = _Access(*await _current(ctx))
                if pid is None:
                    sub.plans = await access.taking_part()
            access.check_session()
            if pid is not None:
                denial = await access.plan_denial(pid)
                if denial:
                    raise forbidden(denial, "You no longer have access to this plan's messages.")
            if item is None:
                continue
            if pid is None and await access.plan_denial(item.plan_id):
                continue
            found = await access.admitted(item)
            if found is None:
                continue
            event, admitted = found
            if item.plan_id not in logged:
                logged.add(item.plan_id)
                event.record_read(item.plan_id, None, "messages")
                # Written beside the delivery, not before it: the row does not hold up
                # the message (its commit waits for the disk).
                _in_background(access_log.flush(event))
            yield event, admitted
    finally:
        bus.unsubscribe(sub)


async def keep_sessions_alive(
    bus: MessageBus,
    pool: asyncpg.Pool,
    clock: Callable[[], dt.datetime],
    every: float = TOUCH_SECONDS,
) -> None:
    """The sessions of this process's live subscriptions count as used: one UPDATE for all of
    them every ``every`` seconds (a session that has ended stays ended)."""
    while True:
        await asyncio.sleep(every)
        ids = sorted(bus.session_ids())
        if not ids:
            continue
        try:
            async with pool.acquire() as conn:
                await accounts.touch_sessions(conn, ids, clock(), auth.SESSION_IDLE)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("could not keep live sessions alive: %s", exc)
