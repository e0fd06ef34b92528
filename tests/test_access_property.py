"""Property tests of the access rules: on resolvers/policy/ directly, and through the API.

The oracle below is the rule text of DESIGN.md "The access model" and the decisions of
issue 3, written out once, independently of resolvers/policy/:

- not a participant: nothing (NOT_PARTICIPANT);
- owner and coordinator: WRITE everywhere, editPerson and print; consent never cuts them off;
- other participants: the consent's defaultGrant, overridden by their own rights; nothing when
  there is no consent (NO_GRANT), or it is revoked, or their expiry (the consent's expiresOn,
  or their own consentExpiresOn when that is earlier; valid through that day) has passed
  (CONSENT_EXPIRED);
- an ended plan: every WRITE becomes READ, editPerson false;
- the plan's record (consent document, archives, revoking consent): owner, coordinator, a verge
  (GUARDIAN) at any age, and the person the consent names as given by a PARENT until the day
  the owner turns 16;
- a participant reached through any field: the owner and coordinator (the header), one named
  by content the viewer may read, the viewer themself, else PARTICIPANTS >= READ;
- PLAN visibility counts a shared plan only where the viewer may read PARTICIPANTS.

Through the API, hypothesis draws grants, overrides, roles, consent dates around today, own
expiry dates, revocation, the plan state and a move of the clock; every example builds its
own plan world (unique usernames) on the one gateway of the test. It checks that ``myAccess``
says exactly what the fields return, and that ``Person.visibleFields`` is exactly the set of
contact fields that come back non-null.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resolvers import policy
from tests.conftest import Gateway
from tests.plan_world import (
    ADDED_ROLES,
    COORDINATOR,
    GRANT_FIELDS,
    GUARDIAN,
    OWNER,
    PARTICIPANT_ROLE,
    PERSON_FIELD_NAMES,
    RELATIVE,
    ROLES,
    SECTIONS,
    SERVICE_PROVIDER,
    PlanWorld,
    api_name,
    build_world,
    errors_by_path,
    today_of,
)

# Every gateway test here runs with compiled reads forced on and forced off (tests/conftest.py).
pytestmark = pytest.mark.both_read_paths

LEVELS = ("NONE", "READ", "WRITE")
LEADS = ("OWNER", "COORDINATOR")
CONSENT_READERS = ("OWNER", "COORDINATOR", "GUARDIAN")  # and a parent of a minor owner
API_KEY = {"edit_person": "editPerson", "print": "print"} | {s: api_name(s) for s in SECTIONS}
NOTHING: dict[str, object] = {s: "NONE" for s in SECTIONS} | {"edit_person": False, "print": False}


# --- the oracle: the rule text, written out ---------------------------------------------


@dataclass(frozen=True)
class ConsentModel:
    expires_on: dt.date
    revoked_on: dt.date | None
    default: Mapping[str, object]  # every key of NOTHING


def oracle(
    *,
    role: str | None,
    ended: bool,
    consent: ConsentModel | None,
    rights: Mapping[str, object],
    own_expiry: dt.date | None,
    today: dt.date,
) -> tuple[dict[str, object], str | None]:
    """The viewer's grant (snake_case keys) and why they are cut off from the plan, if they are."""
    if role is None:
        return dict(NOTHING), "NOT_PARTICIPANT"
    if role in LEADS:
        grant: dict[str, object] = {s: "WRITE" for s in SECTIONS}
        grant |= {"edit_person": True, "print": True}
    else:
        if consent is None:
            return dict(NOTHING), "NO_GRANT"
        if consent.revoked_on is not None and consent.revoked_on <= today:
            return dict(NOTHING), "CONSENT_EXPIRED"
        if min(own_expiry or consent.expires_on, consent.expires_on) < today:
            return dict(NOTHING), "CONSENT_EXPIRED"
        grant = {**NOTHING, **consent.default, **rights}
    if ended:
        grant = {k: ("READ" if v == "WRITE" else v) for k, v in grant.items()}
        grant["edit_person"] = False
    return grant, None


