"""Plans that outlive their coordinator: changeCoordinator, and planOverview for the
coordinating unit (koordinerende enhet) and local administrators (plan headers only, never
a section; reading them writes the owners' access log)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from db import accounts, overview, persons, plans
from db.bus import notify_access_changed
from db.overview import OverviewFilter, PlanHeaderRow
from resolvers import notify, policy, texts, validation
from resolvers.audit_trail import audited
from resolvers.context import Context
from resolvers.errors import bad_input, forbidden, not_found
from resolvers.guard import require_viewer
from resolvers.plans import decode_cursor, plan_cursor
from resolvers.policy.build import facts

MAX_PAGE = 100


@dataclass(frozen=True)
class HeaderPage:
    rows: list[PlanHeaderRow]
    has_next: bool
    taking_part: frozenset[uuid.UUID]


def header_cursor(row: PlanHeaderRow) -> str:
    return plan_cursor(row.created_at, row.id)


async def plan_overview(
    ctx: Context, where: OverviewFilter, first: int, after: str | None
) -> HeaderPage:
    """Plan headers: every plan for SYSTEM_ADMIN and the coordinating unit, a LOCAL_ADMIN's
    unit's plans for them (policy.plan_header_visible); FORBIDDEN for anyone else."""
    viewer = require_viewer(ctx)
    if not 0 <= first <= MAX_PAGE:
        raise bad_input("first", f"first must be between 0 and {MAX_PAGE}.")
    if where.consent_expiring_within_days is not None and not (
        1 <= where.consent_expiring_within_days <= 365
    ):
        raise bad_input("consentExpiringWithinDays", "consentExpiringWithinDays must be 1-365.")
    if where.inactive_for_days is not None and not 1 <= where.inactive_for_days <= 3650:
        raise bad_input("inactiveForDays", "inactiveForDays must be 1-3650.")
    cursor = decode_cursor(after) if after else None
    async with ctx.pool.acquire() as conn:
        me = await persons.by_id(conn, viewer.person_id)
        unit = me.service_unit_id if me else None
        denial = policy.plan_overview_denial(viewer.global_roles, viewer_unit=unit)
        if denial:
            raise forbidden(denial)
        # The scope in SQL is the rule's: every plan, or the plans of the viewer's unit.
        whole = policy.plan_header_visible(viewer.global_roles, viewer_unit=None, plan_unit=None)
        rows = await overview.headers(
            conn,
            unit=unit,
            whole_municipality=whole,
            where=where,
            today=ctx.today(),
            now=ctx.now(),
            after=cursor,
            limit=first + 1,
        )
        shown = rows[:first]
        mine = await plans.views(conn, viewer.person_id, [r.id for r in shown])
    for row in shown:  # the rule, row by row, as it is written
        assert policy.plan_header_visible(
            viewer.global_roles, viewer_unit=unit, plan_unit=row.service_unit_id
        )
        if row.owner_id is not None:
            ctx.record_read(row.id, row.owner_id, "overview")
    taking_part = frozenset(pid for pid, v in mine.items() if v.mine is not None)
    return HeaderPage(shown, len(rows) > first, taking_part)


async def change_coordinator(
    ctx: Context, plan_id: str, person_id: str, former_stays: bool
) -> PlanHeaderRow:
    """Hand the plan to a new coordinator (a person with an active account). The former one
    stays as a service provider with the consent's default grant, or leaves; everyone in the
    plan is told, without content."""
    viewer = require_viewer(ctx)
    pid = validation.identifier("planId", plan_id)
    new_id = validation.identifier("personId", person_id)
    now, today = ctx.now(), ctx.today()
    async with ctx.pool.acquire() as conn, conn.transaction():
        await plans.lock_plan(conn, pid)
        header = await overview.header(conn, pid)
        view = (await plans.views(conn, viewer.person_id, [pid])).get(pid)
        me = await persons.by_id(conn, viewer.person_id)
        unit = me.service_unit_id if me else None
        plan_unit = header.service_unit_id if header else None
        knows = (
            view is not None and policy.plan_visible(facts(view), viewer.global_roles)
        ) or policy.plan_header_visible(viewer.global_roles, viewer_unit=unit, plan_unit=plan_unit)
        if header is None or not knows:
            raise not_found("plan")
        mine_role = view.mine.role if view is not None and view.mine is not None else None
        denial = policy.coordinator_change_denial(
            viewer.global_roles, viewer_unit=unit, plan_unit=plan_unit, mine_role=mine_role
        )
        if denial:
            raise forbidden(denial)
        if header.status == "ENDED":
            raise bad_input("planId", "The plan has ended.")
        if await persons.by_id(conn, new_id) is None:
            raise bad_input("personId", "No such person.")
        account = await accounts.by_person(conn, new_id)
        if account is None or account.deactivated_at is not None:
            raise bad_input("personId", "The new coordinator needs an active account.")
        members = (await plans.participants_of(conn, [pid]))[pid]
        current = next((m for m in members if m.role == policy.COORDINATOR), None)
        target = next((m for m in members if m.person_id == new_id), None)
        if current is not None and current.person_id == new_id:
            raise bad_input("personId", "This person already coordinates the plan.")
        if target is not None and target.role == policy.OWNER:
            raise bad_input("personId", "The plan's owner cannot coordinate their own plan.")
        if current is not None:
            change: dict[str, object] = (
                {"role": policy.SERVICE_PROVIDER, "rights": {}}
                if former_stays
                else {"left_on": today}
            )
            await plans.update_participant(conn, current.id, change)
        if target is not None:
            await plans.update_participant(
                conn, target.id, {"role": policy.COORDINATOR, "rights": {}}
            )
        else:
            await plans.insert_participant(
                conn,
                plan_id=pid,
                person_id=new_id,
                role=policy.COORDINATOR,
                responsibility=None,
                rights={},
                joined_on=today,
                now=now,
            )
        await plans.touch(conn, pid, now)
        await notify_access_changed(conn, f"plan:{pid}")
        await audited(
            conn,
            ctx,
            "plan.coordinator_changed",
            target=pid,
            at=now,
            detail={
                "from": current.person_id if current else None,
                "to": new_id,
                "formerStays": former_stays,
            },
        )
        # Everyone in the plan now (the new coordinator included) and the former one.
        told = {m.person_id for m in members} | {new_id}
        told.discard(viewer.person_id)
        for person in sorted(told):
            holder = await accounts.by_person(conn, person)
            if holder and holder.confirmed_email and holder.deactivated_at is None:
                await notify.queue_email(
                    conn, holder.confirmed_email, texts.coordinator_changed(), now
                )
        found = await overview.header(conn, pid)
    assert found is not None
    ctx.reload_loaders()
    return found
