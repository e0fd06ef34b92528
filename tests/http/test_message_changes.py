"""Editing and withdrawing one's own message (issue 17), over HTTP and real WebSockets.

The author may edit or withdraw a message within PLANGRUPPE_MESSAGE_EDIT_MINUTES (15) of
posting and before anyone it is for has read it; afterwards FORBIDDEN EDIT_WINDOW_CLOSED
(a correction is a new message). Nobody else may (ROLE_REQUIRED), a message the viewer may
not read is NOT_FOUND, and every refusal changes nothing. ``messageChanged`` delivers edits
and withdrawals under messageAdded's rules: only to those the message is for, never to
messageAdded's subscribers, and after the LISTEN connection is lost, from the catch-up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest

from tests.conftest import Gateway
from tests.http.test_live_messages import (
    LIVE_WAIT,
    PROBE_EVERY,
    Live,
    connected,
    listener_pids,
    open_every_connection,
    post,
)
from tests.plan_world import (
    COORDINATOR,
    GUARDIAN,
    OUTSIDER,
    OWNER,
    RELATIVE,
    SERVICE_PROVIDER,
    PlanWorld,
    build_world,
    ok,
)
from tests.support import error_codes

EDIT = """mutation($id: ID!, $body: String!) { editMessage(id: $id, body: $body) {
  id body editedAt withdrawnAt } }"""
WITHDRAW = """mutation($id: ID!) { withdrawMessage(id: $id) { id body editedAt withdrawnAt } }"""
MARK_READ = """mutation($p: ID!) { markMessagesRead(planId: $p) }"""
MESSAGES = """query($p: ID!) { plan(id: $p) { messages(first: 50) { edges { node {
  id body editedAt withdrawnAt } } } } }"""
CHANGED = """subscription($p: ID) { messageChanged(planId: $p) {
  id body editedAt withdrawnAt plan { id } } }"""
ADDED = """subscription($p: ID) { messageAdded(planId: $p) { id body } }"""


def forbidden(body: dict[str, Any]) -> tuple[str, str | None]:
    assert body["data"] is None, body
    (error,) = body["errors"]
    ext = error["extensions"]
    return ext["code"], ext.get("reason")


async def stored(world: PlanWorld, message_id: str) -> tuple[str, Any, Any, int]:
    """The message as the database holds it, and how many texts it had before."""
    async with world.gateway.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT body, edited_at, withdrawn_at,"
            " (SELECT count(*) FROM message_versions v WHERE v.message_id = m.id) AS versions"
            " FROM messages m WHERE id = $1",
            uuid.UUID(message_id),
        )
    assert row is not None
    return row["body"], row["edited_at"], row["withdrawn_at"], row["versions"]


async def listed(world: PlanWorld, key: str) -> dict[str, dict[str, Any]]:
    body = ok(await world.post(key, MESSAGES, {"p": world.plan_id}), "messages")
    return {e["node"]["id"]: e["node"] for e in body["plan"]["messages"]["edges"]}


async def test_the_author_edits_and_withdraws_while_recent_and_unread(gateway: Gateway) -> None:
    world = await build_world(gateway)
    author = world.token(SERVICE_PROVIDER)
    first = await post(gateway.client, author, world.plan_id, "Møtet er på tirsdag")

    edited = ok(await world.post(SERVICE_PROVIDER, EDIT, {"id": first, "body": "Onsdag!"}), "e")
    assert edited["editMessage"]["body"] == "Onsdag!"
    assert edited["editMessage"]["editedAt"] == gateway.clock().isoformat()
    assert edited["editMessage"]["withdrawnAt"] is None
    # Everyone it is for reads the new text, marked edited; the old one is kept apart.
    for key in (OWNER, COORDINATOR, RELATIVE):
        seen = (await listed(world, key))[first]
        assert (seen["body"], seen["editedAt"]) == ("Onsdag!", gateway.clock().isoformat())
    assert (await stored(world, first))[3] == 1

    gateway.clock.advance(minutes=5)
    second = await post(gateway.client, author, world.plan_id, "Feil plan, beklager")
    gone = ok(await world.post(SERVICE_PROVIDER, WITHDRAW, {"id": second}), "w")
    assert gone["withdrawMessage"]["body"] == ""
    assert gone["withdrawMessage"]["withdrawnAt"] == gateway.clock().isoformat()
    seen = (await listed(world, OWNER))[second]
    assert (seen["body"], seen["withdrawnAt"]) == ("", gateway.clock().isoformat())
    body, _edited, withdrawn, versions = await stored(world, second)
    assert (body, versions) == ("", 1) and withdrawn is not None
    # A withdrawn message stays withdrawn.
    again = await world.post(SERVICE_PROVIDER, EDIT, {"id": second, "body": "Likevel"})
    assert error_codes(again) == ["BAD_USER_INPUT"]

    # The audit log names the change, never the text.
    async with gateway.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT action, detail::text AS detail FROM audit_log WHERE target = ANY($1)"
            " AND action LIKE 'message.%' ORDER BY at",
            [first, second],
        )
    assert [r["action"] for r in rows] == [
        "message.posted",
        "message.edited",
        "message.posted",
        "message.withdrawn",
    ]
    assert not any("Onsdag" in r["detail"] or "tirsdag" in r["detail"] for r in rows)


async def test_too_late_read_or_not_the_author_changes_nothing(gateway: Gateway) -> None:
    world = await build_world(gateway, rights={RELATIVE: {"messages": "WRITE"}})
    author = world.token(SERVICE_PROVIDER)

    # Read by someone it is for: closed at once.
    read = await post(gateway.client, author, world.plan_id, "Lest av eier")
    ok(await world.post(OWNER, MARK_READ, {"p": world.plan_id}), "markMessagesRead")
    for query, variables in ((EDIT, {"id": read, "body": "Ny tekst"}), (WITHDRAW, {"id": read})):
        refused = await world.post(SERVICE_PROVIDER, query, variables)
        assert forbidden(refused) == ("FORBIDDEN", "EDIT_WINDOW_CLOSED")
    assert await stored(world, read) == ("Lest av eier", None, None, 0)

    # Read marks of those it is not for do not count: a message to the coordinator alone,
    # the relative and the guardian mark the plan read. (The owner's mark above covers
    # everything posted up to its moment: the clock moves on first.)
    gateway.clock.advance(seconds=1)
    private = await post(
        gateway.client,
        author,
        world.plan_id,
        "Bare til koordinator",
        [world.participant_ids[COORDINATOR]],
    )
    for key in (RELATIVE, GUARDIAN):
        ok(await world.post(key, MARK_READ, {"p": world.plan_id}), "markMessagesRead")
    ok(await world.post(SERVICE_PROVIDER, EDIT, {"id": private, "body": "Rettet"}), "edit")
    # … and a message the viewer may not read is unknown to them, even with MESSAGES WRITE.
    hidden = await world.post(RELATIVE, EDIT, {"id": private, "body": "Hei"})
    assert forbidden(hidden) == ("NOT_FOUND", None)
    assert (await stored(world, private))[0] == "Rettet"

    # Too late: 15 minutes after posting, unread.
    gateway.clock.advance(seconds=1)
    late = await post(gateway.client, author, world.plan_id, "Kommer for sent")
    gateway.clock.advance(minutes=14, seconds=59)
    ok(await world.post(SERVICE_PROVIDER, EDIT, {"id": late, "body": "Rett i tide"}), "edit")
    gateway.clock.advance(seconds=1)
    refused = await world.post(SERVICE_PROVIDER, WITHDRAW, {"id": late})
    assert forbidden(refused) == ("FORBIDDEN", "EDIT_WINDOW_CLOSED")
    assert (await stored(world, late))[0] == "Rett i tide"

    # Not the author: the coordinator and the owner read it but may not change it.
    group = await post(gateway.client, author, world.plan_id, "Til alle")
    for key in (COORDINATOR, OWNER, RELATIVE):
        refused = await world.post(key, EDIT, {"id": group, "body": "Endret av andre"})
        assert forbidden(refused) == ("FORBIDDEN", "ROLE_REQUIRED"), key
    # Not in the plan: unknown.
    refused = await world.post(OUTSIDER, WITHDRAW, {"id": group})
    assert forbidden(refused) == ("NOT_FOUND", None)
    # Bad input: an empty text, a malformed or unknown id.
    for variables in (
        {"id": group, "body": "   "},
        {"id": "ikke-en-id", "body": "Hei"},
    ):
        assert error_codes(await world.post(SERVICE_PROVIDER, EDIT, variables)) == [
            "BAD_USER_INPUT"
        ]
    unknown = await world.post(SERVICE_PROVIDER, WITHDRAW, {"id": str(uuid.uuid4())})
    assert forbidden(unknown) == ("NOT_FOUND", None)
    assert await stored(world, group) == ("Til alle", None, None, 0)


async def test_no_change_once_the_plan_has_ended_or_the_right_is_gone(gateway: Gateway) -> None:
    world = await build_world(gateway)
    message = await post(gateway.client, world.token(SERVICE_PROVIDER), world.plan_id, "Hei")
    await world.end_plan()
    refused = await world.post(SERVICE_PROVIDER, EDIT, {"id": message, "body": "Hei igjen"})
    assert forbidden(refused) == ("FORBIDDEN", "PLAN_ENDED")

    world = await build_world(gateway, rights={RELATIVE: {"messages": "WRITE"}})
    message = await post(gateway.client, world.token(RELATIVE), world.plan_id, "Hei")
    ok(
        await world.post(
            COORDINATOR,
            """mutation($id: ID!) { updateParticipant(id: $id, rights: {messages: READ}) {
              id } }""",
            {"id": world.participant_ids[RELATIVE]},
        ),
        "updateParticipant",
    )
    refused = await world.post(RELATIVE, WITHDRAW, {"id": message})
    assert forbidden(refused) == ("FORBIDDEN", "NO_GRANT")
    assert await stored(world, message) == ("Hei", None, None, 0)


# --- messageChanged over a real WebSocket -----------------------------------------------


async def subscribe(live: Live, query: str, plan_id: str | None, op: str = "1") -> None:
    await live.send(
        {"id": op, "type": "subscribe", "payload": {"query": query, "variables": {"p": plan_id}}}
    )


async def next_event(live: Live, root: str, skip: set[str]) -> dict[str, Any]:
    """The next event of `root` that is not about a probe; anything else fails the test."""
    while True:
        frame = await live.frame(what=f"a {root} event")
        assert frame["type"] == "next" and "errors" not in frame["payload"], frame
        event: dict[str, Any] = frame["payload"]["data"][root]
        if event["id"] not in skip:
            return event


async def until_changes_live(
    world: PlanWorld, subscribers: list[Live], probes: set[str], added: list[Live] = ()
) -> None:
    """Post and edit group probes until every messageChanged subscriber has heard of a
    probe's change (and every messageAdded one in ``added`` of a new probe)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIVE_WAIT
    waiting = [(sub, "messageChanged") for sub in subscribers]
    waiting += [(sub, "messageAdded") for sub in added]
    n = 0
    while waiting:
        if loop.time() > deadline:
            pytest.fail(f"{len(waiting)} subscription(s) not live within {LIVE_WAIT} s")
        n += 1
        probe = await post(
            world.gateway.client, world.token(COORDINATOR), world.plan_id, f"Probe {n}"
        )
        probes.add(probe)
        ok(await world.post(COORDINATOR, EDIT, {"id": probe, "body": f"Probe {n}."}), "probe")
        still = []
        for sub, root in waiting:
            try:
                frame = await asyncio.wait_for(sub.frames.get(), PROBE_EVERY)
            except TimeoutError:
                still.append((sub, root))
                continue
            assert frame["type"] == "next", frame
            assert frame["payload"]["data"][root]["id"] in probes, frame
        waiting = still


