"""The demo municipality of `serve --demo`: every account logs in over real HTTP with its
e-mailed one-time code (real SMTP) and sees what README.md's "Demo accounts" table says."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from db import accounts, persons
from gateway.demo import USERNAMES, seed
from gateway.settings import ConfigError
from resolvers import passwords
from tests.conftest import Gateway, Mailbox
from tests.plan_world import errors_by_path, ok
from tests.support import six_digit_code

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { challengeId channel } }"""
VERIFY = """mutation($c: ID!, $code: String!) {
  verifyLoginCode(challengeId: $c, code: $code) { token person { firstName lastName } } }"""
PLANS = """query($ended: Boolean) { plans(filter: {includeEnded: $ended}) { totalCount
  edges { node { id shortName status consentExpiresInDays lastArchivedAt } } } }"""
PLAN = """query($id: ID!) { plan(id: $id) {
  shortName status consentExpiresInDays
  myAccess { participants goals activities messages calendar documents }
  participants { role }
  goals { title subGoals { title } activities { title } }
  messages(first: 50) { edges { node { body recipients { id } } } }
  calendar { title }
  documents { name contentType downloadUrl } } }"""

EMMA, JONAS, ASTRID = (
    "Emma - bolig og arbeid",
    "Jonas - skole og fritid",
    "Astrid - hjemme etter hoftebrudd",
)
SECTIONS = ("participants", "goals", "messages", "calendar", "documents")


@dataclass
class Demo:
    gateway: Gateway
    smtp: Mailbox
    passwords: dict[str, str]

    async def log_in(self, username: str) -> str:
        """Password, then the code from the e-mail the real SMTP server received."""
        client = self.gateway.client
        challenge = ok(
            await client.post(LOGIN, {"u": username, "p": self.passwords[username]}), "login"
        )["login"]
        assert challenge["channel"] == "EMAIL"
        await self.gateway.deliver()
        codes = [
            m.get_content()
            for m in self.smtp.messages
            if m["To"] == f"{username}@example.no" and "Engangskode" in str(m["Subject"])
        ]
        assert len(codes) == 1, (username, [str(m["Subject"]) for m in self.smtp.messages])
        session = ok(
            await client.post(
                VERIFY, {"c": challenge["challengeId"], "code": six_digit_code(codes[0])}
            ),
            "verifyLoginCode",
        )["verifyLoginCode"]
        token: str = session["token"]
        return token

    async def post(
        self, token: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return await self.gateway.client.post(query, variables, token=token)

    async def plans(self, token: str, *, ended: bool = False) -> dict[str, dict[str, Any]]:
        found = ok(await self.post(token, PLANS, {"ended": ended}), "plans")["plans"]
        nodes = {e["node"]["shortName"]: e["node"] for e in found["edges"]}
        assert found["totalCount"] == len(nodes)
        return nodes

    async def plan_id(self, short_name: str) -> str:
        async with self.gateway.pool.acquire() as conn:
            return str(
                await conn.fetchval("SELECT id FROM plans WHERE short_name = $1", short_name)
            )


@pytest.fixture
async def demo(gateway: Gateway, smtp: Mailbox) -> Demo:
    assert gateway.settings.database_url is not None
    created = await seed(gateway.settings.database_url, gateway.settings, gateway.clock)
    assert created is not None
    # The seed's own notices (new messages, meetings …) are not what the tests look for.
    await gateway.deliver()
    smtp.messages.clear()
    return Demo(gateway, smtp, dict(created))


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    tables = ("persons", "accounts", "plans", "participants", "goals", "messages", "documents")
    async with pool.acquire() as conn:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}


# --- the seed ------------------------------------------------------------------------------


async def test_every_role_has_an_account_with_a_strong_password_and_a_confirmed_email(
    demo: Demo,
) -> None:
    assert tuple(demo.passwords) == USERNAMES
    assert len(set(demo.passwords.values())) == len(USERNAMES)
    async with demo.gateway.pool.acquire() as conn:
        for username, password in demo.passwords.items():
            account = await accounts.by_username(conn, username)
            assert account is not None
            assert account.confirmed_email == f"{username}@example.no"
            person = await persons.by_id(conn, account.person_id)
            assert person is not None and person.email == account.confirmed_email
            names = (person.first_name, person.last_name)
            assert passwords.broken_rules(password, username=username, names=names) == []
        roles = dict(
            await conn.fetch(
                "SELECT a.username, array_agg(g.role ORDER BY g.role) FROM accounts a"
                " JOIN person_global_roles g ON g.person_id = a.person_id GROUP BY a.username"
            )
        )
    assert roles == {
        "demo.admin": ["SYSTEM_ADMIN"],
        "demo.enhet": ["COORDINATING_UNIT"],
        "demo.rapport": ["REPORTER"],
    }