def oracle_shares(
    *,
    ended: bool,
    consent: ConsentModel | None,
    roles_and_expiry: list[tuple[str, dt.date | None]],
    today: dt.date,
    viewer_participants: object = "READ",
) -> bool:
    """PLAN visibility: an active plan, a consent neither revoked nor expired, neither
    person's own consent run out (owner and coordinator have no consent of their own), and
    the viewer (the first of ``roles_and_expiry``) may read the plan group there."""
    if ended or consent is None:
        return False
    if consent.revoked_on is not None and consent.revoked_on <= today:
        return False
    if consent.expires_on < today:
        return False
    if roles_and_expiry[0][0] not in LEADS and viewer_participants == "NONE":
        return False
    return all(
        role in LEADS or (own or consent.expires_on) >= today for role, own in roles_and_expiry
    )


def sixteenth_birthday(born: dt.date) -> dt.date:
    """Born on 29 February: the birthday is 1 March in a year without one."""
    try:
        return born.replace(year=born.year + 16)
    except ValueError:
        return dt.date(born.year + 16, 3, 1)


def oracle_owner_side(
    *, role: str | None, names_parent: bool, owner_born: dt.date | None, today: dt.date
) -> str | None:
    """Consent document and archives: owner, coordinator, verge, parent of an owner under 16."""
    if role is None:
        return "NOT_PARTICIPANT"
    minor = owner_born is not None and today < sixteenth_birthday(owner_born)
    if role in (*LEADS, "GUARDIAN") or (names_parent and minor):
        return None
    return "ROLE_REQUIRED"


def oracle_visible(*, is_self: bool, visibility: str, shares: bool) -> bool:
    return is_self or visibility == "ALL" or (visibility == "PLAN" and shares)


# --- strategies -------------------------------------------------------------------------

levels = st.sampled_from(LEVELS)
grants = st.builds(
    policy.Grant,
    participants=levels,
    goals=levels,
    activities=levels,
    messages=levels,
    calendar=levels,
    documents=levels,
    linked_plans=levels,
    edit_person=st.booleans(),
    print=st.booleans(),
)
overrides = st.fixed_dictionaries(
    {},
    optional={
        **{s: levels for s in SECTIONS},
        "edit_person": st.booleans(),
        "print": st.booleans(),
    },
)
plan_roles = st.sampled_from(["OWNER", "COORDINATOR", "SERVICE_PROVIDER", "RELATIVE", "GUARDIAN"])
todays = st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31))
offsets = st.integers(-4, 4)


@st.composite
def plan_facts(draw: st.DrawFn) -> tuple[policy.PlanFacts, dt.date, ConsentModel | None]:
    today = draw(todays)
    consent = None
    facts_consent = None
    if draw(st.booleans()):
        default = draw(grants)
        expires = today + dt.timedelta(days=draw(offsets))
        revoked_in = draw(st.none() | offsets)
        revoked = None if revoked_in is None else today + dt.timedelta(days=revoked_in)
        facts_consent = policy.ConsentFacts(expires, revoked, default)
        consent = ConsentModel(expires, revoked, default.as_dict())
    mine = None
    role = draw(st.none() | plan_roles)
    if role is not None:
        own_in = draw(st.none() | offsets)
        own = None if own_in is None else today + dt.timedelta(days=own_in)
        mine = policy.Participation(uuid.uuid4(), role, draw(overrides), own, uuid.uuid4())
    plan = policy.PlanFacts(uuid.uuid4(), draw(st.booleans()), facts_consent, mine)
    return plan, today, consent


# --- 1. resolvers/policy/ directly ------------------------------------------------------


# The owner's age around the 16th birthday (days from it), sometimes far off or unknown.
owner_ages = st.none() | st.integers(-3, 3) | st.integers(-9000, 9000)


