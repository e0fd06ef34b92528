"""Plans, consent (samtykke) and participants (plandeltakere): reads and writes.

Every decision is asked of resolvers/policy/; this module loads the facts and writes.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from graphql import GraphQLError

from db import persons, plans
from db.bus import notify_access_changed
from db.persons import PersonRow
from db.plans import ConsentRow, ParticipantRow, PlanFilter, PlanView
from db.pool import Conn
from resolvers import notify, policy, validation
from resolvers.audit_trail import audited
from resolvers.context import Context
from resolvers.errors import bad_input, forbidden, not_found
from resolvers.guard import (
    NAMED_PARTICIPANT,
    Admitted,
    admit_participant,
    admit_participants,
    admit_person,
    deny,
    locked_view,
    require_section,
    require_viewer,
    view_of,
    visible_plan,
)
from resolvers.notify import DEFAULTS
from resolvers.policy.build import facts, grant, lead, owner_facts

MAX_PAGE = 100
NOTIFICATION_EVENTS = tuple(DEFAULTS)


# --- reading -----------------------------------------------------------------------------


def my_access(ctx: Context, view: PlanView) -> policy.Grant:
    return policy.effective_grant(facts(view), ctx.today())


def consent_expires_on(view: PlanView) -> dt.date | None:
    return policy.consent_expiry(facts(view))


def consent_expires_in_days(ctx: Context, view: PlanView) -> int | None:
    expiry = consent_expires_on(view)
    return None if expiry is None else (expiry - ctx.today()).days


@dataclass(frozen=True)
class Page:
    views: list[PlanView]
    total: int
    has_next: bool


def encode_cursor(view: PlanView) -> str:
    return plan_cursor(view.plan.created_at, view.plan.id)


def plan_cursor(created_at: dt.datetime, plan_id: uuid.UUID) -> str:
    """The cursor of a list of plans in creation order (plans, planOverview)."""
    raw = f"{created_at.isoformat()}|{plan_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        at, _, pid = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return dt.datetime.fromisoformat(at), uuid.UUID(pid)
    except (ValueError, UnicodeDecodeError):
        raise bad_input("after", "after is not a cursor from this list.") from None


async def my_plans(ctx: Context, flt: PlanFilter, first: int, after: str | None) -> Page:
    """The plans I take part in (plan list), oldest first."""
    viewer = require_viewer(ctx)
    if not 0 <= first <= MAX_PAGE:
        raise bad_input("first", f"first must be between 0 and {MAX_PAGE}.")
    for name, value in (
        ("ownerFirstName", flt.owner_first_name),
        ("ownerLastName", flt.owner_last_name),
    ):
        validation.text(name, value, max_length=100)
    cursor = decode_cursor(after) if after else None
    async with ctx.pool.acquire() as conn:
        views, total = await plans.page_for_participant(
            conn, viewer.person_id, flt, first + 1, cursor
        )
    for view in views:
        ctx.loaders.plan_view_by_id.prime(view.plan.id, view)
    return Page(views[:first], total, len(views) > first)


async def participants(ctx: Context, view: PlanView) -> list[Admitted[ParticipantRow]]:
    """Plangruppa: PARTICIPANTS >= READ."""
    require_section(ctx, view, "participants")
    rows = await ctx.loaders.participants_by_plan.load(view.plan.id) or []
    return admit_participants(ctx, view, rows)


async def lead_participant(
    ctx: Context, view: PlanView, role: str
) -> Admitted[ParticipantRow] | None:
    """Plan.owner and Plan.coordinator: the plan header, seen by all who see the plan."""
    row = await lead(ctx, view, role)
    return admit_participant(ctx, view, row, named=False) if row else None


def my_participation(ctx: Context, view: PlanView) -> Admitted[ParticipantRow] | None:
    """Plan.myParticipation: the viewer themself; None for an administrator who takes no part."""
    return admit_participant(ctx, view, view.mine, named=False) if view.mine else None


async def changed_since_my_last_visit(ctx: Context, view: PlanView) -> bool:
    if view.mine is None:
        return False
    marks = await ctx.loaders.marks_by_plan.load(view.plan.id)
    visited = marks.visited_at if marks else None
    return visited is None or view.plan.changed_at > visited


async def has_unread_messages(ctx: Context, view: PlanView) -> bool:
    """Ny melding: a message I may read and have not read yet."""
    plan = facts(view)
    if plan.mine is None or policy.section_denial(plan, "messages", ctx.today()):
        return False
    marks = await ctx.loaders.marks_by_plan.load(view.plan.id)
    unread = marks.unread if marks else []
    return any(
        m.author_id != plan.mine.participant_id
        and policy.message_visible(plan=plan, author_id=m.author_id, recipient_ids=m.recipient_ids)
        for m in unread
    )


async def consent(ctx: Context, view: PlanView) -> ConsentRow | None:
    """Samtykke: the coordinator, the owner and whoever represents the owner."""
    await require_consent_reader(ctx, view)
    ctx.record_read(view.plan.id, None, "consent")
    return view.consent


async def require_consent_reader(ctx: Context, view: PlanView) -> None:
    today = ctx.today()
    denial = policy.consent_read_denial(facts(view), await owner_facts(ctx, view), today)
    if denial:
        raise forbidden(denial)


async def consent_giver(ctx: Context, row: ConsentRow) -> Admitted[PersonRow]:
    """Consent.givenBy: part of the consent document, read under the same rule."""
    await require_consent_reader(ctx, await view_of(ctx, row.plan_id))
    person = await ctx.loaders.person_by_id.load(row.given_by)
    assert person is not None
    return admit_person(ctx, person)


# --- participants, field by field ---------------------------------------------------------


async def _participant_view(ctx: Context, participant: ParticipantRow) -> PlanView:
    return await view_of(ctx, participant.plan_id)


async def participant_plan(ctx: Context, participant: ParticipantRow) -> PlanView:
    """Participant.plan: the plan, if the viewer may know of it (NOT_FOUND otherwise)."""
    return await visible_plan(ctx, participant.plan_id)


async def visible_participant(
    ctx: Context, participant: ParticipantRow, *, named: bool
) -> Admitted[ParticipantRow]:
    """A participant returned by any field: policy.participant_denial decides."""
    require_viewer(ctx)
    view = await _participant_view(ctx, participant)
    return admit_participant(ctx, view, participant, named=named)


async def participant_by_id(ctx: Context, participant_id: uuid.UUID) -> ParticipantRow:
    row = await ctx.loaders.participant_by_id.load(participant_id)
    assert row is not None
    return row


async def named_participant(ctx: Context, participant_id: uuid.UUID) -> Admitted[ParticipantRow]:
    """The author, responsible, createdBy or uploadedBy of content the caller has already
    found readable: seen with that content (name and position), whatever the viewer's
    PARTICIPANTS grant."""
    return await visible_participant(ctx, await participant_by_id(ctx, participant_id), named=True)


async def participant_person(
    ctx: Context, participant: Admitted[ParticipantRow]
) -> Admitted[PersonRow]:
    """Participant.person: the person of a participant the viewer may see, asked again of
    policy.participant_denial as the participant was admitted (named or not)."""
    row = participant.row
    await visible_participant(ctx, row, named=participant.rule == NAMED_PARTICIPANT)
    person = await ctx.loaders.person_by_id.load(row.person_id)
    assert person is not None
    return admit_person(ctx, person)


async def responsibility(ctx: Context, participant: ParticipantRow) -> str | None:
    """Ansvar is plan-only."""
    view = await _participant_view(ctx, participant)
    plan = facts(view)
    denial = policy.participant_detail_denial(plan, participant.id, ctx.today())
    if denial:
        raise forbidden(denial)
    return participant.responsibility


async def participant_rights(ctx: Context, participant: ParticipantRow) -> policy.Grant:
    view = await _participant_view(ctx, participant)
    plan = facts(view)
    denial = policy.participant_rights_denial(plan, participant.id)
    if denial:
        raise forbidden(denial)
    their = policy.PlanFacts(
        plan.plan_id,
        plan.ended,
        plan.consent,
        policy.Participation(
            participant.id, participant.role, participant.rights, participant.consent_expires_on
        ),
    )
    return policy.effective_grant(their, ctx.today())


async def participant_consent_expiry(ctx: Context, participant: ParticipantRow) -> dt.date | None:
    view = await _participant_view(ctx, participant)
    plan = facts(view)
    denial = policy.participant_rights_denial(plan, participant.id)
    if denial:
        raise forbidden(denial)
    theirs = policy.Participation(
        participant.id, participant.role, participant.rights, participant.consent_expires_on
    )
    return policy.consent_expiry(policy.PlanFacts(plan.plan_id, plan.ended, plan.consent, theirs))


async def notifications(ctx: Context, participant: ParticipantRow) -> list[tuple[str, bool, bool]]:
    view = await _participant_view(ctx, participant)
    denial = policy.own_participation_denial(facts(view), participant.id)
    if denial:
        raise forbidden(denial)
    chosen = await ctx.loaders.notifications_by_participant.load(participant.id) or {}
    return [(e, *chosen.get(e, DEFAULTS[e])) for e in NOTIFICATION_EVENTS]


# --- writing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPlan:
    owner_id: str
    short_name: str
    type: str
    start_date: dt.date
    coordinator_id: str
    service_unit_id: str | None = None
    revision_date: dt.date | None = None


async def create_plan(ctx: Context, data: NewPlan) -> uuid.UUID:
    """Create a plan; the owner (planeier) and coordinator become its first participants."""
    viewer = require_viewer(ctx)
    deny(policy.plan_create_denial(viewer.global_roles))
    owner_id = validation.identifier("ownerId", data.owner_id)
    coordinator_id = validation.identifier("coordinatorId", data.coordinator_id)
    short_name = validation.required_text("shortName", data.short_name, max_length=120)
    unit_id = (
        validation.identifier("serviceUnitId", data.service_unit_id)
        if data.service_unit_id
        else None
    )
    if owner_id == coordinator_id:
        raise bad_input("coordinatorId", "The coordinator cannot be the plan's owner.")
    if data.revision_date and data.revision_date < data.start_date:
        raise bad_input("revisionDate", "revisionDate cannot be before startDate.")
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        found = await persons.by_ids(conn, [owner_id, coordinator_id])
        if owner_id not in found:
            raise bad_input("ownerId", "No such person.")
        if coordinator_id not in found:
            raise bad_input("coordinatorId", "No such person.")
        if unit_id and not await plans.service_unit_exists(conn, unit_id):
            raise bad_input("serviceUnitId", "No such service unit.")
        plan_id = await plans.insert_plan(
            conn,
            {
                "short_name": short_name,
                "type": data.type,
                "start_date": data.start_date,
                "revision_date": data.revision_date,
                "service_unit_id": unit_id,
                "created_by": viewer.person_id,
            },
            now,
        )
        for person_id, role in ((owner_id, policy.OWNER), (coordinator_id, policy.COORDINATOR)):
            await plans.insert_participant(
                conn,
                plan_id=plan_id,
                person_id=person_id,
                role=role,
                responsibility=None,
                rights={},
                joined_on=ctx.today(),
                now=now,
            )
        await audited(
            conn,
            ctx,
            "plan.created",
            target=plan_id,
            detail={"owner": owner_id, "coordinator": coordinator_id},
        )
    ctx.reload_loaders()
    return plan_id


async def update_plan(
    ctx: Context,
    plan_id: str,
    short_name: str | None,
    plan_type: str | None,
    revision_date: dt.date | None,
) -> uuid.UUID:
    pid = validation.identifier("id", plan_id)
    values: dict[str, object] = {}
    if short_name is not None:
        values["short_name"] = validation.required_text("shortName", short_name, max_length=120)
    if plan_type is not None:
        values["type"] = plan_type
    if revision_date is not None:
        values["revision_date"] = revision_date
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await locked_view(conn, ctx, pid)
        deny(policy.plan_edit_denial(facts(view)))
        if revision_date is not None and revision_date < view.plan.start_date:
            raise bad_input("revisionDate", "revisionDate cannot be before the plan's start.")
        await plans.update_plan(conn, pid, values, ctx.now())
        await audited(conn, ctx, "plan.updated", target=pid, detail=values)
    ctx.reload_loaders()
    return pid


@dataclass(frozen=True)
class NewConsent:
    given_by_id: str
    given_by_relation: str
    given_on: dt.date
    expires_on: dt.date
    scope: str | None
    default_grant: dict[str, object]


async def record_consent(ctx: Context, plan_id: str, data: NewConsent) -> ConsentRow:
    """Record the plan's consent (samtykke); it replaces the one before."""
    pid = validation.identifier("planId", plan_id)
    giver = validation.identifier("givenById", data.given_by_id)
    scope = validation.text("scope", data.scope, max_length=4000)
    if data.expires_on < data.given_on:
        raise bad_input("expiresOn", "The consent cannot expire before it was given.")
    if data.given_on > ctx.today():
        raise bad_input("givenOn", "givenOn cannot be in the future.")
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await locked_view(conn, ctx, pid)
        deny(policy.coordinator_denial(facts(view)))
        members = (await plans.participants_of(conn, [pid]))[pid]
        giver_part = next((p for p in members if p.person_id == giver), None)
        check_consent_giver(giver_part, data.given_by_relation)
        row = await plans.insert_consent(
            conn,
            pid,
            {
                "given_by": giver,
                "given_by_relation": data.given_by_relation,
                "given_on": data.given_on,
                "expires_on": data.expires_on,
                "scope": scope,
                "default_grant": grant(data.default_grant).as_dict(),
            },
            ctx.now(),
            require_viewer(ctx).person_id,
        )
        await audited(
            conn,
            ctx,
            "consent.recorded",
            target=pid,
            detail={"consent": row.id, "expires_on": data.expires_on},
        )
        await notify_access_changed(conn, f"plan:{pid}")
    ctx.reload_loaders()
    return row


