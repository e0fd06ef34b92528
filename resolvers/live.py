"""Live messages (messageAdded): every event is checked against the subscriber's access at
that moment, and the subscription ends with an error when access is lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import replace
from typing import Any

from db.bus import MessageBus
from db.messages import MessageRow
from resolvers import access_log, auth, policy, validation
from resolvers.context import Context
from resolvers.errors import forbidden, not_found, unauthenticated
from resolvers.guard import Admitted, admit_messages
from resolvers.loaders import Loaders
from resolvers.policy.build import facts

log = logging.getLogger("plangruppe.live")

# Consent expiry is a matter of the calendar: re-check this often even without events.
RECHECK_SECONDS = 30.0
# A live subscription is activity: it keeps its session from idling out, touching it (a
# write) at most this often; every event still reads the session.
TOUCH_SECONDS = 60.0


async def _current(ctx: Context, *, touch: bool = True) -> Context:
    """A context for this moment: the session still live, fresh loaders (no stale cache)."""
    if ctx.token is None:
        raise unauthenticated()
    async with ctx.pool.acquire() as conn:
        viewer = await auth.viewer_for_token(conn, ctx.token, ctx.now(), touch=touch)
    if viewer is None:
        raise unauthenticated()
    return replace(ctx, viewer=viewer, loaders=Loaders(ctx.pool, viewer.person_id))


async def _plan_denial(ctx: Context, plan_id: uuid.UUID) -> policy.Denial:
    """Why messages of this plan may no longer reach the subscriber; an ended plan has no
    live messages any more."""
    view = await ctx.loaders.plan_view_by_id.load(plan_id)
    return policy.live_messages_denial(facts(view) if view else None, ctx.today())


async def _admitted(ctx: Context, row: MessageRow) -> Admitted[MessageRow] | None:
    """The message, if the subscriber may read it now (the guard: the MESSAGES section and
    policy.message_visible); None otherwise."""
    view = await ctx.loaders.plan_view_by_id.load(row.plan_id)
    if view is None:
        return None
    return next(iter(admit_messages(ctx, view, [row])), None)


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
    ctx: Context, plan_id: str | None
) -> AsyncIterator[tuple[Context, Admitted[MessageRow]]]:
    """Messages as they are posted, each delivered only if the subscriber may read it now."""
    bus = ctx.bus
    if not isinstance(bus, MessageBus):
        raise unauthenticated()
    pid = validation.identifier("planId", plan_id) if plan_id is not None else None
    now_ctx = await _current(ctx)  # checked again at every subscribe
    if pid is not None:
        view = await now_ctx.loaders.plan_view_by_id.load(pid)
        if view is None or view.mine is None:
            raise not_found("plan")
        denial = await _plan_denial(now_ctx, pid)
        if denial:
            raise forbidden(denial)
    sub = bus.subscribe(pid)
    touched = time.monotonic()
    logged: set[uuid.UUID] = set()  # the subscription is one request for the access log
    try:
        while True:
            item = None
            with contextlib.suppress(TimeoutError):
                item = await asyncio.wait_for(sub.queue.get(), timeout=RECHECK_SECONDS)
            touch = time.monotonic() - touched >= TOUCH_SECONDS
            now_ctx = await _current(ctx, touch=touch)
            if touch:
                touched = time.monotonic()
            if pid is not None:
                denial = await _plan_denial(now_ctx, pid)
                if denial:
                    raise forbidden(denial, "You no longer have access to this plan's messages.")
            if item is None:
                continue
            if pid is None and await _plan_denial(now_ctx, item.plan_id):
                continue
            admitted = await _admitted(now_ctx, item)
            if admitted is not None:
                if item.plan_id not in logged:
                    logged.add(item.plan_id)
                    now_ctx.record_read(item.plan_id, None, "messages")
                    # Written beside the delivery, not before it: the row does not hold up
                    # the message (its commit waits for the disk).
                    _in_background(access_log.flush(now_ctx))
                yield now_ctx, admitted
    finally:
        bus.unsubscribe(sub)
