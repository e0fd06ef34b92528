"""Persons: read field by field under the cross-plan visibility rule; created and edited
by those the policy allows."""

from __future__ import annotations

import datetime as dt
import uuid

from db import accounts, persons, plans
from db.persons import PersonRow
from db.pool import Conn
from resolvers import account_admin, contact, notify, policy, texts, validation
from resolvers.audit_trail import audited
from resolvers.context import Context, Viewer
from resolvers.errors import app_error, bad_input, forbidden, not_found, unauthenticated
from resolvers.guard import Admitted, admit_person

MAX_SEARCH = 50
_COLUMN_OF_FIELD = {
    "BIRTH_DATE": "birth_date",
    "WORKPLACE": "workplace",
    "EMAIL": "email",
    "MOBILE": "mobile",
    "PHONE": "phone",
    "FAX": "fax",
}


def _viewer(ctx: Context) -> Viewer:
    if ctx.viewer is None:
        raise unauthenticated()
    return ctx.viewer


async def visibility_of(ctx: Context, person_id: uuid.UUID) -> dict[str, str]:
    chosen = await ctx.loaders.visibility_by_person.load(person_id) or {}
    return {f: chosen.get(f, policy.DEFAULT_VISIBILITY) for f in policy.PERSON_FIELDS}


async def _shared_plans(ctx: Context, person_id: uuid.UUID) -> list[plans.SharedPlan]:
    """The plans the viewer currently takes part in together with this person."""
    if ctx.viewer is None:
        return []
    everyone = await ctx.loaders.shared_plans_by_viewer.load(ctx.viewer.person_id) or {}
    return everyone.get(person_id, [])


async def _shares_active_plan(ctx: Context, person_id: uuid.UUID) -> bool:
    """Decided once per person per request, however many of their fields are read."""
    memo = ctx.loaders.shares_active_plan
    if person_id not in memo:
        today = ctx.today()
        memo[person_id] = any(
            policy.shares_for_visibility(
                ended=shared.ended,
                consent=_consent_facts(shared.consent),
                viewer=_participation(shared.mine),
                other=policy.Participation(
                    shared.their_id, shared.their_role, {}, shared.their_expiry
                ),
                today=today,
            )
            for shared in await _shared_plans(ctx, person_id)
        )
    return memo[person_id]


def _consent_facts(consent: plans.ConsentRow | None) -> policy.ConsentFacts | None:
    if consent is None:
        return None
    grant = policy.NOTHING.overridden(consent.default_grant)
    return policy.ConsentFacts(consent.expires_on, consent.revoked_on, grant)


def _participation(row: plans.ParticipantRow) -> policy.Participation:
    return policy.Participation(row.id, row.role, row.rights, row.consent_expires_on)


async def field_denial(ctx: Context, person: PersonRow, field: str) -> policy.Denial:
    """Why this viewer may not read one contact field of this person, or None."""
    viewer = ctx.viewer
    is_self = viewer is not None and viewer.person_id == person.id
    visibility = (await visibility_of(ctx, person.id))[field]
    shares = False
    if viewer is not None and not is_self and visibility == policy.VISIBLE_IN_PLAN:
        shares = await _shares_active_plan(ctx, person.id)  # only PLAN visibility asks
    return policy.person_field_denial(
        logged_in=viewer is not None,
        is_self=is_self,
        visibility=visibility,
        shares_active_plan=shares,
    )


async def read_field(ctx: Context, person: PersonRow, field: str, value: object) -> object:
    """One contact field, if visible; reading a non-public field of someone else is logged."""
    denial = await field_denial(ctx, person, field)
    if denial:
        raise forbidden(denial)
    viewer = ctx.viewer
    if viewer is not None and policy.read_is_logged(
        is_self=viewer.person_id == person.id,
        has_value=value is not None,
        visibility=(await visibility_of(ctx, person.id))[field],
    ):
        ctx.record_read(None, person.id, f"person:{field}")
    return value


