"""Bad input to the plan and person API: each gets its contract code and changes nothing.
And the everyday operations next to them: search, the plan list, editing persons, field
visibility, global roles and visits, each written to the audit log.

Codes and rules from API.md ("Error codes", "Who may do what") and DESIGN.md.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest

from db import persons
from tests.conftest import Gateway, Mailbox
from tests.support import User, error_codes, make_user, only_error, session_for

CREATE_PLAN = """mutation($in: CreatePlanInput!) { createPlan(input: $in) { id } }"""
RECORD_CONSENT = """mutation($p: ID!, $in: ConsentInput!) {
  recordConsent(planId: $p, input: $in) { id } }"""
REVOKE_CONSENT = """mutation($p: ID!) { revokeConsent(planId: $p) { id revokedOn } }"""
ADD = """mutation($p: ID!, $who: ID!, $role: Role!, $resp: String, $rights: AccessGrantInput) {
  addParticipant(planId: $p, personId: $who, role: $role, responsibility: $resp,
    rights: $rights) { id } }"""
UPDATE_PARTICIPANT = """mutation($id: ID!, $resp: String, $rights: AccessGrantInput,
  $until: Date) { updateParticipant(id: $id, responsibility: $resp, rights: $rights,
    consentExpiresOn: $until) { id responsibility } }"""
REMOVE = """mutation($id: ID!) { removeParticipant(id: $id) { id leftOn } }"""
SET_NOTIFICATION = """mutation($id: ID!, $event: NotificationEvent!) {
  setNotification(participantId: $id, event: $event, sms: true, email: false) { id } }"""
UPDATE_PLAN = """mutation($id: ID!, $name: String, $type: PlanType) {
  updatePlan(id: $id, shortName: $name, type: $type) { id shortName changedSinceMyLastVisit } }"""
UPDATE_PLAN_REVISION = """mutation($id: ID!, $r: Date) {
  updatePlan(id: $id, revisionDate: $r) { id revisionDate } }"""
VISITED = """mutation($id: ID!) { markPlanVisited(id: $id) { id changedSinceMyLastVisit } }"""
PLAN = """query($id: ID!) { plan(id: $id) { id shortName } }"""
PERSON = """query($id: ID!) { person(id: $id) { id firstName } }"""
CREATE_PERSON = """mutation($in: PersonInput!) { createPerson(input: $in) { id firstName } }"""
UPDATE_PERSON = """mutation($id: ID!, $in: PersonInput!) { updatePerson(id: $id, input: $in) {
  id position workplace phone email mobile } }"""
SET_ROLES = """mutation($id: ID!, $roles: [GlobalRole!]!) {
  setGlobalRoles(personId: $id, roles: $roles) { id globalRoles } }"""
SET_VISIBILITY = """mutation($f: PersonField!, $v: Visibility!) {
  setFieldVisibility(field: $f, visibility: $v) { id fieldVisibility { field visibility } } }"""
SEARCH = """query($first: String, $last: String, $born: Date, $n: Int) {
  searchPersons(firstName: $first, lastName: $last, birthDate: $born, first: $n) {
    id firstName lastName } }"""
PLANS = """query($f: PlanFilter, $n: Int, $after: String) { plans(filter: $f, first: $n,
  after: $after) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id shortName changedSinceMyLastVisit
    owner { person { firstName } } } } } }"""

CONSENT_INPUT = {
    "givenByRelation": "SELF",
    "givenOn": "2026-11-01",
    "expiresOn": "2027-11-01",
    "defaultGrant": {"participants": "READ", "goals": "READ"},
}


@dataclass
class World:
    """One active plan with consent: owner Ingrid, coordinator Ola, service provider Sara,
    relative Rune (whose rights add editPerson); outsider Nils; unit and admin accounts."""

    gateway: Gateway
    users: dict[str, User]
    tokens: dict[str, str]
    plan_id: str
    participant: dict[str, str] = field(default_factory=dict)

    async def post(
        self, who: str | None, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        token = self.tokens[who] if who else None
        return await self.gateway.client.post(query, variables, token=token)

    def pid(self, who: str) -> str:
        return str(self.users[who].person_id)


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


@pytest.fixture
async def world(gateway: Gateway) -> World:
    pool = gateway.pool
    people: dict[str, dict[str, Any]] = {
        "enhet": {"roles": ("COORDINATING_UNIT",)},
        "admin": {"roles": ("SYSTEM_ADMIN",)},
        "ingrid": {"first_name": "Ingrid", "last_name": "Berg", "mobile": "+4791000001"},
        "ola": {"first_name": "Ola", "last_name": "Nordby"},
        "sara": {"first_name": "Sara", "last_name": "Moe", "mobile": "+4791000003"},
        "rune": {"first_name": "Rune", "last_name": "Dahl", "mobile": "+4791000004"},
        "nils": {"first_name": "Nils", "last_name": "Vik"},
    }
    users = {name: await make_user(pool, name, **kw) for name, kw in people.items()}
    tokens = {name: await session_for(pool, u) for name, u in users.items()}
    w = World(gateway, users, tokens, plan_id="")
    created = await w.post(
        "enhet",
        CREATE_PLAN,
        {
            "in": {
                "ownerId": w.pid("ingrid"),
                "shortName": "Ingrids plan",
                "type": "IP",
                "startDate": "2026-11-01",
                "coordinatorId": w.pid("ola"),
            }
        },
    )
    w.plan_id = ok(created)["createPlan"]["id"]
    ok(
        await w.post(
            "ola",
            RECORD_CONSENT,
            {"p": w.plan_id, "in": CONSENT_INPUT | {"givenById": w.pid("ingrid")}},
        )
    )
    for name, role, rights in (
        ("sara", "SERVICE_PROVIDER", None),
        ("rune", "RELATIVE", {"editPerson": True}),
    ):
        body = await w.post(
            "ola",
            ADD,
            {
                "p": w.plan_id,
                "who": w.pid(name),
                "role": role,
                "resp": f"Ansvar {name}",
                "rights": rights,
            },
        )
        w.participant[name] = ok(body)["addParticipant"]["id"]
    group = await w.post(
        "ola",
        """query($id: ID!) { plan(id: $id) { owner { id } coordinator { id } } }""",
        {"id": w.plan_id},
    )
    w.participant["ingrid"] = ok(group)["plan"]["owner"]["id"]
    w.participant["ola"] = ok(group)["plan"]["coordinator"]["id"]
    return w


# --- "nothing changed" ---------------------------------------------------------------------


async def fingerprint(pool: asyncpg.Pool) -> dict[str, tuple[int, str]]:
    """Row count and a hash of the contents of every table (sessions aside: every request
    touches its session's last_seen_at)."""
    async with pool.acquire() as conn:
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        found = {}
        for table in tables:
            if table == "sessions":
                continue
            row = await conn.fetchrow(
                f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text),"
                f" '')) AS h FROM \"{table}\" t"
            )
            assert row is not None
            found[table] = (row["n"], row["h"])
    assert "audit_log" in found and "participants" in found
    return found


