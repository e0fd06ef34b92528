"""The checks a resolver passes before it reads or writes a plan: who is asking, which plan
they may know of, and the policy's verdict turned into the error the caller sees.

Shared by every plan area (plans, content, messages, lifecycle); the rules themselves live in
resolvers/policy/.
"""

from __future__ import annotations

import uuid

from db import plans
from db.plans import PlanView
from db.pool import Conn
from resolvers import policy, validation
from resolvers.context import Context, Viewer
from resolvers.errors import forbidden, not_found, unauthenticated
from resolvers.policy.build import facts


def require_viewer(ctx: Context) -> Viewer:
    """The logged-in person asking; UNAUTHENTICATED otherwise."""
    if ctx.viewer is None:
        raise unauthenticated()
    return ctx.viewer


def deny(reason: policy.Denial) -> None:
    """FORBIDDEN with the policy's reason code, if it gave one."""
    if reason:
        raise forbidden(reason)


async def visible_plan(ctx: Context, plan_id: str | uuid.UUID, field: str = "id") -> PlanView:
    """The plan if the viewer may know of it; NOT_FOUND otherwise (no leak of existence)."""
    viewer = require_viewer(ctx)
    pid = plan_id if isinstance(plan_id, uuid.UUID) else validation.identifier(field, plan_id)
    view = await ctx.loaders.plan_view_by_id.load(pid)
    if view is None or not policy.plan_visible(facts(view), viewer.global_roles):
        raise not_found("plan")
    return view


async def view_of(ctx: Context, plan_id: uuid.UUID) -> PlanView:
    """The plan of a row the viewer already reached (no check of its own)."""
    view = await ctx.loaders.plan_view_by_id.load(plan_id)
    assert view is not None
    return view


def require_section(ctx: Context, view: PlanView, section: str) -> None:
    """Reading a section: allowed by policy.section_denial, and written to the access log."""
    denial = policy.section_denial(facts(view), section, ctx.today())
    if denial:
        raise forbidden(denial)
    ctx.record_read(view.plan.id, None, section)


async def locked_view(conn: Conn, ctx: Context, plan_id: uuid.UUID) -> PlanView:
    """For a write: the plan locked in the caller's transaction and read anew, if the viewer
    may know of it; NOT_FOUND otherwise."""
    viewer = require_viewer(ctx)
    await plans.lock_plan(conn, plan_id)
    view = (await plans.views(conn, viewer.person_id, [plan_id])).get(plan_id)
    if view is None or not policy.plan_visible(facts(view), viewer.global_roles):
        raise not_found("plan")
    return view


async def writable(conn: Conn, ctx: Context, plan_id: uuid.UUID, section: str) -> PlanView:
    """For a write to a section: the locked plan, if policy.write_denial allows it."""
    view = await locked_view(conn, ctx, plan_id)
    denial = policy.write_denial(facts(view), section, ctx.today())
    if denial:
        raise forbidden(denial)
    assert view.mine is not None
    return view
