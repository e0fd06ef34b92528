"""Plan content over real HTTP: every content mutation and field obeys the section grants,
the consent and the ended state; messages are filtered row by row, paged, and carry read
state; bad input and retried requests (Idempotency-Key) write nothing.

Each world (tests/plan_world.py) is one plan whose consent gives everyone READ, with
overrides: the service provider has WRITE everywhere, the relative keeps READ, and the
guardian has NONE where a test needs it. "Nothing written" is checked against a snapshot of
every content table, the outbox and the plan's changed_at.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from tests.conftest import Gateway
from tests.plan_world import (
    COORDINATOR,
    GUARDIAN,
    OWNER,
    RELATIVE,
    SERVICE_PROVIDER,
    PlanWorld,
    build_world,
    errors_by_path,
    ok,
    today_of,
)

ALL_READ: dict[str, object] = {
    "participants": "READ",
    "goals": "READ",
    "activities": "READ",
    "messages": "READ",
    "calendar": "READ",
    "documents": "READ",
}
ALL_WRITE: dict[str, object] = dict.fromkeys(ALL_READ, "WRITE")

ADD_GOAL = 'mutation($p: ID!) { addGoal(planId: $p, title: "Mål fra testen") { id title } }'
UPDATE_GOAL = """mutation($g: ID!) {
  updateGoal(id: $g, title: "Endret mål", status: "IN_PROGRESS") { id title status } }"""
ADD_ACTIVITY = """mutation($g: ID!) {
  addActivity(goalId: $g, title: "Tiltak fra testen") { id title goal { id } } }"""
UPDATE_ACTIVITY = """mutation($a: ID!) {
  updateActivity(id: $a, title: "Endret tiltak", status: "DONE") { id title status } }"""
COMMENT_GOAL = """mutation($g: ID!) {
  addComment(goalId: $g, body: "Kommentar til målet") { id body } }"""
COMMENT_ACTIVITY = """mutation($a: ID!) {
  addComment(activityId: $a, body: "Kommentar til tiltaket") { id body } }"""
ADD_CALENDAR = """mutation($p: ID!) { addCalendarEntry(planId: $p, title: "Ansvarsgruppemøte",
  startsAt: "2026-12-03T10:00:00+01:00", endsAt: "2026-12-03T11:00:00+01:00",
  location: "Rådhuset") { id title } }"""
POST_MESSAGE = """mutation($p: ID!, $body: String!, $to: [ID!]) {
  postMessage(planId: $p, body: $body, recipientIds: $to) { id body } }"""
MARK_READ = "mutation($p: ID!) { markMessagesRead(planId: $p) }"
MARK_VISITED = "mutation($p: ID!) { markPlanVisited(id: $p) { id changedSinceMyLastVisit } }"
UPDATE_RIGHTS = """mutation($id: ID!, $rights: AccessGrantInput) {
  updateParticipant(id: $id, rights: $rights) { id } }"""
REMOVE = "mutation($id: ID!) { removeParticipant(id: $id) { id } }"
UPLOAD = "mutation($p: ID!, $file: Upload!) { uploadDocument(planId: $p, file: $file) { id } }"

READ_ALL = """query($p: ID!) { plan(id: $p) {
  goals { id title status comments { body } subGoals { id }
          activities { id title status comments { body } } }
  messages { edges { node { id body } } }
  calendar { id title }
  documents { id name }
  participants { id }
} }"""
SECTION_PATHS = ("goals", "messages", "calendar", "documents", "participants")


@dataclass
class Seeded:
    """A world with one goal, one activity, one comment, one message, one calendar entry."""

    world: PlanWorld
    goal_id: str
    activity_id: str

    @property
    def plan_id(self) -> str:
        return self.world.plan_id

    def variables(self) -> dict[str, Any]:
        return {"p": self.plan_id, "g": self.goal_id, "a": self.activity_id}


@dataclass(frozen=True)
class Write:
    name: str
    section: str  # the AccessGrant field it needs WRITE on
    query: str
    variables: Callable[[Seeded], dict[str, Any]]


def _plan(s: Seeded) -> dict[str, Any]:
    return {"p": s.plan_id}


def _goal(s: Seeded) -> dict[str, Any]:
    return {"g": s.goal_id}


def _activity(s: Seeded) -> dict[str, Any]:
    return {"a": s.activity_id}


def _message(s: Seeded) -> dict[str, Any]:
    return {"p": s.plan_id, "body": "Melding fra testen"}


WRITES = (
    Write("addGoal", "goals", ADD_GOAL, _plan),
    Write("updateGoal", "goals", UPDATE_GOAL, _goal),
    Write("addActivity", "activities", ADD_ACTIVITY, _goal),
    Write("updateActivity", "activities", UPDATE_ACTIVITY, _activity),
    Write("addComment(goalId)", "goals", COMMENT_GOAL, _goal),
    Write("addComment(activityId)", "activities", COMMENT_ACTIVITY, _activity),
    Write("addCalendarEntry", "calendar", ADD_CALENDAR, _plan),
    Write("postMessage", "messages", POST_MESSAGE, _message),
)


async def seeded_world(
    gateway: Gateway,
    *,
    rights: Mapping[str, Mapping[str, object]] | None = None,
    default_grant: Mapping[str, object] | None = None,
    **kwargs: Any,
) -> Seeded:
    """A world (everyone READ unless told otherwise; the service provider WRITE) with content
    made by the coordinator."""
    world = await build_world(
        gateway,
        default_grant=dict(ALL_READ if default_grant is None else default_grant),
        rights={SERVICE_PROVIDER: ALL_WRITE, **(rights or {})},
        **kwargs,
    )
    pid = world.plan_id
    goal = ok(await world.post(COORDINATOR, ADD_GOAL, {"p": pid}), "addGoal")["addGoal"]["id"]
    activity = ok(await world.post(COORDINATOR, ADD_ACTIVITY, {"g": goal}), "addActivity")[
        "addActivity"
    ]["id"]
    ok(await world.post(COORDINATOR, COMMENT_GOAL, {"g": goal}), "addComment")
    ok(await world.post(COORDINATOR, COMMENT_ACTIVITY, {"a": activity}), "addComment")
    ok(await world.post(COORDINATOR, ADD_CALENDAR, {"p": pid}), "addCalendarEntry")
    ok(
        await world.post(COORDINATOR, POST_MESSAGE, {"p": pid, "body": "Velkommen"}),
        "postMessage",
    )
    return Seeded(world, goal, activity)


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a content write could add or change."""
    queries = {
        "goals": "SELECT id, title, description, status, updated_at FROM goals",
        "activities": "SELECT id, title, description, status, updated_at FROM activities",
        "comments": "SELECT id, body FROM comments",
        "calendar": "SELECT id, title FROM calendar_entries",
        "messages": "SELECT id, body FROM messages",
        "recipients": "SELECT message_id, participant_id FROM message_recipients",
        "documents": "SELECT id FROM documents",
        "outbox": "SELECT id FROM outbox",
        "plans": "SELECT id, changed_at FROM plans",
    }
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with pool.acquire() as conn:
        for name, sql in queries.items():
            found[name] = sorted(tuple(r) for r in await conn.fetch(sql))
    return found