async def visible_fields(ctx: Context, person: PersonRow) -> list[str]:
    return [f for f in policy.PERSON_FIELDS if await field_denial(ctx, person, f) is None]


async def me(ctx: Context) -> Admitted[PersonRow] | None:
    """The logged-in person, or None."""
    if ctx.viewer is None:
        return None
    row = await ctx.loaders.person_by_id.load(ctx.viewer.person_id)
    return admit_person(ctx, row) if row else None


async def person(ctx: Context, person_id: str) -> Admitted[PersonRow]:
    """Anyone with an account may find a person (name and position are public to them)."""
    _viewer(ctx)
    pid = validation.identifier("id", person_id)
    row = await ctx.loaders.person_by_id.load(pid)
    if row is None:
        raise not_found("person")
    return admit_person(ctx, row)


async def search(
    ctx: Context,
    first_name: str | None,
    last_name: str | None,
    birth_date: dt.date | None,
    first: int,
) -> list[Admitted[PersonRow]]:
    """Search by name prefix (case-insensitive, æ/ø/å included) and birth date. A birth date
    only matches persons whose birth date this viewer may see."""
    _viewer(ctx)
    if not 1 <= first <= MAX_SEARCH:
        raise bad_input("first", f"first must be between 1 and {MAX_SEARCH}.")
    first_name = validation.text("firstName", first_name, max_length=100)
    last_name = validation.text("lastName", last_name, max_length=100)
    if not (first_name or last_name or birth_date):
        raise bad_input("lastName", "Give a name or a birth date to search for.")
    async with ctx.pool.acquire() as conn:
        rows = await persons.search(
            conn,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            limit=first,
        )
        rows = await _findable(conn, ctx, rows)
    for row in rows:
        ctx.loaders.person_by_id.prime(row.id, row)
    if birth_date is not None:
        rows = [r for r in rows if await field_denial(ctx, r, "BIRTH_DATE") is None]
    return [admit_person(ctx, r) for r in rows]


async def _findable(conn: Conn, ctx: Context, rows: list[PersonRow]) -> list[PersonRow]:
    """The rows searchPersons may show (policy.search_finds: «Begrens søk»)."""
    viewer = _viewer(ctx)
    restricted = [r.id for r in rows if r.search_restricted]
    if not restricted:
        return rows
    me = await persons.by_id(conn, viewer.person_id)
    sharing = await persons.sharing_current_plan(conn, viewer.person_id, restricted, ctx.today())
    return [
        r
        for r in rows
        if policy.search_finds(
            search_restricted=r.search_restricted,
            is_self=r.id == viewer.person_id,
            global_roles=viewer.global_roles,
            viewer_unit=me.service_unit_id if me else None,
            person_unit=r.service_unit_id,
            shares_current_plan=r.id in sharing,
        )
    ]


def clean_person_input(
    raw: dict[str, object], *, creating: bool, today: dt.date
) -> dict[str, object]:
    """Validate PersonInput; only the keys present are returned (None clears a field)."""
    out: dict[str, object] = {}
    for key, value in raw.items():
        column = _INPUT_COLUMNS[key]
        if key in ("firstName", "lastName"):
            out[column] = validation.required_text(
                key, value if isinstance(value, str) else None, max_length=100
            )
        elif key == "birthDate":
            if isinstance(value, dt.date) and not dt.date(1900, 1, 1) <= value <= today:
                raise bad_input(key, "birthDate must be between 1900 and today.")
            out[column] = value
        elif key == "email":
            out[column] = validation.email(key, value if isinstance(value, str) else None)
        elif key == "mobile":
            out[column] = validation.mobile(key, value if isinstance(value, str) else None)
        elif key in ("phone", "fax"):
            out[column] = validation.phone(key, value if isinstance(value, str) else None)
        elif key == "serviceUnitId":
            out[column] = validation.identifier(key, value) if isinstance(value, str) else None
        elif key == "postcode":
            out[column] = validation.postcode(key, value if isinstance(value, str) else None)
        else:
            out[column] = validation.text(
                key, value if isinstance(value, str) else None, max_length=200
            )
    if creating:
        for key in ("firstName", "lastName"):
            if _INPUT_COLUMNS[key] not in out:
                raise bad_input(key, f"{key} is required.")
    return out