@settings(max_examples=400)
@given(
    plan_facts(),
    st.frozensets(
        st.sampled_from(["SYSTEM_ADMIN", "LOCAL_ADMIN", "COORDINATING_UNIT", "REPORTER"])
    ),
    owner_ages,
    st.booleans(),
)
def test_access_rules_follow_the_rule_text(
    situation: tuple[policy.PlanFacts, dt.date, ConsentModel | None],
    global_roles: frozenset[str],
    sixteen_in: int | None,
    names_parent: bool,
) -> None:
    plan, today, consent = situation
    born = None
    if sixteen_in is not None:
        # The owner turns 16 sixteen_in days from today (a year with a 29 February is still
        # one 16 years earlier in this range of dates).
        birthday = today + dt.timedelta(days=sixteen_in)
        born = birthday.replace(year=birthday.year - 16)
    mine_person = plan.mine.person_id if plan.mine else None
    parents = frozenset({mine_person}) if names_parent and mine_person else frozenset()
    owner = policy.OwnerFacts(born, parents)
    mine = plan.mine
    want, cut_off = oracle(
        role=mine.role if mine else None,
        ended=plan.ended,
        consent=consent,
        rights=mine.rights if mine else {},
        own_expiry=mine.consent_expires_on if mine else None,
        today=today,
    )
    grant = policy.effective_grant(plan, today)
    assert grant.as_dict() == want
    assert policy.consent_denial(plan, today) == cut_off

    for section in SECTIONS:
        reading = policy.section_denial(plan, section, today)
        assert (reading is None) == (want[section] != "NONE")
        if reading is not None:
            assert reading == (cut_off or "NO_GRANT")
        writing = policy.write_denial(plan, section, today)
        if plan.ended:
            assert writing == "PLAN_ENDED"
        else:
            assert (writing is None) == (want[section] == "WRITE")
            if writing is not None:
                assert writing == (cut_off or "NO_GRANT")

    assert policy.plan_visible(plan, global_roles) == (
        mine is not None or bool(global_roles & {"SYSTEM_ADMIN", "COORDINATING_UNIT"})
    )
    # The plan's record and revoking consent: the owner's side.
    owner_side = oracle_owner_side(
        role=mine.role if mine else None, names_parent=names_parent, owner_born=born, today=today
    )
    assert policy.consent_read_denial(plan, owner, today) == owner_side
    assert policy.archives_read_denial(plan, owner, today) == owner_side
    assert policy.archive_download_denial(plan, owner, today) == owner_side
    revoking = policy.revoke_consent_denial(plan, owner, today)
    assert revoking == ("PLAN_ENDED" if mine and plan.ended else owner_side)
    if mine is not None and mine.role == "GUARDIAN":
        assert policy.represents_owner(mine, owner, today)

    # A participant reached through a field.
    someone_else = uuid.uuid4()
    for role in ("OWNER", "COORDINATOR", "SERVICE_PROVIDER", "RELATIVE", "GUARDIAN"):
        for named in (False, True):
            got = policy.participant_denial(
                plan,
                global_roles,
                participant_id=someone_else,
                participant_role=role,
                named=named,
                today=today,
            )
            if not policy.plan_visible(plan, global_roles):
                assert got == "NOT_PARTICIPANT"
            elif role in LEADS or named:
                assert got is None
            elif mine is None:
                assert got == "NOT_PARTICIPANT"
            else:
                assert (got is None) == (want["participants"] != "NONE")
                assert got in (None, cut_off or "NO_GRANT")
    if mine is not None:
        assert (
            policy.participant_denial(
                plan,
                global_roles,
                participant_id=mine.participant_id,
                participant_role=mine.role,
                named=False,
                today=today,
            )
            is None
        )

    if mine is None:
        assert policy.participant_detail_denial(plan, someone_else, today) == "NOT_PARTICIPANT"
        assert policy.participant_rights_denial(plan, someone_else) == "NOT_PARTICIPANT"
        return
    # Ansvar: the participant, the owner and coordinator, and PARTICIPANTS >= READ; the
    # reason otherwise is why the section is closed.
    assert policy.participant_detail_denial(plan, mine.participant_id, today) is None
    detail = policy.participant_detail_denial(plan, someone_else, today)
    assert (detail is None) == (mine.role in LEADS or want["participants"] != "NONE")
    if detail is not None:
        assert detail == (cut_off or "NO_GRANT")
    # Rights and consent expiry: the participant, the owner and coordinator.
    assert policy.participant_rights_denial(plan, mine.participant_id) is None
    assert (policy.participant_rights_denial(plan, someone_else) is None) == (mine.role in LEADS)