def check_consent_giver(giver: ParticipantRow | None, relation: str) -> None:
    """SELF is the owner; PARENT and GUARDIAN are a guardian or relative in the plan."""
    if giver is None:
        raise bad_input("givenById", "The consent giver must take part in the plan.")
    if not policy.may_give_consent(relation, giver.role):
        if relation == "SELF":
            raise bad_input("givenByRelation", "Only the owner gives consent as SELF.")
        raise bad_input("givenByRelation", f"{relation} consent comes from a guardian or relative.")


async def revoke_consent(ctx: Context, plan_id: str) -> ConsentRow:
    pid = validation.identifier("planId", plan_id)
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await locked_view(conn, ctx, pid)
        deny(policy.revoke_consent_denial(facts(view), await owner_facts(ctx, view), ctx.today()))
        if view.consent is None:
            raise bad_input("planId", "The plan has no consent to revoke.")
        row = await plans.revoke_consent(conn, view.consent.id, ctx.today())
        await plans.touch(conn, pid, ctx.now())
        await audited(conn, ctx, "consent.revoked", target=pid, detail={"consent": row.id})
        await notify_access_changed(conn, f"plan:{pid}")
    ctx.reload_loaders()
    return row


def rights_overrides(rights: Mapping[str, object] | None) -> dict[str, object]:
    return {k: v for k, v in (rights or {}).items() if v is not None}


