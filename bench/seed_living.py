"""Issue 17's data on a bench.seed database, in proportion to its size (opt-in, after bench.seed).

    python -m bench.seed_living --database-url postgresql://… --state bench/.seed1.json
        [--history 20] [--no-message-audit]

bench.seed makes plans as they are on the day they start; this step gives them a working life,
set-based (INSERT … SELECT, UPDATE … FROM) so that scale 100 takes minutes:

- the audit log's monthly partitions back to the oldest plan (as a database migrated by 0016
  and run since has them), then per plan ``--history`` entries of db/history.ACTIONS from its
  creation to its last activity (0-400 days ago), and one ``message.posted`` entry per seeded
  message (as posting writes one: the history read skips them);
- ``plans.changed_at`` = the last activity; one or two recorded revisions per plan (the
  latest 0-450 days ago, the next revision a year after it, so about a fifth are overdue);
  the reminders already due counted as sent (as the daily job would have);
- 10 % of active plans with an open consent proposal, 5 % with a closed one;
- 10 % of active non-IP plans linked under an active IP of the same coordinator (the seed gives
  every plan its own owner, so "the same person" cannot hold; the read rules do not check it),
  the first two goals of each linked plan serving the IP's first two goals;
- 1 % of messages changed: 0.7 % edited, 0.3 % withdrawn (edited_at / withdrawn_at,
  change_seq, the old text in message_versions);
- for planOverview's filters: 3 % of consents expired and 1 % revoked, and the accounts of
  5 % of the coordinators deactivated, so noActiveCoordinator finds 5 % of plans; never the
  plans of the five coordinators the drivers use (a plan list with a plan whose consent ran
  out answers FORBIDDEN for the owner's birth date, which bench.compare counts as a bad
  response), nor the first 50 plans or Q2's;
- a SYSTEM_ADMIN with a session (for planOverview), kept as ``living.admin_token`` in the
  state file.

Everything is one transaction, then ANALYZE. The choices are hashes of the rows' ids, so the
same seed gives the same data. It refuses a database that already has revisions.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.seed import STATE, _sessions

# History entries after plan.created, chosen per entry by a hash (repeats weigh more).
ACTIONS = (
    "goal.updated",
    "goal.updated",
    "activity.updated",
    "activity.updated",
    "goal.added",
    "activity.added",
    "comment.added",
    "comment.added",
    "calendar.added",
    "calendar.updated",
    "document.uploaded",
    "participant.added",
    "participant.updated",
    "plan.updated",
    "consent.recorded",
    "plan.revised",
)
# Entries about the plan itself (target = the plan); the rest name an object and carry
# {"plan": id} in detail, as resolvers/content.py writes them.
PLAN_LEVEL = ("participant.added", "participant.updated", "plan.updated", "consent.recorded")


def h(expr: str, salt: str) -> str:
    """A stable non-negative hash of a row's value (0 … 2^32-1), as SQL."""
    return f"(hashtext(({expr})::text || '{salt}')::bigint + 2147483648)"


async def _step(conn: asyncpg.Connection, name: str, sql: str, *args: Any) -> str:
    started = time.perf_counter()
    status: str = await conn.execute(sql, *args)
    print(f"  {name}: {status} ({time.perf_counter() - started:.1f} s)", flush=True)
    return status


