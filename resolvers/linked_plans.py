"""Linked plans («fagplaner»): an IP and the plans under it (IOP, IUP, a stafettlogg), and the
IP goal a goal of a lower plan serves.

Who sees a link: a viewer who may read the linked_plans section of the plan they look from,
and who takes part in the other plan now (policy.linked_plan_visible); to anyone else the
link does not exist, and is left out without an error. Linking and unlinking need
linked_plans WRITE in both plans, so each plan's consent allows it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from db import content, links, plans
from db.content import GoalRow
from db.plans import PlanView
from db.pool import Conn
from resolvers import policy, validation
from resolvers.audit_trail import audited
from resolvers.context import Context
from resolvers.errors import bad_input, forbidden, not_found
from resolvers.guard import (
    Admitted,
    admit,
    deny,
    locked_view,
    require_section,
    require_viewer,
    view_of,
)
from resolvers.policy.build import facts

# The lower plan's relation to the IP: OVER (seen from the lower plan: the IP above it) and
# UNDER (seen from the IP: a plan under it).
OVER, UNDER = "OVER", "UNDER"


@dataclass(frozen=True)
class Link:
    other: PlanView  # the other plan, as the viewer sees it
    relation: str
    linked_at: dt.datetime


async def linked_plans(ctx: Context, view: PlanView) -> list[Link]:
    """Plan.linkedPlans: linked_plans >= READ here, and only the links to plans the viewer
    takes part in."""
    require_section(ctx, view, "linked_plans")
    rows = await ctx.loaders.links_by_plan.load(view.plan.id) or []
    here = view.plan.id
    others = [r.lower_plan_id if r.upper_plan_id == here else r.upper_plan_id for r in rows]
    views = await ctx.loaders.plan_view_by_id.load_many(others)
    return [
        Link(other, UNDER if row.upper_plan_id == here else OVER, row.linked_at)
        for row, other in zip(rows, views, strict=True)
        if other is not None and policy.linked_plan_visible(facts(other))
    ]


async def served_goal(ctx: Context, row: GoalRow) -> Admitted[GoalRow] | None:
    """Goal.serves: the IP goal this goal serves, if the viewer sees the link (linked_plans
    >= READ in the goal's plan, taking part in the IP), then with GOALS >= READ in the IP."""
    view = await view_of(ctx, row.plan_id)
    admit(ctx, view, row)  # the goal's own rule, as for every field of a Goal
    require_section(ctx, view, "linked_plans")  # whether or not it serves one: no leak
    if row.serves_goal_id is None:
        return None
    served = await ctx.loaders.goal_by_id.load(row.serves_goal_id)
    if served is None:
        return None
    upper = await ctx.loaders.plan_view_by_id.load(served.plan_id)
    if upper is None or not policy.linked_plan_visible(facts(upper)):
        return None
    return admit(ctx, upper, served)


async def serves_goal_for(
    conn: Conn, ctx: Context, view: PlanView, serves_goal_id: str
) -> uuid.UUID:
    """For setGoalServes in ``view`` (the lower plan, GOALS WRITE already checked): the IP
    goal named, which must be a goal of the IP above this plan whose link the viewer sees,
    and whose goals they may read."""
    gid = validation.identifier("servesGoalId", serves_goal_id)
    denial = policy.section_denial(facts(view), "linked_plans", ctx.today())
    if denial:
        raise forbidden(denial)
    viewer = require_viewer(ctx)
    upper_id = await links.above(conn, view.plan.id)
    served = (await content.goals_by_ids(conn, [gid])).get(gid)
    upper = (
        (await plans.views(conn, viewer.person_id, [upper_id])).get(upper_id)
        if upper_id is not None
        else None
    )
    if (
        served is None
        or upper is None
        or served.plan_id != upper_id
        or not policy.linked_plan_visible(facts(upper))
    ):
        raise bad_input(
            "servesGoalId",
            "servesGoalId must be a goal of the IP above this plan, in which you take part.",
        )
    denial = policy.section_denial(facts(upper), "goals", ctx.today())
    if denial:
        raise forbidden(denial)
    return gid


async def _both_writable(
    conn: Conn, ctx: Context, plan_id: str, linked_plan_id: str
) -> tuple[PlanView, PlanView]:
    """Both plans locked (in id order, as any two writers lock them), then each asked for
    linked_plans WRITE: the IP's answer first, so a refusal does not depend on the ids."""
    upper_id = validation.identifier("planId", plan_id)
    lower_id = validation.identifier("linkedPlanId", linked_plan_id)
    if upper_id == lower_id:
        raise bad_input("linkedPlanId", "A plan cannot be linked to itself.")
    locked = {pid: await locked_view(conn, ctx, pid) for pid in sorted((upper_id, lower_id))}
    for view in (locked[upper_id], locked[lower_id]):
        deny(policy.write_denial(facts(view), "linked_plans", ctx.today()))
    return locked[upper_id], locked[lower_id]


async def _changed(conn: Conn, ctx: Context, action: str, *views: PlanView) -> None:
    """Both plans changed (plan endret) and audited. Each plan's history says a link came or
    went, never which plan: its readers may not know of the other."""
    for view in views:
        await plans.touch(conn, view.plan.id, ctx.now())
        await audited(conn, ctx, action, target=view.plan.id, detail={"plan": str(view.plan.id)})


async def link(ctx: Context, plan_id: str, linked_plan_id: str) -> Link:
    """linkPlan: the plan ``linked_plan_id`` goes under the IP ``plan_id``."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        upper, lower = await _both_writable(conn, ctx, plan_id, linked_plan_id)
        if upper.plan.type != "IP":
            raise bad_input("planId", "Only an individual plan (IP) has plans linked under it.")
        if lower.plan.type == "IP":
            raise bad_input("linkedPlanId", "An IP is not linked under another plan.")
        owners = await links.owners(conn, [upper.plan.id, lower.plan.id])
        if owners.get(upper.plan.id) != owners.get(lower.plan.id):
            raise bad_input("linkedPlanId", "Linked plans are for the same person.")
        above = await links.above(conn, lower.plan.id)
        if above == upper.plan.id:
            raise bad_input("linkedPlanId", "The plan is already linked under this IP.")
        viewer = require_viewer(ctx)
        row = await links.link(conn, upper.plan.id, lower.plan.id, ctx.now(), viewer.person_id)
        if row is None:
            raise bad_input("linkedPlanId", "The plan is already linked under another IP.")
        await _changed(conn, ctx, "plan.linked", upper, lower)
    ctx.reload_loaders()
    return Link(lower, UNDER, row.linked_at)


async def unlink(ctx: Context, plan_id: str, linked_plan_id: str) -> bool:
    """unlinkPlan: as linkPlan; the lower plan's goals stop naming goals of the IP."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        upper, lower = await _both_writable(conn, ctx, plan_id, linked_plan_id)
        if not await links.unlink(conn, upper.plan.id, lower.plan.id):
            raise not_found("link")
        await _changed(conn, ctx, "plan.unlinked", upper, lower)
    ctx.reload_loaders()
    return True