@dataclass(frozen=True)
class Rejected:
    """A request that must fail with ``code`` (and field/reason) and change nothing."""

    what: str
    who: str | None
    query: str
    variables: dict[str, Any]
    code: str
    field: str | None = None
    reason: str | None = None


async def check_rejected(w: World, case: Rejected) -> dict[str, Any]:
    before = await fingerprint(w.gateway.pool)
    body = await w.post(case.who, case.query, case.variables)
    error = only_error(body)
    extensions = error.get("extensions", {})
    assert extensions.get("code") == case.code, (case.what, body)
    if case.field is not None:
        assert extensions.get("field") == case.field, (case.what, body)
    if case.reason is not None:
        assert extensions.get("reason") == case.reason, (case.what, body)
    data = body.get("data")
    assert data is None or all(v is None for v in data.values()), (case.what, body)
    assert_no_internals(body)
    assert await fingerprint(w.gateway.pool) == before, f"{case.what} changed the database"
    return error


def assert_no_internals(body: dict[str, Any]) -> None:
    text = json.dumps(body)
    assert "INTERNAL" not in error_codes(body), body
    for leak in ("Traceback", 'File "', "asyncpg", "SELECT ", "stacktrace", "exception"):
        assert leak not in text, (leak, body)


def unknown() -> str:
    return str(uuid.uuid4())


# --- unknown and malformed ids ---------------------------------------------------------------


async def test_unknown_ids_are_not_found(world: World) -> None:
    w = world
    cases = [
        Rejected("plan", "ola", PLAN, {"id": unknown()}, "NOT_FOUND"),
        Rejected("person", "ola", PERSON, {"id": unknown()}, "NOT_FOUND"),
        Rejected("updatePlan", "ola", UPDATE_PLAN, {"id": unknown(), "name": "X"}, "NOT_FOUND"),
        Rejected("markPlanVisited", "ola", VISITED, {"id": unknown()}, "NOT_FOUND"),
        Rejected(
            "recordConsent",
            "ola",
            RECORD_CONSENT,
            {"p": unknown(), "in": CONSENT_INPUT | {"givenById": w.pid("ingrid")}},
            "NOT_FOUND",
        ),
        Rejected("revokeConsent", "ola", REVOKE_CONSENT, {"p": unknown()}, "NOT_FOUND"),
        Rejected(
            "addParticipant to an unknown plan",
            "ola",
            ADD,
            {"p": unknown(), "who": w.pid("nils"), "role": "RELATIVE"},
            "NOT_FOUND",
        ),
        Rejected(
            "updateParticipant",
            "ola",
            UPDATE_PARTICIPANT,
            {"id": unknown(), "resp": "X"},
            "NOT_FOUND",
        ),
        Rejected("removeParticipant", "ola", REMOVE, {"id": unknown()}, "NOT_FOUND"),
        Rejected(
            "setNotification",
            "sara",
            SET_NOTIFICATION,
            {"id": unknown(), "event": "COMMENT"},
            "NOT_FOUND",
        ),
        Rejected(
            "updatePerson",
            "admin",
            UPDATE_PERSON,
            {"id": unknown(), "in": {"position": "X"}},
            "NOT_FOUND",
        ),
        Rejected(
            "setGlobalRoles",
            "admin",
            SET_ROLES,
            {"id": unknown(), "roles": ["REPORTER"]},
            "NOT_FOUND",
        ),
        # Real ids the viewer may not know of: the same answer as unknown ones.
        Rejected("a plan Nils is not in", "nils", PLAN, {"id": w.plan_id}, "NOT_FOUND"),
        Rejected(
            "a participant of a plan Nils is not in",
            "nils",
            UPDATE_PARTICIPANT,
            {"id": w.participant["sara"], "resp": "X"},
            "NOT_FOUND",
        ),
        Rejected(
            "removing from a plan Nils is not in",
            "nils",
            REMOVE,
            {"id": w.participant["rune"]},
            "NOT_FOUND",
        ),
        Rejected(
            "notifications in a plan Nils is not in",
            "nils",
            SET_NOTIFICATION,
            {"id": w.participant["sara"], "event": "COMMENT"},
            "NOT_FOUND",
        ),
        Rejected(
            "updatePlan of a plan Nils is not in",
            "nils",
            UPDATE_PLAN,
            {"id": w.plan_id, "name": "X"},
            "NOT_FOUND",
        ),
        # A person id given as an argument that names no person is bad input to that field.
        Rejected(
            "addParticipant of an unknown person",
            "ola",
            ADD,
            {"p": w.plan_id, "who": unknown(), "role": "RELATIVE"},
            "BAD_USER_INPUT",
            field="personId",
        ),
        Rejected(
            "createPlan for an unknown owner",
            "enhet",
            CREATE_PLAN,
            {
                "in": {
                    "ownerId": unknown(),
                    "shortName": "X",
                    "type": "IP",
                    "startDate": "2026-11-01",
                    "coordinatorId": w.pid("ola"),
                }
            },
            "BAD_USER_INPUT",
            field="ownerId",
        ),
    ]
    for case in cases:
        await check_rejected(w, case)