async def test_message_changed_reaches_only_those_it_is_for(gateway: Gateway) -> None:
    world = await build_world(gateway)
    author = world.token(SERVICE_PROVIDER)
    async with (
        connected(gateway.url, world.token(COORDINATOR)) as coordinator,
        connected(gateway.url, world.token(RELATIVE)) as relative,
        connected(gateway.url, world.token(OWNER)) as added,
    ):
        await subscribe(coordinator, CHANGED, world.plan_id)
        await subscribe(relative, CHANGED, None)  # every plan of theirs
        await subscribe(added, ADDED, world.plan_id)
        probes: set[str] = set()
        await until_changes_live(world, [coordinator, relative], probes, [added])
        to_coordinator = await post(
            gateway.client,
            author,
            world.plan_id,
            "Bare til koordinator",
            [world.participant_ids[COORDINATOR]],
        )
        ok(await world.post(SERVICE_PROVIDER, EDIT, {"id": to_coordinator, "body": "Rettet"}), "e")
        event = await next_event(coordinator, "messageChanged", probes)
        assert event == {
            "id": to_coordinator,
            "body": "Rettet",
            "editedAt": gateway.clock().isoformat(),
            "withdrawnAt": None,
            "plan": {"id": world.plan_id},
        }
        gateway.clock.advance(minutes=1)
        ok(await world.post(SERVICE_PROVIDER, WITHDRAW, {"id": to_coordinator}), "withdraw")
        event = await next_event(coordinator, "messageChanged", probes)
        assert (event["id"], event["body"]) == (to_coordinator, "")
        assert event["withdrawnAt"] == gateway.clock().isoformat()

        # The relative hears of a group message's change next, and of nothing before it.
        group = await post(gateway.client, author, world.plan_id, "Til alle")
        ok(await world.post(SERVICE_PROVIDER, EDIT, {"id": group, "body": "Til alle!"}), "e")
        event = await next_event(relative, "messageChanged", probes)
        assert (event["id"], event["body"]) == (group, "Til alle!")
        assert (await next_event(coordinator, "messageChanged", probes))["id"] == group
        # messageAdded heard of the two new messages only, with the text they were posted with.
        got = [await next_event(added, "messageAdded", probes) for _ in range(2)]
        assert got == [
            {"id": to_coordinator, "body": "Bare til koordinator"},
            {"id": group, "body": "Til alle"},
        ]
        last = await post(gateway.client, author, world.plan_id, "Siste")
        assert (await next_event(added, "messageAdded", probes))["id"] == last