async def add_participant(
    ctx: Context,
    plan_id: str,
    person_id: str,
    role: str,
    responsibility: str | None,
    rights: Mapping[str, object] | None,
) -> Admitted[ParticipantRow]:
    pid = validation.identifier("planId", plan_id)
    person = validation.identifier("personId", person_id)
    text = validation.text("responsibility", responsibility, max_length=4000)
    if role in (policy.OWNER, policy.COORDINATOR):
        raise bad_input("role", "A plan has one owner and one coordinator, set when it is created.")
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await locked_view(conn, ctx, pid)
        deny(policy.coordinator_denial(facts(view)))
        if await persons.by_id(conn, person) is None:
            raise bad_input("personId", "No such person.")
        members = (await plans.participants_of(conn, [pid]))[pid]
        if any(p.person_id == person for p in members):
            raise bad_input("personId", "The person already takes part in this plan.")
        assert view.mine is not None
        await notify.notify(conn, ctx, view, "PARTICIPANT_ADDED", actor_id=view.mine.id)
        row = await plans.insert_participant(
            conn,
            plan_id=pid,
            person_id=person,
            role=role,
            responsibility=text,
            rights=rights_overrides(rights),
            joined_on=ctx.today(),
            now=ctx.now(),
        )
        await plans.touch(conn, pid, ctx.now())
        # A subscriber who follows all their plans starts receiving this one's messages.
        await notify_access_changed(conn, f"plan:{pid}")
        await audited(
            conn,
            ctx,
            "participant.added",
            target=pid,
            detail={"participant": row.id, "person": person, "role": role},
        )
    ctx.reload_loaders()
    return admit_participant(ctx, view, row, named=False)