async def test_malformed_ids_name_the_field(world: World) -> None:
    w = world
    bad = "not-an-id"
    plan_input = {
        "ownerId": w.pid("ingrid"),
        "shortName": "X",
        "type": "IP",
        "startDate": "2026-11-01",
        "coordinatorId": w.pid("ola"),
    }
    cases = [
        Rejected("plan", "ola", PLAN, {"id": bad}, "BAD_USER_INPUT", "id"),
        Rejected("person", "ola", PERSON, {"id": bad}, "BAD_USER_INPUT", "id"),
        Rejected(
            "updatePlan", "ola", UPDATE_PLAN, {"id": bad, "name": "X"}, "BAD_USER_INPUT", "id"
        ),
        Rejected("markPlanVisited", "ola", VISITED, {"id": bad}, "BAD_USER_INPUT", "id"),
        Rejected(
            "recordConsent planId",
            "ola",
            RECORD_CONSENT,
            {"p": bad, "in": CONSENT_INPUT | {"givenById": w.pid("ingrid")}},
            "BAD_USER_INPUT",
            "planId",
        ),
        Rejected(
            "recordConsent givenById",
            "ola",
            RECORD_CONSENT,
            {"p": w.plan_id, "in": CONSENT_INPUT | {"givenById": bad}},
            "BAD_USER_INPUT",
            "givenById",
        ),
        Rejected("revokeConsent", "ola", REVOKE_CONSENT, {"p": bad}, "BAD_USER_INPUT", "planId"),
        Rejected(
            "addParticipant planId",
            "ola",
            ADD,
            {"p": bad, "who": w.pid("nils"), "role": "RELATIVE"},
            "BAD_USER_INPUT",
            "planId",
        ),
        Rejected(
            "addParticipant personId",
            "ola",
            ADD,
            {"p": w.plan_id, "who": bad, "role": "RELATIVE"},
            "BAD_USER_INPUT",
            "personId",
        ),
        Rejected(
            "updateParticipant",
            "ola",
            UPDATE_PARTICIPANT,
            {"id": bad, "resp": "X"},
            "BAD_USER_INPUT",
            "id",
        ),
        Rejected("removeParticipant", "ola", REMOVE, {"id": bad}, "BAD_USER_INPUT", "id"),
        Rejected(
            "setNotification",
            "sara",
            SET_NOTIFICATION,
            {"id": bad, "event": "COMMENT"},
            "BAD_USER_INPUT",
            "participantId",
        ),
        Rejected(
            "updatePerson",
            "admin",
            UPDATE_PERSON,
            {"id": bad, "in": {"position": "X"}},
            "BAD_USER_INPUT",
            "id",
        ),
        Rejected(
            "setGlobalRoles",
            "admin",
            SET_ROLES,
            {"id": bad, "roles": ["REPORTER"]},
            "BAD_USER_INPUT",
            "personId",
        ),
        Rejected(
            "createPlan ownerId",
            "enhet",
            CREATE_PLAN,
            {"in": plan_input | {"ownerId": bad}},
            "BAD_USER_INPUT",
            "ownerId",
        ),
        Rejected(
            "createPlan coordinatorId",
            "enhet",
            CREATE_PLAN,
            {"in": plan_input | {"coordinatorId": bad}},
            "BAD_USER_INPUT",
            "coordinatorId",
        ),
    ]
    for case in cases:
        await check_rejected(w, case)


# --- invalid enum values and dates ------------------------------------------------------------