async def test_changes_made_while_the_listener_was_gone_arrive_once(
    gateway: Gateway, pool: asyncpg.Pool, pg_admin_dsn: str
) -> None:
    world = await build_world(gateway)
    author = world.token(SERVICE_PROVIDER)
    mine = [await post(gateway.client, author, world.plan_id, f"Melding {n}") for n in range(3)]
    async with connected(gateway.url, world.token(COORDINATOR)) as sub:
        await subscribe(sub, CHANGED, world.plan_id)
        probes: set[str] = set()
        await until_changes_live(world, [sub], probes)
        [old] = await listener_pids(pool)
        await open_every_connection(pool)
        async with pool.acquire() as conn:
            name = await conn.fetchval("SELECT current_database()")
        admin = await asyncpg.connect(pg_admin_dsn)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            try:
                assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", old)
                assert await listener_pids(pool) == set()
                for n, message in enumerate(mine):
                    variables = {"id": message, "body": f"Rettet {n}"}
                    ok(await world.post(SERVICE_PROVIDER, EDIT, variables), "edit")
                assert await listener_pids(pool) == set(), "edited after the bus reconnected"
            finally:
                await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        finally:
            await admin.close()
        got = [await next_event(sub, "messageChanged", probes) for _ in mine]
        assert [(e["id"], e["body"]) for e in got] == [
            (m, f"Rettet {n}") for n, m in enumerate(mine)
        ]
        # Nothing more queued: the next change is one made now.
        ok(await world.post(SERVICE_PROVIDER, WITHDRAW, {"id": mine[0]}), "withdraw")
        event = await next_event(sub, "messageChanged", probes)
        assert (event["id"], event["body"]) == (mine[0], "")
        assert dt.datetime.fromisoformat(event["withdrawnAt"]) == gateway.clock()


