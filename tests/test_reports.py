"""Aggregate reports, API keys for reporting tools, and administration (service units,
LOCAL_ADMIN), over real HTTP against real PostgreSQL.

- Reports: every count below 5 is null (4 versus 5, in planCounts, consentsExpiring and
  coordinatorCaseload); planCounts groups by TYPE, STATUS, SERVICE_UNIT and START_MONTH,
  alone and combined, within from/to; only REPORTER and SYSTEM_ADMIN (FORBIDDEN
  ROLE_REQUIRED for everyone else); no name, short name, e-mail or id of a person or plan
  anywhere in a report.
- API keys: a SYSTEM_ADMIN issues them (REPORTER only); the secret is shown once and not
  stored; a key reads `reports` over plain HTTP and nothing else; lastUsedAt; every use
  audited; revocation takes effect on the next request.
- Administration: service units by SYSTEM_ADMIN only; a LOCAL_ADMIN creates persons in
  their own unit and accounts only for persons of that unit.

Plans are made with createPlan by a COORDINATING_UNIT user and ended with endPlan by their
coordinator, so every report counts rows the API itself wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from tests.conftest import Gateway
from tests.plan_world import ok, quick_user, today_of
from tests.support import User, session_for

PLAN_COUNTS = """query($g: [PlanGroupBy!]!, $from: Date, $to: Date) { reports {
  planCounts(groupBy: $g, from: $from, to: $to) { type status serviceUnit startMonth count } } }"""
EVERY_REPORT = """query($days: Int!) { reports {
  byType: planCounts(groupBy: [TYPE]) { type status serviceUnit startMonth count }
  byAll: planCounts(groupBy: [TYPE, STATUS, SERVICE_UNIT, START_MONTH]) {
    type status serviceUnit startMonth count }
  consentsExpiring(withinDays: $days)
  coordinatorCaseload { plansPerCoordinator coordinators } } }"""
CONSENTS_EXPIRING = "query($d: Int!) { reports { consentsExpiring(withinDays: $d) } }"
CASELOAD = "{ reports { coordinatorCaseload { plansPerCoordinator coordinators } } }"
CREATE_PLAN = "mutation($in: CreatePlanInput!) { createPlan(input: $in) { id } }"
END_PLAN = """mutation($p: ID!, $on: Date!) {
  endPlan(id: $p, endDate: $on, reason: "Avsluttet") { id status } }"""
RECORD_CONSENT = """mutation($p: ID!, $in: ConsentInput!) {
  recordConsent(planId: $p, input: $in) { id } }"""
ADD_PARTICIPANT = """mutation($p: ID!, $who: ID!) {
  addParticipant(planId: $p, personId: $who, role: SERVICE_PROVIDER) { id } }"""
UPDATE_PARTICIPANT = """mutation($id: ID!, $on: Date) {
  updateParticipant(id: $id, consentExpiresOn: $on) { id } }"""
CREATE_UNIT = "mutation($n: String!) { createServiceUnit(name: $n) { id name } }"
CREATE_KEY = """mutation($n: String!, $r: [GlobalRole!]!) { createApiKey(name: $n, roles: $r) {
  id name roles secret createdAt lastUsedAt revokedAt } }"""
REVOKE_KEY = "mutation($id: ID!) { revokeApiKey(id: $id) }"
CASELOAD_LABELS = ["1-10", "11-20", "21-30", "31-50", "51+"]


# --- a small world for reports -------------------------------------------------------------


@dataclass
class Reporting:
    """People and plans made for a report test, remembering every name and id it used."""

    gateway: Gateway
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)  # names, short names, e-mails, ids
    n: int = 0

    async def user(self, key: str, *roles: str, **fields: Any) -> User:
        self.n += 1
        first, last = f"Fornavn{self.n}q{self.tag}", f"Etternavn{self.n}q{self.tag}"
        email = f"{key}.{self.tag}@example.no"
        user = await quick_user(
            self.gateway.pool,
            f"{key}-{self.tag}",
            first_name=first,
            last_name=last,
            roles=roles,
            now=self.gateway.clock(),
            email=email,
            **fields,
        )
        self.users[key] = user
        self.tokens[key] = await session_for(self.gateway.pool, user, self.gateway.clock())
        self.secrets += [first, last, email, str(user.person_id), f"{key}-{self.tag}"]
        return user

    async def post(
        self, key: str | None, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        token = self.tokens[key] if key else None
        return await self.gateway.client.post(query, variables or {}, token=token)

    async def unit(self, name: str) -> str:
        if "admin" not in self.tokens:
            await self.user("admin", "SYSTEM_ADMIN")
        made = ok(await self.post("admin", CREATE_UNIT, {"n": name}), "createServiceUnit")
        unit_id: str = made["createServiceUnit"]["id"]
        return unit_id

    async def plan(
        self,
        type_: str,
        start: dt.date,
        *,
        unit: str | None = None,
        coordinator: str | None = None,
    ) -> tuple[str, str]:
        """A plan with a new owner (and a new coordinator unless named): (plan id, its
        coordinator's key)."""
        if "unit" not in self.tokens:
            await self.user("unit", "COORDINATING_UNIT")
        self.n += 1
        owner = await self.user(f"owner{self.n}")
        if coordinator is None:
            coordinator = f"coord{self.n}"
            await self.user(coordinator)
        short_name = f"Kortnavn{self.n}q{self.tag}"
        made = ok(
            await self.post(
                "unit",
                CREATE_PLAN,
                {
                    "in": {
                        "ownerId": str(owner.person_id),
                        "coordinatorId": str(self.users[coordinator].person_id),
                        "shortName": short_name,
                        "type": type_,
                        "startDate": start.isoformat(),
                        "serviceUnitId": unit,
                    }
                },
            ),
            "createPlan",
        )
        plan_id: str = made["createPlan"]["id"]
        self.secrets += [short_name, plan_id]
        return plan_id, coordinator

    async def end(self, plan_id: str, coordinator: str) -> None:
        ended = ok(
            await self.post(
                coordinator, END_PLAN, {"p": plan_id, "on": today_of(self.gateway).isoformat()}
            ),
            "endPlan",
        )
        assert ended["endPlan"]["status"] == "ENDED"

    def assert_anonymous(self, body: dict[str, Any]) -> None:
        """No name, short name, e-mail, username or id of anyone or any plan made here."""
        text = json.dumps(body, ensure_ascii=False)
        assert self.secrets
        for secret in self.secrets:
            assert secret not in text, (secret, text)
        assert "Fornavn" not in text and "Etternavn" not in text and "Kortnavn" not in text


def counts(body: dict[str, Any], *keys: str) -> dict[Any, int | None]:
    """planCounts as {group key: count}; the keys not grouped by must be null."""
    assert "errors" not in body, body
    rows = body["data"]["reports"]["planCounts"]
    out: dict[Any, int | None] = {}
    for row in rows:
        for name in {"type", "status", "serviceUnit", "startMonth"} - set(keys):
            assert row[name] is None, row
        key = tuple(row[k] for k in keys)
        assert key not in out, rows
        out[key if len(keys) > 1 else key[0]] = row["count"]
    return out


def reason(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    ext = errors[0].get("extensions") or {}
    return ext.get("code"), ext.get("reason"), ext.get("field")


# --- planCounts -----------------------------------------------------------------------------


async def test_plan_counts_group_filter_and_suppress_below_five(gateway: Gateway) -> None:
    r = Reporting(gateway)
    north = await r.unit("Enhet Nord")
    south = await r.unit("Enhet Sør")
    jan, mar, may = dt.date(2026, 1, 15), dt.date(2026, 3, 10), dt.date(2026, 5, 20)
    for _ in range(4):
        await r.plan("IP", jan, unit=north)
    for _ in range(5):
        await r.plan("IOP", mar, unit=south)
    iup = [await r.plan("IUP", may) for _ in range(10)]
    for plan_id, coordinator in iup[:5]:
        await r.end(plan_id, coordinator)
    await r.user("reporter", "REPORTER")

    async def plan_counts(*group: str, **dates: str) -> dict[str, Any]:
        body = await r.post("reporter", PLAN_COUNTS, {"g": list(group), **dates})
        r.assert_anonymous(body)
        return body

    # Four IP plans: suppressed. IOP's five too: the ACTIVE plans from January to March
    # (nine) minus IOP's five would give the four (resolvers/suppression.py).
    assert counts(await plan_counts("TYPE"), "type") == {"IP": None, "IOP": None, "IUP": 10}
    assert counts(
        await plan_counts("STATUS", **{"from": "2026-01-01", "to": "2026-03-31"}), "status"
    ) == {"ACTIVE": 9}
    # A fifth IP plan: now every non-empty cell of the world holds five or more plans, so no
    # difference can be 1-4 and every count is shown; exactly 5 is not suppressed.
    await r.plan("IP", jan, unit=north)
    assert counts(await plan_counts("TYPE"), "type") == {"IP": 5, "IOP": 5, "IUP": 10}
    assert counts(await plan_counts("STATUS"), "status") == {"ACTIVE": 15, "ENDED": 5}
    by_unit = counts(await plan_counts("SERVICE_UNIT"), "serviceUnit")
    no_unit = [k for k in by_unit if k not in ("Enhet Nord", "Enhet Sør")]
    assert len(no_unit) == 1 and no_unit[0] in (None, ""), by_unit
    assert by_unit == {"Enhet Nord": 5, "Enhet Sør": 5, no_unit[0]: 10}
    assert counts(await plan_counts("START_MONTH"), "startMonth") == {
        "2026-01": 5,
        "2026-03": 5,
        "2026-05": 10,
    }
    assert counts(await plan_counts("TYPE", "STATUS"), "type", "status") == {
        ("IP", "ACTIVE"): 5,
        ("IOP", "ACTIVE"): 5,
        ("IUP", "ACTIVE"): 5,
        ("IUP", "ENDED"): 5,
    }
    assert counts(
        await plan_counts("SERVICE_UNIT", "START_MONTH", "STATUS"),
        "serviceUnit",
        "startMonth",
        "status",
    ) == {
        ("Enhet Nord", "2026-01", "ACTIVE"): 5,
        ("Enhet Sør", "2026-03", "ACTIVE"): 5,
        (no_unit[0], "2026-05", "ACTIVE"): 5,
        (no_unit[0], "2026-05", "ENDED"): 5,
    }
    # A group named twice is grouped once.
    assert counts(await plan_counts("TYPE", "TYPE"), "type") == {"IP": 5, "IOP": 5, "IUP": 10}

    # from/to filter on the start date by whole months, both ends included.
    assert counts(await plan_counts("TYPE", **{"from": "2026-02-01"}), "type") == {
        "IOP": 5,
        "IUP": 10,
    }
    assert counts(await plan_counts("TYPE", to="2026-04-30"), "type") == {"IP": 5, "IOP": 5}
    assert counts(
        await plan_counts("TYPE", **{"from": "2026-03-01", "to": "2026-03-31"}), "type"
    ) == {"IOP": 5}
    assert (
        counts(await plan_counts("TYPE", **{"from": "2026-04-01", "to": "2026-04-30"}), "type")
        == {}
    )
    assert counts(await plan_counts("STATUS", **{"from": "2026-05-01"}), "status") == {
        "ACTIVE": 5,
        "ENDED": 5,
    }

    for group, dates, fault in (
        ([], {}, "groupBy"),
        (["TYPE"], {"from": "2026-06-01", "to": "2026-05-31"}, "to"),
        # Whole months only: a day inside a month is refused (tests/test_reports_differencing.py).
        (["TYPE"], {"from": "2026-03-10"}, "from"),
        (["TYPE"], {"to": "2026-03-30"}, "to"),
    ):
        body = await r.post("reporter", PLAN_COUNTS, {"g": group, **dates})
        assert reason(body) == ("BAD_USER_INPUT", None, fault), body


# --- consentsExpiring -----------------------------------------------------------------------


async def test_consents_expiring_counts_participants_and_suppresses_four(
    gateway: Gateway,
) -> None:
    r = Reporting(gateway)
    today = today_of(gateway)
    plan_id, coordinator = await r.plan("IP", today - dt.timedelta(days=100))
    owner_id = next(u for k, u in r.users.items() if k.startswith("owner")).person_id
    ok(
        await r.post(
            coordinator,
            RECORD_CONSENT,
            {
                "p": plan_id,
                "in": {
                    "givenById": str(owner_id),
                    "givenByRelation": "SELF",
                    "givenOn": (today - dt.timedelta(days=30)).isoformat(),
                    "expiresOn": (today + dt.timedelta(days=30)).isoformat(),
                    "defaultGrant": {"goals": "READ"},
                },
            },
        ),
        "recordConsent",
    )
    await r.user("reporter", "REPORTER")

    async def expiring(days: int) -> int | None:
        body = await r.post("reporter", CONSENTS_EXPIRING, {"d": days})
        assert "errors" not in body, body
        r.assert_anonymous(body)
        value: int | None = body["data"]["reports"]["consentsExpiring"]
        return value

    participants = []
    for n in range(5):
        person = await r.user(f"deltaker{n}")
        added = ok(
            await r.post(
                coordinator, ADD_PARTICIPANT, {"p": plan_id, "who": str(person.person_id)}
            ),
            "addParticipant",
        )
        participants.append(added["addParticipant"]["id"])
        if n == 3:
            # Four participants (owner and coordinator are not counted): suppressed.
            assert await expiring(30) is None
    assert await expiring(30) == 5  # the last day counts
    assert await expiring(14) is None  # 0
    assert await expiring(365) == 5

    # A participant's own, earlier consent date counts instead of the plan's.
    earlier = (today + dt.timedelta(days=14)).isoformat()
    for participant in participants:
        ok(
            await r.post(coordinator, UPDATE_PARTICIPANT, {"id": participant, "on": earlier}),
            "updateParticipant",
        )
    assert await expiring(14) == 5
    assert await expiring(7) is None  # 0
    # A later own date would outlast the consent: refused, nothing counted differently.
    later = (today + dt.timedelta(days=100)).isoformat()
    refused = await r.post(coordinator, UPDATE_PARTICIPANT, {"id": participants[0], "on": later})
    assert reason(refused) == ("BAD_USER_INPUT", None, "consentExpiresOn"), refused
    assert await expiring(14) == 5

    # Only the fixed windows (7, 14, 30, 60, 90, 180, 365 days) may be asked for.
    for days in (-1, 0, 10, 29, 3650):
        body = await r.post("reporter", CONSENTS_EXPIRING, {"d": days})
        assert reason(body) == ("BAD_USER_INPUT", None, "withinDays"), body


# --- coordinatorCaseload --------------------------------------------------------------------


async def test_coordinator_caseload_buckets(gateway: Gateway) -> None:
    r = Reporting(gateway)
    start = today_of(gateway) - dt.timedelta(days=10)
    singles = [await r.plan("IP", start) for _ in range(5)]
    busy = "busy"
    await r.user(busy)
    for _ in range(11):
        await r.plan("IOP", start, coordinator=busy)
    await r.user("reporter", "REPORTER")

    async def caseload() -> dict[str, int | None]:
        body = await r.post("reporter", CASELOAD)
        assert "errors" not in body, body
        r.assert_anonymous(body)
        buckets = body["data"]["reports"]["coordinatorCaseload"]
        assert [b["plansPerCoordinator"] for b in buckets] == CASELOAD_LABELS
        return {b["plansPerCoordinator"]: b["coordinators"] for b in buckets}

    # Five coordinators with one plan each; the one with 11 plans is in 11-20 (alone: null).
    assert await caseload() == dict.fromkeys(CASELOAD_LABELS) | {"1-10": 5}
    # An ended plan is no caseload: four coordinators left in 1-10.
    await r.end(*singles[0])
    assert await caseload() == dict.fromkeys(CASELOAD_LABELS)


# --- who may read reports -------------------------------------------------------------------


async def test_only_reporters_and_system_admins_get_reports(gateway: Gateway) -> None:
    r = Reporting(gateway)
    start = today_of(gateway) - dt.timedelta(days=10)
    for _ in range(5):
        _plan_id, coordinator = await r.plan("IP", start)
    await r.user("reporter", "REPORTER")
    await r.user("sysadmin", "SYSTEM_ADMIN")
    await r.user("plain")
    await r.user("local", "LOCAL_ADMIN")
    await r.user("unit2", "COORDINATING_UNIT")
    variables = {"days": 30}

    answers = []
    for key in ("reporter", "sysadmin"):
        body = await r.post(key, EVERY_REPORT, variables)
        assert "errors" not in body, (key, body)
        r.assert_anonymous(body)
        assert body["data"]["reports"]["byType"] == [
            {"type": "IP", "status": None, "serviceUnit": None, "startMonth": None, "count": 5}
        ]
        answers.append(body)
    assert answers[0] == answers[1]

    for key in ("plain", "local", "unit2", coordinator):
        body = await r.post(key, EVERY_REPORT, variables)
        assert body["data"] == {"reports": None}, (key, body)
        assert reason(body) == ("FORBIDDEN", "ROLE_REQUIRED", None), (key, body)
    body = await r.post(None, EVERY_REPORT, variables)
    assert body["data"] == {"reports": None}, body
    assert reason(body)[0] == "UNAUTHENTICATED", body


# --- API keys for reporting tools ----------------------------------------------------------


async def audit_rows(pool: asyncpg.Pool, action: str, target: str) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return list(
            await conn.fetch(
                "SELECT at, actor_id, action, target, client_addr, detail FROM audit_log"
                " WHERE action = $1 AND target = $2 ORDER BY id",
                action,
                target,
            )
        )


async def test_a_reporting_tool_reads_reports_with_an_api_key_and_nothing_else(
    gateway: Gateway,
) -> None:
    r = Reporting(gateway)
    start = today_of(gateway) - dt.timedelta(days=10)
    for _ in range(5):
        plan_id, _coordinator = await r.plan("IUP", start)
    await r.user("sysadmin", "SYSTEM_ADMIN")

    created_at = gateway.clock()
    key = ok(
        await r.post("sysadmin", CREATE_KEY, {"n": "Statistikkverktøy", "r": ["REPORTER"]}),
        "createApiKey",
    )["createApiKey"]
    secret = key["secret"]
    assert isinstance(secret, str) and secret.startswith("pgk_") and len(secret) > 30
    assert key["name"] == "Statistikkverktøy" and key["roles"] == ["REPORTER"]
    assert dt.datetime.fromisoformat(key["createdAt"]) == created_at
    assert key["lastUsedAt"] is None and key["revokedAt"] is None
    other = ok(
        await r.post("sysadmin", CREATE_KEY, {"n": "Annet verktøy", "r": ["REPORTER"]}),
        "createApiKey",
    )["createApiKey"]
    assert other["secret"] != secret and other["id"] != key["id"]

    # The secret is stored only as a hash: nowhere in the database's key or audit rows.
    async with gateway.pool.acquire() as conn:
        for table in ("api_keys", "audit_log", "access_log"):
            hits = await conn.fetchval(
                f"SELECT count(*) FROM {table} t WHERE strpos(t::text, $1) > 0"
                f" OR strpos(t::text, encode(convert_to($1, 'UTF8'), 'hex')) > 0",
                secret,
            )
            assert hits == 0, table
        assert await conn.fetchval("SELECT count(*) FROM api_keys") == 2

    async def tool(
        query: str, variables: dict[str, Any] | None = None, token: str = secret
    ) -> dict[str, Any]:
        """A reporting tool: plain HTTP, no session, only the key."""
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    uses = 0
    gateway.clock.advance(minutes=9)
    used_at = gateway.clock()
    body = await tool(EVERY_REPORT, {"days": 30})
    uses += 1
    assert "errors" not in body, body
    r.assert_anonymous(body)
    assert body["data"]["reports"]["byType"][0]["count"] == 5
    async with gateway.pool.acquire() as conn:
        last_used = await conn.fetchval(
            "SELECT last_used_at FROM api_keys WHERE id = $1", uuid.UUID(key["id"])
        )
    assert last_used == used_at

    # Everything but reports is FORBIDDEN, and nothing is written.
    refused: list[tuple[str, dict[str, Any]]] = [
        ("{ me { id } }", {}),
        ("{ plans { totalCount } }", {}),
        ("query($p: ID!) { plan(id: $p) { id } }", {"p": plan_id}),
        ("{ myAccessLog { edges { what } } }", {}),
        ("{ serviceUnits { id } }", {}),
        ("{ reports { consentsExpiring(withinDays: 30) } me { id } }", {}),
        ("{ ...F } fragment F on Query { me { id } }", {}),
        ("{ __schema { queryType { name } } }", {}),
        (
            "mutation($in: CreatePlanInput!) { createPlan(input: $in) { id } }",
            {
                "in": {
                    "ownerId": str(r.users["sysadmin"].person_id),
                    "coordinatorId": str(r.users["sysadmin"].person_id),
                    "shortName": "Fra verktøyet",
                    "type": "IP",
                    "startDate": "2026-11-01",
                }
            },
        ),
        (CREATE_KEY, {"n": "Ny nøkkel", "r": ["REPORTER"]}),
        (REVOKE_KEY, {"id": other["id"]}),
    ]
    async with gateway.pool.acquire() as conn:
        plans_before = await conn.fetchval("SELECT count(*) FROM plans")
    for query, variables in refused:
        body = await tool(query, variables)
        uses += 1
        assert body.get("data") is None, (query, body)
        assert reason(body)[:2] == ("FORBIDDEN", "ROLE_REQUIRED"), (query, body)
    async with gateway.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM plans") == plans_before
        assert await conn.fetchval("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL") == 2
    # Files need a person's session: a key is no session there.
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        printed = await http.get(
            f"/plans/{plan_id}/print.pdf", headers={"Authorization": f"Bearer {secret}"}
        )
    assert printed.status_code == 401

    # Every use is in the audit log, with the client address; report reads name the key.
    used = await audit_rows(gateway.pool, "apikey.used", key["id"])
    assert len(used) == uses, used
    assert all(row["client_addr"] == "127.0.0.1" and row["actor_id"] is None for row in used)
    # EVERY_REPORT reads planCounts twice (two aliases): each read is audited.
    assert len(await audit_rows(gateway.pool, "report.planCounts", f"apikey:{key['id']}")) == 2

    # A wrong secret is no key; revoking takes effect on the very next request.
    body = await tool(CONSENTS_EXPIRING, {"d": 30}, token=secret + "x")
    assert reason(body)[0] == "UNAUTHENTICATED", body
    forbidden = await r.post(None, REVOKE_KEY, {"id": key["id"]})
    assert reason(forbidden)[0] == "UNAUTHENTICATED", forbidden
    await r.user("reporter", "REPORTER")
    forbidden = await r.post("reporter", REVOKE_KEY, {"id": key["id"]})
    assert reason(forbidden)[:2] == ("FORBIDDEN", "ROLE_REQUIRED"), forbidden
    body = await tool(CONSENTS_EXPIRING, {"d": 30})
    uses += 1
    assert "errors" not in body, body

    assert ok(await r.post("sysadmin", REVOKE_KEY, {"id": key["id"]}), "revoke") == {
        "revokeApiKey": True
    }
    body = await tool(CONSENTS_EXPIRING, {"d": 30})
    assert body["data"] == {"reports": None} and reason(body)[0] == "UNAUTHENTICATED", body
    assert len(await audit_rows(gateway.pool, "apikey.used", key["id"])) == uses
    assert len(await audit_rows(gateway.pool, "apikey.revoked", key["id"])) == 1
    # The other key still works; an unknown key id is NOT_FOUND.
    body = await tool(CONSENTS_EXPIRING, {"d": 30}, token=other["secret"])
    assert "errors" not in body, body
    body = await r.post("sysadmin", REVOKE_KEY, {"id": str(uuid.uuid4())})
    assert reason(body)[0] == "NOT_FOUND", body


async def test_only_system_admins_create_keys_and_only_for_reporting(gateway: Gateway) -> None:
    r = Reporting(gateway)
    await r.user("sysadmin", "SYSTEM_ADMIN")
    for key, roles in (
        ("reporter", ("REPORTER",)),
        ("local", ("LOCAL_ADMIN",)),
        ("unit", ("COORDINATING_UNIT",)),
        ("plain", ()),
    ):
        await r.user(key, *roles)
        body = await r.post(key, CREATE_KEY, {"n": "Verktøy", "r": ["REPORTER"]})
        assert body["data"] is None, (key, body)
        assert reason(body)[:2] == ("FORBIDDEN", "ROLE_REQUIRED"), (key, body)
    body = await r.post(None, CREATE_KEY, {"n": "Verktøy", "r": ["REPORTER"]})
    assert reason(body)[0] == "UNAUTHENTICATED", body

    for wrong in (
        ["SYSTEM_ADMIN"],
        ["REPORTER", "SYSTEM_ADMIN"],
        ["LOCAL_ADMIN"],
        ["COORDINATING_UNIT"],
        [],
    ):
        body = await r.post("sysadmin", CREATE_KEY, {"n": "Verktøy", "r": wrong})
        assert reason(body) == ("BAD_USER_INPUT", None, "roles"), (wrong, body)
    body = await r.post("sysadmin", CREATE_KEY, {"n": "  ", "r": ["REPORTER"]})
    assert reason(body) == ("BAD_USER_INPUT", None, "name"), body
    async with gateway.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM api_keys") == 0


# --- administration: service units and LOCAL_ADMIN -----------------------------------------


async def test_service_units_are_created_by_system_admins_only(gateway: Gateway) -> None:
    r = Reporting(gateway)
    await r.user("sysadmin", "SYSTEM_ADMIN")
    for key, roles in (
        ("local", ("LOCAL_ADMIN",)),
        ("unit", ("COORDINATING_UNIT",)),
        ("reporter", ("REPORTER",)),
        ("plain", ()),
    ):
        await r.user(key, *roles)
        body = await r.post(key, CREATE_UNIT, {"n": "Enhet Vest"})
        assert body["data"] is None, (key, body)
        assert reason(body)[:2] == ("FORBIDDEN", "ROLE_REQUIRED"), (key, body)
    made = ok(await r.post("sysadmin", CREATE_UNIT, {"n": "Enhet Vest"}), "createServiceUnit")
    assert made["createServiceUnit"]["name"] == "Enhet Vest"
    body = await r.post("sysadmin", CREATE_UNIT, {"n": "enhet vest"})
    assert reason(body) == ("BAD_USER_INPUT", None, "name"), body
    listed = ok(await r.post("plain", "{ serviceUnits { id name } }"), "serviceUnits")
    assert listed["serviceUnits"] == [made["createServiceUnit"]]
    assert (
        len(await audit_rows(gateway.pool, "service_unit.created", made["createServiceUnit"]["id"]))
        == 1
    )


CREATE_PERSON = """mutation($in: PersonInput!) { createPerson(input: $in) { id firstName } }"""
CREATE_ACCOUNT = """mutation($p: ID!, $u: String!) {
  createAccount(personId: $p, username: $u, otpChannel: EMAIL) }"""


async def unit_of(pool: asyncpg.Pool, person_id: str) -> uuid.UUID | None:
    async with pool.acquire() as conn:
        unit: uuid.UUID | None = await conn.fetchval(
            "SELECT service_unit_id FROM persons WHERE id = $1", uuid.UUID(person_id)
        )
        return unit


async def test_a_local_admin_manages_persons_and_accounts_of_their_own_unit(
    gateway: Gateway,
) -> None:
    r = Reporting(gateway)
    east = await r.unit("Enhet Øst")
    west = await r.unit("Enhet Vest")
    await r.user("local", "LOCAL_ADMIN", service_unit_id=uuid.UUID(east))
    await r.user("homeless", "LOCAL_ADMIN")  # a LOCAL_ADMIN without a unit

    def person(n: int) -> dict[str, Any]:
        return {
            "firstName": f"Ny{n}",
            "lastName": f"Person{r.tag}",
            "email": f"ny{n}.{r.tag}@example.no",
        }

    # Persons: in the admin's own unit, whether or not the unit is named.
    mine = ok(await r.post("local", CREATE_PERSON, {"in": person(1)}), "createPerson")
    mine_id = mine["createPerson"]["id"]
    assert await unit_of(gateway.pool, mine_id) == uuid.UUID(east)
    named = ok(
        await r.post("local", CREATE_PERSON, {"in": {**person(2), "serviceUnitId": east}}),
        "createPerson",
    )["createPerson"]["id"]
    assert await unit_of(gateway.pool, named) == uuid.UUID(east)
    async with gateway.pool.acquire() as conn:
        persons_before = await conn.fetchval("SELECT count(*) FROM persons")
    body = await r.post("local", CREATE_PERSON, {"in": {**person(3), "serviceUnitId": west}})
    assert reason(body)[:2] == ("FORBIDDEN", "ROLE_REQUIRED"), body
    body = await r.post("homeless", CREATE_PERSON, {"in": person(4)})
    assert reason(body)[:2] == ("FORBIDDEN", "ROLE_REQUIRED"), body
    async with gateway.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM persons") == persons_before

    # Accounts: for persons of the admin's unit only.
    theirs = ok(
        await r.post("admin", CREATE_PERSON, {"in": {**person(5), "serviceUnitId": west}}),
        "createPerson",
    )["createPerson"]["id"]
    nobody = ok(await r.post("admin", CREATE_PERSON, {"in": person(6)}), "createPerson")[
        "createPerson"
    ]["id"]
    assert await unit_of(gateway.pool, theirs) == uuid.UUID(west)
    assert await unit_of(gateway.pool, nobody) is None
    for person_id in (theirs, nobody):
        body = await r.post(
            "local", CREATE_ACCOUNT, {"p": person_id, "u": f"x{uuid.uuid4().hex[:8]}"}
        )
        assert body["data"] is None, body
        assert reason(body)[:2] == ("FORBIDDEN", "ROLE_REQUIRED"), body
    body = await r.post("homeless", CREATE_ACCOUNT, {"p": mine_id, "u": f"h{r.tag}"})
    assert reason(body)[:2] == ("FORBIDDEN", "ROLE_REQUIRED"), body
    async with gateway.pool.acquire() as conn:
        accounts_for = await conn.fetchval(
            "SELECT count(*) FROM accounts WHERE person_id = ANY($1::uuid[])",
            [uuid.UUID(p) for p in (theirs, nobody, mine_id)],
        )
    assert accounts_for == 0
    made = ok(
        await r.post("local", CREATE_ACCOUNT, {"p": mine_id, "u": f"ny1-{r.tag}"}), "createAccount"
    )
    assert made == {"createAccount": True}
    async with gateway.pool.acquire() as conn:
        account = await conn.fetchrow(
            "SELECT username FROM accounts WHERE person_id = $1", uuid.UUID(mine_id)
        )
        invitation = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE recipient = $1", f"ny1.{r.tag}@example.no"
        )
    assert account is not None and account["username"] == f"ny1-{r.tag}"
    assert invitation == 1
    # The system administrator is bound to no unit.
    made = ok(
        await r.post("admin", CREATE_ACCOUNT, {"p": theirs, "u": f"ny5-{r.tag}"}), "createAccount"
    )
    assert made == {"createAccount": True}
