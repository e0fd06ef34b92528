"""Ending and archiving plans, print (utskrift) and the access log (innsyn i logg), over
real HTTP and WebSocket against real PostgreSQL.

- Ended plan: every write mutation is FORBIDDEN/PLAN_ENDED and changes no row; reads go on;
  endPlan archived the plan; a live subscription to its messages ends with PLAN_ENDED.
- Archives: the SHA-256 is that of the downloaded JSON bytes; the JSON is canonical; the PDF
  parses (pypdf) and shows the short name; archivePlan by the coordinator only; downloads
  for coordinator, owner and whoever represents the owner, NOT_FOUND for everyone else
  (tests/http/test_archive_access.py has the details); the database refuses UPDATE and
  DELETE on plan_archives.
- Print: only the sections the viewer may read, messages filtered by recipient.
- Access log: one row per viewer × plan × section per request; person fields with PLAN
  visibility are logged for that person, ALL fields are not; myAccessLog shows reads of my
  plans and my data, newest first, pages, and is itself logged; the table is append-only
  and keeps the client address.

Plans are built with tests/plan_world.py; the plan's start is 500 days before the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from pypdf import PdfReader
from websockets.typing import Subprotocol

from tests.conftest import Gateway
from tests.plan_world import (
    COORDINATOR,
    GUARDIAN,
    OUTSIDER,
    OWNER,
    RELATIVE,
    SERVICE_PROVIDER,
    SYSTEM_ADMIN,
    PlanWorld,
    build_world,
    ok,
    today_of,
)

WAIT = 10.0  # any one network event
LIVE_WAIT = 20.0  # a new subscription receiving its first probe

ALL_WRITE: dict[str, object] = dict.fromkeys(
    ("participants", "goals", "activities", "messages", "calendar", "documents"), "WRITE"
)

PLAN_TABLES = (
    "plans",
    "consents",
    "participants",
    "notification_settings",
    "goals",
    "activities",
    "comments",
    "messages",
    "message_recipients",
    "calendar_entries",
    "documents",
    "document_contents",
    "plan_archives",
    "outbox",
)

END_PLAN = """mutation($p: ID!, $on: Date!, $why: String!) {
  endPlan(id: $p, endDate: $on, reason: $why) {
    id status endDate lastArchivedAt archives { id archivedAt sha256 reason } } }"""
ARCHIVE = "mutation($p: ID!) { archivePlan(id: $p) { id archivedAt sha256 reason } }"
ARCHIVES = """query($p: ID!) { plan(id: $p) { lastArchivedAt
  archives { id archivedAt sha256 reason jsonUrl pdfUrl } } }"""
ADD_GOAL = "mutation($p: ID!, $t: String!) { addGoal(planId: $p, title: $t) { id } }"
ADD_ACTIVITY = "mutation($g: ID!, $t: String!) { addActivity(goalId: $g, title: $t) { id } }"
COMMENT = "mutation($g: ID!, $b: String!) { addComment(goalId: $g, body: $b) { id } }"
POST_MESSAGE = """mutation($p: ID!, $b: String!, $to: [ID!]) {
  postMessage(planId: $p, body: $b, recipientIds: $to) { id } }"""
ADD_CALENDAR = """mutation($p: ID!, $t: String!) { addCalendarEntry(planId: $p, title: $t,
  startsAt: "2026-12-03T10:00:00+01:00", location: "Rådhuset") { id } }"""
UPLOAD = "mutation($p: ID!, $file: Upload!) { uploadDocument(planId: $p, file: $file) { id } }"
UPDATE_PARTICIPANT = """mutation($id: ID!, $on: Date) {
  updateParticipant(id: $id, consentExpiresOn: $on) { id } }"""
READ_ALL = """query($p: ID!) { plan(id: $p) { status endDate
  goals { title activities { title } comments { body } }
  messages { edges { node { body } } }
  calendar { title } documents { name downloadUrl } participants { id } } }"""
MY_LOG = """query($first: Int, $after: String) { myAccessLog(first: $first, after: $after) {
  edges { at what viewer { id } plan { id } } pageInfo { hasNextPage endCursor } } }"""


# --- building blocks ------------------------------------------------------------------------


@dataclass
class Seeded:
    world: PlanWorld
    goal_id: str
    activity_id: str
    document_name: str

    @property
    def plan_id(self) -> str:
        return self.world.plan_id


async def upload(gateway: Gateway, token: str, plan_id: str, name: str, text: str) -> Any:
    """uploadDocument as a GraphQL multipart request."""
    operations = {"query": UPLOAD, "variables": {"p": plan_id, "file": None}}
    response = await gateway.client.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, text.encode(), "text/plain")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def seed(world: PlanWorld, words: dict[str, str] | None = None) -> Seeded:
    """One of everything, made by the coordinator; `words` names the texts."""
    w = {
        "goal": "Bo hjemme",
        "activity": "Hjemmetjeneste",
        "comment": "Kommentar til målet",
        "message": "Velkommen til gruppa",
        "calendar": "Ansvarsgruppemøte",
        "document": "notat.txt",
        **(words or {}),
    }
    pid = world.plan_id
    goal = ok(await world.post(COORDINATOR, ADD_GOAL, {"p": pid, "t": w["goal"]}), "addGoal")
    goal_id = goal["addGoal"]["id"]
    activity = ok(
        await world.post(COORDINATOR, ADD_ACTIVITY, {"g": goal_id, "t": w["activity"]}),
        "addActivity",
    )["addActivity"]["id"]
    ok(await world.post(COORDINATOR, COMMENT, {"g": goal_id, "b": w["comment"]}), "addComment")
    ok(await world.post(COORDINATOR, POST_MESSAGE, {"p": pid, "b": w["message"]}), "post")
    ok(await world.post(COORDINATOR, ADD_CALENDAR, {"p": pid, "t": w["calendar"]}), "calendar")
    ok(
        await upload(world.gateway, world.token(COORDINATOR), pid, w["document"], "Innhold"),
        "uploadDocument",
    )
    return Seeded(world, goal_id, activity, w["document"])


async def end(world: PlanWorld, who: str = COORDINATOR) -> dict[str, Any]:
    body = await world.post(
        who,
        END_PLAN,
        {"p": world.plan_id, "on": today_of(world.gateway).isoformat(), "why": "Mål nådd"},
    )
    ended: dict[str, Any] = ok(body, "endPlan")["endPlan"]
    world.plan_state = "ended"
    return ended


async def table_digests(pool: asyncpg.Pool) -> dict[str, tuple[int, str]]:
    """(row count, digest of every row) per plan table: any change shows."""
    found: dict[str, tuple[int, str]] = {}
    async with pool.acquire() as conn:
        for table in PLAN_TABLES:
            row = await conn.fetchrow(
                f"SELECT count(*) AS n, md5(coalesce(string_agg(md5(t::text), ','"
                f" ORDER BY md5(t::text)), '')) AS digest FROM {table} t"
            )
            assert row is not None
            found[table] = (int(row["n"]), str(row["digest"]))
    return found


def refusal(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(code, reason) of the one error of a refused operation whose data is null."""
    assert body.get("data") is None, body
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    ext = errors[0].get("extensions") or {}
    return ext.get("code"), ext.get("reason")