async def test_invalid_enums_and_dates_are_bad_input_not_internal(world: World) -> None:
    w = world
    consent = CONSENT_INPUT | {"givenById": w.pid("ingrid")}
    plan_input = {
        "ownerId": w.pid("nils"),
        "shortName": "X",
        "type": "IP",
        "startDate": "2026-11-01",
        "coordinatorId": w.pid("ola"),
    }
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        ("role", "ola", ADD, {"p": w.plan_id, "who": w.pid("nils"), "role": "BOSS"}),
        (
            "relation",
            "ola",
            RECORD_CONSENT,
            {"p": w.plan_id, "in": consent | {"givenByRelation": "MOTHER"}},
        ),
        (
            "access",
            "ola",
            RECORD_CONSENT,
            {"p": w.plan_id, "in": consent | {"defaultGrant": {"goals": "ALL"}}},
        ),
        (
            "rights",
            "ola",
            UPDATE_PARTICIPANT,
            {"id": w.participant["sara"], "rights": {"messages": "EVERYTHING"}},
        ),
        (
            "month 13",
            "ola",
            RECORD_CONSENT,
            {"p": w.plan_id, "in": consent | {"givenOn": "2026-13-01"}},
        ),
        (
            "not a date",
            "ola",
            RECORD_CONSENT,
            {"p": w.plan_id, "in": consent | {"expiresOn": "next year"}},
        ),
        (
            "Norwegian date format",
            "enhet",
            CREATE_PLAN,
            {"in": plan_input | {"startDate": "01.11.2026"}},
        ),
        ("plan type", "enhet", CREATE_PLAN, {"in": plan_input | {"type": "PLAN"}}),
        (
            "30 February",
            "ola",
            UPDATE_PARTICIPANT,
            {"id": w.participant["sara"], "until": "2027-02-30"},
        ),
        ("filter type", "ola", PLANS, {"f": {"type": "XYZ"}}),
        ("updatePlan type", "ola", UPDATE_PLAN, {"id": w.plan_id, "type": "IEP"}),
        ("event", "sara", SET_NOTIFICATION, {"id": w.participant["sara"], "event": "ALL"}),
        ("person field", "sara", SET_VISIBILITY, {"f": "NAME", "v": "ALL"}),
        ("visibility", "sara", SET_VISIBILITY, {"f": "MOBILE", "v": "PUBLIC"}),
        ("global role", "admin", SET_ROLES, {"id": w.pid("nils"), "roles": ["KING"]}),
        ("birth date", "ola", SEARCH, {"last": "Moe", "born": "17.05.1990"}),
        (
            "birth date in input",
            "sara",
            UPDATE_PERSON,
            {"id": w.pid("sara"), "in": {"birthDate": "1990-02-29"}},
        ),
        # The extremes Python can hold are PostgreSQL's infinity once stored: refused.
        (
            "the last date there is",
            "ola",
            RECORD_CONSENT,
            {"p": w.plan_id, "in": consent | {"expiresOn": "9999-12-31"}},
        ),
        (
            "the first date there is",
            "ola",
            UPDATE_PLAN_REVISION,
            {"id": w.plan_id, "r": "0001-01-01"},
        ),
        (
            "year 3000",
            "ola",
            UPDATE_PARTICIPANT,
            {"id": w.participant["sara"], "until": "3000-01-01"},
        ),
    ]
    for what, who, query, variables in cases:
        error = await check_rejected(w, Rejected(what, who, query, variables, "BAD_USER_INPUT"))
        assert error["message"] != "Internal error.", (what, error)
    # The same in the query text itself.
    literal = f"""mutation {{ updateParticipant(id: "{w.participant["sara"]}",
      consentExpiresOn: "2027-02-30") {{ id }} }}"""
    await check_rejected(w, Rejected("literal date", "ola", literal, {}, "BAD_USER_INPUT"))
    literal = (
        f"""mutation {{ updatePlan(id: "{w.plan_id}", revisionDate: "9999-12-31") {{ id }} }}"""
    )
    await check_rejected(w, Rejected("literal last date", "ola", literal, {}, "BAD_USER_INPUT"))
    # The last year accepted is stored and read back as it was sent, on both read paths.
    body = await w.post("ola", UPDATE_PLAN_REVISION, {"id": w.plan_id, "r": "2999-12-31"})
    assert body["data"]["updatePlan"]["revisionDate"] == "2999-12-31", body


# --- rules of the plan -----------------------------------------------------------------------


