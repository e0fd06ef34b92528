"""createPerson's duplicate check confirms no birth date to a caller who may not see it
(issue 9), over real HTTP.

A person with the same names and birth date is DUPLICATE_PERSON with `existingId` for those
who keep the person register (SYSTEM_ADMIN, a LOCAL_ADMIN of the person's service unit) and
for a caller who may see that birth date (the person-field rule: the person's visibility and
a shared active plan). Anyone else gets POSSIBLE_DUPLICATE without an id whatever birth date
they typed, so the answer cannot confirm one; `confirmNew: true` creates the person anyway.
Names match in Unicode NFC: a name typed with combining characters is the same name.

The owner of a plan world is the existing person (birth date visibility PLAN by default);
its coordinator shares an active-consent plan with her.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from typing import Any

import asyncpg

from tests.conftest import Gateway
from tests.plan_world import (
    COORDINATING_UNIT,
    COORDINATOR,
    OUTSIDER,
    OWNER,
    SYSTEM_ADMIN,
    PlanWorld,
    build_world,
    ok,
    quick_user,
)
from tests.support import only_error, session_for

CREATE = """mutation($in: PersonInput!) {
  createPerson(input: $in) { id firstName lastName } }"""
CREATE_CONFIRMED = """mutation($in: PersonInput!, $confirm: Boolean) {
  createPerson(input: $in, confirmNew: $confirm) { id firstName lastName } }"""
SET_VISIBILITY = """mutation($v: Visibility!) {
  setFieldVisibility(field: BIRTH_DATE, visibility: $v) { id } }"""
CREATE_UNIT = "mutation($n: String!) { createServiceUnit(name: $n) { id } }"


async def person_count(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        n: int = await conn.fetchval("SELECT count(*) FROM persons")
    return n


class Callers:
    """The world's callers and two LOCAL_ADMINs, one of the owner's service unit."""

    def __init__(self, world: PlanWorld, tokens: dict[str, str]) -> None:
        self.world = world
        self.tokens = tokens

    @classmethod
    async def make(cls, world: PlanWorld) -> Callers:
        gateway, pool = world.gateway, world.gateway.pool
        tokens = {key: world.token(key) for key in world.actors}
        units = {}
        for name in ("Enhet Nord", "Enhet Sør"):
            made = ok(await world.post(SYSTEM_ADMIN, CREATE_UNIT, {"n": name}), "unit")
            units[name] = uuid.UUID(made["createServiceUnit"]["id"])
        async with pool.acquire() as conn:
            await conn.execute(
                "UPDATE persons SET service_unit_id = $2 WHERE id = $1",
                uuid.UUID(world.person_id(OWNER)),
                units["Enhet Nord"],
            )
        for key, unit in (("local_north", "Enhet Nord"), ("local_south", "Enhet Sør")):
            user = await quick_user(
                pool,
                f"{key}-{uuid.uuid4().hex[:6]}",
                first_name="Lokal",
                last_name=key,
                roles=("LOCAL_ADMIN",),
                now=gateway.clock(),
                service_unit_id=units[unit],
            )
            tokens[key] = await session_for(pool, user, gateway.clock())
        return cls(world, tokens)

    async def create(
        self, key: str, person: dict[str, Any], confirm: bool | None = None
    ) -> dict[str, Any]:
        variables: dict[str, Any] = {"in": person}
        query = CREATE
        if confirm is not None:
            query, variables["confirm"] = CREATE_CONFIRMED, confirm
        return await self.world.gateway.client.post(query, variables, token=self.tokens[key])


def owner_as_typed(world: PlanWorld, born: dt.date) -> dict[str, Any]:
    owner = world.actors[OWNER]
    assert owner.user.username.startswith("owner-")
    return {
        "firstName": "Owner",
        "lastName": f"W{owner.user.username.removeprefix('owner-')}",
        "birthDate": born.isoformat(),
    }


async def owner_birth_date(world: PlanWorld) -> dt.date:
    async with world.gateway.pool.acquire() as conn:
        born: dt.date = await conn.fetchval(
            "SELECT birth_date FROM persons WHERE id = $1", uuid.UUID(world.person_id(OWNER))
        )
    return born


async def expect(callers: Callers, key: str, person: dict[str, Any], code: str) -> None:
    """A refusal with this code that creates nothing; existingId only with DUPLICATE_PERSON,
    and no id anywhere in a POSSIBLE_DUPLICATE answer."""
    pool = callers.world.gateway.pool
    before = await person_count(pool)
    body = await callers.create(key, person)
    error = only_error(body)
    assert body["data"] is None, (key, body)
    owner_id = callers.world.person_id(OWNER)
    if code == "DUPLICATE_PERSON":
        assert error["extensions"] == {"code": code, "existingId": owner_id}, (key, body)
    else:
        assert error["extensions"] == {"code": code}, (key, body)
        assert owner_id not in str(body), body
    assert await person_count(pool) == before


async def test_duplicate_person_is_told_only_to_those_who_may_know_the_birth_date(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway)
    callers = await Callers.make(world)
    born = await owner_birth_date(world)
    same = owner_as_typed(world, born)
    other_day = owner_as_typed(world, born + dt.timedelta(days=1))

    # The register keepers: the system administrator, the LOCAL_ADMIN of the owner's unit.
    for key in (SYSTEM_ADMIN, "local_north"):
        await expect(callers, key, same, "DUPLICATE_PERSON")
    # Others who may create persons but not see her birth date: POSSIBLE_DUPLICATE, whatever
    # birth date they type, so the answer says nothing about hers.
    for key in (COORDINATING_UNIT, "local_south"):
        await expect(callers, key, same, "POSSIBLE_DUPLICATE")
        await expect(callers, key, other_day, "POSSIBLE_DUPLICATE")
    # The coordinator shares an active-consent plan with her: her birth date (PLAN) is his
    # to see, and so is the answer. Confirming it is a read of it, logged for her to see.
    await expect(callers, COORDINATOR, same, "DUPLICATE_PERSON")
    async with gateway.pool.acquire() as conn:
        logged = await conn.fetchval(
            "SELECT count(*) FROM access_log_reads WHERE viewer_id = $1 AND subject_id = $2"
            " AND what = 'person:BIRTH_DATE'",
            uuid.UUID(world.person_id(COORDINATOR)),
            uuid.UUID(world.person_id(OWNER)),
        )
    assert logged == 1
    # The coordinator, who may see her birth date, learns that another day is another person.
    made = ok(await callers.create(COORDINATOR, other_day), "createPerson")["createPerson"]
    assert made["id"] != world.person_id(OWNER)
    # Someone who may not create persons at all is refused before any comparison.
    body = await callers.create(OUTSIDER, same)
    assert only_error(body)["extensions"] == {"code": "FORBIDDEN", "reason": "ROLE_REQUIRED"}

    # She hides her birth date (PRIVATE): the coordinator may no longer see it.
    ok(await world.post(OWNER, SET_VISIBILITY, {"v": "PRIVATE"}), "setFieldVisibility")
    await expect(callers, COORDINATOR, same, "POSSIBLE_DUPLICATE")
    for key in (SYSTEM_ADMIN, "local_north"):
        await expect(callers, key, same, "DUPLICATE_PERSON")
    # She shows it to everyone (ALL): now the coordinating unit may know it too.
    ok(await world.post(OWNER, SET_VISIBILITY, {"v": "ALL"}), "setFieldVisibility")
    await expect(callers, COORDINATING_UNIT, same, "DUPLICATE_PERSON")
    await expect(callers, "local_south", same, "DUPLICATE_PERSON")


async def test_confirm_new_creates_past_possible_duplicate_but_not_past_duplicate(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway)
    callers = await Callers.make(world)
    same = owner_as_typed(world, await owner_birth_date(world))

    before = await person_count(gateway.pool)
    for key in (COORDINATING_UNIT, "local_south"):
        made = ok(await callers.create(key, same, confirm=True), key)["createPerson"]
        assert made["id"] != world.person_id(OWNER)
        assert (made["firstName"], made["lastName"]) == (same["firstName"], same["lastName"])
    assert await person_count(gateway.pool) == before + 2
    # Those told which person it is are not let past it.
    for key in (SYSTEM_ADMIN, "local_north", COORDINATOR):
        body = await callers.create(key, same, confirm=True)
        assert only_error(body)["extensions"] == {
            "code": "DUPLICATE_PERSON",
            "existingId": world.person_id(OWNER),
        }
    assert await person_count(gateway.pool) == before + 2


async def test_a_name_typed_with_combining_characters_is_the_same_name(gateway: Gateway) -> None:
    """Åse Ødegård typed with A + combining ring (NFD) once slipped past DUPLICATE_PERSON."""
    world = await build_world(gateway)
    callers = await Callers.make(world)
    nfc = {"firstName": "Åse", "lastName": "Ødegård", "birthDate": "1961-04-09"}
    nfd = {k: unicodedata.normalize("NFD", v) for k, v in nfc.items()}
    assert nfd["firstName"] != nfc["firstName"] and nfd["lastName"] != nfc["lastName"]

    made = ok(await callers.create(SYSTEM_ADMIN, nfc), "createPerson")["createPerson"]
    for key, extensions in (
        (SYSTEM_ADMIN, {"code": "DUPLICATE_PERSON", "existingId": made["id"]}),
        (COORDINATING_UNIT, {"code": "POSSIBLE_DUPLICATE"}),
    ):
        body = await callers.create(key, nfd)
        assert only_error(body)["extensions"] == extensions, (key, body)
    # Typed the other way round: the NFD name is stored as NFC, and the NFC one matches it.
    nfd_first = {**nfd, "firstName": unicodedata.normalize("NFD", "Åsmund")}
    stored = ok(await callers.create(SYSTEM_ADMIN, nfd_first), "createPerson")["createPerson"]
    assert (stored["firstName"], stored["lastName"]) == ("Åsmund", "Ødegård")
    body = await callers.create(SYSTEM_ADMIN, {**nfc, "firstName": "Åsmund"})
    assert only_error(body)["extensions"] == {
        "code": "DUPLICATE_PERSON",
        "existingId": stored["id"],
    }
