"""The floor: the least a server can do for Q1 and Q2 — hand-written SQL through asyncpg,
access rules applied in SQL, orjson out. No GraphQL, no per-field work.

    DATABASE_URL=postgresql://… python -m bench.floor --port 8100
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# The session look-up as the gateway does it (db/accounts.live_session): touched at most once a
# minute, so most requests only read.
VIEWER = """
WITH found AS (SELECT s.id, s.last_seen_at, a.person_id FROM sessions s
  JOIN accounts a ON a.id = s.account_id
  WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()),
touched AS (UPDATE sessions s SET last_seen_at = now() FROM found f
  WHERE s.id = f.id AND s.last_seen_at <= now() - interval '1 minute')
SELECT person_id FROM found
"""

# PLAN visibility of a person's contact field (policy.shares_for_visibility): the viewer ($1
# in Q1, $2 in Q2's plan group) currently shares an active plan with them, under a consent
# neither revoked nor expired, in which neither one's own consent has run out and the viewer
# may read the plan group. Any shared plan counts, not only the one asked for.
SHARES = """EXISTS (
  SELECT 1 FROM participants sv
  JOIN participants so ON so.plan_id = sv.plan_id AND so.person_id = {person}
       AND so.left_on IS NULL
  JOIN plans sp ON sp.id = sv.plan_id AND sp.status = 'ACTIVE'
  JOIN consents sc ON sc.id = sp.consent_id
  WHERE sv.person_id = {viewer} AND sv.left_on IS NULL
    AND sc.revoked_on IS NULL AND sc.expires_on >= current_date
    AND (sv.role IN ('OWNER', 'COORDINATOR')
         OR (coalesce(sv.consent_expires_on, sc.expires_on) >= current_date
             AND coalesce(sv.rights ->> 'participants', sc.default_grant ->> 'participants',
                          'NONE') <> 'NONE'))
    AND (so.role IN ('OWNER', 'COORDINATOR')
         OR coalesce(so.consent_expires_on, sc.expires_on) >= current_date))"""

# Q1: a coordinator's plan list with the list columns (2 statements with the viewer lookup).
PLAN_LIST = """
SELECT p.id, p.short_name, p.type, p.status, p.start_date, p.end_date, p.last_archived_at,
       p.changed_at > coalesce(v.visited_at, '-infinity') AS changed,
       coalesce(me.consent_expires_on, c.expires_on) AS consent_expires_on,
       op.first_name AS owner_first, op.last_name AS owner_last,
       CASE WHEN op.id = $1 OR opv.visibility = 'ALL'
                 OR (coalesce(opv.visibility, 'PLAN') = 'PLAN' AND {shares_owner})
            THEN op.birth_date END AS owner_birth_date,
       cp.first_name AS coord_first, cp.last_name AS coord_last,
       -- a message I may read: MESSAGES >= READ under a valid consent (policy.section_denial)
       (me.role IN ('OWNER', 'COORDINATOR') OR (c.id IS NOT NULL AND c.revoked_on IS NULL
            AND coalesce(me.consent_expires_on, c.expires_on) >= current_date
            AND coalesce(me.rights ->> 'messages', c.default_grant ->> 'messages', 'NONE')
                <> 'NONE'))
       AND EXISTS (SELECT 1 FROM messages m LEFT JOIN message_reads r
                 ON r.plan_id = m.plan_id AND r.person_id = $1
               WHERE m.plan_id = p.id AND m.author_id <> me.id
                 AND m.created_at > coalesce(r.read_until, '-infinity')
                 AND (m.to_all OR me.role IN ('OWNER', 'COORDINATOR') OR EXISTS (
                   SELECT 1 FROM message_recipients mr
                   WHERE mr.message_id = m.id AND mr.participant_id = me.id))) AS unread
FROM participants me
JOIN plans p ON p.id = me.plan_id
LEFT JOIN consents c ON c.id = p.consent_id
JOIN participants o ON o.plan_id = p.id AND o.role = 'OWNER' AND o.left_on IS NULL
JOIN persons op ON op.id = o.person_id
LEFT JOIN person_field_visibility opv ON opv.person_id = op.id AND opv.field = 'BIRTH_DATE'
LEFT JOIN participants co ON co.plan_id = p.id AND co.role = 'COORDINATOR' AND co.left_on IS NULL
LEFT JOIN persons cp ON cp.id = co.person_id
LEFT JOIN plan_visits v ON v.plan_id = p.id AND v.person_id = $1
WHERE me.person_id = $1 AND me.left_on IS NULL AND p.status = 'ACTIVE'
ORDER BY p.created_at, p.id
LIMIT 50
""".replace("{shares_owner}", SHARES.format(person="op.id", viewer="$1"))

# Q2: one plan in full (4 statements with the viewer lookup), the grant decided in SQL.
PLAN_ACCESS = """
SELECT p.id, p.short_name, me.id AS me, me.role,
       CASE WHEN me.role IN ('OWNER', 'COORDINATOR') THEN 'WRITE'
            WHEN c.id IS NULL OR c.revoked_on IS NOT NULL
                 OR coalesce(me.consent_expires_on, c.expires_on) < current_date THEN 'NONE'
            ELSE coalesce(me.rights ->> $3, c.default_grant ->> $3, 'NONE')
       END AS participants_grant,
       CASE WHEN me.role IN ('OWNER', 'COORDINATOR') THEN 'WRITE'
            WHEN c.id IS NULL OR c.revoked_on IS NOT NULL
                 OR coalesce(me.consent_expires_on, c.expires_on) < current_date THEN 'NONE'
            ELSE coalesce(me.rights ->> 'goals', c.default_grant ->> 'goals', 'NONE')
       END AS goals_grant,
       CASE WHEN me.role IN ('OWNER', 'COORDINATOR') THEN 'WRITE'
            WHEN c.id IS NULL OR c.revoked_on IS NOT NULL
                 OR coalesce(me.consent_expires_on, c.expires_on) < current_date THEN 'NONE'
            ELSE coalesce(me.rights ->> 'activities', c.default_grant ->> 'activities', 'NONE')
       END AS activities_grant,
       CASE WHEN me.role IN ('OWNER', 'COORDINATOR') THEN 'WRITE'
            WHEN c.id IS NULL OR c.revoked_on IS NOT NULL
                 OR coalesce(me.consent_expires_on, c.expires_on) < current_date THEN 'NONE'
            ELSE coalesce(me.rights ->> 'messages', c.default_grant ->> 'messages', 'NONE')
       END AS messages_grant