async def _locked_participant(
    conn: Conn, ctx: Context, participant_id: str, field: str = "id"
) -> tuple[ParticipantRow, PlanView]:
    part_id = validation.identifier(field, participant_id)
    row = (await plans.participants_by_ids(conn, [part_id])).get(part_id)
    if row is None:
        raise not_found("participant")
    try:
        view = await locked_view(conn, ctx, row.plan_id)
    except GraphQLError:
        raise not_found("participant") from None
    if view.mine is None and row.left_on is None:
        raise not_found("participant")
    return row, view


async def update_participant(
    ctx: Context,
    participant_id: str,
    responsibility: str | None,
    rights: Mapping[str, object] | None,
    consent_expires_on: dt.date | None,
) -> Admitted[ParticipantRow]:
    async with ctx.pool.acquire() as conn, conn.transaction():
        row, view = await _locked_participant(conn, ctx, participant_id)
        if rights is None and consent_expires_on is None:
            # Only the responsibility («ansvar»): the participant may write their own.
            deny(policy.own_responsibility_denial(facts(view), row.id))
        else:
            deny(policy.coordinator_denial(facts(view)))
        if row.left_on is not None:
            raise bad_input("id", "The participant has left the plan.")
        values: dict[str, object] = {}
        if responsibility is not None:
            values["responsibility"] = validation.text(
                "responsibility", responsibility, max_length=4000
            )
        if rights is not None:
            if row.role in (policy.OWNER, policy.COORDINATOR):
                raise bad_input("rights", "The owner and the coordinator always have full access.")
            values["rights"] = {**row.rights, **rights_overrides(rights)}
        if consent_expires_on is not None:
            if view.consent and consent_expires_on < view.consent.given_on:
                raise bad_input(
                    "consentExpiresOn", "The consent cannot expire before it was given."
                )
            if view.consent and consent_expires_on > view.consent.expires_on:
                raise bad_input(
                    "consentExpiresOn",
                    "A participant's consent cannot outlast the plan's consent"
                    f" ({view.consent.expires_on}).",
                )
            values["consent_expires_on"] = consent_expires_on
        if values:
            row = await plans.update_participant(conn, row.id, values)
            await plans.touch(conn, row.plan_id, ctx.now())
            await audited(
                conn,
                ctx,
                "participant.updated",
                target=row.plan_id,
                detail={"participant": row.id, **values},
            )
            await notify_access_changed(conn, f"plan:{row.plan_id}")
    ctx.reload_loaders()
    return admit_participant(ctx, view, row, named=False)