def field_refusal(body: dict[str, Any]) -> tuple[str | None, str | None]:
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    ext = errors[0].get("extensions") or {}
    return ext.get("code"), ext.get("reason")


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF"), data[:20]
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def local(gateway: Gateway, url: str) -> str:
    """An absolute URL of the API (public_url) on the test's server."""
    base = gateway.settings.public_url
    assert url.startswith(base + "/"), url
    return gateway.url + url[len(base) :]


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def get(gateway: Gateway, path: str, token: str | None) -> httpx.Response:
    return await gateway.client.http.get(path, headers=bearer(token))


async def log_rows(pool: asyncpg.Pool, **where: object) -> list[asyncpg.Record]:
    clauses = " AND ".join(f"{column} = ${i}" for i, column in enumerate(where, start=1))
    async with pool.acquire() as conn:
        return list(
            await conn.fetch(
                "SELECT id, at, viewer_id, plan_id, subject_id, what, client_addr"
                f" FROM access_log_reads WHERE {clauses or 'true'} ORDER BY id",
                *where.values(),
            )
        )


def uid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


# --- the ended plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    name: str
    query: str
    variables: Callable[[Seeded], dict[str, Any]]


WRITES = (
    Write(
        "updatePlan",
        'mutation($p: ID!) { updatePlan(id: $p, shortName: "Nytt navn") { id } }',
        lambda s: {"p": s.plan_id},
    ),
    Write(
        "recordConsent",
        """mutation($p: ID!, $who: ID!) { recordConsent(planId: $p, input: {givenById: $who,
          givenByRelation: SELF, givenOn: "2026-11-01", expiresOn: "2027-11-01",
          defaultGrant: {goals: READ}}) { id } }""",
        lambda s: {"p": s.plan_id, "who": s.world.person_id(OWNER)},
    ),
    Write(
        "revokeConsent",
        "mutation($p: ID!) { revokeConsent(planId: $p) { id } }",
        lambda s: {"p": s.plan_id},
    ),
    Write(
        "addParticipant",
        """mutation($p: ID!, $who: ID!) {
          addParticipant(planId: $p, personId: $who, role: SERVICE_PROVIDER) { id } }""",
        lambda s: {"p": s.plan_id, "who": s.world.person_id(OUTSIDER)},
    ),
    Write(
        "updateParticipant",
        """mutation($id: ID!) {
          updateParticipant(id: $id, responsibility: "Nytt ansvar") { id } }""",
        lambda s: {"id": s.world.participant_ids[RELATIVE]},
    ),
    Write(
        "removeParticipant",
        "mutation($id: ID!) { removeParticipant(id: $id) { id } }",
        lambda s: {"id": s.world.participant_ids[RELATIVE]},
    ),
    Write("addGoal", ADD_GOAL, lambda s: {"p": s.plan_id, "t": "Nytt mål"}),
    Write(
        "updateGoal",
        'mutation($g: ID!) { updateGoal(id: $g, title: "Endret", status: "DONE") { id } }',
        lambda s: {"g": s.goal_id},
    ),
    Write("addActivity", ADD_ACTIVITY, lambda s: {"g": s.goal_id, "t": "Nytt tiltak"}),
    Write(
        "updateActivity",
        'mutation($a: ID!) { updateActivity(id: $a, title: "Endret", status: "DONE") { id } }',
        lambda s: {"a": s.activity_id},
    ),
    Write("addComment(goalId)", COMMENT, lambda s: {"g": s.goal_id, "b": "Ny kommentar"}),
    Write(
        "addComment(activityId)",
        'mutation($a: ID!) { addComment(activityId: $a, body: "Ny kommentar") { id } }',
        lambda s: {"a": s.activity_id},
    ),
    Write("postMessage", POST_MESSAGE, lambda s: {"p": s.plan_id, "b": "Ny melding"}),
    Write("addCalendarEntry", ADD_CALENDAR, lambda s: {"p": s.plan_id, "t": "Nytt møte"}),
    Write(
        "endPlan",
        END_PLAN,
        lambda s: {"p": s.plan_id, "on": "2026-11-27", "why": "En gang til"},
    ),
)
# Content writes also tried by a participant who has WRITE on every section.
CONTENT_WRITES = {
    "addGoal",
    "updateGoal",
    "addActivity",
    "updateActivity",
    "addComment(goalId)",
    "addComment(activityId)",
    "postMessage",
    "addCalendarEntry",
}


