"""Innsyn and erasure (GDPR Art. 15 and 17, issue 16) over HTTP.

- GET /persons/{id}/export.json: everything held about the person, for the person, a
  SYSTEM_ADMIN or a LOCAL_ADMIN of their unit; never a secret; an administrator's export is
  in the person's access log. Others: 403; nobody logged in: 401.
- erasePerson: SYSTEM_ADMIN, a person in no plan; their account and sessions go with them; a
  person in a plan, or named by kept records, is refused with nothing erased."""

from __future__ import annotations

import uuid

from tests.conftest import Gateway
from tests.plan_world import COORDINATOR, OUTSIDER, RELATIVE, SYSTEM_ADMIN, build_world
from tests.support import error_codes, make_user, session_for

ERASE = "mutation($p: ID!) { erasePerson(personId: $p) }"


async def test_a_person_gets_everything_held_about_them(gateway: Gateway) -> None:
    world = await build_world(gateway)
    relative = world.person_id(RELATIVE)
    posted = await world.post(
        RELATIVE,
        "mutation($p: ID!, $b: String!) { postMessage(planId: $p, body: $b) { id } }",
        {"p": world.plan_id, "b": "Hilsen fra pårørende"},
    )
    assert "errors" not in posted, posted
    http = gateway.client.http
    url = f"/persons/{relative}/export.json"
    own = await http.get(url, headers={"Authorization": f"Bearer {world.token(RELATIVE)}"})
    assert own.status_code == 200, own.text
    assert own.headers["content-type"].startswith("application/json")
    data = own.json()
    assert data["person"]["id"] == relative
    assert data["account"]["username"] == world.actors[RELATIVE].user.username
    assert [p["plan_id"] for p in data["participations"]] == [world.plan_id]
    assert [m["body"] for m in data["messagesWritten"]] == ["Hilsen fra pårørende"]
    assert data["sessions"] and "token_hash" not in own.text
    for secret in ("password_hash", "totp_secret", "national_hmac", "$argon2"):
        assert secret not in own.text

    admin = await http.get(url, headers={"Authorization": f"Bearer {world.token(SYSTEM_ADMIN)}"})
    assert admin.status_code == 200
    for key, status in ((COORDINATOR, 403), (OUTSIDER, 403)):
        refused = await http.get(url, headers={"Authorization": f"Bearer {world.token(key)}"})
        assert refused.status_code == status, key
    assert (await http.get(url)).status_code == 401
    log = await world.post(RELATIVE, "{ myAccessLog { edges { what viewer { id } } } }")
    seen = {(e["what"], e["viewer"]["id"]) for e in log["data"]["myAccessLog"]["edges"]}
    assert ("export", world.person_id(SYSTEM_ADMIN)) in seen


async def test_erasure_of_a_person_in_no_plan(gateway: Gateway) -> None:
    world = await build_world(gateway)
    lone = await make_user(gateway.pool, f"alene-{uuid.uuid4().hex[:6]}")
    token = await session_for(gateway.pool, lone, gateway.clock())
    for key, target, code in (
        (COORDINATOR, str(lone.person_id), "FORBIDDEN"),
        (SYSTEM_ADMIN, world.person_id(RELATIVE), "BAD_USER_INPUT"),  # in a plan
        (SYSTEM_ADMIN, world.person_id(SYSTEM_ADMIN), "BAD_USER_INPUT"),  # oneself
        (SYSTEM_ADMIN, str(uuid.uuid4()), "NOT_FOUND"),
    ):
        answer = await world.post(key, ERASE, {"p": target})
        assert error_codes(answer) == [code], (key, answer)
    async with gateway.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM persons WHERE id = $1", lone.person_id)
    done = await world.post(SYSTEM_ADMIN, ERASE, {"p": str(lone.person_id)})
    assert done == {"data": {"erasePerson": True}}, done
    async with gateway.pool.acquire() as conn:
        for table, column in (("persons", "id"), ("accounts", "person_id")):
            count = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE {column} = $1",
                lone.person_id,
            )
            assert count == 0, table
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM audit_log WHERE action = 'person.erased' AND target = $1",
                str(lone.person_id),
            )
            == 1
        )
    me = await gateway.client.post("{ me { id } }", token=token)
    assert me["data"]["me"] is None  # the session went with the account


async def test_a_person_named_by_kept_records_is_not_erased(gateway: Gateway) -> None:
    world = await build_world(gateway)
    reader = await make_user(gateway.pool, f"leser-{uuid.uuid4().hex[:6]}")
    token = await session_for(gateway.pool, reader, gateway.clock())
    # Reading someone's data writes the access log, which is kept: it names the reader.
    answer = await gateway.client.post(
        "query($p: ID!) { person(id: $p) { birthDate } }",
        {"p": world.person_id(RELATIVE)},
        token=token,
    )
    assert "data" in answer
    async with gateway.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO access_log (at, viewer_id, what) VALUES (now(), $1, 'test')",
            reader.person_id,
        )
    refused = await world.post(SYSTEM_ADMIN, ERASE, {"p": str(reader.person_id)})
    assert error_codes(refused) == ["BAD_USER_INPUT"]
    async with gateway.pool.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM accounts WHERE person_id = $1", reader.person_id
            )
            == 1
        )