async def test_a_second_seed_creates_nothing(demo: Demo) -> None:
    gateway = demo.gateway
    before = await counts(gateway.pool)
    assert before["plans"] == 3 and before["accounts"] == len(USERNAMES)
    assert gateway.settings.database_url is not None
    again = await seed(gateway.settings.database_url, gateway.settings, gateway.clock)
    assert again is None
    assert await counts(gateway.pool) == before


async def test_a_half_seeded_database_is_refused(gateway: Gateway) -> None:
    """A seed that stopped half-way (no `demo.seeded` mark) is not silently completed."""
    from tests.support import make_user

    await make_user(gateway.pool, "demo.admin")
    assert gateway.settings.database_url is not None
    with pytest.raises(ConfigError, match="interrupted"):
        await seed(gateway.settings.database_url, gateway.settings, gateway.clock)
    assert (await counts(gateway.pool))["plans"] == 0


# --- what each account sees (README.md, "Demo accounts") -----------------------------------


async def test_the_coordinator_sees_three_plans_in_their_states(demo: Demo) -> None:
    token = await demo.log_in("demo.koordinator")
    active = await demo.plans(token)
    assert set(active) == {EMMA, JONAS}
    assert active[JONAS]["consentExpiresInDays"] == 21
    assert active[EMMA]["lastArchivedAt"] is not None  # archived once while active

    every = await demo.plans(token, ended=True)
    assert set(every) == {EMMA, JONAS, ASTRID}
    assert every[ASTRID]["status"] == "ENDED" and every[ASTRID]["lastArchivedAt"] is not None
    astrid = ok(await demo.post(token, PLAN, {"id": every[ASTRID]["id"]}), "plan")["plan"]
    assert set(astrid["myAccess"].values()) == {"READ"}  # ended: read-only

    emma = ok(await demo.post(token, PLAN, {"id": every[EMMA]["id"]}), "plan")["plan"]
    home = next(g for g in emma["goals"] if g["title"] == "Bo i egen leilighet")
    assert home["subGoals"] == [{"title": "Lage middag selv tre dager i uka"}]
    assert home["activities"] == [{"title": "Boveiledning hver tirsdag"}]
    assert len(emma["goals"]) == 3
    sent = [e["node"] for e in emma["messages"]["edges"]]
    assert len(sent) == 5
    assert sum(1 for m in sent if m["recipients"] is not None) == 2  # to chosen recipients
    assert [c["title"] for c in emma["calendar"]] == ["Ansvarsgruppemøte", "Evaluering av planen"]
    assert sorted(p["role"] for p in emma["participants"]) == [
        "COORDINATOR",
        "OWNER",
        "RELATIVE",
        "SERVICE_PROVIDER",
    ]
    [document] = emma["documents"]
    assert (document["name"], document["contentType"]) == ("Ukeplan.pdf", "application/pdf")
    path = urlsplit(document["downloadUrl"]).path
    response = await demo.gateway.client.http.get(
        path, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")

    jonas = ok(await demo.post(token, PLAN, {"id": every[JONAS]["id"]}), "plan")["plan"]
    assert len(jonas["participants"]) == 7
    assert len(jonas["messages"]["edges"]) == 5


async def test_the_owner_sees_her_plan_her_consent_and_its_archive(demo: Demo) -> None:
    token = await demo.log_in("demo.planeier")
    mine = await demo.plans(token, ended=True)
    assert set(mine) == {EMMA}
    query = """query($id: ID!) { plan(id: $id) { consent { givenByRelation expiresOn }
      archives { id } messages { edges { node { body } } } goals { title } } }"""
    plan = ok(await demo.post(token, query, {"id": mine[EMMA]["id"]}), "plan")["plan"]
    assert plan["consent"]["givenByRelation"] == "SELF"
    assert len(plan["archives"]) == 1
    assert len(plan["messages"]["edges"]) == 5  # the owner reads every message
    assert len(plan["goals"]) == 3


async def test_the_relative_reads_the_plan_but_not_its_messages(demo: Demo) -> None:
    token = await demo.log_in("demo.parorende")
    mine = await demo.plans(token)
    assert set(mine) == {EMMA}
    body = await demo.post(token, PLAN, {"id": mine[EMMA]["id"]})
    plan = body["data"]["plan"]
    assert plan["myAccess"]["messages"] == "NONE"
    assert plan["messages"] is None
    assert errors_by_path(body) == {("plan", "messages"): ("FORBIDDEN", "NO_GRANT")}
    assert len(plan["goals"]) == 3 and len(plan["calendar"]) == 2 and len(plan["documents"]) == 1


async def test_the_provider_with_an_expired_consent_reads_only_the_other_plan(
    demo: Demo,
) -> None:
    token = await demo.log_in("demo.tjenesteyter")
    mine = await demo.plans(token)
    assert set(mine) == {EMMA, JONAS}
    assert mine[EMMA]["consentExpiresInDays"] == -12
    assert mine[JONAS]["consentExpiresInDays"] == 21

    body = await demo.post(token, PLAN, {"id": mine[EMMA]["id"]})
    emma = body["data"]["plan"]
    assert emma["shortName"] == EMMA
    assert all(emma[s] is None for s in SECTIONS), emma
    assert set(errors_by_path(body).values()) == {("FORBIDDEN", "CONSENT_EXPIRED")}
    assert {p[1] for p in errors_by_path(body)} == set(SECTIONS)

    jonas = ok(await demo.post(token, PLAN, {"id": mine[JONAS]["id"]}), "plan")["plan"]
    bodies = {e["node"]["body"] for e in jonas["messages"]["edges"]}
    assert len(bodies) == 4  # not the message to Jonas's mother alone
    assert "Kan du ta med vedtaket fra PPT til møtet?" not in bodies
    assert "Kan du skrive en kort status før møtet?" in bodies  # to him alone
    assert {g["title"] for g in jonas["goals"]} == {"Trives på skolen", "Være aktiv på fritida"}


async def test_the_coordinating_unit_sees_headers_but_takes_part_in_no_plan(demo: Demo) -> None:
    token = await demo.log_in("demo.enhet")
    assert await demo.plans(token, ended=True) == {}
    body = await demo.post(token, PLAN, {"id": await demo.plan_id(EMMA)})
    assert body["data"]["plan"]["shortName"] == EMMA
    assert body["data"]["plan"]["goals"] is None
    assert errors_by_path(body)[("plan", "goals")] == ("FORBIDDEN", "NOT_PARTICIPANT")
    units = ok(await demo.post(token, "{ serviceUnits { name } }"), "serviceUnits")
    assert {u["name"] for u in units["serviceUnits"]} == {
        "Helse og omsorg",
        "Barn, unge og familie",
    }
    person = ok(
        await demo.post(token, CREATE_PERSON, {"in": {"firstName": "Ny", "lastName": "Person"}}),
        "createPerson",
    )["createPerson"]
    async with demo.gateway.pool.acquire() as conn:
        coordinator = await conn.fetchval(
            "SELECT person_id FROM accounts WHERE username = 'demo.koordinator'"
        )
    plan = {
        "ownerId": person["id"],
        "coordinatorId": str(coordinator),
        "shortName": "Ny plan",
        "type": "IP",
        "startDate": "2026-11-01",
    }
    made = ok(await demo.post(token, CREATE_PLAN, {"in": plan}), "createPlan")["createPlan"]
    assert made["shortName"] == "Ny plan"


CREATE_PERSON = "mutation($in: PersonInput!) { createPerson(input: $in) { id } }"
CREATE_PLAN = "mutation($in: CreatePlanInput!) { createPlan(input: $in) { shortName } }"


REPORTS = """{ reports { consentsExpiring(withinDays: 30)
  planCounts(groupBy: [STATUS]) { status count } } }"""


async def test_the_reporter_gets_reports_with_small_counts_suppressed(demo: Demo) -> None:
    token = await demo.log_in("demo.rapport")
    reports = ok(await demo.post(token, REPORTS), "reports")["reports"]
    assert reports["consentsExpiring"] == 5  # Jonas's plan group, 21 days
    assert {r["status"] for r in reports["planCounts"]} == {"ACTIVE", "ENDED"}
    assert {r["count"] for r in reports["planCounts"]} == {None}  # 2 and 1: below 5
    assert await demo.plans(token, ended=True) == {}


async def test_the_admin_is_a_system_administrator_with_reports(demo: Demo) -> None:
    token = await demo.log_in("demo.admin")
    me = ok(await demo.post(token, "{ me { firstName globalRoles } }"), "me")["me"]
    assert me == {"firstName": "Tone", "globalRoles": ["SYSTEM_ADMIN"]}
    assert await demo.plans(token, ended=True) == {}
    reports = ok(await demo.post(token, REPORTS), "reports")["reports"]
    assert reports["consentsExpiring"] == 5
    body = await demo.post(
        token, "query($id: ID!) { plan(id: $id) { shortName } }", {"id": await demo.plan_id(ASTRID)}
    )
    assert ok(body, "plan")["plan"]["shortName"] == ASTRID
    unit = 'mutation { createServiceUnit(name: "Enhet for rus og psykisk helse") { name } }'
    assert ok(await demo.post(token, unit), "createServiceUnit") == {
        "createServiceUnit": {"name": "Enhet for rus og psykisk helse"}
    }


async def test_the_coordinator_may_not_read_reports(demo: Demo) -> None:
    token = await demo.log_in("demo.koordinator")
    body = await demo.post(token, REPORTS)
    assert body["data"]["reports"] is None
    assert errors_by_path(body) == {("reports",): ("FORBIDDEN", "ROLE_REQUIRED")}


def test_usernames_are_unique_and_readable() -> None:
    assert len(set(USERNAMES)) == len(USERNAMES) == 7
    assert all(u.startswith("demo.") and u.isascii() for u in USERNAMES)
