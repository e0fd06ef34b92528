"""Cross-plan secrecy: a person in two plans, seen by a member of one of them.

DESIGN.md, "The access model", rule 2: a person exists once in the municipality and may be
a service provider in one plan and a relative in another; nobody outside a plan may learn
the role or the plan. The role and the responsibility exist only on Participant, so they
are reachable only through a plan the viewer is in; a plan the viewer may not know of is
NOT_FOUND, never FORBIDDEN.

Here Pål is a SERVICE_PROVIDER in plan A and a RELATIVE in plan B (other owner, other
coordinator, a responsibility text in both). Xenia is a service provider in A only. Every
answer Xenia gets is searched for B's id, B's short name, Pål's responsibility in B, Pål's
participant id in B and the word RELATIVE (nobody in A is a relative).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from tests.conftest import Gateway
from tests.support import User, error_codes, make_user, only_error, session_for

# Every gateway test here runs with compiled reads forced on and forced off (tests/conftest.py).
pytestmark = pytest.mark.both_read_paths

CREATE_PLAN = """mutation($in: CreatePlanInput!) { createPlan(input: $in) { id } }"""
RECORD_CONSENT = """mutation($p: ID!, $in: ConsentInput!) { recordConsent(planId: $p, input: $in)
  { id } }"""
REVOKE_CONSENT = """mutation($p: ID!) { revokeConsent(planId: $p) { revokedOn } }"""
ADD = """mutation($p: ID!, $who: ID!, $role: Role!, $resp: String) {
  addParticipant(planId: $p, personId: $who, role: $role, responsibility: $resp) { id } }"""

PERSON_FIELDS = """id firstName lastName position birthDate workplace email mobile phone fax
  address { street postcode city } visibleFields"""
PARTICIPANT_FIELDS = f"""id role responsibility consentExpiresOn joinedOn leftOn
  rights {{ participants goals editPerson print }} notifications {{ event sms email }}
  person {{ {PERSON_FIELDS} }}"""
PLAN_FIELDS = f"""id shortName type status startDate endDate revisionDate lastArchivedAt
  changedSinceMyLastVisit hasUnreadMessages consentExpiresOn consentExpiresInDays
  myAccess {{ participants goals activities messages calendar documents editPerson print }}
  myParticipation {{ id role responsibility }}
  owner {{ id role responsibility person {{ id firstName }} }}
  coordinator {{ id role responsibility person {{ id firstName }} }}
  participants {{ {PARTICIPANT_FIELDS} plan {{ id shortName participants {{ id role }} }} }}"""

PLAN_QUERY = f"query($id: ID!) {{ plan(id: $id) {{ {PLAN_FIELDS} }} }}"
PLANS_QUERY = f"""query($f: PlanFilter) {{ plans(filter: $f) {{ totalCount
  edges {{ cursor node {{ {PLAN_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
PERSON_QUERY = f"""query($id: ID!) {{ person(id: $id) {{ {PERSON_FIELDS}
  fieldVisibility {{ field visibility }} otpChannel globalRoles }} }}"""
SEARCH_QUERY = f"""query($first: String, $last: String) {{
  searchPersons(firstName: $first, lastName: $last) {{ {PERSON_FIELDS} }} }}"""
ME_QUERY = f"query {{ me {{ {PERSON_FIELDS} }} }}"

# Type names that carry plan membership; none may be reachable from Person.
PLAN_TYPES = {"Plan", "Participant", "Role", "PlanConnection", "PlanEdge", "Consent", "AccessGrant"}
TYPE_QUERY = """query($name: String!) { __type(name: $name) { fields { name
  type { name kind ofType { name kind ofType { name kind ofType { name kind } } } } } } }"""


@dataclass
class TwoPlans:
    gateway: Gateway
    a: str
    b: str
    pal: User
    xenia: User
    tokens: dict[str, str]
    pal_in_a: str
    pal_in_b: str
    secrets: tuple[str, ...]

    async def post(
        self, who: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = await self.gateway.client.post(query, variables, token=self.tokens[who])
        if who == "xenia":
            assert_no_secret(body, self.secrets)
        return body


def assert_no_secret(body: dict[str, Any], secrets: tuple[str, ...]) -> None:
    text = json.dumps(body, ensure_ascii=False)
    for secret in secrets:
        assert secret not in text, (secret, body)


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


# Of another participant, only that participant, the owner and the coordinator read the
# rights and consent expiry, and only the participant their notification settings.
PERSONAL = {"rights", "consentExpiresOn", "notifications"}


def group_data(body: dict[str, Any]) -> dict[str, Any]:
    """The data of a plan query, whose only errors are other participants' personal fields."""
    for error in body.get("errors", []):
        assert error["extensions"] == {"code": "FORBIDDEN", "reason": "ROLE_REQUIRED"}, error
        assert error["path"][-1] in PERSONAL, error
    data: dict[str, Any] = body["data"]
    return data


async def _plan(
    gateway: Gateway,
    unit: str,
    coordinator_token: str,
    *,
    owner: User,
    coordinator: User,
    short_name: str,
) -> str:
    created = ok(
        await gateway.client.post(
            CREATE_PLAN,
            {
                "in": {
                    "ownerId": str(owner.person_id),
                    "shortName": short_name,
                    "type": "IP",
                    "startDate": "2026-11-01",
                    "coordinatorId": str(coordinator.person_id),
                }
            },
            token=unit,
        )
    )
    plan_id: str = created["createPlan"]["id"]
    ok(
        await gateway.client.post(
            RECORD_CONSENT,
            {
                "p": plan_id,
                "in": {
                    "givenById": str(owner.person_id),
                    "givenByRelation": "SELF",
                    "givenOn": "2026-11-01",
                    "expiresOn": "2027-11-01",
                    "defaultGrant": {"participants": "READ", "goals": "READ"},
                },
            },
            token=coordinator_token,
        )
    )
    return plan_id


async def _add(
    gateway: Gateway, token: str, plan_id: str, who: User, role: str, responsibility: str
) -> str:
    body = await gateway.client.post(
        ADD,
        {"p": plan_id, "who": str(who.person_id), "role": role, "resp": responsibility},
        token=token,
    )
    participant_id: str = ok(body)["addParticipant"]["id"]
    return participant_id


@pytest.fixture
async def world(gateway: Gateway) -> TwoPlans:
    pool = gateway.pool
    unit = await make_user(pool, "enhet", roles=("COORDINATING_UNIT",))
    owner_a = await make_user(pool, "astrid", first_name="Astrid", last_name="Aasen")
    coord_a = await make_user(pool, "arne", first_name="Arne", last_name="Alvik")
    owner_b = await make_user(pool, "bodil", first_name="Bodil", last_name="Brekke")
    coord_b = await make_user(pool, "bjorn", first_name="Bjørn", last_name="Bakke")
    pal = await make_user(
        pool, "pal", first_name="Pål", last_name="Pettersen", mobile="+4791112222"
    )
    xenia = await make_user(pool, "xenia", first_name="Xenia", last_name="Xu")
    users = {"enhet": unit, "arne": coord_a, "bjorn": coord_b, "pal": pal, "xenia": xenia}
    tokens = {name: await session_for(pool, u) for name, u in users.items()}

    b_name = f"Brekke-saken {uuid.uuid4().hex[:8]}"
    b_responsibility = f"Henter Bodil på avlastning hver fredag {uuid.uuid4().hex[:8]}"
    a = await _plan(
        gateway,
        tokens["enhet"],
        tokens["arne"],
        owner=owner_a,
        coordinator=coord_a,
        short_name="Aasen-planen",
    )
    b = await _plan(
        gateway,
        tokens["enhet"],
        tokens["bjorn"],
        owner=owner_b,
        coordinator=coord_b,
        short_name=b_name,
    )
    pal_in_a = await _add(
        gateway, tokens["arne"], a, pal, "SERVICE_PROVIDER", "Fysioterapi for Astrid"
    )
    pal_in_b = await _add(gateway, tokens["bjorn"], b, pal, "RELATIVE", b_responsibility)
    await _add(gateway, tokens["arne"], a, xenia, "SERVICE_PROVIDER", "Ergoterapi for Astrid")
    secrets = (b, b_name, b_responsibility, pal_in_b, "RELATIVE")
    return TwoPlans(gateway, a, b, pal, xenia, tokens, pal_in_a, pal_in_b, secrets)


async def test_the_other_plan_is_not_found(world: TwoPlans) -> None:
    body = await world.post("xenia", PLAN_QUERY, {"id": world.b})
    assert error_codes(body) == ["NOT_FOUND"]
    assert body["data"] == {"plan": None}
    # Exactly as for an id that never existed: nothing tells the two apart.
    unknown = await world.post("xenia", PLAN_QUERY, {"id": str(uuid.uuid4())})
    assert only_error(unknown)["message"] == only_error(body)["message"]

    # Ids of other kinds do not open it either.
    for guess in (world.pal_in_b, world.b):
        body = await world.post("xenia", PLAN_QUERY, {"id": guess})
        assert error_codes(body) == ["NOT_FOUND"]

    # The plan and Pål's membership are real: B's coordinator sees both.
    seen = group_data(await world.post("bjorn", PLAN_QUERY, {"id": world.b}))["plan"]
    pal_row = next(p for p in seen["participants"] if p["id"] == world.pal_in_b)
    assert pal_row["role"] == "RELATIVE"
    assert pal_row["responsibility"] == world.secrets[2]


async def test_the_plan_list_shows_only_the_shared_plan(world: TwoPlans) -> None:
    for flt in (None, {"includeEnded": True}, {"ownerFirstName": "Bodil", "includeEnded": True}):
        data = group_data(await world.post("xenia", PLANS_QUERY, {"f": flt}))
        ids = [e["node"]["id"] for e in data["plans"]["edges"]]
        expected = [] if flt and "ownerFirstName" in flt else [world.a]
        assert ids == expected
        assert data["plans"]["totalCount"] == len(expected)
    # Pål himself has both plans in his list.
    mine = group_data(await world.post("pal", PLANS_QUERY, {"f": None}))
    assert {e["node"]["id"] for e in mine["plans"]["edges"]} == {world.a, world.b}


async def test_plan_a_shows_only_the_participation_in_a(world: TwoPlans) -> None:
    plan = group_data(await world.post("xenia", PLAN_QUERY, {"id": world.a}))["plan"]
    pals = [p for p in plan["participants"] if p["person"]["id"] == str(world.pal.person_id)]
    assert len(pals) == 1
    assert pals[0]["id"] == world.pal_in_a
    assert pals[0]["role"] == "SERVICE_PROVIDER"
    assert pals[0]["responsibility"] == "Fysioterapi for Astrid"
    # Participant.plan leads back to A, and only to A, from every participant.
    for participant in plan["participants"]:
        assert participant["plan"]["id"] == world.a
        assert participant["plan"]["shortName"] == "Aasen-planen"
        inner = {p["id"] for p in participant["plan"]["participants"]}
        assert inner == {p["id"] for p in plan["participants"]}
    for lead in ("owner", "coordinator"):
        assert plan[lead]["id"] in {p["id"] for p in plan["participants"]}


async def test_person_fields_never_lead_to_a_plan(world: TwoPlans) -> None:
    # Structurally: no field of Person (or of what it nests) is a plan, a participant or a role.
    def named(ref: dict[str, Any]) -> str:
        while ref.get("ofType"):
            ref = ref["ofType"]
        name: str = ref["name"]
        return name

    seen: set[str] = set()
    todo = ["Person"]
    while todo:
        type_name = todo.pop()
        if type_name in seen:
            continue
        seen.add(type_name)
        body = await world.post("xenia", TYPE_QUERY, {"name": type_name})
        for f in ok(body)["__type"]["fields"] or []:
            target = named(f["type"])
            assert target not in PLAN_TYPES, (type_name, f["name"], target)
            kind = f["type"]
            while kind.get("ofType"):
                kind = kind["ofType"]
            if kind["kind"] == "OBJECT":
                todo.append(target)

    # And by value: Pål by id, by search (first name, last name, both), and Xenia herself.
    body = await world.post("xenia", PERSON_QUERY, {"id": str(world.pal.person_id)})
    person = body["data"]["person"]
    assert person["firstName"] == "Pål"
    for args in ({"first": "pål"}, {"last": "PETT"}, {"first": "På", "last": "Pettersen"}):
        found = ok(await world.post("xenia", SEARCH_QUERY, args))["searchPersons"]
        assert [p["id"] for p in found] == [str(world.pal.person_id)]
    ok(await world.post("xenia", ME_QUERY))


async def test_guessed_participant_ids_of_the_other_plan_are_not_found(
    world: TwoPlans, gateway: Gateway
) -> None:
    before = await _snapshot(gateway.pool)
    mutations = [
        """mutation($id: ID!) { updateParticipant(id: $id, responsibility: "Hijacked",
        rights: { participants: WRITE }) { id role responsibility } }""",
        "mutation($id: ID!) { removeParticipant(id: $id) { id role } }",
        """mutation($id: ID!) { setNotification(participantId: $id, event: COMMENT,
        sms: true, email: true) { id role responsibility } }""",
    ]
    for query in mutations:
        guessed = await world.post("xenia", query, {"id": world.pal_in_b})
        random = await world.post("xenia", query, {"id": str(uuid.uuid4())})
        assert error_codes(guessed) == ["NOT_FOUND"], (query, guessed)
        assert guessed["data"] is None
        # The same answer as for an id that does not exist.
        assert only_error(guessed)["message"] == only_error(random)["message"]

    # Plan-level mutations on B are NOT_FOUND too (on A, Xenia is merely not allowed).
    plan_mutations = [
        'mutation($id: ID!) { updatePlan(id: $id, shortName: "Hijacked") { id } }',
        "mutation($id: ID!) { markPlanVisited(id: $id) { id } }",
        "mutation($id: ID!) { revokeConsent(planId: $id) { id } }",
        f"""mutation($id: ID!) {{ addParticipant(planId: $id, personId: "{world.xenia.person_id}",
            role: SERVICE_PROVIDER) {{ id }} }}""",
        f"""mutation($id: ID!) {{ recordConsent(planId: $id, input: {{
            givenById: "{world.xenia.person_id}", givenByRelation: SELF, givenOn: "2026-11-01",
            expiresOn: "2027-01-01", defaultGrant: {{ participants: WRITE }} }}) {{ id }} }}""",
    ]
    for query in plan_mutations:
        body = await world.post("xenia", query, {"id": world.b})
        assert error_codes(body) == ["NOT_FOUND"], (query, body)
        on_a = await world.post("xenia", query, {"id": world.a})
        if "markPlanVisited" in query:
            assert "errors" not in on_a, on_a  # her own visit: allowed
        else:
            assert only_error(on_a)["extensions"] == {
                "code": "FORBIDDEN",
                "reason": "ROLE_REQUIRED",
            }, (query, on_a)

    after = await _snapshot(gateway.pool)
    # markPlanVisited on A is Xenia's own visit and allowed; nothing else changed.
    before.pop("plan_visits")
    after.pop("plan_visits")
    assert after == before


async def _snapshot(pool: asyncpg.Pool) -> dict[str, Any]:
    async with pool.acquire() as conn:
        return {
            "participants": [
                dict(r)
                for r in await conn.fetch(
                    "SELECT id, plan_id, role, responsibility, rights, left_on"
                    " FROM participants ORDER BY id"
                )
            ],
            "plans": [
                dict(r)
                for r in await conn.fetch(
                    "SELECT id, short_name, consent_id, changed_at FROM plans ORDER BY id"
                )
            ],
            "consents": [
                dict(r) for r in await conn.fetch("SELECT id, revoked_on FROM consents ORDER BY id")
            ],
            "notification_settings": await conn.fetchval(
                "SELECT count(*) FROM notification_settings"
            ),
            "plan_visits": await conn.fetchval("SELECT count(*) FROM plan_visits"),
        }


CONTACT = """query($id: ID!) { person(id: $id) { mobile email visibleFields } }"""


async def test_plan_visibility_follows_the_shared_active_consent(world: TwoPlans) -> None:
    pal = str(world.pal.person_id)
    hide_email = """mutation { setFieldVisibility(field: EMAIL, visibility: PRIVATE) {
      fieldVisibility { field visibility } } }"""
    ok(await world.post("pal", hide_email))

    # Xenia shares plan A (active, consent valid) with Pål: mobile (PLAN) shows; e-mail
    # (PRIVATE) never does.
    body = await world.post("xenia", CONTACT, {"id": pal})
    person = body["data"]["person"]
    assert person["mobile"] == "+4791112222"
    assert person["email"] is None
    assert "MOBILE" in person["visibleFields"]
    assert "EMAIL" not in person["visibleFields"]
    assert _hidden(body) == {"email"}

    # Reached through plan A's participants, the same.
    plan = await world.post(
        "xenia",
        """query($id: ID!) { plan(id: $id) { participants { person { id mobile email } } } }""",
        {"id": world.a},
    )
    pal_person = next(
        p["person"] for p in plan["data"]["plan"]["participants"] if p["person"]["id"] == pal
    )
    assert pal_person == {"id": pal, "mobile": "+4791112222", "email": None}

    # PRIVATE is private from A's coordinator too, and not from Pål himself.
    coordinator = await world.post("arne", CONTACT, {"id": pal})
    assert coordinator["data"]["person"]["email"] is None
    assert coordinator["data"]["person"]["mobile"] == "+4791112222"
    own = ok(await world.post("pal", CONTACT, {"id": pal}))
    assert own["person"]["email"] == world.pal.email

    # A's consent is revoked: Xenia and Pål no longer share an active-consent plan. That
    # Pål still shares B (with a valid consent) with others changes nothing for her.
    ok(await world.post("arne", REVOKE_CONSENT, {"p": world.a}))
    body = await world.post("xenia", CONTACT, {"id": pal})
    person = body["data"]["person"]
    assert person["mobile"] is None
    assert person["email"] is None
    assert "MOBILE" not in person["visibleFields"]
    assert _hidden(body) == {"mobile", "email"}
    for error in body["errors"]:
        assert error["extensions"] == {"code": "FORBIDDEN", "reason": "FIELD_HIDDEN"}

    # B's coordinator, who does share an active-consent plan with Pål, still sees the mobile.
    other = await world.post("bjorn", CONTACT, {"id": pal})
    assert other["data"]["person"]["mobile"] == "+4791112222"
    assert other["data"]["person"]["email"] is None


def _hidden(body: dict[str, Any]) -> set[str]:
    hidden = set()
    for error in body.get("errors", []):
        assert error["extensions"]["code"] == "FORBIDDEN", error
        assert error["extensions"]["reason"] == "FIELD_HIDDEN", error
        hidden.add(error["path"][-1])
    return hidden