FROM plans p JOIN participants me ON me.plan_id = p.id AND me.person_id = $1 AND me.left_on IS NULL
LEFT JOIN consents c ON c.id = p.consent_id
WHERE p.id = $2
"""
PARTICIPANTS = """
SELECT pa.role, pa.responsibility, pe.first_name, pe.last_name,
       CASE WHEN pe.id = $2 OR v.visibility = 'ALL'
                 OR (coalesce(v.visibility, 'PLAN') = 'PLAN' AND {shares})
            THEN pe.mobile END AS mobile
FROM participants pa JOIN persons pe ON pe.id = pa.person_id
LEFT JOIN person_field_visibility v ON v.person_id = pe.id AND v.field = 'MOBILE'
WHERE pa.plan_id = $1 AND pa.left_on IS NULL
""".replace("{shares}", SHARES.format(person="pe.id", viewer="$2"))
# Activities need their own grant ($2); ties on created_at broken by id, as the gateway does.
GOALS = """
SELECT g.title, CASE WHEN $2 THEN coalesce(json_agg(a.title ORDER BY a.created_at, a.id)
                                  FILTER (WHERE a.id IS NOT NULL), '[]') END AS activities
FROM goals g LEFT JOIN activities a ON a.goal_id = g.id AND $2
WHERE g.plan_id = $1 AND g.parent_id IS NULL GROUP BY g.id ORDER BY g.created_at, g.id
"""
MESSAGES = """
SELECT m.body, m.created_at, pe.first_name AS author
FROM messages m JOIN participants au ON au.id = m.author_id JOIN persons pe ON pe.id = au.person_id
WHERE m.plan_id = $1 AND (m.to_all OR $3 OR m.author_id = $2 OR EXISTS (
  SELECT 1 FROM message_recipients r WHERE r.message_id = m.id AND r.participant_id = $2))
ORDER BY m.created_at DESC, m.seq DESC LIMIT 20
"""


def _json(data: object) -> Response:
    return Response(orjson.dumps(data, default=str), media_type="application/json")


def create_app(dsn: str) -> Starlette:
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=4, max_size=10)
        yield
        await state["pool"].close()

    async def viewer(conn: asyncpg.Connection, request: Request) -> Any:
        token = request.headers.get("authorization", "")[7:]
        return await conn.fetchval(VIEWER, hashlib.sha256(token.encode()).digest())

    async def plan_list(request: Request) -> Response:
        async with state["pool"].acquire() as conn:
            person = await viewer(conn, request)
            if person is None:
                return Response(status_code=401)
            rows = await conn.fetch(PLAN_LIST, person)
        return _json({"plans": [dict(r) for r in rows]})

    async def plan_full(request: Request) -> Response:
        async with state["pool"].acquire() as conn:
            person = await viewer(conn, request)
            if person is None:
                return Response(status_code=401)
            plan = await conn.fetchrow(
                PLAN_ACCESS, person, request.path_params["plan_id"], "participants"
            )
            if plan is None:
                return Response(status_code=404)
            out: dict[str, Any] = {"id": plan["id"], "shortName": plan["short_name"]}
            if plan["participants_grant"] != "NONE":
                out["participants"] = [
                    dict(r) for r in await conn.fetch(PARTICIPANTS, plan["id"], person)
                ]
            if plan["goals_grant"] != "NONE":
                activities = plan["activities_grant"] != "NONE"
                out["goals"] = [dict(r) for r in await conn.fetch(GOALS, plan["id"], activities)]
            if plan["messages_grant"] != "NONE":
                lead = plan["role"] in ("OWNER", "COORDINATOR")
                out["messages"] = [
                    dict(r) for r in await conn.fetch(MESSAGES, plan["id"], plan["me"], lead)
                ]
        return _json(out)

    return Starlette(
        routes=[Route("/q1", plan_list), Route("/q2/{plan_id}", plan_full)],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    app = create_app(os.environ["DATABASE_URL"])
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, log_level="warning", loop="uvloop", http="httptools"
    )


if __name__ == "__main__":
    main()
