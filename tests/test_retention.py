"""Retention over moved time (issue 16): expired sessions and challenges go 30 days after
they ended, idempotency keys after 7 days, sent mail after 30, login attempts after 90; the
audit log is never touched by the purge."""

from __future__ import annotations

from typing import Any

from resolvers import jobs
from tests.conftest import Gateway, Mailbox
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
