"""SQL round trips of the heavy reads do not grow with the number of plans or participants.

DESIGN.md, "Architecture": every list field is batched through DataLoaders, so the number
of statements a request sends does not grow with the number of plans, participants or
messages. The statements are counted on the pool's connections (db.pool.counting), around
one execution of the schema with a real request Context.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from db import persons, plans
from db.pool import Conn, counting
from gateway.settings import Settings
from resolvers import auth
from resolvers.context import Context
from resolvers.loaders import Loaders
from schema import build_schema
from tests.support import FakeClock, make_user, session_for

MAX_STATEMENTS = 8
START = dt.date(2026, 11, 1)
CONSENT_UNTIL = dt.date(2027, 11, 1)

PLAN_LIST = """query { plans(first: 50) { totalCount edges { node {
  id shortName type status startDate endDate lastArchivedAt changedSinceMyLastVisit
  hasUnreadMessages consentExpiresOn consentExpiresInDays
  owner { person { firstName lastName birthDate } }
  coordinator { person { firstName } }
  myAccess { participants goals activities messages calendar documents editPerson print }
  participants { role responsibility person { firstName lastName mobile } } } } } }"""

ONE_PLAN = """query($id: ID!) { plan(id: $id) {
  id shortName consentExpiresOn myAccess { participants }
  owner { person { firstName lastName birthDate } }
  coordinator { person { firstName } }
  participants { role responsibility person { firstName lastName mobile birthDate } } } }"""


@dataclass
class SeededPlan:
    id: uuid.UUID
    short_name: str
    owner_first_name: str
    owner_birth_date: dt.date
    # person first name -> (role, responsibility, mobile)
    members: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)


async def seed_plan(
    conn: Conn,
    *,
    coordinator_id: uuid.UUID,
    coordinator_name: str,
    label: str,
    extra_members: int,
    now: dt.datetime,
) -> SeededPlan:
    """One active plan with a consent: owner, the coordinator and ``extra_members`` others."""
    born = dt.date(1980, 1, 1) + dt.timedelta(days=len(label) * 97 + extra_members)
    owner = await persons.insert(
        conn,
        {
            "first_name": f"Eier{label}",
            "last_name": "Haugen",
            "birth_date": born,
            "mobile": "+4790000001",
        },
    )
    plan_id = await plans.insert_plan(
        conn, {"short_name": f"Plan {label}", "type": "IP", "start_date": START}, now
    )
    seeded = SeededPlan(plan_id, f"Plan {label}", owner.first_name, born)
    members: list[tuple[uuid.UUID, str, str, str | None, str | None]] = [
        (owner.id, owner.first_name, "OWNER", None, owner.mobile),
        (coordinator_id, coordinator_name, "COORDINATOR", None, None),
    ]
    for k in range(extra_members):
        role = "SERVICE_PROVIDER" if k % 2 == 0 else "RELATIVE"
        mobile = f"+479{k:07d}"
        person = await persons.insert(
            conn, {"first_name": f"Del{label}x{k}", "last_name": "Lie", "mobile": mobile}
        )
        members.append((person.id, person.first_name, role, f"Ansvar {label}/{k}", mobile))
    for person_id, name, role, responsibility, phone in members:
        await plans.insert_participant(
            conn,
            plan_id=plan_id,
            person_id=person_id,
            role=role,
            responsibility=responsibility,
            rights={},
            joined_on=START,
            now=now,
        )
        seeded.members[name] = (role, responsibility, phone)
    await plans.insert_consent(
        conn,
        plan_id,
        {
            "given_by": owner.id,
            "given_by_relation": "SELF",
            "given_on": START,
            "expires_on": CONSENT_UNTIL,
            "default_grant": {"participants": "READ"},
        },
        now,
        coordinator_id,
    )
    return seeded


async def seed_plans(
    pool: asyncpg.Pool, coordinator_id: uuid.UUID, labels: range
) -> list[SeededPlan]:
    """Plans with 3, 4 and 5 participants in turn."""
    now = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC)
    async with pool.acquire() as conn, conn.transaction():
        return [
            await seed_plan(
                conn,
                coordinator_id=coordinator_id,
                coordinator_name="Koordinator",
                label=str(i),
                extra_members=1 + i % 3,
                now=now + dt.timedelta(seconds=i),
            )
            for i in labels
        ]


async def counted(
    pool: asyncpg.Pool,
    clock: FakeClock,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Statements sent while the schema executes one request, and the request's data.

    The context is built as gateway/app.py builds it (the viewer from the bearer token).
    The request runs once first, so that every pool connection it touches is open: opening
    a connection is the pool's work, not the request's."""
    schema = build_schema()
    async with pool.acquire() as conn:
        viewer = await auth.viewer_for_token(conn, token, clock())
    assert viewer is not None

    async def run() -> Any:
        context = Context(
            pool=pool,
            settings=Settings(),
            clock=clock,
            viewer=viewer,
            client_addr="127.0.0.1",
            loaders=Loaders(pool, viewer.person_id),
            token=token,
        )
        return await schema.execute(query, variable_values=variables, context_value=context)

    await run()
    with counting() as count:
        result = await run()
        await asyncio.sleep(0)  # asyncpg reports each query through call_soon
        statements = count.statements
    assert result.errors is None, result.errors
    assert result.data is not None
    return statements, result.data


