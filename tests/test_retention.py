"""Retention over moved time (issue 16): expired sessions and challenges go 30 days after
they ended, idempotency keys after 7 days, sent mail after 30, login attempts after 90; the
audit log is never touched by the purge."""

from __future__ import annotations

import uuid
from typing import Any

from resolvers import jobs
from tests.conftest import Gateway, Mailbox
from tests.plan_world import COORDINATOR, build_world
from tests.support import PASSWORD, make_user, session_for


async def counts(gateway: Gateway) -> dict[str, Any]:
    async with gateway.pool.acquire() as conn:
        return {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")
            for table in (
                "sessions",
                "login_challenges",
                "idempotency_keys",
                "outbox",
                "login_attempts",
                "audit_log",
            )
        }


async def test_rows_go_when_their_retention_has_passed(gateway: Gateway, smtp: Mailbox) -> None:
    user = await make_user(gateway.pool, "oppbevaring")
    token = await session_for(gateway.pool, user, gateway.clock())
    login = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { channel } }"
    assert "errors" not in await gateway.client.post(login, {"u": user.username, "p": PASSWORD})
    wrong = await gateway.client.post(login, {"u": user.username, "p": "feil passord igjen"})
    assert wrong["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"
    answer = await gateway.client.http.post(
        "/graphql",
        json={"query": 'mutation { createServiceUnit(name: "Enhet") { id } }'},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "key-0001"},
    )
    assert answer.status_code == 200
    assert await gateway.deliver() == 1  # the login code, sent
    start = await counts(gateway)
    tables = ("sessions", "login_challenges", "outbox", "login_attempts", "idempotency_keys")
    assert all(start[t] >= 1 for t in tables), start

    gateway.clock.advance(days=8)
    await jobs.purge_expired(gateway.pool, gateway.settings, gateway.clock)
    week = await counts(gateway)
    assert week["idempotency_keys"] == 0
    assert week["sessions"] == start["sessions"] and week["outbox"] == start["outbox"]

    gateway.clock.advance(days=23)  # 31 days on
    await jobs.purge_expired(gateway.pool, gateway.settings, gateway.clock)
    month = await counts(gateway)
    assert (month["sessions"], month["login_challenges"], month["outbox"]) == (0, 0, 0)
    assert month["login_attempts"] == start["login_attempts"]

    gateway.clock.advance(days=60)  # 91 days on
    await jobs.purge_expired(gateway.pool, gateway.settings, gateway.clock)
    quarter = await counts(gateway)
    assert quarter["login_attempts"] == 0
    assert quarter["audit_log"] >= start["audit_log"]  # kept for years, never purged here


async def test_an_ended_plans_content_goes_after_its_retention_and_its_archive_stays(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway)

    async def ok(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = await world.post(COORDINATOR, query, variables)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    p = {"p": world.plan_id}
    goal = (await ok('mutation($p: ID!) { addGoal(planId: $p, title: "Mål") { id } }', p))[
        "addGoal"
    ]["id"]
    sub = 'mutation($p: ID!, $g: ID!) { addGoal(planId: $p, title: "Delmål", parentId: $g) { id } }'
    await ok(sub, {**p, "g": goal})
    activity = 'mutation($g: ID!) { addActivity(goalId: $g, title: "Tiltak") { id } }'
    await ok(activity, {"g": goal})
    await ok('mutation($g: ID!) { addComment(goalId: $g, body: "Kommentar") { id } }', {"g": goal})
    await ok('mutation($p: ID!) { postMessage(planId: $p, body: "Melding") { id } }', p)
    today = gateway.clock().date()
    end = 'mutation($p: ID!, $d: Date!) { endPlan(id: $p, endDate: $d, reason: "Ferdig") { id } }'
    await ok(end, {**p, "d": today.isoformat()})

    async def content() -> dict[str, int]:
        async with gateway.pool.acquire() as conn:
            return {
                table: await conn.fetchval(
                    f"SELECT count(*) FROM {table} WHERE plan_id = $1",
                    uuid.UUID(world.plan_id),
                )
                for table in ("goals", "activities", "comments", "messages", "plan_archives")
            }

    before = await content()
    assert all(before[t] >= 1 for t in before), before
    gateway.clock.advance(days=365 * 10 - 30)  # not yet ten years
    await jobs.purge_expired(gateway.pool, gateway.settings, gateway.clock)
    assert await content() == before
    gateway.clock.advance(days=60)
    await jobs.purge_expired(gateway.pool, gateway.settings, gateway.clock)
    after = await content()
    assert after == {**{t: 0 for t in before}, "plan_archives": before["plan_archives"]}
    async with gateway.pool.acquire() as conn:
        purged = await conn.fetchval(
            "SELECT content_purged_at FROM plans WHERE id = $1",
            uuid.UUID(world.plan_id),
        )
        audited = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'plan.content_purged'"
        )
    assert purged is not None and audited == 1