async def test_plan_rules_refuse_with_their_codes(world: World) -> None:
    w = world
    cases = [
        Rejected(
            "a consent expiring before it was given",
            "ola",
            RECORD_CONSENT,
            {
                "p": w.plan_id,
                "in": CONSENT_INPUT
                | {
                    "givenById": w.pid("ingrid"),
                    "givenOn": "2026-11-10",
                    "expiresOn": "2026-11-09",
                },
            },
            "BAD_USER_INPUT",
            field="expiresOn",
        ),
        Rejected(
            "a participant's consent expiring before the consent was given",
            "ola",
            UPDATE_PARTICIPANT,
            {"id": w.participant["sara"], "until": "2026-10-31"},
            "BAD_USER_INPUT",
            field="consentExpiresOn",
        ),
        Rejected(
            "adding a person twice",
            "ola",
            ADD,
            {"p": w.plan_id, "who": w.pid("sara"), "role": "RELATIVE"},
            "BAD_USER_INPUT",
            field="personId",
        ),
        Rejected(
            "adding the owner again",
            "ola",
            ADD,
            {"p": w.plan_id, "who": w.pid("ingrid"), "role": "GUARDIAN"},
            "BAD_USER_INPUT",
            field="personId",
        ),
        Rejected(
            "removing the owner",
            "ola",
            REMOVE,
            {"id": w.participant["ingrid"]},
            "BAD_USER_INPUT",
            field="id",
        ),
        Rejected(
            "removing the coordinator",
            "ola",
            REMOVE,
            {"id": w.participant["ola"]},
            "BAD_USER_INPUT",
            field="id",
        ),
    ]
    for who in ("sara", "ingrid", "rune"):
        cases.append(
            Rejected(
                f"{who} changing rights",
                who,
                UPDATE_PARTICIPANT,
                {
                    "id": w.participant["rune" if who != "rune" else "sara"],
                    "rights": {"goals": "WRITE"},
                },
                "FORBIDDEN",
                reason="ROLE_REQUIRED",
            )
        )
        cases.append(
            Rejected(
                f"{who} raising own rights",
                who,
                UPDATE_PARTICIPANT,
                {"id": w.participant[who], "rights": {"participants": "WRITE"}},
                "FORBIDDEN",
                reason="ROLE_REQUIRED",
            )
        )
    for who in ("nils", "ola", "sara"):
        cases.append(
            Rejected(
                f"createPlan by {who}",
                who,
                CREATE_PLAN,
                {
                    "in": {
                        "ownerId": w.pid("nils"),
                        "shortName": "Min plan",
                        "type": "IP",
                        "startDate": "2026-11-01",
                        "coordinatorId": w.pid("ola"),
                    }
                },
                "FORBIDDEN",
                reason="ROLE_REQUIRED",
            )
        )
    for case in cases:
        await check_rejected(w, case)


async def test_duplicate_person_is_found_case_insensitively_and_trimmed(world: World) -> None:
    """Names match trimmed and case-insensitively. The system administrator keeps the person
    register and is told which person it is; the coordinating unit, who may not see Kari's
    birth date, only that she may exist (tests/http/test_person_duplicates.py)."""
    w = world
    kari = {"firstName": "Kari", "lastName": "Nordmann", "birthDate": "1990-05-17"}
    created = ok(await w.post("enhet", CREATE_PERSON, {"in": kari}))["createPerson"]
    async with w.gateway.pool.acquire() as conn:
        persons_before = await conn.fetchval("SELECT count(*) FROM persons")
    for first, last in ((" kari ", "NORDMANN"), ("KARI", " nordmann "), ("Kari", "Nordmann")):
        same = {"in": kari | {"firstName": first, "lastName": last}}
        error = only_error(await w.post("admin", CREATE_PERSON, same))
        assert error["extensions"] == {"code": "DUPLICATE_PERSON", "existingId": created["id"]}
        error = await check_rejected(
            w, Rejected(f"{first!r} {last!r}", "enhet", CREATE_PERSON, same, "POSSIBLE_DUPLICATE")
        )
        assert error["extensions"] == {"code": "POSSIBLE_DUPLICATE"}
    async with w.gateway.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM persons") == persons_before
    # Another birth date is another person.
    other = await w.post("admin", CREATE_PERSON, {"in": kari | {"birthDate": "1991-05-17"}})
    assert ok(other)["createPerson"]["id"] != created["id"]
    assert await audit_actions(w, "person.created", w.pid("enhet")) == 1
    assert await audit_actions(w, "person.created", w.pid("admin")) == 1


async def test_page_sizes_and_cursors_are_checked(world: World) -> None:
    w = world
    garbage = [
        "not-a-cursor!",
        base64.urlsafe_b64encode(b"hello").decode(),
        base64.urlsafe_b64encode(b"2026-11-01T00:00:00+00:00|not-a-uuid").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    ]
    cases = [
        Rejected(
            "searchPersons first 51",
            "ola",
            SEARCH,
            {"last": "M", "n": 51},
            "BAD_USER_INPUT",
            "first",
        ),
        Rejected(
            "searchPersons first 0", "ola", SEARCH, {"last": "M", "n": 0}, "BAD_USER_INPUT", "first"
        ),
        Rejected("plans first 500", "ola", PLANS, {"n": 500}, "BAD_USER_INPUT", "first"),
        Rejected("plans first -1", "ola", PLANS, {"n": -1}, "BAD_USER_INPUT", "first"),
    ] + [
        Rejected(f"cursor {c!r}", "ola", PLANS, {"after": c}, "BAD_USER_INPUT", "after")
        for c in garbage
    ]
    for case in cases:
        await check_rejected(w, case)


# --- searchPersons ----------------------------------------------------------------------------


async def test_search_persons_by_prefix_with_norwegian_letters(world: World) -> None:
    w = world
    async with w.gateway.pool.acquire() as conn:
        for first, last in (
            ("Øyvind", "Lunde"),
            ("Oyvind", "Olsen"),
            ("Ragnhild", "Æsedal"),
            ("Ågot", "Lie"),
            ("Agnes", "Aasen"),
            *((f"Hans{i}", "Hansen") for i in range(5)),
        ):
            await persons.insert(conn, {"first_name": first, "last_name": last})

    async def names(**args: Any) -> list[str]:
        body = await w.post("nils", SEARCH, args)
        return [f"{p['firstName']} {p['lastName']}" for p in ok(body)["searchPersons"]]

    assert await names(first="øy") == ["Øyvind Lunde"]
    assert await names(first="ØY") == ["Øyvind Lunde"]
    assert await names(first="oy") == ["Oyvind Olsen"]  # ø is a letter of its own
    assert await names(last="ÆSE") == ["Ragnhild Æsedal"]
    assert await names(last="æse") == ["Ragnhild Æsedal"]
    assert await names(last="sedal") == []  # a prefix, not a substring
    assert await names(first="å") == ["Ågot Lie"]
    assert await names(first="Å", last="li") == ["Ågot Lie"]
    assert "Ågot Lie" not in await names(first="a")

    assert len(await names(last="hansen", n=3)) == 3
    assert sorted(await names(last="hansen", n=50)) == [f"Hans{i} Hansen" for i in range(5)]
    assert len(await names(last="HANS")) == 5  # the default first (20) is above 5

    anonymous = await w.post(None, SEARCH, {"first": "øy"})
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    assert anonymous["data"] is None


