"""A plan's life through the API: create, consent, participants, and what each one sees."""

from __future__ import annotations

from tests.conftest import Gateway
from tests.support import error_codes, make_user, session_for

CREATE = """mutation($in: CreatePlanInput!) { createPlan(input: $in) {
  id shortName type status owner { role person { firstName } } coordinator { role person { id } }
  myAccess { participants goals messages editPerson print } myParticipation { role } } }"""
CONSENT = """mutation($p: ID!, $in: ConsentInput!) { recordConsent(planId: $p, input: $in) {
  id givenByRelation expiresOn defaultGrant { goals messages participants } } }"""
ADD = """mutation($p: ID!, $who: ID!, $role: Role!, $resp: String, $rights: AccessGrantInput) {
  addParticipant(planId: $p, personId: $who, role: $role, responsibility: $resp, rights: $rights) {
    id role responsibility } }"""
PLAN = """query($id: ID!) { plan(id: $id) { id shortName myAccess { participants goals messages }
  consentExpiresOn consentExpiresInDays
  participants { role responsibility person { firstName mobile } } } }"""


async def test_plan_group_sees_what_the_consent_allows(gateway: Gateway) -> None:
    pool = gateway.pool
    admin = await make_user(pool, "enhet", roles=("COORDINATING_UNIT",))
    owner = await make_user(pool, "ingrid", first_name="Ingrid", mobile="+4791234567")
    coordinator = await make_user(pool, "ola", first_name="Ola")
    physio = await make_user(pool, "sara", first_name="Sara")
    outsider = await make_user(pool, "nils", first_name="Nils")
    tokens = {
        u.username: await session_for(pool, u)
        for u in (admin, owner, coordinator, physio, outsider)
    }

    body = await gateway.client.post(
        CREATE,
        {
            "in": {
                "ownerId": str(owner.person_id),
                "shortName": "Ingrids plan",
                "type": "IP",
                "startDate": "2026-11-01",
                "coordinatorId": str(coordinator.person_id),
            }
        },
        token=tokens["enhet"],
    )
    assert "errors" not in body, body
    plan = body["data"]["createPlan"]
    assert plan["owner"]["role"] == "OWNER"
    assert plan["coordinator"]["person"]["id"] == str(coordinator.person_id)
    assert plan["myParticipation"] is None  # the unit administers, it does not take part
    assert plan["myAccess"]["goals"] == "NONE"

    body = await gateway.client.post(
        CONSENT,
        {
            "p": plan["id"],
            "in": {
                "givenById": str(owner.person_id),
                "givenByRelation": "SELF",
                "givenOn": "2026-11-01",
                "expiresOn": "2027-11-01",
                "defaultGrant": {"participants": "READ", "goals": "READ"},
            },
        },
        token=tokens["ola"],
    )
    assert "errors" not in body, body

    body = await gateway.client.post(
        ADD,
        {
            "p": plan["id"],
            "who": str(physio.person_id),
            "role": "SERVICE_PROVIDER",
            "resp": "Fysioterapi to ganger i uka",
            "rights": {"goals": "WRITE"},
        },
        token=tokens["ola"],
    )
    assert "errors" not in body, body

    seen = await gateway.client.post(PLAN, {"id": plan["id"]}, token=tokens["sara"])
    assert "errors" not in seen, seen
    p = seen["data"]["plan"]
    assert p["myAccess"] == {"participants": "READ", "goals": "WRITE", "messages": "NONE"}
    assert p["consentExpiresOn"] == "2027-11-01"
    roles = {x["role"]: x for x in p["participants"]}
    assert set(roles) == {"OWNER", "COORDINATOR", "SERVICE_PROVIDER"}
    # Sara shares an active-consent plan with Ingrid, and mobile defaults to PLAN.
    assert roles["OWNER"]["person"]["mobile"] == "+4791234567"

    hidden = await gateway.client.post(PLAN, {"id": plan["id"]}, token=tokens["nils"])
    assert error_codes(hidden) == ["NOT_FOUND"]
    assert hidden["data"] == {"plan": None}