async def change_participant_role(
    ctx: Context, participant_id: str, role: str
) -> Admitted[ParticipantRow]:
    """The coordinator changes a participant's role (tjenesteyter, pårørende, verge); never
    to or from OWNER, and COORDINATOR only through changeCoordinator. Their rights
    overrides stay."""
    lead = (policy.OWNER, policy.COORDINATOR)
    if role in lead:
        raise bad_input(
            "role", "The owner is set at creation, the coordinator through changeCoordinator."
        )
    async with ctx.pool.acquire() as conn, conn.transaction():
        row, view = await _locked_participant(conn, ctx, participant_id)
        deny(policy.coordinator_denial(facts(view)))
        if row.left_on is not None:
            raise bad_input("id", "The participant has left the plan.")
        if row.role in lead:
            raise bad_input("id", "The owner's and the coordinator's roles do not change here.")
        if row.role != role:
            row = await plans.update_participant(conn, row.id, {"role": role})
            await plans.touch(conn, row.plan_id, ctx.now())
            await audited(
                conn,
                ctx,
                "participant.role_changed",
                target=row.plan_id,
                detail={"participant": row.id, "role": role},
            )
            await notify_access_changed(conn, f"plan:{row.plan_id}")
    ctx.reload_loaders()
    return admit_participant(ctx, view, row, named=False)