_INPUT_COLUMNS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "birthDate": "birth_date",
    "position": "position",
    "workplace": "workplace",
    "email": "email",
    "mobile": "mobile",
    "phone": "phone",
    "fax": "fax",
    "street": "street",
    "postcode": "postcode",
    "city": "city",
    "serviceUnitId": "service_unit_id",
}


async def _may_administer_persons(conn: Conn, viewer: Viewer) -> policy.Denial:
    is_coordinator = await plans.is_coordinator_anywhere(conn, viewer.person_id)
    return policy.account_admin_denial(viewer.global_roles, is_coordinator=is_coordinator)


async def create_person(
    ctx: Context, raw: dict[str, object], *, confirm_new: bool = False
) -> Admitted[PersonRow]:
    """Create a person (SYSTEM_ADMIN, LOCAL_ADMIN, COORDINATING_UNIT, a coordinator). A person
    with the same names and birth date is DUPLICATE_PERSON; where the caller may not know
    that birth date, POSSIBLE_DUPLICATE, which confirmNew passes (_check_duplicates)."""
    viewer = _viewer(ctx)
    values = clean_person_input(raw, creating=True, today=ctx.today())
    async with ctx.pool.acquire() as conn, conn.transaction():
        denial = await _may_administer_persons(conn, viewer)
        if denial:
            raise forbidden(denial)
        values["service_unit_id"] = await _unit_for_new_person(conn, viewer, values)
        born = values.get("birth_date")
        if isinstance(born, dt.date):
            same = await persons.same_names(
                conn, str(values["first_name"]), str(values["last_name"])
            )
            await _check_duplicates(ctx, viewer, same, born, confirm_new=confirm_new)
        row = await persons.insert(conn, values)
        await audited(conn, ctx, "person.created", target=row.id)
    return admit_person(ctx, row)


async def _check_duplicates(
    ctx: Context,
    viewer: Viewer,
    same_names: list[PersonRow],
    born: dt.date,
    *,
    confirm_new: bool,
) -> None:
    """DUPLICATE_PERSON (with existingId) when a person of the same names has this birth date
    and the caller may know it: they keep the person register, or they may read that birth
    date (the person-field rule). A same-named person whose birth date the caller may not
    read gives POSSIBLE_DUPLICATE, whatever the birth date: the answer never depends on a
    birth date hidden from the caller, so it cannot confirm one. confirmNew: true creates
    the person past POSSIBLE_DUPLICATE (not past DUPLICATE_PERSON)."""
    me = await ctx.loaders.person_by_id.load(viewer.person_id)
    own_unit = me.service_unit_id if me else None
    hidden = False
    async with ctx.pool.acquire() as conn:
        findable = {r.id for r in await _findable(conn, ctx, list(same_names))}
    for candidate in same_names:
        if candidate.id not in findable:
            # «Begrens søk»: still found, but answered as a name-only match.
            hidden = True
            continue
        keeper = policy.keeps_person_register(
            viewer.global_roles, viewer_unit=own_unit, person_unit=candidate.service_unit_id
        )
        if not keeper and await field_denial(ctx, candidate, "BIRTH_DATE") is not None:
            hidden = True
        elif candidate.birth_date == born:
            if policy.read_is_logged(
                is_self=candidate.id == viewer.person_id,
                has_value=True,
                visibility=(await visibility_of(ctx, candidate.id))["BIRTH_DATE"],
            ):
                ctx.record_read(None, candidate.id, "person:BIRTH_DATE")
            raise app_error(
                "DUPLICATE_PERSON",
                "A person with this name and birth date already exists.",
                existingId=str(candidate.id),
            )
    if hidden and not confirm_new:
        raise app_error(
            "POSSIBLE_DUPLICATE",
            "A person with this name may already exist. Search for them, or create the"
            " person anyway with confirmNew: true.",
        )


