"""Plans that outlive their coordinator, and accounts that follow people (issue 15), over
HTTP with the real SMTP sink.

- changeCoordinator: by the coordinating unit, the current coordinator, a LOCAL_ADMIN of the
  plan's unit; the former coordinator stays (default grant) or leaves; everyone is told
  without content; the wrong caller or a bad new coordinator changes nothing.
- planOverview: headers only, by role and unit, each filter, the owner's access log.
- deactivateAccount / reactivateAccount, resendInvitation, startPasswordReset, Person.username.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from graphql import build_schema

from tests.conftest import Gateway, Mailbox
from tests.http.test_live_messages import codes, connected, poster, until_live
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
from tests.support import PASSWORD, error_codes, make_user, session_for, token_from_link

CHANGE = """mutation($p: ID!, $to: ID!, $stays: Boolean!) {
  changeCoordinator(planId: $p, personId: $to, formerStays: $stays) {
    id coordinatorName hasActiveCoordinator takingPart } }"""
OVERVIEW = """query($f: PlanOverviewFilter, $first: Int, $after: String) {
  planOverview(filter: $f, first: $first, after: $after) {
    edges { cursor node { id shortName type status ownerName coordinatorName
      hasActiveCoordinator consentExpiresOn consentRevoked revisionDate lastActivity
      takingPart } }
    pageInfo { hasNextPage endCursor } } }"""
ROLES = "query($p: ID!) { plan(id: $p) { participants { role person { id } } } }"
UPDATE_PLAN = 'mutation($p: ID!) { updatePlan(id: $p, shortName: "Nytt navn") { id } }'
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { challengeId } }"


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def roles_in(world: PlanWorld) -> dict[str, str]:
    """person id -> role of the plan's current participants (read in the database: the
    coordinating unit sees no sections)."""
    async with world.gateway.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT person_id, role FROM participants WHERE plan_id = $1 AND left_on IS NULL",
            uuid.UUID(world.plan_id),
        )
    return {str(r["person_id"]): r["role"] for r in rows}


async def name_of(world: PlanWorld, key: str) -> str:
    async with world.gateway.pool.acquire() as conn:
        name: str = await conn.fetchval(
            "SELECT first_name || ' ' || last_name FROM persons WHERE id = $1",
            uuid.UUID(world.person_id(key)),
        )
    return name


async def test_the_coordinating_unit_hands_a_plan_to_a_participant(
    gateway: Gateway, smtp: Mailbox
) -> None:
    world = await build_world(gateway)
    await gateway.deliver()
    before = len(smtp.messages)
    new, old = world.person_id(SERVICE_PROVIDER), world.person_id(COORDINATOR)
    answer = ok(
        await world.post(COORDINATING_UNIT, CHANGE, {"p": world.plan_id, "to": new, "stays": True})
    )["changeCoordinator"]
    assert answer["hasActiveCoordinator"] and answer["takingPart"] is False
    assert answer["coordinatorName"] == await name_of(world, SERVICE_PROVIDER)
    roles = await roles_in(world)
    assert (roles[new], roles[old]) == ("COORDINATOR", "SERVICE_PROVIDER")
    # The new coordinator acts as one; the former one no longer may.
    assert "errors" not in await world.post(SERVICE_PROVIDER, UPDATE_PLAN, {"p": world.plan_id})
    refused = await world.post(COORDINATOR, UPDATE_PLAN, {"p": world.plan_id})
    assert error_codes(refused) == ["FORBIDDEN"]
    # Everyone in the plan is told, without content.
    await gateway.deliver()
    notices = smtp.messages[before:]
    told = {str(m["To"]) for m in notices}
    assert {world.actors[k].user.email for k in (OWNER, COORDINATOR, SERVICE_PROVIDER)} <= told
    for m in notices:
        assert m["Subject"] == "Ny koordinator i plangruppe"
        assert world.short_name not in m.get_content()


async def test_the_coordinator_hands_over_and_leaves(gateway: Gateway) -> None:
    world = await build_world(gateway)
    new = await make_user(gateway.pool, f"nykoord-{uuid.uuid4().hex[:6]}")
    answer = await world.post(
        COORDINATOR, CHANGE, {"p": world.plan_id, "to": str(new.person_id), "stays": False}
    )
    assert ok(answer)["changeCoordinator"]["takingPart"] is False
    roles = await roles_in(world)
    assert roles[str(new.person_id)] == "COORDINATOR"
    assert world.person_id(COORDINATOR) not in roles
    gone = await world.post(COORDINATOR, ROLES, {"p": world.plan_id})
    assert error_codes(gone) == ["NOT_FOUND"]


async def test_a_wrong_caller_or_new_coordinator_changes_nothing(gateway: Gateway) -> None:
    world = await build_world(gateway)
    before = await roles_in(world)
    no_account = await make_user(gateway.pool, f"uten-{uuid.uuid4().hex[:6]}")
    async with gateway.pool.acquire() as conn:
        await conn.execute("DELETE FROM accounts WHERE person_id = $1", no_account.person_id)
    cases = [
        (RELATIVE, world.person_id(SERVICE_PROVIDER), "FORBIDDEN"),
        (OUTSIDER, world.person_id(SERVICE_PROVIDER), "NOT_FOUND"),
        (COORDINATING_UNIT, world.person_id(OWNER), "BAD_USER_INPUT"),
        (COORDINATING_UNIT, world.person_id(COORDINATOR), "BAD_USER_INPUT"),
        (COORDINATING_UNIT, str(no_account.person_id), "BAD_USER_INPUT"),
        (COORDINATING_UNIT, str(uuid.uuid4()), "BAD_USER_INPUT"),
        (COORDINATING_UNIT, "not-an-id", "BAD_USER_INPUT"),
    ]
    for key, to, code in cases:
        answer = await world.post(key, CHANGE, {"p": world.plan_id, "to": to, "stays": True})
        assert error_codes(answer) == [code], (key, to, answer)
    assert await roles_in(world) == before


async def test_a_local_admin_hands_over_plans_of_their_unit_only(gateway: Gateway) -> None:
    world = await build_world(gateway)
    unit = ok(
        await world.post(SYSTEM_ADMIN, 'mutation { createServiceUnit(name: "Helse Nord") { id } }')
    )["createServiceUnit"]["id"]
    admin = await make_user(gateway.pool, f"lokal-{uuid.uuid4().hex[:6]}", roles=("LOCAL_ADMIN",))
    token = await session_for(gateway.pool, admin, gateway.clock())
    variables = {"p": world.plan_id, "to": world.person_id(SERVICE_PROVIDER), "stays": True}
    elsewhere = await gateway.client.post(CHANGE, variables, token=token)
    assert error_codes(elsewhere) == ["NOT_FOUND"]  # a plan of no unit of theirs
    async with gateway.pool.acquire() as conn:
        await conn.execute(
            "UPDATE persons SET service_unit_id = $1 WHERE id = $2",
            uuid.UUID(unit),
            admin.person_id,
        )
        await conn.execute(
            "UPDATE plans SET service_unit_id = $1 WHERE id = $2",
            uuid.UUID(unit),
            uuid.UUID(world.plan_id),
        )
    assert "errors" not in await gateway.client.post(CHANGE, variables, token=token)


async def test_plan_overview_shows_headers_by_role_and_filter(gateway: Gateway) -> None:
    active = await build_world(gateway)
    expired = await build_world(gateway, consent="expired")
    mine = {active.plan_id, expired.plan_id}

    async def overview(key: str, world: PlanWorld, f: dict[str, Any] | None = None) -> set[str]:
        data = ok(await world.post(key, OVERVIEW, {"f": f, "first": 100}))
        return {e["node"]["id"] for e in data["planOverview"]["edges"]} & mine

    assert await overview(COORDINATING_UNIT, active) == mine
    assert await overview(SYSTEM_ADMIN, active) == mine
    for key in (OWNER, COORDINATOR, RELATIVE, OUTSIDER):
        refused = await active.post(key, OVERVIEW, {"f": None, "first": 10})
        assert error_codes(refused) == ["FORBIDDEN"], key
        assert refused["data"] is None

    assert await overview(COORDINATING_UNIT, active, {"consentExpired": True}) == {expired.plan_id}
    assert await overview(COORDINATING_UNIT, active, {"consentExpiringWithinDays": 365}) == {
        active.plan_id
    }
    assert await overview(COORDINATING_UNIT, active, {"revisionOverdue": True}) == set()
    assert await overview(COORDINATING_UNIT, active, {"noActiveCoordinator": True}) == set()
    assert await overview(COORDINATING_UNIT, active, {"inactiveForDays": 30}) == set()

    # The coordinator's account deactivated: the plan has no active coordinator.
    done = await active.post(
        SYSTEM_ADMIN,
        "mutation($p: ID!) { deactivateAccount(personId: $p) }",
        {"p": active.person_id(COORDINATOR)},
    )
    assert ok(done) == {"deactivateAccount": True}
    assert await overview(COORDINATING_UNIT, active, {"noActiveCoordinator": True}) == {
        active.plan_id
    }
    async with gateway.pool.acquire() as conn:
        await conn.execute(
            "UPDATE plans SET revision_date = $1 WHERE id = $2",
            gateway.clock().date().replace(year=2025),
            uuid.UUID(expired.plan_id),
        )
    assert await overview(COORDINATING_UNIT, active, {"revisionOverdue": True}) == {expired.plan_id}
    gateway.clock.advance(days=31)
    await active.renew_sessions()
    assert await overview(COORDINATING_UNIT, active, {"inactiveForDays": 30}) == mine

    # The header, and the owner sees in their access log who looked.
    data = ok(await active.post(COORDINATING_UNIT, OVERVIEW, {"first": 100}))
    node = next(
        e["node"] for e in data["planOverview"]["edges"] if e["node"]["id"] == active.plan_id
    )
    assert node["ownerName"] == await name_of(active, OWNER)
    assert node["shortName"] == active.short_name and node["status"] == "ACTIVE"
    log = ok(await active.post(OWNER, "{ myAccessLog { edges { what viewer { id } } } }"))
    seen = {(e["what"], e["viewer"]["id"]) for e in log["myAccessLog"]["edges"]}
    assert ("overview", active.person_id(COORDINATING_UNIT)) in seen

    # Paging: one at a time reaches both, and a bad cursor or page size is refused.
    found: set[str] = set()
    after = None
    for _ in range(50):
        page = ok(await active.post(COORDINATING_UNIT, OVERVIEW, {"first": 1, "after": after}))[
            "planOverview"
        ]
        found |= {e["node"]["id"] for e in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert mine <= found
    for variables in ({"first": 101}, {"after": "bm90LWEtY3Vyc29y"}, {"f": {"inactiveForDays": 0}}):
        bad = await active.post(COORDINATING_UNIT, OVERVIEW, variables)
        assert error_codes(bad) == ["BAD_USER_INPUT"], variables


def test_a_plan_header_shows_no_section() -> None:
    """planOverview's header has exactly these fields: none of them a section or a way to one
    (a field of type Plan, Participant or a section's type would be)."""
    from pathlib import Path

    sdl = (Path(__file__).resolve().parents[2] / "schema" / "schema.graphql").read_text()
    header = build_schema(sdl).type_map["PlanHeader"]
    assert set(header.fields) == {  # type: ignore[attr-defined]
        "id",
        "shortName",
        "type",
        "status",
        "ownerName",
        "coordinatorName",
        "hasActiveCoordinator",
        "consentExpiresOn",
        "consentRevoked",
        "revisionDate",
        "lastActivity",
        "takingPart",
    }


DEACTIVATE = "mutation($p: ID!) { deactivateAccount(personId: $p) }"
REACTIVATE = "mutation($p: ID!) { reactivateAccount(personId: $p) }"


async def test_a_deactivated_account_ends_its_sessions_and_cannot_log_in_or_reset(
    gateway: Gateway, smtp: Mailbox
) -> None:
    world = await build_world(gateway)
    relative = world.actors[RELATIVE].user
    async with connected(gateway.url, world.token(RELATIVE)) as live:
        await live.subscribe(world.plan_id)
        probes: set[str] = set()
        await until_live(poster(gateway.client, world), [live], probes)
        done = await world.post(SYSTEM_ADMIN, DEACTIVATE, {"p": str(relative.person_id)})
        assert ok(done) == {"deactivateAccount": True}
        assert codes(await live.ending(probes)) == [("UNAUTHENTICATED", None)]
    me = await world.post(RELATIVE, "{ me { id } }")
    assert me["data"]["me"] is None
    login = await gateway.client.post(LOGIN, {"u": relative.username, "p": PASSWORD})
    assert error_codes(login) == ["INVALID_CREDENTIALS"]
    await gateway.deliver()
    before = len(smtp.messages)
    reset = await gateway.client.post(
        "mutation($u: String!) { requestPasswordReset(usernameOrEmail: $u) }",
        {"u": relative.username},
    )
    assert reset["data"] == {"requestPasswordReset": True}
    await gateway.deliver()
    assert len(smtp.messages) == before
    # Still in the plan; and back in once reactivated.
    assert str(relative.person_id) in await roles_in(world)
    assert ok(await world.post(SYSTEM_ADMIN, REACTIVATE, {"p": str(relative.person_id)}))
    login = await gateway.client.post(LOGIN, {"u": relative.username, "p": PASSWORD})
    assert "errors" not in login, login


async def test_who_may_manage_an_account(gateway: Gateway) -> None:
    world = await build_world(gateway)
    # The coordinator: the relative takes part only in plans they coordinate.
    assert ok(await world.post(COORDINATOR, DEACTIVATE, {"p": world.person_id(RELATIVE)}))
    assert ok(await world.post(COORDINATOR, REACTIVATE, {"p": world.person_id(RELATIVE)}))
    await world.renew_sessions()  # deactivating ended the relative's session
    # Not once the relative also takes part in a plan someone else coordinates.
    other = await build_world(gateway, reuse={RELATIVE: world.actors[RELATIVE]})
    refused = await world.post(COORDINATOR, DEACTIVATE, {"p": world.person_id(RELATIVE)})
    assert error_codes(refused) == ["FORBIDDEN"]
    assert other.plan_id != world.plan_id
    for key, target in (
        (RELATIVE, OWNER),
        (OUTSIDER, RELATIVE),
        (COORDINATOR, SYSTEM_ADMIN),
        (COORDINATING_UNIT, OWNER),
    ):
        answer = await world.post(key, DEACTIVATE, {"p": world.person_id(target)})
        assert error_codes(answer) == ["FORBIDDEN"], (key, target)
    own = await world.post(SYSTEM_ADMIN, DEACTIVATE, {"p": world.person_id(SYSTEM_ADMIN)})
    assert error_codes(own) == ["BAD_USER_INPUT"]
    # Usernames: my own, and those I may manage; a co-participant's is refused.
    query = "query($p: ID!) { person(id: $p) { username } }"
    mine = await world.post(RELATIVE, query, {"p": world.person_id(RELATIVE)})
    assert mine["data"]["person"]["username"] == world.actors[RELATIVE].user.username
    admin = await world.post(SYSTEM_ADMIN, query, {"p": world.person_id(RELATIVE)})
    assert admin["data"]["person"]["username"] == world.actors[RELATIVE].user.username
    peer = await world.post(SERVICE_PROVIDER, query, {"p": world.person_id(RELATIVE)})
    assert peer["data"]["person"]["username"] is None
    assert error_codes(peer) == ["FORBIDDEN"]


async def test_links_go_to_the_persons_own_address(
    gateway: Gateway, smtp: Mailbox, pool: asyncpg.Pool
) -> None:
    world = await build_world(gateway)
    tag = uuid.uuid4().hex[:6]
    person = ok(
        await world.post(
            SYSTEM_ADMIN,
            'mutation($e: String!) { createPerson(input: { firstName: "Ida",'
            ' lastName: "Invitert", email: $e }) { id } }',
            {"e": f"ida.{tag}@example.no"},
        )
    )["createPerson"]["id"]
    created = await world.post(
        SYSTEM_ADMIN,
        "mutation($p: ID!, $u: String!) { createAccount(personId: $p, username: $u,"
        " otpChannel: EMAIL) }",
        {"p": person, "u": f"ida-{tag}"},
    )
    assert ok(created) == {"createAccount": True}
    await gateway.deliver()
    first = token_from_link(smtp.bodies_to(f"ida.{tag}@example.no")[-1])
    # Someone changes the typed address: the invitation still goes where it first went.
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE persons SET email = 'someone.else@example.no' WHERE id = $1",
            uuid.UUID(person),
        )
    again = await world.post(
        SYSTEM_ADMIN, "mutation($p: ID!) { resendInvitation(personId: $p) }", {"p": person}
    )
    assert ok(again) == {"resendInvitation": True}
    await gateway.deliver()
    second = token_from_link(smtp.bodies_to(f"ida.{tag}@example.no")[-1])
    assert second != first and not smtp.bodies_to("someone.else@example.no")
    set_password = (
        "mutation($t: String!) { resetPassword(token: $t,"
        ' newPassword: "Et langt og trygt passord 42") }'
    )
    assert error_codes(await gateway.client.post(set_password, {"t": first})) == ["CODE_EXPIRED"]
    assert "errors" not in await gateway.client.post(set_password, {"t": second})
    used = await world.post(
        SYSTEM_ADMIN, "mutation($p: ID!) { resendInvitation(personId: $p) }", {"p": person}
    )
    assert error_codes(used) == ["BAD_USER_INPUT"]

    # A reset started for someone goes to their confirmed address, not the asker's.
    asker = world.actors[COORDINATOR].user
    before = len(smtp.bodies_to(asker.email or ""))
    reset = await world.post(
        COORDINATOR,
        "mutation($p: ID!) { startPasswordReset(personId: $p) }",
        {"p": world.person_id(RELATIVE)},
    )
    assert ok(reset) == {"startPasswordReset": True}
    await gateway.deliver()
    relative = world.actors[RELATIVE].user
    assert "reset-password?token=" in smtp.bodies_to(relative.email or "")[-1]
    assert len(smtp.bodies_to(asker.email or "")) == before