async def test_every_write_on_an_ended_plan_is_plan_ended_and_changes_nothing(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway, rights={SERVICE_PROVIDER: ALL_WRITE})
    s = await seed(world)
    pid = world.plan_id
    today = today_of(gateway)

    # Before ending: only the coordinator, and not before the plan's start.
    for who in (OWNER, SERVICE_PROVIDER, GUARDIAN):
        body = await world.post(who, END_PLAN, {"p": pid, "on": today.isoformat(), "why": "x"})
        assert refusal(body) == ("FORBIDDEN", "ROLE_REQUIRED"), (who, body)
    too_early = (today - dt.timedelta(days=501)).isoformat()
    body = await world.post(COORDINATOR, END_PLAN, {"p": pid, "on": too_early, "why": "x"})
    assert refusal(body)[0] == "BAD_USER_INPUT", body
    assert (await world.post(COORDINATOR, ARCHIVES, {"p": pid}))["data"]["plan"] == {
        "lastArchivedAt": None,
        "archives": [],
    }

    gateway.clock.advance(minutes=7)
    ended = await end(world)
    assert ended["status"] == "ENDED" and ended["endDate"] == today.isoformat(), ended
    [archive] = ended["archives"]
    assert dt.datetime.fromisoformat(ended["lastArchivedAt"]) == gateway.clock()
    assert dt.datetime.fromisoformat(archive["archivedAt"]) == gateway.clock()
    assert "Mål nådd" in (archive["reason"] or ""), archive

    before = await table_digests(gateway.pool)
    tried = []
    for write in WRITES:
        writers = (
            (COORDINATOR, SERVICE_PROVIDER) if write.name in CONTENT_WRITES else (COORDINATOR,)
        )
        for who in writers:
            body = await world.post(who, write.query, write.variables(s))
            assert refusal(body) == ("FORBIDDEN", "PLAN_ENDED"), (write.name, who, body)
            tried.append((write.name, who))
    for who in (OWNER, GUARDIAN):  # they may revoke consent in an active plan
        body = await world.post(
            who, "mutation($p: ID!) { revokeConsent(planId: $p) { id } }", {"p": pid}
        )
        assert refusal(body) == ("FORBIDDEN", "PLAN_ENDED"), (who, body)
    uploaded = await upload(gateway, world.token(COORDINATOR), pid, "etter.txt", "Etter slutt")
    assert refusal(uploaded) == ("FORBIDDEN", "PLAN_ENDED"), uploaded
    uploaded = await upload(gateway, world.token(SERVICE_PROVIDER), pid, "etter.txt", "Etter")
    assert refusal(uploaded) == ("FORBIDDEN", "PLAN_ENDED"), uploaded
    assert len(tried) == len(WRITES) + len(CONTENT_WRITES)
    assert await table_digests(gateway.pool) == before

    # Reads go on, for the coordinator and for a participant.
    for who in (COORDINATOR, SERVICE_PROVIDER):
        body = await world.post(who, READ_ALL, {"p": pid})
        assert "errors" not in body, (who, body)
        plan = body["data"]["plan"]
        assert plan["status"] == "ENDED"
        assert plan["goals"] == [
            {
                "title": "Bo hjemme",
                "activities": [{"title": "Hjemmetjeneste"}],
                "comments": [{"body": "Kommentar til målet"}],
            }
        ]
        assert [e["node"]["body"] for e in plan["messages"]["edges"]] == ["Velkommen til gruppa"]
        assert plan["calendar"] == [{"title": "Ansvarsgruppemøte"}]
        [document] = plan["documents"]
        assert document["name"] == s.document_name
        assert len(plan["participants"]) == 5
        downloaded = await get(gateway, local(gateway, document["downloadUrl"]), world.token(who))
        assert downloaded.status_code == 200 and downloaded.content == b"Innhold"
    grant = ok(
        await world.post(
            SERVICE_PROVIDER,
            "query($p: ID!) { plan(id: $p) { myAccess {"
            " participants goals activities messages calendar documents editPerson } } }",
            {"p": pid},
        ),
        "myAccess",
    )["plan"]["myAccess"]
    assert grant.pop("editPerson") is False
    assert set(grant.values()) == {"READ"}, grant
    assert await table_digests(gateway.pool) == before