CORRECT = """mutation($p: ID!, $b: String!, $c: ID, $to: [ID!]) {
  postMessage(planId: $p, body: $b, correctsId: $c, recipientIds: $to) {
    id recipients { id } corrects { id body } } }"""
WITH_CORRECTS = """query($p: ID!) { plan(id: $p) { messages(first: 50) { edges { node {
  id corrects { id body } } } } } }"""


async def test_too_late_to_edit_a_correction_names_the_message(gateway: Gateway) -> None:
    world = await build_world(gateway)
    author = world.token(SERVICE_PROVIDER)
    coordinator = world.participant_ids[COORDINATOR]
    private = await post(gateway.client, author, world.plan_id, "Time kl. 10", [coordinator])
    gateway.clock.advance(seconds=1)
    ok(await world.post(COORDINATOR, MARK_READ, {"p": world.plan_id}), "markMessagesRead")
    late = await world.post(SERVICE_PROVIDER, EDIT, {"id": private, "body": "Time kl. 11"})
    assert forbidden(late) == ("FORBIDDEN", "EDIT_WINDOW_CLOSED")

    # Without recipientIds a correction reaches the same readers as the message it corrects.
    variables = {"p": world.plan_id, "b": "Rettelse: kl. 11", "c": private}
    fixed = ok(await world.post(SERVICE_PROVIDER, CORRECT, variables), "correction")
    correction = fixed["postMessage"]
    assert correction["recipients"] == [{"id": coordinator}]
    assert correction["corrects"] == {"id": private, "body": "Time kl. 10"}
    seen = ok(await world.post(COORDINATOR, WITH_CORRECTS, {"p": world.plan_id}), "read")
    nodes = {e["node"]["id"]: e["node"] for e in seen["plan"]["messages"]["edges"]}
    assert nodes[correction["id"]]["corrects"] == {"id": private, "body": "Time kl. 10"}
    relative = ok(await world.post(RELATIVE, WITH_CORRECTS, {"p": world.plan_id}), "read")
    assert correction["id"] not in {e["node"]["id"] for e in relative["plan"]["messages"]["edges"]}

    # Sent on to someone the corrected message was not for: they see the correction, and
    # the message it names is refused to them.
    variables = {
        "p": world.plan_id,
        "b": "Til orientering: timen er flyttet",
        "c": private,
        "to": [coordinator, world.participant_ids[GUARDIAN]],
    }
    told = ok(await world.post(SERVICE_PROVIDER, CORRECT, variables), "correction")["postMessage"]
    body = await world.post(GUARDIAN, WITH_CORRECTS, {"p": world.plan_id})
    nodes = {e["node"]["id"]: e["node"] for e in body["data"]["plan"]["messages"]["edges"]}
    assert nodes[told["id"]]["corrects"] is None
    assert [(e["extensions"]["code"], e["extensions"]["reason"]) for e in body["errors"]] == [
        ("FORBIDDEN", "NO_GRANT")
    ]

    # Only one's own message in the plan can be corrected.
    group = await post(gateway.client, world.token(COORDINATOR), world.plan_id, "Fra koordinator")
    for corrects in (group, str(uuid.uuid4()), "ikke-en-id"):
        variables = {"p": world.plan_id, "b": "Rettelse", "c": corrects}
        refused = await world.post(SERVICE_PROVIDER, CORRECT, variables)
        assert error_codes(refused) == ["BAD_USER_INPUT"], corrects
        assert refused["errors"][0]["extensions"]["field"] == "correctsId"