async def remove_participant(ctx: Context, participant_id: str) -> Admitted[ParticipantRow]:
    async with ctx.pool.acquire() as conn, conn.transaction():
        row, view = await _locked_participant(conn, ctx, participant_id)
        deny(policy.coordinator_denial(facts(view)))
        if row.role == policy.OWNER:
            raise bad_input("id", "The plan's owner cannot be removed.")
        if row.role == policy.COORDINATOR:
            raise bad_input("id", "The coordinator cannot be removed; end or hand over the plan.")
        if row.left_on is not None:
            raise bad_input("id", "The participant has already left the plan.")
        row = await plans.update_participant(conn, row.id, {"left_on": ctx.today()})
        await plans.touch(conn, row.plan_id, ctx.now())
        await audited(
            conn, ctx, "participant.removed", target=row.plan_id, detail={"participant": row.id}
        )
        await notify_access_changed(conn, f"plan:{row.plan_id}")
    ctx.reload_loaders()
    return admit_participant(ctx, view, row, named=False)


async def set_notification(
    ctx: Context, participant_id: str, event: str, sms: bool, email: bool
) -> Admitted[ParticipantRow]:
    async with ctx.pool.acquire() as conn, conn.transaction():
        row, view = await _locked_participant(conn, ctx, participant_id, "participantId")
        deny(policy.own_participation_denial(facts(view), row.id))
        await plans.set_notification(conn, row.id, event, sms, email)
        await audited(
            conn,
            ctx,
            "notification.set",
            target=row.plan_id,
            detail={"participant": row.id, "event": event, "sms": sms, "email": email},
        )
    ctx.reload_loaders()
    return admit_participant(ctx, view, row, named=False)


async def mark_plan_visited(ctx: Context, plan_id: str) -> uuid.UUID:
    viewer = require_viewer(ctx)
    view = await visible_plan(ctx, plan_id)
    deny(policy.participation_denial(facts(view)))
    async with ctx.pool.acquire() as conn, conn.transaction():
        await plans.record_visit(conn, view.plan.id, viewer.person_id, ctx.now())
        await audited(conn, ctx, "plan.visited", target=view.plan.id)
    ctx.reload_loaders()
    return view.plan.id
