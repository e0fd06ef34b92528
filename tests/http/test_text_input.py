"""Text arguments over real HTTP (issue 9, "Names and bad input"): every text arrives in
Unicode NFC, and text that is not Unicode (a lone surrogate) is BAD_USER_INPUT naming the
argument, never INTERNAL or a 500.

- A lone surrogate ("\\ud800", half of a UTF-16 pair) in a JSON variable, in a GraphQL string
  literal as an escape, and as a raw character in the query, for queries and mutations of
  several areas; in input objects and lists too; and in variables of enum and date types,
  whose GraphQL errors would echo it. Nothing is written.
- Names typed with combining characters (NFD, as macOS keyboards and files make them) are
  stored in NFC and found by an NFC search, and an NFD search finds NFC names; other free
  text (messages, plan names, service units) is stored in NFC too.

The duplicate check on NFD names: tests/http/test_person_duplicates.py.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from tests.conftest import Gateway
from tests.plan_world import COORDINATOR, SYSTEM_ADMIN, PlanWorld, build_world, ok
from tests.support import only_error

LONE = "\ud800"
TABLES = ("persons", "plans", "goals", "messages", "outbox", "service_units", "api_keys")


@dataclass(frozen=True)
class Case:
    """One argument: ``{V}`` is where variable definitions go, ``{S}`` the string value."""

    what: str
    who: str | None
    template: str
    type: str
    field: str
    literal: bool = True  # False: the argument is no string literal (enum, date)


CASES = [
    Case(
        "postMessage body",
        COORDINATOR,
        'mutation{V} { postMessage(planId: "<plan>", body: {S}) { id } }',
        "String!",
        "body",
    ),
    Case(
        "postMessage recipientIds",
        COORDINATOR,
        'mutation{V} { postMessage(planId: "<plan>", body: "Hei", recipientIds: [{S}]) { id } }',
        "ID!",
        "recipientIds",
    ),
    Case(
        "addGoal title",
        COORDINATOR,
        'mutation{V} { addGoal(planId: "<plan>", title: {S}) { id } }',
        "String!",
        "title",
    ),
    Case(
        "updatePlan shortName",
        COORDINATOR,
        'mutation{V} { updatePlan(id: "<plan>", shortName: {S}) { id } }',
        "String",
        "shortName",
    ),
    Case(
        "createPerson input.firstName",
        SYSTEM_ADMIN,
        'mutation{V} { createPerson(input: {firstName: {S}, lastName: "Berg"}) { id } }',
        "String",
        "firstName",
    ),
    Case(
        "updatePerson input.position",
        COORDINATOR,
        'mutation{V} { updatePerson(id: "<me>", input: {position: {S}}) { id } }',
        "String",
        "position",
    ),
    Case(
        "createServiceUnit name",
        SYSTEM_ADMIN,
        "mutation{V} { createServiceUnit(name: {S}) { id } }",
        "String!",
        "name",
    ),
    Case(
        "login password",
        None,
        'mutation{V} { login(username: "someone", password: {S}) { challengeId } }',
        "String!",
        "password",
    ),
    Case(
        "requestPasswordReset",
        None,
        "mutation{V} { requestPasswordReset(usernameOrEmail: {S}) }",
        "String!",
        "usernameOrEmail",
    ),
    Case(
        "searchPersons lastName",
        COORDINATOR,
        "query{V} { searchPersons(lastName: {S}) { id } }",
        "String",
        "lastName",
    ),
    Case(
        "plans filter.ownerFirstName",
        COORDINATOR,
        "query{V} { plans(filter: {ownerFirstName: {S}}) { totalCount } }",
        "String",
        "ownerFirstName",
    ),
    Case(
        "plans after",
        COORDINATOR,
        "query{V} { plans(after: {S}) { totalCount } }",
        "String",
        "after",
    ),
    Case("plan id", COORDINATOR, "query{V} { plan(id: {S}) { id } }", "ID!", "id"),
    Case(
        "plans filter.type (enum)",
        COORDINATOR,
        "query{V} { plans(filter: {type: {S}}) { totalCount } }",
        "PlanType",
        "type",
        literal=False,
    ),
    Case(
        "searchPersons birthDate (date)",
        COORDINATOR,
        "query{V} { searchPersons(birthDate: {S}) { id } }",
        "Date",
        "birthDate",
        literal=False,
    ),
    Case(
        "setFieldVisibility field (enum)",
        COORDINATOR,
        "mutation{V} { setFieldVisibility(field: {S}, visibility: ALL) { id } }",
        "PersonField!",
        "field",
        literal=False,
    ),
]


async def post_raw(gateway: Gateway, token: str | None, payload: dict[str, Any]) -> httpx.Response:
    """JSON with ASCII escapes, so that a lone surrogate travels as "\\ud800" (as a browser's
    JSON.stringify sends it)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        return await http.post("/graphql", content=json.dumps(payload), headers=headers)


