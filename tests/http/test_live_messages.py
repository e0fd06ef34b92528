"""Live messages (`messageAdded`) over real WebSockets (graphql-transport-ws).

- Two `plangruppe serve` processes on one database: a message posted on one reaches a
  subscriber on the other, and never a subscriber it is not meant for.
- Losing access while subscribed (removed, consent revoked, logged out) ends the
  subscription with an error and nothing more is delivered.
- The LISTEN connection killed with pg_terminate_backend: the bus reconnects and catches
  up; nothing is lost, nothing comes twice.
- connection_init without a valid token closes the socket with 4403; a plan the viewer is
  not in is NOT_FOUND; `planId: null` follows every plan whose messages the viewer reads.
- The npm `graphql-ws` client under Node (a third-party reference client).

graphql-transport-ws has no acknowledgement for `subscribe`, so a test knows its
subscription is live only when a message posted after subscribing arrives: `until_live`
posts group messages ("probes") until every subscriber has received one, and later reads
skip the probes. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from tests.conftest import Gateway, free_port
from tests.plan_world import (
    COORDINATOR,
    OUTSIDER,
    RELATIVE,
    SERVICE_PROVIDER,
    PlanWorld,
    build_world,
    ok,
)
from tests.support import (
    FakeClock,
    GraphQLClient,
    make_user,
    node_with_pinned_packages,
    session_for,
)

WAIT = 10.0  # for any one live event
LIVE_WAIT = 20.0  # for a new subscription to receive its first probe
PROBE_EVERY = 0.3
START_TIMEOUT = 60.0  # a `plangruppe serve` process answering /health
STOP_TIMEOUT = 20.0
NODE_WAIT = 30.0

PROTOCOL = Subprotocol("graphql-transport-ws")
SUBSCRIPTION = """subscription($p: ID) { messageAdded(planId: $p) {
  id body plan { id } author { id role } recipients { id } } }"""
POST = """mutation($p: ID!, $body: String!, $to: [ID!]) {
  postMessage(planId: $p, body: $body, recipientIds: $to) { id } }"""
REMOVE = "mutation($id: ID!) { removeParticipant(id: $id) { id } }"
REVOKE = "mutation($p: ID!) { revokeConsent(planId: $p) { id revokedOn } }"
LOGOUT = "mutation { logout }"

JS_DIR = Path(__file__).resolve().parent.parent / "js"


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1) + "/graphql"


# --- a graphql-transport-ws connection --------------------------------------------------


class Live:
    """One graphql-transport-ws connection; a reader task queues every frame it receives,
    and a `closed` frame when the server closes the socket."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                self.frames.put_nowait(json.loads(raw))
        self.frames.put_nowait(
            {"type": "closed", "code": self.ws.close_code, "reason": self.ws.close_reason}
        )

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def frame(self, timeout: float = WAIT, what: str = "a frame") -> dict[str, Any]:
        while True:
            try:
                frame = await asyncio.wait_for(self.frames.get(), timeout)
            except TimeoutError:
                pytest.fail(f"waited {timeout} s in vain for {what}")
            if frame["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return frame

    async def init(self, payload: dict[str, Any]) -> None:
        await self.send({"type": "connection_init", "payload": payload})
        frame = await self.frame(what="connection_ack")
        assert frame["type"] == "connection_ack", frame

    async def subscribe(self, plan_id: str | None, op: str = "1") -> None:
        await self.send(
            {
                "id": op,
                "type": "subscribe",
                "payload": {"query": SUBSCRIPTION, "variables": {"p": plan_id}},
            }
        )

    async def message(self, skip: set[str], what: str = "a message") -> dict[str, Any]:
        """The next message that is not a probe; anything else fails the test."""
        while True:
            frame = await self.frame(what=what)
            assert frame["type"] == "next", frame
            assert "errors" not in frame["payload"], frame
            message: dict[str, Any] = frame["payload"]["data"]["messageAdded"]
            if message["id"] not in skip:
                return message

    async def probe(self, probes: set[str], timeout: float) -> bool:
        """Whether a probe arrived within `timeout`; anything else fails the test."""
        try:
            frame = await asyncio.wait_for(self.frames.get(), timeout)
        except TimeoutError:
            return False
        assert frame["type"] == "next", frame
        assert frame["payload"]["data"]["messageAdded"]["id"] in probes, frame
        return True

    async def ending(self, skip: set[str], op: str = "1") -> list[dict[str, Any]]:
        """The errors that end subscription `op`. The server sends them as graphql-transport-ws
        puts execution errors: one `next` with `data: null` and the errors, then `complete`
        (not an `error` frame, which is for operations that never start). Any message but
        a probe before that fails the test."""
        while True:
            frame = await self.frame(what="the end of the subscription")
            assert frame["type"] == "next" and frame.get("id") == op, frame
            if frame["payload"].get("data") is not None:
                message = frame["payload"]["data"]["messageAdded"]
                assert message["id"] in skip, f"delivered after losing access: {frame}"
                continue
            errors: list[dict[str, Any]] = frame["payload"]["errors"]
            break
        closing = await self.frame(what="complete")
        assert closing == {"id": op, "type": "complete"}, closing
        return errors


@contextlib.asynccontextmanager
async def socket(url: str) -> AsyncIterator[Live]:
    async with websockets.connect(
        ws_url(url), subprotocols=[PROTOCOL], open_timeout=WAIT, close_timeout=5
    ) as ws:
        live = Live(ws)
        try:
            yield live
        finally:
            live.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await live.reader


@contextlib.asynccontextmanager
async def connected(url: str, token: str) -> AsyncIterator[Live]:
    """A connection acknowledged with the session token in connection_init."""
    async with socket(url) as live:
        await live.init({"authorization": f"Bearer {token}"})
        yield live


def codes(errors: Sequence[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """Each error's (extensions.code, extensions.reason)."""
    return [
        ((e.get("extensions") or {}).get("code"), (e.get("extensions") or {}).get("reason"))
        for e in errors
    ]


# --- posting ---------------------------------------------------------------------------


Poster = Callable[[str], Awaitable[str]]


async def post(
    client: GraphQLClient, token: str, plan_id: str, body: str, to: list[str] | None = None
) -> str:
    """postMessage over HTTP; the new message's id."""
    answer = await client.post(POST, {"p": plan_id, "body": body, "to": to}, token=token)
    message_id: str = ok(answer, "postMessage")["postMessage"]["id"]
    return message_id


def poster(client: GraphQLClient, world: PlanWorld, key: str = COORDINATOR) -> Poster:
    """Group messages by `key` in the world's plan."""

    async def send(body: str) -> str:
        return await post(client, world.token(key), world.plan_id, body)

    return send


async def until_live(send: Poster, subscribers: Sequence[Live], probes: set[str]) -> None:
    """Post probes until every subscriber has received one (subscribe has no ack)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIVE_WAIT
    waiting = list(subscribers)
    n = 0
    while waiting:
        if loop.time() > deadline:
            pytest.fail(f"{len(waiting)} subscription(s) not live within {LIVE_WAIT} s")
        n += 1
        probes.add(await send(f"Probe {n}"))
        waiting = [sub for sub in waiting if not await sub.probe(probes, PROBE_EVERY)]


# --- `plangruppe serve` processes --------------------------------------------------------

# Variables that would send mail or SMS, or change the mode, of a serve process.
CLEARED = (
    "PLANGRUPPE_ENV",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_FROM",
    "SMTP_STARTTLS",
    "SMS_GATEWAY_URL",
    "SMS_GATEWAY_TOKEN",
    "PLANGRUPPE_OTP_CHANNELS",
)


class ServeProcess:
    """`python -m gateway serve --port <free>` on the test's database, output in files."""

    def __init__(self, n: int, db_dsn: str, tmp_path: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.stdout_path = tmp_path / f"serve{n}.stdout"
        self.stderr_path = tmp_path / f"serve{n}.stderr"
        env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        env["DATABASE_URL"] = db_dsn
        env["PLANGRUPPE_DATA_DIR"] = str(tmp_path / "data")
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--port", self.url.rsplit(":", 1)[1]],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=tmp_path,
                start_new_session=True,
            )

    def __str__(self) -> str:
        out = self.stdout_path.read_text(errors="replace")
        err = self.stderr_path.read_text(errors="replace")
        return f"{self.url}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"

    async def wait_healthy(self, http: httpx.AsyncClient) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while True:
            if self.popen.poll() is not None:
                pytest.fail(f"plangruppe serve exited ({self.popen.returncode})\n{self}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{self.url}/health", timeout=5)).status_code == 200:
                    return
            if loop.time() > deadline:
                pytest.fail(f"no 200 from /health within {START_TIMEOUT} s\n{self}")
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


@contextlib.asynccontextmanager
async def serve_processes(
    count: int, db_dsn: str, tmp_path: Path
) -> AsyncIterator[list[ServeProcess]]:
    procs: list[ServeProcess] = []
    try:
        for n in range(1, count + 1):
            procs.append(ServeProcess(n, db_dsn, tmp_path))
        async with httpx.AsyncClient() as http:
            for proc in procs:
                await proc.wait_healthy(http)
        yield procs
    finally:
        for proc in procs:
            proc.stop()


@dataclass
class RemoteGateway:
    """What build_world needs of a gateway, for a serve process: a client on its URL, the
    test database, and a clock at the real time (the process's own clock)."""

    url: str
    client: GraphQLClient
    pool: asyncpg.Pool
    clock: FakeClock


async def test_two_processes_deliver_across_processes_and_only_to_recipients(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with serve_processes(2, db_dsn, tmp_path) as (one, two):
        client = GraphQLClient(two.url)
        try:
            remote = RemoteGateway(two.url, client, pool, FakeClock(dt.datetime.now(dt.UTC)))
            world = await build_world(cast(Gateway, remote))
            coordinator = world.token(COORDINATOR)
            async with (
                connected(one.url, world.token(SERVICE_PROVIDER)) as recipient,
                connected(one.url, world.token(RELATIVE)) as bystander,
            ):
                await recipient.subscribe(world.plan_id)
                await bystander.subscribe(world.plan_id)
                probes: set[str] = set()
                # The probes, posted on process 2, already cross to process 1.
                await until_live(poster(client, world), [recipient, bystander], probes)

                to_her = world.participant_ids[SERVICE_PROVIDER]
                private = await post(client, coordinator, world.plan_id, "Bare til deg", [to_her])
                got = await recipient.message(probes, "the message on the other process")
                assert got == {
                    "id": private,
                    "body": "Bare til deg",
                    "plan": {"id": world.plan_id},
                    "author": {"id": world.participant_ids[COORDINATOR], "role": "COORDINATOR"},
                    "recipients": [{"id": to_her}],
                }

                # Process 1 fans messages out in commit order: had the private message
                # reached the bystander, it would come before this one.
                group = await post(client, coordinator, world.plan_id, "Til alle")
                first = await bystander.message(probes, "the group message")
                assert first["id"] == group, f"the bystander got {first}"
                assert first["recipients"] is None
                assert (await recipient.message(probes))["id"] == group
        finally:
            await client.close()


# --- losing access while subscribed ----------------------------------------------------

LOSSES = {
    # how access is lost: (errors of the ending subscription, error of a new subscribe)
    "removed": (("FORBIDDEN", "NOT_PARTICIPANT"), ("NOT_FOUND", None)),
    "consent_revoked": (("FORBIDDEN", "CONSENT_EXPIRED"), ("FORBIDDEN", "CONSENT_EXPIRED")),
    "logged_out": (("UNAUTHENTICATED", None), ("UNAUTHENTICATED", None)),
}


@pytest.mark.parametrize("loss", list(LOSSES))
async def test_losing_access_ends_the_subscription_with_an_error(
    gateway: Gateway, loss: str
) -> None:
    world = await build_world(gateway)
    ending, resubscribe = LOSSES[loss]
    async with connected(gateway.url, world.token(SERVICE_PROVIDER)) as sub:
        await sub.subscribe(world.plan_id)
        probes: set[str] = set()
        await until_live(poster(gateway.client, world), [sub], probes)

        if loss == "removed":
            removed = {"id": world.participant_ids[SERVICE_PROVIDER]}
            ok(await world.post(COORDINATOR, REMOVE, removed), "removeParticipant")
        elif loss == "consent_revoked":
            ok(await world.post(COORDINATOR, REVOKE, {"p": world.plan_id}), "revokeConsent")
        else:
            assert ok(await world.post(SERVICE_PROVIDER, LOGOUT), "logout") == {"logout": True}
        after = await post(gateway.client, world.token(COORDINATOR), world.plan_id, "Etterpå")

        # The error comes, and `after` is not delivered before it (nor after: complete).
        errors = await sub.ending(probes)
        assert codes(errors) == [ending], (errors, after)

        # Checked again at every subscribe, on the same connection.
        await sub.subscribe(world.plan_id, op="2")
        assert codes(await sub.ending(probes, op="2")) == [resubscribe]


# --- the LISTEN connection killed ------------------------------------------------------

LISTENERS = """SELECT pid FROM pg_stat_activity
  WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'"""


async def listener_pids(pool: asyncpg.Pool) -> set[int]:
    """The backends whose last statement was a LISTEN: the bus's connection."""
    async with pool.acquire() as conn:
        return {r["pid"] for r in await conn.fetch(LISTENERS)}


async def open_every_connection(pool: asyncpg.Pool) -> None:
    """Let the pool open all its connections; they stay usable while the database refuses
    new ones."""
    held = [await pool.acquire(timeout=WAIT) for _ in range(pool.get_max_size())]
    for conn in held:
        await pool.release(conn)


async def test_listener_killed_reconnects_and_delivers_everything_once(
    gateway: Gateway, pool: asyncpg.Pool, pg_admin_dsn: str
) -> None:
    world = await build_world(gateway)
    send = poster(gateway.client, world)
    async with connected(gateway.url, world.token(SERVICE_PROVIDER)) as sub:
        await sub.subscribe(world.plan_id)
        probes: set[str] = set()
        await until_live(send, [sub], probes)
        before = await send("Før")  # delivered once already: a catch-up must not repeat it
        assert (await sub.message(probes))["id"] == before
        [old] = await listener_pids(pool)

        # The bus reconnects within milliseconds. To post while it is surely down, the
        # database refuses new connections (the gateway's open pool connections go on
        # working) from before the kill until the messages are committed: only the
        # catch-up after reconnecting can bring them.
        await open_every_connection(pool)
        async with pool.acquire() as conn:
            name = await conn.fetchval("SELECT current_database()")
        admin = await asyncpg.connect(pg_admin_dsn)  # another database: this one is closed
        try:
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            try:
                killed = await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", old)
                assert killed, "the LISTEN backend did not end within 5 s"
                assert await listener_pids(pool) == set()
                posted = [await send(f"Mens lytteren var borte {n}") for n in range(3)]
                assert await listener_pids(pool) == set(), "posted after the bus reconnected"
            finally:
                await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        finally:
            await admin.close()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not await listener_pids(pool):
            assert loop.time() < deadline, f"no new LISTEN connection within {WAIT} s"
            await asyncio.sleep(0.05)
        assert old not in await listener_pids(pool)

        got = [(await sub.message(probes, "a message posted meanwhile"))["id"] for _ in posted]
        assert got == posted  # none lost, none twice, in order
        # Nothing more queued: the next message is one posted now.
        last = await send("Etter gjenoppkobling")
        assert (await sub.message(probes))["id"] == last


# --- connection_init, subscribe checks, planId null --------------------------------------

INIT_PAYLOADS: dict[str, Callable[[str], dict[str, Any] | None]] = {
    "no payload": lambda _token: None,
    "no token": lambda _token: {},
    "bad token": lambda _token: {"authorization": "Bearer ikke-en-gyldig-sesjon"},
    "no Bearer": lambda token: {"authorization": token},
}


@pytest.mark.parametrize("case", list(INIT_PAYLOADS))
async def test_connection_init_without_a_valid_token_closes_4403(
    gateway: Gateway, case: str
) -> None:
    user = await make_user(gateway.pool, "kari")
    token = await session_for(gateway.pool, user)
    payload = INIT_PAYLOADS[case](token)
    init: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        init["payload"] = payload
    async with socket(gateway.url) as live:
        await live.send(init)
        frame = await live.frame(what="the close")
        assert frame == {"type": "closed", "code": 4403, "reason": frame["reason"]}, frame
    # The same token as it should be sent is accepted.
    async with connected(gateway.url, token):
        pass


async def test_subscribing_to_a_plan_one_is_not_in_is_not_found(gateway: Gateway) -> None:
    world = await build_world(gateway)
    async with connected(gateway.url, world.token(OUTSIDER)) as live:
        await live.subscribe(world.plan_id, op="1")
        assert codes(await live.ending(set(), op="1")) == [("NOT_FOUND", None)]
        await live.subscribe(str(uuid.uuid4()), op="2")  # the same for no plan at all
        assert codes(await live.ending(set(), op="2")) == [("NOT_FOUND", None)]


async def test_plan_id_null_follows_every_plan_whose_messages_i_read(gateway: Gateway) -> None:
    a = await build_world(gateway)
    me = {SERVICE_PROVIDER: a.actors[SERVICE_PROVIDER]}
    b = await build_world(gateway, reuse=me)
    no_messages = {SERVICE_PROVIDER: {"messages": "NONE"}}
    c = await build_world(gateway, reuse=me, rights=no_messages)
    token = a.token(SERVICE_PROVIDER)
    client = gateway.client
    async with connected(gateway.url, token) as live:
        await live.subscribe(None)
        probes: set[str] = set()
        await until_live(poster(client, a), [live], probes)

        # Posted first: had the message in plan c reached the subscriber, it would come first.
        await post(client, c.token(COORDINATOR), c.plan_id, "I plan C")
        in_a = await post(client, a.token(COORDINATOR), a.plan_id, "I plan A")
        in_b = await post(client, b.token(COORDINATOR), b.plan_id, "I plan B")
        first = await live.message(probes)
        second = await live.message(probes)
        assert (first["id"], first["plan"]) == (in_a, {"id": a.plan_id}), first
        assert (second["id"], second["plan"]) == (in_b, {"id": b.plan_id}), second
        await post(client, c.token(COORDINATOR), c.plan_id, "I plan C igjen")
        again = await post(client, a.token(COORDINATOR), a.plan_id, "I plan A igjen")
        assert (await live.message(probes))["id"] == again

        # Plan c itself: its messages are closed to me.
        await live.subscribe(c.plan_id, op="2")
        assert codes(await live.ending(probes, op="2")) == [("FORBIDDEN", "NO_GRANT")]


# --- the npm graphql-ws client -------------------------------------------------------------


@pytest.fixture(scope="session")
def reference_client() -> tuple[str, Path]:
    """node and the graphql-ws client script, with tests/js/package.json's pinned packages."""
    node = node_with_pinned_packages(JS_DIR, "to run the npm graphql-ws reference client")
    return node, JS_DIR / "subscribe_once.mjs"


@contextlib.asynccontextmanager
async def node_subscriber(
    reference: tuple[str, Path], url: str, token: str, plan_id: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    node, script = reference
    proc = await asyncio.create_subprocess_exec(
        node,
        str(script),
        ws_url(url),
        token,
        plan_id,
        cwd=JS_DIR,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def _stderr(proc: asyncio.subprocess.Process) -> str:
    assert proc.stderr is not None
    with contextlib.suppress(TimeoutError):
        return (await asyncio.wait_for(proc.stderr.read(), 2)).decode(errors="replace")
    return ""


async def test_graphql_ws_reference_client_receives_a_message(
    reference_client: tuple[str, Path], gateway: Gateway
) -> None:
    world = await build_world(gateway)
    send = poster(gateway.client, world)
    async with node_subscriber(
        reference_client, gateway.url, world.token(SERVICE_PROVIDER), world.plan_id
    ) as proc:
        assert proc.stdout is not None
        line = asyncio.ensure_future(proc.stdout.readline())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + NODE_WAIT
        posted: dict[str, str] = {}
        try:
            # Post until the client prints: it cannot tell us when its subscribe is live.
            while not line.done():
                if loop.time() > deadline or proc.returncode is not None:
                    pytest.fail(f"graphql-ws printed nothing\n{await _stderr(proc)}")
                body = f"Hei fra plangruppe {len(posted) + 1}"
                posted[await send(body)] = body
                await asyncio.wait([line], timeout=0.5)
            printed = line.result()
        finally:
            line.cancel()
        assert printed, f"graphql-ws exited without output\n{await _stderr(proc)}"
        result = json.loads(printed)
        assert "errors" not in result, result
        message = result["data"]["messageAdded"]
        assert message["id"] in posted, (message, posted)
        assert message == {
            "id": message["id"],
            "body": posted[message["id"]],
            "author": {"role": "COORDINATOR"},
            "plan": {"id": world.plan_id},
        }
        assert await asyncio.wait_for(proc.wait(), WAIT) == 0


async def test_graphql_ws_reference_client_sees_4403_for_a_bad_token(
    reference_client: tuple[str, Path], gateway: Gateway
) -> None:
    world = await build_world(gateway)
    async with node_subscriber(
        reference_client, gateway.url, "ikke-en-gyldig-sesjon", world.plan_id
    ) as proc:
        assert proc.stdout is not None
        printed = await asyncio.wait_for(proc.stdout.readline(), NODE_WAIT)
        assert printed, f"graphql-ws exited without output\n{await _stderr(proc)}"
        result = json.loads(printed)
        assert result["closeCode"] == 4403, result