async def living(
    dsn: str, state_path: Path, history: int = 20, message_audit: bool = True
) -> dict[str, Any]:
    state = json.loads(state_path.read_text())
    protected_plans = list(dict.fromkeys(state["plan_ids"] + state.get("q2_plan_ids", [])))
    driver_tokens = state["coordinator_tokens"] + [state["reporter_token"]]
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM revisions)"):
            raise SystemExit("bench.seed_living: this database already has revisions")
        protected_persons = [
            r["person_id"]
            for r in await conn.fetch(
                "SELECT a.person_id FROM sessions s JOIN accounts a ON a.id = s.account_id"
                " WHERE s.token_hash = ANY($1::bytea[])",
                [hashlib.sha256(t.encode()).digest() for t in driver_tokens],
            )
        ]
        async with conn.transaction():
            await conn.execute("SET LOCAL work_mem = '256MB'")
            await _step(
                conn,
                "log partitions",
                "SELECT log_partitions_ensure((SELECT min(created_at) FROM plans)::date, 3)",
            )
            await _step(
                conn,
                "plan facts",
                "CREATE TEMP TABLE living_plans ON COMMIT DROP AS"
                " SELECT p.id, p.type, p.status, p.start_date, p.created_at,"
                "  c.id AS coord_part, c.person_id AS coord_person,"
                "  o.id AS owner_part, o.person_id AS owner_person,"
                "  greatest(p.created_at + interval '1 hour', now()"
                f"   - make_interval(days => ({h('p.id', 'last')} % 400)::int,"
                f"     secs => ({h('p.id', 'lastsec')} % 86400)::int)) AS last_at"
                " FROM plans p"
                " JOIN participants c ON c.plan_id = p.id AND c.role = 'COORDINATOR'"
                "  AND c.left_on IS NULL"
                " JOIN participants o ON o.plan_id = p.id AND o.role = 'OWNER'"
                "  AND o.left_on IS NULL",
            )
            # --- the audit log: history entries, and message.posted per message -----------
            actions = "ARRAY[" + ", ".join(f"'{a}'" for a in ACTIONS) + "]"
            plan_level = "ARRAY[" + ", ".join(f"'{a}'" for a in PLAN_LEVEL) + "]"
            entries = (
                "SELECT f.id AS plan_id, f.type, g.k,"
                " f.created_at + (f.last_at - f.created_at)"
                f"  * (g.k::float8 / {max(1, history - 1)}) AS at, f.coord_person,"
                " CASE WHEN g.k = 0 THEN 'plan.created'"
                f"  ELSE ({actions})[1 + ({h('f.id::text || g.k', 'act')} % {len(ACTIONS)})::int]"
                " END AS action"
                f" FROM living_plans f CROSS JOIN generate_series(0, {history - 1}) AS g(k)"
            )
            history_rows = (
                "SELECT e.at, e.coord_person AS actor_id, e.action,"
                f" CASE WHEN e.action = 'plan.created' OR e.action = ANY({plan_level})"
                "  OR e.action = 'plan.revised' THEN e.plan_id::text"
                "  ELSE md5(e.plan_id::text || e.k)::uuid::text END AS target,"
                " CASE e.action"
                "  WHEN 'plan.created' THEN jsonb_build_object('type', e.type)"
                "  WHEN 'plan.updated' THEN jsonb_build_object('short_name', 'Plan',"
                "   'revision_date', (e.at::date + 365)::text)"
                "  WHEN 'plan.revised' THEN jsonb_build_object('revision',"
                "   md5(e.plan_id::text || 'r' || e.k)::uuid::text, 'next',"
                "   (e.at::date + 365)::text)"
                "  WHEN 'consent.recorded' THEN jsonb_build_object('consent',"
                "   md5(e.plan_id::text || 'c' || e.k)::uuid::text, 'expires_on',"
                "   (e.at::date + 730)::text)"
                "  WHEN 'participant.added' THEN jsonb_build_object('participant',"
                "   md5(e.plan_id::text || 'p' || e.k)::uuid::text, 'person',"
                "   md5(e.plan_id::text || 'q' || e.k)::uuid::text, 'role', 'SERVICE_PROVIDER')"
                "  WHEN 'participant.updated' THEN jsonb_build_object('participant',"
                "   md5(e.plan_id::text || 'p' || e.k)::uuid::text, 'responsibility', 'Ansvar')"
                "  WHEN 'document.uploaded' THEN jsonb_build_object('plan', e.plan_id::text,"
                "   'type', 'application/pdf', 'size', 48213)"
                "  ELSE jsonb_build_object('plan', e.plan_id::text)"
                " END AS detail"
                f" FROM ({entries}) e"
            )
            message_rows = (
                "SELECT m.created_at AS at, a.person_id AS actor_id, 'message.posted' AS action,"
                " m.id::text AS target, jsonb_build_object('plan', m.plan_id::text,"
                "  'recipients', CASE WHEN m.to_all THEN NULL ELSE 2 END) AS detail"
                " FROM messages m JOIN participants a ON a.id = m.author_id"
            )
            rows = history_rows + (f" UNION ALL {message_rows}" if message_audit else "")
            await _step(
                conn,
                "audit log",
                "INSERT INTO audit_log (at, actor_id, action, target, client_addr, detail)"
                f" SELECT at, actor_id, action, target, '10.0.0.1', detail FROM ({rows}) x"
                " ORDER BY at",
            )
            # --- revisions, revision dates, the last activity -------------------------------
            await _step(
                conn,
                "revision dates",
                "CREATE TEMP TABLE living_revisions ON COMMIT DROP AS"
                " SELECT f.id AS plan_id, f.coord_part, f.owner_part, f.start_date,"
                f"  greatest(f.start_date, current_date - ({h('f.id', 'rev')} % 450)::int) AS r1,"
                f"  {h('f.id', 'rev2')} % 2 = 0 AS two"
                " FROM living_plans f",
            )
            await _step(
                conn,
                "revisions",
                "INSERT INTO revisions (id, plan_id, revised_on, next_revision_date,"
                " participant_ids, note, recorded_by, recorded_at)"
                " SELECT md5(plan_id::text || 'rev1')::uuid, plan_id, r1, r1 + 365,"
                "  ARRAY[owner_part, coord_part], 'Revidert med plangruppa', coord_part,"
                "  (r1 + time '14:00') AT TIME ZONE 'Europe/Oslo' FROM living_revisions"
                " UNION ALL"
                " SELECT md5(plan_id::text || 'rev0')::uuid, plan_id, r1 - 365, r1,"
                "  ARRAY[owner_part, coord_part], 'Revidert', coord_part,"
                "  (r1 - 365 + time '14:00') AT TIME ZONE 'Europe/Oslo' FROM living_revisions"
                " WHERE two AND r1 - 365 >= start_date",
            )
            await _step(
                conn,
                "plans: revision date, last change",
                "UPDATE plans p SET revision_date = r.r1 + 365, changed_at = f.last_at"
                " FROM living_revisions r JOIN living_plans f ON f.id = r.plan_id"
                " WHERE p.id = r.plan_id",
            )
            await _step(
                conn,
                "revision reminders already sent",
                "INSERT INTO revision_reminders (plan_id, revision_date, threshold_days, sent_at)"
                " SELECT p.id, p.revision_date, t.days, now() FROM plans p"
                " CROSS JOIN unnest(ARRAY[30, 7, 0]) AS t(days)"
                " WHERE p.status = 'ACTIVE' AND p.revision_date IS NOT NULL"
                " AND p.revision_date - t.days <= current_date ON CONFLICT DO NOTHING",
            )
            # --- consents: proposals; some expired or revoked -------------------------------
            await _step(
                conn,
                "consent proposals",
                "INSERT INTO consent_proposals (id, plan_id, given_by, given_by_relation,"
                " expires_on, scope, default_grant, proposed_by, proposed_at, closed_at)"
                " SELECT md5(f.id::text || 'proposal')::uuid, f.id, f.owner_person, 'SELF',"
                "  current_date + 365, NULL, c.default_grant, f.coord_part,"
                f"  now() - make_interval(days => 3 + ({h('f.id', 'pday')} % 30)::int),"
                f"  CASE WHEN {h('f.id', 'prop')} % 100 >= 10"
                f"   THEN now() - make_interval(days => 1 + ({h('f.id', 'pday')} % 3)::int) END"
                " FROM living_plans f JOIN plans p ON p.id = f.id"
                " JOIN consents c ON c.id = p.consent_id"
                f" WHERE f.status = 'ACTIVE' AND {h('f.id', 'prop')} % 100 < 15",
            )
            await _step(
                conn,
                "consents expired (3 %)",
                "UPDATE consents c SET expires_on = greatest(c.given_on,"
                f" current_date - 1 - ({h('c.id', 'exp')} % 200)::int)"
                " FROM plans p WHERE p.consent_id = c.id"
                f" AND {h('p.id', 'consent')} % 100 < 3 AND NOT p.id = ANY($1::uuid[])"
                " AND p.id NOT IN (SELECT id FROM living_plans WHERE coord_person = ANY($2))",
                protected_plans,
                protected_persons,
            )
            await _step(
                conn,
                "consents revoked (1 %)",
                "UPDATE consents c SET revoked_on = current_date - 1"
                f" - ({h('c.id', 'rev')} % 100)::int FROM plans p WHERE p.consent_id = c.id"
                f" AND {h('p.id', 'consent')} % 100 = 3 AND NOT p.id = ANY($1::uuid[])"
                " AND p.id NOT IN (SELECT id FROM living_plans WHERE coord_person = ANY($2))",
                protected_plans,
                protected_persons,
            )
            # --- linked plans and the goals that serve the IP's --------------------------------
            await _step(
                conn,
                "plan links",
                "WITH ips AS (SELECT f.id, f.coord_person,"
                "  row_number() OVER (PARTITION BY f.coord_person ORDER BY f.id) AS rn,"
                "  count(*) OVER (PARTITION BY f.coord_person) AS n"
                "  FROM living_plans f WHERE f.type = 'IP' AND f.status = 'ACTIVE'),"
                f" lows AS (SELECT f.id, f.coord_person, {h('f.id', 'upper')} AS hu"
                "  FROM living_plans f WHERE f.type <> 'IP' AND f.status = 'ACTIVE'"
                f"  AND {h('f.id', 'link')} % 100 < 10)"
                " INSERT INTO plan_links (lower_plan_id, upper_plan_id, linked_at, linked_by)"
                " SELECT l.id, u.id, now() - make_interval(days => (l.hu % 300)::int),"
                "  l.coord_person FROM lows l"
                " JOIN ips u ON u.coord_person = l.coord_person AND u.rn = 1 + l.hu % u.n",
            )
            await _step(
                conn,
                "goals serving the IP's",
                "WITH g AS (SELECT id, plan_id,"
                "  row_number() OVER (PARTITION BY plan_id ORDER BY created_at, id) AS rn"
                "  FROM goals WHERE plan_id IN (SELECT lower_plan_id FROM plan_links"
                "  UNION SELECT upper_plan_id FROM plan_links))"
                " UPDATE goals x SET serves_goal_id = ug.id FROM plan_links l"
                " JOIN g lg ON lg.plan_id = l.lower_plan_id AND lg.rn <= 2"
                " JOIN g ug ON ug.plan_id = l.upper_plan_id AND ug.rn = lg.rn"
                " WHERE x.id = lg.id",
            )
            # --- messages edited and withdrawn ------------------------------------------------
            await _step(
                conn,
                "messages to change",
                "CREATE TEMP TABLE living_messages ON COMMIT DROP AS"
                " SELECT id, body, created_at, hm, nextval('message_change_seq') AS change_seq"
                f" FROM (SELECT id, body, created_at, {h('id', 'msg')} % 1000 AS hm FROM messages"
                f"  WHERE {h('id', 'msg')} % 1000 < 10 ORDER BY created_at, id) s",
            )
            await _step(
                conn,
                "message versions",
                "INSERT INTO message_versions (message_id, body, replaced_at)"
                " SELECT id, body, created_at + CASE WHEN hm < 7 THEN interval '2 minutes'"
                "  ELSE interval '3 minutes' END FROM living_messages ORDER BY change_seq",
            )
            await _step(
                conn,
                "messages edited (0.7 %) and withdrawn (0.3 %)",
                "UPDATE messages m SET"
                " body = CASE WHEN c.hm < 7 THEN m.body || ' (rettet)' ELSE '' END,"
                " edited_at = CASE WHEN c.hm < 7 THEN m.created_at + interval '2 minutes' END,"
                " withdrawn_at = CASE WHEN c.hm >= 7"
                "  THEN m.created_at + interval '3 minutes' END,"
                " change_seq = c.change_seq FROM living_messages c WHERE m.id = c.id",
            )
            # --- coordinators whose account was deactivated (noActiveCoordinator) -------------
            coordinators = await conn.fetchval(
                "SELECT count(DISTINCT coord_person) FROM living_plans"
            )
            await _step(
                conn,
                "coordinator accounts deactivated (5 %)",
                "UPDATE accounts a SET deactivated_at = now() - interval '14 days'"
                " WHERE a.person_id IN (SELECT coord_person FROM living_plans"
                "  WHERE NOT coord_person = ANY($1::uuid[]) GROUP BY coord_person"
                f"  ORDER BY min({h('coord_person', 'deact')}), coord_person LIMIT $2)",
                protected_persons,
                max(1, round(0.05 * coordinators)),
            )
            # --- a SYSTEM_ADMIN for planOverview ------------------------------------------
            admin = await conn.fetchval(
                "SELECT p.id FROM persons p WHERE NOT EXISTS"
                " (SELECT 1 FROM participants x WHERE x.person_id = p.id)"
                " AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = p.id)"
                " ORDER BY p.id LIMIT 1"
            )
            rng = random.Random(f"living-{state.get('seed')}")
            (admin_token,) = await _sessions(conn, rng, [admin], roles=("SYSTEM_ADMIN",))
            counts = {
                "audit_log": await conn.fetchval("SELECT count(*) FROM audit_log"),
                "revisions": await conn.fetchval("SELECT count(*) FROM revisions"),
                "open_proposals": await conn.fetchval(
                    "SELECT count(*) FROM consent_proposals WHERE closed_at IS NULL"
                ),
                "plan_links": await conn.fetchval("SELECT count(*) FROM plan_links"),
                "goals_serving": await conn.fetchval(
                    "SELECT count(*) FROM goals WHERE serves_goal_id IS NOT NULL"
                ),
                "messages_changed": await conn.fetchval(
                    "SELECT count(*) FROM messages WHERE change_seq IS NOT NULL"
                ),
                "revision_overdue": await conn.fetchval(
                    "SELECT count(*) FROM plans WHERE status = 'ACTIVE'"
                    " AND revision_date < current_date"
                ),
                "deactivated_coordinators": await conn.fetchval(
                    "SELECT count(*) FROM accounts WHERE deactivated_at IS NOT NULL"
                ),
            }
        analyse = time.perf_counter()
        await conn.execute("ANALYZE")
        print(f"  ANALYZE ({time.perf_counter() - analyse:.1f} s)", flush=True)
    finally:
        await conn.close()
    state["living"] = {
        "admin_token": admin_token,
        "history_per_plan": history,
        "message_audit": message_audit,
        "counts": counts,
        "seconds": round(time.perf_counter() - started, 1),
    }
    state_path.write_text(json.dumps(state, indent=2))
    return state["living"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--state", type=Path, default=STATE, help="bench.seed's state file")
    parser.add_argument("--history", type=int, default=20, help="history entries per plan")
    parser.add_argument(
        "--no-message-audit",
        action="store_true",
        help="no message.posted audit entries for the seeded messages",
    )
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    if args.history < 1:
        parser.error("--history must be at least 1")
    done = asyncio.run(
        living(args.database_url, args.state, args.history, not args.no_message_audit)
    )
    print(json.dumps({"seconds": done["seconds"], **done["counts"]}))


if __name__ == "__main__":
    main()