async def test_archive_matches_its_sha256_is_canonical_and_has_a_pdf(gateway: Gateway) -> None:
    world = await build_world(gateway)
    await seed(world, {"goal": "Gaardsarbeid", "message": "Melding om Tindevegen"})
    pid = world.plan_id
    ended = await end(world)
    [first] = ended["archives"]
    listed = ok(await world.post(OWNER, ARCHIVES, {"p": pid}), "archives")["plan"]
    [archive] = listed["archives"]
    assert archive["id"] == first["id"] and archive["sha256"] == first["sha256"]

    async with gateway.pool.acquire() as conn:
        stored = await conn.fetchrow(
            "SELECT document, sha256 FROM plan_archives WHERE id = $1", uid(archive["id"])
        )
    assert stored is not None
    doc = await get(gateway, local(gateway, archive["jsonUrl"]), world.token(COORDINATOR))
    assert doc.status_code == 200, doc.text
    assert doc.headers["content-type"].startswith("application/json")
    data = doc.content
    assert data == bytes(stored["document"])
    assert hashlib.sha256(data).hexdigest() == archive["sha256"] == stored["sha256"]
    parsed = json.loads(data)
    canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical.encode() == data
    # The whole plan, as it was when ended.
    assert parsed["plan"]["shortName"] == world.short_name
    assert parsed["plan"]["status"] == "ENDED"
    assert [g["title"] for g in parsed["goals"]] == ["Gaardsarbeid"]
    assert [m["body"] for m in parsed["messages"]] == ["Melding om Tindevegen"]
    assert len(parsed["participants"]) == 5

    pdf = await get(gateway, local(gateway, archive["pdfUrl"]), world.token(OWNER))
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert world.short_name in text and "Gaardsarbeid" in text, text

    # archivePlan: the coordinator adds another (also after the end); nobody else may.
    gateway.clock.advance(minutes=5)
    for who in (OWNER, SERVICE_PROVIDER, RELATIVE, GUARDIAN, SYSTEM_ADMIN):
        body = await world.post(who, ARCHIVE, {"p": pid})
        code, reason = refusal(body)
        assert code == "FORBIDDEN", (who, body)
        assert reason in ("ROLE_REQUIRED", "NOT_PARTICIPANT"), (who, body)
    assert refusal(await world.post(OUTSIDER, ARCHIVE, {"p": pid}))[0] == "NOT_FOUND"
    second = ok(await world.post(COORDINATOR, ARCHIVE, {"p": pid}), "archivePlan")["archivePlan"]
    assert dt.datetime.fromisoformat(second["archivedAt"]) == gateway.clock()
    listed = ok(await world.post(COORDINATOR, ARCHIVES, {"p": pid}), "archives")["plan"]
    assert [a["id"] for a in listed["archives"]] == [first["id"], second["id"]]
    assert dt.datetime.fromisoformat(listed["lastArchivedAt"]) == gateway.clock()
    again = await get(
        gateway, local(gateway, listed["archives"][1]["jsonUrl"]), world.token(COORDINATOR)
    )
    assert hashlib.sha256(again.content).hexdigest() == second["sha256"]
    # The plan has not changed since it ended: the same canonical document.
    assert again.content == data and second["sha256"] == first["sha256"]

    # Others do not see the list of archives.
    body = await world.post(RELATIVE, ARCHIVES, {"p": pid})
    assert body["data"]["plan"]["archives"] is None
    assert field_refusal(body) == ("FORBIDDEN", "ROLE_REQUIRED"), body


