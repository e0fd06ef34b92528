"""Goals, activities, comments, calendar and messages through the API, and a live subscription."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from tests.conftest import Gateway
from tests.support import make_user, session_for

CREATE = """mutation($in: CreatePlanInput!) { createPlan(input: $in) { id } }"""
CONSENT = (
    """mutation($p: ID!, $in: ConsentInput!) { recordConsent(planId: $p, input: $in) { id } }"""
)
ADD = """mutation($p: ID!, $who: ID!) { addParticipant(planId: $p, personId: $who,
  role: SERVICE_PROVIDER) { id } }"""


async def _plan(gateway: Gateway) -> dict[str, Any]:
    pool = gateway.pool
    unit = await make_user(pool, "enhet", roles=("COORDINATING_UNIT",))
    owner = await make_user(pool, "ingrid")
    coord = await make_user(pool, "ola")
    physio = await make_user(pool, "sara")
    t = {u.username: await session_for(pool, u) for u in (unit, owner, coord, physio)}
    post = gateway.client.post
    pid = (
        await post(
            CREATE,
            {
                "in": {
                    "ownerId": str(owner.person_id),
                    "shortName": "Plan",
                    "type": "IP",
                    "startDate": "2026-11-01",
                    "coordinatorId": str(coord.person_id),
                }
            },
            token=t["enhet"],
        )
    )["data"]["createPlan"]["id"]
    r = await post(
        CONSENT,
        {
            "p": pid,
            "in": {
                "givenById": str(owner.person_id),
                "givenByRelation": "SELF",
                "givenOn": "2026-11-01",
                "expiresOn": "2027-11-01",
                "defaultGrant": {
                    "participants": "READ",
                    "goals": "WRITE",
                    "activities": "WRITE",
                    "messages": "WRITE",
                    "calendar": "READ",
                },
            },
        },
        token=t["ola"],
    )
    assert "errors" not in r, r
    r = await post(ADD, {"p": pid, "who": str(physio.person_id)}, token=t["ola"])
    assert "errors" not in r, r
    return {"plan": pid, "tokens": t}


async def test_goals_activities_comments_calendar(gateway: Gateway) -> None:
    world = await _plan(gateway)
    t, pid, post = world["tokens"], world["plan"], gateway.client.post
    goal = await post(
        'mutation($p: ID!) { addGoal(planId: $p, title: "Bo hjemme") { id status } }',
        {"p": pid},
        token=t["sara"],
    )
    assert "errors" not in goal, goal
    gid = goal["data"]["addGoal"]["id"]
    sub = await post(
        'mutation($p: ID!, $g: ID!) { addGoal(planId: $p, title: "Handle selv", '
        "parentId: $g) { id parent { id } } }",
        {"p": pid, "g": gid},
        token=t["sara"],
    )
    assert sub["data"]["addGoal"]["parent"]["id"] == gid
    act = await post(
        'mutation($g: ID!) { addActivity(goalId: $g, title: "Trening", '
        'startDate: "2026-12-01", endDate: "2027-01-01") { id goal { id } } }',
        {"g": gid},
        token=t["sara"],
    )
    assert "errors" not in act, act
    com = await post(
        'mutation($g: ID!) { addComment(goalId: $g, body: "Bra!") { id author { role } } }',
        {"g": gid},
        token=t["ingrid"],
    )
    assert com["data"]["addComment"]["author"]["role"] == "OWNER"
    cal = await post(
        'mutation($p: ID!) { addCalendarEntry(planId: $p, title: "Møte", '
        'startsAt: "2026-12-03T10:00:00+01:00") { id } }',
        {"p": pid},
        token=t["sara"],
    )
    assert cal["data"] is None and cal["errors"][0]["extensions"]["reason"] == "NO_GRANT"
    read = await post(
        "query($p: ID!) { plan(id: $p) { goals { title subGoals { title } "
        "activities { title } comments { body } } calendar { title } } }",
        {"p": pid},
        token=t["sara"],
    )
    assert "errors" not in read, read
    [g] = read["data"]["plan"]["goals"]
    assert g["subGoals"] == [{"title": "Handle selv"}]
    assert g["activities"] == [{"title": "Trening"}]
    assert g["comments"] == [{"body": "Bra!"}]


async def test_message_arrives_over_a_real_websocket(gateway: Gateway) -> None:
    world = await _plan(gateway)
    t, pid = world["tokens"], world["plan"]
    ws_url = gateway.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {t['sara']}"}}
            )
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": "subscription($p: ID) { messageAdded(planId: $p) {"
                        " body author { role } } }",
                        "variables": {"p": pid},
                    },
                }
            )
        )
        post = "mutation($p: ID!, $b: String!) { postMessage(planId: $p, body: $b) { id } }"
        # graphql-transport-ws acknowledges no subscribe: the subscription is live once a
        # probe posted after it arrives (a fixed sleep raced the registration under load).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        live = False
        n = 0
        while not live:
            assert loop.time() < deadline, "the subscription never received a probe"
            n += 1
            probe = await gateway.client.post(post, {"p": pid, "b": f"Probe {n}"}, token=t["ola"])
            assert "errors" not in probe, probe
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.5))
            except TimeoutError:
                continue
            assert frame["type"] == "next", frame
            live = True
        posted = await gateway.client.post(post, {"p": pid, "b": "Hei alle"}, token=t["ola"])
        assert "errors" not in posted, posted
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            assert event["type"] == "next", event
            if not event["payload"]["data"]["messageAdded"]["body"].startswith("Probe"):
                break
        assert event["payload"]["data"]["messageAdded"] == {
            "body": "Hei alle",
            "author": {"role": "COORDINATOR"},
        }