async def _unit_for_new_person(
    conn: Conn, viewer: Viewer, values: dict[str, object]
) -> uuid.UUID | None:
    """A LOCAL_ADMIN's new persons belong to the admin's own service unit."""
    wanted = values.get("service_unit_id")
    assert wanted is None or isinstance(wanted, uuid.UUID)
    if wanted is not None and not await plans.service_unit_exists(conn, wanted):
        raise bad_input("serviceUnitId", "No such service unit.")
    is_coordinator = await plans.is_coordinator_anywhere(conn, viewer.person_id)
    me = await persons.by_id(conn, viewer.person_id)
    own_unit = me.service_unit_id if me else None
    unit = (
        wanted
        if wanted is not None
        else (own_unit if policy.LOCAL_ADMIN in viewer.global_roles else None)
    )
    denial = policy.unit_scope_denial(
        viewer.global_roles, is_coordinator=is_coordinator, viewer_unit=own_unit, person_unit=unit
    )
    if denial:
        raise forbidden(denial)
    return unit


async def _co_participant_may_edit(ctx: Context, person_id: uuid.UUID) -> bool:
    today = ctx.today()
    for shared in await _shared_plans(ctx, person_id):
        plan = policy.PlanFacts(
            plan_id=shared.mine.plan_id,
            ended=shared.ended,
            consent=_consent_facts(shared.consent),
            mine=_participation(shared.mine),
        )
        if not plan.ended and policy.effective_grant(plan, today).edit_person:
            return True
    return False


async def update_person(
    ctx: Context, person_id: str, raw: dict[str, object]
) -> Admitted[PersonRow]:
    """Change a person's details. The e-mail and mobile of an account holder change only when
    the holder confirms (resolvers/contact.py); every other field changes at once."""
    viewer = _viewer(ctx)
    pid = validation.identifier("id", person_id)
    values = clean_person_input(raw, creating=False, today=ctx.today())
    current = await ctx.loaders.person_by_id.load(pid)
    if current is None:
        raise not_found("person")
    denial = policy.person_edit_denial(
        is_self=viewer.person_id == pid,
        global_roles=viewer.global_roles,
        co_participant_may_edit=await _co_participant_may_edit(ctx, pid),
    )
    if denial:
        raise forbidden(denial)
    if "service_unit_id" in values:
        unit_denial = policy.service_unit_admin_denial(viewer.global_roles)
        if unit_denial:
            raise forbidden(unit_denial)
    if not values:
        return admit_person(ctx, current)
    now = ctx.now()
    fields = sorted(values)
    async with ctx.pool.acquire() as conn, conn.transaction():
        account = await accounts.by_person(conn, pid)
        if account is None:
            row = await _update_without_account(conn, current, values, now)
        else:
            wanted = contact.split_off(values)
            contact.check_holder_input(wanted)
            if values:
                await persons.update(conn, pid, values)
            await contact.request_changes(conn, ctx, viewer.person_id, current, account, wanted)
            found = await persons.by_id(conn, pid)
            assert found is not None
            row = found
        await audited(conn, ctx, "person.updated", target=pid, at=now, detail={"fields": fields})
    ctx.loaders.person_by_id.clear(pid)
    ctx.loaders.person_by_id.prime(pid, row)
    return admit_person(ctx, row)


