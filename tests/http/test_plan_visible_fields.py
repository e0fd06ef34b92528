"""PLAN-visible person fields count only plans where the viewer may read the plan group
(issue 9).

A contact field with visibility PLAN was shown to anyone who shared an active-consent plan
with the person, even a participant whose consent hides that plan's group (PARTICIPANTS
NONE): the plan that hides its members showed their e-mail, mobile and birth date. Now a
shared plan counts only where the viewer may read PARTICIPANTS (owner and coordinator always
may); another shared plan with the group readable still counts. The rule is the viewer's:
the hidden participant still shows their fields to those who may read the group.

Real HTTP against real PostgreSQL; plans come from tests/plan_world.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Gateway
from tests.plan_world import (
    COORDINATOR,
    OWNER,
    RELATIVE,
    SERVICE_PROVIDER,
    PlanWorld,
    build_world,
    errors_by_path,
    ok,
)

# Every gateway test here runs with compiled reads forced on and forced off (tests/conftest.py).
pytestmark = pytest.mark.both_read_paths

PERSON = """query($id: ID!) { person(id: $id) {
  firstName position visibleFields birthDate email mobile } }"""
PLAN_LIST = """{ plans { edges { node { id owner { person { id birthDate } } } } } }"""
SEARCH = """query($born: Date!) { searchPersons(birthDate: $born) { id } }"""
HIDDEN = {
    ("person", "birthDate"): ("FORBIDDEN", "FIELD_HIDDEN"),
    ("person", "email"): ("FORBIDDEN", "FIELD_HIDDEN"),
    ("person", "mobile"): ("FORBIDDEN", "FIELD_HIDDEN"),
}


async def person_as(world: PlanWorld, viewer: str, subject: str) -> tuple[dict[str, Any], Any]:
    body = await world.post(viewer, PERSON, {"id": world.person_id(subject)})
    return body["data"]["person"], errors_by_path(body)


async def birth_date_of(world: PlanWorld, key: str) -> str:
    async with world.gateway.pool.acquire() as conn:
        born = await conn.fetchval(
            "SELECT birth_date FROM persons WHERE id = $1::uuid", world.person_id(key)
        )
    return str(born.isoformat())


async def test_plan_fields_need_participants_read_in_the_shared_plan(gateway: Gateway) -> None:
    world = await build_world(gateway, rights={SERVICE_PROVIDER: {"participants": "NONE"}})

    # The service provider shares the plan but may not read its group: PLAN fields hidden.
    for subject in (RELATIVE, OWNER, COORDINATOR):
        person, errors = await person_as(world, SERVICE_PROVIDER, subject)
        assert person["firstName"] and person["position"], person  # always
        assert person["visibleFields"] == [] and errors == HIDDEN, (subject, person, errors)
        assert person["email"] is None and person["birthDate"] is None
    # The plan list's "Født" column (the owner's birth date) is hidden too.
    body = await world.post(SERVICE_PROVIDER, PLAN_LIST)
    [edge] = body["data"]["plans"]["edges"]
    assert edge["node"]["owner"]["person"]["birthDate"] is None
    assert errors_by_path(body) == {
        ("plans", "edges", 0, "node", "owner", "person", "birthDate"): ("FORBIDDEN", "FIELD_HIDDEN")
    }
    # A birth date search finds only persons whose birth date the viewer may see.
    born = await birth_date_of(world, RELATIVE)
    found = ok(await world.post(SERVICE_PROVIDER, SEARCH, {"born": born}), "search")
    assert found["searchPersons"] == []

    # The rule is the viewer's: those who may read the group see the service provider.
    for viewer in (RELATIVE, OWNER, COORDINATOR):
        person, errors = await person_as(world, viewer, SERVICE_PROVIDER)
        assert errors == {} and person["email"] == world.actors[SERVICE_PROVIDER].user.email
        assert set(person["visibleFields"]) >= {"BIRTH_DATE", "EMAIL", "MOBILE"}
    found = ok(await world.post(RELATIVE, SEARCH, {"born": born}), "search")
    assert found["searchPersons"] == [{"id": world.person_id(RELATIVE)}]

    # Another plan the two share, with the group readable, counts on its own.
    await build_world(
        gateway,
        reuse={SERVICE_PROVIDER: world.actors[SERVICE_PROVIDER], RELATIVE: world.actors[RELATIVE]},
    )
    person, errors = await person_as(world, SERVICE_PROVIDER, RELATIVE)
    assert errors == {} and person["email"] == world.actors[RELATIVE].user.email
    found = ok(await world.post(SERVICE_PROVIDER, SEARCH, {"born": born}), "search")
    assert found["searchPersons"] == [{"id": world.person_id(RELATIVE)}]


async def test_participants_read_through_an_override_opens_plan_fields(gateway: Gateway) -> None:
    # The consent hides the group from everyone; the relative's own rights open it.
    grant = {"participants": "NONE", "goals": "READ", "messages": "READ"}
    world = await build_world(
        gateway, default_grant=grant, rights={RELATIVE: {"participants": "READ"}}
    )
    person, errors = await person_as(world, RELATIVE, SERVICE_PROVIDER)
    assert errors == {} and person["mobile"] == world.actors[SERVICE_PROVIDER].user.mobile
    person, errors = await person_as(world, SERVICE_PROVIDER, RELATIVE)
    assert errors == HIDDEN, errors