async def test_a_local_admin_oversees_the_plans_of_their_unit_only(gateway: Gateway) -> None:
    ours, theirs = await build_world(gateway), await build_world(gateway)
    unit = ok(
        await ours.post(SYSTEM_ADMIN, 'mutation { createServiceUnit(name: "Oppvekst") { id } }')
    )["createServiceUnit"]["id"]
    admin = await make_user(gateway.pool, f"lokal-{uuid.uuid4().hex[:6]}", roles=("LOCAL_ADMIN",))
    token = await session_for(gateway.pool, admin, gateway.clock())
    refused = await gateway.client.post(OVERVIEW, {"first": 100}, token=token)
    assert error_codes(refused) == ["FORBIDDEN"]  # a LOCAL_ADMIN of no unit oversees nothing
    async with gateway.pool.acquire() as conn:
        await conn.execute(
            "UPDATE persons SET service_unit_id = $1 WHERE id = $2",
            uuid.UUID(unit),
            admin.person_id,
        )
        await conn.execute(
            "UPDATE plans SET service_unit_id = $1 WHERE id = $2",
            uuid.UUID(unit),
            uuid.UUID(ours.plan_id),
        )
    page = ok(await gateway.client.post(OVERVIEW, {"first": 100}, token=token))["planOverview"]
    assert {e["node"]["id"] for e in page["edges"]} == {ours.plan_id}
    assert theirs.plan_id != ours.plan_id
