"""Consent given by the person (issue 17): the coordinator proposes and names the giver, the
giver gives it in the app (givenThrough APP), the coordinator is told; the giver is reminded
30 days before a consent expires. Everyone else is refused, with nothing changed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from resolvers import jobs
from tests.conftest import Gateway, Mailbox
from tests.plan_world import (
    COORDINATOR,
    OUTSIDER,
    OWNER,
    RELATIVE,
    SERVICE_PROVIDER,
    build_world,
    today_of,
)
from tests.support import error_codes

PROPOSE = """mutation($p: ID!, $in: ConsentProposalInput!) {
  proposeConsent(planId: $p, input: $in) { id givenByRelation expiresOn } }"""
GIVE = """mutation($id: ID!) { giveConsent(proposalId: $id) {
  id givenThrough givenOn expiresOn givenByRelation } }"""
PROPOSAL = "query($p: ID!) { plan(id: $p) { consentProposal { id expiresOn } } }"
GRANT = {"participants": "READ", "goals": "WRITE", "messages": "WRITE", "calendar": "READ"}


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def test_the_owner_gives_the_consent_the_coordinator_proposed(
    gateway: Gateway, smtp: Mailbox
) -> None:
    world = await build_world(gateway)
    await gateway.deliver()
    today = today_of(gateway)
    until = (today + dt.timedelta(days=365)).isoformat()
    proposal_input = {
        "givenById": world.person_id(OWNER),
        "givenByRelation": "SELF",
        "expiresOn": until,
        "defaultGrant": GRANT,
    }
    for key, variables, code in (
        (RELATIVE, proposal_input, "FORBIDDEN"),
        (COORDINATOR, {**proposal_input, "givenByRelation": "PARENT"}, "BAD_USER_INPUT"),
        (COORDINATOR, {**proposal_input, "expiresOn": today.isoformat()}, "BAD_USER_INPUT"),
        (COORDINATOR, {**proposal_input, "givenById": str(uuid.uuid4())}, "BAD_USER_INPUT"),
    ):
        answer = await world.post(key, PROPOSE, {"p": world.plan_id, "in": variables})
        assert error_codes(answer) == [code], (key, variables, answer)
    proposal = ok(
        await world.post(COORDINATOR, PROPOSE, {"p": world.plan_id, "in": proposal_input})
    )["proposeConsent"]
    seen = ok(await world.post(OWNER, PROPOSAL, {"p": world.plan_id}))["plan"]["consentProposal"]
    assert seen == {"id": proposal["id"], "expiresOn": until}
    hidden = await world.post(SERVICE_PROVIDER, PROPOSAL, {"p": world.plan_id})
    assert hidden["data"]["plan"]["consentProposal"] is None
    assert error_codes(hidden) == ["FORBIDDEN"]
    await gateway.deliver()
    owner_mail = world.actors[OWNER].user.email or ""
    assert any("om å gi samtykke" in b for b in smtp.bodies_to(owner_mail))

    for key, code in ((RELATIVE, "FORBIDDEN"), (COORDINATOR, "FORBIDDEN"), (OUTSIDER, "NOT_FOUND")):
        answer = await world.post(key, GIVE, {"id": proposal["id"]})
        assert error_codes(answer) == [code], (key, answer)
    given = ok(await world.post(OWNER, GIVE, {"id": proposal["id"]}))["giveConsent"]
    assert given["givenThrough"] == "APP" and given["givenOn"] == today.isoformat()
    assert given["expiresOn"] == until and given["givenByRelation"] == "SELF"
    consent = (
        "query($p: ID!) { plan(id: $p) { consent { id givenThrough } consentProposal { id } } }"
    )
    now = ok(await world.post(COORDINATOR, consent, {"p": world.plan_id}))["plan"]
    assert now["consent"] == {"id": given["id"], "givenThrough": "APP"}
    assert now["consentProposal"] is None
    again = await world.post(OWNER, GIVE, {"id": proposal["id"]})
    assert error_codes(again) == ["BAD_USER_INPUT"]
    await gateway.deliver()
    coordinator_mail = world.actors[COORDINATOR].user.email or ""
    assert any("Samtykket for en plan" in b for b in smtp.bodies_to(coordinator_mail))


async def test_the_giver_is_reminded_30_days_before_the_consent_expires(
    gateway: Gateway, smtp: Mailbox
) -> None:
    world = await build_world(gateway)
    async with gateway.pool.acquire() as conn:
        await conn.execute(
            "UPDATE consents SET expires_on = $1 WHERE plan_id = $2",
            today_of(gateway) + dt.timedelta(days=30),
            uuid.UUID(world.plan_id),
        )
    await gateway.deliver()
    assert await jobs.remind_consent_givers(gateway.pool, gateway.clock) == 1
    assert await jobs.remind_consent_givers(gateway.pool, gateway.clock) == 0
    await gateway.deliver()
    owner_mail = world.actors[OWNER].user.email or ""
    reminder = [b for b in smtp.bodies_to(owner_mail) if "går ut om 30 dager" in b]
    assert len(reminder) == 1 and world.short_name not in reminder[0]