@settings(max_examples=400)
@given(
    todays,
    st.booleans(),
    st.none() | st.tuples(offsets, st.none() | offsets),
    st.tuples(plan_roles, st.none() | offsets),
    st.tuples(plan_roles, st.none() | offsets),
    st.sampled_from(["PRIVATE", "PLAN", "ALL"]),
    st.booleans(),
    levels,
    st.none() | levels,
)
def test_person_field_rules_follow_the_rule_text(
    today: dt.date,
    ended: bool,
    consent_days: tuple[int, int | None] | None,
    viewer: tuple[str, int | None],
    other: tuple[str, int | None],
    visibility: str,
    is_self: bool,
    default_participants: str,
    own_participants: str | None,
) -> None:
    def day(offset: int | None) -> dt.date | None:
        return None if offset is None else today + dt.timedelta(days=offset)

    consent = facts = None
    if consent_days is not None:
        expires, revoked = day(consent_days[0]), day(consent_days[1])
        assert expires is not None
        default = policy.Grant(participants=default_participants)
        facts = policy.ConsentFacts(expires, revoked, default)
        consent = ConsentModel(expires, revoked, default.as_dict())
    viewer_rights = {} if own_participants is None else {"participants": own_participants}
    shares = policy.shares_for_visibility(
        ended=ended,
        consent=facts,
        viewer=policy.Participation(uuid.uuid4(), viewer[0], viewer_rights, day(viewer[1])),
        other=policy.Participation(uuid.uuid4(), other[0], {}, day(other[1])),
        today=today,
    )
    assert shares == oracle_shares(
        ended=ended,
        consent=consent,
        roles_and_expiry=[(viewer[0], day(viewer[1])), (other[0], day(other[1]))],
        today=today,
        viewer_participants=own_participants or default_participants,
    )
    denial = policy.person_field_denial(
        is_self=is_self, visibility=visibility, shares_active_plan=shares
    )
    visible = oracle_visible(is_self=is_self, visibility=visibility, shares=shares)
    assert denial == (None if visible else "FIELD_HIDDEN")


# --- 2. through the API ---------------------------------------------------------------------

API_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

grant_inputs = st.fixed_dictionaries(
    {},
    optional={
        **{api_name(s): levels for s in SECTIONS},
        "editPerson": st.booleans(),
        "print": st.booleans(),
    },
)


@dataclass(frozen=True)
class Dates:
    """A consent situation relative to today at build time, then a move of the clock."""

    has_consent: bool
    given_ago: int
    expires_in: int
    revoked_by: str | None
    own_expiry_in: dict[str, int]
    ended: bool
    clock_days: int


# Weighted towards the cases that matter: a consent that is there and valid more often than
# not, expiry dates around today (so "valid through that day" is hit), and some far ahead.
dates = st.builds(
    Dates,
    has_consent=st.sampled_from([True, True, True, False]),
    given_ago=st.integers(6, 60),
    expires_in=st.integers(-3, 3) | st.just(90),
    revoked_by=st.sampled_from([None, None, None, None, COORDINATOR, OWNER, GUARDIAN]),
    own_expiry_in=st.fixed_dictionaries({}, optional={k: st.integers(-3, 3) for k in ADDED_ROLES}),
    ended=st.sampled_from([False, False, True]),
    clock_days=st.sampled_from([0, 0, 1, 2, 4]),
)


async def world_for(
    gateway: Gateway,
    d: Dates,
    *,
    default_grant: Mapping[str, object] | None = None,
    rights: Mapping[str, Mapping[str, object]] | None = None,
) -> PlanWorld:
    """Build the world for these dates, then move the clock (with fresh sessions)."""
    today = today_of(gateway)
    world = await build_world(
        gateway,
        consent=("revoked" if d.revoked_by else "active") if d.has_consent else "none",
        plan="ended" if d.ended else "active",
        default_grant=default_grant,
        rights=rights,
        given_on=today - dt.timedelta(days=d.given_ago),
        expires_on=today + dt.timedelta(days=d.expires_in),
        # A participant's own date can only shorten the consent (a later one is refused).
        consent_expires_on={
            k: today + dt.timedelta(days=min(n, d.expires_in) if d.has_consent else n)
            for k, n in d.own_expiry_in.items()
        },
        revoked_by=d.revoked_by or COORDINATOR,
    )
    if d.clock_days:
        gateway.clock.advance(days=d.clock_days)
        await world.renew_sessions()
    return world