async def count(pool: asyncpg.Pool, table: str) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))


def refusal(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(code, reason, field) of the one error of a refused mutation whose data is null."""
    assert body.get("data") is None, body
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    ext: dict[str, str] = errors[0].get("extensions") or {}
    return ext["code"], ext.get("reason"), ext.get("field")


async def assert_every_write_refused(s: Seeded, who: str, reason: str) -> None:
    """Every content mutation, as ``who``: FORBIDDEN with ``reason``, and nothing written."""
    pool = s.world.gateway.pool
    before = await snapshot(pool)
    for write in WRITES:
        body = await s.world.post(who, write.query, write.variables(s))
        assert refusal(body)[:2] == ("FORBIDDEN", reason), (write.name, body)
        assert await snapshot(pool) == before, write.name


async def upload_text(gateway: Gateway, token: str, plan_id: str, text: str) -> dict[str, Any]:
    """uploadDocument as a GraphQL multipart request (the protocol is tested in
    test_documents.py)."""
    operations = {"query": UPLOAD, "variables": {"p": plan_id, "file": None}}
    response = await gateway.client.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("notat.txt", text.encode(), "text/plain")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- grants -------------------------------------------------------------------------------


async def test_read_only_participant_is_refused_every_write(gateway: Gateway) -> None:
    s = await seeded_world(gateway)
    access = ok(
        await s.world.post(
            RELATIVE,
            "query($p: ID!) { plan(id: $p) { myAccess { goals activities messages calendar } } }",
            {"p": s.plan_id},
        ),
        "myAccess",
    )["plan"]["myAccess"]
    assert set(access.values()) == {"READ"}
    await assert_every_write_refused(s, RELATIVE, "NO_GRANT")

    # What READ gives: every section, all the seeded content.
    plan = ok(await s.world.post(RELATIVE, READ_ALL, {"p": s.plan_id}), "read")["plan"]
    [goal] = plan["goals"]
    assert goal["id"] == s.goal_id and goal["comments"] == [{"body": "Kommentar til målet"}]
    assert [a["id"] for a in goal["activities"]] == [s.activity_id]
    assert goal["activities"][0]["comments"] == [{"body": "Kommentar til tiltaket"}]
    assert [e["node"]["body"] for e in plan["messages"]["edges"]] == ["Velkommen"]
    assert [c["title"] for c in plan["calendar"]] == ["Ansvarsgruppemøte"]


async def test_write_grant_allows_every_write(gateway: Gateway) -> None:
    s = await seeded_world(gateway)
    pool = gateway.pool
    for write in WRITES:
        gateway.clock.advance(seconds=1)
        before = await snapshot(pool)
        body = await s.world.post(SERVICE_PROVIDER, write.query, write.variables(s))
        assert "errors" not in body, (write.name, body)
        after = await snapshot(pool)
        assert after != before, write.name
        assert after["plans"] != before["plans"], f"{write.name} did not touch changed_at"

    async with pool.acquire() as conn:
        goal = await conn.fetchrow(
            "SELECT title, status FROM goals WHERE id = $1", uuid.UUID(s.goal_id)
        )
        activity = await conn.fetchrow(
            "SELECT title, status FROM activities WHERE id = $1", uuid.UUID(s.activity_id)
        )
    assert goal is not None and tuple(goal) == ("Endret mål", "IN_PROGRESS")
    assert activity is not None and tuple(activity) == ("Endret tiltak", "DONE")
    assert await count(pool, "goals") == 2
    assert await count(pool, "activities") == 2
    assert await count(pool, "comments") == 4
    assert await count(pool, "calendar_entries") == 2
    assert await count(pool, "messages") == 2

    # A READ participant sees what the WRITE participant wrote.
    plan = ok(await s.world.post(RELATIVE, READ_ALL, {"p": s.plan_id}), "read")["plan"]
    titles = {g["title"] for g in plan["goals"]}
    assert titles == {"Endret mål", "Mål fra testen"}
    assert {e["node"]["body"] for e in plan["messages"]["edges"]} == {
        "Velkommen",
        "Melding fra testen",
    }


async def test_a_section_with_none_reads_as_null_with_no_grant(gateway: Gateway) -> None:
    none_but_goals = {
        "participants": "NONE",
        "goals": "READ",
        "activities": "NONE",
        "messages": "NONE",
        "calendar": "NONE",
        "documents": "NONE",
    }
    s = await seeded_world(gateway, rights={GUARDIAN: none_but_goals})
    w = s.world
    body = await w.post(GUARDIAN, READ_ALL, {"p": s.plan_id})
    plan = body["data"]["plan"]
    # GOALS READ: the goal and its comments; ACTIVITIES NONE: the nested list is null.
    [goal] = plan["goals"]
    assert goal["id"] == s.goal_id
    assert goal["comments"] == [{"body": "Kommentar til målet"}]
    assert goal["activities"] is None
    for section in ("messages", "calendar", "documents", "participants"):
        assert plan[section] is None, section
    assert errors_by_path(body) == {
        ("plan", "goals", 0, "activities"): ("FORBIDDEN", "NO_GRANT"),
        ("plan", "messages"): ("FORBIDDEN", "NO_GRANT"),
        ("plan", "calendar"): ("FORBIDDEN", "NO_GRANT"),
        ("plan", "documents"): ("FORBIDDEN", "NO_GRANT"),
        ("plan", "participants"): ("FORBIDDEN", "NO_GRANT"),
    }

    # The coordinator takes GOALS away too: now the goals are null as well.
    ok(
        await w.post(
            COORDINATOR,
            UPDATE_RIGHTS,
            {"id": w.participant_ids[GUARDIAN], "rights": {"goals": "NONE"}},
        ),
        "updateParticipant",
    )
    body = await w.post(GUARDIAN, READ_ALL, {"p": s.plan_id})
    assert body["data"]["plan"] == dict.fromkeys(SECTION_PATHS)
    assert errors_by_path(body) == {
        ("plan", section): ("FORBIDDEN", "NO_GRANT") for section in SECTION_PATHS
    }
    # Writing without any grant is refused too, and writes nothing.
    await assert_every_write_refused(s, GUARDIAN, "NO_GRANT")


async def test_an_ended_plan_refuses_every_write_but_can_still_be_read(
    gateway: Gateway,
) -> None:
    s = await seeded_world(gateway)
    before = ok(await s.world.post(RELATIVE, READ_ALL, {"p": s.plan_id}), "read")
    await s.world.end_plan()
    for who in (COORDINATOR, OWNER, SERVICE_PROVIDER, RELATIVE):
        await assert_every_write_refused(s, who, "PLAN_ENDED")
    markers = ok(await s.world.post(COORDINATOR, MARK_READ, {"p": s.plan_id}), "markRead")
    assert markers["markMessagesRead"] == 0  # own message: nothing became read

    for who in (COORDINATOR, OWNER, SERVICE_PROVIDER, RELATIVE):
        body = await s.world.post(who, READ_ALL, {"p": s.plan_id})
        assert "errors" not in body, (who, body)
        assert body["data"]["plan"]["goals"] == before["plan"]["goals"], who
        assert body["data"]["plan"]["calendar"] == before["plan"]["calendar"], who
        access = ok(
            await s.world.post(
                who,
                "query($p: ID!) { plan(id: $p) { status myAccess { "
                "participants goals activities messages calendar documents } } }",
                {"p": s.plan_id},
            ),
            "myAccess",
        )["plan"]
        assert access["status"] == "ENDED"
        assert set(access["myAccess"].values()) == {"READ"}, (who, access)


async def test_expired_consent_refuses_every_write_and_read(gateway: Gateway) -> None:
    s = await seeded_world(gateway)
    w = s.world
    # Before the consent runs out the service provider writes.
    assert "errors" not in await w.post(SERVICE_PROVIDER, ADD_GOAL, {"p": s.plan_id})

    assert w.consent_expires_on is not None
    days = (w.consent_expires_on - today_of(gateway)).days + 1
    gateway.clock.advance(days=days)
    await w.renew_sessions()
    assert w.consent_expires_on < today_of(gateway)

    await assert_every_write_refused(s, SERVICE_PROVIDER, "CONSENT_EXPIRED")
    body = await w.post(SERVICE_PROVIDER, READ_ALL, {"p": s.plan_id})
    assert body["data"]["plan"] == dict.fromkeys(SECTION_PATHS)
    assert errors_by_path(body) == {
        ("plan", section): ("FORBIDDEN", "CONSENT_EXPIRED") for section in SECTION_PATHS
    }
    # The coordinator is never cut off by consent.
    for write in WRITES:
        body = await w.post(COORDINATOR, write.query, write.variables(s))
        assert "errors" not in body, (write.name, body)


async def test_a_participant_s_own_expiry_refuses_their_writes(gateway: Gateway) -> None:
    s = await seeded_world(gateway, consent_expires_on={SERVICE_PROVIDER: today_of(gateway)})
    assert "errors" not in await s.world.post(SERVICE_PROVIDER, ADD_GOAL, {"p": s.plan_id})
    gateway.clock.advance(days=1)
    await s.world.renew_sessions()
    await assert_every_write_refused(s, SERVICE_PROVIDER, "CONSENT_EXPIRED")
    # Everyone else's consent still holds.
    assert "errors" not in await s.world.post(RELATIVE, READ_ALL, {"p": s.plan_id})


async def test_every_write_without_a_session_is_unauthenticated(gateway: Gateway) -> None:
    s = await seeded_world(gateway)
    before = await snapshot(gateway.pool)
    for write in WRITES:
        for token in (None, "not-a-session"):
            body = await gateway.client.post(write.query, write.variables(s), token=token)
            assert refusal(body)[0] == "UNAUTHENTICATED", (write.name, token, body)
    assert await snapshot(gateway.pool) == before


# --- messages: row filter, paging, read state ----------------------------------------------

MESSAGES = """query($p: ID!, $first: Int, $after: String) { plan(id: $p) {
  hasUnreadMessages
  messages(first: $first, after: $after) {
    edges { cursor node { id body readByMe author { id } recipients { id } } }
    pageInfo { hasNextPage endCursor }
  } } }"""


async def messages_of(w: PlanWorld, who: str, **page: Any) -> dict[str, Any]:
    body = await w.post(who, MESSAGES, {"p": w.plan_id, **page})
    plan: dict[str, Any] = ok(body, f"messages as {who}")["plan"]
    return plan


def bodies(plan: Mapping[str, Any]) -> list[str]:
    return [e["node"]["body"] for e in plan["messages"]["edges"]]


async def post_message(w: PlanWorld, who: str, body: str, to: list[str] | None = None) -> str:
    data = ok(await w.post(who, POST_MESSAGE, {"p": w.plan_id, "body": body, "to": to}), body)
    message_id: str = data["postMessage"]["id"]
    return message_id


async def messages_world(gateway: Gateway) -> PlanWorld:
    return await build_world(gateway, default_grant={**ALL_READ, "messages": "WRITE"})


async def test_a_message_to_chosen_recipients_is_seen_only_by_them(gateway: Gateway) -> None:
    w = await messages_world(gateway)
    everyone = (OWNER, COORDINATOR, SERVICE_PROVIDER, RELATIVE, GUARDIAN)
    for who in everyone:
        ok(await w.post(who, MARK_READ, {"p": w.plan_id}), "markMessagesRead")
    gateway.clock.advance(seconds=10)
    private = await post_message(
        w, SERVICE_PROVIDER, "Bare til pårørende", [w.participant_ids[RELATIVE]]
    )
    gateway.clock.advance(seconds=10)

    seen = {who: await messages_of(w, who) for who in everyone}
    for who in (OWNER, COORDINATOR, SERVICE_PROVIDER, RELATIVE):
        assert bodies(seen[who]) == ["Bare til pårørende"], who
        [edge] = seen[who]["messages"]["edges"]
        assert edge["node"]["id"] == private
        assert edge["node"]["recipients"] == [{"id": w.participant_ids[RELATIVE]}]
    assert bodies(seen[GUARDIAN]) == []
    # hasUnreadMessages ignores what the viewer may not see, and the viewer's own messages.
    assert {who: seen[who]["hasUnreadMessages"] for who in everyone} == {
        OWNER: True,
        COORDINATOR: True,
        SERVICE_PROVIDER: False,
        RELATIVE: True,
        GUARDIAN: False,
    }
    # Nor does the private message count as read for the guardian.
    assert ok(await w.post(GUARDIAN, MARK_READ, {"p": w.plan_id}), "mark")["markMessagesRead"] == 0

    gateway.clock.advance(seconds=10)
    group = await post_message(w, COORDINATOR, "Til hele gruppa")
    guardian = await messages_of(w, GUARDIAN)
    assert bodies(guardian) == ["Til hele gruppa"]
    assert guardian["messages"]["edges"][0]["node"]["id"] == group
    assert guardian["messages"]["edges"][0]["node"]["recipients"] is None
    assert guardian["hasUnreadMessages"] is True
    assert bodies(await messages_of(w, RELATIVE)) == ["Til hele gruppa", "Bare til pårørende"]
    assert ok(await w.post(GUARDIAN, MARK_READ, {"p": w.plan_id}), "mark")["markMessagesRead"] == 1


async def test_messages_page_newest_first_with_cursors(gateway: Gateway) -> None:
    w = await messages_world(gateway)
    to_relative = [w.participant_ids[RELATIVE]]
    group: list[str] = []
    # Seven group messages; m2, m3 and m4 share one timestamp (the order falls back to the
    # insertion order); a private message to the relative sits between most of them.
    for n in range(7):
        if n not in (3, 4):
            gateway.clock.advance(seconds=5)
        group.append(await post_message(w, COORDINATOR, f"m{n}"))
        if n % 2 == 0:
            await post_message(w, SERVICE_PROVIDER, f"privat {n}", to_relative)
    newest_first = [f"m{n}" for n in reversed(range(7))]

    # The guardian, who sees only the group messages, pages three at a time.
    seen: list[str] = []
    after: str | None = None
    pages = []
    while True:
        plan = await messages_of(w, GUARDIAN, first=3, after=after)
        page = plan["messages"]
        pages.append(bodies(plan))
        seen += bodies(plan)
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert len(pages) < 10
    assert pages == [["m6", "m5", "m4"], ["m3", "m2", "m1"], ["m0"]]
    assert seen == newest_first

    # Any edge's cursor continues right after that edge.
    plan = await messages_of(w, GUARDIAN, first=7)
    edges = plan["messages"]["edges"]
    assert [e["node"]["id"] for e in edges] == list(reversed(group))
    assert plan["messages"]["pageInfo"]["hasNextPage"] is False
    rest = await messages_of(w, GUARDIAN, first=2, after=edges[3]["cursor"])
    assert bodies(rest) == ["m2", "m1"]
    assert rest["messages"]["pageInfo"]["hasNextPage"] is True

    # The relative sees the private messages in the same order.
    plan = await messages_of(w, RELATIVE, first=20)
    assert bodies(plan) == [
        "privat 6",
        "m6",
        "m5",
        "privat 4",
        "m4",
        "m3",
        "privat 2",
        "m2",
        "m1",
        "privat 0",
        "m0",
    ]
    first_two = await messages_of(w, RELATIVE, first=2)
    assert bodies(first_two) == ["privat 6", "m6"]
    assert first_two["messages"]["pageInfo"]["hasNextPage"] is True

    body = await w.post(GUARDIAN, MESSAGES, {"p": w.plan_id, "first": 2, "after": "nonsense"})
    assert body["data"]["plan"]["messages"] is None
    assert [e["extensions"].get("field") for e in body["errors"]] == ["after"]


async def test_read_state_and_mark_messages_read(gateway: Gateway) -> None:
    w = await messages_world(gateway)
    clock = gateway.clock
    assert (await messages_of(w, RELATIVE))["hasUnreadMessages"] is False
    first = await post_message(w, COORDINATOR, "Første")
    clock.advance(seconds=5)
    second = await post_message(w, COORDINATOR, "Andre")
    clock.advance(seconds=5)

    plan = await messages_of(w, RELATIVE)
    assert plan["hasUnreadMessages"] is True
    assert {e["node"]["id"]: e["node"]["readByMe"] for e in plan["messages"]["edges"]} == {
        first: False,
        second: False,
    }
    assert ok(await w.post(RELATIVE, MARK_READ, {"p": w.plan_id}), "m")["markMessagesRead"] == 2
    assert ok(await w.post(RELATIVE, MARK_READ, {"p": w.plan_id}), "m")["markMessagesRead"] == 0
    plan = await messages_of(w, RELATIVE)
    assert plan["hasUnreadMessages"] is False
    assert [e["node"]["readByMe"] for e in plan["messages"]["edges"]] == [True, True]
    # Someone else's read mark is theirs alone.
    owner = await messages_of(w, OWNER)
    assert owner["hasUnreadMessages"] is True
    assert [e["node"]["readByMe"] for e in owner["messages"]["edges"]] == [False, False]

    # My own message is never unread to me.
    clock.advance(seconds=5)
    mine = await post_message(w, RELATIVE, "Svar fra meg")
    clock.advance(seconds=5)
    plan = await messages_of(w, RELATIVE)
    assert plan["hasUnreadMessages"] is False
    newest = plan["messages"]["edges"][0]["node"]
    assert (newest["id"], newest["readByMe"]) == (mine, True)
    assert ok(await w.post(RELATIVE, MARK_READ, {"p": w.plan_id}), "m")["markMessagesRead"] == 0
    # The coordinator has one unread (the relative's); their own two never count.
    coordinator = await messages_of(w, COORDINATOR)
    assert coordinator["hasUnreadMessages"] is True
    assert [e["node"]["readByMe"] for e in coordinator["messages"]["edges"]] == [
        False,
        True,
        True,
    ]
    assert ok(await w.post(COORDINATOR, MARK_READ, {"p": w.plan_id}), "m")["markMessagesRead"] == 1
    assert ok(await w.post(OWNER, MARK_READ, {"p": w.plan_id}), "m")["markMessagesRead"] == 3
    assert (await messages_of(w, OWNER))["hasUnreadMessages"] is False

    # A new message makes it unread again.
    clock.advance(seconds=5)
    await post_message(w, SERVICE_PROVIDER, "Nytt")
    assert (await messages_of(w, OWNER))["hasUnreadMessages"] is True
    assert (await messages_of(w, RELATIVE))["hasUnreadMessages"] is True


async def test_an_unread_message_counts_behind_many_the_viewer_may_not_or_need_not_read(
    gateway: Gateway,
) -> None:
    """hasUnreadMessages must not lose an unread message behind a long run of newer ones that
    do not count for the viewer: private messages to others, and the viewer's own."""
    w = await messages_world(gateway)
    for who in (RELATIVE, GUARDIAN):
        ok(await w.post(who, MARK_READ, {"p": w.plan_id}), "markMessagesRead")
    gateway.clock.advance(seconds=5)
    await post_message(w, COORDINATOR, "Til hele gruppa")
    for n in range(60):
        gateway.clock.advance(seconds=1)
        await post_message(w, SERVICE_PROVIDER, f"privat {n}", [w.participant_ids[RELATIVE]])
        await post_message(w, GUARDIAN, f"mitt eget {n}")
    # The guardian has not read the group message: 60 private messages (not theirs to see)
    # and 60 of their own messages came after it.
    assert (await messages_of(w, GUARDIAN, first=1))["hasUnreadMessages"] is True
    ok(await w.post(GUARDIAN, MARK_READ, {"p": w.plan_id}), "markMessagesRead")
    assert (await messages_of(w, GUARDIAN, first=1))["hasUnreadMessages"] is False


# --- changedSinceMyLastVisit ------------------------------------------------------------

CHANGED = "query($p: ID!) { plan(id: $p) { changedSinceMyLastVisit } }"


async def changed(w: PlanWorld, who: str) -> bool:
    value: bool = ok(await w.post(who, CHANGED, {"p": w.plan_id}), "changed")["plan"][
        "changedSinceMyLastVisit"
    ]
    return value


async def test_changed_since_my_last_visit_follows_every_content_change(
    gateway: Gateway,
) -> None:
    s = await seeded_world(gateway)
    w = s.world
    assert await changed(w, RELATIVE) is True  # never visited
    visited = ok(await w.post(RELATIVE, MARK_VISITED, {"p": s.plan_id}), "visit")
    assert visited["markPlanVisited"] == {"id": s.plan_id, "changedSinceMyLastVisit": False}

    async def change(name: str) -> dict[str, Any]:
        """One content change by the service provider."""
        if name == "uploadDocument":
            token = w.token(SERVICE_PROVIDER)
            return await upload_text(gateway, token, s.plan_id, "Referat\n")
        write = next(x for x in WRITES if x.name == name)
        return await w.post(SERVICE_PROVIDER, write.query, write.variables(s))

    for name in [*(write.name for write in WRITES), "uploadDocument"]:
        gateway.clock.advance(seconds=30)
        # Reading and marking one's own read state change nothing.
        assert "errors" not in await w.post(COORDINATOR, READ_ALL, {"p": s.plan_id})
        assert "errors" not in await w.post(OWNER, MARK_READ, {"p": s.plan_id})
        assert await changed(w, RELATIVE) is False, f"before {name}"
        gateway.clock.advance(seconds=30)
        body = await change(name)
        assert "errors" not in body, (name, body)
        assert await changed(w, RELATIVE) is True, name
        assert await changed(w, RELATIVE) is True, name  # until I visit
        gateway.clock.advance(seconds=30)
        visited = ok(await w.post(RELATIVE, MARK_VISITED, {"p": s.plan_id}), "visit")
        assert visited["markPlanVisited"]["changedSinceMyLastVisit"] is False, name
        assert await changed(w, RELATIVE) is False, name


# --- bad input ------------------------------------------------------------------------------


async def test_bad_input_gets_the_contract_code_and_writes_nothing(gateway: Gateway) -> None:
    s = await seeded_world(gateway)
    w = s.world
    other = await build_world(gateway)  # a participant of another plan
    sub = ok(
        await w.post(
            COORDINATOR,
            'mutation($p: ID!, $g: ID!) { addGoal(planId: $p, title: "Delmål", parentId: $g) '
            "{ id } }",
            {"p": s.plan_id, "g": s.goal_id},
        ),
        "sub-goal",
    )["addGoal"]["id"]
    ok(await w.post(COORDINATOR, REMOVE, {"id": w.participant_ids[GUARDIAN]}), "remove")
    unknown = str(uuid.uuid4())
    p, g, a = s.plan_id, s.goal_id, s.activity_id
    msg = 'mutation($p: ID!, $to: [ID!]) { postMessage(planId: $p, body: "Hei", recipientIds: $to) { id } }'  # noqa: E501
    cases: list[tuple[str, str, dict[str, Any], str, str | None]] = [
        (
            "empty title",
            'mutation($p: ID!) { addGoal(planId: $p, title: "") { id } }',
            {"p": p},
            "BAD_USER_INPUT",
            "title",
        ),
        (
            "blank title",
            'mutation($p: ID!) { addGoal(planId: $p, title: "   ") { id } }',
            {"p": p},
            "BAD_USER_INPUT",
            "title",
        ),
        (
            "empty title on update",
            'mutation($g: ID!) { updateGoal(id: $g, title: "") { id } }',
            {"g": g},
            "BAD_USER_INPUT",
            "title",
        ),
        (
            "empty activity title",
            'mutation($g: ID!) { addActivity(goalId: $g, title: "") { id } }',
            {"g": g},
            "BAD_USER_INPUT",
            "title",
        ),
        (
            "empty calendar title",
            'mutation($p: ID!) { addCalendarEntry(planId: $p, title: "", '
            'startsAt: "2026-12-01T10:00:00+01:00") { id } }',
            {"p": p},
            "BAD_USER_INPUT",
            "title",
        ),
        (
            "empty comment",
            'mutation($g: ID!) { addComment(goalId: $g, body: " ") { id } }',
            {"g": g},
            "BAD_USER_INPUT",
            "body",
        ),
        (
            "empty message",
            'mutation($p: ID!) { postMessage(planId: $p, body: "") { id } }',
            {"p": p},
            "BAD_USER_INPUT",
            "body",
        ),
        ("unknown plan", ADD_GOAL, {"p": unknown}, "NOT_FOUND", None),
        ("malformed plan id", ADD_GOAL, {"p": "plan-1"}, "BAD_USER_INPUT", "planId"),
        ("unknown goal", UPDATE_GOAL, {"g": unknown}, "NOT_FOUND", None),
        ("activity under an unknown goal", ADD_ACTIVITY, {"g": unknown}, "NOT_FOUND", None),
        ("comment on an unknown goal", COMMENT_GOAL, {"g": unknown}, "NOT_FOUND", None),
        ("unknown activity", UPDATE_ACTIVITY, {"a": unknown}, "NOT_FOUND", None),
        ("comment on an unknown activity", COMMENT_ACTIVITY, {"a": unknown}, "NOT_FOUND", None),
        (
            "unknown parent goal",
            'mutation($p: ID!, $g: ID!) { addGoal(planId: $p, title: "X", parentId: $g) { id } }',
            {"p": p, "g": unknown},
            "NOT_FOUND",
            None,
        ),
        (
            "a sub-goal as parent",
            'mutation($p: ID!, $g: ID!) { addGoal(planId: $p, title: "X", parentId: $g) { id } }',
            {"p": p, "g": sub},
            "BAD_USER_INPUT",
            "parentId",
        ),
        (
            "responsible outside the plan",
            'mutation($p: ID!, $r: ID!) { addGoal(planId: $p, title: "X", responsibleId: $r) '
            "{ id } }",
            {"p": p, "r": other.participant_ids[RELATIVE]},
            "BAD_USER_INPUT",
            "responsibleId",
        ),
        (
            "goal status that does not exist",
            'mutation($g: ID!) { updateGoal(id: $g, status: "FERDIG") { id } }',
            {"g": g},
            "BAD_USER_INPUT",
            "status",
        ),
        (
            "an activity status on a goal",
            'mutation($g: ID!) { updateGoal(id: $g, status: "DONE") { id } }',
            {"g": g},
            "BAD_USER_INPUT",
            "status",
        ),
        (
            "activity status that does not exist",
            'mutation($a: ID!) { updateActivity(id: $a, status: "in progress") { id } }',
            {"a": a},
            "BAD_USER_INPUT",
            "status",
        ),
        (
            "endDate before startDate",
            'mutation($g: ID!) { addActivity(goalId: $g, title: "X", '
            'startDate: "2027-01-10", endDate: "2027-01-09") { id } }',
            {"g": g},
            "BAD_USER_INPUT",
            "endDate",
        ),
        (
            "endsAt before startsAt",
            "mutation($p: ID!) { addCalendarEntry(planId: $p, "
            'title: "X", startsAt: "2026-12-01T10:00:00+01:00", '
            'endsAt: "2026-12-01T09:59:00+01:00") { id } }',
            {"p": p},
            "BAD_USER_INPUT",
            "endsAt",
        ),
        (
            "comment on goal and activity at once",
            'mutation($g: ID!, $a: ID!) { addComment(goalId: $g, activityId: $a, body: "X") '
            "{ id } }",
            {"g": g, "a": a},
            "BAD_USER_INPUT",
            "goalId|activityId",
        ),
        (
            "comment on nothing",
            'mutation { addComment(body: "X") { id } }',
            {},
            "BAD_USER_INPUT",
            "goalId|activityId",
        ),
        (
            "recipient from another plan",
            msg,
            {"p": p, "to": [other.participant_ids[RELATIVE]]},
            "BAD_USER_INPUT",
            "recipientIds",
        ),
        (
            "a person id as recipient",
            msg,
            {"p": p, "to": [w.person_id(RELATIVE)]},
            "BAD_USER_INPUT",
            "recipientIds",
        ),
        (
            "one recipient of two is no participant",
            msg,
            {"p": p, "to": [w.participant_ids[RELATIVE], unknown]},
            "BAD_USER_INPUT",
            "recipientIds",
        ),
        (
            "a removed participant as recipient",
            msg,
            {"p": p, "to": [w.participant_ids[GUARDIAN]]},
            "BAD_USER_INPUT",
            "recipientIds",
        ),
        ("an empty recipient list", msg, {"p": p, "to": []}, "BAD_USER_INPUT", "recipientIds"),
        ("a malformed recipient id", msg, {"p": p, "to": ["x"]}, "BAD_USER_INPUT", "recipientIds"),
    ]
    before = await snapshot(gateway.pool)
    for name, query, variables, want_code, want_field in cases:
        body = await w.post(COORDINATOR, query, variables)
        code, _, field = refusal(body)
        assert code == want_code, (name, body)
        if want_field is not None:
            assert field in want_field.split("|"), (name, body)
        assert await snapshot(gateway.pool) == before, name
    # The same calls done right do write (so the snapshot can see a write).
    assert "errors" not in await w.post(
        COORDINATOR, msg, {"p": p, "to": [w.participant_ids[RELATIVE]]}
    )
    assert await snapshot(gateway.pool) != before


# --- Idempotency-Key ----------------------------------------------------------------------


async def raw_post(
    gateway: Gateway, token: str, query: str, variables: dict[str, Any], key: str | None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await gateway.client.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


async def test_a_retried_post_message_with_the_same_key_creates_one_message(
    gateway: Gateway,
) -> None:
    w = await messages_world(gateway)
    pool = gateway.pool
    token = w.token(SERVICE_PROVIDER)
    variables = {"p": w.plan_id, "body": "Sendt to ganger?"}
    outbox_before = await count(pool, "outbox")

    first = await raw_post(gateway, token, POST_MESSAGE, variables, "melding-1")
    assert first.status_code == 200, first.text
    message_id = first.json()["data"]["postMessage"]["id"]
    outbox_after_first = await count(pool, "outbox")
    assert outbox_after_first > outbox_before  # the group is notified once
    gateway.clock.advance(seconds=5)
    retry = await raw_post(gateway, token, POST_MESSAGE, variables, "melding-1")
    assert retry.status_code == 200, retry.text
    assert retry.json() == first.json()
    assert retry.json()["data"]["postMessage"]["id"] == message_id
    assert await count(pool, "messages") == 1
    assert await count(pool, "outbox") == outbox_after_first  # no second notification

    # The same key for another request is refused, and writes nothing.
    other = await raw_post(
        gateway, token, POST_MESSAGE, {**variables, "body": "Noe annet"}, "melding-1"
    )
    assert other.status_code == 422, other.text
    assert await count(pool, "messages") == 1

    # Keys are per person: another participant's same key is their own request.
    theirs = await raw_post(gateway, w.token(RELATIVE), POST_MESSAGE, variables, "melding-1")
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["data"]["postMessage"]["id"] != message_id
    assert await count(pool, "messages") == 2

    # Without the header every post is a new message.
    for _ in range(2):
        plain = await raw_post(gateway, token, POST_MESSAGE, variables, None)
        assert "errors" not in plain.json(), plain.text
    assert await count(pool, "messages") == 4
    async with pool.acquire() as conn:
        texts = await conn.fetch("SELECT body FROM messages WHERE body = $1", variables["body"])
    assert len(texts) == 4


async def test_a_retried_add_goal_with_the_same_key_creates_one_goal(gateway: Gateway) -> None:
    w = await messages_world(gateway)
    pool = gateway.pool
    token = w.token(COORDINATOR)
    variables = {"p": w.plan_id}
    first = await raw_post(gateway, token, ADD_GOAL, variables, "goal-1")
    assert first.status_code == 200, first.text
    goal_id = first.json()["data"]["addGoal"]["id"]
    for _ in range(2):
        retry = await raw_post(gateway, token, ADD_GOAL, variables, "goal-1")
        assert retry.status_code == 200, retry.text
        assert retry.json()["data"]["addGoal"]["id"] == goal_id
    assert await count(pool, "goals") == 1

    changed_query = 'mutation($p: ID!) { addGoal(planId: $p, title: "Et annet mål") { id } }'
    mismatch = await raw_post(gateway, token, changed_query, variables, "goal-1")
    assert mismatch.status_code == 422, mismatch.text
    assert await count(pool, "goals") == 1

    # A new key is a new goal; no key twice is two goals.
    fresh = await raw_post(gateway, token, ADD_GOAL, variables, "goal-2")
    assert fresh.json()["data"]["addGoal"]["id"] != goal_id
    for _ in range(2):
        assert "errors" not in (await raw_post(gateway, token, ADD_GOAL, variables, None)).json()
    assert await count(pool, "goals") == 4