async def _update_without_account(
    conn: Conn, current: PersonRow, values: dict[str, object], now: dt.datetime
) -> PersonRow:
    """A person without an account: everything changes at once (no code or link ever goes
    to these addresses)."""
    row = await persons.update(conn, current.id, values)
    for column, what in (("email", "EMAIL"), ("mobile", "MOBILE")):
        if column in values and getattr(current, column) != getattr(row, column):
            # Tell the person at the address they had (and the new one for e-mail).
            for address in {current.email, row.email if column == "email" else None} - {None}:
                text = texts.change_notice(what)
                assert address is not None
                await notify.queue_email(conn, address, text, now)
    return row


async def _for_whom(conn: Conn, ctx: Context, person_id: str | None) -> uuid.UUID:
    """The person a setting is for: the viewer, or (personId) a person without an account
    whose account-managing administrator or coordinator the viewer is, as the person could
    do themselves (a relative's private mobile a coordinator typed in)."""
    viewer = _viewer(ctx)
    if person_id is None:
        return viewer.person_id
    pid = validation.identifier("personId", person_id)
    if pid == viewer.person_id:
        return pid
    await account_admin.managed_person(conn, ctx, pid)
    if await accounts.by_person(conn, pid) is not None:
        raise bad_input("personId", "A person with an account sets this themselves.")
    return pid


async def set_field_visibility(
    ctx: Context, field: str, visibility: str, person_id: str | None = None
) -> Admitted[PersonRow]:
    """Skjul mobilnummer and friends: who sees a person's contact fields; set by the person,
    or for a person without an account by whoever manages such accounts (_for_whom)."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        pid = await _for_whom(conn, ctx, person_id)
        await persons.set_visibility(conn, pid, field, visibility)
        await audited(
            conn,
            ctx,
            "person.visibility",
            target=pid,
            detail={"field": field, "visibility": visibility},
        )
    # clear(key) raises KeyError for a key this request has not loaded; clear_all never does.
    ctx.loaders.visibility_by_person.clear_all()
    ctx.loaders.person_by_id.clear_all()
    row = await ctx.loaders.person_by_id.load(pid)
    assert row is not None
    return admit_person(ctx, row)


async def set_search_restricted(
    ctx: Context, restricted: bool, person_id: str | None = None
) -> Admitted[PersonRow]:
    """«Begrens søk»: searchPersons then finds the person only as policy.search_finds says."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        pid = await _for_whom(conn, ctx, person_id)
        await persons.set_search_restricted(conn, pid, restricted)
        await audited(
            conn, ctx, "person.search_restricted", target=pid, detail={"restricted": restricted}
        )
    ctx.loaders.person_by_id.clear_all()
    row = await ctx.loaders.person_by_id.load(pid)
    assert row is not None
    return admit_person(ctx, row)


async def search_restricted(ctx: Context, person: PersonRow) -> bool | None:
    """Person.searchRestricted: for the person and whoever manages their account."""
    viewer = _viewer(ctx)
    if person.id != viewer.person_id:
        async with ctx.pool.acquire() as conn:
            denial = await account_admin.manage_denial(conn, ctx, person)
        if denial:
            raise forbidden(denial)
    return person.search_restricted


async def set_global_roles(ctx: Context, person_id: str, roles: list[str]) -> Admitted[PersonRow]:
    viewer = _viewer(ctx)
    denial = policy.global_roles_denial(viewer.global_roles)
    if denial:
        raise forbidden(denial)
    pid = validation.identifier("personId", person_id)
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await persons.by_id(conn, pid)
        if row is None:
            raise not_found("person")
        await persons.set_global_roles(conn, pid, roles)
        await audited(conn, ctx, "person.global_roles", target=pid, detail={"roles": sorted(roles)})
    ctx.loaders.global_roles_by_person.clear_all()  # clear(pid) raises if not loaded
    return admit_person(ctx, row)


async def service_units(ctx: Context) -> list[tuple[uuid.UUID, str]]:
    _viewer(ctx)
    async with ctx.pool.acquire() as conn:
        return await plans.service_units(conn)