async def test_archive_downloads_follow_the_access_rules(gateway: Gateway) -> None:
    world = await build_world(
        gateway, rights={RELATIVE: {"print": True}, SERVICE_PROVIDER: {"print": False}}
    )
    pid = world.plan_id
    ended = await end(world)
    archive_id = ended["archives"][0]["id"]
    for kind in ("json", "pdf"):
        path = f"/plans/{pid}/archives/{archive_id}.{kind}"
        expected = {
            COORDINATOR: 200,
            OWNER: 200,
            GUARDIAN: 200,  # a verge represents the owner
            RELATIVE: 404,  # the print right is for print.pdf, not the whole record
            SERVICE_PROVIDER: 404,
            OUTSIDER: 404,
        }
        got = {who: (await get(gateway, path, world.token(who))).status_code for who in expected}
        assert got == expected, (kind, got)
        assert (await get(gateway, path, None)).status_code == 401
        assert (await get(gateway, path, "not-a-session")).status_code == 401
    # An archive id under another path, an unknown id, an unknown format.
    other = await build_world(gateway, reuse={COORDINATOR: world.actors[COORDINATOR]})
    assert (
        await get(
            gateway, f"/plans/{other.plan_id}/archives/{archive_id}.json", world.token(COORDINATOR)
        )
    ).status_code == 404
    assert (
        await get(gateway, f"/plans/{pid}/archives/{uuid.uuid4()}.json", world.token(COORDINATOR))
    ).status_code == 404
    assert (
        await get(gateway, f"/plans/{pid}/archives/{archive_id}.xml", world.token(COORDINATOR))
    ).status_code == 404
    # A download is a read of the plan, in the owner's access log.
    rows = await log_rows(gateway.pool, viewer_id=uid(world.person_id(GUARDIAN)), what="archive")
    assert len(rows) == 2 and {r["plan_id"] for r in rows} == {uid(pid)}
    assert await log_rows(gateway.pool, viewer_id=uid(world.person_id(RELATIVE))) == []


async def test_the_database_refuses_to_change_an_archive(gateway: Gateway) -> None:
    world = await build_world(gateway)
    await end(world)
    async with gateway.pool.acquire() as conn:
        before = await conn.fetch("SELECT * FROM plan_archives ORDER BY id")
        assert len(before) == 1
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("UPDATE plan_archives SET sha256 = 'forfalsket'")
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("UPDATE plan_archives SET document = '{}'::bytea")
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await conn.execute("DELETE FROM plan_archives")
        assert await conn.fetch("SELECT * FROM plan_archives ORDER BY id") == before


# --- a live subscription when the plan ends -----------------------------------------------


PROTOCOL = Subprotocol("graphql-transport-ws")
SUBSCRIPTION = "subscription($p: ID) { messageAdded(planId: $p) { id body } }"


