"""Linked plans («fagplaner», issue 17) over HTTP: an IP links the plans under it, a goal of
the lower plan names the IP goal it serves, and the section right linkedPlans decides who
sees the link, together with taking part in the other plan.

The world: the IP of tests/plan_world.py (owner, coordinator, service provider, relative,
guardian), and an IOP for the same owner, coordinated by a teacher who is not in the IP,
with the service provider in both. A third plan, for the relative, is coordinated by the IP's
coordinator (a plan of another person, which no IP of the owner may link).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from tests.conftest import Gateway
from tests.plan_world import (
    ADD_PARTICIPANT,
    COORDINATING_UNIT,
    COORDINATOR,
    CREATE_PLAN,
    GUARDIAN,
    OWNER,
    RECORD_CONSENT,
    RELATIVE,
    SERVICE_PROVIDER,
    PlanWorld,
    build_world,
    ok,
    today_of,
)
from tests.support import error_codes, make_user, session_for

IP_GRANT = {
    "participants": "READ",
    "goals": "WRITE",
    "activities": "READ",
    "messages": "WRITE",
    "calendar": "READ",
    "documents": "NONE",
    "linkedPlans": "READ",
}
LINK = """mutation($p: ID!, $l: ID!) { linkPlan(planId: $p, linkedPlanId: $l) {
  relation linkedAt plan { id type } } }"""
UNLINK = """mutation($p: ID!, $l: ID!) { unlinkPlan(planId: $p, linkedPlanId: $l) }"""
LINKED = """query($p: ID!) { plan(id: $p) { myAccess { linkedPlans }
  linkedPlans { relation plan { id type shortName } } } }"""
ADD_GOAL = """mutation($p: ID!, $t: String!) { addGoal(planId: $p, title: $t) { id } }"""
SERVES = """mutation($g: ID!, $s: ID) { setGoalServes(goalId: $g, servesGoalId: $s) {
  id serves { id title } } }"""
GOALS = """query($p: ID!) { plan(id: $p) { goals { id serves { id title } } } }"""
HISTORY = """query($p: ID!) { plan(id: $p) { history { edges { action } } } }"""


def refused(body: dict[str, Any]) -> tuple[str, str | None]:
    (error,) = body["errors"]
    return error["extensions"]["code"], error["extensions"].get("reason")


class Family:
    """The IP world, the owner's IOP and the teacher who coordinates it."""

    def __init__(self, world: PlanWorld, iop: str, teacher: str, other: str) -> None:
        self.world, self.iop, self.teacher, self.other = world, iop, teacher, other

    async def post(self, who: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        token = self.teacher if who == "teacher" else self.world.token(who)
        return await self.world.gateway.client.post(query, variables, token=token)


async def family(gateway: Gateway) -> Family:
    world = await build_world(
        gateway, default_grant=IP_GRANT, rights={GUARDIAN: {"linkedPlans": "NONE"}}
    )
    today = today_of(gateway)
    teacher = await make_user(gateway.pool, f"laerer-{uuid.uuid4().hex[:8]}", first_name="Lærer")
    teacher_token = await session_for(gateway.pool, teacher, gateway.clock())

    async def plan(owner: str, coordinator: str, kind: str) -> str:
        made = await gateway.client.post(
            CREATE_PLAN,
            {
                "in": {
                    "ownerId": owner,
                    "coordinatorId": coordinator,
                    "shortName": f"{kind} {uuid.uuid4().hex[:6]}",
                    "type": kind,
                    "startDate": (today - dt.timedelta(days=30)).isoformat(),
                }
            },
            token=world.token(COORDINATING_UNIT),
        )
        plan_id: str = ok(made, "createPlan")["createPlan"]["id"]
        return plan_id

    iop = await plan(world.person_id(OWNER), str(teacher.person_id), "IOP")
    ok(
        await gateway.client.post(
            ADD_PARTICIPANT,
            {"p": iop, "who": world.person_id(SERVICE_PROVIDER), "role": "SERVICE_PROVIDER"},
            token=teacher_token,
        ),
        "addParticipant",
    )
    ok(
        await gateway.client.post(
            RECORD_CONSENT,
            {
                "p": iop,
                "in": {
                    "givenById": world.person_id(OWNER),
                    "givenByRelation": "SELF",
                    "givenOn": (today - dt.timedelta(days=10)).isoformat(),
                    "expiresOn": (today + dt.timedelta(days=300)).isoformat(),
                    "defaultGrant": {"goals": "READ", "linkedPlans": "READ"},
                },
            },
            token=teacher_token,
        ),
        "recordConsent",
    )
    other = await plan(world.person_id(RELATIVE), world.person_id(COORDINATOR), "IUP")
    return Family(world, iop, teacher_token, other)


async def test_links_are_made_by_whoever_may_write_in_both_plans(gateway: Gateway) -> None:
    f = await family(gateway)
    ip = f.world.plan_id
    # The IP's coordinator does not know of the IOP; the provider may only read links.
    assert refused(await f.post(COORDINATOR, LINK, {"p": ip, "l": f.iop})) == ("NOT_FOUND", None)
    assert refused(await f.post(SERVICE_PROVIDER, LINK, {"p": ip, "l": f.iop})) == (
        "FORBIDDEN",
        "NO_GRANT",
    )
    # The wrong way round, a plan of another person, itself: bad input.
    for who, variables in (
        (OWNER, {"p": f.iop, "l": ip}),
        (COORDINATOR, {"p": ip, "l": f.other}),
        (OWNER, {"p": ip, "l": ip}),
        (OWNER, {"p": ip, "l": "ikke-en-id"}),
    ):
        assert error_codes(await f.post(who, LINK, variables)) == ["BAD_USER_INPUT"], variables
    async with gateway.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM plan_links") == 0

    linked = ok(await f.post(OWNER, LINK, {"p": ip, "l": f.iop}), "linkPlan")["linkPlan"]
    assert linked["relation"] == "UNDER"
    assert linked["plan"] == {"id": f.iop, "type": "IOP"}
    assert error_codes(await f.post(OWNER, LINK, {"p": ip, "l": f.iop})) == ["BAD_USER_INPUT"]
    history = ok(await f.post(OWNER, HISTORY, {"p": ip}), "history")["plan"]["history"]
    assert "plan.linked" in [e["action"] for e in history["edges"]]


async def test_a_link_shows_to_those_with_the_right_who_take_part_in_both(
    gateway: Gateway,
) -> None:
    f = await family(gateway)
    ip = f.world.plan_id
    ok(await f.post(OWNER, LINK, {"p": ip, "l": f.iop}), "linkPlan")

    async def seen(who: str, plan_id: str) -> Any:
        body = await f.post(who, LINKED, {"p": plan_id})
        return body["data"]["plan"], body.get("errors")

    plan, errors = await seen(OWNER, ip)
    assert plan["myAccess"] == {"linkedPlans": "WRITE"} and errors is None
    assert [(x["relation"], x["plan"]["id"]) for x in plan["linkedPlans"]] == [("UNDER", f.iop)]
    plan, errors = await seen(OWNER, f.iop)
    assert [(x["relation"], x["plan"]["id"]) for x in plan["linkedPlans"]] == [("OVER", ip)]
    plan, errors = await seen(SERVICE_PROVIDER, ip)
    assert plan["myAccess"] == {"linkedPlans": "READ"}
    assert [x["plan"]["id"] for x in plan["linkedPlans"]] == [f.iop]
    # Not in the other plan: the link does not exist for them.
    for who, plan_id in ((COORDINATOR, ip), (RELATIVE, ip), ("teacher", f.iop)):
        plan, errors = await seen(who, plan_id)
        assert (plan["linkedPlans"], errors) == ([], None), who
    # No right: null with the reason.
    plan, errors = await seen(GUARDIAN, ip)
    assert plan["linkedPlans"] is None and plan["myAccess"] == {"linkedPlans": "NONE"}
    assert [(e["extensions"]["code"], e["extensions"]["reason"]) for e in errors] == [
        ("FORBIDDEN", "NO_GRANT")
    ]


async def test_a_lower_goal_serves_an_ip_goal_seen_only_through_the_link(
    gateway: Gateway,
) -> None:
    f = await family(gateway)
    ip = f.world.plan_id
    big = ok(await f.post(COORDINATOR, ADD_GOAL, {"p": ip, "t": "Bo hjemme"}), "g")["addGoal"]
    small = ok(await f.post("teacher", ADD_GOAL, {"p": f.iop, "t": "Lese"}), "g")["addGoal"]
    # Not linked yet: no IP goal to serve.
    not_linked = await f.post(OWNER, SERVES, {"g": small["id"], "s": big["id"]})
    assert error_codes(not_linked) == ["BAD_USER_INPUT"]
    ok(await f.post(OWNER, LINK, {"p": ip, "l": f.iop}), "linkPlan")
    # The teacher is not in the IP: its goals are none of theirs.
    hidden = await f.post("teacher", SERVES, {"g": small["id"], "s": big["id"]})
    assert error_codes(hidden) == ["BAD_USER_INPUT"]
    # A goal of the IOP itself is not an IP goal.
    itself = await f.post(OWNER, SERVES, {"g": small["id"], "s": small["id"]})
    assert error_codes(itself) == ["BAD_USER_INPUT"]

    served = ok(await f.post(OWNER, SERVES, {"g": small["id"], "s": big["id"]}), "serves")
    assert served["setGoalServes"]["serves"] == {"id": big["id"], "title": "Bo hjemme"}
    provider = ok(await f.post(SERVICE_PROVIDER, GOALS, {"p": f.iop}), "goals")
    assert provider["plan"]["goals"] == [
        {"id": small["id"], "serves": {"id": big["id"], "title": "Bo hjemme"}}
    ]
    # The teacher reads the IOP's goal, but the link to the IP does not exist for them.
    teacher = await f.post("teacher", GOALS, {"p": f.iop})
    assert teacher["data"]["plan"]["goals"] == [{"id": small["id"], "serves": None}]
    assert "errors" not in teacher

    assert ok(await f.post(OWNER, UNLINK, {"p": ip, "l": f.iop}), "unlink")["unlinkPlan"]
    async with gateway.pool.acquire() as conn:
        left = await conn.fetchval(
            "SELECT serves_goal_id FROM goals WHERE id = $1", uuid.UUID(small["id"])
        )
    assert left is None
    again = await f.post(OWNER, UNLINK, {"p": ip, "l": f.iop})
    assert refused(again) == ("NOT_FOUND", None)