def consent_model(world: PlanWorld) -> ConsentModel | None:
    if world.consent_expires_on is None:
        return None
    default = {
        **NOTHING,
        **{
            k: world.default_grant[API_KEY[k]] for k in NOTHING if API_KEY[k] in world.default_grant
        },
    }
    return ConsentModel(world.consent_expires_on, world.consent_revoked_on, default)


def snake(grant: Mapping[str, object]) -> dict[str, object]:
    back = {v: k for k, v in API_KEY.items()}
    return {back[k]: v for k, v in grant.items()}


PLAN_QUERY = f"""query($id: ID!) {{ plan(id: $id) {{
  myAccess {{ {GRANT_FIELDS} }}
  consentExpiresOn
  myParticipation {{ id role responsibility consentExpiresOn rights {{ {GRANT_FIELDS} }} }}
  participants {{ id role responsibility person {{ id }} }}
  consent {{ id }}
  owner {{ responsibility }}
}} }}"""


@API_SETTINGS
@given(
    viewer=st.sampled_from(ROLES),
    default_grant=grant_inputs,
    rights=st.fixed_dictionaries({k: grant_inputs for k in ADDED_ROLES}),
    d=dates,
)
async def test_my_access_says_what_the_fields_return(
    gateway: Gateway,
    viewer: str,
    default_grant: dict[str, object],
    rights: dict[str, dict[str, object]],
    d: Dates,
) -> None:
    world = await world_for(gateway, d, default_grant=default_grant, rights=rights)
    today = today_of(gateway)
    body = await world.post(viewer, PLAN_QUERY, {"id": world.plan_id})
    errors = errors_by_path(body)
    note = (viewer, d, default_grant, rights, today, body)

    role = PARTICIPANT_ROLE.get(viewer)
    admin = viewer in ("system_admin", "coordinating_unit")
    if role is None and not admin:
        assert body["data"]["plan"] is None, note
        assert errors == {("plan",): ("NOT_FOUND", None)}, note
        return

    plan = body["data"]["plan"]
    own_expiry = world.participant_expiry.get(viewer)
    want, cut_off = oracle(
        role=role,
        ended=d.ended,
        consent=consent_model(world),
        rights=snake(rights.get(viewer, {})),
        own_expiry=own_expiry,
        today=today,
    )
    my_access = snake(plan["myAccess"])
    assert my_access == want, note
    want_errors: dict[tuple[Any, ...], tuple[str, str | None]] = {}

    # The plan group is readable exactly when myAccess says PARTICIPANTS >= READ.
    if my_access["participants"] != "NONE":
        assert plan["participants"] is not None, note
        assert {p["id"] for p in plan["participants"]} == set(world.participant_ids.values())
        for p in plan["participants"]:
            key = next(k for k, v in world.participant_ids.items() if v == p["id"])
            assert p["responsibility"] == world.responsibilities.get(key), note
    else:
        assert plan["participants"] is None, note
        want_errors[("plan", "participants")] = ("FORBIDDEN", cut_off or "NO_GRANT")

    # Ansvar of someone else: owner, coordinator, or PARTICIPANTS >= READ.
    if role not in LEADS and my_access["participants"] == "NONE":
        want_errors[("plan", "owner", "responsibility")] = (
            "FORBIDDEN",
            "NOT_PARTICIPANT" if role is None else (cut_off or "NO_GRANT"),
        )

    # The consent document: owner, coordinator, guardian.
    if role in CONSENT_READERS:
        assert (plan["consent"] is None) == (world.consent_id is None), note
    else:
        assert plan["consent"] is None, note
        want_errors[("plan", "consent")] = (
            "FORBIDDEN",
            "NOT_PARTICIPANT" if role is None else "ROLE_REQUIRED",
        )

    # My participation: my rights are my access; my expiry is the consent's, or my own date
    # when that is earlier.
    mine = plan["myParticipation"]
    dates_known = [x for x in (own_expiry, world.consent_expires_on) if x is not None]
    expiry = min(dates_known) if role and dates_known else None
    assert plan["consentExpiresOn"] == (expiry.isoformat() if expiry else None), note
    if role is None:
        assert mine is None, note
    else:
        assert mine["role"] == role, note
        assert mine["id"] == world.participant_ids[viewer]
        assert snake(mine["rights"]) == my_access, note
        assert mine["consentExpiresOn"] == plan["consentExpiresOn"], note
        assert mine["responsibility"] == world.responsibilities.get(viewer), note

    assert errors == want_errors, note


