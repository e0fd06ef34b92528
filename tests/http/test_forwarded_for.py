"""X-Forwarded-For names the client only when a trusted proxy sent it.

Login throttling and the audit log key on the client address. uvicorn trusts the header
from 127.0.0.1 by default, so behind a local proxy that passes the header on, every client
could pick its own address. `plangruppe serve` trusts no proxy unless
PLANGRUPPE_TRUSTED_PROXIES names it. A real `plangruppe serve` process; the address it
used is read back from the audit row of a failed login.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.http.test_live_messages import serve_processes

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { challengeId } }"""
CLIENT = "203.0.113.7"  # what a client writes into the header (TEST-NET-3, no real host)


async def audited_address(pool: asyncpg.Pool, url: str, forwarded: str | None) -> set[str | None]:
    """The client addresses audited for one failed login sent to `url`."""
    async with pool.acquire() as conn:
        before = await conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    variables = {"u": f"ingen-{uuid.uuid4().hex[:8]}", "p": "Feil-passord-1"}
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{url}/graphql", json={"query": LOGIN, "variables": variables}, headers=headers
        )
    assert response.status_code == 200, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT client_addr FROM audit_log WHERE id > $1", before)
    assert rows, "a failed login is audited"
    return {r["client_addr"] for r in rows}


@pytest.mark.parametrize(
    ("trusted", "audited"),
    [
        (None, "127.0.0.1"),  # the default: no proxy is trusted, the header is ignored
        ("10.0.0.0/8", "127.0.0.1"),  # proxies are configured, but this peer is not one
        ("127.0.0.1", CLIENT),  # the peer is the configured proxy: its header counts
        ("10.0.0.0/8, 127.0.0.0/8", CLIENT),
    ],
)
async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    db_dsn: str,
    pool: asyncpg.Pool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    trusted: str | None,
    audited: str,
) -> None:
    if trusted is None:
        monkeypatch.delenv("PLANGRUPPE_TRUSTED_PROXIES", raising=False)
        monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    else:
        monkeypatch.setenv("PLANGRUPPE_TRUSTED_PROXIES", trusted)
    async with serve_processes(1, db_dsn, tmp_path) as [serve]:
        assert await audited_address(pool, serve.url, CLIENT) == {audited}
        # Without the header, the peer's own address, whatever is trusted.
        assert await audited_address(pool, serve.url, None) == {"127.0.0.1"}