def check_plan(node: dict[str, Any], seeded: SeededPlan) -> None:
    """What the coordinator sees of one seeded plan: every participant, with responsibility,
    and the contact fields of people who share this active-consent plan (visibility PLAN)."""
    assert node["shortName"] == seeded.short_name
    assert node["owner"]["person"] == {
        "firstName": seeded.owner_first_name,
        "lastName": "Haugen",
        "birthDate": seeded.owner_birth_date.isoformat(),
    }
    assert node["coordinator"]["person"] == {"firstName": "Koordinator"}
    assert node["consentExpiresOn"] == CONSENT_UNTIL.isoformat()  # samtykke utgår
    got = {
        p["person"]["firstName"]: (p["role"], p["responsibility"], p["person"]["mobile"])
        for p in node["participants"]
    }
    assert got == seeded.members


async def test_plan_list_takes_the_same_few_statements_for_5_and_50_plans(
    pool: asyncpg.Pool, clock: FakeClock
) -> None:
    coordinator = await make_user(pool, "koordinator", first_name="Koordinator", mobile=None)
    token = await session_for(pool, coordinator)

    seeded = await seed_plans(pool, coordinator.person_id, range(5))
    few = [await counted(pool, clock, token, PLAN_LIST) for _ in range(2)]
    seeded += await seed_plans(pool, coordinator.person_id, range(5, 50))
    many = [await counted(pool, clock, token, PLAN_LIST) for _ in range(2)]

    by_id = {str(s.id): s for s in seeded}
    for (_, data), expected in ((few[0], 5), (many[0], 50)):
        connection = data["plans"]
        assert connection["totalCount"] == expected
        assert len(connection["edges"]) == expected
        for edge in connection["edges"]:
            check_plan(edge["node"], by_id[edge["node"]["id"]])
            assert 3 <= len(edge["node"]["participants"]) <= 5

    counts = [n for n, _ in few + many]
    assert max(counts) <= MAX_STATEMENTS, counts
    assert len(set(counts)) == 1, f"statements grew with the plans: {counts}"


async def test_one_plan_takes_the_same_statements_for_3_and_30_participants(
    pool: asyncpg.Pool, clock: FakeClock
) -> None:
    coordinator = await make_user(pool, "koordinator", first_name="Koordinator", mobile=None)
    token = await session_for(pool, coordinator)
    now = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC)
    async with pool.acquire() as conn:
        small = await seed_plan(
            conn,
            coordinator_id=coordinator.person_id,
            coordinator_name="Koordinator",
            label="S",
            extra_members=1,
            now=now,
        )
        large = await seed_plan(
            conn,
            coordinator_id=coordinator.person_id,
            coordinator_name="Koordinator",
            label="L",
            extra_members=28,
            now=now,
        )

    counts = {}
    for seeded, size in ((small, 3), (large, 30)):
        n, data = await counted(pool, clock, token, ONE_PLAN, {"id": str(seeded.id)})
        node = data["plan"]
        assert len(node["participants"]) == size
        assert node["myAccess"] == {"participants": "WRITE"}
        check_plan({**node, "shortName": seeded.short_name}, seeded)
        counts[size] = n

    assert counts[3] == counts[30], counts
    assert counts[30] <= MAX_STATEMENTS, counts