class Live:
    """One graphql-transport-ws connection; every frame it receives is queued."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                self.frames.put_nowait(json.loads(raw))
        self.frames.put_nowait({"type": "closed", "code": self.ws.close_code})

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def frame(self, timeout: float = WAIT) -> dict[str, Any] | None:
        while True:
            try:
                frame = await asyncio.wait_for(self.frames.get(), timeout)
            except TimeoutError:
                return None
            if frame["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return frame

    async def ending(self, probes: set[str], op: str) -> list[dict[str, Any]]:
        """The errors that end subscription `op` (an `error` frame, or `next` frames with
        errors and then `complete`); a message other than a probe fails the test."""
        errors: list[dict[str, Any]] = []
        while True:
            frame = await self.frame()
            assert frame is not None, "the subscription did not end"
            assert frame["type"] != "closed", frame
            assert frame.get("id") == op, frame
            if frame["type"] == "error":
                return errors + list(frame["payload"])
            if frame["type"] == "complete":
                assert errors, "completed without an error"
                return errors
            assert frame["type"] == "next", frame
            message = (frame["payload"].get("data") or {}).get("messageAdded")
            assert message is None or message["id"] in probes, frame
            errors.extend(frame["payload"].get("errors") or [])


@contextlib.asynccontextmanager
async def live(gateway: Gateway, token: str) -> AsyncIterator[Live]:
    url = gateway.url.replace("http://", "ws://", 1) + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL], open_timeout=WAIT) as ws:
        conn = Live(ws)
        try:
            await conn.send(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            )
            ack = await conn.frame()
            assert ack is not None and ack["type"] == "connection_ack", ack
            yield conn
        finally:
            conn.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await conn.reader


def codes(errors: Sequence[dict[str, Any]]) -> list[tuple[str | None, str | None]]:
    return [
        ((e.get("extensions") or {}).get("code"), (e.get("extensions") or {}).get("reason"))
        for e in errors
    ]


async def test_ending_the_plan_ends_a_live_subscription_with_plan_ended(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway)
    pid = world.plan_id
    async with live(gateway, world.token(SERVICE_PROVIDER)) as sub:
        await sub.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIPTION, "variables": {"p": pid}},
            }
        )
        # subscribe has no acknowledgement: post probes until one arrives.
        probes: set[str] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LIVE_WAIT
        while True:
            assert loop.time() < deadline, "the subscription never became live"
            body = await world.post(COORDINATOR, POST_MESSAGE, {"p": pid, "b": "Probe"})
            probes.add(ok(body, "postMessage")["postMessage"]["id"])
            frame = await sub.frame(timeout=0.3)
            if frame is not None:
                assert frame["type"] == "next", frame
                assert frame["payload"]["data"]["messageAdded"]["id"] in probes, frame
                break

        await end(world)
        assert codes(await sub.ending(probes, "1")) == [("FORBIDDEN", "PLAN_ENDED")]

        # A new subscription to the ended plan is refused at once.
        await sub.send(
            {
                "id": "2",
                "type": "subscribe",
                "payload": {"query": SUBSCRIPTION, "variables": {"p": pid}},
            }
        )
        assert codes(await sub.ending(probes, "2")) == [("FORBIDDEN", "PLAN_ENDED")]


# --- print ----------------------------------------------------------------------------------

PRINT_WORDS = {
    "goal": "Svommetrening",
    "activity": "Brettspillkveld",
    "comment": "Kommentarord",
    "message": "Rabarbragraut",
    "calendar": "Kalenderkveld",
    "document": "kanelsnurr.txt",
}


async def test_print_shows_only_what_the_viewer_may_read(gateway: Gateway) -> None:
    world = await build_world(
        gateway,
        default_grant={
            "participants": "NONE",
            "goals": "READ",
            "activities": "NONE",
            "messages": "NONE",
            "calendar": "NONE",
            "documents": "NONE",
        },
        rights={
            RELATIVE: {"print": True},
            GUARDIAN: {"messages": "READ", "print": True},
            SERVICE_PROVIDER: {"messages": "READ", "goals": "READ"},
        },
    )
    pid = world.plan_id
    await seed(world, PRINT_WORDS)
    to_provider = "Tyttebaerlyng"
    to_guardian = "Multemyrsti"
    for body, key in ((to_provider, SERVICE_PROVIDER), (to_guardian, GUARDIAN)):
        ok(
            await world.post(
                COORDINATOR,
                POST_MESSAGE,
                {"p": pid, "b": body, "to": [world.participant_ids[key]]},
            ),
            "postMessage",
        )
    path = f"/plans/{pid}/print.pdf"

    async def printed(who: str) -> str:
        response = await get(gateway, path, world.token(who))
        assert response.status_code == 200, (who, response.text)
        assert response.headers["content-type"] == "application/pdf"
        return pdf_text(response.content)

    # The relative: goals READ, nothing else.
    text = await printed(RELATIVE)
    assert world.short_name in text and PRINT_WORDS["goal"] in text, text
    assert PRINT_WORDS["comment"] in text  # comments belong to the goal
    for hidden in (
        PRINT_WORDS["activity"],
        PRINT_WORDS["message"],
        PRINT_WORDS["calendar"],
        PRINT_WORDS["document"],
        to_provider,
        to_guardian,
        world.responsibilities[SERVICE_PROVIDER],
        "Meldinger",
        "Plangruppa",
        "Kalender",
        "Dokumenter",
        "Samtykke",
    ):
        assert hidden not in text, (hidden, text)

    # The guardian: messages READ too, but not a message to someone else; the consent.
    text = await printed(GUARDIAN)
    for shown in (PRINT_WORDS["goal"], PRINT_WORDS["message"], to_guardian, "Samtykke"):
        assert shown in text, (shown, text)
    for hidden in (to_provider, PRINT_WORDS["activity"], PRINT_WORDS["calendar"], "Plangruppa"):
        assert hidden not in text, (hidden, text)

    # The coordinator sees everything, every message included.
    text = await printed(COORDINATOR)
    for shown in (*PRINT_WORDS.values(), to_provider, to_guardian, "Plangruppa"):
        assert shown in text, (shown, text)

    # Without the print right, outside the plan, without a session.
    assert (await get(gateway, path, world.token(SERVICE_PROVIDER))).status_code == 403
    assert (await get(gateway, path, world.token(OUTSIDER))).status_code == 404
    assert (await get(gateway, path, world.token(SYSTEM_ADMIN))).status_code == 403
    assert (await get(gateway, path, None)).status_code == 401
    assert (
        await get(gateway, f"/plans/{uuid.uuid4()}/print.pdf", world.token(RELATIVE))
    ).status_code == 404
    # The print right needs a valid consent.
    yesterday = today_of(gateway) - dt.timedelta(days=1)
    ok(
        await world.post(
            COORDINATOR,
            UPDATE_PARTICIPANT,
            {"id": world.participant_ids[RELATIVE], "on": yesterday.isoformat()},
        ),
        "updateParticipant",
    )
    assert (await get(gateway, path, world.token(RELATIVE))).status_code == 403

    # A print is a read of what it shows, in the access log.
    rows = await log_rows(gateway.pool, viewer_id=uid(world.person_id(RELATIVE)))
    assert {r["what"] for r in rows} == {"goals", "print"}, rows


# --- the access log (innsyn i logg) --------------------------------------------------------


async def my_log(world: PlanWorld, who: str, first: int = 100, after: str | None = None) -> Any:
    return ok(await world.post(who, MY_LOG, {"first": first, "after": after}), "myAccessLog")[
        "myAccessLog"
    ]


async def test_the_owner_sees_who_read_the_goals(gateway: Gateway) -> None:
    world = await build_world(gateway)
    pid = world.plan_id
    await seed(world)
    gateway.clock.advance(minutes=13)
    read_at = gateway.clock()
    seen = ok(
        await world.post(
            RELATIVE, "query($p: ID!) { plan(id: $p) { goals { title } } }", {"p": pid}
        ),
        "goals",
    )
    assert seen["plan"]["goals"] == [{"title": "Bo hjemme"}]
    gateway.clock.advance(minutes=1)

    log = await my_log(world, OWNER)
    newest = log["edges"][0]
    assert dt.datetime.fromisoformat(newest.pop("at")) == read_at, log
    assert newest == {
        "what": "goals",
        "viewer": {"id": world.person_id(RELATIVE)},
        "plan": {"id": pid},
    }, log
    # Only that read of the relative, and none of the owner's own reads.
    relative_reads = [e for e in log["edges"] if e["viewer"]["id"] == world.person_id(RELATIVE)]
    assert [e["what"] for e in relative_reads] == ["goals"]
    assert all(e["viewer"]["id"] != world.person_id(OWNER) for e in log["edges"])
    # The relative's own log shows nothing of this (not their plan, not their data).
    assert all(
        e["viewer"]["id"] != world.person_id(RELATIVE)
        for e in (await my_log(world, RELATIVE))["edges"]
    )
    # Someone else's log never shows the reads of a plan they do not own.
    assert (await my_log(world, OUTSIDER))["edges"] == []


async def test_one_row_per_viewer_plan_and_section_per_request(gateway: Gateway) -> None:
    world = await build_world(gateway)
    pid = world.plan_id
    await seed(world)
    relative = uid(world.person_id(RELATIVE))

    three = """query($p: ID!) { a: plan(id: $p) { goals { id } }
      b: plan(id: $p) { goals { title } } c: plan(id: $p) { goals { title status } } }"""
    ok(await world.post(RELATIVE, three, {"p": pid}), "three aliases")
    rows = await log_rows(gateway.pool, viewer_id=relative)
    assert [(r["plan_id"], r["what"]) for r in rows] == [(uid(pid), "goals")]

    mixed = """query($p: ID!) { plan(id: $p) { goals { title } calendar { title }
      again: goals { id } messages { edges { node { body } } } } }"""
    ok(await world.post(RELATIVE, mixed, {"p": pid}), "mixed")
    rows = await log_rows(gateway.pool, viewer_id=relative)
    assert sorted(r["what"] for r in rows[1:]) == ["calendar", "goals", "messages"]
    assert len({r["at"] for r in rows[1:]}) == 1

    # A section the viewer may not read (documents: NONE) is not a read; nor is the header.
    body = await world.post(
        RELATIVE,
        "query($p: ID!) { plan(id: $p) { shortName status documents { id } } }",
        {"p": pid},
    )
    assert body["data"]["plan"]["documents"] is None
    assert field_refusal(body) == ("FORBIDDEN", "NO_GRANT"), body
    assert len(await log_rows(gateway.pool, viewer_id=relative)) == 4
    # Every request counts anew.
    ok(await world.post(RELATIVE, three, {"p": pid}), "three aliases again")
    assert len(await log_rows(gateway.pool, viewer_id=relative, what="goals")) == 3


async def test_reading_a_persons_plan_visible_field_is_logged_for_that_person(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway)
    provider = world.person_id(SERVICE_PROVIDER)
    ok(
        await world.post(
            SERVICE_PROVIDER,
            "mutation { setFieldVisibility(field: EMAIL, visibility: ALL) { id } }",
        ),
        "setFieldVisibility",
    )
    gateway.clock.advance(minutes=3)
    read_at = gateway.clock()
    person = ok(
        await world.post(
            RELATIVE,
            "query($id: ID!) { person(id: $id) { firstName position mobile email"
            " address { city } } }",
            {"id": provider},
        ),
        "person",
    )["person"]
    assert person["mobile"] and person["email"], person  # PLAN and ALL: both visible here
    assert person["address"], person  # PLAN too

    rows = await log_rows(gateway.pool, viewer_id=uid(world.person_id(RELATIVE)))
    assert sorted((r["subject_id"], r["plan_id"], r["what"]) for r in rows) == [
        (uid(provider), None, "person:ADDRESS"),
        (uid(provider), None, "person:MOBILE"),
    ]
    assert rows[0]["at"] == read_at

    log = await my_log(world, SERVICE_PROVIDER)
    assert sorted((e["what"], e["viewer"]["id"], e["plan"]) for e in log["edges"]) == [
        ("person:ADDRESS", world.person_id(RELATIVE), None),
        ("person:MOBILE", world.person_id(RELATIVE), None),
    ]
    # The plan's owner does not see reads of another person's data.
    assert all(e["what"] != "person:MOBILE" for e in (await my_log(world, OWNER))["edges"])
    # Reading one's own fields is not logged.
    ok(await world.post(SERVICE_PROVIDER, "{ me { mobile email phone } }"), "me")
    assert (
        await log_rows(
            gateway.pool, viewer_id=uid(provider), subject_id=uid(provider), what="person:MOBILE"
        )
        == []
    )


async def test_reading_the_log_is_logged_and_the_log_pages_newest_first(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway)
    pid = world.plan_id
    owner = uid(world.person_id(OWNER))
    reads = []
    for n, (who, what) in enumerate(
        [
            (RELATIVE, "goals { id }"),
            (GUARDIAN, "calendar { id }"),
            (SERVICE_PROVIDER, "goals { id }"),
            (RELATIVE, "messages { edges { node { id } } }"),
            (GUARDIAN, "goals { id }"),
        ]
    ):
        gateway.clock.advance(minutes=1)
        ok(
            await world.post(who, f"query($p: ID!) {{ plan(id: $p) {{ {what} }} }}", {"p": pid}),
            f"read {n}",
        )
        reads.append((world.person_id(who), what.split()[0], gateway.clock()))

    everything = await my_log(world, OWNER)
    assert [
        (e["viewer"]["id"], e["what"], dt.datetime.fromisoformat(e["at"]))
        for e in everything["edges"]
    ] == list(reversed(reads))
    assert everything["pageInfo"]["hasNextPage"] is False

    # Reading the log is itself logged (and is not shown to the reader as someone's read).
    rows = await log_rows(gateway.pool, viewer_id=owner, what="access_log")
    assert len(rows) == 1 and rows[0]["subject_id"] == owner and rows[0]["plan_id"] is None

    pages: list[list[tuple[str, str]]] = []
    after = None
    while True:
        page = await my_log(world, OWNER, first=2, after=after)
        pages.append([(e["viewer"]["id"], e["what"]) for e in page["edges"]])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [x for p in pages for x in p] == [(v, w) for v, w, _ in reversed(reads)]
    assert len(await log_rows(gateway.pool, viewer_id=owner, what="access_log")) == 4

    for first, after_ in ((101, None), (-1, None), (2, "ikke-en-markør")):
        body = await world.post(OWNER, MY_LOG, {"first": first, "after": after_})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    body = await gateway.client.post(MY_LOG, {"first": 5})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body


async def test_the_access_log_is_append_only_and_keeps_the_client_address(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway)
    ok(
        await world.post(
            RELATIVE, "query($p: ID!) { plan(id: $p) { goals { id } } }", {"p": world.plan_id}
        ),
        "goals",
    )
    [row] = await log_rows(gateway.pool, viewer_id=uid(world.person_id(RELATIVE)))
    assert row["client_addr"] == "127.0.0.1"
    assert row["at"] == gateway.clock()

    async with gateway.pool.acquire() as conn:
        before = await conn.fetch("SELECT * FROM access_log ORDER BY id")
        for statement in (
            "UPDATE access_log SET what = 'ingenting'",
            "UPDATE access_log SET client_addr = NULL",
            "DELETE FROM access_log",
            "TRUNCATE access_log",
        ):
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetch("SELECT * FROM access_log ORDER BY id") == before
