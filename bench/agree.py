"""Do the measuring sticks give the gateway's answer? Row equality of Q1 and Q2 between the
gateway (the reference), the floor (bench/floor.py) and, with --peer, PostGraphile.

    python -m bench.agree [--viewers 30] [--seed 7] [--peer] [--as-seeded] [--database-url …]

On a database seeded by bench.seed it picks viewers of every kind from the data
(coordinators, owners, relatives, service providers, participants of revoked-consent and of
ended plans), gives the picked ones what the seed never makes (a relative's narrowed rights,
a provider's own expired consent, a revoked plan consent, private and public contact fields,
visits and read marks; all put back at the end, --as-seeded skips them), makes sessions for
them (removed at the end), starts the servers as bench.load does, asks each system Q1 (the
viewer's plan list) and Q2 (one plan in full), and compares the answers row by row. Exit 1
on any mismatch. See bench/README.md, "Do the measuring sticks give the gateway's answer?".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.load import Q1, Q2, free_port, start, stop, wait_ready

# --- what is asked -------------------------------------------------------------------------

# PostGraphile v4 over pgl_setup.sql: the same columns through its computed columns.
PEER_Q1 = """{ viewerPlansList(first: 50) { id shortName type status startDate endDate
  lastArchivedAt changedSinceMyLastVisit hasUnreadMessages consentExpiresOn
  ownerVisible { firstName lastName birthDate } coordinatorVisible { firstName lastName } } }"""
PEER_Q2 = """query($id: UUID!) { planById(id: $id) { id shortName
  participantsByPlanIdList { personId role responsibility visibleMobile
    personByPersonId { firstName lastName } }
  goalsByPlanIdList(condition: {parentId: null}, orderBy: [CREATED_AT_ASC, ID_ASC]) { title
    activitiesByGoalIdList(orderBy: [CREATED_AT_ASC, ID_ASC]) { title } }
  messagesByPlanIdList(orderBy: [CREATED_AT_DESC, SEQ_DESC], first: 20) { body createdAt
    participantByAuthorId { personByPersonId { firstName } } } } }"""

Q1_FIELDS = (
    "position",
    "shortName",
    "type",
    "status",
    "startDate",
    "endDate",
    "lastArchivedAt",
    "changedSinceMyLastVisit",
    "hasUnreadMessages",
    "consentExpiresOn",
    "ownerFirstName",
    "ownerLastName",
    "ownerBirthDate",
    "coordinatorFirstName",
    "coordinatorLastName",
)
SECTIONS = ("participants", "goals", "messages")

# Where a system answers differently by design: what is compared instead (printed with the
# figures, and in bench/README.md).
NOTES = {
    "floor": [
        "Q1: no totalCount (the floor sends the rows only); the rows are compared.",
        "Q2: the floor does not order the plan group; participants are compared as a set.",
        "Q2: a refused section is a missing key at the floor and null (FORBIDDEN) at the"
        " gateway; both count as refused.",
    ],
    "postgraphile": [
        "Q1: viewerPlansList has no totalCount either; the rows are compared.",
        "Q2: row-level security cannot refuse a section, it filters rows: a section the"
        " gateway refuses (null) is compared as empty, and the viewer's own row, which RLS"
        " leaves in a refused plan group, is not counted.",
        "Q2: a goal's refused activities (null at the gateway) are compared as none.",
        "Q2: participants are compared as a set (PostGraphile orders by primary key).",
    ],
}

COORDINATOR = "coordinator"
OWNER = "owner"
RELATIVE = "relative, few rights"
PROVIDER = "provider, expired consent"
REVOKED = "participant, revoked consent"
ENDED = "participant, ended plan"
KINDS = (COORDINATOR, OWNER, RELATIVE, PROVIDER, REVOKED, ENDED)
SEEDED_NAMES = {
    RELATIVE: "relative",
    PROVIDER: "provider",
    REVOKED: "participant, active plan",
}
# A relative's narrowed rights, in turn: goals alone (no activities, no plan group, no
# messages); the plan group and messages to read, no goals; messages alone (their authors
# are named with them, the plan group is not shown).
FEW_RIGHTS = (
    {"participants": "NONE", "activities": "NONE", "messages": "NONE", "calendar": "NONE"},
    {"goals": "NONE", "activities": "NONE", "messages": "READ", "documents": "NONE"},
    {"participants": "NONE", "goals": "NONE", "activities": "NONE"},
)
MAX_Q2_PER_VIEWER = 5


# --- viewers and the changes made for them -------------------------------------------------


@dataclass
class Viewer:
    person_id: uuid.UUID
    kind: str
    plans: list[uuid.UUID] = field(default_factory=list)  # Q2 is asked for each
    token: str = ""

    def label(self) -> str:
        return f"{self.kind} {str(self.person_id)[:8]}"


@dataclass
class Changes:
    """What this run changed in the database, to put back at the end."""

    participants: dict[uuid.UUID, tuple[str, dt.date | None]] = field(default_factory=dict)
    consents: dict[uuid.UUID, dt.date | None] = field(default_factory=dict)
    visibility: dict[tuple[uuid.UUID, str], str | None] = field(default_factory=dict)
    visits: dict[tuple[uuid.UUID, uuid.UUID], dt.datetime | None] = field(default_factory=dict)
    reads: dict[tuple[uuid.UUID, uuid.UUID], dt.datetime | None] = field(default_factory=dict)
    accounts: list[uuid.UUID] = field(default_factory=list)
    sessions: list[bytes] = field(default_factory=list)
    made: Counter[str] = field(default_factory=Counter)  # what was varied, for the output

    async def set_rights(self, conn: asyncpg.Connection, part: uuid.UUID, rights: Any) -> None:
        await self._participant(conn, part)
        await conn.execute(
            "UPDATE participants SET rights = $2::jsonb WHERE id = $1", part, json.dumps(rights)
        )

    async def set_own_expiry(self, conn: asyncpg.Connection, part: uuid.UUID, on: dt.date) -> None:
        await self._participant(conn, part)
        await conn.execute(
            "UPDATE participants SET consent_expires_on = $2 WHERE id = $1", part, on
        )

    async def _participant(self, conn: asyncpg.Connection, part: uuid.UUID) -> None:
        if part not in self.participants:
            row = await conn.fetchrow(
                "SELECT rights::text AS rights, consent_expires_on FROM participants WHERE id = $1",
                part,
            )
            assert row is not None
            self.participants[part] = (row["rights"], row["consent_expires_on"])

    async def revoke(self, conn: asyncpg.Connection, plan: uuid.UUID, on: dt.date) -> bool:
        row = await conn.fetchrow(
            "SELECT c.id, c.revoked_on FROM plans p JOIN consents c ON c.id = p.consent_id"
            " WHERE p.id = $1",
            plan,
        )
        if row is None:
            return False
        self.consents.setdefault(row["id"], row["revoked_on"])
        await conn.execute("UPDATE consents SET revoked_on = $2 WHERE id = $1", row["id"], on)
        return True

    async def set_visibility(
        self, conn: asyncpg.Connection, person: uuid.UUID, what: str, visibility: str
    ) -> None:
        if (person, what) not in self.visibility:
            self.visibility[(person, what)] = await conn.fetchval(
                "SELECT visibility FROM person_field_visibility"
                " WHERE person_id = $1 AND field = $2",
                person,
                what,
            )
        await conn.execute(
            "INSERT INTO person_field_visibility (person_id, field, visibility) VALUES ($1, $2, $3)"
            " ON CONFLICT (person_id, field) DO UPDATE SET visibility = excluded.visibility",
            person,
            what,
            visibility,
        )

    async def mark(
        self, conn: asyncpg.Connection, table: str, plan: uuid.UUID, person: uuid.UUID
    ) -> None:
        """A visit (plan_visits) or a read mark (message_reads) as of now."""
        column = "visited_at" if table == "plan_visits" else "read_until"
        store = self.visits if table == "plan_visits" else self.reads
        if (plan, person) not in store:
            store[(plan, person)] = await conn.fetchval(
                f"SELECT {column} FROM {table} WHERE plan_id = $1 AND person_id = $2", plan, person
            )
        await conn.execute(
            f"INSERT INTO {table} (plan_id, person_id, {column}) VALUES ($1, $2, now())"
            f" ON CONFLICT (plan_id, person_id) DO UPDATE SET {column} = excluded.{column}",
            plan,
            person,
        )

    async def session(self, conn: asyncpg.Connection, person: uuid.UUID) -> str:
        """A session of the person's account (an account made for the run if there is none)."""
        account = await conn.fetchval("SELECT id FROM accounts WHERE person_id = $1", person)
        if account is None:
            account = uuid.uuid4()
            await conn.execute(
                "INSERT INTO accounts (id, person_id, username, otp_channel, created_at)"
                " VALUES ($1, $2, $3, 'EMAIL', now())",
                account,
                person,
                f"agree-{person.hex[:12]}",
            )
            self.accounts.append(account)
        token = secrets.token_urlsafe(32)
        digest = hashlib.sha256(token.encode()).digest()
        await conn.execute(
            "INSERT INTO sessions (account_id, token_hash, created_at, last_seen_at, expires_at)"
            " VALUES ($1, $2, now(), now(), now() + interval '12 hours')",
            account,
            digest,
        )
        self.sessions.append(digest)
        return token

    async def undo(self, conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            await conn.execute("DELETE FROM sessions WHERE token_hash = ANY($1)", self.sessions)
            await conn.execute("DELETE FROM accounts WHERE id = ANY($1)", self.accounts)
            for part, (rights, expiry) in self.participants.items():
                await conn.execute(
                    "UPDATE participants SET rights = $2::jsonb, consent_expires_on = $3"
                    " WHERE id = $1",
                    part,
                    rights,
                    expiry,
                )
            for consent, revoked in self.consents.items():
                await conn.execute(
                    "UPDATE consents SET revoked_on = $2 WHERE id = $1", consent, revoked
                )
            for (person, what), visibility in self.visibility.items():
                if visibility is None:
                    await conn.execute(
                        "DELETE FROM person_field_visibility WHERE person_id = $1 AND field = $2",
                        person,
                        what,
                    )
                else:
                    await conn.execute(
                        "UPDATE person_field_visibility SET visibility = $3"
                        " WHERE person_id = $1 AND field = $2",
                        person,
                        what,
                        visibility,
                    )
            for table, column, store in (
                ("plan_visits", "visited_at", self.visits),
                ("message_reads", "read_until", self.reads),
            ):
                for (plan, person), old in store.items():
                    if old is None:
                        await conn.execute(
                            f"DELETE FROM {table} WHERE plan_id = $1 AND person_id = $2",
                            plan,
                            person,
                        )
                    else:
                        await conn.execute(
                            f"UPDATE {table} SET {column} = $3"
                            " WHERE plan_id = $1 AND person_id = $2",
                            plan,
                            person,
                            old,
                        )


MEMBERS = """
SELECT pa.id, pa.person_id, pa.role, pa.plan_id, p.status, c.given_on,
       co.person_id AS coordinator
FROM participants pa JOIN plans p ON p.id = pa.plan_id
LEFT JOIN consents c ON c.id = p.consent_id
LEFT JOIN participants co ON co.plan_id = p.id AND co.role = 'COORDINATOR' AND co.left_on IS NULL
WHERE pa.left_on IS NULL
ORDER BY pa.plan_id, pa.id
"""


async def pick_viewers(
    conn: asyncpg.Connection, count: int, rng: random.Random, *, vary: bool, changes: Changes
) -> list[Viewer]:
    """``count`` viewers, the kinds in turn, each with the plans Q2 is asked for; with
    ``vary`` the changes that make each kind what it is are made (and recorded)."""
    today: dt.date = await conn.fetchval("SELECT current_date")
    yesterday = today - dt.timedelta(days=1)  # a day's margin: the gateway's date is Oslo's
    members = [dict(r) for r in await conn.fetch(MEMBERS)]
    if not members:
        raise SystemExit("bench.agree needs a seeded database (python -m bench.seed)")
    wanted = Counter(KINDS[i % len(KINDS)] for i in range(count))
    by_plan: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for m in members:
        by_plan.setdefault(m["plan_id"], []).append(m)
    coordinator_of = {plan: rows[0]["coordinator"] for plan, rows in by_plan.items()}
    status_of = {plan: rows[0]["status"] for plan, rows in by_plan.items()}
    coordinators = sorted({m["person_id"] for m in members if m["role"] == "COORDINATOR"})
    chosen = rng.sample(coordinators, min(wanted[COORDINATOR], len(coordinators)))
    home = {plan for plan, c in coordinator_of.items() if c in chosen}
    used_persons: set[uuid.UUID] = set(chosen)
    used_plans: set[uuid.UUID] = set()
    viewers = [Viewer(p, COORDINATOR) for p in chosen]
    led = {v.person_id: v for v in viewers}
    for coordinator in viewers:
        # Q2 for a coordinator: one of their ended plans, then the plans of the other viewers
        # they coordinate (below)
        ended = sorted(
            p
            for p in home
            if coordinator_of[p] == coordinator.person_id and status_of[p] == "ENDED"
        )
        if ended:
            coordinator.plans.append(rng.choice(ended))

    def take(kind: str, fit: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Members fit for ``kind``, distinct persons and plans, from the chosen
        coordinators' plans first."""
        near = [m for m in members if fit(m) and m["plan_id"] in home]
        far = [m for m in members if fit(m) and m["plan_id"] not in home]
        rng.shuffle(near)
        rng.shuffle(far)
        out: list[dict[str, Any]] = []
        for m in near + far:
            if len(out) == wanted[kind]:
                break
            if m["person_id"] in used_persons or m["plan_id"] in used_plans:
                continue
            used_persons.add(m["person_id"])
            used_plans.add(m["plan_id"])
            out.append(m)
        return out

    leads = ("OWNER", "COORDINATOR")
    a_month_ago = today - dt.timedelta(days=30)
    fits: dict[str, Callable[[dict[str, Any]], bool]] = {
        # the plan of each of these loses its consent (and its coordinator is asked for it)
        REVOKED: lambda m: (
            m["status"] == "ACTIVE" and m["role"] not in leads and m["given_on"] is not None
        ),
        OWNER: lambda m: m["status"] == "ACTIVE" and m["role"] == "OWNER",
        RELATIVE: lambda m: m["status"] == "ACTIVE" and m["role"] in ("RELATIVE", "GUARDIAN"),
        # given a month ago at least, so an own expiry two weeks ago is a valid one
        PROVIDER: lambda m: (
            m["status"] == "ACTIVE"
            and m["role"] == "SERVICE_PROVIDER"
            and m["given_on"] is not None
            and m["given_on"] <= a_month_ago
        ),
        ENDED: lambda m: m["status"] == "ENDED" and m["role"] not in leads,
    }
    picked = {kind: take(kind, fit) for kind, fit in fits.items()}
    for kind, found in picked.items():
        for i, m in enumerate(found):
            viewer = Viewer(m["person_id"], kind if vary else SEEDED_NAMES.get(kind, kind))
            viewer.plans.append(m["plan_id"])
            viewers.append(viewer)
            theirs = led.get(m["coordinator"])
            if theirs is not None and len(theirs.plans) < MAX_Q2_PER_VIEWER:
                theirs.plans.append(m["plan_id"])
            if not vary:
                continue
            if kind == REVOKED and await changes.revoke(conn, m["plan_id"], yesterday):
                changes.made["plan consent revoked (yesterday)"] += 1
            elif kind == RELATIVE:
                await changes.set_rights(conn, m["id"], FEW_RIGHTS[i % len(FEW_RIGHTS)])
                changes.made["relative's rights narrowed"] += 1
            elif kind == PROVIDER:
                await changes.set_own_expiry(conn, m["id"], today - dt.timedelta(days=14))
                changes.made["provider's own consent expired (14 days ago)"] += 1
            elif kind == OWNER:
                shown = "PRIVATE" if i % 2 == 0 else "ALL"
                await changes.set_visibility(conn, m["person_id"], "BIRTH_DATE", shown)
                await changes.set_visibility(conn, m["person_id"], "MOBILE", shown)
                await changes.mark(conn, "message_reads", m["plan_id"], m["person_id"])
                changes.made[f"owner's birth date and mobile {shown}, messages read"] += 1
    for coordinator in viewers[: len(chosen)]:
        mine = sorted(p for p in home if coordinator_of[p] == coordinator.person_id)
        if len(coordinator.plans) < 2:
            coordinator.plans += [p for p in mine if p not in coordinator.plans][:1]
        if not vary:
            continue
        ended = [p for p in coordinator.plans if status_of[p] == "ENDED"]
        if ended:
            other = next(m for m in by_plan[ended[0]] if m["role"] != "COORDINATOR")
            await changes.set_visibility(conn, other["person_id"], "MOBILE", "ALL")
            changes.made["someone in a coordinator's ended plan: mobile ALL"] += 1
        for i, plan in enumerate([p for p in mine if status_of[p] == "ACTIVE"][:6]):
            table = "plan_visits" if i % 2 == 0 else "message_reads"
            await changes.mark(conn, table, plan, coordinator.person_id)
            changes.made[f"coordinator's {'visit' if i % 2 == 0 else 'read mark'} (now)"] += 1
    for viewer in viewers:
        viewer.token = await changes.session(conn, viewer.person_id)
    return viewers


# --- the answers, as comparable rows -------------------------------------------------------

Row = dict[str, Any]


@dataclass
class Q2Answer:
    found: bool
    header: Row | None = None
    sections: dict[str, list[Row] | None] = field(default_factory=dict)


def _time(value: str | None) -> str | None:
    if value is None:
        return None
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC).isoformat()


def _get(obj: Any, *path: str) -> Any:
    for step in path:
        if obj is None:
            return None
        obj = obj.get(step)
    return obj


def gateway_q1(body: dict[str, Any]) -> list[Row]:
    edges = _get(body, "data", "plans", "edges") or []
    rows = []
    for i, edge in enumerate(edges):
        n = edge["node"]
        rows.append(
            {
                "id": n["id"],
                "position": i,
                "shortName": n["shortName"],
                "type": n["type"],
                "status": n["status"],
                "startDate": n["startDate"],
                "endDate": n["endDate"],
                "lastArchivedAt": _time(n["lastArchivedAt"]),
                "changedSinceMyLastVisit": n["changedSinceMyLastVisit"],
                "hasUnreadMessages": n["hasUnreadMessages"],
                "consentExpiresOn": n["consentExpiresOn"],
                "ownerFirstName": _get(n, "owner", "person", "firstName"),
                "ownerLastName": _get(n, "owner", "person", "lastName"),
                "ownerBirthDate": _get(n, "owner", "person", "birthDate"),
                "coordinatorFirstName": _get(n, "coordinator", "person", "firstName"),
                "coordinatorLastName": _get(n, "coordinator", "person", "lastName"),
            }
        )
    return rows


def floor_q1(body: dict[str, Any]) -> list[Row]:
    return [
        {
            "id": str(r["id"]),
            "position": i,
            "shortName": r["short_name"],
            "type": r["type"],
            "status": r["status"],
            "startDate": r["start_date"],
            "endDate": r["end_date"],
            "lastArchivedAt": _time(r["last_archived_at"]),
            "changedSinceMyLastVisit": r["changed"],
            "hasUnreadMessages": r["unread"],
            "consentExpiresOn": r["consent_expires_on"],
            "ownerFirstName": r["owner_first"],
            "ownerLastName": r["owner_last"],
            "ownerBirthDate": r["owner_birth_date"],
            "coordinatorFirstName": r["coord_first"],
            "coordinatorLastName": r["coord_last"],
        }
        for i, r in enumerate(body["plans"])
    ]


def peer_q1(body: dict[str, Any]) -> list[Row]:
    return [
        {
            "id": n["id"],
            "position": i,
            "shortName": n["shortName"],
            "type": n["type"],
            "status": n["status"],
            "startDate": n["startDate"],
            "endDate": n["endDate"],
            "lastArchivedAt": _time(n["lastArchivedAt"]),
            "changedSinceMyLastVisit": n["changedSinceMyLastVisit"],
            "hasUnreadMessages": n["hasUnreadMessages"],
            "consentExpiresOn": n["consentExpiresOn"],
            "ownerFirstName": _get(n, "ownerVisible", "firstName"),
            "ownerLastName": _get(n, "ownerVisible", "lastName"),
            "ownerBirthDate": _get(n, "ownerVisible", "birthDate"),
            "coordinatorFirstName": _get(n, "coordinatorVisible", "firstName"),
            "coordinatorLastName": _get(n, "coordinatorVisible", "lastName"),
        }
        for i, n in enumerate(_get(body, "data", "viewerPlansList") or [])
    ]


def _participant(role: str, responsibility: Any, first: Any, last: Any, mobile: Any) -> Row:
    return {
        "role": role,
        "firstName": first,
        "lastName": last,
        "responsibility": responsibility,
        "mobile": mobile,
    }


def gateway_q2(body: dict[str, Any]) -> Q2Answer:
    plan = _get(body, "data", "plan")
    if plan is None:
        return Q2Answer(False)
    participants = plan.get("participants")
    goals = plan.get("goals")
    messages = plan.get("messages")
    return Q2Answer(
        True,
        {"id": plan["id"], "shortName": plan["shortName"]},
        {
            "participants": None
            if participants is None
            else [
                _participant(
                    p["role"],
                    p["responsibility"],
                    _get(p, "person", "firstName"),
                    _get(p, "person", "lastName"),
                    _get(p, "person", "mobile"),
                )
                for p in participants
            ],
            "goals": None
            if goals is None
            else [
                {
                    "title": g["title"],
                    "activities": None
                    if g["activities"] is None
                    else [a["title"] for a in g["activities"]],
                }
                for g in goals
            ],
            "messages": None
            if messages is None
            else [
                {
                    "body": e["node"]["body"],
                    "createdAt": _time(e["node"]["createdAt"]),
                    "author": _get(e["node"], "author", "person", "firstName"),
                }
                for e in messages["edges"]
            ],
        },
    )


def floor_q2(status: int, body: dict[str, Any] | None) -> Q2Answer:
    if status == 404 or body is None:
        return Q2Answer(False)
    sections: dict[str, list[Row] | None] = dict.fromkeys(SECTIONS)
    if "participants" in body:
        sections["participants"] = [
            _participant(
                p["role"], p["responsibility"], p["first_name"], p["last_name"], p["mobile"]
            )
            for p in body["participants"]
        ]
    if "goals" in body:
        sections["goals"] = [
            {
                "title": g["title"],
                # json_agg arrives as text; null when the activities are refused
                "activities": json.loads(g["activities"])
                if isinstance(g["activities"], str)
                else g["activities"],
            }
            for g in body["goals"]
        ]
    if "messages" in body:
        sections["messages"] = [
            {"body": m["body"], "createdAt": _time(m["created_at"]), "author": m["author"]}
            for m in body["messages"]
        ]
    return Q2Answer(True, {"id": str(body["id"]), "shortName": body["shortName"]}, sections)


def peer_q2(body: dict[str, Any], viewer: uuid.UUID) -> Q2Answer:
    plan = _get(body, "data", "planById")
    if plan is None:
        return Q2Answer(False)
    return Q2Answer(
        True,
        {"id": plan["id"], "shortName": plan["shortName"]},
        {
            "participants": [
                _participant(
                    p["role"],
                    p["responsibility"],
                    _get(p, "personByPersonId", "firstName"),
                    _get(p, "personByPersonId", "lastName"),
                    p["visibleMobile"],
                )
                | {"self": p["personId"] == str(viewer)}
                for p in plan["participantsByPlanIdList"]
            ],
            "goals": [
                {
                    "title": g["title"],
                    "activities": [a["title"] for a in g["activitiesByGoalIdList"]],
                }
                for g in plan["goalsByPlanIdList"]
            ],
            "messages": [
                {
                    "body": m["body"],
                    "createdAt": _time(m["createdAt"]),
                    "author": _get(m, "participantByAuthorId", "personByPersonId", "firstName"),
                }
                for m in plan["messagesByPlanIdList"]
            ],
        },
    )


# --- comparing -----------------------------------------------------------------------------


@dataclass
class Difference:
    viewer: str
    plan: str | None
    where: str
    gateway: Any
    other: Any

    def line(self, system: str = "other") -> str:
        plan = f" plan {self.plan[:8]}" if self.plan else ""
        return (
            f"{self.viewer}{plan}: {self.where}: gateway {self.gateway!r}, {system} {self.other!r}"
        )


@dataclass
class Tally:
    viewers: set[uuid.UUID] = field(default_factory=set)
    requests: int = 0
    rows: int = 0
    mismatched_rows: int = 0
    differences: list[Difference] = field(default_factory=list)


def _fields(a: Row, b: Row, names: Iterable[str]) -> list[tuple[str, Any, Any]]:
    return [(n, a.get(n), b.get(n)) for n in names if a.get(n) != b.get(n)]


def compare_q1(tally: Tally, who: str, ref: list[Row], other: list[Row]) -> None:
    mine = {r["id"]: r for r in ref}
    theirs = {r["id"]: r for r in other}
    for plan in list(mine) + [p for p in theirs if p not in mine]:
        tally.rows += 1
        a, b = mine.get(plan), theirs.get(plan)
        if a is None or b is None:
            tally.mismatched_rows += 1
            tally.differences.append(
                Difference(
                    who, plan, "plan list row", "present" if a else None, "present" if b else None
                )
            )
            continue
        diffs = _fields(a, b, Q1_FIELDS)
        if diffs:
            tally.mismatched_rows += 1
            for name, x, y in diffs:
                tally.differences.append(Difference(who, plan, f"Q1 {name}", x, y))


def _key(row: Row) -> tuple[Any, ...]:
    return (row["role"], row["firstName"], row["lastName"])


def compare_q2(
    tally: Tally, who: str, plan: str, ref: Q2Answer, other: Q2Answer, *, peer: bool
) -> None:
    tally.rows += 1
    if ref.found != other.found or ref.header != other.header:
        tally.mismatched_rows += 1
        tally.differences.append(
            Difference(who, plan, "plan", ref.header if ref.found else None, other.header)
        )
        return
    if not ref.found:
        return
    for section in SECTIONS:
        a, b = ref.sections.get(section), other.sections.get(section)
        if peer:
            refused = a is None
            a = [_empty_if_refused(r) for r in a or []]
            b = [r for r in b or [] if not (refused and r.get("self"))]
            b = [{k: v for k, v in r.items() if k != "self"} for r in b]
        if a is None or b is None:
            tally.rows += 1
            if a is not b:
                tally.mismatched_rows += 1
                tally.differences.append(
                    Difference(
                        who,
                        plan,
                        section,
                        "refused" if a is None else f"{len(a)} rows",
                        "refused" if b is None else f"{len(b)} rows",
                    )
                )
            continue
        if section == "participants":
            _compare_set(tally, who, plan, a, b)
        else:
            _compare_in_order(tally, who, plan, section, a, b)


def _empty_if_refused(row: Row) -> Row:
    """A goal's refused activities (null at the gateway) as RLS answers them: none."""
    return row | {"activities": []} if "activities" in row and row["activities"] is None else row


def _compare_set(tally: Tally, who: str, plan: str, a: list[Row], b: list[Row]) -> None:
    """The plan group as a multiset; rows that differ are paired by role and name to show
    which field differs."""

    def frozen(r: Row) -> tuple[Any, ...]:
        return tuple(sorted(r.items()))

    left = Counter(frozen(r) for r in a)
    right = Counter(frozen(r) for r in b)
    tally.rows += max(len(a), len(b))
    only_a = [dict(r) for r in (left - right).elements()]
    only_b = [dict(r) for r in (right - left).elements()]
    for row in only_a:
        match = next((r for r in only_b if _key(r) == _key(row)), None)
        tally.mismatched_rows += 1
        name = f"participant {row['role']} {row['firstName']} {row['lastName']}"
        if match is None:
            tally.differences.append(Difference(who, plan, name, "present", None))
            continue
        only_b.remove(match)
        for n, x, y in _fields(row, match, row):
            tally.differences.append(Difference(who, plan, f"{name}: {n}", x, y))
    for row in only_b:
        tally.mismatched_rows += 1
        name = f"participant {row['role']} {row['firstName']} {row['lastName']}"
        tally.differences.append(Difference(who, plan, name, None, "present"))


def _compare_in_order(
    tally: Tally, who: str, plan: str, section: str, a: list[Row], b: list[Row]
) -> None:
    tally.rows += max(len(a), len(b))
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x is None or y is None:
            tally.mismatched_rows += 1
            tally.differences.append(
                Difference(who, plan, f"{section}[{i}]", x and "present", y and "present")
            )
            continue
        diffs = _fields(x, y, x)
        if diffs:
            tally.mismatched_rows += 1
            for n, u, v in diffs:
                tally.differences.append(Difference(who, plan, f"{section}[{i}].{n}", u, v))


# --- asking --------------------------------------------------------------------------------


@dataclass
class Systems:
    gateway: str
    floor: str | None = None
    peer: str | None = None


@dataclass
class Report:
    viewers: list[Viewer]
    made: Counter[str]
    tallies: dict[tuple[str, str], Tally]
    gateway_errors: Counter[str] = field(default_factory=Counter)  # codes, once per request

    @property
    def mismatches(self) -> int:
        return sum(t.mismatched_rows for t in self.tallies.values())

    @property
    def unexpected_errors(self) -> int:
        return sum(n for code, n in self.gateway_errors.items() if code != "FORBIDDEN")


async def _gql(
    client: httpx.AsyncClient, url: str, token: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        url + "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def _codes(body: dict[str, Any]) -> list[str]:
    return [str(_get(e, "extensions", "code")) for e in body.get("errors") or []]


async def check(
    dsn: str,
    systems: Systems,
    *,
    viewers: int = 30,
    seed: int = 7,
    vary: bool = True,
) -> Report:
    """Pick and prepare the viewers, ask every system, compare with the gateway, and put the
    database back."""
    rng = random.Random(seed)
    changes = Changes()
    conn = await asyncpg.connect(dsn)
    try:
        try:
            async with conn.transaction():
                picked = await pick_viewers(conn, viewers, rng, vary=vary, changes=changes)
            return await _ask(systems, picked, changes.made)
        finally:
            await changes.undo(conn)
    finally:
        await conn.close()


async def _ask(systems: Systems, viewers: list[Viewer], made: Counter[str]) -> Report:
    others = {"floor": systems.floor, "postgraphile": systems.peer}
    asked = {name: url for name, url in others.items() if url}
    report = Report(viewers, made, {(q, o): Tally() for q in ("Q1", "Q2") for o in asked})
    async with httpx.AsyncClient(timeout=60) as client:

        async def floor(path: str, token: str) -> tuple[int, Any]:
            response = await client.get(
                asked["floor"] + path, headers={"Authorization": f"Bearer {token}"}
            )
            return response.status_code, response.json() if response.status_code == 200 else None

        for v in viewers:
            body = await _gql(client, systems.gateway, v.token, Q1, {})
            report.gateway_errors.update(_codes(body))
            ref1 = gateway_q1(body)
            ref2 = {}
            for plan in v.plans:
                body = await _gql(client, systems.gateway, v.token, Q2, {"id": str(plan)})
                report.gateway_errors.update(_codes(body))
                ref2[plan] = gateway_q2(body)
            for other, url in asked.items():
                t1, t2 = report.tallies[("Q1", other)], report.tallies[("Q2", other)]
                t1.viewers.add(v.person_id)
                t1.requests += 1
                if other == "floor":
                    status, answer = await floor("/q1", v.token)
                    if status != 200:
                        raise SystemExit(f"the floor answered Q1 with {status}")
                    rows = floor_q1(answer)
                else:
                    rows = peer_q1(await _gql(client, url, v.token, PEER_Q1, {}))
                compare_q1(t1, v.label(), ref1, rows)
                for plan, ref in ref2.items():
                    t2.viewers.add(v.person_id)
                    t2.requests += 1
                    if other == "floor":
                        got = floor_q2(*await floor(f"/q2/{plan}", v.token))
                    else:
                        body = await _gql(client, url, v.token, PEER_Q2, {"id": str(plan)})
                        got = peer_q2(body, v.person_id)
                    peer = other == "postgraphile"
                    compare_q2(t2, v.label(), str(plan), ref, got, peer=peer)
    return report


def render(report: Report, show: int = 5) -> str:
    kinds = Counter(v.kind for v in report.viewers)
    out = [
        f"viewers: {len(report.viewers)} ("
        + "; ".join(f"{n} {k}" for k, n in kinds.items())
        + f"); Q2 asked for {sum(len(v.plans) for v in report.viewers)} (viewer, plan) pairs",
    ]
    if report.made:
        out.append("made for them, put back afterwards:")
        out += [f"  {n:>3} × {what}" for what, n in report.made.items()]
    else:
        out.append("as seeded: no narrowed rights, expired or revoked consents, visibility rows")
    out.append("")
    out.append(
        f"{'shape':<6}{'system':<14}{'viewers':>8}{'requests':>9}{'rows':>8}{'mismatches':>11}"
    )
    for (shape, system), t in report.tallies.items():
        out.append(
            f"{shape:<6}{system:<14}{len(t.viewers):>8}{t.requests:>9}{t.rows:>8}"
            f"{t.mismatched_rows:>11}"
        )
    if report.gateway_errors:
        out.append(
            "errors in the gateway's answers (FORBIDDEN: a hidden field, compared as null): "
            + ", ".join(f"{c} {n}" for c, n in sorted(report.gateway_errors.items()))
        )
    for system in sorted({s for _shape, s in report.tallies}):
        out.append(f"compared as the intersection for {system}:")
        out += [f"  - {note}" for note in NOTES[system]]
    for (shape, system), t in report.tallies.items():
        if t.differences:
            out.append(f"{shape} gateway vs {system}, differences by viewer kind and field:")
            out += [f"  {n:>4}  {k}: {w}" for (k, w), n in sorted(summary(t).items())]
            out.append("  the first ones:")
            out += [f"    {d.line(system)}" for d in t.differences[:show]]
    return "\n".join(out)


def summary(tally: Tally) -> Counter[tuple[str, str]]:
    """Differences counted by viewer kind and field (names, positions and values dropped)."""
    found = Counter[tuple[str, str]]()
    for d in tally.differences:
        kind = d.viewer.rsplit(" ", 1)[0]
        where = d.where.split(": ")[-1] if d.where.startswith("participant ") else d.where
        if d.where.startswith("participant ") and ": " not in d.where:
            where = "participant row"
        found[(kind, re.sub(r"\[\d+\]", "[]", where))] += 1
    return found


# --- the servers ---------------------------------------------------------------------------

CHECKOUT = Path(__file__).resolve().parent.parent
PEER_DIR = CHECKOUT.parent / "shared" / "bench"


def prepare_peer(source: Path, work: Path) -> Path:
    """A writable copy of the peer (shared/bench is read-only) with its pinned packages."""
    work.mkdir(parents=True, exist_ok=True)
    fresh = False
    for name in ("server.js", "package.json", "package-lock.json"):
        target = work / name
        if not target.exists() or target.read_bytes() != (source / name).read_bytes():
            target.unlink(missing_ok=True)
            shutil.copyfile(source / name, target)
            fresh = True
    if fresh or not (work / "node_modules" / "postgraphile").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("--peer needs npm")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work, check=True
        )
    return work


async def apply_peer_sql(dsn: str, source: Path, variant: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute((source / "pgl_setup.sql").read_text())
        if variant == "b2":
            await conn.execute((source / "pgl_setup_rls2.sql").read_text())
    finally:
        await conn.close()


async def wait_graphql(url: str, timeout: float = 90) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as client:
        while asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                response = await client.post(url + "/graphql", json={"query": "{__typename}"})
                if response.status_code in (200, 401):
                    return
            await asyncio.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


@contextlib.asynccontextmanager
async def servers(args: argparse.Namespace) -> AsyncIterator[Systems]:
    env = {**os.environ, "DATABASE_URL": args.database_url}
    env.pop("SMTP_HOST", None)
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    gw_port, floor_port = free_port(), free_port()
    procs = [
        start(
            [sys.executable, "-m", "gateway", "serve", "--port", str(gw_port), "--workers", "1"],
            env,
            logs / "agree-gateway.log",
        ),
        start(
            [sys.executable, "-m", "bench.floor", "--port", str(floor_port)],
            env,
            logs / "agree-floor.log",
        ),
    ]
    systems = Systems(f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{floor_port}")
    try:
        if args.peer:
            source = Path(args.peer_dir)
            work = prepare_peer(source, logs / "peer")
            await apply_peer_sql(args.database_url, source, args.peer_variant)
            peer_port = free_port()
            node = shutil.which("node") or "node"
            procs.append(
                subprocess.Popen(
                    [node, "server.js", "--variant", args.peer_variant, "--port", str(peer_port)],
                    cwd=work,
                    env={**env, "NODE_ENV": "production"},
                    stdout=(logs / "agree-peer.log").open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            systems.peer = f"http://127.0.0.1:{peer_port}"
            await wait_graphql(systems.peer)
        await wait_ready(systems.gateway + "/health")
        assert systems.floor
        await wait_ready(systems.floor + "/q1")
        yield systems
    finally:
        stop(procs)


async def run(args: argparse.Namespace) -> int:
    async with servers(args) as systems:
        report = await check(
            args.database_url,
            systems,
            viewers=args.viewers,
            seed=args.seed,
            vary=not args.as_seeded,
        )
    print(render(report, args.show))
    if report.unexpected_errors:
        print(f"the gateway answered {report.unexpected_errors} errors other than FORBIDDEN")
    return 1 if report.mismatches or report.unexpected_errors else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--viewers", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--peer", action="store_true", help="also PostGraphile (npm ci once)")
    parser.add_argument("--peer-variant", choices=("b", "b2"), default="b")
    parser.add_argument("--peer-dir", default=str(PEER_DIR))
    parser.add_argument(
        "--as-seeded", action="store_true", help="change nothing: the kinds by role only"
    )
    parser.add_argument("--show", type=int, default=5, help="differences shown per shape")
    parser.add_argument("--logs", default="bench/logs")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