# --- the plan list: filter and pages ---------------------------------------------------------


async def test_plan_list_filter_and_cursor_pages(world: World) -> None:
    w = world
    pool = w.gateway.pool
    kristin = await make_user(pool, "kristin", first_name="Kristin")
    w.tokens["kristin"] = await session_for(pool, kristin)
    owners = (
        ("Anna", "Berg", "IP"),
        ("Anders", "Bakke", "IOP"),
        ("Berit", "Aas", "IP"),
        ("Anne", "Berge", "IP"),  # ended below
        ("Åse", "Dahl", "IUP"),
    )
    plan_of = {}
    async with pool.acquire() as conn:
        born = {
            f: await persons.insert(conn, {"first_name": f, "last_name": ln}) for f, ln, _ in owners
        }
    for first, _, plan_type in owners:
        w.gateway.clock.advance(minutes=1)
        body = await w.post(
            "enhet",
            CREATE_PLAN,
            {
                "in": {
                    "ownerId": str(born[first].id),
                    "shortName": f"Plan for {first}",
                    "type": plan_type,
                    "startDate": "2026-11-01",
                    "coordinatorId": str(kristin.person_id),
                }
            },
        )
        plan_of[first] = ok(body)["createPlan"]["id"]
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE plans SET status = 'ENDED', end_date = '2026-11-20' WHERE id = $1",
            uuid.UUID(plan_of["Anne"]),
        )

    async def owners_of(flt: dict[str, Any] | None) -> tuple[set[str], int]:
        data = ok(await w.post("kristin", PLANS, {"f": flt}))["plans"]
        found = {e["node"]["owner"]["person"]["firstName"] for e in data["edges"]}
        assert data["totalCount"] == len(found)
        return found, data["totalCount"]

    active = {"Anna", "Anders", "Berit", "Åse"}
    assert await owners_of(None) == (active, 4)
    assert await owners_of({"includeEnded": True}) == (active | {"Anne"}, 5)
    assert (await owners_of({"ownerFirstName": "an"}))[0] == {"Anna", "Anders"}
    assert (await owners_of({"ownerFirstName": "AN", "includeEnded": True}))[0] == {
        "Anna",
        "Anders",
        "Anne",
    }
    assert (await owners_of({"ownerLastName": "berg"}))[0] == {"Anna"}
    assert (await owners_of({"ownerLastName": "BERG", "includeEnded": True}))[0] == {
        "Anna",
        "Anne",
    }
    assert (await owners_of({"ownerFirstName": "å"}))[0] == {"Åse"}
    assert (await owners_of({"type": "IOP"}))[0] == {"Anders"}
    assert (await owners_of({"type": "IP", "includeEnded": True}))[0] == {"Anna", "Berit", "Anne"}
    assert (await owners_of({"ownerFirstName": "an", "type": "IP"}))[0] == {"Anna"}
    assert (await owners_of({"ownerFirstName": "Zz"}))[0] == set()
    # Other people's plans never show: Ola's list has only Ingrid's plan.
    olas = ok(await w.post("ola", PLANS, {"f": {"includeEnded": True}}))["plans"]
    assert [e["node"]["id"] for e in olas["edges"]] == [w.plan_id]

    for flt, total in ((None, 4), ({"includeEnded": True}, 5)):
        seen: list[str] = []
        after = None
        pages = 0
        while True:
            data = ok(await w.post("kristin", PLANS, {"f": flt, "n": 2, "after": after}))["plans"]
            pages += 1
            assert data["totalCount"] == total  # the total of the list, not of the page
            ids = [e["node"]["id"] for e in data["edges"]]
            assert len(ids) <= 2
            seen += ids
            if ids:
                assert data["pageInfo"]["endCursor"] == data["edges"][-1]["cursor"]
            if not data["pageInfo"]["hasNextPage"]:
                break
            assert len(ids) == 2
            after = data["pageInfo"]["endCursor"]
        assert len(seen) == len(set(seen)) == total
        assert pages == (total + 1) // 2
    # Oldest first: the plans came in the order they were created.
    first_two = ok(await w.post("kristin", PLANS, {"n": 2}))["plans"]
    assert [e["node"]["id"] for e in first_two["edges"]] == [plan_of["Anna"], plan_of["Anders"]]
    assert first_two["pageInfo"]["hasNextPage"] is True


# --- persons: editing, visibility, global roles ----------------------------------------------


async def audit_actions(w: World, action: str, actor: str, target: str | None = None) -> int:
    async with w.gateway.pool.acquire() as conn:
        n: int = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = $1 AND actor_id = $2"
            " AND ($3::text IS NULL OR target = $3)",
            action,
            uuid.UUID(actor),
            target,
        )
    return n