async def table_counts(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


def requests(case: Case, world: PlanWorld) -> list[tuple[str, dict[str, Any]]]:
    """The same bad value as a variable, as an escape in a literal, and raw in a literal."""
    template = case.template.replace("<plan>", world.plan_id)
    template = template.replace("<me>", world.person_id(COORDINATOR))
    sent = [
        (
            template.replace("{V}", f"($s: {case.type})").replace("{S}", "$s"),
            {"s": f"Hei {LONE}"},
        )
    ]
    if case.literal:
        for text in ('"Hei \\ud800"', f'"Hei {LONE}"'):
            sent.append((template.replace("{V}", "").replace("{S}", text), {}))
    return sent


async def test_a_lone_surrogate_is_bad_user_input_naming_the_argument(gateway: Gateway) -> None:
    world = await build_world(gateway)
    before = await table_counts(gateway.pool)
    for case in CASES:
        token = world.token(case.who) if case.who else None
        for query, variables in requests(case, world):
            response = await post_raw(gateway, token, {"query": query, "variables": variables})
            assert response.status_code == 200, (case.what, query, response.text)
            body = response.json()
            error = only_error(body)
            assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": case.field}, (
                case.what,
                query,
                body,
            )
    # A variable's name, an input object's key: still BAD_USER_INPUT, never a 500.
    for query, variables in (
        ("query($s: String) { searchPersons(lastName: $s) { id } }", {"s": "a", LONE: "x"}),
        (
            "mutation($in: PersonInput!) { createPerson(input: $in) { id } }",
            {"in": {"lastName": "Berg", f"first{LONE}": "x"}},
        ),
    ):
        response = await post_raw(
            gateway, world.token(SYSTEM_ADMIN), {"query": query, "variables": variables}
        )
        assert response.status_code == 200, response.text
        assert only_error(response.json())["extensions"]["code"] == "BAD_USER_INPUT", response.text
    assert await table_counts(gateway.pool) == before


SEARCH = """query($first: String, $last: String) {
  searchPersons(firstName: $first, lastName: $last) { id firstName lastName } }"""
CREATE = "mutation($in: PersonInput!) { createPerson(input: $in) { id firstName lastName } }"


def nfd(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    return decomposed


async def test_names_typed_in_nfd_are_stored_and_found_in_nfc(gateway: Gateway) -> None:
    world = await build_world(gateway)
    tag = uuid.uuid4().hex[:6]
    last = f"Ødegård{tag}"
    made = ok(
        await world.post(
            SYSTEM_ADMIN, CREATE, {"in": {"firstName": nfd("Åse"), "lastName": nfd(last)}}
        ),
        "createPerson",
    )["createPerson"]
    assert (made["firstName"], made["lastName"]) == ("Åse", last)
    async with gateway.pool.acquire() as conn:
        stored = await conn.fetchrow(
            "SELECT first_name, last_name FROM persons WHERE id = $1", uuid.UUID(made["id"])
        )
    assert stored is not None and tuple(stored) == ("Åse", last)

    # Found by an NFC search (as most keyboards type it), whole or by prefix, and by NFD.
    for first, last_prefix in (("Åse", last), ("Å", "Ødegå"), (nfd("Åse"), nfd("Ødegå"))):
        found = ok(
            await world.post(COORDINATOR, SEARCH, {"first": first, "last": last_prefix}), "s"
        )
        assert [p["id"] for p in found["searchPersons"]] == [made["id"]], (first, last_prefix)
    # And an NFC name by an NFD search.
    other = ok(
        await world.post(SYSTEM_ADMIN, CREATE, {"in": {"firstName": "Bård", "lastName": last}}),
        "createPerson",
    )["createPerson"]
    found = ok(await world.post(COORDINATOR, SEARCH, {"first": nfd("Bå"), "last": last}), "s")
    assert [p["id"] for p in found["searchPersons"]] == [other["id"]]


async def test_other_free_text_is_stored_in_nfc(gateway: Gateway) -> None:
    world = await build_world(gateway)
    text = "Møte på Bryggen: Åse og Sørensen"
    posted = ok(
        await world.post(
            COORDINATOR,
            "mutation($p: ID!, $b: String!) { postMessage(planId: $p, body: $b) { id body } }",
            {"p": world.plan_id, "b": nfd(text)},
        ),
        "postMessage",
    )["postMessage"]
    assert posted["body"] == text
    renamed = ok(
        await world.post(
            COORDINATOR,
            "mutation($p: ID!, $n: String) { updatePlan(id: $p, shortName: $n) { shortName } }",
            {"p": world.plan_id, "n": nfd("Åses plan")},
        ),
        "updatePlan",
    )["updatePlan"]
    assert renamed["shortName"] == "Åses plan"
    unit = "mutation($n: String!) { createServiceUnit(name: $n) { id name } }"
    made = ok(await world.post(SYSTEM_ADMIN, unit, {"n": nfd("Enhet Å")}), "unit")
    assert made["createServiceUnit"]["name"] == "Enhet Å"
    # Units are unique by name: the NFC spelling is the same unit.
    refused = only_error(await world.post(SYSTEM_ADMIN, unit, {"n": "Enhet Å"}))
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}
    # String literals too: NFD typed into the query, and NFD written as \u escapes.
    for literal, name in (
        (nfd("Enhet Øst-Å"), "Enhet Øst-Å"),
        ("Enhet S\\u00f8r-A\\u030a", "Enhet Sør-Å"),
    ):
        made = ok(
            await world.post(
                SYSTEM_ADMIN, f'mutation {{ createServiceUnit(name: "{literal}") {{ name }} }}'
            ),
            "literal",
        )
        assert made["createServiceUnit"]["name"] == name, literal
    async with gateway.pool.acquire() as conn:
        body = await conn.fetchval(
            "SELECT body FROM messages WHERE id = $1", uuid.UUID(posted["id"])
        )
        name = await conn.fetchval(
            "SELECT short_name FROM plans WHERE id = $1", uuid.UUID(world.plan_id)
        )
    assert (body, name) == (text, "Åses plan")