PERSON_QUERY = """query($id: ID!) { person(id: $id) {
  id firstName lastName position visibleFields
  birthDate workplace email mobile phone fax address { street postcode city } } }"""
VIA_PLAN_QUERY = """query($id: ID!) { plan(id: $id) { participants { person {
  id visibleFields birthDate workplace email mobile phone fax address { street } } } } }"""
VISIBILITIES = st.sampled_from(["PRIVATE", "PLAN", "ALL"])


def set_visibility_mutation(chosen: Mapping[str, str]) -> str:
    fields = " ".join(
        f"f{n}: setFieldVisibility(field: {f}, visibility: {v}) {{ id }}"
        for n, (f, v) in enumerate(chosen.items())
    )
    return f"mutation {{ {fields} }}"


def non_null_fields(person: Mapping[str, Any]) -> set[str]:
    return {f for f, name in PERSON_FIELD_NAMES.items() if person[name] is not None}


# Mostly people of the plan (sharing is decided there), sometimes anyone of the world.
people = st.sampled_from(list(PARTICIPANT_ROLE)) | st.sampled_from(ROLES)


@settings(API_SETTINGS, max_examples=40)
@given(
    subject=people,
    viewer=people,
    chosen=st.fixed_dictionaries({}, optional={f: VISIBILITIES for f in PERSON_FIELD_NAMES}),
    d=dates,
    second_plan=st.sampled_from([False, False, False, True]),
)
async def test_visible_fields_are_the_fields_that_come_back(
    gateway: Gateway,
    subject: str,
    viewer: str,
    chosen: dict[str, str],
    d: Dates,
    second_plan: bool,
) -> None:
    world = await world_for(gateway, d)
    if chosen:
        body = await world.post(subject, set_visibility_mutation(chosen))
        assert "errors" not in body, body
    shares_elsewhere = False
    if second_plan and viewer != subject:
        # Both take part in another plan with an active consent: that plan alone is enough.
        await build_world(
            gateway,
            reuse={SERVICE_PROVIDER: world.actors[viewer], RELATIVE: world.actors[subject]},
        )
        shares_elsewhere = True

    today = today_of(gateway)
    subject_id = world.person_id(subject)
    body = await world.post(viewer, PERSON_QUERY, {"id": subject_id})
    person = body["data"]["person"]
    note = (subject, viewer, chosen, d, second_plan, today, body)

    # Name and position: always.
    assert person["firstName"] and person["lastName"] and person["position"], note
    shown = non_null_fields(person)
    assert set(person["visibleFields"]) == shown, note
    assert errors_by_path(body) == {
        ("person", PERSON_FIELD_NAMES[f]): ("FORBIDDEN", "FIELD_HIDDEN")
        for f in set(PERSON_FIELD_NAMES) - shown
    }, note
    if "EMAIL" in shown:
        assert person["email"] == world.actors[subject].user.email

    # And the set is what the rule says.
    in_plan = viewer in PARTICIPANT_ROLE and subject in PARTICIPANT_ROLE and viewer != subject
    shares = shares_elsewhere or (
        in_plan
        and oracle_shares(
            ended=d.ended,
            consent=consent_model(world),
            roles_and_expiry=[
                (PARTICIPANT_ROLE[k], world.participant_expiry.get(k)) for k in (viewer, subject)
            ],
            today=today,
        )
    )
    want = {
        f
        for f in PERSON_FIELD_NAMES
        if oracle_visible(
            is_self=viewer == subject, visibility=chosen.get(f, "PLAN"), shares=shares
        )
    }
    assert shown == want, note

    # The same person reached through the plan group shows the same fields.
    if in_plan:
        via = await world.post(viewer, VIA_PLAN_QUERY, {"id": world.plan_id})
        group = via["data"]["plan"]["participants"]
        if group is not None:
            (them,) = [p["person"] for p in group if p["person"]["id"] == subject_id]
            assert set(them["visibleFields"]) == shown == non_null_fields(them), (note, via)
