"""Persons and participants over time (issue 15), over HTTP with the real SMTP and SMS sinks:
one's own responsibility, a participant's role, «Begrens søk» (search and the duplicate
guard), hiding a contact field of a person without an account, switching the login channel.
Each refusal changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import Gateway, Mailbox, SmsGateway
from tests.plan_world import (
    COORDINATING_UNIT,
    COORDINATOR,
    OUTSIDER,
    OWNER,
    RELATIVE,
    SERVICE_PROVIDER,
    SYSTEM_ADMIN,
    PlanWorld,
    build_world,
)
from tests.support import PASSWORD, error_codes, six_digit_code

RESPONSIBILITY = """mutation($id: ID!, $r: String) {
  updateParticipant(id: $id, responsibility: $r) { id responsibility } }"""
RIGHTS = """mutation($id: ID!) {
  updateParticipant(id: $id, rights: { messages: WRITE }) { id } }"""
ROLE = (
    "mutation($id: ID!, $role: Role!) { changeParticipantRole(id: $id, role: $role) { id role } }"
)
SEARCH = """query($l: String!) { searchPersons(lastName: $l, first: 50) { id } }"""


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def column(world: PlanWorld, sql: str, *args: object) -> Any:
    async with world.gateway.pool.acquire() as conn:
        return await conn.fetchval(sql, *args)


async def test_a_participant_writes_their_own_responsibility(gateway: Gateway) -> None:
    world = await build_world(gateway)
    mine, theirs = world.participant_ids[RELATIVE], world.participant_ids[SERVICE_PROVIDER]
    own = await world.post(RELATIVE, RESPONSIBILITY, {"id": mine, "r": "Følger til lege"})
    assert ok(own)["updateParticipant"]["responsibility"] == "Følger til lege"
    other = await world.post(RELATIVE, RESPONSIBILITY, {"id": theirs, "r": "Ikke mitt"})
    assert error_codes(other) == ["FORBIDDEN"]
    rights = await world.post(RELATIVE, RIGHTS, {"id": mine})
    assert error_codes(rights) == ["FORBIDDEN"]
    assert (
        await column(
            world, "SELECT responsibility FROM participants WHERE id = $1", uuid.UUID(theirs)
        )
        == world.responsibilities[SERVICE_PROVIDER]
    )
    coordinator = await world.post(COORDINATOR, RESPONSIBILITY, {"id": theirs, "r": "Fysio"})
    assert ok(coordinator)["updateParticipant"]["responsibility"] == "Fysio"


async def test_the_coordinator_changes_a_participants_role(gateway: Gateway) -> None:
    world = await build_world(gateway)
    relative = world.participant_ids[RELATIVE]
    changed = ok(await world.post(COORDINATOR, ROLE, {"id": relative, "role": "GUARDIAN"}))
    assert changed["changeParticipantRole"]["role"] == "GUARDIAN"
    for key, target, role, code in (
        (COORDINATOR, RELATIVE, "OWNER", "BAD_USER_INPUT"),
        (COORDINATOR, RELATIVE, "COORDINATOR", "BAD_USER_INPUT"),
        (COORDINATOR, OWNER, "RELATIVE", "BAD_USER_INPUT"),
        (RELATIVE, SERVICE_PROVIDER, "RELATIVE", "FORBIDDEN"),
        (OUTSIDER, SERVICE_PROVIDER, "RELATIVE", "NOT_FOUND"),
    ):
        answer = await world.post(key, ROLE, {"id": world.participant_ids[target], "role": role})
        assert error_codes(answer) == [code], (key, target, role, answer)
    roles = await column(
        world,
        "SELECT string_agg(role, ',' ORDER BY role) FROM participants"
        " WHERE plan_id = $1 AND left_on IS NULL",
        uuid.UUID(world.plan_id),
    )
    assert roles == "COORDINATOR,GUARDIAN,GUARDIAN,OWNER,SERVICE_PROVIDER"


async def test_restricted_search_finds_the_person_only_for_those_responsible(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway)
    other = await build_world(gateway)
    last_name = await column(
        world, "SELECT last_name FROM persons WHERE id = $1", uuid.UUID(world.person_id(RELATIVE))
    )
    relative = world.person_id(RELATIVE)

    async def finds(w: PlanWorld, key: str) -> bool:
        found = ok(await w.post(key, SEARCH, {"l": last_name}))["searchPersons"]
        return relative in {p["id"] for p in found}

    # Born visible to all: a same-named new person is a DUPLICATE_PERSON with its id.
    await world.post(
        RELATIVE, "mutation { setFieldVisibility(field: BIRTH_DATE, visibility: ALL) { id } }"
    )
    born = await column(world, "SELECT birth_date FROM persons WHERE id = $1", uuid.UUID(relative))
    first_name = await column(
        world, "SELECT first_name FROM persons WHERE id = $1", uuid.UUID(relative)
    )
    create = """mutation($f: String!, $l: String!, $b: Date!) {
      createPerson(input: { firstName: $f, lastName: $l, birthDate: $b }) { id } }"""
    same = {"f": first_name, "l": last_name, "b": born.isoformat()}
    duplicate = await other.post(COORDINATOR, create, same)
    assert error_codes(duplicate) == ["DUPLICATE_PERSON"]
    assert duplicate["errors"][0]["extensions"]["existingId"] == relative
    assert await finds(other, COORDINATOR) and await finds(world, OUTSIDER)

    restrict = "mutation { setSearchRestricted(restricted: true) { id searchRestricted } }"
    assert ok(await world.post(RELATIVE, restrict))["setSearchRestricted"]["searchRestricted"]
    for w, key in ((world, OUTSIDER), (other, COORDINATOR)):
        assert not await finds(w, key), key
    for key in (SYSTEM_ADMIN, COORDINATING_UNIT, COORDINATOR, SERVICE_PROVIDER, RELATIVE):
        assert await finds(world, key), key
    # The duplicate guard still finds them, answering as for a name-only match.
    guarded = await other.post(COORDINATOR, create, same)
    assert error_codes(guarded) == ["POSSIBLE_DUPLICATE"]
    assert "existingId" not in guarded["errors"][0]["extensions"]
    # Only the person (and who manages their account) sees the setting.
    peer = await world.post(
        SERVICE_PROVIDER, "query($p: ID!) { person(id: $p) { searchRestricted } }", {"p": relative}
    )
    assert error_codes(peer) == ["FORBIDDEN"] and peer["data"]["person"]["searchRestricted"] is None


async def test_a_coordinator_hides_a_contact_field_of_a_person_without_an_account(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway)
    created = ok(
        await world.post(
            COORDINATOR,
            'mutation { createPerson(input: { firstName: "Pål", lastName: "Pårørende",'
            ' mobile: "+4799988777" }) { id } }',
        )
    )["createPerson"]["id"]
    added = await world.post(
        COORDINATOR,
        "mutation($p: ID!, $pl: ID!) { addParticipant(planId: $pl, personId: $p,"
        " role: RELATIVE) { id } }",
        {"p": created, "pl": world.plan_id},
    )
    assert "errors" not in added, added
    hide = """mutation($p: ID) { setFieldVisibility(field: MOBILE, visibility: PRIVATE,
      personId: $p) { id } }"""
    refused = await world.post(SERVICE_PROVIDER, hide, {"p": created})
    assert error_codes(refused) == ["FORBIDDEN"]
    holder = await world.post(COORDINATOR, hide, {"p": world.person_id(RELATIVE)})
    assert error_codes(holder) == ["BAD_USER_INPUT"]  # an account holder sets it themselves
    assert (
        await column(
            world,
            "SELECT count(*) FROM person_field_visibility WHERE person_id = ANY($1)",
            [uuid.UUID(created), uuid.UUID(world.person_id(RELATIVE))],
        )
        == 0
    )
    assert "errors" not in await world.post(COORDINATOR, hide, {"p": created})
    mobile = "query($p: ID!) { person(id: $p) { mobile } }"
    seen = await world.post(SERVICE_PROVIDER, mobile, {"p": created})
    assert seen["data"]["person"]["mobile"] is None and error_codes(seen) == ["FORBIDDEN"]


async def test_switching_the_login_channel_needs_the_code_from_the_new_one(
    gateway: Gateway, sms: SmsGateway, smtp: Mailbox
) -> None:
    world = await build_world(gateway)
    user = world.actors[RELATIVE].user
    request = """mutation($c: OtpChannel!) { requestLoginChannelChange(channel: $c) {
      challengeId channel maskedDestination } }"""
    confirm = """mutation($id: ID!, $code: String!) {
      confirmLoginChannelChange(changeId: $id, code: $code) }"""
    app = await world.post(RELATIVE, request, {"c": "APP"})
    assert error_codes(app) == ["BAD_USER_INPUT"]
    started = ok(await world.post(RELATIVE, request, {"c": "SMS"}))["requestLoginChannelChange"]
    assert started["channel"] == "SMS" and started["maskedDestination"].endswith(user.mobile[-3:])
    await gateway.deliver()
    code = six_digit_code(sms.received[-1]["text"])
    assert sms.received[-1]["to"] == user.mobile
    wrong = "000000" if code != "000000" else "111111"
    other = await world.post(
        SERVICE_PROVIDER, confirm, {"id": started["challengeId"], "code": code}
    )
    assert error_codes(other) == ["CODE_EXPIRED"]  # someone else's change
    failed = await world.post(RELATIVE, confirm, {"id": started["challengeId"], "code": wrong})
    assert error_codes(failed) == ["INVALID_CREDENTIALS"]
    assert (
        await column(world, "SELECT otp_channel FROM accounts WHERE person_id = $1", user.person_id)
        == "EMAIL"
    )
    done = await world.post(RELATIVE, confirm, {"id": started["challengeId"], "code": code})
    assert ok(done) == {"confirmLoginChannelChange": True}
    again = await world.post(RELATIVE, confirm, {"id": started["challengeId"], "code": code})
    assert error_codes(again) == ["CODE_EXPIRED"]
    login = ok(
        await gateway.client.post(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { channel } }",
            {"u": user.username, "p": PASSWORD},
        )
    )
    assert login["login"]["channel"] == "SMS"
    await gateway.deliver()
    assert any("engangskoder" in b for b in smtp.bodies_to(user.email or ""))
    # Without a confirmed mobile there is nothing to prove.
    async with gateway.pool.acquire() as conn:
        await conn.execute(
            "UPDATE accounts SET confirmed_mobile = NULL, otp_channel = 'EMAIL'"
            " WHERE person_id = $1",
            uuid.UUID(world.person_id(SERVICE_PROVIDER)),
        )
    unproven = await world.post(SERVICE_PROVIDER, request, {"c": "SMS"})
    assert error_codes(unproven) == ["BAD_USER_INPUT"]