async def test_update_person_by_self_and_by_co_participants_with_edit_person(
    world: World, smtp: Mailbox
) -> None:
    w = world
    sara, rune = w.pid("sara"), w.pid("rune")
    await w.gateway.deliver()  # what the plan's creation sent
    sent_before = len(smtp.messages)

    mine = ok(
        await w.post("sara", UPDATE_PERSON, {"id": sara, "in": {"position": "Fysioterapeut"}})
    )
    assert mine["updatePerson"]["position"] == "Fysioterapeut"
    assert await audit_actions(w, "person.updated", sara, sara) == 1

    # Rune's rights in the shared plan include editPerson; the owner and the coordinator
    # have it while the plan is active.
    for who, values in (
        ("rune", {"workplace": "Bergen kommune"}),
        ("ola", {"phone": "55 55 55 55"}),
        ("ingrid", {"position": "Spesialfysioterapeut"}),
    ):
        body = await w.post(who, UPDATE_PERSON, {"id": sara, "in": values})
        row = ok(body)["updatePerson"]
        for key, value in values.items():
            assert row[key] == value
        assert await audit_actions(w, "person.updated", w.pid(who), sara) == 1

    # Without editPerson or a shared plan: refused, and nothing changes.
    for who, target in (("sara", rune), ("nils", sara), ("enhet", sara)):
        await check_rejected(
            w,
            Rejected(
                f"{who} editing",
                who,
                UPDATE_PERSON,
                {"id": target, "in": {"position": "Hacker"}},
                "FORBIDDEN",
                reason="ROLE_REQUIRED",
            ),
        )
    # The admin may.
    admin_edit = """mutation($id: ID!, $in: PersonInput!) { updatePerson(id: $id, input: $in) {
      position } }"""
    body = await w.post("admin", admin_edit, {"id": rune, "in": {"position": "Far"}})
    assert ok(body)["updatePerson"]["position"] == "Far"

    # No contact change so far: no notice.
    await w.gateway.deliver()
    assert len(smtp.messages) == sent_before

    # A new e-mail address for an account holder waits for her to confirm it
    # (docs/accounts-and-contact-data.md; the attack it stops: tests/http/test_contact_takeover.py):
    # a link to the new address, a notice to the confirmed address and mobile.
    old_email = w.users["sara"].email
    assert old_email is not None
    to_old = len(smtp.bodies_to(old_email))  # the notice that she was added to the plan
    body = await w.post("sara", UPDATE_PERSON, {"id": sara, "in": {"email": "sara.moe@example.no"}})
    assert ok(body)["updatePerson"]["email"] == old_email  # not yet
    assert await w.gateway.deliver() == 3
    assert len(smtp.bodies_to(old_email)) == to_old + 1
    assert "e-postadressen" in smtp.bodies_to(old_email)[-1]
    [link] = smtp.bodies_to("sara.moe@example.no")
    confirm = "mutation($t: String!) { confirmContactChange(token: $t) { email } }"
    body = await w.post("sara", confirm, {"t": re.findall(r"\?token=([\w-]+)", link)[0]})
    assert ok(body)["confirmContactChange"]["email"] == "sara.moe@example.no"
    assert await w.gateway.deliver() == 1  # the change notice, to the address confirmed until now
    assert "e-postadressen" in smtp.bodies_to(old_email)[-1]

    # A new mobile, set by Rune: it waits for Sara too; a link by SMS to the new number and a
    # notice to her (now confirmed) address and her current mobile.
    body = await w.post("rune", UPDATE_PERSON, {"id": sara, "in": {"mobile": "91 00 00 99"}})
    assert ok(body)["updatePerson"]["mobile"] == "+4791000003"
    assert await w.gateway.deliver() == 3
    notices = smtp.bodies_to("sara.moe@example.no")
    assert len(notices) == 2
    assert "mobilnummeret" in notices[-1]
    for text in notices:
        assert "Ingrids plan" not in text  # notices never carry plan content
    # Her current mobile again is no change, and sends nothing.
    ok(await w.post("rune", UPDATE_PERSON, {"id": sara, "in": {"mobile": "+4791000003"}}))
    assert await w.gateway.deliver() == 0


async def test_field_visibility_is_set_and_read_back(world: World) -> None:
    w = world
    sara = w.pid("sara")
    body = await w.post("sara", SET_VISIBILITY, {"f": "MOBILE", "v": "PRIVATE"})
    chosen = {
        x["field"]: x["visibility"] for x in ok(body)["setFieldVisibility"]["fieldVisibility"]
    }
    assert chosen["MOBILE"] == "PRIVATE"
    ok(await w.post("sara", SET_VISIBILITY, {"f": "EMAIL", "v": "ALL"}))

    me = ok(await w.post("sara", "query { me { fieldVisibility { field visibility } } }"))
    read_back = {x["field"]: x["visibility"] for x in me["me"]["fieldVisibility"]}
    defaults = dict.fromkeys(
        ("BIRTH_DATE", "WORKPLACE", "EMAIL", "MOBILE", "PHONE", "FAX", "ADDRESS"), "PLAN"
    )
    assert read_back == defaults | {"MOBILE": "PRIVATE", "EMAIL": "ALL"}
    assert await audit_actions(w, "person.visibility", sara, sara) == 2

    contact = """query($id: ID!) { person(id: $id) { email mobile visibleFields
      fieldVisibility { field } } }"""
    # Nils shares no plan with Sara: e-mail (ALL) only. Ola shares one: still no mobile.
    for who in ("nils", "ola"):
        body = await w.post(who, contact, {"id": sara})
        person = body["data"]["person"]
        assert person["email"] == w.users["sara"].email
        assert person["mobile"] is None
        assert person["fieldVisibility"] is None  # the person themself only
        assert "MOBILE" not in person["visibleFields"]
        reasons = {e["path"][-1]: e["extensions"].get("reason") for e in body["errors"]}
        assert reasons == {"mobile": "FIELD_HIDDEN", "fieldVisibility": "ROLE_REQUIRED"}


async def test_global_roles_are_set_by_a_system_admin_only(world: World) -> None:
    w = world
    nils = w.pid("nils")
    for who in ("enhet", "ola", "nils"):
        await check_rejected(
            w,
            Rejected(
                f"{who} setting roles",
                who,
                SET_ROLES,
                {"id": nils, "roles": ["SYSTEM_ADMIN"]},
                "FORBIDDEN",
                reason="ROLE_REQUIRED",
            ),
        )
    body = await w.post("admin", SET_ROLES, {"id": nils, "roles": ["REPORTER", "LOCAL_ADMIN"]})
    assert sorted(ok(body)["setGlobalRoles"]["globalRoles"]) == ["LOCAL_ADMIN", "REPORTER"]
    me = ok(await w.post("nils", "query { me { globalRoles } }"))
    assert sorted(me["me"]["globalRoles"]) == ["LOCAL_ADMIN", "REPORTER"]
    assert await audit_actions(w, "person.global_roles", w.pid("admin"), nils) == 1
    # A LOCAL_ADMIN still may not set global roles.
    await check_rejected(
        w,
        Rejected(
            "local admin setting roles",
            "nils",
            SET_ROLES,
            {"id": nils, "roles": ["SYSTEM_ADMIN"]},
            "FORBIDDEN",
            reason="ROLE_REQUIRED",
        ),
    )


# --- visits -----------------------------------------------------------------------------------


async def test_mark_plan_visited_resets_changed_since_my_last_visit(world: World) -> None:
    w = world

    async def changed(who: str) -> bool:
        data = ok(await w.post(who, PLANS, {}))["plans"]
        (edge,) = data["edges"]
        flag: bool = edge["node"]["changedSinceMyLastVisit"]
        return flag

    assert await changed("sara") is True  # never visited
    body = ok(await w.post("sara", VISITED, {"id": w.plan_id}))
    assert body["markPlanVisited"]["changedSinceMyLastVisit"] is False
    assert await changed("sara") is False
    assert await changed("ola") is True  # Sara's visit is hers alone
    assert await audit_actions(w, "plan.visited", w.pid("sara"), w.plan_id) == 1

    # (Within the sessions' 30 idle minutes.)
    w.gateway.clock.advance(minutes=20)
    assert await changed("sara") is False  # time alone changes nothing
    ok(await w.post("ola", UPDATE_PLAN, {"id": w.plan_id, "name": "Ingrids plan 2027"}))
    assert await audit_actions(w, "plan.updated", w.pid("ola"), w.plan_id) == 1
    assert await changed("sara") is True

    w.gateway.clock.advance(minutes=5)
    ok(await w.post("sara", VISITED, {"id": w.plan_id}))
    assert await changed("sara") is False
    # Someone who does not take part cannot mark it, and cannot learn it exists.
    await check_rejected(
        w, Rejected("outsider visit", "nils", VISITED, {"id": w.plan_id}, "NOT_FOUND")
    )


async def test_plan_and_participant_changes_are_audited(world: World) -> None:
    w = world
    ola, sara = w.pid("ola"), w.pid("sara")
    assert await audit_actions(w, "plan.created", w.pid("enhet"), w.plan_id) == 1
    assert await audit_actions(w, "consent.recorded", ola, w.plan_id) == 1
    assert await audit_actions(w, "participant.added", ola, w.plan_id) == 2

    ok(
        await w.post(
            "ola", UPDATE_PARTICIPANT, {"id": w.participant["sara"], "rights": {"messages": "READ"}}
        )
    )
    assert await audit_actions(w, "participant.updated", ola, w.plan_id) == 1
    ok(await w.post("sara", SET_NOTIFICATION, {"id": w.participant["sara"], "event": "COMMENT"}))
    assert await audit_actions(w, "notification.set", sara, w.plan_id) == 1
    ok(await w.post("ola", REMOVE, {"id": w.participant["rune"]}))
    assert await audit_actions(w, "participant.removed", ola, w.plan_id) == 1
    ok(await w.post("ingrid", REVOKE_CONSENT, {"p": w.plan_id}))
    assert await audit_actions(w, "consent.revoked", w.pid("ingrid"), w.plan_id) == 1
    # Each row says when (the request's clock, UTC) and from where.
    async with w.gateway.pool.acquire() as conn:
        rows = await conn.fetch("SELECT at, client_addr FROM audit_log")
    assert rows
    for row in rows:
        assert row["at"] == w.gateway.clock.now
        assert row["client_addr"] == "127.0.0.1"
